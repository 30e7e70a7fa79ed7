//! Benchmark 4: joins per second at sale open (one gateway, closed loop, open line), and
//! admission accuracy: three gateways on one Redis, a long line, the configured rate,
//! admissions counted every second for the whole window.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::status_healthz::CpuWatch;
use super::users::{EventSpec, join_users};
use super::{Admin, BenchOptions, GatewaySetup, Server, round, sane};
use crate::chart::{Panel, Series, dashboard};
use crate::probe::RedisProbe;
use breakwater_testkit::redis::RedisServer;

struct Plan {
    join_seconds: Duration,
    join_concurrency: usize,
    rate: f64,
    window: Duration,
}

/// Runs the benchmark (its short form with `--quick`) and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let plan = if options.quick {
        Plan {
            join_seconds: Duration::from_secs(2),
            join_concurrency: 32,
            rate: 200.0,
            window: Duration::from_secs(6),
        }
    } else {
        Plan {
            join_seconds: Duration::from_secs(10),
            join_concurrency: 64,
            rate: 1_000.0,
            window: Duration::from_secs(60),
        }
    };
    let joins = joins_at_open(options, &plan).await?;
    let accuracy = admission_accuracy(options, &plan).await?;
    Ok(json!({ "joins_at_open": joins, "admission_accuracy": accuracy, "chart": "admission.svg" }))
}

/// Joins as fast as the gateway takes them, into an open line admitting at the rate.
async fn joins_at_open(options: &BenchOptions, plan: &Plan) -> anyhow::Result<Value> {
    let redis = RedisServer::start().await?;
    let setup = GatewaySetup::standalone(redis.url());
    let gateway = Server::gateway("gateway-joins", &setup, &options.out).await?;
    let admin = Admin::new(gateway.pool(2), &setup.admin_key);
    let open = EventSpec {
        paused: false,
        rate: plan.rate,
        ..EventSpec::still("bench-joins-open")
    };
    admin.create_event(&open.body()).await?;
    admin
        .create_event(&EventSpec::still("bench-joins-paused").body())
        .await?;
    let mut probe = RedisProbe::new(vec![redis.url()]);
    let pool = gateway.pool(plan.join_concurrency);
    let at_open = join_phase(&mut probe, &gateway, pool.clone(), "bench-joins-open", plan).await?;
    let paused = join_phase(&mut probe, &gateway, pool, "bench-joins-paused", plan).await?;
    Ok(json!({
        "open_line": at_open,
        "paused_line": paused,
        "connections": plan.join_concurrency,
        "admission_rate_per_second": plan.rate,
    }))
}

/// Joins `event` as fast as the connections allow for the plan's time.
async fn join_phase(
    probe: &mut RedisProbe,
    gateway: &Server,
    pool: Arc<crate::http::Pool>,
    event: &str,
    plan: &Plan,
) -> anyhow::Result<Value> {
    let before = probe.read().await?;
    let mut cpu = CpuWatch::start(gateway.pid());
    let path = format!("/api/v1/events/{event}/queue");
    let phase = crate::saturate::Phase {
        endpoint: crate::endpoint::Endpoint::Join,
        concurrency: plan.join_concurrency,
        duration: plan.join_seconds,
        limit: None,
        make: Arc::new(move |_| crate::http::Call::new(http::Method::POST, path.clone())),
        keep: None,
    };
    let joined = crate::saturate::saturate(pool, phase).await;
    let (gateway_cpu, loadgen_cpu) = cpu.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delta = probe.read().await?.since(&before);
    sane(
        joined.requests > 0 && joined.per_second > 0.0,
        "joins succeeded",
    )?;
    Ok(json!({
        "joins_per_second": round(joined.per_second, 0),
        "joins": joined.requests,
        "errors": joined.errors,
        "service_time": joined.service_time,
        "redis_commands_per_join": round(delta.commands as f64 / joined.requests.max(1) as f64, 4),
        "redis_script_calls_per_join": round(delta.script_calls as f64 / joined.requests.max(1) as f64, 4),
        "redis_cpu_percent": round(delta.cpu_seconds / joined.seconds * 100.0, 1),
        "gateway_cpu_percent": round(gateway_cpu, 0),
        "loadgen_cpu_percent": round(loadgen_cpu, 0),
    }))
}

/// Three gateways, one line; admitted counted every second over the window.
async fn admission_accuracy(options: &BenchOptions, plan: &Plan) -> anyhow::Result<Value> {
    let redis = RedisServer::start().await?;
    let setup = GatewaySetup::standalone(redis.url());
    let mut gateways = Vec::new();
    for index in 1..=3 {
        gateways.push(Server::gateway(&format!("gateway-{index}"), &setup, &options.out).await?);
    }
    let admin = Admin::new(gateways[0].pool(2), &setup.admin_key);
    let event = "bench-admission";
    admin
        .create_event(
            &EventSpec {
                rate: plan.rate,
                ..EventSpec::still(event)
            }
            .body(),
        )
        .await?;
    // Enough buyers that the line never runs dry, joined through all three gateways.
    let users = (plan.rate * (plan.window.as_secs_f64() + 10.0)) as u64;
    for gateway in &gateways {
        Admin::new(gateway.pool(1), &setup.admin_key)
            .wait_for_event(event)
            .await?;
    }
    let mut joined = 0;
    for gateway in &gateways {
        let (_, tokens) = join_users(gateway.pool(32), event, users / 3 + 1, 32).await;
        joined += tokens.len() as u64;
    }
    sane(
        joined > users,
        &format!("the line was filled ({joined} of {users} joined)"),
    )?;
    // Every gateway has seen the line before the sale opens.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let watcher = Admin::new(gateways[1].pool(2), &setup.admin_key);
    admin.patch_event(event, &json!({"paused": false})).await?;
    let started = Instant::now();
    // The pacer's first steps and the replica lag settle in the first seconds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut readings = vec![(
        started.elapsed().as_secs_f64(),
        watcher.stats(event).await?.admitted_total,
    )];
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let end = Instant::now() + plan.window;
    while Instant::now() < end {
        ticker.tick().await;
        readings.push((
            started.elapsed().as_secs_f64(),
            watcher.stats(event).await?.admitted_total,
        ));
        if options.live {
            let (t, admitted) = readings[readings.len() - 1];
            eprint!("\radmission accuracy: {t:.0}s admitted {admitted}   ");
        }
    }
    if options.live {
        eprintln!();
    }
    let (t0, a0) = readings[0];
    let (t1, a1) = readings[readings.len() - 1];
    let measured = (a1 - a0) as f64 / (t1 - t0);
    let per_second: Vec<f64> = readings
        .windows(2)
        .map(|pair| (pair[1].1 - pair[0].1) as f64 / (pair[1].0 - pair[0].0))
        .collect();
    sane(a1 > a0, "buyers were admitted")?;
    chart(options, &readings, plan.rate)?;
    let min = per_second.iter().copied().fold(f64::MAX, f64::min);
    let max = per_second.iter().copied().fold(0.0, f64::max);
    Ok(json!({
        "gateways": 3,
        "configured_rate_per_second": plan.rate,
        "window_seconds": round(t1 - t0, 2),
        "admitted": a1 - a0,
        "measured_rate_per_second": round(measured, 2),
        "error_percent": round((measured / plan.rate - 1.0) * 100.0, 3),
        "per_second_min": round(min, 1),
        "per_second_max": round(max, 1),
        "users_in_line_at_start": joined,
        "note": "admitted_total read once a second from gateway 2 (any of the three may hold the pacer lease); \
                 per-second values carry the replica's sync jitter (200 ms), the window's rate does not",
    }))
}

fn chart(options: &BenchOptions, readings: &[(f64, u64)], rate: f64) -> anyhow::Result<()> {
    let per_second: Vec<(f64, f64)> = readings
        .windows(2)
        .map(|pair| {
            (
                pair[1].0,
                (pair[1].1 - pair[0].1) as f64 / (pair[1].0 - pair[0].0),
            )
        })
        .collect();
    let configured = per_second.iter().map(|&(t, _)| (t, rate)).collect();
    let panels = vec![
        Panel::new(
            "admissions/s, 3 gateways on one Redis",
            "admitted/s",
            vec![
                Series::new("measured", per_second),
                Series::new("configured", configured),
            ],
        ),
        Panel::new(
            "admitted total",
            "buyers",
            vec![Series::new(
                "admitted_total",
                readings
                    .iter()
                    .map(|&(t, admitted)| (t, admitted as f64))
                    .collect(),
            )],
        ),
    ];
    dashboard(
        &options.out.join("admission.svg"),
        "Admission accuracy",
        &panels,
    )
}
