//! The ticketing backend's subcommands: `inventory`, `payment`, `reservation`.

use std::path::Path;

/// Flags of `breakwater inventory`.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {}

/// Flags of `breakwater payment`.
#[derive(Debug, clap::Args)]
pub struct PaymentArgs {}

/// Flags of `breakwater reservation`.
#[derive(Debug, clap::Args)]
pub struct ReservationArgs {}

/// Runs the inventory service until interrupted.
pub async fn run_inventory(_file: Option<&Path>, _args: InventoryArgs) -> anyhow::Result<()> {
    anyhow::bail!("the inventory service is not built yet")
}

/// Runs the payment service until interrupted.
pub async fn run_payment(_file: Option<&Path>, _args: PaymentArgs) -> anyhow::Result<()> {
    anyhow::bail!("the payment service is not built yet")
}

/// Runs the reservation service until interrupted.
pub async fn run_reservation(_file: Option<&Path>, _args: ReservationArgs) -> anyhow::Result<()> {
    anyhow::bail!("the reservation service is not built yet")
}
