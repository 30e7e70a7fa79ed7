//! Redis fails under a running sale: it freezes (`CLIENT PAUSE`, `DEBUG SLEEP`), or the
//! Redis Cluster master holding the line dies and its replica takes over. While the line
//! cannot be reached, polls get 503 with Retry-After and the gateway stays up; then the
//! gateway recovers by itself, everyone keeps their place and order, and admission
//! resumes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Breakwater, eventually};

/// How long Redis stays frozen: longer than the replica's staleness bound (2 s).
const FROZEN_SECONDS: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_fails_polls_closed_and_the_sale_resumes_with_every_place_kept()
-> anyhow::Result<()> {
    let millis = (FROZEN_SECONDS * 1000).to_string();
    survive_a_frozen_redis("client-pause", &["CLIENT", "PAUSE", &millis, "ALL"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_busy_in_one_long_command_fails_polls_closed_and_the_sale_resumes()
-> anyhow::Result<()> {
    let seconds = FROZEN_SECONDS.to_string();
    survive_a_frozen_redis("debug-sleep", &["DEBUG", "SLEEP", &seconds]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_master_dies_and_its_replica_takes_over_with_every_place_kept()
-> anyhow::Result<()> {
    let mut cluster = breakwater_testkit::redis::RedisCluster::start_with_replicas(3, 1).await?;
    let gateway = Breakwater::gateway_with(
        &cluster.urls().join(","),
        "failover",
        &[("BREAKWATER_REDIS_CLUSTER", "true")],
    )
    .await?;
    let tokens = open_a_sale(&gateway).await?;
    let killed_at = Instant::now();
    let line_key = "{failover:freeze}";
    let old_master = cluster.kill_master_of(line_key).await?;
    let retry_after = eventually(Duration::from_secs(10), "polls to fail closed", || async {
        let (status, retry_after, _) = gateway.poll("freeze", &tokens[10]).await?;
        Ok((status == 503).then_some(retry_after))
    })
    .await?;
    anyhow::ensure!(retry_after.is_some(), "503 without Retry-After");
    let promoted = eventually(
        Duration::from_secs(15),
        "a replica to take over",
        || async {
            Ok(cluster
                .failed_over(line_key, old_master)
                .await
                .then(Instant::now))
        },
    )
    .await?;
    println!(
        "cluster failover: the replica took over {:.1} s after the master died",
        promoted.duration_since(killed_at).as_secs_f64()
    );
    // The promise: back within cluster-node-timeout + 5 s; how long Redis itself takes to
    // promote the replica depends on the machine's load, so the gateway's share is what
    // is bound here: 5 s once the cluster serves every slot again.
    let recovered = eventually(Duration::from_secs(5), "polls to succeed", || async {
        let (status, _, _) = gateway.poll("freeze", &tokens[10]).await?;
        Ok((status == 200).then(Instant::now))
    })
    .await?;
    println!(
        "cluster failover: polls answered again {:.1} s after the master died, {:.1} s after the cluster recovered",
        recovered.duration_since(killed_at).as_secs_f64(),
        recovered.saturating_duration_since(promoted).as_secs_f64()
    );
    sale_resumes_with_every_place_kept(&gateway, &tokens).await
}

/// An event admitting 2 a second with 20 buyers in line, the first admitted.
async fn open_a_sale(gateway: &Breakwater) -> anyhow::Result<Vec<String>> {
    gateway
        .create_event(json!({
            "id": "freeze", "name": "Freeze",
            "admission_rate_per_second": 2, "max_active_users": 1000,
            "claim_window_seconds": 600,
        }))
        .await?;
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(gateway.join("freeze").await?);
    }
    eventually(Duration::from_secs(5), "the first admission", || async {
        let stats = gateway.stats("freeze").await?;
        Ok((stats["admitted_total"].as_u64() >= Some(1)).then_some(()))
    })
    .await?;
    Ok(tokens)
}

async fn survive_a_frozen_redis(name: &str, freeze: &[&str]) -> anyhow::Result<()> {
    let redis = breakwater_testkit::redis::RedisServer::start().await?;
    let gateway = Breakwater::gateway(&redis.url(), name).await?;
    let tokens = open_a_sale(&gateway).await?;

    // `DEBUG SLEEP` answers only when it ends (the test client may give up waiting
    // first; the sleep goes on): freeze from a task of its own, which keeps the server.
    // The polls failing closed below are what shows the freeze took hold.
    let freeze: Vec<String> = freeze.iter().map(|arg| (*arg).to_owned()).collect();
    let freezer = tokio::spawn(async move {
        let args: Vec<&str> = freeze.iter().map(String::as_str).collect();
        let _answer = redis.query(&args).await;
        redis
    });
    let frozen_at = Instant::now();
    let retry_after = eventually(Duration::from_secs(10), "polls to fail closed", || async {
        let (status, retry_after, _) = gateway.poll("freeze", &tokens[10]).await?;
        Ok((status == 503).then_some(retry_after))
    })
    .await?;
    anyhow::ensure!(retry_after.is_some(), "503 without Retry-After");
    let health = gateway.http.get(gateway.url("/healthz")).send().await?;
    anyhow::ensure!(health.status() == 200, "the gateway stopped answering");

    let _redis = freezer.await?;
    let recovered = eventually(Duration::from_secs(15), "polls to succeed", || async {
        let (status, _, _) = gateway.poll("freeze", &tokens[10]).await?;
        Ok((status == 200).then(Instant::now))
    })
    .await?;
    let thawed = frozen_at + Duration::from_secs(FROZEN_SECONDS);
    println!(
        "{name}: polls answered again {:.1} s after Redis did",
        recovered.saturating_duration_since(thawed).as_secs_f64()
    );

    sale_resumes_with_every_place_kept(&gateway, &tokens).await
}

async fn sale_resumes_with_every_place_kept(
    gateway: &Breakwater,
    tokens: &[String],
) -> anyhow::Result<()> {
    // Paused while the places are read one by one, so no admission moves the line
    // between two polls. The pause follows every earlier admission in the change log,
    // so once this gateway's replica shows it, it has seen them all.
    gateway
        .patch_event("freeze", json!({"paused": true}))
        .await?;
    eventually(
        Duration::from_secs(10),
        "the replica to see the pause",
        || async {
            let (_, info) = gateway
                .call(reqwest::Method::GET, "/api/v1/events/freeze", None, None)
                .await?;
            Ok((info["state"] == "paused").then_some(()))
        },
    )
    .await?;
    let admitted = gateway.stats("freeze").await?["admitted_total"]
        .as_u64()
        .unwrap_or(0);
    assert_everyone_kept_their_place(gateway, tokens).await?;
    gateway
        .patch_event("freeze", json!({"paused": false}))
        .await?;
    eventually(Duration::from_secs(10), "admissions to resume", || async {
        let stats = gateway.stats("freeze").await?;
        Ok((stats["admitted_total"].as_u64() > Some(admitted)).then_some(()))
    })
    .await?;
    let health = gateway.http.get(gateway.url("/healthz")).send().await?;
    anyhow::ensure!(health.status() == 200, "the gateway stopped answering");
    Ok(())
}

/// Every buyer is still ready or waiting, and those waiting stand in the order they
/// joined.
async fn assert_everyone_kept_their_place(
    gateway: &Breakwater,
    tokens: &[String],
) -> anyhow::Result<()> {
    let mut last_position = 0;
    let mut waiting = 0;
    for (joined, token) in tokens.iter().enumerate() {
        let (status, _, body): (_, _, Value) = gateway.poll("freeze", token).await?;
        anyhow::ensure!(status == 200, "buyer {joined}: {status} {body}");
        match body["state"].as_str() {
            Some("waiting") => {
                let position = body["position"].as_u64().unwrap_or(0);
                anyhow::ensure!(
                    position > last_position,
                    "buyer {joined} at {position}, behind one at {last_position}"
                );
                last_position = position;
                waiting += 1;
            }
            Some("ready") => {}
            _ => anyhow::bail!("buyer {joined} lost their place: {body}"),
        }
    }
    anyhow::ensure!(waiting >= 5, "too few still waiting to check the order");
    Ok(())
}
