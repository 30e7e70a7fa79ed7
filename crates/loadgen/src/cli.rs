//! The `breakwater loadgen` and `breakwater bench` subcommands.

use std::path::PathBuf;
use std::time::Duration;

use crate::bench::{self, BenchName, BenchOptions};
use crate::driver::DriveOptions;
use crate::http::{Pool, PoolOptions, parse_target};
use crate::journey::{Goal, Journey, JourneyConfig};
use crate::probe::{LineProbe, Probes, RedisProbe};
use crate::profile::ArrivalProfile;
use crate::run::measured_run;

/// Flags of `breakwater loadgen`.
#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// Gateway(s) to load, comma-separated; users are spread over them (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080", value_delimiter = ',')]
    pub target: Vec<String>,
    /// The event's id.
    #[arg(long, default_value = "demo")]
    pub event: String,
    /// Arrivals of new users: `constant:RATE`, `ramp:FROM:TO:SECONDS`,
    /// `spike:BASE:PEAK:AT:WIDTH` or `steps:R@S,R1->R2@S,...` (rates per second).
    #[arg(long, default_value = "spike:20:500:10:5")]
    pub profile: String,
    /// Seconds of arrivals.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Seconds users already in go on after the last arrival.
    #[arg(long, default_value_t = 30.0)]
    pub drain: f64,
    /// How far users go.
    #[arg(long, value_enum, default_value_t = Goal::Buy)]
    pub goal: Goal,
    /// Poll every this many ms instead of as the server advises (`poll_after_ms`).
    #[arg(long)]
    pub poll_every_ms: Option<u64>,
    /// Spread of each polling interval, as a fraction (0.1 = ±10 %).
    #[arg(long, default_value_t = 0.1)]
    pub poll_jitter: f64,
    /// Each user's first poll at a random point of the first interval (an evenly spread
    /// crowd from the start).
    #[arg(long)]
    pub spread_first_poll: bool,
    /// Think time between steps after entering, `MIN-MAX` ms.
    #[arg(long, default_value = "1000-3000")]
    pub think_ms: String,
    /// Fraction of users who give up along the way.
    #[arg(long, default_value_t = 0.1)]
    pub abandon: f64,
    /// With `--goal enter`: leave right after entering, freeing the slot.
    #[arg(long)]
    pub leave_after_enter: bool,
    /// Seats per hold.
    #[arg(long, default_value_t = 1)]
    pub hold_quantity: u32,
    /// `payment_method` at checkout.
    #[arg(long, default_value = "sandbox:approve")]
    pub payment_method: String,
    /// Keep-alive connections per target.
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// Most requests in flight; beyond it requests are refused and counted as errors.
    #[arg(long, default_value_t = 20_000)]
    pub max_in_flight: usize,
    /// Request timeout, ms.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Redis server(s) to watch (CPU, commands), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub redis_url: Vec<String>,
    /// Admin key of the first target, to chart the line's length and admissions: read
    /// from `BREAKWATER_ADMIN_KEY`, never a flag (a process list shows flags to anyone).
    #[arg(skip = std::env::var("BREAKWATER_ADMIN_KEY").ok())]
    pub admin_key: Option<String>,
    /// Server process id(s) to watch (CPU, RSS), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub watch_pid: Vec<u32>,
    /// Where the summary and charts go.
    #[arg(long, default_value = "bench-out/loadgen")]
    pub out: PathBuf,
    /// Seed of the users' random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// Flags of `breakwater bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Which benchmark (`all` runs each in turn).
    #[arg(value_enum)]
    pub name: BenchName,
    /// The short form: finishes in under a minute, checks that it ran and made sense.
    #[arg(long)]
    pub quick: bool,
    /// Where results go (default `bench-out/<name>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No live progress lines.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_think(text: &str) -> anyhow::Result<(u64, u64)> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let low: u64 = low.trim().parse()?;
    let high: u64 = high.trim().parse()?;
    anyhow::ensure!(low <= high, "think time MIN must not exceed MAX");
    Ok((low, high))
}

/// Runs a load generation session and prints its JSON summary.
pub async fn run_loadgen(args: LoadgenArgs) -> anyhow::Result<()> {
    let profile = ArrivalProfile::parse(&args.profile, args.duration)?;
    let pool_options = PoolOptions {
        connections: args.connections,
        request_timeout: Duration::from_millis(args.timeout_ms),
        ..PoolOptions::default()
    };
    let pools = args
        .target
        .iter()
        .map(|target| Ok(Pool::new(parse_target(target)?, pool_options)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!pools.is_empty(), "give at least one --target");
    let config = JourneyConfig {
        poll_every_ms: args.poll_every_ms,
        poll_jitter: args.poll_jitter,
        spread_first_poll: args.spread_first_poll,
        think_ms: parse_think(&args.think_ms)?,
        abandon_fraction: args.abandon,
        leave_after_enter: args.leave_after_enter,
        hold_quantity: args.hold_quantity,
        payment_method: args.payment_method.clone(),
        ..JourneyConfig::new(args.event.clone(), args.goal)
    };
    let probes = Probes {
        redis: (!args.redis_url.is_empty()).then(|| RedisProbe::new(args.redis_url.clone())),
        line: args.admin_key.as_deref().map(|key| {
            LineProbe::new(
                Pool::new(pools[0].addr(), PoolOptions::default()),
                &args.event,
                key,
            )
        }),
        processes: args
            .watch_pid
            .iter()
            .map(|pid| (format!("pid {pid}"), *pid))
            .collect(),
    };
    let options = DriveOptions {
        arrivals: profile,
        drain: Duration::from_secs_f64(args.drain),
        max_in_flight: args.max_in_flight,
        warmup: Duration::ZERO,
        seed: args.seed,
    };
    let mut journey = Journey::new(config);
    let (result, _) = measured_run(
        "loadgen",
        &mut journey,
        &pools,
        probes,
        &options,
        !args.quiet,
        Some(&args.out),
    )
    .await?;
    println!("{}", serde_json::to_string(&result.summary)?);
    eprintln!(
        "wrote {}/summary.json, timeline.json and dashboard.svg",
        args.out.display()
    );
    Ok(())
}

/// Runs one benchmark (or all of them) and prints its JSON line(s).
pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("bench-out").join(args.name.as_str()));
    let options = BenchOptions {
        quick: args.quick,
        out,
        live: !args.quiet,
    };
    bench::run(args.name, &options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_ranges() {
        assert_eq!(parse_think("100-300").unwrap(), (100, 300));
        assert_eq!(parse_think("50").unwrap(), (50, 50));
        assert!(parse_think("300-100").is_err());
    }
}
