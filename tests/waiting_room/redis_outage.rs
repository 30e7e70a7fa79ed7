//! Redis goes away under a running gateway: polls get 503 with Retry-After and nobody is
//! admitted; when Redis comes back empty, the gateway restores the line and everyone
//! keeps their place and order.

use std::time::Duration;

use serde_json::json;

use crate::support::{Breakwater, eventually};

fn number_of(token: &str) -> u64 {
    token
        .split('.')
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_fails_closed_and_recovers_when_redis_returns_empty() -> anyhow::Result<()> {
    let mut redis = breakwater_testkit::redis::RedisServer::start().await?;
    let gateway = Breakwater::gateway(&redis.url(), "outage").await?;
    gateway
        .create_event(json!({
            "id": "storm", "name": "Storm",
            "admission_rate_per_second": 2, "max_active_users": 1000,
            "claim_window_seconds": 600,
        }))
        .await?;
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(gateway.join("storm").await?);
    }
    eventually(Duration::from_secs(5), "the first admission", || async {
        let stats = gateway.stats("storm").await?;
        Ok((stats["admitted_total"].as_u64() >= Some(1)).then_some(()))
    })
    .await?;

    redis.kill();
    let (retry_after, _) = eventually(Duration::from_secs(10), "polls to fail closed", || async {
        let (status, retry_after, body) = gateway.poll("storm", &tokens[10]).await?;
        Ok((status == 503).then_some((retry_after, body)))
    })
    .await?;
    anyhow::ensure!(retry_after.is_some(), "503 without Retry-After");
    let frozen = gateway.stats("storm").await?["admitted_total"].as_u64();
    tokio::time::sleep(Duration::from_secs(2)).await; // the behaviour under test is time passing
    anyhow::ensure!(
        gateway.stats("storm").await?["admitted_total"].as_u64() == frozen,
        "admitted while Redis was down"
    );
    let health = gateway.http.get(gateway.url("/healthz")).send().await?;
    anyhow::ensure!(health.status() == 200, "the gateway died");
    let ready = gateway.http.get(gateway.url("/readyz")).send().await?;
    anyhow::ensure!(ready.status() == 503, "ready without Redis");

    redis.restart().await?;
    eventually(
        Duration::from_secs(15),
        "polls to succeed again",
        || async {
            let (status, _, _) = gateway.poll("storm", &tokens[10]).await?;
            Ok((status == 200).then_some(()))
        },
    )
    .await?;
    // Everyone still waiting keeps their order; a new buyer joins behind all of them.
    let late = gateway.join("storm").await?;
    let mut last_position = 0;
    let mut waiting = 0;
    for token in tokens.iter().chain(std::iter::once(&late)) {
        let (status, _, body) = gateway.poll("storm", token).await?;
        anyhow::ensure!(status == 200, "poll after recovery: {status} {body}");
        if body["state"] == "waiting" {
            let position = body["position"].as_u64().unwrap_or(0);
            anyhow::ensure!(
                position > last_position,
                "buyer {} at {position} after {last_position}",
                number_of(token)
            );
            last_position = position;
            waiting += 1;
        } else {
            anyhow::ensure!(body["state"] == "ready", "buyer lost: {body}");
        }
    }
    anyhow::ensure!(waiting >= 2, "too few still waiting to check the order");
    eventually(Duration::from_secs(10), "admissions to resume", || async {
        let stats = gateway.stats("storm").await?;
        Ok((stats["admitted_total"].as_u64() > frozen).then_some(()))
    })
    .await?;
    Ok(())
}
