//! The gateway's HTTP API on a real socket, over the embedded store: status codes, bodies
//! and error shapes as PRODUCT.md gives them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use breakwater_gateway::{AdminKey, ClientLimits, GatewayParts, GatewayState};
use breakwater_line::SystemClock;
use breakwater_line_store::EmbeddedLineStore;
use breakwater_tokens::{LineToken, TokenKeys};
use breakwater_waitroom::{Waitroom, WaitroomConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "admin-key-for-the-api-tests";
const SECRET: &[u8] = b"token secret for the api tests";

struct Gateway {
    base: String,
    http: Client,
    _shutdown: tokio_util::sync::DropGuard,
}

impl Gateway {
    async fn start() -> anyhow::Result<Self> {
        Self::start_with(ClientLimits::unlimited()).await
    }

    async fn start_with(client_limits: ClientLimits) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let room = Waitroom::new(
            Arc::new(EmbeddedLineStore::in_memory()),
            TokenKeys::new(SECRET),
            Arc::new(SystemClock),
            WaitroomConfig::embedded(),
        )
        .await;
        room.spawn_background(shutdown.clone());
        let state = GatewayState::new(GatewayParts {
            room,
            backend: None,
            admin_key: AdminKey::new(ADMIN),
            metrics: None,
            client_limits,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let router = breakwater_gateway::router(state);
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        });
        Ok(Self {
            base,
            http: Client::new(),
            _shutdown: shutdown.drop_guard(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn create(&self, body: Value) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .post(self.url("/admin/v1/events"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await?)
    }

    async fn join(&self, event: &str) -> anyhow::Result<(StatusCode, Value)> {
        let response = self
            .http
            .post(self.url(&format!("/api/v1/events/{event}/queue")))
            .send()
            .await?;
        Ok((response.status(), response.json().await?))
    }

    async fn status(&self, event: &str, token: &str) -> anyhow::Result<(StatusCode, Value)> {
        let response = self
            .http
            .get(self.url(&format!("/api/v1/events/{event}/queue")))
            .bearer_auth(token)
            .send()
            .await?;
        Ok((response.status(), response.json().await?))
    }

    async fn enter(&self, event: &str, token: &str) -> anyhow::Result<(StatusCode, Value)> {
        let response = self
            .http
            .post(self.url(&format!("/api/v1/events/{event}/queue/enter")))
            .bearer_auth(token)
            .send()
            .await?;
        Ok((response.status(), response.json().await?))
    }

    /// Polls until the buyer is ready (the pacer runs in the background).
    async fn until_ready(&self, event: &str, token: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, body) = self.status(event, token).await?;
            anyhow::ensure!(status == StatusCode::OK, "{status} {body}");
            if body["state"] == "ready" {
                return Ok(body);
            }
            anyhow::ensure!(Instant::now() < deadline, "never ready: {body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn error_code(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn join_poll_enter_leave_follow_the_contract() -> anyhow::Result<()> {
    let gateway = Gateway::start().await?;
    let created = gateway
        .create(json!({"id": "show", "name": "Show", "admission_rate_per_second": 1000}))
        .await?;
    assert_eq!(created.status(), StatusCode::CREATED);

    let response = gateway
        .http
        .post(gateway.url("/api/v1/events/show/queue"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("bw_line_show="), "{cookie}");
    let joined: Value = response.json().await?;
    let token = joined["token"].as_str().unwrap_or_default().to_owned();
    assert!(
        joined["state"] == "waiting" || joined["state"] == "ready",
        "{joined}"
    );
    assert!(joined["poll_after_ms"].as_u64().is_some());

    let ready = gateway.until_ready("show", &token).await?;
    assert!(ready["enter_by"].as_str().is_some(), "{ready}");

    // The cookie works as well as the header.
    let by_cookie = gateway
        .http
        .get(gateway.url("/api/v1/events/show/queue"))
        .header("cookie", cookie.split(';').next().unwrap_or_default())
        .send()
        .await?;
    assert_eq!(by_cookie.status(), StatusCode::OK);

    let (status, entered) = gateway.enter("show", &token).await?;
    assert_eq!(status, StatusCode::OK, "{entered}");
    assert!(entered["access_token"].as_str().is_some());
    assert!(entered["expires_at"].as_str().is_some());

    let (status, again) = gateway.enter("show", &token).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&again), "already_entered");
    assert_eq!(again["state"], "entered");

    let access = entered["access_token"].as_str().unwrap_or_default();
    let left = gateway
        .http
        .delete(gateway.url("/api/v1/events/show/queue"))
        .bearer_auth(access)
        .send()
        .await?;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    Ok(())
}

#[tokio::test]
async fn enter_before_your_turn_is_409_with_status_and_left_place_is_410() -> anyhow::Result<()> {
    let gateway = Gateway::start().await?;
    gateway
        .create(json!({"id": "slow", "name": "Slow", "paused": true}))
        .await?;
    let (_, first) = gateway.join("slow").await?;
    let token = first["token"].as_str().unwrap_or_default().to_owned();
    let (status, body) = gateway.enter("slow", &token).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "not_ready");
    assert_eq!(body["state"], "waiting");
    assert_eq!(body["position"], 1);

    let left = gateway
        .http
        .delete(gateway.url("/api/v1/events/slow/queue"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, body) = gateway.status("slow", &token).await?;
        if body["state"] == "expired" {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "leave not seen: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = gateway.enter("slow", &token).await?;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(error_code(&body), "place_expired");
    Ok(())
}

#[tokio::test]
async fn bad_tokens_are_refused_with_clear_errors() -> anyhow::Result<()> {
    let gateway = Gateway::start().await?;
    gateway.create(json!({"id": "a", "name": "A"})).await?;
    gateway.create(json!({"id": "b", "name": "B"})).await?;
    let (_, joined) = gateway.join("a").await?;
    let token = joined["token"].as_str().unwrap_or_default();

    let missing = gateway
        .http
        .get(gateway.url("/api/v1/events/a/queue"))
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&missing.json().await?), "missing_token");

    let (status, body) = gateway.status("b", token).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "wrong_event");

    let forged = TokenKeys::new(b"someone else's secret").sign_line(&LineToken {
        event: "a".into(),
        lineage: 1,
        number: 0,
        issued_at_ms: 0,
    });
    let (status, body) = gateway.status("a", &forged).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "invalid_token");

    let (status, body) = gateway.status("a", "garbage").await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "invalid_token");

    // A line token does not open the ticketing API.
    let seats = gateway
        .http
        .get(gateway.url("/api/v1/events/a/seats"))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(seats.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(&seats.json().await?), "wrong_token_kind");
    let orders = gateway
        .http
        .get(gateway.url("/api/v1/orders"))
        .send()
        .await?;
    assert_eq!(orders.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn unknown_events_and_bad_ids_are_4xx() -> anyhow::Result<()> {
    let gateway = Gateway::start().await?;
    let (status, body) = gateway.join("nope").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "unknown_event");
    let (status, body) = gateway.join("Bad.Id").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_path");
    Ok(())
}

#[tokio::test]
async fn admin_api_checks_its_key_and_its_input() -> anyhow::Result<()> {
    let gateway = Gateway::start().await?;
    let anonymous = gateway
        .http
        .post(gateway.url("/admin/v1/events"))
        .json(&json!({"id": "x", "name": "X"}))
        .send()
        .await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = gateway
        .http
        .get(gateway.url("/admin/v1/events"))
        .bearer_auth("not the key")
        .send()
        .await?;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let invalid = gateway
        .create(json!({"id": "x", "name": "X", "admission_rate_per_second": -1}))
        .await?;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = invalid.json().await?;
    assert_eq!(body["field"], "admission_rate_per_second");

    let unknown_field = gateway
        .create(json!({"id": "x", "name": "X", "rate": 5}))
        .await?;
    assert_eq!(unknown_field.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&unknown_field.json().await?), "invalid_json");

    let malformed = gateway
        .http
        .post(gateway.url("/admin/v1/events"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await?;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    let bad_time = gateway
        .create(json!({"id": "x", "name": "X", "opens_at": "tomorrow"}))
        .await?;
    assert_eq!(bad_time.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_time.json::<Value>().await?["field"], "opens_at");

    // Nothing was created by the refused calls.
    let list: Value = gateway
        .http
        .get(gateway.url("/admin/v1/events"))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list, json!([]));

    let created = gateway
        .create(json!({"id": "x", "name": "X", "opens_at": "2030-01-01T00:00:00Z"}))
        .await?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await?;
    assert_eq!(body["state"], "scheduled");
    assert_eq!(body["opens_at"], "2030-01-01T00:00:00Z");
    let duplicate = gateway.create(json!({"id": "x", "name": "X"})).await?;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);

    let patched: Value = gateway
        .http
        .patch(gateway.url("/admin/v1/events/x"))
        .bearer_auth(ADMIN)
        .json(&json!({"paused": true, "admission_rate_per_second": 7.5, "max_active_users": 9}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(patched["paused"], true);
    assert_eq!(patched["admission_rate_per_second"], 7.5);
    assert_eq!(patched["max_active_users"], 9);

    let stats: Value = gateway
        .http
        .get(gateway.url("/admin/v1/events/x/stats"))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .json()
        .await?;
    for field in [
        "waiting",
        "ready",
        "entered",
        "admitted_total",
        "admission_rate_per_second",
    ] {
        assert!(stats.get(field).is_some(), "stats lack {field}: {stats}");
    }
    let info: Value = gateway
        .http
        .get(gateway.url("/api/v1/events/x"))
        .send()
        .await?
        .json()
        .await?;
    for field in ["id", "name", "opens_at", "state", "currency"] {
        assert!(
            info.get(field).is_some(),
            "event info lacks {field}: {info}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn openapi_document_lists_every_route() -> anyhow::Result<()> {
    let gateway = Gateway::start().await?;
    let document: Value = gateway
        .http
        .get(gateway.url("/api/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    for path in [
        "/api/v1/events/{event}/queue",
        "/api/v1/events/{event}/queue/enter",
        "/api/v1/events/{event}",
        "/api/v1/events/{event}/seats",
        "/api/v1/events/{event}/holds",
        "/api/v1/holds/{hold}",
        "/api/v1/holds/{hold}/checkout",
        "/api/v1/orders",
        "/api/v1/orders/{order}",
        "/admin/v1/events",
        "/admin/v1/events/{id}",
        "/admin/v1/events/{id}/stats",
        "/admin/v1/events/{id}/sales",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "openapi lacks {path}");
    }
    let health = gateway.http.get(gateway.url("/healthz")).send().await?;
    assert_eq!(health.status(), StatusCode::OK);
    let ready = gateway.http.get(gateway.url("/readyz")).send().await?;
    assert_eq!(ready.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn one_client_past_its_joins_gets_429_and_takes_no_place() -> anyhow::Result<()> {
    let gateway = Gateway::start_with(ClientLimits {
        joins_per_minute: 3,
        join_burst: 3,
        trusted_proxies: vec!["127.0.0.1/32".parse()?],
        ..ClientLimits::default()
    })
    .await?;
    gateway
        .create(json!({"id": "show", "name": "Show"}))
        .await?
        .error_for_status()?;
    let join_as = |client: &'static str| {
        gateway
            .http
            .post(gateway.url("/api/v1/events/show/queue"))
            .header("x-forwarded-for", client)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(join_as("198.51.100.1").await?.status(), StatusCode::CREATED);
    }
    let refused = join_as("198.51.100.1").await?;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or_default();
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = refused.json().await?;
    assert_eq!(error_code(&body), "too_many_requests", "{body}");

    // Another client behind the same trusted proxy is not affected.
    assert_eq!(join_as("198.51.100.2").await?.status(), StatusCode::CREATED);
    // The stats follow the store a sync later: wait for four places, then there are
    // exactly four.
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let stats: Value = gateway
            .http
            .get(gateway.url("/admin/v1/events/show/stats"))
            .bearer_auth(ADMIN)
            .send()
            .await?
            .json()
            .await?;
        if stats["joined_total"].as_u64() >= Some(4) || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stats["joined_total"], 4, "{stats}");
    Ok(())
}

#[tokio::test]
async fn one_client_polling_past_its_calls_gets_429_and_an_untrusted_forward_changes_nothing()
-> anyhow::Result<()> {
    let gateway = Gateway::start_with(ClientLimits {
        calls_per_second: 1,
        call_burst: 5,
        ..ClientLimits::default()
    })
    .await?;
    gateway
        .create(json!({"id": "show", "name": "Show"}))
        .await?
        .error_for_status()?;
    let (_, joined) = gateway.join("show").await?;
    let token = joined["token"].as_str().unwrap_or_default().to_owned();
    let mut refused = None;
    // Four more calls exhaust the burst of five (the join was the first); each claims
    // another address, which counts for nothing without a trusted proxy.
    for call in 0..10 {
        let response = gateway
            .http
            .get(gateway.url("/api/v1/events/show/queue"))
            .bearer_auth(&token)
            .header("x-forwarded-for", format!("203.0.113.{call}"))
            .send()
            .await?;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(call);
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(refused, Some(4), "the sixth call is the first refused");
    // Operators are not buyers: the admin API is not limited.
    let stats = gateway
        .http
        .get(gateway.url("/admin/v1/events/show/stats"))
        .bearer_auth(ADMIN)
        .send()
        .await?;
    assert_eq!(stats.status(), StatusCode::OK);
    Ok(())
}
