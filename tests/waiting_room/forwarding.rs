//! What the gateway sends on to the ticketing backend: only paths rebuilt from ids it
//! parsed, and errors that name no internal address.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{ADMIN_KEY, Breakwater};

/// Sends one request with its path exactly as given (no client normalises it).
async fn raw_get(base: &str, path: &str, token: &str) -> anyhow::Result<(u16, String)> {
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Ok((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_paths_are_rebuilt_from_parsed_ids() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let serve = Breakwater::serve(data.path()).await?;
    serve
        .create_event(json!({"id": "gig", "name": "Gig", "admission_rate_per_second": 1000}))
        .await?;
    let line = serve.join("gig").await?;
    let buyer = serve.enter_when_ready("gig", &line).await?;
    for path in [
        r"/api/v1/orders/..\..\..\healthz",
        r"/api/v1/holds/..\..\..\healthz",
        "/api/v1/orders/..%2F..%2F..%2Fhealthz",
        "/api/v1/orders/%2e%2e",
        "/api/v1/holds/x/checkout",
    ] {
        let (status, body) = raw_get(&serve.base, path, &buyer).await?;
        let reached_healthz = body.trim() == "ok";
        anyhow::ensure!(
            !reached_healthz && (status == 404 || status == 405),
            "{path}: {status} {body}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_outage_names_no_internal_address() -> anyhow::Result<()> {
    let redis = breakwater_testkit::redis::RedisServer::start().await?;
    let dead_port = breakwater_testkit::ports::free_port()?;
    let backend_url = format!("http://127.0.0.1:{dead_port}");
    let gateway =
        Breakwater::gateway_with_backend(&redis.url(), "outage", &backend_url, &[]).await?;
    let (status, body) = gateway
        .call(
            Method::POST,
            "/admin/v1/events",
            Some(ADMIN_KEY),
            Some(json!({"id": "gig", "name": "Gig"})),
        )
        .await?;
    anyhow::ensure!(
        status == StatusCode::SERVICE_UNAVAILABLE,
        "create: {status} {body}"
    );
    names_nothing_internal(&body, dead_port)?;

    // A line made straight in the store (its sale could not be opened), so a buyer can
    // be admitted and try to hold.
    crate::support::line_in_store(&redis.url(), "outage", "gig").await?;
    let buyer = gateway.admitted_buyer("gig").await?;
    let (status, body) = gateway
        .call(
            Method::POST,
            "/api/v1/events/gig/holds",
            Some(&buyer),
            Some(json!({"quantity": 1})),
        )
        .await?;
    anyhow::ensure!(
        status == StatusCode::SERVICE_UNAVAILABLE,
        "hold: {status} {body}"
    );
    names_nothing_internal(&body, dead_port)
}

fn names_nothing_internal(body: &Value, port: u16) -> anyhow::Result<()> {
    let text = body.to_string();
    anyhow::ensure!(
        !text.contains("127.0.0.1")
            && !text.contains(&port.to_string())
            && !text.contains("http://"),
        "the error names an internal address: {text}"
    );
    anyhow::ensure!(body["error"] == "backend_unavailable", "{text}");
    Ok(())
}
