//! Best-available on PostgreSQL next to concurrent allocators, made deterministic: a
//! second connection holds row locks on seats the way a concurrent allocator's scan does
//! (`SELECT … FOR UPDATE`, nothing claimed), and the hold under test runs meanwhile.
//! A seat merely read and locked by another transaction is still free: it may not be
//! split around, and it is not "sold out".

use std::time::{Duration, Instant};

use breakwater_inventory::InventoryStore;
use breakwater_inventory::store::{HoldOutcome, HoldRequest, Pick};
use breakwater_inventory::{StoreError, now_ms};
use breakwater_testkit::postgres::FreshDatabase;
use breakwater_ticketing::{SectionSpec, VenueSpec};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// One section, one row of `seats`.
fn one_row(seats: u32) -> VenueSpec {
    VenueSpec {
        sections: vec![SectionSpec {
            name: "Stalls".into(),
            price_cents: 5_000,
            rows: Some(1),
            seats_per_row: Some(seats),
            capacity: None,
        }],
    }
}

fn request(hold_id: &str, pick: Pick) -> HoldRequest {
    HoldRequest {
        event_id: "e".into(),
        hold_id: hold_id.into(),
        pick,
        expires_at_ms: now_ms() + 600_000,
    }
}

fn best(quantity: u32) -> Pick {
    Pick::Best {
        quantity,
        section_id: None,
    }
}

fn seats(numbers: &[u32]) -> Pick {
    Pick::Seats(numbers.iter().map(|n| format!("s1-r1-{n}")).collect())
}

/// A fresh database with one row of `row` seats, `taken` of them held.
async fn venue(row: u32, taken: &[u32]) -> (FreshDatabase, InventoryStore) {
    let db = FreshDatabase::create().await.expect("fresh database");
    let store = InventoryStore::open(db.url(), 4)
        .await
        .expect("store opens");
    store
        .put_venue("e", &one_row(row), now_ms())
        .await
        .expect("venue");
    let outcome = store
        .hold(&request("taken", seats(taken)), now_ms())
        .await
        .expect("chosen hold");
    assert!(matches!(outcome, HoldOutcome::Held { .. }), "{outcome:?}");
    (db, store)
}

/// Another transaction that has read and locked `numbers` (as a concurrent allocator's
/// scan does) and claimed nothing yet.
async fn lock_seats(url: &str, numbers: &[i64]) -> PgConnection {
    let mut locker = PgConnection::connect(url).await.expect("connects");
    sqlx::query("BEGIN")
        .execute(&mut locker)
        .await
        .expect("begin");
    let locked = sqlx::query(
        "SELECT seat_id FROM inv_seats WHERE event_id = 'e' AND seat_no = ANY($1) FOR UPDATE",
    )
    .bind(numbers)
    .fetch_all(&mut locker)
    .await
    .expect("locks");
    assert_eq!(locked.len(), numbers.len());
    locker
}

/// Waits until some backend of the database waits for a row lock, or `done` says the hold
/// finished first (then the caller's assertions tell what it did).
async fn until_waiting_for_a_lock(url: &str, done: impl Fn() -> bool) {
    let mut observer = PgConnection::connect(url).await.expect("connects");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut observer)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 || done() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the hold neither waited nor ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn numbers(outcome: &HoldOutcome) -> (Vec<u32>, bool) {
    match outcome {
        HoldOutcome::Held {
            seats, adjacent, ..
        } => (seats.iter().map(|s| s.number).collect(), *adjacent),
        other => panic!("not held: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_pair_only_locked_by_another_allocator_is_waited_for_not_split_around() {
    // Free: 1, 3, 4, 6. The only pair, 3-4, is locked by another allocator's scan.
    let (db, store) = venue(6, &[2, 5]).await;
    let mut locker = lock_seats(db.url(), &[3, 4]).await;
    let hold = tokio::spawn({
        let store = store.clone();
        async move { store.hold(&request("pair", best(2)), now_ms()).await }
    });
    until_waiting_for_a_lock(db.url(), || hold.is_finished()).await;
    // The other allocator took other seats after all: its locks go, nothing claimed.
    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("rollback");
    let outcome = hold.await.expect("joins").expect("holds");
    assert_eq!(
        numbers(&outcome),
        (vec![3, 4], true),
        "the free pair, not a split around its locks"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_genuine_split_is_granted_without_waiting_for_locks() {
    // Free: 1, 3, 6 — no pair even counting the locked seat 3.
    let (db, store) = venue(6, &[2, 4, 5]).await;
    let mut locker = lock_seats(db.url(), &[3]).await;
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        store.hold(&request("split", best(2)), now_ms()),
    )
    .await
    .expect("answered while the lock is held")
    .expect("holds");
    assert_eq!(numbers(&outcome), (vec![1, 6], false));
    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("rollback");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_only_locked_free_seats_are_contention_not_sold_out_and_hold_nothing() {
    // Free: 1, 2, 3 — all locked by a transaction that never lets go while the hold runs.
    let (db, store) = venue(4, &[4]).await;
    let mut locker = lock_seats(db.url(), &[1, 2, 3]).await;
    let started = Instant::now();
    let error = tokio::time::timeout(
        Duration::from_secs(5),
        store.hold(&request("busy", best(2)), now_ms()),
    )
    .await
    .expect("answered while the locks are held")
    .expect_err("no answer can be given while every free seat is locked");
    assert!(matches!(error, StoreError::Contended), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up within its budget"
    );
    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("rollback");
    // Nothing of the failed attempt stuck: the same hold id now holds.
    let outcome = store
        .hold(&request("busy", best(2)), now_ms())
        .await
        .expect("holds");
    assert_eq!(numbers(&outcome), (vec![2, 3], true), "the centre pair");
    store.close().await;
}
