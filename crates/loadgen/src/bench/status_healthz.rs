//! Benchmark 2: status polls per second as a fraction of bare `/healthz` per second, on
//! the same gateway in the same run (closed loop, same connections, phases alternating),
//! with the Redis commands the status phases cost.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::users::{EventSpec, join_users, status_phase};
use super::{Admin, BenchOptions, GatewaySetup, Server, round, sane};
use crate::chart::{Scales, Series, xy_chart};
use crate::endpoint::Endpoint;
use crate::http::Call;
use crate::probe::{RedisProbe, process_sample, self_sample};
use crate::saturate::{Phase, Saturation, saturate};
use breakwater_testkit::redis::RedisServer;

const EVENT: &str = "bench-status";

struct Plan {
    users: u64,
    rounds: usize,
    phase: Duration,
    concurrency: usize,
}

/// Runs the benchmark (its short form with `--quick`) and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let plan = if options.quick {
        Plan {
            users: 2_000,
            rounds: 1,
            phase: Duration::from_millis(1_500),
            concurrency: 32,
        }
    } else {
        Plan {
            users: 10_000,
            rounds: 5,
            phase: Duration::from_secs(5),
            concurrency: 64,
        }
    };
    let redis = RedisServer::start().await?;
    let setup = GatewaySetup::standalone(redis.url());
    let gateway = Server::gateway("gateway", &setup, &options.out).await?;
    let admin = Admin::new(gateway.pool(2), &setup.admin_key);
    admin.create_event(&EventSpec::still(EVENT).body()).await?;
    let pool = gateway.pool(plan.concurrency);
    let (joined, tokens) = join_users(pool.clone(), EVENT, plan.users, plan.concurrency).await;
    sane(
        tokens.len() as u64 == plan.users,
        "every join returned a token",
    )?;
    let tokens = Arc::new(tokens);
    let mut probe = RedisProbe::new(vec![redis.url()]);
    let mut healthz = Vec::new();
    let mut status = Vec::new();
    let mut redis_commands = 0u64;
    let mut cpu = CpuWatch::start(gateway.pid());
    for round in 0..plan.rounds {
        let phase = Phase {
            endpoint: Endpoint::Healthz,
            concurrency: plan.concurrency,
            duration: plan.phase,
            limit: None,
            make: Arc::new(|_| Call::get("/healthz")),
            keep: None,
        };
        healthz.push(saturate(pool.clone(), phase).await);
        let before = probe.read().await?;
        let phase = status_phase(EVENT, tokens.clone(), plan.concurrency, plan.phase, false);
        status.push(saturate(pool.clone(), phase).await);
        redis_commands += probe.read().await?.since(&before).commands;
        if options.live {
            eprintln!(
                "status-vs-healthz round {}: healthz {:.0}/s status {:.0}/s",
                round + 1,
                healthz[round].per_second,
                status[round].per_second
            );
        }
    }
    let (gateway_cpu, loadgen_cpu) = cpu.stop();
    let healthz_median = median(&healthz);
    let status_median = median(&status);
    let status_calls: u64 = status.iter().map(|phase| phase.requests).sum();
    sane(
        healthz_median > 0.0 && status_median > 0.0,
        "both endpoints answered",
    )?;
    chart(options, &healthz, &status)?;
    Ok(json!({
        "users_in_line": plan.users,
        "connections": plan.concurrency,
        "rounds": plan.rounds,
        "phase_seconds": plan.phase.as_secs_f64(),
        "healthz_per_second_median": round(healthz_median, 0),
        "status_per_second_median": round(status_median, 0),
        "status_over_healthz": round(status_median / healthz_median, 3),
        "redis_commands_per_status": round(redis_commands as f64 / status_calls.max(1) as f64, 4),
        "status_errors": status.iter().map(|phase| phase.errors).sum::<u64>(),
        "healthz_errors": healthz.iter().map(|phase| phase.errors).sum::<u64>(),
        "joins_per_second_setup": round(joined.per_second, 0),
        "gateway_cpu_percent": round(gateway_cpu, 0),
        "loadgen_cpu_percent": round(loadgen_cpu, 0),
        "phases": {"healthz": healthz, "status": status},
        "chart": "status-vs-healthz.svg",
    }))
}

fn median(phases: &[Saturation]) -> f64 {
    let mut rates: Vec<f64> = phases.iter().map(|phase| phase.per_second).collect();
    rates.sort_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied().unwrap_or(0.0)
}

fn chart(
    options: &BenchOptions,
    healthz: &[Saturation],
    status: &[Saturation],
) -> anyhow::Result<()> {
    let series = |name: &str, phases: &[Saturation]| {
        Series::new(
            name,
            phases
                .iter()
                .enumerate()
                .map(|(round, phase)| ((round + 1) as f64, phase.per_second))
                .collect(),
        )
    };
    xy_chart(
        &options.out.join("status-vs-healthz.svg"),
        "Status polls vs bare /healthz, same gateway, alternating phases",
        ("round", "requests/s (closed loop)"),
        &[
            series("GET /healthz", healthz),
            series("GET .../queue (status)", status),
        ],
        Scales {
            log_x: false,
            log_y: false,
        },
    )
}

/// CPU used by the gateway and by this process between `start` and `stop`, % of a core.
pub(super) struct CpuWatch {
    pid: u32,
    started: std::time::Instant,
    gateway: f64,
    loadgen: f64,
}

impl CpuWatch {
    pub(super) fn start(pid: u32) -> Self {
        Self {
            pid,
            started: std::time::Instant::now(),
            gateway: process_sample(pid).map_or(0.0, |sample| sample.cpu_seconds),
            loadgen: self_sample().cpu_seconds,
        }
    }

    /// (gateway, load generator) CPU %.
    pub(super) fn stop(&mut self) -> (f64, f64) {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let gateway = process_sample(self.pid).map_or(0.0, |sample| sample.cpu_seconds);
        let loadgen = self_sample().cpu_seconds;
        (
            (gateway - self.gateway) / seconds * 100.0,
            (loadgen - self.loadgen) / seconds * 100.0,
        )
    }
}
