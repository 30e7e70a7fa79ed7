//! Best-available never splits a party while N adjacent seats are free: a rush of 2,000
//! buyers for 200 seats (10 rows of 20, one section) through the real HTTP → gRPC →
//! database path, on SQLite and on PostgreSQL. Half the buyers first pick a chosen pair in
//! the front row (leaving single-seat holes there); everyone who has no seats yet asks for
//! the best two.
//!
//! Seats are never given back in this test (long holds, no checkout or cancel), so the
//! free set only shrinks, and two sound witnesses convict a split hold S:
//! - from the answers: two adjacent seats each either never held by the end, or held by a
//!   hold first asked for after S was answered (both were free when S was decided);
//! - from the inventory's database, read in a loop during the race: one consistent
//!   snapshot in which S is already held *and* two adjacent seats are still free (S was
//!   decided before that snapshot, and what is free then was free before).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use support::{Engine, Stack, seated_venue};

const ROWS: u32 = 10;
const SEATS_PER_ROW: u32 = 20;
const BUYERS: u64 = 2_000;
/// Buyers in flight at once.
const CONCURRENCY: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_best_available_splits_only_when_no_pair_is_free() {
    splits_only_when_no_pair_is_free(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_best_available_splits_only_when_no_pair_is_free() {
    splits_only_when_no_pair_is_free(Engine::Postgres).await;
}

/// A seat: (row, number).
type Seat = (u32, u32);

/// A granted hold as the buyer saw it.
#[derive(Debug, Clone)]
struct Granted {
    buyer: u64,
    id: String,
    /// Best-available (`false`: chosen seats).
    best: bool,
    adjacent: bool,
    seats: Vec<Seat>,
    /// When the request was first sent (a retry after a 503 keeps the first instant).
    sent: Instant,
    /// When the final answer came.
    answered: Instant,
}

/// Sends a hold request, retrying it with the same key while the answer is 503 (as a
/// client honouring `Retry-After` would, without the wait). Returns the final status and
/// body and when the first attempt was sent; counts the 503s.
async fn hold(
    stack: &Stack,
    token: &str,
    key: &str,
    body: Value,
    retries: &AtomicU64,
) -> (StatusCode, Value, Instant) {
    let sent = Instant::now();
    let deadline = sent + Duration::from_secs(30);
    loop {
        let (status, answer) = stack.hold(token, "rush", key, body.clone()).await;
        if status != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            return (status, answer, sent);
        }
        retries.fetch_add(1, Ordering::Relaxed);
    }
}

fn seat_of(seat: &Value) -> Seat {
    // Row ids are `s1-r<row>`.
    let row = seat["row_id"]
        .as_str()
        .and_then(|id| id.rsplit_once("-r"))
        .and_then(|(_, row)| row.parse().ok())
        .unwrap_or_else(|| panic!("row of {seat}"));
    let number = seat["number"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or_else(|| panic!("number of {seat}"));
    (row, number)
}

async fn buyer(stack: Arc<Stack>, number: u64, retries: Arc<AtomicU64>) -> Option<Granted> {
    let token = stack.token("rush", number);
    let granted = |best: bool, body: &Value, sent: Instant| Granted {
        buyer: number,
        id: body["id"].as_str().unwrap_or_default().to_owned(),
        best,
        adjacent: body["adjacent"]
            .as_bool()
            .unwrap_or_else(|| panic!("{body}")),
        seats: body["seats"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(seat_of)
            .collect(),
        sent,
        answered: Instant::now(),
    };
    if number.is_multiple_of(2) {
        let first = rand::random_range(1..SEATS_PER_ROW);
        let pick = json!({"seat_ids": [format!("s1-r1-{first}"), format!("s1-r1-{}", first + 1)]});
        let (status, body, sent) = hold(&stack, &token, "pick", pick, &retries).await;
        match status {
            StatusCode::CREATED => return Some(granted(false, &body, sent)),
            StatusCode::CONFLICT => assert_eq!(body["error"], "seats_unavailable", "{body}"),
            other => panic!("chosen pair got {other}: {body}"),
        }
    }
    let (status, body, sent) = hold(&stack, &token, "best", json!({"quantity": 2}), &retries).await;
    match status {
        StatusCode::CREATED => Some(granted(true, &body, sent)),
        StatusCode::CONFLICT => {
            assert_eq!(body["error"], "seats_unavailable", "{body}");
            None
        }
        other => panic!("best two got {other}: {body}"),
    }
}

fn pairs() -> impl Iterator<Item = [Seat; 2]> {
    (1..=ROWS).flat_map(|row| (1..SEATS_PER_ROW).map(move |n| [(row, n), (row, n + 1)]))
}

/// Reads consistent snapshots of the inventory's seats until `stop`, and returns the
/// split holds seen held in a snapshot that also had two adjacent free seats, each with
/// one such pair, and how many snapshots were read.
async fn watch(url: String, stop: Arc<AtomicBool>) -> (BTreeMap<String, [Seat; 2]>, u64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("inventory database");
    let mut convicted = BTreeMap::new();
    let mut snapshots = 0;
    while !stop.load(Ordering::Relaxed) {
        // One statement: one snapshot on both engines.
        let rows = sqlx::query(
            "SELECT s.row_no, s.seat_no, \
             CAST(CASE WHEN s.sold = 0 AND s.hold_expires_at_ms <= $2 THEN 1 ELSE 0 END \
                  AS BIGINT) AS free, \
             COALESCE(s.hold_id, '') AS hold_id, \
             CAST(COALESCE(h.adjacent, 1) AS BIGINT) AS adjacent \
             FROM inv_seats s LEFT JOIN inv_holds h ON h.hold_id = s.hold_id \
             WHERE s.event_id = $1 ORDER BY s.row_no, s.seat_no",
        )
        .bind("rush")
        .bind(breakwater_inventory::now_ms())
        .fetch_all(&pool)
        .await
        .expect("snapshot");
        snapshots += 1;
        let mut free = BTreeSet::new();
        let mut splits = BTreeSet::new();
        for row in &rows {
            let seat: Seat = (
                u32::try_from(row.get::<i64, _>("row_no")).unwrap_or(0),
                u32::try_from(row.get::<i64, _>("seat_no")).unwrap_or(0),
            );
            if row.get::<i64, _>("free") == 1 {
                free.insert(seat);
            } else if row.get::<i64, _>("adjacent") == 0 {
                splits.insert(row.get::<String, _>("hold_id"));
            }
        }
        if let Some(pair) = pairs().find(|pair| pair.iter().all(|seat| free.contains(seat))) {
            for split in splits {
                convicted.entry(split).or_insert(pair);
            }
        }
        tokio::task::yield_now().await;
    }
    pool.close().await;
    (convicted, snapshots)
}

async fn splits_only_when_no_pair_is_free(engine: Engine) {
    let started = Instant::now();
    let stack = Arc::new(Stack::start(engine).await.unwrap());
    stack
        .open_event("rush", seated_venue(1, ROWS, SEATS_PER_ROW), 4, 3_600)
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch(stack.databases.inventory.clone(), stop.clone()));
    let retries = Arc::new(AtomicU64::new(0));
    let holds: Vec<Granted> = futures::stream::iter(1..=BUYERS)
        .map(|number| buyer(stack.clone(), number, retries.clone()))
        .buffer_unordered(CONCURRENCY)
        .filter_map(|granted| async move { granted })
        .collect()
        .await;
    stop.store(true, Ordering::Relaxed);
    let (seen_beside_a_free_pair, snapshots) = watcher.await.expect("watcher");
    let race = started.elapsed();

    // Who holds each seat.
    let mut holder: BTreeMap<Seat, &Granted> = BTreeMap::new();
    for granted in &holds {
        assert_eq!(granted.seats.len(), 2, "{granted:?}");
        for seat in &granted.seats {
            let previous = holder.insert(*seat, granted);
            assert!(previous.is_none(), "seat {seat:?} granted twice");
        }
        let together = granted.seats[0].0 == granted.seats[1].0
            && granted.seats[1].1 == granted.seats[0].1 + 1;
        assert_eq!(granted.adjacent, together, "{granted:?}");
    }
    let sales = stack.sales("rush").await;
    assert_eq!(
        sales["held"].as_u64(),
        Some(holder.len() as u64),
        "the inventory holds exactly the seats the buyers were granted: {sales}"
    );

    let mut violations = Vec::new();
    for split in holds.iter().filter(|h| !h.adjacent) {
        let free_after = |seat: &Seat| {
            holder
                .get(seat)
                .is_none_or(|other| other.sent > split.answered)
        };
        if let Some(pair) = pairs().find(|pair| pair.iter().all(free_after)) {
            violations.push(format!(
                "buyer {} got {:?} split, answered before {pair:?} were asked for",
                split.buyer, split.seats
            ));
        } else if let Some(pair) = seen_beside_a_free_pair.get(&split.id) {
            violations.push(format!(
                "buyer {} got {:?} split; a snapshot had it held and {pair:?} free",
                split.buyer, split.seats
            ));
        }
    }
    let free_at_end: Vec<Seat> = pairs()
        .filter(|pair| pair.iter().all(|seat| !holder.contains_key(seat)))
        .map(|pair| pair[0])
        .collect();
    let split = holds.iter().filter(|h| !h.adjacent).count();
    let best = holds.iter().filter(|h| h.best).count();
    println!(
        "{engine:?}: {} holds ({} chosen, {best} best-available), {} adjacent, {split} split, \
         {} violations, {} pairs free at the end, {} seats held, {} retried 503s, \
         {snapshots} snapshots, {:.1} s",
        holds.len(),
        holds.len() - best,
        holds.len() - split,
        violations.len(),
        free_at_end.len(),
        holder.len(),
        retries.load(Ordering::Relaxed),
        race.as_secs_f64()
    );
    assert!(
        violations.is_empty(),
        "{} of {split} splits while a pair was free:\n{}",
        violations.len(),
        violations.join("\n")
    );
    assert!(
        free_at_end.is_empty(),
        "pairs free at the end: {free_at_end:?}"
    );
    if let Ok(stack) = Arc::try_unwrap(stack) {
        stack.stop().await.unwrap();
    }
}
