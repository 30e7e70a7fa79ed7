//! What virtual users do: a script answers "what does this user send next, and when".
//!
//! Scripts are plain state machines with no clocks or I/O of their own, so they are unit
//! tested without a server; the driver owns time and the network.

use rand::rngs::SmallRng;

use crate::endpoint::Endpoint;
use crate::http::{Call, Reply};

/// One request a virtual user sends.
#[derive(Debug, Clone)]
pub struct Request {
    /// What it is measured as.
    pub endpoint: Endpoint,
    /// What is sent.
    pub call: Call,
}

/// What a user does after a reply.
#[derive(Debug, Clone)]
pub enum Next {
    /// Sends `request` `delay_ms` after the reply arrived.
    After {
        /// Think time or polling interval.
        delay_ms: u64,
        /// The request.
        request: Request,
    },
    /// The user is finished.
    Done,
}

/// How a request ended, as a script sees it.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// The server answered.
    Reply(&'a Reply),
    /// No answer: timeout, broken connection, or the load generator's own bound.
    Failed,
}

/// The behaviour of every virtual user of a run.
pub trait Script: Send {
    /// User `user` (numbered from 0 in arrival order) arrives; their first request.
    fn arrive(&mut self, user: u64, rng: &mut SmallRng) -> Request;

    /// `user`'s request to `endpoint` ended with `answer`; what they do next.
    fn answer(
        &mut self,
        user: u64,
        endpoint: Endpoint,
        answer: Answer<'_>,
        rng: &mut SmallRng,
    ) -> Next;

    /// Script-specific counts for the summary (e.g. how many users bought).
    fn report(&self) -> serde_json::Value;

    /// One short line of the script's progress for the live display.
    fn progress(&self) -> String {
        String::new()
    }
}

/// Users who each send one request and leave: fixed-rate probes of one endpoint, e.g.
/// status polls with tokens drawn from a pool.
pub struct OneShot<F> {
    make: F,
}

impl<F> OneShot<F>
where
    F: FnMut(u64, &mut SmallRng) -> Request + Send,
{
    /// Each arriving user sends `make(user, rng)`.
    pub fn new(make: F) -> Self {
        Self { make }
    }
}

impl<F> Script for OneShot<F>
where
    F: FnMut(u64, &mut SmallRng) -> Request + Send,
{
    fn arrive(&mut self, user: u64, rng: &mut SmallRng) -> Request {
        (self.make)(user, rng)
    }

    fn answer(&mut self, _: u64, _: Endpoint, _: Answer<'_>, _: &mut SmallRng) -> Next {
        Next::Done
    }

    fn report(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
