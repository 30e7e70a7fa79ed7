//! The buyer's journey of PRODUCT.md as a script: join, poll as told, enter when ready,
//! and (when buying) view the seat map, hold, pay; with think times and abandonment.

use std::sync::Arc;

use http::Method;
use rand::Rng;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::endpoint::Endpoint;
use crate::http::{Call, Reply};
use crate::script::{Answer, Next, Request, Script};

/// How far buyers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Join and poll; never enter (a line that only waits).
    Wait,
    /// Join, poll, enter when ready (the talk's mix).
    Enter,
    /// The whole buyer flow: enter, seat map, hold, checkout.
    Buy,
}

/// The journey's knobs.
#[derive(Debug, Clone, Serialize)]
pub struct JourneyConfig {
    /// The event id.
    pub event: String,
    /// How far buyers go.
    pub goal: Goal,
    /// Poll at this fixed interval instead of the server's `poll_after_ms`.
    pub poll_every_ms: Option<u64>,
    /// Each poll interval is spread by up to ± this fraction.
    pub poll_jitter: f64,
    /// The first poll after joining comes at a uniformly random point of the first
    /// interval, so a crowd that joined in a burst polls evenly spread from the start
    /// (a line already in its steady state).
    pub spread_first_poll: bool,
    /// Think time between steps after entering, uniformly in this range (ms).
    pub think_ms: (u64, u64),
    /// Fraction of buyers who give up somewhere along the way.
    pub abandon_fraction: f64,
    /// After entering (goal `enter`), leave at once to free the slot.
    pub leave_after_enter: bool,
    /// Seats per hold (best adjacent).
    pub hold_quantity: u32,
    /// `payment_method` at checkout.
    pub payment_method: String,
    /// Failed or refused requests a user retries before giving up.
    pub max_failures: u8,
    /// Prefix of idempotency keys, unique per run.
    pub run_id: String,
}

impl JourneyConfig {
    /// Defaults for `event`: obey the server, 1–3 s think times, 10 % abandon, buy one
    /// seat with an approving sandbox payment.
    pub fn new(event: impl Into<String>, goal: Goal) -> Self {
        Self {
            event: event.into(),
            goal,
            poll_every_ms: None,
            poll_jitter: 0.1,
            spread_first_poll: false,
            think_ms: (1_000, 3_000),
            abandon_fraction: 0.1,
            leave_after_enter: false,
            hold_quantity: 1,
            payment_method: "sandbox:approve".into(),
            max_failures: 5,
            run_id: format!("lg{:08x}", rand::random::<u32>()),
        }
    }
}

/// Where an abandoning buyer gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abandon {
    /// Stops polling after this many polls; leaves explicitly or just goes silent.
    Waiting { after_polls: u32, explicit: bool },
    /// Leaves after seeing the seat map.
    AtSeats,
    /// Lets the hold lapse without paying.
    AtHold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Joining,
    Waiting,
    Entering,
    Seats,
    Holding,
    Paying,
    Leaving,
    Done,
}

#[derive(Debug, Clone)]
struct User {
    stage: Stage,
    line_token: Option<Arc<str>>,
    access_token: Option<Arc<str>>,
    hold_id: Option<String>,
    polls: u32,
    failures: u8,
    abandon: Option<Abandon>,
}

/// How the buyers of a run fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JourneyCounts {
    /// Users who arrived.
    pub arrived: u64,
    /// Users who got a line token.
    pub joined: u64,
    /// Users who saw `ready`.
    pub admitted: u64,
    /// Users who entered.
    pub entered: u64,
    /// Holds made.
    pub holds: u64,
    /// Holds refused because the seats were gone.
    pub sold_out: u64,
    /// Orders confirmed.
    pub orders_confirmed: u64,
    /// Orders pending when the user stopped watching.
    pub orders_pending: u64,
    /// Payments declined.
    pub declined: u64,
    /// Users who gave up on purpose (the abandon fraction).
    pub abandoned: u64,
    /// Users whose place expired.
    pub expired: u64,
    /// Users who gave up after repeated failures.
    pub failed: u64,
    /// Users finished, whatever the outcome.
    pub finished: u64,
}

/// The journey script.
pub struct Journey {
    config: JourneyConfig,
    queue_path: String,
    enter_path: String,
    seats_path: String,
    holds_path: String,
    users: Vec<User>,
    counts: JourneyCounts,
}

#[derive(Deserialize)]
struct StatusBody {
    state: Option<String>,
    poll_after_ms: Option<u64>,
    token: Option<String>,
    access_token: Option<String>,
    id: Option<String>,
    status: Option<serde_json::Value>,
}

impl StatusBody {
    fn of(reply: &Reply) -> Self {
        serde_json::from_slice(&reply.body).unwrap_or(Self {
            state: None,
            poll_after_ms: None,
            token: None,
            access_token: None,
            id: None,
            status: None,
        })
    }

    /// `poll_after_ms`, at top level or in a nested `status` object (409 bodies).
    fn poll_after(&self) -> Option<u64> {
        self.poll_after_ms
            .or_else(|| self.status.as_ref()?.get("poll_after_ms")?.as_u64())
    }
}

const RETRY_MS: u64 = 1_000;

impl Journey {
    /// A journey with `config`.
    pub fn new(config: JourneyConfig) -> Self {
        let base = format!("/api/v1/events/{}", config.event);
        Self {
            queue_path: format!("{base}/queue"),
            enter_path: format!("{base}/queue/enter"),
            seats_path: format!("{base}/seats"),
            holds_path: format!("{base}/holds"),
            config,
            users: Vec::new(),
            counts: JourneyCounts::default(),
        }
    }

    /// How the buyers fared so far.
    pub fn counts(&self) -> JourneyCounts {
        self.counts
    }

    fn user(&mut self, id: u64) -> &mut User {
        let index = id as usize;
        if index >= self.users.len() {
            self.users.resize(
                index + 1,
                User {
                    stage: Stage::Done,
                    line_token: None,
                    access_token: None,
                    hold_id: None,
                    polls: 0,
                    failures: 0,
                    abandon: None,
                },
            );
        }
        &mut self.users[index]
    }

    fn pick_abandon(&self, rng: &mut SmallRng) -> Option<Abandon> {
        if !rng.random_bool(self.config.abandon_fraction.clamp(0.0, 1.0)) {
            return None;
        }
        let waiting = Abandon::Waiting {
            after_polls: rng.random_range(1..=3),
            explicit: rng.random_bool(0.5),
        };
        Some(match (self.config.goal, rng.random_range(0..3)) {
            (Goal::Buy, 1) => Abandon::AtSeats,
            (Goal::Buy, 2) => Abandon::AtHold,
            _ => waiting,
        })
    }

    fn think(&self, rng: &mut SmallRng) -> u64 {
        let (low, high) = self.config.think_ms;
        if high <= low {
            low
        } else {
            rng.random_range(low..=high)
        }
    }

    fn poll_delay(&self, advised: Option<u64>, rng: &mut SmallRng) -> u64 {
        let base = self.config.poll_every_ms.or(advised).unwrap_or(RETRY_MS) as f64;
        let jitter = self.config.poll_jitter.clamp(0.0, 0.9);
        let factor = if jitter > 0.0 {
            1.0 + rng.random_range(-jitter..=jitter)
        } else {
            1.0
        };
        (base * factor).round() as u64
    }

    fn finish(&mut self, id: u64) -> Next {
        let user = self.user(id);
        if user.stage != Stage::Done {
            user.stage = Stage::Done;
            user.line_token = None;
            user.access_token = None;
            user.hold_id = None;
            self.counts.finished += 1;
        }
        Next::Done
    }

    fn request(&self, endpoint: Endpoint, call: Call) -> Request {
        Request { endpoint, call }
    }

    fn poll(&mut self, id: u64, delay_ms: u64) -> Next {
        let user = self.user(id);
        user.stage = Stage::Waiting;
        let Some(token) = user.line_token.clone() else {
            return self.finish(id);
        };
        let call = Call::get(self.queue_path.clone()).bearer(token);
        Next::After {
            delay_ms,
            request: self.request(Endpoint::Status, call),
        }
    }

    fn enter(&mut self, id: u64) -> Next {
        let user = self.user(id);
        user.stage = Stage::Entering;
        let Some(token) = user.line_token.clone() else {
            return self.finish(id);
        };
        let call = Call::new(Method::POST, self.enter_path.clone()).bearer(token);
        Next::After {
            delay_ms: 0,
            request: self.request(Endpoint::Enter, call),
        }
    }

    /// Leaves with the access token when entered, else with the line token.
    fn leave(&mut self, id: u64, delay_ms: u64) -> Next {
        let user = self.user(id);
        user.stage = Stage::Leaving;
        let Some(token) = user.access_token.clone().or(user.line_token.clone()) else {
            return self.finish(id);
        };
        let call = Call::new(Method::DELETE, self.queue_path.clone()).bearer(token);
        Next::After {
            delay_ms,
            request: self.request(Endpoint::Leave, call),
        }
    }

    fn backend_step(&mut self, id: u64, stage: Stage, delay_ms: u64) -> Next {
        let quantity = self.config.hold_quantity;
        let key_prefix = format!("{}-{id}", self.config.run_id);
        let payment_method = self.config.payment_method.clone();
        let seats_path = self.seats_path.clone();
        let holds_path = self.holds_path.clone();
        let user = self.user(id);
        user.stage = stage;
        let Some(token) = user.access_token.clone() else {
            return self.finish(id);
        };
        let (endpoint, call) = match stage {
            Stage::Seats => (Endpoint::Seats, Call::get(seats_path).bearer(token)),
            Stage::Holding => (
                Endpoint::Hold,
                Call::new(Method::POST, holds_path)
                    .bearer(token)
                    .idempotency_key(format!("{key_prefix}-hold"))
                    .json(&json!({ "quantity": quantity })),
            ),
            _ => {
                let Some(hold) = user.hold_id.clone() else {
                    return self.finish(id);
                };
                (
                    Endpoint::Checkout,
                    Call::new(Method::POST, format!("/api/v1/holds/{hold}/checkout"))
                        .bearer(token)
                        .idempotency_key(format!("{key_prefix}-pay"))
                        .json(&json!({ "payment_method": payment_method })),
                )
            }
        };
        Next::After {
            delay_ms,
            request: self.request(endpoint, call),
        }
    }

    /// A failed or refused request: retry the same step after `Retry-After` (or 1 s),
    /// unless the user has failed too often.
    fn retry(&mut self, id: u64, retry_after_seconds: Option<u64>, rng: &mut SmallRng) -> Next {
        let max_failures = self.config.max_failures;
        let user = self.user(id);
        user.failures += 1;
        if user.failures > max_failures {
            self.counts.failed += 1;
            return self.finish(id);
        }
        let delay = retry_after_seconds.map_or(RETRY_MS, |seconds| seconds * 1000);
        let delay = self.poll_delay(Some(delay), rng).max(1);
        match self.user(id).stage {
            Stage::Joining => Next::After {
                delay_ms: delay,
                request: self.join_request(),
            },
            Stage::Waiting => self.poll(id, delay),
            Stage::Entering => match self.enter(id) {
                Next::After { request, .. } => Next::After {
                    delay_ms: delay,
                    request,
                },
                Next::Done => Next::Done,
            },
            Stage::Leaving => self.leave(id, delay),
            stage @ (Stage::Seats | Stage::Holding | Stage::Paying) => {
                self.backend_step(id, stage, delay)
            }
            Stage::Done => Next::Done,
        }
    }

    fn join_request(&self) -> Request {
        self.request(
            Endpoint::Join,
            Call::new(Method::POST, self.queue_path.clone()),
        )
    }

    fn on_join(&mut self, id: u64, reply: &Reply, rng: &mut SmallRng) -> Next {
        let body = StatusBody::of(reply);
        let Some(token) = body.token.as_deref().filter(|_| reply.status == 201) else {
            return self.retry(id, reply.retry_after_seconds, rng);
        };
        self.counts.joined += 1;
        let user = self.user(id);
        user.line_token = Some(Arc::from(token));
        user.failures = 0;
        self.on_state(id, body.state.as_deref(), body.poll_after(), rng)
    }

    fn on_status(&mut self, id: u64, reply: &Reply, rng: &mut SmallRng) -> Next {
        if reply.status != 200 {
            return self.retry(id, reply.retry_after_seconds, rng);
        }
        let body = StatusBody::of(reply);
        let user = self.user(id);
        user.failures = 0;
        user.polls += 1;
        self.on_state(id, body.state.as_deref(), body.poll_after(), rng)
    }

    /// What a user does on learning their state.
    fn on_state(
        &mut self,
        id: u64,
        state: Option<&str>,
        poll_after: Option<u64>,
        rng: &mut SmallRng,
    ) -> Next {
        match state {
            Some("ready") if self.config.goal != Goal::Wait => {
                self.counts.admitted += 1;
                self.enter(id)
            }
            Some("expired") => {
                self.counts.expired += 1;
                self.finish(id)
            }
            Some("entered") => self.finish(id),
            _ => {
                let user = self.user(id);
                if let Some(Abandon::Waiting {
                    after_polls,
                    explicit,
                }) = user.abandon
                    && user.polls >= after_polls
                {
                    self.counts.abandoned += 1;
                    return if explicit {
                        self.leave(id, 0)
                    } else {
                        self.finish(id)
                    };
                }
                let polls = self.user(id).polls;
                let mut delay = self.poll_delay(poll_after, rng);
                if polls == 0 && self.config.spread_first_poll {
                    delay = rng.random_range(1..=delay.max(1));
                }
                self.poll(id, delay)
            }
        }
    }

    fn on_enter(&mut self, id: u64, reply: &Reply, rng: &mut SmallRng) -> Next {
        let body = StatusBody::of(reply);
        match reply.status {
            200 => {
                let Some(access) = body.access_token else {
                    return self.retry(id, None, rng);
                };
                self.counts.entered += 1;
                let user = self.user(id);
                user.access_token = Some(Arc::from(access.as_str()));
                user.failures = 0;
                match self.config.goal {
                    Goal::Buy => {
                        let think = self.think(rng);
                        self.backend_step(id, Stage::Seats, think)
                    }
                    _ if self.config.leave_after_enter => self.leave(id, 0),
                    _ => self.finish(id),
                }
            }
            // Not ready after all: back to polling as the body says.
            409 => {
                let delay = self.poll_delay(body.poll_after(), rng);
                self.poll(id, delay)
            }
            410 => {
                self.counts.expired += 1;
                self.finish(id)
            }
            _ => self.retry(id, reply.retry_after_seconds, rng),
        }
    }

    fn on_backend(
        &mut self,
        id: u64,
        endpoint: Endpoint,
        reply: &Reply,
        rng: &mut SmallRng,
    ) -> Next {
        let abandon = self.user(id).abandon;
        let think = self.think(rng);
        match (endpoint, reply.status) {
            (Endpoint::Seats, 200) if abandon == Some(Abandon::AtSeats) => {
                self.counts.abandoned += 1;
                self.leave(id, think)
            }
            (Endpoint::Seats, 200) => self.backend_step(id, Stage::Holding, think),
            (Endpoint::Hold, 201) => {
                self.counts.holds += 1;
                if abandon == Some(Abandon::AtHold) {
                    self.counts.abandoned += 1;
                    return self.finish(id);
                }
                self.user(id).hold_id = StatusBody::of(reply).id;
                self.backend_step(id, Stage::Paying, think)
            }
            (Endpoint::Hold, 409 | 422) => {
                self.counts.sold_out += 1;
                self.leave(id, 0)
            }
            (Endpoint::Checkout, 201) => {
                self.counts.orders_confirmed += 1;
                self.finish(id)
            }
            (Endpoint::Checkout, 202) => {
                self.counts.orders_pending += 1;
                self.finish(id)
            }
            (Endpoint::Checkout, 402) => {
                self.counts.declined += 1;
                self.finish(id)
            }
            _ => self.retry(id, reply.retry_after_seconds, rng),
        }
    }
}

impl Script for Journey {
    fn arrive(&mut self, id: u64, rng: &mut SmallRng) -> Request {
        self.counts.arrived += 1;
        let abandon = self.pick_abandon(rng);
        *self.user(id) = User {
            stage: Stage::Joining,
            line_token: None,
            access_token: None,
            hold_id: None,
            polls: 0,
            failures: 0,
            abandon,
        };
        self.join_request()
    }

    fn answer(
        &mut self,
        id: u64,
        endpoint: Endpoint,
        answer: Answer<'_>,
        rng: &mut SmallRng,
    ) -> Next {
        let Answer::Reply(reply) = answer else {
            return self.retry(id, None, rng);
        };
        match endpoint {
            Endpoint::Join => self.on_join(id, reply, rng),
            Endpoint::Status => self.on_status(id, reply, rng),
            Endpoint::Enter => self.on_enter(id, reply, rng),
            Endpoint::Leave => self.finish(id),
            Endpoint::Seats | Endpoint::Hold | Endpoint::Checkout => {
                self.on_backend(id, endpoint, reply, rng)
            }
            Endpoint::Healthz => self.finish(id),
        }
    }

    fn report(&self) -> serde_json::Value {
        serde_json::to_value(self.counts).unwrap_or_default()
    }

    fn progress(&self) -> String {
        let counts = &self.counts;
        format!(
            "users {} in {} entered {} ordered {}",
            counts.arrived,
            counts.arrived - counts.finished,
            counts.entered,
            counts.orders_confirmed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rand::SeedableRng;

    fn reply(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            retry_after_seconds: None,
            body: Bytes::from(body.to_string()),
        }
    }

    fn step(
        journey: &mut Journey,
        endpoint: Endpoint,
        status: u16,
        body: serde_json::Value,
        rng: &mut SmallRng,
    ) -> Next {
        journey.answer(0, endpoint, Answer::Reply(&reply(status, body)), rng)
    }

    fn expect(next: Next, endpoint: Endpoint) -> (u64, Request) {
        match next {
            Next::After { delay_ms, request } => {
                assert_eq!(request.endpoint, endpoint, "{request:?}");
                (delay_ms, request)
            }
            Next::Done => panic!("expected {endpoint:?}, user finished"),
        }
    }

    fn config(goal: Goal) -> JourneyConfig {
        JourneyConfig {
            abandon_fraction: 0.0,
            think_ms: (100, 100),
            poll_jitter: 0.0,
            run_id: "t".into(),
            ..JourneyConfig::new("demo", goal)
        }
    }

    #[test]
    fn a_buyer_goes_all_the_way() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut journey = Journey::new(config(Goal::Buy));
        let first = journey.arrive(0, &mut rng);
        assert_eq!(first.endpoint, Endpoint::Join);
        assert_eq!(first.call.path, "/api/v1/events/demo/queue");

        let next = step(
            &mut journey,
            Endpoint::Join,
            201,
            json!({"token": "L", "state": "waiting", "position": 3, "poll_after_ms": 2500}),
            &mut rng,
        );
        let (delay, poll) = expect(next, Endpoint::Status);
        assert_eq!(delay, 2500);
        assert_eq!(poll.call.bearer.as_deref(), Some("L"));

        let next = step(
            &mut journey,
            Endpoint::Status,
            200,
            json!({"state": "ready", "poll_after_ms": 1000}),
            &mut rng,
        );
        let (delay, enter) = expect(next, Endpoint::Enter);
        assert_eq!(
            (delay, enter.call.path.as_str()),
            (0, "/api/v1/events/demo/queue/enter")
        );

        let next = step(
            &mut journey,
            Endpoint::Enter,
            200,
            json!({"access_token": "A", "expires_at": "x"}),
            &mut rng,
        );
        let (delay, seats) = expect(next, Endpoint::Seats);
        assert_eq!(delay, 100);
        assert_eq!(seats.call.bearer.as_deref(), Some("A"));

        let next = step(
            &mut journey,
            Endpoint::Seats,
            200,
            json!({"sections": []}),
            &mut rng,
        );
        let (_, hold) = expect(next, Endpoint::Hold);
        assert!(hold.call.idempotency_key.is_some());

        let next = step(
            &mut journey,
            Endpoint::Hold,
            201,
            json!({"id": "h1", "total_cents": 5}),
            &mut rng,
        );
        let (_, pay) = expect(next, Endpoint::Checkout);
        assert_eq!(pay.call.path, "/api/v1/holds/h1/checkout");
        assert!(
            String::from_utf8_lossy(pay.call.body.as_ref().unwrap()).contains("sandbox:approve")
        );

        let next = step(
            &mut journey,
            Endpoint::Checkout,
            201,
            json!({"order_id": "o", "status": "confirmed"}),
            &mut rng,
        );
        assert!(matches!(next, Next::Done));
        let counts = journey.counts();
        assert_eq!(
            (
                counts.joined,
                counts.admitted,
                counts.entered,
                counts.holds,
                counts.orders_confirmed,
                counts.finished
            ),
            (1, 1, 1, 1, 1, 1)
        );
    }

    #[test]
    fn fixed_polling_overrides_the_server() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut journey = Journey::new(JourneyConfig {
            poll_every_ms: Some(5000),
            ..config(Goal::Enter)
        });
        journey.arrive(0, &mut rng);
        let next = step(
            &mut journey,
            Endpoint::Join,
            201,
            json!({"token": "L", "state": "waiting", "poll_after_ms": 15000}),
            &mut rng,
        );
        assert_eq!(expect(next, Endpoint::Status).0, 5000);
    }

    #[test]
    fn first_polls_can_be_spread() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut journey = Journey::new(JourneyConfig {
            poll_every_ms: Some(5000),
            spread_first_poll: true,
            ..config(Goal::Enter)
        });
        let mut delays = Vec::new();
        for id in 0..200 {
            journey.arrive(id, &mut rng);
            let next = journey.answer(
                id,
                Endpoint::Join,
                Answer::Reply(&reply(201, json!({"token": "L", "state": "waiting"}))),
                &mut rng,
            );
            delays.push(expect(next, Endpoint::Status).0);
        }
        assert!(delays.iter().all(|&delay| (1..=5000).contains(&delay)));
        assert!(
            delays.iter().any(|&delay| delay < 1000) && delays.iter().any(|&delay| delay > 4000)
        );
        // Later polls keep the interval.
        let next = journey.answer(
            0,
            Endpoint::Status,
            Answer::Reply(&reply(200, json!({"state": "waiting"}))),
            &mut rng,
        );
        assert_eq!(expect(next, Endpoint::Status).0, 5000);
    }

    #[test]
    fn not_ready_goes_back_to_polling_and_expiry_ends() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut journey = Journey::new(config(Goal::Enter));
        journey.arrive(0, &mut rng);
        step(
            &mut journey,
            Endpoint::Join,
            201,
            json!({"token": "L", "state": "ready"}),
            &mut rng,
        );
        let next = step(
            &mut journey,
            Endpoint::Enter,
            409,
            json!({"state": "waiting", "poll_after_ms": 1200}),
            &mut rng,
        );
        assert_eq!(expect(next, Endpoint::Status).0, 1200);
        let next = step(
            &mut journey,
            Endpoint::Status,
            200,
            json!({"state": "expired"}),
            &mut rng,
        );
        assert!(matches!(next, Next::Done));
        assert_eq!(journey.counts().expired, 1);
    }

    #[test]
    fn failures_retry_then_give_up() {
        let mut rng = SmallRng::seed_from_u64(4);
        let mut journey = Journey::new(JourneyConfig {
            max_failures: 2,
            ..config(Goal::Enter)
        });
        journey.arrive(0, &mut rng);
        let overloaded = Reply {
            status: 503,
            retry_after_seconds: Some(2),
            body: Bytes::new(),
        };
        let next = journey.answer(0, Endpoint::Join, Answer::Reply(&overloaded), &mut rng);
        assert_eq!(expect(next, Endpoint::Join).0, 2000);
        let next = journey.answer(0, Endpoint::Join, Answer::Failed, &mut rng);
        expect(next, Endpoint::Join);
        let next = journey.answer(0, Endpoint::Join, Answer::Failed, &mut rng);
        assert!(matches!(next, Next::Done));
        assert_eq!(journey.counts().failed, 1);
    }

    #[test]
    fn entering_then_leaving_frees_the_slot() {
        let mut rng = SmallRng::seed_from_u64(5);
        let mut journey = Journey::new(JourneyConfig {
            leave_after_enter: true,
            ..config(Goal::Enter)
        });
        journey.arrive(0, &mut rng);
        step(
            &mut journey,
            Endpoint::Join,
            201,
            json!({"token": "L", "state": "ready"}),
            &mut rng,
        );
        let next = step(
            &mut journey,
            Endpoint::Enter,
            200,
            json!({"access_token": "A"}),
            &mut rng,
        );
        let (_, leave) = expect(next, Endpoint::Leave);
        assert_eq!(leave.call.method, Method::DELETE);
        assert_eq!(leave.call.bearer.as_deref(), Some("A"));
    }

    #[test]
    fn the_abandon_fraction_is_honoured() {
        let mut rng = SmallRng::seed_from_u64(6);
        let mut journey = Journey::new(JourneyConfig {
            abandon_fraction: 0.3,
            ..config(Goal::Wait)
        });
        let users = 2000;
        for id in 0..users {
            journey.arrive(id, &mut rng);
            let mut next = journey.answer(
                id,
                Endpoint::Join,
                Answer::Reply(&reply(201, json!({"token": "L", "state": "waiting"}))),
                &mut rng,
            );
            for _ in 0..5 {
                let Next::After { request, .. } = next else {
                    break;
                };
                next = journey.answer(
                    id,
                    request.endpoint,
                    Answer::Reply(&reply(200, json!({"state": "waiting"}))),
                    &mut rng,
                );
            }
        }
        let abandoned = journey.counts().abandoned as f64 / users as f64;
        assert!((0.25..0.35).contains(&abandoned), "{abandoned}");
    }
}
