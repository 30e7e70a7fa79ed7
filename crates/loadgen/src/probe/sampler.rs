//! Samples every probe once a second in a task of its own, so a slow probe never delays
//! the requests.

use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    LineProbe, LineSample, ProcessSample, RedisInfo, RedisProbe, process_sample, self_sample,
};
use crate::live::LiveExtra;

/// What to watch during a run.
#[derive(Default)]
pub struct Probes {
    /// The Redis servers behind the gateways.
    pub redis: Option<RedisProbe>,
    /// The event's line, through a gateway's admin API.
    pub line: Option<LineProbe>,
    /// Server processes (name, pid) whose CPU and memory to follow.
    pub processes: Vec<(String, u32)>,
}

/// One reading of everything, `at_s` seconds into the run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since the run started.
    pub at_s: f64,
    /// Redis, when watched and reachable.
    pub redis: Option<RedisInfo>,
    /// The line, when watched and reachable.
    pub line: Option<LineSample>,
    /// The load generator itself.
    pub loadgen: ProcessSample,
    /// Each watched process, in the order given (`None` once it is gone).
    pub processes: Vec<Option<ProcessSample>>,
}

/// A running sampler.
pub struct Sampler {
    cancel: CancellationToken,
    handle: JoinHandle<(Vec<Sample>, Probes)>,
}

impl Sampler {
    /// Starts sampling `probes` every `every`, timing samples from `start` and writing a
    /// summary of the latest one into `extra` for the live display.
    pub fn start(probes: Probes, start: Instant, every: Duration, extra: LiveExtra) -> Self {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let handle = tokio::spawn(async move { run(probes, start, every, extra, token).await });
        Self { cancel, handle }
    }

    /// Takes a last sample, stops, and returns every sample and the probes.
    pub async fn stop(self) -> (Vec<Sample>, Probes) {
        self.cancel.cancel();
        self.handle.await.unwrap_or_default()
    }
}

async fn run(
    mut probes: Probes,
    start: Instant,
    every: Duration,
    extra: LiveExtra,
    cancel: CancellationToken,
) -> (Vec<Sample>, Probes) {
    let mut samples: Vec<Sample> = Vec::new();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            () = cancel.cancelled() => true,
            _ = ticker.tick() => false,
        };
        let sample = take(&mut probes, start).await;
        if let Some(previous) = samples.last() {
            *extra.lock() = describe(previous, &sample);
        }
        samples.push(sample);
        if stopping {
            return (samples, probes);
        }
    }
}

async fn take(probes: &mut Probes, start: Instant) -> Sample {
    let redis = match probes.redis.as_mut() {
        Some(probe) => probe.read().await.ok(),
        None => None,
    };
    let line = match probes.line.as_ref() {
        Some(probe) => probe.read().await.ok(),
        None => None,
    };
    Sample {
        at_s: start.elapsed().as_secs_f64(),
        redis,
        line,
        loadgen: self_sample(),
        processes: probes
            .processes
            .iter()
            .map(|(_, pid)| process_sample(*pid))
            .collect(),
    }
}

/// The live display's view of the last interval.
fn describe(previous: &Sample, sample: &Sample) -> String {
    let seconds = (sample.at_s - previous.at_s).max(1e-3);
    let mut parts = Vec::new();
    if let Some(line) = &sample.line {
        let admitted = previous.line.map_or(0, |before| {
            line.admitted_total.saturating_sub(before.admitted_total)
        });
        parts.push(format!(
            "line {} admitted/s {:.0}",
            line.waiting,
            admitted as f64 / seconds
        ));
    }
    if let (Some(now), Some(before)) = (&sample.redis, &previous.redis) {
        let delta = now.since(before);
        parts.push(format!(
            "redis cpu {:.0}% cmds/s {:.0}",
            delta.cpu_seconds / seconds * 100.0,
            delta.commands as f64 / seconds
        ));
    }
    let loadgen = (sample.loadgen.cpu_seconds - previous.loadgen.cpu_seconds) / seconds;
    parts.push(format!("loadgen cpu {:.0}%", loadgen * 100.0));
    parts.join(" | ")
}
