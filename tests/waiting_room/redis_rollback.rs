//! Redis comes back from an older dump (a consistent-prefix rollback: what a failover to
//! a lagging replica also does): the line's keys exist, but the last joins are gone and
//! the change log's positions will be handed out again. The gateway notices that the
//! store is behind its replica and rebases the store on it: every buyer keeps their
//! place and order, and no queue number a token carries is handed out again.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::support::{Breakwater, eventually};

/// The buyer a token names: (lineage, number).
fn buyer_of(token: &str) -> (String, String) {
    // bw2.l.<event>.<lineage>.<number>.<millis>.<mac>
    let fields: Vec<&str> = token.split('.').collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_back_from_an_older_dump_is_rebased_and_no_number_is_handed_out_twice()
-> anyhow::Result<()> {
    let mut redis = breakwater_testkit::redis::RedisServer::start().await?;
    let gateway = Breakwater::gateway(&redis.url(), "rollback").await?;
    gateway
        .create_event(json!({
            "id": "rewind", "name": "Rewind", "paused": true,
            "admission_rate_per_second": 2, "max_active_users": 1000,
            "claim_window_seconds": 600,
        }))
        .await?;
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(gateway.join("rewind").await?);
    }
    redis.query(&["SAVE"]).await?;
    for _ in 0..10 {
        let token = gateway.join("rewind").await;
        tokens.push(token.map_err(|error| error.context("a join after SAVE"))?);
    }
    eventually(Duration::from_secs(5), "the replica to see 20", || async {
        let stats = gateway.stats("rewind").await?;
        Ok((stats["joined_total"].as_u64() == Some(20)).then_some(()))
    })
    .await?;

    redis.restart().await?;
    let seq = redis
        .query(&["HGET", "{rollback:rewind}:st", "seq"])
        .await?;
    anyhow::ensure!(
        seq == "10",
        "Redis did not come back from the dump: seq {seq}"
    );

    // Until the gateway has seen the store is behind, joins are refused (503) rather
    // than handed numbers that tokens carry; then the store is rebased.
    eventually(
        Duration::from_secs(10),
        "the store to be rebased",
        || async {
            let rebased = rebases(&gateway).await? == 1;
            let (status, _, body) = gateway.poll("rewind", &tokens[15]).await?;
            Ok((rebased && status == 200 && body["state"] == "waiting").then_some(()))
        },
    )
    .await?;
    for _ in 0..5 {
        let token = gateway.join("rewind").await;
        tokens.push(token.map_err(|error| error.context("a join after the rebase"))?);
    }
    eventually(Duration::from_secs(5), "the replica to see 25", || async {
        let stats = gateway.stats("rewind").await?;
        Ok((stats["joined_total"].as_u64() == Some(25)).then_some(()))
    })
    .await?;
    let mut buyers = HashSet::new();
    let mut last_position = 0;
    for (joined, token) in tokens.iter().enumerate() {
        anyhow::ensure!(
            buyers.insert(buyer_of(token)),
            "buyer {joined} was handed a number another token carries: {:?}",
            buyer_of(token)
        );
        let (status, _, body) = gateway.poll("rewind", token).await?;
        anyhow::ensure!(status == 200, "buyer {joined}: {status} {body}");
        anyhow::ensure!(body["state"] == "waiting", "buyer {joined}: {body}");
        let position = body["position"].as_u64().unwrap_or(0);
        anyhow::ensure!(
            position > last_position,
            "buyer {joined} at {position}, behind one at {last_position}"
        );
        last_position = position;
    }
    anyhow::ensure!(rebases(&gateway).await? == 1, "rebased more than once");

    // The sale resumes in the order people joined.
    gateway
        .http
        .patch(gateway.url("/admin/v1/events/rewind"))
        .bearer_auth(crate::support::ADMIN_KEY)
        .json(&json!({"paused": false}))
        .send()
        .await?;
    eventually(
        Duration::from_secs(10),
        "the first to be admitted",
        || async {
            let (_, _, body) = gateway.poll("rewind", &tokens[0]).await?;
            Ok((body["state"] == "ready").then_some(()))
        },
    )
    .await?;
    Ok(())
}

/// How many times the gateway rebased a line (its `/metrics`).
async fn rebases(gateway: &Breakwater) -> anyhow::Result<u64> {
    let metrics = gateway
        .http
        .get(gateway.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(metrics
        .lines()
        .find_map(|line| line.strip_prefix("breakwater_line_rebases_total "))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0))
}
