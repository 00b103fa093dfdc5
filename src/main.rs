use clap::Parser;

fn main() {
    let _cli = tierui::cli::Cli::parse();
}
