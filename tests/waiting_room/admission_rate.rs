//! The admission rate over a minute of real time, on real processes: three `breakwater
//! gateway` processes on one Redis, and `breakwater serve` on its embedded store. Each
//! event is unpaused, left to run for a minute and paused again; what it admitted in
//! between must be within 1 % of the configured rate and never above it by more than one.
//! And `serve` stalled for a second (SIGSTOP, SIGCONT) catches up at most its tolerance's
//! worth, never in a burst.

use std::sync::Arc;
use std::time::{Duration, Instant};

use breakwater_line::EventId;
use breakwater_line_redis::{RedisLineStore, RedisOptions, RedisTopology};
use breakwater_line_store::LineStore;
use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::support::{Breakwater, eventually};

/// How long each rate is measured.
const WINDOW: Duration = Duration::from_secs(60);

/// The measurements take turns: the pacer is measured, not how the test's other processes
/// (thousands of joins, three more gateways) starve it of a 2-core machine's CPU. A pacer
/// kept off the CPU for longer than its catch-up tolerance (100 ms) forgoes those slots
/// rather than bursting; that is by design, and not what these tests measure.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An event under measurement and the wall-clock bounds of its window: the unpause took
/// effect between `opened.0` and `opened.1`, the pause between `closed.0` and `closed.1`.
struct Measured {
    id: String,
    rate: f64,
    opened: (Instant, Instant),
    closed: (Instant, Instant),
}

fn event_body(id: &str, rate: f64) -> serde_json::Value {
    json!({
        "id": id, "name": id,
        "admission_rate_per_second": rate,
        "max_active_users": 10_000_000,
        "heartbeat_timeout_seconds": 3_600,
        "claim_window_seconds": 3_600,
        "paused": true,
    })
}

/// Buyers an event needs in line to never run dry during the window.
fn buyers_for(rate: f64) -> u64 {
    (rate * (WINDOW.as_secs_f64() + 2.0)).ceil() as u64 + 10
}

/// Unpauses every event, waits the window, pauses them again, and checks what each
/// admitted once every replica agrees.
async fn measure(processes: &[Breakwater], rates: &[(String, f64)]) -> anyhow::Result<()> {
    let operator = &processes[0];
    let mut measured = Vec::new();
    for (id, rate) in rates {
        let before = Instant::now();
        operator.patch_event(id, json!({"paused": false})).await?;
        let after = Instant::now();
        measured.push(Measured {
            id: id.clone(),
            rate: *rate,
            opened: (before, after),
            closed: (after, after),
        });
    }
    // The window itself: time is what is being measured here.
    tokio::time::sleep(WINDOW).await;
    for event in &mut measured {
        let before = Instant::now();
        operator
            .patch_event(&event.id, json!({"paused": true}))
            .await?;
        event.closed = (before, Instant::now());
    }
    let mut failures = Vec::new();
    for event in &measured {
        let admitted = settled_admissions(processes, &event.id).await?;
        let longest = (event.closed.1 - event.opened.0).as_secs_f64();
        let shortest = (event.closed.0 - event.opened.1).as_secs_f64();
        let (low, high) = (event.rate * shortest * 0.99, event.rate * longest + 1.0);
        eprintln!(
            "rate {:>7}/s: admitted {admitted:>6} in {shortest:.3}..{longest:.3} s (allowed {low:.1}..{high:.1})",
            event.rate
        );
        if (admitted as f64) < low || (admitted as f64) > high {
            failures.push(format!("{}/s admitted {admitted}", event.rate));
        }
    }
    anyhow::ensure!(failures.is_empty(), "off the rate: {failures:?}");
    Ok(())
}

/// The event's admissions once every process's replica shows the same count.
async fn settled_admissions(processes: &[Breakwater], id: &str) -> anyhow::Result<u64> {
    eventually(
        Duration::from_secs(10),
        "every replica to agree",
        || async {
            let mut totals = Vec::new();
            for process in processes {
                totals.push(process.stats(id).await?["admitted_total"].as_u64());
            }
            let first = totals[0];
            Ok(first.filter(|_| totals.iter().all(|total| *total == first)))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_hold_every_rate_for_a_minute() -> anyhow::Result<()> {
    let _turn = ONE_AT_A_TIME.lock().await;
    let redis = breakwater_testkit::redis::RedisServer::start().await?;
    let mut gateways = Vec::new();
    for _ in 0..3 {
        gateways.push(Breakwater::gateway(&redis.url(), "rates").await?);
    }
    let mut options = RedisOptions::new(redis.url(), RedisTopology::Standalone);
    options.namespace = "rates".into();
    let store: Arc<dyn LineStore> = Arc::new(RedisLineStore::new(options));
    let rates: Vec<(String, f64)> = [0.3, 7.0, 13.0, 33.0, 333.0, 1234.0, 5000.0]
        .iter()
        .enumerate()
        .map(|(i, &rate)| (format!("rate-{i}"), rate))
        .collect();
    for (id, rate) in &rates {
        gateways[0].create_event(event_body(id, *rate)).await?;
        // Straight into the store in batches: hundreds of thousands of HTTP joins would
        // measure the test client, not the pacer.
        let event = EventId::parse(id)?;
        let mut left = buyers_for(*rate);
        while left > 0 {
            let batch = left.min(4096);
            store.join(&event, batch as u32, now_ms(), 0).await?;
            left -= batch;
        }
    }
    for gateway in &gateways {
        for (id, rate) in &rates {
            eventually(
                Duration::from_secs(10),
                "every gateway to see the line",
                || async {
                    let waiting = gateway.stats(id).await?["waiting"].as_u64();
                    Ok((waiting == Some(buyers_for(*rate))).then_some(()))
                },
            )
            .await?;
        }
    }
    measure(&gateways, &rates).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_holds_every_rate_for_a_minute() -> anyhow::Result<()> {
    let _turn = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir()?;
    let serve = Breakwater::serve(data.path()).await?;
    let rates: Vec<(String, f64)> = [0.3, 7.0, 13.0, 33.0, 333.0]
        .iter()
        .enumerate()
        .map(|(i, &rate)| (format!("rate-{i}"), rate))
        .collect();
    for (id, rate) in &rates {
        serve.create_event(event_body(id, *rate)).await?;
        join_many(&serve, id, buyers_for(*rate)).await?;
    }
    measure(std::slice::from_ref(&serve), &rates).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_serve_catches_up_at_most_its_tolerance() -> anyhow::Result<()> {
    const RATE: f64 = 1000.0;
    /// The pacer's catch-up tolerance (five 20 ms steps).
    const TOLERANCE_S: f64 = 0.1;
    let _turn = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir()?;
    let serve = Breakwater::serve(data.path()).await?;
    serve.create_event(event_body("stall", RATE)).await?;
    join_many(&serve, "stall", 8_000).await?;
    serve.patch_event("stall", json!({"paused": false})).await?;
    eventually(Duration::from_secs(10), "admissions to flow", || async {
        let admitted = serve.stats("stall").await?["admitted_total"].as_u64();
        Ok(admitted.filter(|&n| n >= 1_000))
    })
    .await?;
    let read_at = Instant::now();
    let before = admitted(&serve).await?;
    serve.signal("STOP")?;
    let stopped_at = Instant::now();
    // The stall itself: a second of the process not running.
    tokio::time::sleep(Duration::from_secs(1)).await;
    serve.signal("CONT")?;
    let resumed_at = Instant::now();
    // Read a while after resuming: long enough for the replica (synced every 50 ms) to
    // show what the first steps admitted.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = admitted(&serve).await?;
    let since_resume = resumed_at.elapsed().as_secs_f64();
    let running = (stopped_at - read_at).as_secs_f64() + since_resume;
    let caught_up = after - before;
    // Running time at the rate, plus the tolerance, plus one, plus what the first read's
    // replica (synced every 50 ms; allow a late sync) may not have shown yet; a burst
    // would add the whole second (1,000).
    let most = RATE * (running + TOLERANCE_S + 0.1) + 1.0;
    eprintln!(
        "stalled 1 s: admitted {caught_up} in {running:.3} s of running time (most {most:.0})"
    );
    anyhow::ensure!(
        (caught_up as f64) <= most,
        "{caught_up} admitted around a 1 s stall: a burst (most {most:.0})"
    );
    anyhow::ensure!(
        caught_up as f64 >= RATE * 0.15,
        "only {caught_up} admitted after resuming"
    );
    Ok(())
}

async fn admitted(serve: &Breakwater) -> anyhow::Result<u64> {
    serve.stats("stall").await?["admitted_total"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("stats without admitted_total"))
}

async fn join_many(process: &Breakwater, event: &str, count: u64) -> anyhow::Result<()> {
    let results: Vec<anyhow::Result<String>> = stream::iter(0..count)
        .map(|_| process.join(event))
        .buffer_unordered(64)
        .collect()
        .await;
    for result in results {
        result?;
    }
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
