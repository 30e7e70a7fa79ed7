//! Three `breakwater gateway` processes on one Redis, buyers polling random gateways:
//! together they admit at exactly the configured rate, in line order.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use rand::Rng;
use serde_json::json;

use crate::support::{Breakwater, eventually};

const RATE: f64 = 50.0;
const BUYERS: usize = 1_400;
const CLAIM_SECONDS: u64 = 600;
const RUN: Duration = Duration::from_secs(24);

fn number_of(token: &str) -> u64 {
    // bw2.l.<event>.<lineage>.<number>.<millis>.<mac>
    token
        .split('.')
        .nth(4)
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

fn unix_ms(rfc3339: &str) -> Option<u64> {
    let at = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_admit_at_the_configured_rate_together() -> anyhow::Result<()> {
    let redis = breakwater_testkit::redis::RedisServer::start().await?;
    let mut gateways = Vec::new();
    for _ in 0..3 {
        gateways.push(Breakwater::gateway(&redis.url(), "multi").await?);
    }
    gateways[0]
        .create_event(json!({
            "id": "rush", "name": "Rush",
            "admission_rate_per_second": RATE,
            "max_active_users": 1_000_000,
            "claim_window_seconds": CLAIM_SECONDS,
            "heartbeat_timeout_seconds": 120,
            "paused": true,
        }))
        .await?;
    for gateway in &gateways {
        eventually(
            Duration::from_secs(10),
            "every gateway to know the event",
            || async {
                let response = gateway
                    .http
                    .get(gateway.url("/api/v1/events/rush"))
                    .send()
                    .await?;
                Ok(response.status().is_success().then_some(()))
            },
        )
        .await?;
    }

    let pick = || rand::rng().random_range(0..3usize);
    let tokens: Vec<String> = stream::iter(0..BUYERS)
        .map(|_| {
            let gateway = &gateways[pick()];
            async move { gateway.join("rush").await }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;

    gateways[1]
        .patch_event("rush", json!({"paused": false}))
        .await?;
    let started = Instant::now();
    // Admission time of each buyer, read from the deadline the pacer gave them.
    let mut admitted: Vec<Option<u64>> = vec![None; tokens.len()];
    while started.elapsed() < RUN {
        let waiting: Vec<usize> = (0..tokens.len())
            .filter(|&i| admitted[i].is_none())
            .collect();
        let seen: Vec<(usize, Option<u64>)> = stream::iter(waiting)
            .map(|i| {
                let gateway = &gateways[pick()];
                let token = &tokens[i];
                async move {
                    let (status, _, body) = gateway.poll("rush", token).await?;
                    anyhow::ensure!(status.is_success(), "poll: {status} {body}");
                    let admitted_at = body["enter_by"]
                        .as_str()
                        .and_then(unix_ms)
                        .map(|deadline| deadline - CLAIM_SECONDS * 1000);
                    Ok((i, admitted_at))
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<_>>()?;
        for (i, at) in seen {
            admitted[i] = admitted[i].or(at);
        }
    }

    let mut times: Vec<(u64, u64)> = admitted
        .iter()
        .zip(&tokens)
        .filter_map(|(at, token)| at.map(|at| (at, number_of(token))))
        .collect();
    times.sort_unstable();
    anyhow::ensure!(times.len() > 800, "only {} admitted", times.len());
    // Line order: nobody is admitted before someone who joined ahead of them.
    let out_of_order = times
        .windows(2)
        .filter(|pair| pair[0].0 < pair[1].0 && pair[0].1 > pair[1].1)
        .count();
    anyhow::ensure!(
        out_of_order == 0,
        "{out_of_order} admissions out of line order"
    );
    // The rate over the run, leaving out the first second (the pacer's start-up burst
    // is bounded by its tolerance, not by the rate).
    let first = times[0].0 + 1_000;
    let steady: Vec<u64> = times
        .iter()
        .map(|&(at, _)| at)
        .filter(|&at| at >= first)
        .collect();
    let span_s = (steady[steady.len() - 1] - steady[0]) as f64 / 1000.0;
    let measured = (steady.len() - 1) as f64 / span_s;
    let error = (measured - RATE).abs() / RATE;
    eprintln!(
        "admitted {} over {span_s:.2} s: {measured:.2}/s against {RATE}/s ({:.2} % off)",
        steady.len(),
        error * 100.0
    );
    anyhow::ensure!(
        error <= 0.02,
        "rate {measured:.2}/s is more than 2 % off {RATE}/s"
    );
    // Every gateway's replica catches up with what buyers saw.
    for gateway in &gateways {
        eventually(
            Duration::from_secs(3),
            "every replica to catch up",
            || async {
                let total = gateway.stats("rush").await?["admitted_total"].as_u64();
                Ok((total >= Some(times.len() as u64)).then_some(()))
            },
        )
        .await?;
    }
    Ok(())
}
