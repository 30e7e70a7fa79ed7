//! Contention is not an answer: a hold that inventory could not decide because of
//! concurrent holds gets 503 with `Retry-After`, holds nothing, and is not remembered for
//! its Idempotency-Key, so a retry with the same key tries again.
//!
//! PostgreSQL only: contention is made deterministic by another transaction holding every
//! free seat locked, as concurrent allocators' scans do (SQLite runs one writer at a time
//! and has no row locks to contend on).

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use support::{Engine, Stack, seated_venue};

/// Asks for the best two seats; the status, the `Retry-After` header and the body.
async fn hold(stack: &Stack, token: &str, key: &str) -> (StatusCode, Option<String>, Value) {
    let response = stack
        .http
        .post(format!("{}/api/v1/events/e/holds", stack.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"quantity": 2}))
        .send()
        .await
        .expect("reservation answers");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (status, retry_after, response.json().await.expect("JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_contention_is_a_503_to_retry_not_a_stored_refusal() {
    let stack = Stack::start(Engine::Postgres).await.unwrap();
    stack.open_event("e", seated_venue(1, 1, 4), 4, 300).await;
    let token = stack.token("e", 1);
    let mut locker = PgConnection::connect(&stack.databases.inventory)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    let locked = sqlx::query("SELECT seat_id FROM inv_seats WHERE event_id = 'e' FOR UPDATE")
        .fetch_all(&mut locker)
        .await
        .unwrap();
    assert_eq!(locked.len(), 4);

    for attempt in 1..=2 {
        let started = Instant::now();
        let (status, retry_after, body) = hold(&stack, &token, "k").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("contention")),
            "attempt {attempt}: {body}"
        );
        assert_eq!(retry_after.as_deref(), Some("1"), "attempt {attempt}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered within reservation's deadline for inventory calls"
        );
    }
    assert_eq!(stack.sales("e").await["held"], 0, "nothing is held");

    // The other transaction lets go: the same key now holds, and replays that answer.
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    let (status, _, first) = hold(&stack, &token, "k").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["adjacent"], true);
    let (status, _, replay) = hold(&stack, &token, "k").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first, replay);
    assert_eq!(stack.sales("e").await["held"], 2);
    stack.stop().await.unwrap();
}
