//! Closed-loop throughput: a fixed number of connections sending back to back, as `wrk`
//! does. Used only to compare the throughput of endpoints side by side; its latencies
//! are service times, not user-felt latency (the open-model driver measures those).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

use crate::endpoint::Endpoint;
use crate::http::{Call, Pool, Reply};
use crate::record::Percentiles;

/// What a closed-loop phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct Saturation {
    /// The endpoint driven.
    pub endpoint: Endpoint,
    /// Requests finished.
    pub requests: u64,
    /// Of those, errors (no answer, or an answer the contract does not allow).
    pub errors: u64,
    /// How long the phase took.
    pub seconds: f64,
    /// Successful requests per second.
    pub per_second: f64,
    /// Service time of each request (closed loop).
    pub service_time: Percentiles,
}

/// Makes the `n`-th request of a phase.
pub type MakeCall = Arc<dyn Fn(u64) -> Call + Send + Sync>;
/// Sees every successful reply (e.g. to keep the tokens of joins).
pub type KeepReply = Arc<dyn Fn(&Reply) + Send + Sync>;

/// One closed-loop phase.
pub struct Phase {
    /// The endpoint driven.
    pub endpoint: Endpoint,
    /// Requests in flight at once (each on its own connection of the pool).
    pub concurrency: usize,
    /// Longest the phase runs.
    pub duration: Duration,
    /// Most requests sent, if any bound.
    pub limit: Option<u64>,
    /// The requests.
    pub make: MakeCall,
    /// Called with every successful reply.
    pub keep: Option<KeepReply>,
}

/// Runs `phase` against `pool`.
pub async fn saturate(pool: Arc<Pool>, phase: Phase) -> Saturation {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + phase.duration;
    let limit = phase.limit.unwrap_or(u64::MAX);
    let mut workers = Vec::with_capacity(phase.concurrency);
    for _ in 0..phase.concurrency.max(1) {
        let pool = pool.clone();
        let counter = counter.clone();
        let make = phase.make.clone();
        let keep = phase.keep.clone();
        let endpoint = phase.endpoint;
        workers.push(tokio::spawn(async move {
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|_| unreachable!());
            let mut errors = 0u64;
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n >= limit || Instant::now() >= deadline {
                    break;
                }
                let sent = Instant::now();
                let result = pool.send(&make(n)).await;
                histogram.saturating_record((sent.elapsed().as_micros() as u64).max(1));
                match result {
                    Ok(reply) if endpoint.expects(reply.status) => {
                        if let Some(keep) = &keep {
                            keep(&reply);
                        }
                    }
                    _ => errors += 1,
                }
            }
            (histogram, errors)
        }));
    }
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!());
    let mut errors = 0;
    for worker in workers {
        if let Ok((part, part_errors)) = worker.await {
            let _ = histogram.add(&part);
            errors += part_errors;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let requests = histogram.len();
    Saturation {
        endpoint: phase.endpoint,
        requests,
        errors,
        seconds,
        per_second: (requests - errors) as f64 / seconds.max(1e-6),
        service_time: Percentiles::of(&histogram),
    }
}
