//! Benchmark 1, the talk reproduced: "what is my place in line?" answered three ways at
//! 1k to 1M users in line, on a private Redis:
//!
//! - the talk's before: `KEYS stream:event:{evt}:user:*` over one key per user;
//! - the talk's after: `ZRANK queue:event:{evt}:position <user>` on one sorted set;
//! - Breakwater: the waiting room engine answering `status` from its replica of the line
//!   (kept in step with Redis through the change log), in-process, token check included.
//!
//! For each: latency per lookup, Redis CPU per 10k lookups, Redis bytes per user.

use std::sync::Arc;
use std::time::Duration;

use breakwater_line::{Clock, EventId, LineSettings, SystemClock};
use breakwater_line_redis::{RedisLineStore, RedisOptions, RedisTopology};
use breakwater_line_store::LineStore;
use breakwater_testkit::redis::RedisServer;
use breakwater_tokens::{LineToken, TokenKeys};
use breakwater_waitroom::{Waitroom, WaitroomConfig};
use hdrhistogram::Histogram;
use rand::Rng;
use redis::aio::MultiplexedConnection;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{BenchOptions, round, sane};
use crate::chart::{Scales, Series, xy_chart};
use crate::probe::RedisProbe;

/// Latency of lookups in microseconds (measured in nanoseconds).
#[derive(Debug, Clone, Copy, Serialize)]
struct Latency {
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    max_us: f64,
    mean_us: f64,
}

impl Latency {
    fn of(nanos: &Histogram<u64>) -> Self {
        let us = |ns: u64| round(ns as f64 / 1000.0, 3);
        Self {
            p50_us: us(nanos.value_at_quantile(0.5)),
            p90_us: us(nanos.value_at_quantile(0.9)),
            p99_us: us(nanos.value_at_quantile(0.99)),
            max_us: us(nanos.max()),
            mean_us: round(nanos.mean() / 1000.0, 3),
        }
    }
}

/// One way of looking up positions, at one line length.
#[derive(Debug, Clone, Serialize)]
struct Lookups {
    /// Lookups timed.
    lookups: u64,
    /// Latency per lookup.
    latency: Latency,
    /// Redis CPU per 10k lookups, µs (extrapolated when fewer were timed).
    redis_cpu_us_per_10k: f64,
    /// Redis `used_memory` growth per user in line, bytes.
    redis_bytes_per_user: f64,
}

/// One line length's results: users, then KEYS, ZRANK and Breakwater.
type Row = (u64, Lookups, Lookups, Lookups);

struct Sizes {
    users: Vec<u64>,
    /// Time spent timing one way at one size (at least 3 lookups).
    budget: Duration,
    /// Most lookups timed.
    max_lookups: u64,
}

/// Runs the benchmark (its short form with `--quick`) and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let sizes = if options.quick {
        Sizes {
            users: vec![1_000, 10_000],
            budget: Duration::from_millis(300),
            max_lookups: 2_000,
        }
    } else {
        Sizes {
            users: vec![1_000, 10_000, 100_000, 1_000_000],
            budget: Duration::from_secs(3),
            max_lookups: 10_000,
        }
    };
    let redis = RedisServer::start().await?;
    let client = redis::Client::open(redis.url())?;
    // KEYS over a million keys and FLUSHALL of them take far longer than the client's
    // default 500 ms response timeout.
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(120)));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let mut probe = RedisProbe::new(vec![redis.url()]);
    let mut rows = Vec::new();
    for &users in &sizes.users {
        if options.live {
            eprintln!("talk-positions: {users} users in line");
        }
        let keys = keys_scan(&mut connection, &mut probe, users, &sizes).await?;
        let zrank = zrank(&mut connection, &mut probe, users, &sizes).await?;
        let breakwater = breakwater_way(&redis, &mut connection, &mut probe, users, &sizes).await?;
        sane(
            keys.lookups >= 3 && zrank.lookups > 0 && breakwater.lookups > 0,
            "every way timed lookups",
        )?;
        sane(
            keys.latency.p50_us > 0.0 && zrank.latency.p50_us > 0.0,
            "lookups took time",
        )?;
        rows.push((users, keys, zrank, breakwater));
    }
    chart(options, &rows)?;
    let table: Vec<Value> = rows
        .iter()
        .map(|(users, keys, zrank, breakwater)| {
            json!({
                "users": users,
                "keys": keys,
                "zrank": zrank,
                "breakwater": breakwater,
                "keys_over_zrank_p50": round(keys.latency.p50_us / zrank.latency.p50_us, 1),
                "zrank_over_breakwater_p50": round(zrank.latency.p50_us / breakwater.latency.p50_us, 1),
            })
        })
        .collect();
    Ok(json!({
        "sizes": table,
        "note": "KEYS and ZRANK latencies are client round trips on loopback (one connection, sequential); \
                 Breakwater's is the in-process status call (token check + replica lookup), no HTTP",
        "charts": ["talk-positions-latency.svg", "talk-positions-redis-cpu.svg"],
    }))
}

fn chart(options: &BenchOptions, rows: &[Row]) -> anyhow::Result<()> {
    let series = |name: &str, pick: &dyn Fn(&Row) -> f64| {
        Series::new(
            name,
            rows.iter().map(|row| (row.0 as f64, pick(row))).collect(),
        )
    };
    let latency = [
        series("KEYS scan (the talk's before), p50", &|row| {
            row.1.latency.p50_us
        }),
        series("ZRANK (the talk's after), p50", &|row| row.2.latency.p50_us),
        series("Breakwater status from replica, p50", &|row| {
            row.3.latency.p50_us
        }),
        series("Breakwater status from replica, p99", &|row| {
            row.3.latency.p99_us
        }),
    ];
    let scales = Scales {
        log_x: true,
        log_y: true,
    };
    xy_chart(
        &options.out.join("talk-positions-latency.svg"),
        "Position lookup latency vs users in line",
        ("users in line", "µs per lookup (log)"),
        &latency,
        scales,
    )?;
    let cpu = [
        series("KEYS scan", &|row| row.1.redis_cpu_us_per_10k.max(1.0)),
        series("ZRANK", &|row| row.2.redis_cpu_us_per_10k.max(1.0)),
        series("Breakwater (background sync only)", &|row| {
            row.3.redis_cpu_us_per_10k.max(1.0)
        }),
    ];
    xy_chart(
        &options.out.join("talk-positions-redis-cpu.svg"),
        "Redis CPU per 10k position lookups",
        ("users in line", "Redis CPU µs per 10k lookups (log)"),
        &cpu,
        scales,
    )
}

async fn used_memory(probe: &mut RedisProbe) -> anyhow::Result<u64> {
    Ok(probe.read().await?.used_memory)
}

async fn flush(connection: &mut MultiplexedConnection) -> anyhow::Result<()> {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(connection)
        .await?;
    Ok(())
}

/// Times `lookup` repeatedly for the size's budget (at least 3, at most `max` times) and
/// reads Redis CPU around it.
async fn time_lookups<F, Fut>(
    probe: &mut RedisProbe,
    sizes: &Sizes,
    max: u64,
    mut lookup: F,
) -> anyhow::Result<(u64, Histogram<u64>, f64)>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // Nanoseconds: an in-memory lookup takes well under a microsecond.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)?;
    let before = probe.read().await?;
    let start = Instant::now();
    let mut count = 0;
    while count < 3 || (count < max && start.elapsed() < sizes.budget) {
        let sent = std::time::Instant::now();
        lookup(count).await?;
        histogram.saturating_record((sent.elapsed().as_nanos() as u64).max(1));
        count += 1;
    }
    let cpu_seconds = probe.read().await?.since(&before).cpu_seconds;
    Ok((count, histogram, cpu_seconds))
}

fn lookups(
    count: u64,
    histogram: &Histogram<u64>,
    cpu_seconds: f64,
    bytes: u64,
    users: u64,
) -> Lookups {
    Lookups {
        lookups: count,
        latency: Latency::of(histogram),
        redis_cpu_us_per_10k: round(cpu_seconds * 1e6 / count as f64 * 10_000.0, 0),
        redis_bytes_per_user: round(bytes as f64 / users as f64, 1),
    }
}

const BATCH: u64 = 10_000;

async fn keys_scan(
    connection: &mut MultiplexedConnection,
    probe: &mut RedisProbe,
    users: u64,
    sizes: &Sizes,
) -> anyhow::Result<Lookups> {
    flush(connection).await?;
    let empty = used_memory(probe).await?;
    for first in (0..users).step_by(BATCH as usize) {
        let mut pipe = redis::pipe();
        for user in first..(first + BATCH).min(users) {
            pipe.cmd("SET")
                .arg(format!("stream:event:{{evt}}:user:{user}"))
                .arg(1)
                .ignore();
        }
        pipe.query_async::<()>(connection).await?;
    }
    let bytes = used_memory(probe).await?.saturating_sub(empty);
    let (count, histogram, cpu) = time_lookups(probe, sizes, sizes.max_lookups, |_| {
        let mut connection = connection.clone();
        async move {
            let keys: redis::Value = redis::cmd("KEYS")
                .arg("stream:event:{evt}:user:*")
                .query_async(&mut connection)
                .await?;
            anyhow::ensure!(
                matches!(keys, redis::Value::Array(ref all) if all.len() as u64 == users),
                "KEYS found the wrong count"
            );
            Ok(())
        }
    })
    .await?;
    Ok(lookups(count, &histogram, cpu, bytes, users))
}

async fn zrank(
    connection: &mut MultiplexedConnection,
    probe: &mut RedisProbe,
    users: u64,
    sizes: &Sizes,
) -> anyhow::Result<Lookups> {
    flush(connection).await?;
    let empty = used_memory(probe).await?;
    let key = "queue:event:{evt}:position";
    for first in (0..users).step_by(BATCH as usize) {
        let mut command = redis::cmd("ZADD");
        command.arg(key);
        for user in first..(first + BATCH).min(users) {
            command.arg(user).arg(format!("user:{user}"));
        }
        command.query_async::<()>(connection).await?;
    }
    let bytes = used_memory(probe).await?.saturating_sub(empty);
    let members: Vec<String> = {
        let mut rng = rand::rng();
        (0..1000)
            .map(|_| format!("user:{}", rng.random_range(0..users)))
            .collect()
    };
    let (count, histogram, cpu) = time_lookups(probe, sizes, sizes.max_lookups, |n| {
        let mut connection = connection.clone();
        let member = members[(n % 1000) as usize].clone();
        async move {
            let rank: Option<u64> = redis::cmd("ZRANK")
                .arg(key)
                .arg(member)
                .query_async(&mut connection)
                .await?;
            anyhow::ensure!(rank.is_some(), "ZRANK found no member");
            Ok(())
        }
    })
    .await?;
    Ok(lookups(count, &histogram, cpu, bytes, users))
}

async fn breakwater_way(
    redis: &RedisServer,
    connection: &mut MultiplexedConnection,
    probe: &mut RedisProbe,
    users: u64,
    sizes: &Sizes,
) -> anyhow::Result<Lookups> {
    flush(connection).await?;
    let empty = used_memory(probe).await?;
    let event = EventId::parse("talk")?;
    let store: Arc<dyn LineStore> = Arc::new(RedisLineStore::new(RedisOptions::new(
        redis.url(),
        RedisTopology::Standalone,
    )));
    let now = SystemClock.now_ms();
    let mut settings = LineSettings::with_defaults("talk", now);
    settings.paused = true;
    settings.heartbeat_timeout_seconds = 3_600;
    settings.max_active_users = 1_000_000;
    store.create_event(&event, &settings, now).await?;
    let lineage = u64::from(store.snapshot(&event).await?.image.lineage);
    let mut first_number = None;
    for first in (0..users).step_by(4096) {
        let count = (users - first).min(4096) as u32;
        let number = store.join(&event, count, SystemClock.now_ms(), 0).await?;
        first_number.get_or_insert(number);
    }
    let first_number = first_number.unwrap_or(0);
    let keys = TokenKeys::new(b"talk-positions benchmark secret");
    let room = Waitroom::new(
        store,
        keys.clone(),
        Arc::new(SystemClock),
        WaitroomConfig::default(),
    )
    .await;
    let shutdown = CancellationToken::new();
    room.spawn_background(shutdown.clone());
    let _stop = shutdown.clone().drop_guard();
    wait_for_line(&room, &event, users).await?;
    let sign = |number: u64| {
        keys.sign_line(&LineToken {
            event: event.to_string(),
            lineage,
            number,
            issued_at_ms: now,
        })
    };
    // Everyone polls once, so Redis holds what a polled line holds (heartbeat bits).
    for number in first_number..first_number + users {
        room.status(&event, &sign(number))?;
    }
    room.flush_heartbeats().await?;
    let bytes = used_memory(probe).await?.saturating_sub(empty);
    let tokens: Vec<String> = {
        let mut rng = rand::rng();
        (0..1000)
            .map(|_| sign(first_number + rng.random_range(0..users)))
            .collect()
    };
    let (count, histogram, cpu) = time_lookups(probe, sizes, u64::MAX, |n| {
        let answer = room.status(&event, &tokens[(n % 1000) as usize]);
        async move {
            anyhow::ensure!(answer?.position.is_some(), "status gave no position");
            Ok(())
        }
    })
    .await?;
    Ok(lookups(count, &histogram, cpu, bytes, users))
}

async fn wait_for_line(room: &Waitroom, event: &EventId, users: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if room.stats(event).is_ok_and(|stats| stats.waiting == users) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the replica never saw {users} users"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
