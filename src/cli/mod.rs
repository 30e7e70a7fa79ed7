//! The command line: one subcommand per part of the system.

mod backend;
mod gateway;
mod runtime;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Breakwater: a ticket-rush waiting room, admission gateway and ticketing backend.
#[derive(Debug, Parser)]
#[command(name = "breakwater", version, about)]
pub struct Cli {
    /// A TOML file with the subcommand's settings; flags and BREAKWATER_* variables win over it.
    #[arg(long, global = true, env = "BREAKWATER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Everything in one process on embedded stores, with a demo event open.
    Serve(serve::ServeArgs),
    /// The waiting room alone, its lines in Redis; several may share one Redis.
    Gateway(gateway::GatewayArgs),
    /// Inventory service alone (gRPC): seat maps, stock and holds.
    Inventory(backend::InventoryArgs),
    /// Payment service alone (gRPC): payment intents and the sandbox provider.
    Payment(backend::PaymentArgs),
    /// Reservation service alone (HTTP behind the gateway): holds, orders, checkout.
    Reservation(backend::ReservationArgs),
    /// Load generator: simulated buyers against a running deployment.
    Loadgen(breakwater_loadgen::cli::LoadgenArgs),
    /// Benchmark programs (see BENCHMARKS.md).
    Bench(breakwater_loadgen::cli::BenchArgs),
}

impl Cli {
    /// Runs the chosen subcommand until it ends or is interrupted.
    pub async fn run(self) -> anyhow::Result<()> {
        let file = self.config.as_deref();
        match self.command {
            Command::Serve(args) => serve::run(file, args).await,
            Command::Gateway(args) => gateway::run(file, args).await,
            Command::Inventory(args) => backend::run_inventory(file, args).await,
            Command::Payment(args) => backend::run_payment(file, args).await,
            Command::Reservation(args) => backend::run_reservation(file, args).await,
            Command::Loadgen(args) => breakwater_loadgen::cli::run_loadgen(args).await,
            Command::Bench(args) => breakwater_loadgen::cli::run_bench(args).await,
        }
    }
}

/// Logs to stderr; `RUST_LOG` filters, `BREAKWATER_LOG_FORMAT=json` gives JSON lines.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if std::env::var("BREAKWATER_LOG_FORMAT").is_ok_and(|format| format == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
