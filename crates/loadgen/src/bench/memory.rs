//! Benchmark 6: memory, and status latency against line length.
//!
//! One gateway on a private Redis. Idle gateway RSS; status p99 (open model, fixed rate)
//! with 1k in line; fill the line to 1M (everyone polls once, so Redis holds what a
//! polled line holds); Redis bytes per waiting user; status p99 again at 1M; gateway RSS
//! at peak; then everyone goes silent and drops out when their heartbeat window passes,
//! and gateway RSS is read 60 s after the line emptied.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::users::{EventSpec, join_users, poll_each};
use super::{Admin, BenchOptions, GatewaySetup, Server, round, sane};
use crate::chart::{Panel, Series, dashboard};
use crate::driver::DriveOptions;
use crate::endpoint::Endpoint;
use crate::http::{Call, Pool};
use crate::probe::{Probes, RedisProbe, Sample, Sampler, process_sample};
use crate::profile::ArrivalProfile;
use crate::run::measured_run;
use crate::script::{OneShot, Request};
use breakwater_testkit::redis::RedisServer;

const EVENT: &str = "bench-memory";
const SMALL_LINE: u64 = 1_000;

struct Plan {
    users: u64,
    poll_rate: f64,
    poll_seconds: f64,
    idle: Duration,
    after: Duration,
    /// Long enough for the fill and the measurements, short enough to wait out.
    heartbeat_timeout_seconds: u32,
}

/// Runs the benchmark (its short form with `--quick`) and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let plan = if options.quick {
        Plan {
            users: 20_000,
            poll_rate: 300.0,
            poll_seconds: 3.0,
            idle: Duration::from_secs(2),
            after: Duration::from_secs(5),
            heartbeat_timeout_seconds: 30,
        }
    } else {
        Plan {
            users: 1_000_000,
            poll_rate: 2_000.0,
            poll_seconds: 15.0,
            idle: Duration::from_secs(5),
            after: Duration::from_secs(60),
            heartbeat_timeout_seconds: 180,
        }
    };
    let redis = RedisServer::start().await?;
    let setup = GatewaySetup::standalone(redis.url());
    let gateway = Server::gateway("gateway", &setup, &options.out).await?;
    let admin = Admin::new(gateway.pool(2), &setup.admin_key);
    let started = Instant::now();
    let sampler = Sampler::start(
        Probes {
            redis: Some(RedisProbe::new(vec![redis.url()])),
            line: Some(admin.line_probe(EVENT)),
            processes: vec![("gateway".into(), gateway.pid())],
        },
        started,
        Duration::from_secs(1),
        Default::default(),
    );
    let rss = || process_sample(gateway.pid()).map_or(0, |sample| sample.rss_bytes);
    tokio::time::sleep(plan.idle).await;
    let idle_rss = rss();

    admin
        .create_event(
            &EventSpec {
                heartbeat_timeout_seconds: plan.heartbeat_timeout_seconds,
                ..EventSpec::still(EVENT)
            }
            .body(),
        )
        .await?;
    let mut probe = RedisProbe::new(vec![redis.url()]);
    let empty = probe.read().await?.used_memory;
    let pool = gateway.pool(64);
    let (_, mut tokens) = join_users(pool.clone(), EVENT, SMALL_LINE, 32).await;
    let small = Arc::new(tokens.clone());
    poll_each(pool.clone(), EVENT, small.clone(), 32).await;
    let p99_small = status_p99(options, &pool, small, &plan, "status-1k").await?;

    let fill_started = Instant::now();
    let (filled, rest) = join_users(pool.clone(), EVENT, plan.users - SMALL_LINE, 64).await;
    let fill_seconds = fill_started.elapsed().as_secs_f64();
    tokens.extend(rest);
    sane(
        tokens.len() as u64 == plan.users,
        "every join returned a token",
    )?;
    let tokens = Arc::new(tokens);
    let polled = poll_each(pool.clone(), EVENT, tokens.clone(), 64).await;
    // The gateway writes heartbeats once a second.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let waiting = admin.stats(EVENT).await?.waiting;
    let full = probe.read().await?.used_memory;
    let bytes_per_user = full.saturating_sub(empty) as f64 / waiting.max(1) as f64;
    let p99_large = status_p99(options, &pool, tokens.clone(), &plan, "status-1m").await?;
    let peak_rss = rss();
    drop(tokens);

    // Everyone goes silent; the line empties as their heartbeat window passes.
    let emptied_in = wait_until_empty(&admin, plan.heartbeat_timeout_seconds).await?;
    tokio::time::sleep(plan.after).await;
    let after_rss = rss();
    let (samples, _) = sampler.stop().await;
    let peak_rss = samples
        .iter()
        .filter_map(|sample| Some(sample.processes.first()?.as_ref()?.rss_bytes))
        .max()
        .unwrap_or(peak_rss);
    chart(options, &samples)?;
    sane(
        waiting > 0 && idle_rss > 0 && after_rss > 0,
        "memory was read",
    )?;
    let mib = |bytes: u64| round(bytes as f64 / (1024.0 * 1024.0), 1);
    Ok(json!({
        "users": plan.users,
        "waiting_at_peak": waiting,
        "redis_bytes_per_waiting_user": round(bytes_per_user, 2),
        "redis_used_memory_empty_bytes": empty,
        "redis_used_memory_full_bytes": full,
        "gateway_rss_mib": {"idle": mib(idle_rss), "peak": mib(peak_rss), "after_60s": mib(after_rss)},
        "gateway_rss_after_over_idle": round(after_rss as f64 / idle_rss.max(1) as f64, 2),
        "heartbeat_timeout_seconds": plan.heartbeat_timeout_seconds,
        "line_emptied_in_seconds_after_last_measurement": round(emptied_in, 1),
        "after_seconds": plan.after.as_secs(),
        "fill": {"joins_per_second": round(filled.per_second, 0), "seconds": round(fill_seconds, 1), "errors": filled.errors},
        "poll_everyone_once": {"polls_per_second": round(polled.per_second, 0), "errors": polled.errors},
        "status_p99": {
            "rate_per_second": plan.poll_rate,
            "at_1k_ms": round(p99_small.0, 3),
            "at_full_ms": round(p99_large.0, 3),
            "p50_at_1k_ms": round(p99_small.1, 3),
            "p50_at_full_ms": round(p99_large.1, 3),
            "ratio_full_over_1k": round(p99_large.0 / p99_small.0.max(1e-6), 3),
            "errors": p99_small.2 + p99_large.2,
        },
        "chart": "memory.svg",
    }))
}

/// Status polls at a fixed rate with random tokens (open model): (p99 ms, p50 ms, errors).
async fn status_p99(
    options: &BenchOptions,
    pool: &Arc<Pool>,
    tokens: Arc<Vec<Arc<str>>>,
    plan: &Plan,
    name: &str,
) -> anyhow::Result<(f64, f64, u64)> {
    let path = format!("/api/v1/events/{EVENT}/queue");
    let mut script = OneShot::new(move |_, rng: &mut rand::rngs::SmallRng| {
        let token = tokens[rng.random_range(0..tokens.len())].clone();
        Request {
            endpoint: Endpoint::Status,
            call: Call::get(path.clone()).bearer(token),
        }
    });
    let drive = DriveOptions {
        arrivals: ArrivalProfile::constant(plan.poll_rate, plan.poll_seconds),
        drain: Duration::from_secs(2),
        max_in_flight: 10_000,
        warmup: Duration::from_secs(1),
        seed: 6,
    };
    let out = options.out.join(name);
    let (result, _) = measured_run(
        name,
        &mut script,
        std::slice::from_ref(pool),
        Probes::default(),
        &drive,
        options.live,
        Some(&out),
    )
    .await?;
    let status = result
        .summary
        .endpoints
        .iter()
        .find(|row| row.summary.endpoint == Endpoint::Status)
        .ok_or_else(|| anyhow::anyhow!("no status polls measured"))?;
    Ok((
        status.summary.latency.p99_us as f64 / 1000.0,
        status.summary.latency.p50_us as f64 / 1000.0,
        status.summary.errors,
    ))
}

async fn wait_until_empty(admin: &Admin, timeout_seconds: u32) -> anyhow::Result<f64> {
    let started = Instant::now();
    loop {
        if admin.stats(EVENT).await?.waiting == 0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        let patience = Duration::from_secs(2 * u64::from(timeout_seconds) + 60);
        anyhow::ensure!(started.elapsed() < patience, "the line never emptied");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn chart(options: &BenchOptions, samples: &[Sample]) -> anyhow::Result<()> {
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let panels = vec![
        Panel::new(
            "gateway RSS",
            "MiB",
            vec![Series::new(
                "gateway",
                samples
                    .iter()
                    .filter_map(|s| Some((s.at_s, mib(s.processes.first()?.as_ref()?.rss_bytes))))
                    .collect(),
            )],
        ),
        Panel::new(
            "Redis used_memory",
            "MiB",
            vec![Series::new(
                "redis",
                samples
                    .iter()
                    .filter_map(|s| Some((s.at_s, mib(s.redis.as_ref()?.used_memory))))
                    .collect(),
            )],
        ),
        Panel::new(
            "line length",
            "waiting",
            vec![Series::new(
                "waiting",
                samples
                    .iter()
                    .filter_map(|s| Some((s.at_s, s.line?.waiting as f64)))
                    .collect(),
            )],
        ),
        Panel::new(
            "load generator RSS",
            "MiB",
            vec![Series::new(
                "loadgen",
                samples
                    .iter()
                    .map(|s| (s.at_s, mib(s.loadgen.rss_bytes)))
                    .collect(),
            )],
        ),
    ];
    dashboard(
        &options.out.join("memory.svg"),
        "Memory: idle, 1M in line, after",
        &panels,
    )
}
