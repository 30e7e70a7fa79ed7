//! Test harness: the three services started in-process on loopback over a fresh SQLite
//! directory or a fresh PostgreSQL database, and a small HTTP client for the contract.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use breakwater_testkit::postgres::FreshDatabase;
use breakwater_tokens::{AccessToken, TokenKeys};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Which engine the stack stores in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// One SQLite file per service in a temporary directory.
    Sqlite,
    /// One fresh PostgreSQL database shared by the three services.
    Postgres,
}

/// Where each service keeps its data.
pub struct Databases {
    pub inventory: String,
    pub payment: String,
    pub reservation: String,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<FreshDatabase>,
}

impl Databases {
    pub async fn create(engine: Engine) -> anyhow::Result<Self> {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url =
                    |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
                Ok(Self {
                    inventory: url("inventory.db"),
                    payment: url("payment.db"),
                    reservation: url("reservation.db"),
                    _dir: Some(dir),
                    _postgres: None,
                })
            }
            Engine::Postgres => {
                let db = FreshDatabase::create().await?;
                let url = db.url().to_owned();
                Ok(Self {
                    inventory: url.clone(),
                    payment: url.clone(),
                    reservation: url,
                    _dir: None,
                    _postgres: Some(db),
                })
            }
        }
    }
}

pub const TOKEN_SECRET: &str = "conformance-token-secret-0123456789";
pub const ADMIN_KEY: &str = "conformance-admin-key-0123456789";

/// The three services, running.
pub struct Stack {
    pub inventory: Option<breakwater_inventory::Running>,
    pub payment: Option<breakwater_payment::Running>,
    pub reservation: Option<breakwater_reservation::Running>,
    pub base: String,
    pub keys: TokenKeys,
    pub http: reqwest::Client,
    pub databases: Databases,
    /// How the reservation service was started (to start it again).
    pub reservation_config: breakwater_reservation::Config,
}

/// Settings a test may change before the stack starts.
pub struct Tweaks {
    pub inventory: breakwater_inventory::Config,
    pub payment: breakwater_payment::Config,
    pub reservation: breakwater_reservation::Config,
}

impl Stack {
    pub async fn start(engine: Engine) -> anyhow::Result<Self> {
        Self::start_with(engine, |_| {}).await
    }

    pub async fn start_with(
        engine: Engine,
        tweak: impl FnOnce(&mut Tweaks),
    ) -> anyhow::Result<Self> {
        // Warnings and errors of the services show in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_test_writer()
            .try_init();
        let databases = Databases::create(engine).await?;
        let loopback = "127.0.0.1:0".parse()?;
        let mut tweaks = Tweaks {
            inventory: breakwater_inventory::Config {
                listen: loopback,
                database_url: databases.inventory.clone(),
                ..Default::default()
            },
            payment: breakwater_payment::Config {
                listen: loopback,
                database_url: databases.payment.clone(),
                latency_ms: 0,
                settle_after_ms: 300,
                ..Default::default()
            },
            reservation: breakwater_reservation::Config {
                listen: loopback,
                database_url: databases.reservation.clone(),
                token_secret: TOKEN_SECRET.into(),
                admin_key: ADMIN_KEY.into(),
                reconcile_interval_ms: 100,
                payment_timeout_ms: 1_000,
                ..Default::default()
            },
        };
        tweak(&mut tweaks);
        let inventory = breakwater_inventory::start(tweaks.inventory).await?;
        let payment = breakwater_payment::start(tweaks.payment).await?;
        let mut reservation_config = tweaks.reservation;
        reservation_config.inventory_url = inventory.url();
        reservation_config.payment_url = payment.url();
        let reservation = breakwater_reservation::start(reservation_config.clone()).await?;
        let base = reservation.url();
        Ok(Self {
            inventory: Some(inventory),
            payment: Some(payment),
            reservation: Some(reservation),
            base,
            keys: TokenKeys::new(TOKEN_SECRET.as_bytes()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            databases,
            reservation_config,
        })
    }

    /// Stops the reservation service and starts it again on the same database (as after a
    /// crash: whatever it left half done is the new process's reconciler's to finish).
    pub async fn restart_reservation(&mut self) -> anyhow::Result<()> {
        if let Some(reservation) = self.reservation.take() {
            reservation.shutdown().await?;
        }
        let reservation = breakwater_reservation::start(self.reservation_config.clone()).await?;
        self.base = reservation.url();
        self.reservation = Some(reservation);
        Ok(())
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(reservation) = self.reservation.take() {
            reservation.shutdown().await?;
        }
        if let Some(payment) = self.payment.take() {
            payment.shutdown().await?;
        }
        if let Some(inventory) = self.inventory.take() {
            inventory.shutdown().await?;
        }
        Ok(())
    }

    /// An access token for buyer `number` of `event`, valid for an hour.
    pub fn token(&self, event: &str, number: u64) -> String {
        token(&self.keys, event, number)
    }

    /// Sends a request and returns the status and JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        idempotency_key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(
            &self.http,
            &self.base,
            method,
            path,
            bearer,
            idempotency_key,
            body,
        )
        .await
    }

    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(method, path, Some(ADMIN_KEY), None, body).await
    }

    /// Creates event `id` with `venue` and the given limit and hold duration.
    pub async fn open_event(&self, id: &str, venue: Value, limit: u32, hold_seconds: u32) -> Value {
        let (status, body) = self
            .admin(
                Method::PUT,
                &format!("/internal/v1/events/{id}"),
                Some(json!({
                    "name": format!("Event {id}"),
                    "currency": "EUR",
                    "ticket_limit_per_buyer": limit,
                    "hold_seconds": hold_seconds,
                    "venue": venue,
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn hold(
        &self,
        token: &str,
        event: &str,
        key: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/v1/events/{event}/holds"),
            Some(token),
            Some(key),
            Some(body),
        )
        .await
    }

    pub async fn checkout(
        &self,
        token: &str,
        hold: &str,
        key: &str,
        method: &str,
    ) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/v1/holds/{hold}/checkout"),
            Some(token),
            Some(key),
            Some(json!({ "payment_method": method })),
        )
        .await
    }

    pub async fn sales(&self, event: &str) -> Value {
        let (status, body) = self
            .admin(
                Method::GET,
                &format!("/internal/v1/events/{event}/sales"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// The status of seat `seat_id` on the live map.
    pub async fn seat_status(&self, token: &str, event: &str, seat_id: &str) -> String {
        let (status, map) = self
            .call(
                Method::GET,
                &format!("/api/v1/events/{event}/seats"),
                Some(token),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{map}");
        for section in map["sections"].as_array().into_iter().flatten() {
            for row in section["rows"].as_array().into_iter().flatten() {
                for seat in row["seats"].as_array().into_iter().flatten() {
                    if seat["id"] == seat_id {
                        return seat["status"].as_str().unwrap_or_default().to_owned();
                    }
                }
            }
        }
        panic!("seat {seat_id} not on the map");
    }
}

pub fn token(keys: &TokenKeys, event: &str, number: u64) -> String {
    let expires_at_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
    )
    .unwrap_or(0)
        + 3_600_000;
    keys.sign_access(&AccessToken {
        event: event.to_owned(),
        lineage: 1,
        number,
        expires_at_ms,
    })
}

pub async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    idempotency_key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, format!("{base}{path}"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status();
    let bytes = response.bytes().await.expect("response body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{status}: body is not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Polls `check` until it returns `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A numbered venue: `sections` of `rows` × `seats_per_row`, priciest first.
pub fn seated_venue(sections: u32, rows: u32, seats_per_row: u32) -> Value {
    let sections: Vec<Value> = (0..sections)
        .map(|i| {
            json!({
                "name": format!("Section {}", i + 1),
                "price_cents": 10_000 - i64::from(i) * 1_000,
                "rows": rows,
                "seats_per_row": seats_per_row,
            })
        })
        .collect();
    json!({ "sections": sections })
}
