//! The per-client limits as an operator sets them: from the environment, through a
//! trusted proxy.

use reqwest::StatusCode;

use crate::support::Breakwater;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_past_its_joins_is_refused_and_the_next_client_is_not() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let serve = Breakwater::serve_with(
        data.path(),
        &[
            ("BREAKWATER_CLIENTS__JOINS_PER_MINUTE", "2"),
            ("BREAKWATER_CLIENTS__JOIN_BURST", "2"),
            ("BREAKWATER_CLIENTS__TRUSTED_PROXIES", r#"["127.0.0.1/32"]"#),
        ],
    )
    .await?;
    let join_as = |client: &'static str| {
        serve
            .http
            .post(serve.url("/api/v1/events/demo/queue"))
            .header("x-forwarded-for", client)
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(join_as("198.51.100.7").await?.status());
    }
    statuses.push(join_as("198.51.100.8").await?.status());
    anyhow::ensure!(
        statuses
            == [
                StatusCode::CREATED,
                StatusCode::CREATED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::CREATED,
            ],
        "{statuses:?}"
    );
    Ok(())
}
