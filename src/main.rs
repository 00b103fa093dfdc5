use clap::Parser;
use tierui::cli::Command;

fn main() -> anyhow::Result<()> {
    let cli = tierui::cli::Cli::parse();
    match cli.command {
        Some(Command::Sim(args)) => tierui::sim::run_cli(&args, cli.global.speed.unwrap_or(1.0)),
        _ => Ok(()),
    }
}
