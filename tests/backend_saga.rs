//! The checkout saga under crashes: the real `breakwater reservation` process is killed
//! with SIGKILL at random moments while buyers hold and pay through it (sandbox provider:
//! 20 % declines, 10 % timeouts), and restarted each time. After the load, the reconciler
//! must have finished everything: every captured payment has exactly one confirmed order,
//! every failed order has no capture, and the inventory sold exactly the confirmed orders'
//! seats.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use breakwater_payment::IntentState;
use breakwater_reservation::ReservationStore;
use jitter::Jitter;
use serde_json::{Value, json};

/// The root crate's tests have no RNG crate; a time-seeded xorshift is plenty for choosing
/// kill moments.
mod jitter {
    pub struct Jitter(u64);

    impl Jitter {
        pub fn new() -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(1);
            Self(u64::from(nanos) | 1)
        }

        /// A value in `low..high`.
        pub fn between(&mut self, low: u64, high: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            low + self.0 % (high - low).max(1)
        }
    }
}

const TOKEN_SECRET: &str = "saga-test-token-secret-0123456789";
const ADMIN_KEY: &str = "saga-test-admin-key-0123456789";
const KILLS: usize = 5;
const WORKERS: u64 = 12;

/// The reservation process and how to restart it.
struct Reservation {
    child: Child,
    args: Vec<String>,
    base: String,
}

impl Reservation {
    fn spawn(args: Vec<String>, base: String) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_breakwater"))
            .args(&args)
            .env("BREAKWATER_TOKEN_SECRET", TOKEN_SECRET)
            .env("BREAKWATER_ADMIN_KEY", ADMIN_KEY)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("breakwater binary starts");
        Self { child, args, base }
    }

    fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        *self = Self::spawn(self.args.clone(), self.base.clone());
    }

    async fn wait_healthy(&self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = http.get(format!("{}/healthz", self.base)).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("reservation did not come up");
    }
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}?mode=rwc", dir.join(name).display())
}

fn token(buyer: u64) -> String {
    let keys = breakwater_tokens::TokenKeys::new(TOKEN_SECRET.as_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    keys.sign_access(&breakwater_tokens::AccessToken {
        event: "saga".into(),
        lineage: 1,
        number: buyer,
        expires_at_ms: now + 3_600_000,
    })
}

/// Sends one request, retrying it unchanged (same Idempotency-Key) while the server is
/// down or answers 503, as a real client would. `None` if it never got an answer.
async fn send(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    bearer: &str,
    key: &str,
    body: &Value,
) -> Option<(u16, Value)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let sent = http
            .post(format!("{base}{path}"))
            .bearer_auth(bearer)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await;
        if let Ok(response) = sent {
            let status = response.status().as_u16();
            if let Ok(body) = response.json::<Value>().await
                && status != 503
            {
                return Some((status, body));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// One buyer after another: hold the best 1–2 seats, pay with `sandbox` (random outcome).
async fn buyer_loop(worker: u64, base: String, stop: Arc<AtomicBool>, journeys: Arc<AtomicU64>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let buyer = worker * 100_000 + round;
        let token = token(buyer);
        let quantity = 1 + round % 2;
        let Some((status, hold)) = send(
            &http,
            &base,
            "/api/v1/events/saga/holds",
            &token,
            "hold",
            &json!({"quantity": quantity}),
        )
        .await
        else {
            continue;
        };
        if status != 201 {
            continue;
        }
        let path = format!("/api/v1/holds/{}/checkout", hold["id"].as_str().unwrap());
        let answer = send(
            &http,
            &base,
            &path,
            &token,
            "pay",
            &json!({"payment_method": "sandbox"}),
        )
        .await;
        if let Some((status, body)) = answer {
            assert!(
                [201, 202, 402, 409].contains(&status),
                "checkout answered {status}: {body}"
            );
        }
        journeys.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_reservation_leaves_no_half_done_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let loopback = "127.0.0.1:0".parse().unwrap();
    let inventory = breakwater_inventory::start(breakwater_inventory::Config {
        listen: loopback,
        database_url: sqlite_url(dir.path(), "inventory.db"),
        ..Default::default()
    })
    .await
    .unwrap();
    let payment = breakwater_payment::start(breakwater_payment::Config {
        listen: loopback,
        database_url: sqlite_url(dir.path(), "payment.db"),
        latency_ms: 30,
        decline_rate: 0.2,
        timeout_rate: 0.1,
        settle_after_ms: 500,
        ..Default::default()
    })
    .await
    .unwrap();
    let port = breakwater_testkit::ports::free_port().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let reservation_db = sqlite_url(dir.path(), "reservation.db");
    let args: Vec<String> = [
        "reservation",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--database-url",
        &reservation_db,
        "--inventory-url",
        &inventory.url(),
        "--payment-url",
        &payment.url(),
        "--reconcile-interval-ms",
        "200",
        "--payment-timeout-ms",
        "1000",
        "--pending-hold-timeout-ms",
        "2000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let http = reqwest::Client::new();
    let mut reservation = Reservation::spawn(args, base.clone());
    reservation.wait_healthy(&http).await;
    let venue = json!({"sections": [
        {"name": "Stalls", "price_cents": 4500, "rows": 20, "seats_per_row": 25},
        {"name": "Floor", "price_cents": 3000, "capacity": 500},
    ]});
    let created = http
        .put(format!("{base}/internal/v1/events/saga"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "Saga", "currency": "EUR", "ticket_limit_per_buyer": 4, "venue": venue}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    let stop = Arc::new(AtomicBool::new(false));
    let journeys = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for worker in 1..=WORKERS {
        workers.spawn(buyer_loop(
            worker,
            base.clone(),
            stop.clone(),
            journeys.clone(),
        ));
    }
    let mut jitter = Jitter::new();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(jitter.between(1_000, 4_000))).await;
        reservation.kill_and_restart();
        reservation.wait_healthy(&http).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    while let Some(result) = workers.join_next().await {
        result.unwrap();
    }
    assert!(
        journeys.load(Ordering::Relaxed) >= 20,
        "the load ran through the kills"
    );

    // The reconciler of the last process settles whatever the kills left.
    let store = ReservationStore::open(&reservation_db, 2).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let orders = loop {
        let orders = store.orders_of_event("saga").await.unwrap();
        if orders.iter().all(|o| o.step.as_str() == "done") {
            break orders;
        }
        assert!(
            Instant::now() < deadline,
            "orders still unsettled after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    store.close().await;

    let payments = breakwater_payment::PaymentStore::open(&sqlite_url(dir.path(), "payment.db"), 1)
        .await
        .unwrap();
    let intents: HashMap<String, IntentState> = payments
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.idempotency_key, i.state))
        .collect();
    payments.close().await;
    let by_id: HashMap<&str, &breakwater_reservation::store::OrderRecord> =
        orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    let mut captures = 0;
    for (key, state) in &intents {
        if *state == IntentState::Captured {
            captures += 1;
            let order = by_id
                .get(key.as_str())
                .expect("every capture has its order");
            assert_eq!(order.state.as_str(), "confirmed", "capture {key}");
        }
    }
    let mut expected_sold = BTreeMap::new();
    let (mut confirmed, mut failed) = (0, 0);
    for order in &orders {
        match order.state.as_str() {
            "confirmed" => {
                confirmed += 1;
                assert_eq!(intents.get(&order.order_id), Some(&IntentState::Captured));
                for seat in &order.seats {
                    assert!(
                        expected_sold
                            .insert(seat.id.clone(), order.hold_id.clone())
                            .is_none()
                    );
                }
            }
            "failed" => {
                failed += 1;
                assert_ne!(
                    intents.get(&order.order_id),
                    Some(&IntentState::Captured),
                    "released order was charged"
                );
            }
            other => panic!("order {} ended {other}", order.order_id),
        }
    }
    assert_eq!(
        captures, confirmed,
        "exactly one confirmed order per capture"
    );
    assert!(
        confirmed > 0 && failed > 0,
        "{confirmed} confirmed, {failed} failed"
    );

    let inventory_store =
        breakwater_inventory::InventoryStore::open(&sqlite_url(dir.path(), "inventory.db"), 1)
            .await
            .unwrap();
    assert_eq!(
        inventory_store
            .invariant_violations("saga", breakwater_inventory::now_ms())
            .await
            .unwrap(),
        0
    );
    let sold: BTreeMap<String, String> = inventory_store
        .sold_seats("saga")
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.seat_id, s.hold_id))
        .collect();
    inventory_store.close().await;
    assert_eq!(
        sold, expected_sold,
        "sold seats are exactly the confirmed orders' seats"
    );

    // A graceful stop on SIGTERM.
    let pid = reservation.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = reservation.child.wait().unwrap();
    assert!(
        status.success(),
        "reservation exits cleanly on SIGTERM: {status}"
    );
    payment.shutdown().await.unwrap();
    inventory.shutdown().await.unwrap();
    eprintln!(
        "saga: {confirmed} confirmed, {failed} failed, {captures} captures, {} intents",
        intents.len()
    );
}
