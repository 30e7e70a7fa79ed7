//! `breakwater serve` is killed and restarted: every buyer who polls again keeps their
//! place and order (their signed token is the proof), and new buyers join behind them.

use std::time::Duration;

use serde_json::json;

use crate::support::{Breakwater, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_keep_their_places_across_a_crash_of_serve() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut serve = Breakwater::serve(data.path()).await?;
    serve
        .create_event(json!({"id": "gig", "name": "Gig", "paused": true}))
        .await?;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(serve.join("gig").await?);
    }
    serve.kill();
    drop(serve);

    let serve = Breakwater::serve(data.path()).await?;
    let positions = eventually(Duration::from_secs(10), "places to come back", || async {
        let mut positions = Vec::new();
        for token in &tokens {
            let (status, _, body) = serve.poll("gig", token).await?;
            anyhow::ensure!(status == 200, "poll after restart: {status} {body}");
            positions.push(body["position"].as_u64());
        }
        let expected: Vec<Option<u64>> = (1..=6).map(Some).collect();
        Ok((positions == expected).then_some(positions))
    })
    .await?;
    anyhow::ensure!(positions.len() == 6);
    let late = serve.join("gig").await?;
    eventually(
        Duration::from_secs(5),
        "the new buyer behind everyone",
        || async {
            let (_, _, body) = serve.poll("gig", &late).await?;
            Ok((body["position"] == 7).then_some(()))
        },
    )
    .await?;
    Ok(())
}

/// What each buyer became survives a crash: who entered cannot enter again and still
/// shops; who left stays gone; who finished stays finished; who was ready stays ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entered_and_departed_buyers_stay_so_across_a_crash_of_serve() -> anyhow::Result<()> {
    use reqwest::{Method, StatusCode};

    let data = tempfile::tempdir()?;
    let mut serve = Breakwater::serve(data.path()).await?;
    serve
        .create_event(json!({
            "id": "gig", "name": "Gig", "paused": true,
            "admission_rate_per_second": 1000, "claim_window_seconds": 600,
        }))
        .await?;
    let [shopper, finisher, waiter, ready]: [String; 4] = [
        serve.join("gig").await?,
        serve.join("gig").await?,
        serve.join("gig").await?,
        serve.join("gig").await?,
    ];
    let (status, _) = serve
        .call(
            Method::DELETE,
            "/api/v1/events/gig/queue",
            Some(&waiter),
            None,
        )
        .await?;
    anyhow::ensure!(status == StatusCode::NO_CONTENT);
    serve.patch_event("gig", json!({"paused": false})).await?;
    let shopping = serve.enter_when_ready("gig", &shopper).await?;
    let finished = serve.enter_when_ready("gig", &finisher).await?;
    let (status, _) = serve
        .call(
            Method::DELETE,
            "/api/v1/events/gig/queue",
            Some(&finished),
            None,
        )
        .await?;
    anyhow::ensure!(status == StatusCode::NO_CONTENT);
    eventually(Duration::from_secs(10), "the last buyer's turn", || async {
        let (_, _, body) = serve.poll("gig", &ready).await?;
        Ok((body["state"] == "ready").then_some(()))
    })
    .await?;
    serve.kill();
    drop(serve);

    let serve = Breakwater::serve(data.path()).await?;
    let enter = |token: String| {
        let serve = &serve;
        async move {
            serve
                .call(
                    Method::POST,
                    "/api/v1/events/gig/queue/enter",
                    Some(&token),
                    None,
                )
                .await
        }
    };
    for (who, token) in [("the shopper", &shopper), ("the finisher", &finisher)] {
        let (status, body) = enter(token.clone()).await?;
        anyhow::ensure!(
            status == StatusCode::CONFLICT && body["error"] == "already_entered",
            "{who} entered again after the restart: {status} {body}"
        );
    }
    let (status, body) = enter(waiter.clone()).await?;
    anyhow::ensure!(
        status == StatusCode::GONE,
        "the buyer who left came back: {status} {body}"
    );
    let hold = |token: String| {
        let serve = &serve;
        async move {
            serve
                .call(
                    Method::POST,
                    "/api/v1/events/gig/holds",
                    Some(&token),
                    Some(json!({"quantity": 1})),
                )
                .await
        }
    };
    let (status, body) = hold(shopping).await?;
    anyhow::ensure!(
        status == StatusCode::CREATED,
        "the shopper's session: {status} {body}"
    );
    let (status, body) = hold(finished).await?;
    anyhow::ensure!(
        status == StatusCode::FORBIDDEN && body["error"] == "session_ended",
        "the finished session came back: {status} {body}"
    );
    let (_, _, body) = serve.poll("gig", &ready).await?;
    anyhow::ensure!(body["state"] == "ready", "the ready buyer: {body}");
    let (status, body) = enter(ready).await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "the ready buyer could not enter: {status} {body}"
    );
    Ok(())
}

/// `serve` loses its line state (its file deleted) and starts the line again from
/// nothing: the new buyer #0 is not the old buyer #0 — not their orders, not their ticket
/// count — and the old tokens are refused rather than taken for the new buyer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_started_afresh_never_hands_out_an_old_identity() -> anyhow::Result<()> {
    use reqwest::{Method, StatusCode};

    let data = tempfile::tempdir()?;
    let event = json!({
        "id": "gig", "name": "Gig", "admission_rate_per_second": 1000,
        "ticket_limit_per_buyer": 2,
    });
    let mut serve = Breakwater::serve(data.path()).await?;
    serve.create_event(event.clone()).await?;
    let old_line = serve.join("gig").await?;
    let old = serve.enter_when_ready("gig", &old_line).await?;
    let (status, held) = serve
        .call(
            Method::POST,
            "/api/v1/events/gig/holds",
            Some(&old),
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
            Some(&old),
            Some(json!({"payment_method": "sandbox:approve"})),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {order}");
    serve.kill();
    drop(serve);
    for entry in std::fs::read_dir(data.path())? {
        let path = entry?.path();
        if path.to_string_lossy().contains("line-state") {
            std::fs::remove_file(path)?;
        }
    }

    let serve = Breakwater::serve(data.path()).await?;
    serve.create_event(event).await?;
    let new_line = serve.join("gig").await?;
    let number = |token: &str| token.split('.').nth(4).map(str::to_owned);
    anyhow::ensure!(
        number(&new_line) == number(&old_line),
        "numbers start again from 0"
    );
    let new = serve.enter_when_ready("gig", &new_line).await?;
    let (status, orders) = serve
        .call(Method::GET, "/api/v1/orders", Some(&new), None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK && orders["orders"] == json!([]),
        "the new buyer sees someone's orders: {orders}"
    );
    let (status, held) = serve
        .call(
            Method::POST,
            "/api/v1/events/gig/holds",
            Some(&new),
            Some(json!({"quantity": 2})),
        )
        .await?;
    anyhow::ensure!(
        status == StatusCode::CREATED,
        "the new buyer inherited a ticket count: {status} {held}"
    );
    let (status, orders) = serve
        .call(Method::GET, "/api/v1/orders", Some(&old), None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK && orders["orders"].as_array().map(Vec::len) == Some(1),
        "the old buyer's own orders: {status} {orders}"
    );
    let (status, body) = serve
        .call(
            Method::POST,
            "/api/v1/events/gig/holds",
            Some(&old),
            Some(json!({"quantity": 1})),
        )
        .await?;
    anyhow::ensure!(
        status == StatusCode::FORBIDDEN,
        "the old session bought on: {status} {body}"
    );
    let (_, _, body) = serve.poll("gig", &old_line).await?;
    anyhow::ensure!(
        body["state"] == "expired",
        "the old place came back: {body}"
    );
    Ok(())
}
