//! The open-model driver: sends every virtual user's requests at their intended times.
//!
//! One thread owns the schedule (a heap of due requests), the script and the recorder.
//! It wakes every tick (200 µs by default; the async runtime's timers tick in whole
//! milliseconds), sends everything due, and takes in everything finished. Each request
//! runs as a short task on a single-threaded runtime of its own thread (no work
//! stealing, so no wake-ups of idle workers for every request), on a pooled keep-alive
//! connection, stamps its finishing time, and leaves its result in a shared list:
//! finished requests never wake the scheduler, which keeps the load generator's CPU per
//! request low. A request
//! leaves at most about one tick after its intended time; that delay counts in its
//! latency and is reported apart as the send lag. New users arrive on the profile's clock whatever the
//! server's speed, and every latency is taken from the intended send time, so a slow
//! server shows up as latency and errors, not as a politely slower load.

use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::runtime::Handle;

use crate::endpoint::Endpoint;
use crate::http::{HttpError, Pool, Reply};
use crate::live::Live;
use crate::profile::ArrivalProfile;
use crate::record::{Outcome, Percentiles, Recorder};
use crate::schedule::DueQueue;
use crate::script::{Answer, Next, Request, Script};

/// How a run is driven.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// When new users arrive.
    pub arrivals: ArrivalProfile,
    /// How long users already in the system go on after the last arrival.
    pub drain: Duration,
    /// Most requests in flight; a request due beyond it is refused and counted as an
    /// error (the load generator's own limit, reported separately).
    pub max_in_flight: usize,
    /// Requests finished before this point count in the timeline only, not in the
    /// whole-run figures (a warm-up, e.g. filling the line).
    pub warmup: Duration,
    /// Seed of the users' random choices.
    pub seed: u64,
}

/// How often the scheduler wakes while requests are due or in flight.
pub const TICK: Duration = Duration::from_micros(200);

/// Requests finished since the scheduler last looked; at most one per request in flight.
type FinishedList = Arc<Mutex<Vec<Finished>>>;

/// What the driver measured.
#[derive(Debug, Clone)]
pub struct DriveReport {
    /// Every request's outcome and latency.
    pub recorder: Recorder,
    /// How long the run took.
    pub elapsed: Duration,
    /// Users who arrived.
    pub arrivals: u64,
    /// Users still active when the run ended.
    pub users_left: usize,
    /// How late requests left the load generator relative to their intended time; large
    /// values mean the load generator itself could not keep up.
    pub send_lag: Percentiles,
    /// Most requests in flight at once.
    pub peak_in_flight: usize,
}

struct Finished {
    user: u64,
    endpoint: Endpoint,
    intended_us: u64,
    done_us: u64,
    result: Result<Reply, HttpError>,
}

/// How long in-flight requests may finish after the run's end.
const FINAL_WAIT: Duration = Duration::from_secs(5);

/// The state of one run.
struct Driver<'a, S: Script> {
    script: &'a mut S,
    pools: &'a [Arc<Pool>],
    start: Instant,
    rng: SmallRng,
    due: DueQueue<(u64, Request)>,
    recorder: Recorder,
    lag: Histogram<u64>,
    finished: FinishedList,
    runtime: Handle,
    in_flight: usize,
    peak_in_flight: usize,
    max_in_flight: usize,
    warmup_us: u64,
}

/// Runs `script` against `pools` (user `n` talks to pool `n % pools.len()`) until the
/// last arrival plus the drain time, showing progress on `live`.
///
/// Needs the multi-threaded runtime: the schedule runs on the calling worker thread,
/// handed over with [`tokio::task::block_in_place`].
pub async fn drive<S: Script>(
    script: &mut S,
    pools: &[Arc<Pool>],
    options: &DriveOptions,
    start: tokio::time::Instant,
    live: &mut Live,
) -> DriveReport {
    let requests = RequestThread::start();
    let report = tokio::task::block_in_place(|| {
        schedule(
            script,
            pools,
            options,
            start.into_std(),
            live,
            requests.handle(),
        )
    });
    requests.stop();
    report
}

/// A thread running a single-threaded async runtime that carries the requests.
struct RequestThread {
    handle: Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RequestThread {
    fn start() -> Self {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("loadgen-requests".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => {
                        let _ = handle_tx.send(Some(runtime.handle().clone()));
                        runtime.block_on(async move {
                            let _ = stopped.await;
                        });
                    }
                    Err(error) => {
                        tracing::warn!(%error, "no request runtime; using the caller's");
                        let _ = handle_tx.send(None);
                    }
                }
            })
            .ok();
        let handle = handle_rx
            .recv()
            .ok()
            .flatten()
            .unwrap_or_else(Handle::current);
        Self {
            handle,
            stop: Some(stop),
            thread,
        }
    }

    fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Ends the runtime (requests still in flight are dropped) and joins its thread.
    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn schedule<S: Script>(
    script: &mut S,
    pools: &[Arc<Pool>],
    options: &DriveOptions,
    start: Instant,
    live: &mut Live,
    runtime: Handle,
) -> DriveReport {
    let finished: FinishedList = Arc::new(Mutex::new(Vec::with_capacity(1024)));
    let mut taken = Vec::with_capacity(1024);
    let mut driver = Driver {
        script,
        pools,
        start,
        rng: SmallRng::seed_from_u64(options.seed),
        due: DueQueue::new(),
        recorder: Recorder::new(),
        lag: Histogram::new_with_bounds(1, 60_000_000, 2).unwrap_or_else(|_| unreachable!()),
        finished: finished.clone(),
        runtime,
        in_flight: 0,
        peak_in_flight: 0,
        max_in_flight: options.max_in_flight.max(1),
        warmup_us: options.warmup.as_micros() as u64,
    };
    let mut arrivals = options.arrivals.arrivals().peekable();
    let mut arrived = 0u64;
    let deadline_us = (options.arrivals.seconds() * 1e6) as u64 + options.drain.as_micros() as u64;
    loop {
        let now = driver.now_us();
        while let Some(&at) = arrivals.peek().filter(|&&at| at <= now) {
            arrivals.next();
            let request = driver.script.arrive(arrived, &mut driver.rng);
            driver.fire(arrived, request, at, now);
            arrived += 1;
        }
        while let Some((at, (user, request))) = driver.due.pop_due(now) {
            driver.fire(user, request, at, now);
        }
        std::mem::swap(&mut *finished.lock(), &mut taken);
        for done in taken.drain(..) {
            driver.finish(done);
        }
        let second = now / 1_000_000;
        if second > 0 {
            driver.recorder.close_seconds_before(second);
        }
        live.tick(
            now,
            &driver.recorder,
            driver.in_flight,
            &driver.script.progress(),
        );
        let idle = arrivals.peek().is_none() && driver.due.is_empty() && driver.in_flight == 0;
        if idle || now >= deadline_us {
            break;
        }
        let wake_us = [
            arrivals.peek().copied(),
            driver.due.next_due(),
            Some((second + 1) * 1_000_000),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(deadline_us)
        .min(deadline_us);
        // Sleep a tick while requests are in flight (to take in what finished), else
        // until the next request is due; never less than a tick, so work is batched.
        let now = driver.now_us();
        let tick = TICK.as_micros() as u64;
        let wait_us = if driver.in_flight > 0 {
            tick
        } else {
            wake_us.saturating_sub(now).max(tick)
        };
        std::thread::sleep(Duration::from_micros(wait_us));
    }
    driver.wait_for_in_flight(&finished);
    let elapsed = start.elapsed();
    driver
        .recorder
        .close_seconds_before(elapsed.as_secs().max(1));
    live.done();
    DriveReport {
        users_left: driver.due.len() + driver.in_flight,
        recorder: driver.recorder,
        elapsed,
        arrivals: arrived,
        send_lag: Percentiles::of(&driver.lag),
        peak_in_flight: driver.peak_in_flight,
    }
}

impl<S: Script> Driver<'_, S> {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Sends `request` for `user`, intended at `intended_us`.
    fn fire(&mut self, user: u64, request: Request, intended_us: u64, now_us: u64) {
        if self.in_flight >= self.max_in_flight {
            self.record(
                request.endpoint,
                now_us.saturating_sub(intended_us),
                Outcome::Backlog,
                now_us,
            );
            let next = self
                .script
                .answer(user, request.endpoint, Answer::Failed, &mut self.rng);
            self.schedule(user, next, now_us);
            return;
        }
        self.in_flight += 1;
        self.peak_in_flight = self.peak_in_flight.max(self.in_flight);
        self.lag
            .saturating_record(now_us.saturating_sub(intended_us).max(1));
        let pool = self.pools[(user % self.pools.len() as u64) as usize].clone();
        let finished = self.finished.clone();
        let start = self.start;
        self.runtime.spawn(async move {
            let result = pool.send(&request.call).await;
            let done_us = start.elapsed().as_micros() as u64;
            finished.lock().push(Finished {
                user,
                endpoint: request.endpoint,
                intended_us,
                done_us,
                result,
            });
        });
    }

    fn record(&mut self, endpoint: Endpoint, latency_us: u64, outcome: Outcome, at_us: u64) {
        if at_us < self.warmup_us {
            self.recorder.record_warmup(endpoint, latency_us, outcome);
        } else {
            self.recorder.record(endpoint, latency_us, outcome);
        }
    }

    fn finish(&mut self, finished: Finished) {
        self.in_flight -= 1;
        let latency = finished.done_us.saturating_sub(finished.intended_us);
        let (outcome, answer) = match &finished.result {
            Ok(reply) => (Outcome::Status(reply.status), Answer::Reply(reply)),
            Err(HttpError::Timeout) => (Outcome::Timeout, Answer::Failed),
            Err(_) => (Outcome::Transport, Answer::Failed),
        };
        self.record(finished.endpoint, latency, outcome, finished.done_us);
        let next = self
            .script
            .answer(finished.user, finished.endpoint, answer, &mut self.rng);
        self.schedule(finished.user, next, finished.done_us);
    }

    fn schedule(&mut self, user: u64, next: Next, from_us: u64) {
        if let Next::After { delay_ms, request } = next {
            self.due.push(from_us + delay_ms * 1000, (user, request));
        }
    }

    /// Lets requests in flight finish (bounded), so their latencies count.
    fn wait_for_in_flight(&mut self, list: &FinishedList) {
        let until = Instant::now() + FINAL_WAIT;
        while self.in_flight > 0 && Instant::now() < until {
            let taken = std::mem::take(&mut *list.lock());
            if taken.is_empty() {
                std::thread::sleep(TICK);
            }
            for finished in taken {
                self.in_flight -= 1;
                let latency = finished.done_us.saturating_sub(finished.intended_us);
                let outcome = match &finished.result {
                    Ok(reply) => Outcome::Status(reply.status),
                    Err(HttpError::Timeout) => Outcome::Timeout,
                    Err(_) => Outcome::Transport,
                };
                self.record(finished.endpoint, latency, outcome, finished.done_us);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::tiny_server;
    use crate::http::{Call, PoolOptions};
    use crate::script::OneShot;
    use std::net::SocketAddr;

    fn options(rate: f64, seconds: f64, max_in_flight: usize) -> DriveOptions {
        DriveOptions {
            arrivals: ArrivalProfile::constant(rate, seconds),
            drain: Duration::from_secs(1),
            max_in_flight,
            warmup: Duration::ZERO,
            seed: 1,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sends_every_arrival_and_records_it() {
        let (addr, _) = tiny_server().await;
        let pools = [Pool::new(addr, PoolOptions::default())];
        let mut script = OneShot::new(|_, _: &mut SmallRng| Request {
            endpoint: Endpoint::Healthz,
            call: Call::get("/healthz"),
        });
        let mut live = Live::new("test", false);
        let report = drive(
            &mut script,
            &pools,
            &options(200.0, 1.0, 100),
            tokio::time::Instant::now(),
            &mut live,
        )
        .await;
        assert_eq!(report.arrivals, 200);
        assert_eq!(report.recorder.totals(), (200, 0));
        assert_eq!(report.users_left, 0);
        assert!(!report.recorder.timeline().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_server_shows_as_errors_not_a_stall() {
        let port = breakwater_testkit::ports::free_port().unwrap();
        let pools = [Pool::new(
            SocketAddr::from(([127, 0, 0, 1], port)),
            PoolOptions::default(),
        )];
        let mut script = OneShot::new(|_, _: &mut SmallRng| Request {
            endpoint: Endpoint::Healthz,
            call: Call::get("/healthz"),
        });
        let mut live = Live::new("test", false);
        let report = drive(
            &mut script,
            &pools,
            &options(100.0, 0.5, 100),
            tokio::time::Instant::now(),
            &mut live,
        )
        .await;
        assert_eq!(report.recorder.totals(), (50, 50));
    }
}
