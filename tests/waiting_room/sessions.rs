//! An entered buyer's session on `serve` ends when they leave or their order is
//! confirmed; from then on their access token only reads their orders, and the slot goes
//! to the next in line.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::Breakwater;

fn small_event(id: &str) -> serde_json::Value {
    json!({
        "id": id, "name": id,
        "admission_rate_per_second": 1000,
        "ticket_limit_per_buyer": 4,
        "venue": {"sections": [{"name": "Hall", "price_cents": 5000, "rows": 4, "seats_per_row": 10}]},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_reads_its_orders_and_buys_nothing_more() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let serve = Breakwater::serve(data.path()).await?;
    serve.create_event(small_event("gig")).await?;
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

    // A buyer whose order is confirmed.
    let line = serve.join("gig").await?;
    let buyer = serve.enter_when_ready("gig", &line).await?;
    let (status, held) = hold(buyer.clone()).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "hold: {status} {held}");
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
    anyhow::ensure!(status == StatusCode::CREATED, "checkout: {status} {order}");
    let (status, body) = hold(buyer.clone()).await?;
    anyhow::ensure!(
        status == StatusCode::FORBIDDEN && body["error"] == "session_ended",
        "a hold after the confirmed order: {status} {body}"
    );
    let (status, orders) = serve
        .call(Method::GET, "/api/v1/orders", Some(&buyer), None)
        .await?;
    anyhow::ensure!(status == StatusCode::OK, "orders: {status} {orders}");
    anyhow::ensure!(
        orders["orders"].as_array().map(Vec::len) == Some(1),
        "{orders}"
    );

    // A buyer who leaves with a hold in hand.
    let line = serve.join("gig").await?;
    let leaver = serve.enter_when_ready("gig", &line).await?;
    let (status, held) = hold(leaver.clone()).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "hold: {status} {held}");
    let hold_path = format!("/api/v1/holds/{}", held["id"].as_str().unwrap_or_default());
    let (status, body) = serve
        .call(
            Method::DELETE,
            "/api/v1/events/gig/queue",
            Some(&leaver),
            None,
        )
        .await?;
    anyhow::ensure!(status == StatusCode::NO_CONTENT, "leave: {status} {body}");
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/events/gig/holds".to_owned(),
            Some(json!({"quantity": 1})),
        ),
        (
            Method::POST,
            format!("{hold_path}/checkout"),
            Some(json!({"payment_method": "sandbox:approve"})),
        ),
    ] {
        let (status, answer) = serve
            .call(method.clone(), &path, Some(&leaver), body)
            .await?;
        anyhow::ensure!(
            status == StatusCode::FORBIDDEN && answer["error"] == "session_ended",
            "{method} {path} after leaving: {status} {answer}"
        );
    }
    let (status, shown) = serve
        .call(Method::GET, &hold_path, Some(&leaver), None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "reading the hold: {status} {shown}"
    );
    anyhow::ensure!(
        shown["status"] == "released",
        "the left hold kept its seats: {shown}"
    );
    // Cancelling only gives seats back, so it is answered for what the hold is.
    let (status, cancelled) = serve
        .call(Method::DELETE, &hold_path, Some(&leaver), None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK && cancelled["status"] == "released",
        "cancelling the left hold: {status} {cancelled}"
    );
    let (status, orders) = serve
        .call(Method::GET, "/api/v1/orders", Some(&leaver), None)
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK && orders["orders"] == json!([]),
        "{status} {orders}"
    );
    let (_, sales) = serve
        .call(
            Method::GET,
            "/admin/v1/events/gig/sales",
            Some(crate::support::ADMIN_KEY),
            None,
        )
        .await?;
    anyhow::ensure!(sales["held"] == 0 && sales["sold"] == 1, "sales: {sales}");

    // A buyer who entered and then gives up their place with the line token: the session
    // ends all the same.
    let line = serve.join("gig").await?;
    let quitter = serve.enter_when_ready("gig", &line).await?;
    let (status, _) = serve
        .call(
            Method::DELETE,
            "/api/v1/events/gig/queue",
            Some(&line),
            None,
        )
        .await?;
    anyhow::ensure!(status == StatusCode::NO_CONTENT);
    let (status, body) = hold(quitter).await?;
    anyhow::ensure!(
        status == StatusCode::FORBIDDEN && body["error"] == "session_ended",
        "a hold after leaving with the line token: {status} {body}"
    );
    Ok(())
}
