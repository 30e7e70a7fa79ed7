//! The ticketing backend as the gateway reaches it: the reservation service's HTTP API
//! for admitted buyers, and its internal admin API for event set-up.

use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, header};
use bytes::Bytes;
use serde::Serialize;

use crate::VenueSpec;

/// Why a backend call did not give an answer to pass on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// Unreachable, timed out, or a 5xx. The detail (which may name internal addresses)
    /// is for the log only: it is not part of the message.
    #[error("the ticketing backend is unavailable; retry shortly")]
    Unavailable {
        /// What went wrong, for the operator's log.
        detail: String,
    },
    /// As many buyer calls as the gateway lets through are waiting on the backend
    /// already: this one is refused at once.
    #[error("the ticketing backend is busy; retry shortly")]
    Busy,
    /// The backend refused the call with a 4xx; its body explains.
    #[error("the ticketing backend refused the request ({status})")]
    Rejected {
        /// The backend's status code.
        status: u16,
        /// The backend's JSON body.
        body: Bytes,
    },
}

/// An event's sale settings as the backend takes them.
#[derive(Debug, Clone, Serialize)]
pub struct SaleSettings {
    pub name: String,
    pub currency: String,
    pub ticket_limit_per_buyer: u32,
    pub hold_seconds: u32,
    pub venue: VenueSpec,
}

/// Headers passed from the buyer to the backend and back; everything else stays here.
const FORWARDED_REQUEST_HEADERS: [header::HeaderName; 3] =
    [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT];
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A forwarded call's answer.
pub struct Forwarded {
    /// Status code.
    pub status: StatusCode,
    /// Content type, if any.
    pub content_type: Option<header::HeaderValue>,
    /// Body.
    pub body: Bytes,
}

/// How much the gateway asks of its backend at once, and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendLimits {
    /// A call not answered within this fails (503 to the buyer).
    pub timeout: Duration,
    /// Most buyer calls forwarded at once; more are refused at once with 503 +
    /// `Retry-After` rather than queued behind a slow backend.
    pub max_in_flight: usize,
}

impl Default for BackendLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            max_in_flight: 512,
        }
    }
}

/// A client of the reservation service's HTTP API.
#[derive(Clone)]
pub struct BackendClient {
    base_url: String,
    admin_key: String,
    http: reqwest::Client,
    /// Room for buyer calls in flight.
    in_flight: std::sync::Arc<tokio::sync::Semaphore>,
}

impl BackendClient {
    /// A client of the backend at `base_url` (e.g. `http://127.0.0.1:8081`), using
    /// `admin_key` for its internal API, within `limits`.
    pub fn new(
        base_url: &str,
        admin_key: &str,
        limits: BackendLimits,
    ) -> Result<Self, BackendError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2).min(limits.timeout))
            .timeout(limits.timeout)
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .map_err(|error| unavailable(error.to_string()))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            admin_key: admin_key.to_owned(),
            http,
            in_flight: std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
        })
    }

    /// Forwards a buyer's call (already checked by the gateway) and returns the answer.
    pub async fn forward(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Forwarded, BackendError> {
        // A slow backend must not collect a queue here: beyond the room, refuse at once.
        let _room = self
            .in_flight
            .try_acquire()
            .map_err(|_| BackendError::Busy)?;
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.base_url))
            .body(body);
        for name in FORWARDED_REQUEST_HEADERS.iter() {
            if let Some(value) = headers.get(name) {
                request = request.header(name, value);
            }
        }
        if let Some(value) = headers.get(IDEMPOTENCY_KEY) {
            request = request.header(IDEMPOTENCY_KEY, value);
        }
        let response = request
            .send()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let body = response
            .bytes()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        if status.is_server_error() {
            return Err(unavailable(format!("backend answered {status}")));
        }
        Ok(Forwarded {
            status,
            content_type,
            body,
        })
    }

    /// Creates an event's sale, or confirms it if the very same one exists; never changes
    /// an existing sale (a different one is refused with 409 `event_exists`).
    pub async fn create_event(
        &self,
        id: &str,
        sale: &SaleSettings,
    ) -> Result<serde_json::Value, BackendError> {
        let url = format!("{}/internal/v1/events/{id}", self.base_url);
        self.admin_call(self.http.post(url).json(sale)).await
    }

    /// Changes some of an event's sale settings.
    pub async fn patch_event(
        &self,
        id: &str,
        patch: &serde_json::Value,
    ) -> Result<serde_json::Value, BackendError> {
        let url = format!("{}/internal/v1/events/{id}", self.base_url);
        self.admin_call(self.http.patch(url).json(patch)).await
    }

    /// Ends a buyer's session at the backend: from now on their access token may only
    /// read their orders, and their unpaid holds are given back. Idempotent.
    pub async fn end_session(&self, event: &str, buyer_id: &str) -> Result<(), BackendError> {
        let url = format!(
            "{}/internal/v1/events/{event}/sessions/{buyer_id}",
            self.base_url
        );
        self.admin_call(self.http.delete(url)).await.map(drop)
    }

    /// An event's sales figures.
    pub async fn sales(&self, id: &str) -> Result<serde_json::Value, BackendError> {
        let url = format!("{}/internal/v1/events/{id}/sales", self.base_url);
        self.admin_call(self.http.get(url)).await
    }

    /// Whether the backend answers its health check.
    pub async fn is_healthy(&self) -> bool {
        let url = format!("{}/healthz", self.base_url);
        matches!(
            self.http.get(url).timeout(Duration::from_secs(1)).send().await,
            Ok(response) if response.status().is_success()
        )
    }

    async fn admin_call(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, BackendError> {
        let response = request
            .bearer_auth(&self.admin_key)
            .send()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        if status.is_server_error() {
            return Err(unavailable(format!("backend answered {status}")));
        }
        if !status.is_success() {
            return Err(BackendError::Rejected {
                status: status.as_u16(),
                body,
            });
        }
        serde_json::from_slice(&body)
            .map_err(|error| unavailable(format!("unreadable answer: {error}")))
    }
}

fn unavailable(detail: String) -> BackendError {
    BackendError::Unavailable { detail }
}
