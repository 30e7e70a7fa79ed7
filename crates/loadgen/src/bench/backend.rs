//! Benchmark 7: the ticketing backend behind the gateway. `breakwater serve` (everything in
//! one process, embedded stores); buyers take the whole journey of PRODUCT.md: join,
//! poll, enter, seat map, hold (with an idempotency key), checkout with an approving
//! sandbox payment. Holds and checkouts per second with p99, and the sale's books after.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Admin, BenchOptions, Server, round, sane, server::secret};
use crate::chart::{Scales, Series, xy_chart};
use crate::driver::DriveOptions;
use crate::endpoint::Endpoint;
use crate::journey::{Goal, Journey, JourneyConfig};
use crate::probe::Probes;
use crate::profile::ArrivalProfile;
use crate::report::{EndpointRow, RunSummary};
use crate::run::measured_run;

const EVENT: &str = "bench-backend";

struct Plan {
    /// Buyers arriving per second, one run each.
    levels: Vec<f64>,
    seconds: f64,
    drain: Duration,
    think_ms: (u64, u64),
}

/// Rows × 40 seats × 4 sections: 4,000 seats, as the demo venue.
const ROWS: u32 = 25;
const SEATS_PER_ROW: u32 = 40;

/// Runs the benchmark (its short form with `--quick`) and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let plan = if options.quick {
        Plan {
            levels: vec![20.0],
            seconds: 8.0,
            drain: Duration::from_secs(15),
            think_ms: (50, 200),
        }
    } else {
        Plan {
            levels: vec![25.0, 50.0, 100.0],
            seconds: 20.0,
            drain: Duration::from_secs(30),
            think_ms: (200, 1_000),
        }
    };
    let mut rows = Vec::new();
    for &rate in &plan.levels {
        rows.push((rate, level(options, &plan, rate).await?));
    }
    chart(options, &rows)?;
    Ok(json!({
        "levels": rows.iter().map(|(_, figures)| figures.clone()).collect::<Vec<_>>(),
        "journey": "join, poll as told, enter, seat map, hold 1 seat (best available), checkout sandbox:approve; think 0.2-1 s; 5 % abandon",
        "venue_seats": ROWS * SEATS_PER_ROW * 4,
        "charts": ["backend.svg"],
    }))
}

/// One run at `rate` buyers per second, on a fresh `breakwater serve`.
async fn level(options: &BenchOptions, plan: &Plan, rate: f64) -> anyhow::Result<Value> {
    let name = format!("backend-{rate}-per-s");
    let out = options.out.join(&name);
    let data = tempfile::tempdir()?;
    let admin_key = secret();
    let server = Server::serve("serve", data.path(), &admin_key, &out).await?;
    let admin = Admin::new(server.pool(2), &admin_key);
    let section = |name: &str, price: u32| json!({"name": name, "price_cents": price, "rows": ROWS, "seats_per_row": SEATS_PER_ROW});
    admin.create_event(&json!({
        "id": EVENT,
        "name": "Backend benchmark",
        // Admit faster than buyers arrive: the backend, not the line, is measured.
        "admission_rate_per_second": rate * 2.0,
        "max_active_users": 5_000,
        "heartbeat_timeout_seconds": 30,
        "claim_window_seconds": 30,
        "session_seconds": 600,
        "ticket_limit_per_buyer": 4,
        "hold_seconds": 120,
        "venue": {"sections": [section("Floor", 15_000), section("Lower", 9_000), section("Upper", 5_000), section("Balcony", 3_000)]},
    })).await?;
    let seats_total = u64::from(ROWS * SEATS_PER_ROW * 4);
    let mut journey = Journey::new(JourneyConfig {
        think_ms: plan.think_ms,
        abandon_fraction: 0.05,
        hold_quantity: 1,
        ..JourneyConfig::new(EVENT, Goal::Buy)
    });
    let drive = DriveOptions {
        arrivals: ArrivalProfile::constant(rate, plan.seconds),
        drain: plan.drain,
        max_in_flight: 10_000,
        warmup: Duration::ZERO,
        seed: 7,
    };
    let probes = Probes {
        redis: None,
        line: Some(admin.line_probe(EVENT)),
        processes: vec![("serve".into(), server.pid())],
    };
    let (result, _) = measured_run(
        &name,
        &mut journey,
        &[server.pool(64)],
        probes,
        &drive,
        options.live,
        Some(&out),
    )
    .await?;
    let summary = &result.summary;
    let counts = journey.counts();
    sane(counts.entered > 0, "buyers entered")?;
    let seats = endpoint(summary, Endpoint::Seats);
    if seats.is_none_or(|row| !row.summary.statuses.contains_key(&200)) {
        let statuses = seats
            .map(|row| json!(row.summary.statuses))
            .unwrap_or(Value::Null);
        anyhow::bail!(
            "the seat map never answered 200 (statuses {statuses}): is the ticketing backend wired into `breakwater serve`?"
        );
    }
    let sales = admin.sales(EVENT).await?;
    let sold = sales["sold"].as_u64().unwrap_or(0);
    sane(
        counts.holds > 0 && counts.orders_confirmed > 0,
        "holds and orders were made",
    )?;
    sane(sold <= seats_total, "no oversell")?;
    Ok(json!({
        "buyers_per_second": rate,
        "holds": figures(summary, Endpoint::Hold),
        "checkouts": figures(summary, Endpoint::Checkout),
        "seat_map": figures(summary, Endpoint::Seats),
        "buyers": counts,
        "sales": sales,
        "seats_total": seats_total,
        "errors": summary.errors,
        "seconds": round(summary.seconds, 1),
        "serve_cpu_percent": summary.processes.first().map(|process| round(process.cpu_percent, 0)),
        "loadgen_cpu_percent": round(summary.loadgen.cpu_percent, 0),
        "dashboard": format!("{name}/dashboard.svg"),
    }))
}

fn chart(options: &BenchOptions, rows: &[(f64, Value)]) -> anyhow::Result<()> {
    let series = |name: &str, pick: &dyn Fn(&Value) -> f64| {
        Series::new(
            name,
            rows.iter()
                .map(|(rate, figures)| (*rate, pick(figures)))
                .collect(),
        )
    };
    let number = |value: &Value| value.as_f64().unwrap_or(0.0);
    xy_chart(
        &options.out.join("backend.svg"),
        "Ticketing backend behind the gateway (breakwater serve, embedded SQLite)",
        ("buyers arriving per second", "per second, or ms"),
        &[
            series("holds/s", &|f| number(&f["holds"]["per_second"])),
            series("checkouts/s", &|f| number(&f["checkouts"]["per_second"])),
            series("hold p99 ms", &|f| number(&f["holds"]["p99_ms"])),
            series("checkout p99 ms", &|f| number(&f["checkouts"]["p99_ms"])),
            series("seat map p99 ms", &|f| number(&f["seat_map"]["p99_ms"])),
        ],
        Scales {
            log_x: false,
            log_y: false,
        },
    )
}

fn endpoint(summary: &RunSummary, endpoint: Endpoint) -> Option<&EndpointRow> {
    summary
        .endpoints
        .iter()
        .find(|row| row.summary.endpoint == endpoint)
}

/// Successes per second over the run, p50/p99 and errors of one endpoint.
fn figures(summary: &RunSummary, which: Endpoint) -> Value {
    let Some(row) = endpoint(summary, which) else {
        return Value::Null;
    };
    let ok: u64 = row
        .summary
        .statuses
        .iter()
        .filter(|(status, _)| (200..300).contains(*status))
        .map(|(_, count)| count)
        .sum();
    json!({
        "requests": row.summary.requests,
        "succeeded": ok,
        "per_second": round(ok as f64 / summary.seconds, 1),
        "p50_ms": round(row.summary.latency.p50_us as f64 / 1000.0, 2),
        "p99_ms": round(row.summary.latency.p99_us as f64 / 1000.0, 2),
        "errors": row.summary.errors,
        "statuses": row.summary.statuses,
    })
}
