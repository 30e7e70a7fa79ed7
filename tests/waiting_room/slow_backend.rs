//! A backend that stops answering: the gateway lets only so many buyer calls wait on it
//! and refuses the rest at once (503 + Retry-After) instead of queueing them, and lets
//! calls through again as the stalled ones time out.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::support::{Breakwater, line_in_store};

/// A backend that accepts connections, reads each request and never answers; it
/// reports the request line of every hold it receives.
async fn stalled_backend() -> anyhow::Result<(String, mpsc::UnboundedReceiver<String>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (holds, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let holds = holds.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                // Read until the peer gives up; answer nothing.
                let mut reported = false;
                while let Ok(read) = stream.read(&mut buffer).await {
                    if read == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buffer[..read]);
                    if !reported
                        && let Some(line) = text.lines().next()
                        && line.contains("/holds")
                    {
                        reported = true;
                        let _ = holds.send(line.to_owned());
                    }
                }
            });
        }
    });
    Ok((url, received))
}

async fn hold(gateway: &Breakwater, buyer: &str) -> anyhow::Result<(StatusCode, Value)> {
    gateway
        .call(
            Method::POST,
            "/api/v1/events/gig/holds",
            Some(buyer),
            Some(json!({"quantity": 1})),
        )
        .await
}

async fn next_hold(received: &mut mpsc::UnboundedReceiver<String>) -> anyhow::Result<String> {
    tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the stalled backend stopped"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_backend_gets_a_bounded_queue_and_the_rest_are_refused_at_once()
-> anyhow::Result<()> {
    let redis = breakwater_testkit::redis::RedisServer::start().await?;
    let (backend_url, mut received) = stalled_backend().await?;
    let gateway = Breakwater::gateway_with_backend(
        &redis.url(),
        "stalled",
        &backend_url,
        &[
            ("BREAKWATER_BACKEND_MAX_IN_FLIGHT", "2"),
            ("BREAKWATER_BACKEND_TIMEOUT_MS", "1500"),
        ],
    )
    .await?;
    line_in_store(&redis.url(), "stalled", "gig").await?;
    let buyer = gateway.admitted_buyer("gig").await?;

    // Two holds fill the room and wait on the backend...
    let gateway = std::sync::Arc::new(gateway);
    let stalled: Vec<_> = (0..2)
        .map(|_| {
            let (gateway, buyer) = (gateway.clone(), buyer.clone());
            tokio::spawn(async move { hold(&gateway, &buyer).await })
        })
        .collect();
    for _ in 0..2 {
        next_hold(&mut received).await?;
    }

    // ...so a third is refused at once, and says when to come back.
    let response = gateway
        .http
        .post(gateway.url("/api/v1/events/gig/holds"))
        .bearer_auth(&buyer)
        .header("idempotency-key", "third-hold")
        .json(&json!({"quantity": 1}))
        .send()
        .await?;
    let status = response.status();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await?;
    anyhow::ensure!(
        status == StatusCode::SERVICE_UNAVAILABLE && body["error"] == "backend_busy",
        "third hold: {status} {body}"
    );
    anyhow::ensure!(retry_after.is_some(), "no Retry-After on {body}");
    anyhow::ensure!(
        stalled.iter().all(|call| !call.is_finished()),
        "the refusal waited for the stalled calls"
    );
    anyhow::ensure!(
        received.try_recv().is_err(),
        "the third hold reached the backend"
    );

    // The stalled calls time out as unavailable; then calls go through again.
    for call in stalled {
        let (status, body) = call.await??;
        anyhow::ensure!(
            status == StatusCode::SERVICE_UNAVAILABLE && body["error"] == "backend_unavailable",
            "stalled hold: {status} {body}"
        );
    }
    let (status, body) = hold(&gateway, &buyer).await?;
    next_hold(&mut received).await?;
    anyhow::ensure!(
        status == StatusCode::SERVICE_UNAVAILABLE && body["error"] == "backend_unavailable",
        "hold after the timeouts: {status} {body}"
    );
    Ok(())
}
