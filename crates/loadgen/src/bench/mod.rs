//! The benchmarks of BENCHMARKS.md, one module each, run by `breakwater bench NAME`.
//!
//! Every benchmark starts what it measures itself (private Redis servers, gateway and
//! serve processes from this binary on loopback ports), prints one JSON line of figures,
//! writes `summary.json` and SVG charts into its output directory, and checks that its
//! output is sane (never how fast anything was).

mod admin;
mod backend;
mod joins_admission;
mod memory;
mod proof_of_work;
mod redis_cost;
mod server;
mod status_healthz;
mod talk_mix;
mod talk_positions;
mod users;

use std::path::PathBuf;

use serde_json::{Value, json};
use tokio::time::Instant;

pub use admin::Admin;
pub use server::{GatewaySetup, Server};

/// The benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchName {
    /// 1. Position lookup: KEYS scan vs sorted-set ZRANK vs Breakwater, 1k to 1M users.
    TalkPositions,
    /// 2. Status req/s as a fraction of bare /healthz req/s, same server, same run.
    StatusVsHealthz,
    /// 3. Redis commands and CPU per status call, per join, per admission.
    RedisCost,
    /// 4. Joins/s at sale open; admission accuracy with 3 gateways.
    JoinsAndAdmission,
    /// 5. The talk's mix at 10k, 20k and 30k RPS.
    TalkMix,
    /// 6. Redis bytes per waiting user at 1M; gateway RSS; status p99 at 1k vs 1M.
    Memory,
    /// 7. Holds and checkouts per second through the gateway.
    Backend,
    /// 8. Proof of work at join: verification cost, solve time by difficulty.
    ProofOfWork,
    /// Every benchmark in turn.
    All,
}

impl BenchName {
    /// Every benchmark, in the order `all` runs them.
    pub const EACH: [BenchName; 8] = [
        Self::TalkPositions,
        Self::StatusVsHealthz,
        Self::RedisCost,
        Self::JoinsAndAdmission,
        Self::TalkMix,
        Self::Memory,
        Self::Backend,
        Self::ProofOfWork,
    ];

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TalkPositions => "talk-positions",
            Self::StatusVsHealthz => "status-vs-healthz",
            Self::RedisCost => "redis-cost",
            Self::JoinsAndAdmission => "joins-and-admission",
            Self::TalkMix => "talk-mix",
            Self::Memory => "memory",
            Self::Backend => "backend",
            Self::ProofOfWork => "proof-of-work",
            Self::All => "all",
        }
    }
}

/// How a benchmark runs.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The short form (under a minute).
    pub quick: bool,
    /// Where results go.
    pub out: PathBuf,
    /// Show live progress.
    pub live: bool,
}

/// Runs `name` (or every benchmark for `all`), printing one JSON line per benchmark.
pub async fn run(name: BenchName, options: &BenchOptions) -> anyhow::Result<()> {
    if name != BenchName::All {
        let figures = run_one(name, options).await?;
        println!("{}", serde_json::to_string(&figures)?);
        return Ok(());
    }
    let mut failed = Vec::new();
    for each in BenchName::EACH {
        let options = BenchOptions {
            out: options.out.join(each.as_str()),
            ..options.clone()
        };
        match run_one(each, &options).await {
            Ok(figures) => println!("{}", serde_json::to_string(&figures)?),
            Err(error) => {
                eprintln!("bench {} failed: {error:#}", each.as_str());
                println!(
                    "{}",
                    json!({"bench": each.as_str(), "ok": false, "error": format!("{error:#}")})
                );
                failed.push(each.as_str());
            }
        }
    }
    let passed = BenchName::EACH.len() - failed.len();
    println!("bench: {passed} passed, {} failed", failed.len());
    anyhow::ensure!(
        failed.is_empty(),
        "benchmarks failed: {}",
        failed.join(", ")
    );
    Ok(())
}

async fn run_one(name: BenchName, options: &BenchOptions) -> anyhow::Result<Value> {
    std::fs::create_dir_all(&options.out)?;
    let started = Instant::now();
    eprintln!(
        "bench {}{}: results in {}",
        name.as_str(),
        if options.quick { " --quick" } else { "" },
        options.out.display()
    );
    let figures = match name {
        BenchName::TalkPositions => talk_positions::run(options).await?,
        BenchName::StatusVsHealthz => status_healthz::run(options).await?,
        BenchName::RedisCost => redis_cost::run(options).await?,
        BenchName::JoinsAndAdmission => joins_admission::run(options).await?,
        BenchName::TalkMix => talk_mix::run(options).await?,
        BenchName::Memory => memory::run(options).await?,
        BenchName::Backend => backend::run(options).await?,
        BenchName::ProofOfWork => proof_of_work::run(options).await?,
        BenchName::All => anyhow::bail!("`all` is not one benchmark"),
    };
    let command: Vec<String> = std::env::args().collect();
    let record = json!({
        "bench": name.as_str(),
        "ok": true,
        "quick": options.quick,
        "seconds": started.elapsed().as_secs_f64(),
        "command": command.join(" "),
        "machine": machine(),
        "figures": figures,
    });
    std::fs::write(
        options.out.join("summary.json"),
        serde_json::to_string_pretty(&record)?,
    )?;
    Ok(record)
}

/// What the figures were measured on.
fn machine() -> Value {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_default();
    // Other work on the machine skews figures; the load average says how much there was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load_1m = load
        .split_whitespace()
        .next()
        .and_then(|value| value.parse::<f64>().ok());
    json!({
        "cpus": cpus,
        "cpu_model": model,
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "load_average_1m_at_end": load_1m,
    })
}

/// Fails with `what` unless `ok`: the sanity checks every benchmark makes of its output.
pub(crate) fn sane(ok: bool, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(ok, "insane output: {what}");
    Ok(())
}

/// A value rounded to `digits` decimals, for JSON figures people read.
pub(crate) fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}
