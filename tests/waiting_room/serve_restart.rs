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
