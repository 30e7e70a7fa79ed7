//! The ticketing backend's subcommands: `inventory`, `payment`, `reservation`.
//!
//! Each loads its service's typed configuration (defaults ← `--config` TOML ←
//! `BREAKWATER_*` environment ← flags), validates it, starts the service and runs until
//! SIGINT or SIGTERM, then shuts down gracefully. Secrets (`token_secret`, `admin_key`)
//! have no flags, so they never show in a process list: set `BREAKWATER_TOKEN_SECRET` and
//! `BREAKWATER_ADMIN_KEY` (or `…_FILE`) or put them in the TOML file; a `--database-url`
//! flag with a password is refused for the same reason.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// Flags of `breakwater inventory`.
#[derive(Debug, clap::Args, Serialize)]
pub struct InventoryArgs {
    /// Address of the gRPC server.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// Most database connections.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<u32>,
}

/// Flags of `breakwater payment`.
#[derive(Debug, clap::Args, Serialize)]
pub struct PaymentArgs {
    /// Address of the gRPC server.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// Most database connections.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<u32>,
    /// Sandbox provider: mean latency in milliseconds.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    /// Sandbox provider: share of `sandbox` charges declined (0.0 to 1.0).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    decline_rate: Option<f64>,
    /// Sandbox provider: share of `sandbox` charges that time out (0.0 to 1.0).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_rate: Option<f64>,
    /// Sandbox provider: when a timed-out charge settles, in milliseconds after it.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    settle_after_ms: Option<u64>,
    /// Sandbox provider: share of timed-out charges that end captured.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_capture_rate: Option<f64>,
    /// Longest wait for one provider answer, in milliseconds.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_timeout_ms: Option<u64>,
}

/// Flags of `breakwater reservation`.
#[derive(Debug, clap::Args, Serialize)]
pub struct ReservationArgs {
    /// Address of the HTTP server.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// Most database connections.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<u32>,
    /// gRPC URL of the inventory service.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    inventory_url: Option<String>,
    /// gRPC URL of the payment service.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_url: Option<String>,
    /// Pause between reconciler passes, in milliseconds.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    reconcile_interval_ms: Option<u64>,
    /// Deadline of each inventory call, in milliseconds.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc_timeout_ms: Option<u64>,
    /// Deadline of each payment call, in milliseconds.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_timeout_ms: Option<u64>,
    /// After this many milliseconds unanswered, a pending hold is abandoned.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_hold_timeout_ms: Option<u64>,
}

/// Runs the inventory service until interrupted.
pub async fn run_inventory(file: Option<&Path>, args: InventoryArgs) -> anyhow::Result<()> {
    crate::config::refuse_password_in_flag("--database-url", args.database_url.as_deref())?;
    let config: breakwater_inventory::Config = crate::config::load(file, &args)?;
    config
        .validate()
        .map_err(|error| anyhow::anyhow!("configuration: {error}"))?;
    let running = breakwater_inventory::start(config).await?;
    until_signal().await?;
    running.shutdown().await
}

/// Runs the payment service until interrupted.
pub async fn run_payment(file: Option<&Path>, args: PaymentArgs) -> anyhow::Result<()> {
    crate::config::refuse_password_in_flag("--database-url", args.database_url.as_deref())?;
    let config: breakwater_payment::Config = crate::config::load(file, &args)?;
    config
        .validate()
        .map_err(|error| anyhow::anyhow!("configuration: {error}"))?;
    let running = breakwater_payment::start(config).await?;
    until_signal().await?;
    running.shutdown().await
}

/// Runs the reservation service until interrupted.
pub async fn run_reservation(file: Option<&Path>, args: ReservationArgs) -> anyhow::Result<()> {
    crate::config::refuse_password_in_flag("--database-url", args.database_url.as_deref())?;
    let config: breakwater_reservation::Config = crate::config::load(file, &args)?;
    config
        .validate()
        .map_err(|error| anyhow::anyhow!("configuration: {error}"))?;
    let running = breakwater_reservation::start(config).await?;
    until_signal().await?;
    running.shutdown().await
}

/// Waits for SIGINT or SIGTERM.
async fn until_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for SIGINT")?,
        _ = terminate.recv() => {}
    }
    tracing::info!("signal received, shutting down");
    Ok(())
}
