//! Latency and outcome bookkeeping: whole-run histograms per endpoint and one row per
//! second of the run for the charts.
//!
//! Latency is always measured from the intended send time, so time a request spent
//! waiting for the load generator or for a connection counts against the server's
//! answer, as a real user would feel it (no coordinated omission).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::endpoint::Endpoint;

/// The longest latency kept exactly (60 s); longer ones are counted as 60 s.
const MAX_LATENCY_US: u64 = 60_000_000;

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer within the request timeout.
    Timeout,
    /// The connection failed.
    Transport,
    /// Never sent: too many requests were already in flight (the load generator's bound).
    Backlog,
}

impl Outcome {
    /// Whether this counts as an error for `endpoint`.
    pub fn is_error(self, endpoint: Endpoint) -> bool {
        match self {
            Self::Status(status) => !endpoint.expects(status),
            Self::Timeout | Self::Transport | Self::Backlog => true,
        }
    }
}

/// A latency histogram; `figures` significant digits (3 for whole runs, 2 per second).
fn histogram(figures: u8) -> Histogram<u64> {
    // Bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, figures).unwrap_or_else(|_| unreachable!())
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

impl Percentiles {
    /// The percentiles of `histogram` (zeros when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        Self {
            p50_us: histogram.value_at_quantile(0.5),
            p90_us: histogram.value_at_quantile(0.9),
            p99_us: histogram.value_at_quantile(0.99),
            p999_us: histogram.value_at_quantile(0.999),
            max_us: histogram.max(),
            mean_us: histogram.mean(),
        }
    }
}

/// One endpoint over a whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointSummary {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Requests finished (answered, failed or refused).
    pub requests: u64,
    /// Of those, errors.
    pub errors: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Requests whose connection failed.
    pub transport_errors: u64,
    /// Requests never sent because too many were in flight.
    pub backlog_refusals: u64,
    /// Latency from intended send time.
    pub latency: Percentiles,
}

/// One endpoint during one second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SecondStats {
    /// Requests finished in the second.
    pub requests: u64,
    /// Of those, errors.
    pub errors: u64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile latency, µs.
    pub p99_us: u64,
}

/// Every endpoint during one second of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecondRow {
    /// Seconds since the run started (the row covers `[second, second + 1)`).
    pub second: u64,
    /// Per endpoint that saw requests.
    pub endpoints: BTreeMap<Endpoint, SecondStats>,
    /// All endpoints together.
    pub all: SecondStats,
}

#[derive(Debug, Clone)]
struct Tally {
    histogram: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    requests: u64,
    errors: u64,
    timeouts: u64,
    transport_errors: u64,
    backlog_refusals: u64,
}

impl Tally {
    fn new(figures: u8) -> Self {
        Self {
            histogram: histogram(figures),
            statuses: BTreeMap::new(),
            requests: 0,
            errors: 0,
            timeouts: 0,
            transport_errors: 0,
            backlog_refusals: 0,
        }
    }

    fn clear(&mut self) {
        self.histogram.reset();
        self.statuses.clear();
        self.requests = 0;
        self.errors = 0;
        self.timeouts = 0;
        self.transport_errors = 0;
        self.backlog_refusals = 0;
    }

    fn add(&mut self, latency_us: u64, outcome: Outcome, error: bool) {
        self.histogram
            .saturating_record(latency_us.clamp(1, MAX_LATENCY_US));
        self.requests += 1;
        self.errors += u64::from(error);
        match outcome {
            Outcome::Status(status) => *self.statuses.entry(status).or_default() += 1,
            Outcome::Timeout => self.timeouts += 1,
            Outcome::Transport => self.transport_errors += 1,
            Outcome::Backlog => self.backlog_refusals += 1,
        }
    }

    fn second_stats(&self) -> SecondStats {
        let latency = Percentiles::of(&self.histogram);
        SecondStats {
            requests: self.requests,
            errors: self.errors,
            p50_us: latency.p50_us,
            p99_us: latency.p99_us,
        }
    }
}

/// Everything measured so far in a run.
#[derive(Debug, Clone)]
pub struct Recorder {
    run: Vec<Tally>,
    run_all: Tally,
    second: Vec<Tally>,
    second_all: Tally,
    timeline: Vec<SecondRow>,
    open_second: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// Nothing recorded yet; the first second is second 0.
    pub fn new() -> Self {
        Self {
            run: Endpoint::ALL.iter().map(|_| Tally::new(3)).collect(),
            run_all: Tally::new(3),
            second: Endpoint::ALL.iter().map(|_| Tally::new(2)).collect(),
            second_all: Tally::new(2),
            timeline: Vec::new(),
            open_second: 0,
        }
    }

    /// Records one finished request: its latency from intended send time and outcome.
    pub fn record(&mut self, endpoint: Endpoint, latency_us: u64, outcome: Outcome) {
        let error = outcome.is_error(endpoint);
        let index = endpoint.index();
        self.run[index].add(latency_us, outcome, error);
        self.run_all.add(latency_us, outcome, error);
        self.second[index].add(latency_us, outcome, error);
        self.second_all.add(latency_us, outcome, error);
    }

    /// Records a request of the warm-up: it shows in the timeline, not in the whole-run
    /// figures.
    pub fn record_warmup(&mut self, endpoint: Endpoint, latency_us: u64, outcome: Outcome) {
        let error = outcome.is_error(endpoint);
        self.second[endpoint.index()].add(latency_us, outcome, error);
        self.second_all.add(latency_us, outcome, error);
    }

    /// Closes every second before `second` (requests finished since the last call count
    /// in the first of them; seconds with nothing get empty rows).
    pub fn close_seconds_before(&mut self, second: u64) {
        while self.open_second < second {
            let endpoints = Endpoint::ALL
                .iter()
                .zip(&self.second)
                .filter(|(_, tally)| tally.requests > 0)
                .map(|(endpoint, tally)| (*endpoint, tally.second_stats()))
                .collect();
            self.timeline.push(SecondRow {
                second: self.open_second,
                endpoints,
                all: self.second_all.second_stats(),
            });
            for tally in &mut self.second {
                tally.clear();
            }
            self.second_all.clear();
            self.open_second += 1;
        }
    }

    /// The rows of every closed second.
    pub fn timeline(&self) -> &[SecondRow] {
        &self.timeline
    }

    /// Whole-run figures of each endpoint that saw requests.
    pub fn endpoints(&self) -> Vec<EndpointSummary> {
        Endpoint::ALL
            .iter()
            .zip(&self.run)
            .filter(|(_, tally)| tally.requests > 0)
            .map(|(endpoint, tally)| summarize(*endpoint, tally))
            .collect()
    }

    /// Whole-run latency of every request together.
    pub fn all_latency(&self) -> Percentiles {
        Percentiles::of(&self.run_all.histogram)
    }

    /// Requests finished so far, and errors among them.
    pub fn totals(&self) -> (u64, u64) {
        (self.run_all.requests, self.run_all.errors)
    }

    /// Requests finished so far at one endpoint.
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        self.run[endpoint.index()].requests
    }

    /// Whole-run latency of one endpoint.
    pub fn latency(&self, endpoint: Endpoint) -> Percentiles {
        Percentiles::of(&self.run[endpoint.index()].histogram)
    }
}

fn summarize(endpoint: Endpoint, tally: &Tally) -> EndpointSummary {
    EndpointSummary {
        endpoint,
        requests: tally.requests,
        errors: tally.errors,
        statuses: tally.statuses.clone(),
        timeouts: tally.timeouts,
        transport_errors: tally.transport_errors,
        backlog_refusals: tally.backlog_refusals,
        latency: Percentiles::of(&tally.histogram),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_recorded_latencies() {
        let mut recorder = Recorder::new();
        for latency in 1..=1000 {
            recorder.record(Endpoint::Status, latency, Outcome::Status(200));
        }
        let status = recorder.latency(Endpoint::Status);
        assert!((499..=501).contains(&status.p50_us), "{status:?}");
        assert!((989..=991).contains(&status.p99_us), "{status:?}");
        assert_eq!(status.max_us, 1000);
        assert_eq!(recorder.totals(), (1000, 0));
    }

    #[test]
    fn errors_follow_the_contract() {
        let mut recorder = Recorder::new();
        recorder.record(Endpoint::Enter, 10, Outcome::Status(409));
        recorder.record(Endpoint::Join, 10, Outcome::Status(503));
        recorder.record(Endpoint::Join, 10, Outcome::Timeout);
        recorder.record(Endpoint::Status, 10, Outcome::Backlog);
        assert_eq!(recorder.totals(), (4, 3));
        let join = recorder
            .endpoints()
            .into_iter()
            .find(|summary| summary.endpoint == Endpoint::Join)
            .unwrap();
        assert_eq!(join.errors, 2);
        assert_eq!(join.timeouts, 1);
        assert_eq!(join.statuses.get(&503), Some(&1));
    }

    #[test]
    fn seconds_roll_into_the_timeline() {
        let mut recorder = Recorder::new();
        recorder.record(Endpoint::Status, 100, Outcome::Status(200));
        recorder.record(Endpoint::Join, 300, Outcome::Status(201));
        recorder.close_seconds_before(1);
        recorder.record(Endpoint::Status, 50, Outcome::Status(200));
        recorder.close_seconds_before(3);
        let timeline = recorder.timeline();
        assert_eq!(timeline.len(), 3);
        assert_eq!(timeline[0].all.requests, 2);
        // Per-second histograms keep two significant figures.
        let p50 = timeline[0].endpoints[&Endpoint::Join].p50_us;
        assert!((297..=303).contains(&p50), "{p50}");
        assert_eq!(timeline[1].endpoints[&Endpoint::Status].requests, 1);
        assert!(timeline[2].endpoints.is_empty());
        // The whole run still holds everything.
        assert_eq!(recorder.requests(Endpoint::Status), 2);
        recorder.record_warmup(Endpoint::Status, 70, Outcome::Status(200));
        assert_eq!(recorder.requests(Endpoint::Status), 2);
        // Closing an earlier second again does nothing.
        recorder.close_seconds_before(2);
        assert_eq!(recorder.timeline().len(), 3);
    }

    #[test]
    fn huge_latencies_saturate() {
        let mut recorder = Recorder::new();
        recorder.record(Endpoint::Status, u64::MAX, Outcome::Timeout);
        assert_eq!(recorder.latency(Endpoint::Status).max_us / 1_000_000, 60);
    }
}
