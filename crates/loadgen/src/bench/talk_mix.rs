//! Benchmark 5, the talk's table side by side: its request mix at 10k, 20k and 30k
//! requests per second on this one machine, one gateway on one private Redis.
//!
//! The mix, as in the talk: buyers join, poll every 5 s (fixed, as the talk's clients
//! did), and enter when admitted. For a target of R requests/s the line is first filled
//! at 10k joins/s (the talk's join rate) to 3.75 R buyers; then joins, admissions and
//! enters each run at R/10 (the talk's 1,000/s admission at 10k), which keeps the line
//! steady, and polls make the rest (0.75 R from the line, 0.05 R from the newest
//! joiners' first polls). Each buyer's first poll falls at a random point of
//! their first 5 s, so polls are evenly spread as in a line that has been waiting a while.
//! Figures cover the steady part only (from one polling interval after the fill).

use std::time::Duration;

use serde_json::{Value, json};

use super::users::EventSpec;
use super::{Admin, BenchOptions, GatewaySetup, Server, round, sane};
use crate::chart::{Scales, Series, xy_chart};
use crate::driver::DriveOptions;
use crate::journey::{Goal, Journey, JourneyConfig};
use crate::probe::{Probes, RedisProbe};
use crate::profile::{ArrivalProfile, Segment};
use crate::report::RunSummary;
use crate::run::measured_run;
use breakwater_testkit::redis::RedisServer;

/// The talk's "after" Redis CPU at 10k, 20k and 30k RPS (on a 10-node cluster).
const TALK_REDIS_CPU: [(f64, f64); 3] = [(10_000.0, 40.0), (20_000.0, 70.0), (30_000.0, 90.0)];
const FILL_RATE: f64 = 10_000.0;
const POLL_MS: u64 = 5_000;

struct Plan {
    levels: Vec<f64>,
    measure: Duration,
}

/// Runs the benchmark (its short form with `--quick`) and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let plan = if options.quick {
        Plan {
            levels: vec![1_000.0],
            measure: Duration::from_secs(8),
        }
    } else {
        Plan {
            levels: vec![10_000.0, 20_000.0, 30_000.0],
            measure: Duration::from_secs(40),
        }
    };
    let mut rows = Vec::new();
    for &target in &plan.levels {
        let summary = level(options, target, plan.measure).await?;
        rows.push((target, summary));
    }
    chart(options, &rows)?;
    let table: Vec<Value> = rows
        .iter()
        .map(|(target, summary)| row(*target, summary))
        .collect();
    Ok(json!({
        "levels": table,
        "mix": "fill the line at 10k joins/s to 3.75 R buyers; then joins R/10, polls every 5 s (0.8 R), admissions and enters R/10",
        "talk_after": {"10k": "Redis CPU 40 %", "20k": "70 %", "30k": "90 % (5-shard, 10-node Redis Cluster)"},
        "charts": ["talk-mix.svg"],
    }))
}

fn row(target: f64, summary: &RunSummary) -> Value {
    let gateway = summary.processes.first();
    json!({
        "target_rps": target,
        "achieved_rps": round(summary.requests_per_second, 0),
        "p50_ms": round(summary.latency.p50_us as f64 / 1000.0, 2),
        "p99_ms": round(summary.latency.p99_us as f64 / 1000.0, 2),
        "errors": summary.errors,
        "requests": summary.requests,
        "redis_cpu_percent": summary.redis.as_ref().map(|redis| round(redis.cpu_percent, 1)),
        "redis_commands_per_second": summary.redis.as_ref().map(|redis| round(redis.commands_per_second, 0)),
        "gateway_cpu_percent": gateway.map(|process| round(process.cpu_percent, 0)),
        "loadgen_cpu_percent": round(summary.loadgen.cpu_percent, 0),
        "loadgen_send_lag_p99_ms": round(summary.loadgen.send_lag.p99_us as f64 / 1000.0, 2),
        "line_peak": summary.line.as_ref().map(|line| line.peak_waiting),
        "admitted_per_second": summary.line.as_ref().map(|line| round(line.admitted_per_second, 0)),
        "endpoints": summary.endpoints.iter().map(|endpoint| json!({
            "endpoint": endpoint.summary.endpoint,
            "rps": round(endpoint.requests_per_second, 0),
            "p99_ms": round(endpoint.summary.latency.p99_us as f64 / 1000.0, 2),
            "errors": endpoint.summary.errors,
        })).collect::<Vec<_>>(),
    })
}

async fn level(
    options: &BenchOptions,
    target: f64,
    measure: Duration,
) -> anyhow::Result<RunSummary> {
    let redis = RedisServer::start().await?;
    let setup = GatewaySetup::standalone(redis.url());
    let name = format!("talk-mix-{}k", target / 1000.0);
    let gateway = Server::gateway("gateway", &setup, &options.out.join(&name)).await?;
    let admin = Admin::new(gateway.pool(2), &setup.admin_key);
    let event = "bench-mix";
    let steady_rate = target / 10.0;
    admin
        .create_event(
            &EventSpec {
                rate: steady_rate,
                max_active: 10_000_000,
                heartbeat_timeout_seconds: 30,
                paused: false,
                ..EventSpec::still(event)
            }
            .body(),
        )
        .await?;
    let line = 3.75 * target;
    let fill = line / FILL_RATE;
    // Polls of the fill reach their steady spread one polling interval after it ends.
    let settle = fill + POLL_MS as f64 / 1000.0;
    let arrivals = ArrivalProfile::new(vec![
        Segment {
            from: FILL_RATE,
            to: FILL_RATE,
            seconds: fill,
        },
        Segment {
            from: steady_rate,
            to: steady_rate,
            seconds: settle - fill + measure.as_secs_f64(),
        },
    ]);
    let options_drive = DriveOptions {
        arrivals,
        drain: Duration::ZERO,
        max_in_flight: 50_000,
        warmup: Duration::from_secs_f64(settle),
        seed: target as u64,
    };
    let mut journey = Journey::new(JourneyConfig {
        poll_every_ms: Some(POLL_MS),
        poll_jitter: 0.1,
        spread_first_poll: true,
        abandon_fraction: 0.0,
        ..JourneyConfig::new(event, Goal::Enter)
    });
    let connections = 256;
    let pools = [gateway.pool(connections)];
    let probes = Probes {
        redis: Some(RedisProbe::new(vec![redis.url()])),
        line: Some(admin.line_probe(event)),
        processes: vec![("gateway".into(), gateway.pid())],
    };
    let out = options.out.join(&name);
    let (result, _) = measured_run(
        &name,
        &mut journey,
        &pools,
        probes,
        &options_drive,
        options.live,
        Some(&out),
    )
    .await?;
    let summary = result.summary;
    sane(summary.requests > 0, "requests were measured")?;
    sane(journey.counts().entered > 0, "buyers entered")?;
    Ok(summary)
}

fn chart(options: &BenchOptions, rows: &[(f64, RunSummary)]) -> anyhow::Result<()> {
    let points = |pick: &dyn Fn(&RunSummary) -> f64| -> Vec<(f64, f64)> {
        rows.iter()
            .map(|(target, summary)| (*target, pick(summary)))
            .collect()
    };
    let series = vec![
        Series::new(
            "Breakwater Redis CPU %",
            points(&|s| s.redis.as_ref().map_or(0.0, |r| r.cpu_percent)),
        ),
        Series::new(
            "talk's Redis CPU % (10-node cluster)",
            TALK_REDIS_CPU.to_vec(),
        ),
        Series::new(
            "Breakwater p99 ms",
            points(&|s| s.latency.p99_us as f64 / 1000.0),
        ),
        Series::new(
            "Breakwater p50 ms",
            points(&|s| s.latency.p50_us as f64 / 1000.0),
        ),
        Series::new(
            "gateway CPU % (of one core)",
            points(&|s| s.processes.first().map_or(0.0, |p| p.cpu_percent)),
        ),
        Series::new("loadgen CPU %", points(&|s| s.loadgen.cpu_percent)),
    ];
    xy_chart(
        &options.out.join("talk-mix.svg"),
        "The talk's mix on one 2-core machine (gateway + Redis + load generator)",
        ("target requests/s", "% of a core, or ms (log)"),
        &series,
        Scales {
            log_x: false,
            log_y: true,
        },
    )?;
    Ok(())
}
