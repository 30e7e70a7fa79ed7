//! `breakwater`: one binary that runs the whole system or any one part of it.

mod cli;
mod config;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    cli::init_tracing();
    match cli.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("breakwater: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
