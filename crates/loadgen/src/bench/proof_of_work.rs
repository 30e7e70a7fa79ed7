//! Benchmark 8, proof of work at join: what checking a proof costs the gateway, and what
//! solving one costs a client at each difficulty (native code on one core, as a bot would
//! run it; the page's JavaScript is slower, so a browser pays more per bit).

use std::time::{Duration, Instant};

use breakwater_tokens::{TokenKeys, solve};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::{BenchOptions, round, sane};
use crate::chart::{Scales, Series, xy_chart};

/// Difficulty at which a native client spends at least this long per place.
const BOT_CPU_SECONDS: f64 = 1.0;

/// Runs the benchmark and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let keys = TokenKeys::new(TokenKeys::generate_secret().as_bytes());
    let verify = tokio::task::spawn_blocking({
        let keys = keys.clone();
        let checks = if options.quick { 2_000 } else { 50_000 };
        move || verification_cost(&keys, checks)
    })
    .await??;
    let (bits, per_bits): (Vec<u8>, usize) = if options.quick {
        ((8..=14).step_by(2).collect(), 4)
    } else {
        ((12..=22).step_by(2).collect(), 8)
    };
    let solving = tokio::task::spawn_blocking(move || solve_times(&keys, &bits, per_bits)).await?;
    let hashes_per_second =
        solving.iter().map(|row| row.hashes_per_second).sum::<f64>() / solving.len().max(1) as f64;
    sane(hashes_per_second > 0.0, "no hash rate")?;
    // Expected hashes for `b` bits are 2^b: the first difficulty costing a bot a second.
    let bot_bits = (0u8..=40)
        .find(|bits| 2f64.powi(i32::from(*bits)) / hashes_per_second >= BOT_CPU_SECONDS)
        .unwrap_or(40);
    chart(options, &solving)?;
    Ok(json!({
        "verify_us_p50": verify.0,
        "verify_us_p99": verify.1,
        "verifications": verify.2,
        "native_hashes_per_second": round(hashes_per_second, 0),
        "bits_for_one_cpu_second_native": bot_bits,
        "solve": solving.iter().map(SolveRow::to_json).collect::<Vec<_>>(),
        "chart": "proof-of-work-solve.svg",
    }))
}

/// Microseconds per check (p50, p99) over `checks` proofs, each a different challenge.
fn verification_cost(keys: &TokenKeys, checks: usize) -> anyhow::Result<(f64, f64, usize)> {
    let now = now_ms();
    let proofs: Vec<String> = (0..checks)
        .map(|_| solve(&keys.issue_challenge("bench", 4, now).text, 4))
        .collect();
    let mut nanos = Histogram::<u64>::new(3)?;
    for proof in &proofs {
        let started = Instant::now();
        let accepted = keys.check_proof(proof, "bench", 4, now);
        nanos.record(started.elapsed().as_nanos() as u64)?;
        sane(accepted.is_ok(), "a solved proof was refused")?;
    }
    let us = |quantile| round(nanos.value_at_quantile(quantile) as f64 / 1000.0, 2);
    Ok((us(0.5), us(0.99), checks))
}

struct SolveRow {
    bits: u8,
    mean_seconds: f64,
    max_seconds: f64,
    hashes_per_second: f64,
}

impl SolveRow {
    fn to_json(&self) -> Value {
        json!({
            "bits": self.bits,
            "mean_seconds": round(self.mean_seconds, 4),
            "max_seconds": round(self.max_seconds, 4),
            "hashes_per_second": round(self.hashes_per_second, 0),
        })
    }
}

/// Solves `per_bits` fresh challenges at each difficulty.
fn solve_times(keys: &TokenKeys, bits: &[u8], per_bits: usize) -> Vec<SolveRow> {
    bits.iter()
        .map(|&bits| {
            let mut total = Duration::ZERO;
            let mut max = Duration::ZERO;
            let mut hashes = 0u64;
            for _ in 0..per_bits {
                let challenge = keys.issue_challenge("bench", bits, now_ms());
                let started = Instant::now();
                let proof = solve(&challenge.text, bits);
                let took = started.elapsed();
                total += took;
                max = max.max(took);
                // The answer is the number of hashes tried, less one.
                let answer = proof.rsplit('.').next().and_then(|n| n.parse::<u64>().ok());
                hashes += answer.unwrap_or(0) + 1;
            }
            SolveRow {
                bits,
                mean_seconds: total.as_secs_f64() / per_bits as f64,
                max_seconds: max.as_secs_f64(),
                hashes_per_second: hashes as f64 / total.as_secs_f64().max(1e-9),
            }
        })
        .collect()
}

fn chart(options: &BenchOptions, rows: &[SolveRow]) -> anyhow::Result<()> {
    let points = |value: fn(&SolveRow) -> f64| {
        rows.iter()
            .map(|row| (f64::from(row.bits), value(row).max(1e-6)))
            .collect()
    };
    xy_chart(
        &options.out.join("proof-of-work-solve.svg"),
        "Proof of work: seconds to solve one challenge, native, one core",
        ("bits", "seconds (log)"),
        &[
            Series::new("mean", points(|row| row.mean_seconds)),
            Series::new("max", points(|row| row.max_seconds)),
        ],
        Scales {
            log_x: false,
            log_y: true,
        },
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
