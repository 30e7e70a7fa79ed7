//! Backend benchmark: holds and checkouts per second and their latency percentiles, on
//! SQLite and on PostgreSQL, through the real path (HTTP with valid access tokens →
//! reservation → gRPC → inventory / payment → database), all on loopback in this process.
//!
//! ```text
//! cargo run --release -p breakwater-reservation --example backend_bench -- \
//!     [--quick] [--store sqlite|postgres|both] [--out DIR] [--clients N] [--connections N]
//! ```
//!
//! Two phases per store, each with a fixed number of concurrent clients: every buyer holds
//! the best 2 adjacent seats (best-available, the contended path), then every hold is
//! checked out with the sandbox provider (`sandbox:approve`, 10 ms mean latency). Prints
//! one JSON line per store and writes `backend-latency.svg` into the output directory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use breakwater_testkit::postgres::FreshDatabase;
use breakwater_tokens::{AccessToken, TokenKeys};
use hdrhistogram::Histogram;
use plotters::prelude::*;
use serde_json::{Value, json};

const TOKEN_SECRET: &str = "bench-token-secret-0123456789";
const ADMIN_KEY: &str = "bench-admin-key-0123456789";
/// Concurrent clients unless `--clients` says otherwise (closed loop: each sends its next
/// request when the previous one is answered).
const DEFAULT_CLIENTS: usize = 16;
/// Database connections per service unless `--connections` says otherwise.
const DEFAULT_CONNECTIONS: u32 = 16;
const SEATS_PER_HOLD: u32 = 2;

/// Command-line options.
struct Options {
    quick: bool,
    clients: usize,
    connections: u32,
    stores: Vec<&'static str>,
    out: std::path::PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        quick: false,
        clients: DEFAULT_CLIENTS,
        connections: DEFAULT_CONNECTIONS,
        stores: vec!["sqlite", "postgres"],
        out: "bench-out".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--store" => {
                options.stores = match args.next().as_deref() {
                    Some("sqlite") => vec!["sqlite"],
                    Some("postgres") => vec!["postgres"],
                    Some("both") => vec!["sqlite", "postgres"],
                    other => anyhow::bail!("--store takes sqlite, postgres or both, not {other:?}"),
                }
            }
            "--clients" => {
                options.clients = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=1024).contains(n))
                    .context("--clients takes a number from 1 to 1024")?
            }
            "--connections" => {
                options.connections = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=256).contains(n))
                    .context("--connections takes a number from 1 to 256")?
            }
            "--out" => options.out = args.next().context("--out takes a directory")?.into(),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

/// Latencies and throughput of one phase.
struct Phase {
    count: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1_000.0
    }
}

/// The three services of one store, running.
struct Services {
    inventory: breakwater_inventory::Running,
    payment: breakwater_payment::Running,
    reservation: breakwater_reservation::Running,
    inventory_url: String,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<FreshDatabase>,
}

async fn start(store: &str, connections: u32) -> anyhow::Result<Services> {
    let (urls, dir, postgres) = match store {
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            let url = |n: &str| format!("sqlite://{}?mode=rwc", dir.path().join(n).display());
            (
                [
                    url("inventory.db"),
                    url("payment.db"),
                    url("reservation.db"),
                ],
                Some(dir),
                None,
            )
        }
        _ => {
            let db = FreshDatabase::create().await?;
            let url = db.url().to_owned();
            ([url.clone(), url.clone(), url], None, Some(db))
        }
    };
    let loopback = "127.0.0.1:0".parse()?;
    let inventory = breakwater_inventory::start(breakwater_inventory::Config {
        listen: loopback,
        database_url: urls[0].clone(),
        max_connections: connections,
    })
    .await?;
    let payment = breakwater_payment::start(breakwater_payment::Config {
        listen: loopback,
        database_url: urls[1].clone(),
        max_connections: connections,
        latency_ms: 10,
        ..Default::default()
    })
    .await?;
    let reservation = breakwater_reservation::start(breakwater_reservation::Config {
        listen: loopback,
        database_url: urls[2].clone(),
        max_connections: connections,
        inventory_url: inventory.url(),
        payment_url: payment.url(),
        token_secret: TOKEN_SECRET.into(),
        admin_key: ADMIN_KEY.into(),
        ..Default::default()
    })
    .await?;
    Ok(Services {
        inventory_url: urls[0].clone(),
        inventory,
        payment,
        reservation,
        _dir: dir,
        _postgres: postgres,
    })
}

fn token(keys: &TokenKeys, buyer: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    keys.sign_access(&AccessToken {
        event: "bench".into(),
        lineage: 1,
        number: buyer,
        expires_at_ms: now + 3_600_000,
    })
}

/// Runs `work(i)` for i in 0..count on `clients` concurrent clients; `work` returns whether
/// the call succeeded.
async fn phase<F, Fut>(count: u64, clients: usize, work: F) -> anyhow::Result<Phase>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (work, next) = (work.clone(), next.clone());
        tasks.spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok((latency, errors));
                }
                let sent = Instant::now();
                let ok = work(i).await;
                latency.record(sent.elapsed().as_micros().max(1) as u64)?;
                errors += u64::from(!ok);
            }
        });
    }
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    while let Some(result) = tasks.join_next().await {
        let (client_latency, client_errors) = result??;
        latency.add(client_latency)?;
        errors += client_errors;
    }
    Ok(Phase {
        count,
        errors,
        elapsed: started.elapsed(),
        latency,
    })
}

async fn run_store(store: &str, options: &Options) -> anyhow::Result<(Value, Phase, Phase)> {
    let (quick, clients) = (options.quick, options.clients);
    let services = start(store, options.connections).await?;
    let base = services.reservation.url();
    let holds: u64 = if quick { 2_000 } else { 10_000 };
    let rows = u32::try_from(holds * u64::from(SEATS_PER_HOLD) / 4 / 100 + 1)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let venue = json!({"sections": (0..4).map(|i| json!({
        "name": format!("Tier {}", i + 1), "price_cents": 9_000 - i * 1_500,
        "rows": rows, "seats_per_row": 100})).collect::<Vec<_>>()});
    let created = http
        .put(format!("{base}/internal/v1/events/bench"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "Bench", "currency": "EUR", "ticket_limit_per_buyer": 4, "hold_seconds": 600, "venue": venue}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status().is_success(),
        "creating the event: {}",
        created.text().await?
    );

    let keys = Arc::new(TokenKeys::new(TOKEN_SECRET.as_bytes()));
    let hold_ids: Arc<Vec<parking_lot_free::Slot>> = Arc::new(
        (0..holds)
            .map(|_| parking_lot_free::Slot::default())
            .collect(),
    );
    let hold_phase = {
        let (http, base, keys, hold_ids) =
            (http.clone(), base.clone(), keys.clone(), hold_ids.clone());
        phase(holds, clients, move |i| {
            let (http, base, keys, hold_ids) =
                (http.clone(), base.clone(), keys.clone(), hold_ids.clone());
            async move {
                let response = http
                    .post(format!("{base}/api/v1/events/bench/holds"))
                    .bearer_auth(token(&keys, i + 1))
                    .header("Idempotency-Key", "h")
                    .json(&json!({"quantity": SEATS_PER_HOLD}))
                    .send()
                    .await;
                let Ok(response) = response else { return false };
                if response.status().as_u16() != 201 {
                    show_error("hold", response).await;
                    return false;
                }
                let Ok(body) = response.json::<Value>().await else {
                    return false;
                };
                hold_ids[i as usize].set(body["id"].as_str().unwrap_or_default().to_owned());
                true
            }
        })
        .await?
    };
    let checkout_phase = {
        let (http, base, keys, hold_ids) =
            (http.clone(), base.clone(), keys.clone(), hold_ids.clone());
        phase(holds, clients, move |i| {
            let (http, base, keys, hold_ids) =
                (http.clone(), base.clone(), keys.clone(), hold_ids.clone());
            async move {
                let Some(hold) = hold_ids[i as usize].get() else {
                    return false;
                };
                let response = http
                    .post(format!("{base}/api/v1/holds/{hold}/checkout"))
                    .bearer_auth(token(&keys, i + 1))
                    .header("Idempotency-Key", "c")
                    .json(&json!({"payment_method": "sandbox:approve"}))
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().as_u16() == 201 => true,
                    Ok(response) => {
                        show_error("checkout", response).await;
                        false
                    }
                    Err(_) => false,
                }
            }
        })
        .await?
    };

    let inventory = breakwater_inventory::InventoryStore::open(&services.inventory_url, 2).await?;
    let violations = inventory
        .invariant_violations("bench", breakwater_inventory::now_ms())
        .await?;
    let sold = inventory.sold_seats("bench").await?;
    inventory.close().await;
    let confirmed_seats =
        (checkout_phase.count - checkout_phase.errors) * u64::from(SEATS_PER_HOLD);
    let oversold = violations + (sold.len() as u64).saturating_sub(confirmed_seats);
    let line = json!({
        "store": store,
        "quick": quick,
        "clients": clients,
        "connections_per_service": options.connections,
        "holds": holds,
        "hold_errors": hold_phase.errors,
        "holds_per_s": (hold_phase.per_second() * 10.0).round() / 10.0,
        "hold_p50_ms": hold_phase.ms(0.50),
        "hold_p99_ms": hold_phase.ms(0.99),
        "checkouts": checkout_phase.count,
        "checkout_errors": checkout_phase.errors,
        "checkouts_per_s": (checkout_phase.per_second() * 10.0).round() / 10.0,
        "checkout_p50_ms": checkout_phase.ms(0.50),
        "checkout_p99_ms": checkout_phase.ms(0.99),
        "seats_sold": sold.len(),
        "oversold": oversold,
    });
    services.reservation.shutdown().await?;
    services.payment.shutdown().await?;
    services.inventory.shutdown().await?;
    Ok((line, hold_phase, checkout_phase))
}

/// Shows the first few failed answers on stderr, so errors are explained, not just counted.
async fn show_error(what: &str, response: reqwest::Response) {
    static SHOWN: AtomicU64 = AtomicU64::new(0);
    if SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        eprintln!("{what} failed: {status} {body}");
    }
}

/// A write-once cell per hold, shared by the two phases without a lock crate.
mod parking_lot_free {
    /// Holds one hold id once the hold phase set it.
    #[derive(Default)]
    pub struct Slot(std::sync::OnceLock<String>);

    impl Slot {
        pub fn set(&self, value: String) {
            let _ = self.0.set(value);
        }

        pub fn get(&self) -> Option<&str> {
            self.0.get().map(String::as_str)
        }
    }
}

fn chart(path: &std::path::Path, series: &[(String, &Histogram<u64>)]) -> anyhow::Result<()> {
    let quantiles = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999];
    let max_ms = series
        .iter()
        .map(|(_, h)| h.value_at_quantile(0.999) as f64 / 1_000.0)
        .fold(1.0, f64::max);
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Backend latency by percentile (ms)", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0usize..quantiles.len() - 1, 0.0..max_ms * 1.1)?;
    chart
        .configure_mesh()
        .x_labels(quantiles.len())
        .x_label_formatter(&|i| format!("p{}", quantiles.get(*i).map_or(0.0, |q| q * 100.0)))
        .y_desc("ms")
        .draw()?;
    for (index, (name, histogram)) in series.iter().enumerate() {
        let colour = Palette99::pick(index).to_rgba();
        let points: Vec<(usize, f64)> = quantiles
            .iter()
            .enumerate()
            .map(|(i, q)| (i, histogram.value_at_quantile(*q) as f64 / 1_000.0))
            .collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    std::fs::create_dir_all(&options.out)?;
    let mut results = Vec::new();
    for store in &options.stores {
        let (line, holds, checkouts) = run_store(store, &options).await?;
        println!("{line}");
        results.push((store.to_string(), holds, checkouts));
    }
    let series: Vec<(String, &Histogram<u64>)> = results
        .iter()
        .flat_map(|(store, holds, checkouts)| {
            [
                (format!("{store} hold"), &holds.latency),
                (format!("{store} checkout"), &checkouts.latency),
            ]
        })
        .collect();
    let path = options.out.join("backend-latency.svg");
    chart(&path, &series)?;
    eprintln!("chart: {}", path.display());
    Ok(())
}
