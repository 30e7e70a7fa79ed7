//! The line knows the stock, through `serve` end to end: once the last seats are sold,
//! everyone still in line is told `sold_out` within seconds, and a new join is answered
//! with it instead of a place.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Breakwater, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_in_line_hears_the_event_sold_out() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let serve = Breakwater::serve(data.path()).await?;
    serve
        .create_event(json!({
            "id": "tiny", "name": "Tiny", "admission_rate_per_second": 1000,
            "max_active_users": 1, "ticket_limit_per_buyer": 2,
            "venue": {"sections": [{"name": "Floor", "price_cents": 1000, "capacity": 2}]},
        }))
        .await?;
    let first = serve.join("tiny").await?;
    let second = serve.join("tiny").await?;
    let buyer = serve.enter_when_ready("tiny", &first).await?;
    eventually(Duration::from_secs(10), "a seats-left hint", || async {
        let (_, _, body) = serve.poll("tiny", &second).await?;
        Ok((body["seats_left"] == 1).then_some(()))
    })
    .await?;
    let (status, held) = serve
        .call(
            Method::POST,
            "/api/v1/events/tiny/holds",
            Some(&buyer),
            Some(json!({"quantity": 2})),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {held}");
    let checkout = format!(
        "/api/v1/holds/{}/checkout",
        held["id"].as_str().unwrap_or_default()
    );
    let (status, order) = serve
        .call(
            Method::POST,
            &checkout,
            Some(&buyer),
            Some(json!({"payment_method": "sandbox:approve"})),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {order}");
    let told = eventually(Duration::from_secs(10), "the line to hear it", || async {
        let (_, _, body) = serve.poll("tiny", &second).await?;
        Ok((body["state"] == "sold_out").then_some(body))
    })
    .await?;
    anyhow::ensure!(
        told["seats_left"] == 0 && told.get("position").is_none(),
        "{told}"
    );
    let (status, joined) = serve
        .call(Method::POST, "/api/v1/events/tiny/queue", None, None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK && joined["state"] == "sold_out" && joined.get("token").is_none(),
        "a join after the sell-out: {status} {joined}"
    );
    let (_, stats) = serve
        .call(
            Method::GET,
            "/admin/v1/events/tiny/stats",
            Some(crate::support::ADMIN_KEY),
            None,
        )
        .await?;
    anyhow::ensure!(stats["sold_out"] == true, "{stats}");
    Ok(())
}
