//! The `breakwater loadgen` and `breakwater bench` subcommands.

/// Flags of `breakwater loadgen`.
#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {}

/// Flags of `breakwater bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs a load generation session.
pub async fn run_loadgen(_args: LoadgenArgs) -> anyhow::Result<()> {
    anyhow::bail!("the load generator is not built yet")
}

/// Runs one benchmark.
pub async fn run_bench(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("the benchmarks are not built yet")
}
