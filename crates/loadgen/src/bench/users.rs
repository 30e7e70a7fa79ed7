//! Benchmark events and crowds: create an event, join many users fast (keeping their
//! tokens), make every user poll once.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::endpoint::Endpoint;
use crate::http::{Call, Pool};
use crate::saturate::{Phase, Saturation, saturate};

/// A benchmark event's line settings.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// Its id.
    pub id: String,
    /// Admissions per second.
    pub rate: f64,
    /// Cap on ready plus entered users.
    pub max_active: u32,
    /// Seconds without a poll before a user drops out.
    pub heartbeat_timeout_seconds: u32,
    /// Whether the line starts paused (admits nobody).
    pub paused: bool,
}

impl EventSpec {
    /// A paused event whose users never drop out during a benchmark.
    pub fn still(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            rate: 100.0,
            max_active: 1_000_000,
            heartbeat_timeout_seconds: 3_600,
            paused: true,
        }
    }

    /// The body of `POST /admin/v1/events`.
    pub fn body(&self) -> Value {
        json!({
            "id": self.id,
            "name": format!("Benchmark {}", self.id),
            "admission_rate_per_second": self.rate,
            "max_active_users": self.max_active,
            "heartbeat_timeout_seconds": self.heartbeat_timeout_seconds,
            "claim_window_seconds": 60,
            "session_seconds": 3_600,
            "paused": self.paused,
        })
    }
}

/// Joins `count` users as fast as `concurrency` connections allow; returns the phase's
/// figures and the line tokens.
pub async fn join_users(
    pool: Arc<Pool>,
    event: &str,
    count: u64,
    concurrency: usize,
) -> (Saturation, Vec<Arc<str>>) {
    let tokens = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    let kept = tokens.clone();
    let path = format!("/api/v1/events/{event}/queue");
    let phase = Phase {
        endpoint: Endpoint::Join,
        concurrency,
        duration: Duration::from_secs(3_600),
        limit: Some(count),
        make: Arc::new(move |_| Call::new(Method::POST, path.clone())),
        keep: Some(Arc::new(move |reply| {
            if let Some(token) = reply
                .json()
                .and_then(|body| body["token"].as_str().map(Arc::from))
            {
                kept.lock().push(token);
            }
        })),
    };
    let saturation = saturate(pool, phase).await;
    let tokens = std::mem::take(&mut *tokens.lock());
    (saturation, tokens)
}

/// Every token polls once (a heartbeat from everyone), as fast as `concurrency` allows.
pub async fn poll_each(
    pool: Arc<Pool>,
    event: &str,
    tokens: Arc<Vec<Arc<str>>>,
    concurrency: usize,
) -> Saturation {
    saturate(
        pool,
        status_phase(event, tokens, concurrency, Duration::from_secs(3_600), true),
    )
    .await
}

/// A closed-loop phase of status polls cycling through `tokens` (each once, when `once`).
pub fn status_phase(
    event: &str,
    tokens: Arc<Vec<Arc<str>>>,
    concurrency: usize,
    duration: Duration,
    once: bool,
) -> Phase {
    let path = format!("/api/v1/events/{event}/queue");
    let count = tokens.len() as u64;
    Phase {
        endpoint: Endpoint::Status,
        concurrency,
        duration,
        limit: once.then_some(count),
        make: Arc::new(move |n| {
            let token = tokens[(n % count.max(1)) as usize].clone();
            Call::get(path.clone()).bearer(token)
        }),
        keep: None,
    }
}
