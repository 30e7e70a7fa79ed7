//! Slow and idle clients next to honest ones, against the real `serve`: a client that
//! sends half a header and then nothing, or keeps an idle connection, is cut off after the
//! header timeout, and the honest buyers polling meanwhile see no error.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::Breakwater;

/// How long `serve` waits for a header here (the default is 10 s).
const HEADER_TIMEOUT_MS: u64 = 500;

/// How long the server kept the connection, up to `limit`.
async fn until_closed(mut stream: TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0_u8; 512];
    let closed = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(limit, closed).await;
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_honest_ones_served() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let timeout = HEADER_TIMEOUT_MS.to_string();
    let serve = Breakwater::serve_with(
        data.path(),
        &[("BREAKWATER_HTTP__HEADER_TIMEOUT_MS", &timeout)],
    )
    .await?;
    let address = serve.base.trim_start_matches("http://").to_owned();
    let mut attackers = Vec::new();
    for i in 0..400 {
        let mut stream = TcpStream::connect(&address).await?;
        if i % 2 == 0 {
            // Half a header, then nothing.
            stream
                .write_all(b"GET /api/v1/events/demo HTTP/1.1\r\nHost: x\r\n")
                .await?;
        }
        // The others connect and say nothing at all.
        attackers.push(stream);
    }
    let tokens: Vec<String> = stream::iter(0..50)
        .map(|_| serve.join("demo"))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let mut errors = 0;
    for _ in 0..4 {
        for token in &tokens {
            let (status, _, _) = serve.poll("demo", token).await?;
            if !status.is_success() {
                errors += 1;
            }
        }
    }
    anyhow::ensure!(
        errors == 0,
        "{errors} honest polls failed next to slow clients"
    );
    let limit = Duration::from_millis(HEADER_TIMEOUT_MS * 10);
    let held: Vec<Duration> = stream::iter(attackers)
        .map(|stream| until_closed(stream, limit))
        .buffer_unordered(400)
        .collect()
        .await;
    let longest = held.iter().max().copied().unwrap_or_default();
    anyhow::ensure!(
        longest < limit,
        "a slow client kept its connection for {longest:?} or more"
    );
    Ok(())
}
