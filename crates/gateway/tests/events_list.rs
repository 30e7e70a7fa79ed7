//! `GET /api/v1/events`: the public list shows open, paused and upcoming events, soonest
//! opening first, and never a closed one.

use std::sync::Arc;

use breakwater_gateway::{AdminKey, ClientLimits, GatewayParts, GatewayState};
use breakwater_line::SystemClock;
use breakwater_line_store::EmbeddedLineStore;
use breakwater_tokens::TokenKeys;
use breakwater_waitroom::{Waitroom, WaitroomConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "admin-key-for-the-list-tests";

#[tokio::test]
async fn lists_open_and_upcoming_events_only() -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let _guard = shutdown.clone().drop_guard();
    let room = Waitroom::new(
        Arc::new(EmbeddedLineStore::in_memory()),
        TokenKeys::new(b"token secret for the list tests"),
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
        client_limits: ClientLimits::unlimited(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = breakwater_gateway::router(state);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    let http = Client::new();
    for body in [
        json!({"id": "later", "name": "Later", "opens_at": "2099-01-01T00:00:00Z"}),
        json!({"id": "now", "name": "Now"}),
        json!({"id": "over", "name": "Over"}),
    ] {
        let created = http
            .post(format!("{base}/admin/v1/events"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await?;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let closed = http
        .patch(format!("{base}/admin/v1/events/over"))
        .bearer_auth(ADMIN)
        .json(&json!({"closed": true}))
        .send()
        .await?;
    assert_eq!(closed.status(), StatusCode::OK);

    let listed = http.get(format!("{base}/api/v1/events")).send().await?;
    assert_eq!(listed.status(), StatusCode::OK);
    let events: Vec<Value> = listed.json().await?;
    let ids: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, ["now", "later"]);
    assert_eq!(events[0]["state"], "open");
    assert_eq!(events[1]["state"], "scheduled");
    assert_eq!(events[1]["opens_at"], "2099-01-01T00:00:00Z");

    let doc: Value = http
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    assert!(doc["paths"]["/api/v1/events"]["get"].is_object());
    Ok(())
}
