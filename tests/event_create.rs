//! A refused event create changes nothing anywhere: `POST /admin/v1/events` with an id
//! that exists answers 409 and leaves the line, the reservation's sale settings and the
//! inventory's venue as they were, also when two `breakwater gateway` processes (on one
//! Redis) create the same new id at once. The gateways are the real binary; the ticketing
//! backend (reservation, inventory, payment) runs in this process on SQLite.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use breakwater_reservation::ReservationStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN_SECRET: &str = "create-test-token-secret-0123456789";
const ADMIN_KEY: &str = "create-test-admin-key-0123456789";

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}?mode=rwc", dir.join(name).display())
}

/// A `breakwater gateway` process, killed when dropped.
struct Gateway {
    child: Child,
    base: String,
}

impl Gateway {
    async fn spawn(redis_url: &str, backend_url: &str, http: &reqwest::Client) -> Self {
        let port = breakwater_testkit::ports::free_port().expect("a free port");
        let child = Command::new(env!("CARGO_BIN_EXE_breakwater"))
            .arg("gateway")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--redis-url", redis_url])
            .args(["--redis-namespace", "create"])
            .args(["--backend-url", backend_url])
            .env("BREAKWATER_TOKEN_SECRET", TOKEN_SECRET)
            .env("BREAKWATER_ADMIN_KEY", ADMIN_KEY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("breakwater gateway starts");
        let gateway = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = http.get(format!("{}/readyz", gateway.base)).send().await
                && response.status() == StatusCode::OK
            {
                return gateway;
            }
            assert!(Instant::now() < deadline, "the gateway never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn create(&self, http: &reqwest::Client, body: &Value) -> (StatusCode, Value) {
        let response = http
            .post(format!("{}/admin/v1/events", self.base))
            .bearer_auth(ADMIN_KEY)
            .json(body)
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, http: &reqwest::Client, path: &str) -> Value {
        http.get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .expect("the gateway answers")
            .json()
            .await
            .expect("JSON")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event(id: &str, currency: &str, limit: u32, rows: u32) -> Value {
    json!({
        "id": id, "name": "Gala", "currency": currency,
        "ticket_limit_per_buyer": limit, "hold_seconds": 300,
        "admission_rate_per_second": f64::from(limit),
        "venue": {"sections": [{"name": "Stalls", "price_cents": 5_000, "rows": rows, "seats_per_row": 5}]},
    })
}

/// What each part keeps of an event: the line's currency and rate (through the gateway),
/// the reservation's currency, ticket limit and seats, and the inventory's seats.
async fn kept(
    gateway: &Gateway,
    http: &reqwest::Client,
    reservation_url: &str,
    id: &str,
) -> (Value, Value, String, u32, u64, Value) {
    let line = gateway.get(http, &format!("/admin/v1/events/{id}")).await;
    let store = ReservationStore::open(reservation_url, 1)
        .await
        .expect("reservation database");
    let sale = store
        .event(id)
        .await
        .expect("reads")
        .expect("reservation knows the event");
    store.close().await;
    let sales = gateway
        .get(http, &format!("/admin/v1/events/{id}/sales"))
        .await;
    (
        line["currency"].clone(),
        line["admission_rate_per_second"].clone(),
        sale.currency,
        sale.ticket_limit_per_buyer,
        sale.seats_total,
        sales["seats_total"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_event_create_changes_nothing_anywhere() {
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
        ..Default::default()
    })
    .await
    .unwrap();
    let reservation_url = sqlite_url(dir.path(), "reservation.db");
    let reservation = breakwater_reservation::start(breakwater_reservation::Config {
        listen: loopback,
        database_url: reservation_url.clone(),
        inventory_url: inventory.url(),
        payment_url: payment.url(),
        token_secret: TOKEN_SECRET.into(),
        admin_key: ADMIN_KEY.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let redis = breakwater_testkit::redis::RedisServer::start()
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let a = Gateway::spawn(&redis.url(), &reservation.url(), &http).await;
    let b = Gateway::spawn(&redis.url(), &reservation.url(), &http).await;

    let (status, created) = a.create(&http, &event("gala", "EUR", 4, 2)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let original = (json!("EUR"), json!(4.0), "EUR".to_owned(), 4, 10, json!(10));
    assert_eq!(kept(&a, &http, &reservation_url, "gala").await, original);
    // The same id again, with other settings, through the gateway that created it and
    // through the other one (which may or may not know the event yet).
    for (gateway, body) in [
        (&a, event("gala", "USD", 9, 3)),
        (&b, event("gala", "GBP", 7, 4)),
        (&a, event("gala", "EUR", 4, 2)),
    ] {
        let (status, refused) = gateway.create(&http, &body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"], "event_exists", "{refused}");
        assert_eq!(
            kept(&a, &http, &reservation_url, "gala").await,
            original,
            "a refused create changed the event"
        );
    }

    // Both gateways create one new id at once, with different settings: one wins, and the
    // event is the winner's everywhere.
    for round in 0..4 {
        let id = format!("duo-{round}");
        let (from_a, from_b) = (event(&id, "EUR", 2, 2), event(&id, "USD", 6, 3));
        let (answer_a, answer_b) = tokio::join!(a.create(&http, &from_a), b.create(&http, &from_b));
        let (winner, body, loser) = match (answer_a.0, answer_b.0) {
            (StatusCode::CREATED, _) => (&a, &from_a, answer_b),
            (_, StatusCode::CREATED) => (&b, &from_b, answer_a),
            _ => panic!("nobody created {id}: {answer_a:?} {answer_b:?}"),
        };
        assert_eq!(loser.0, StatusCode::CONFLICT, "{:?}", loser.1);
        assert_eq!(loser.1["error"], "event_exists", "{:?}", loser.1);
        let limit = u32::try_from(body["ticket_limit_per_buyer"].as_u64().unwrap()).unwrap();
        let seats = body["venue"]["sections"][0]["rows"].as_u64().unwrap() * 5;
        assert_eq!(
            kept(winner, &http, &reservation_url, &id).await,
            (
                body["currency"].clone(),
                json!(f64::from(limit)),
                body["currency"].as_str().unwrap().to_owned(),
                limit,
                seats,
                json!(seats),
            ),
            "{id} is not the winner's"
        );
    }

    drop((a, b));
    reservation.shutdown().await.unwrap();
    payment.shutdown().await.unwrap();
    inventory.shutdown().await.unwrap();
}
