use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tierui::cli::Cli::parse();
    match tierui::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tierui: {e:#}");
            ExitCode::from(2)
        }
    }
}
