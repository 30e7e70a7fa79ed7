//! Exact positions against a reference model, under random joins, leaves and silences.

use anyhow::ensure;
use breakwater_line::Clock;
use breakwater_line::EventId;
use breakwater_waitroom::QueueState;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::harness::Harness;

const TIMEOUT_MS: u64 = 6_000;
/// Silent this long (and the line this old) and a buyer must have been dropped: the
/// window rounded to epochs, plus one drop check.
const SURELY_DROPPED_MS: u64 = 10_500;

#[derive(Debug, Clone)]
enum Op {
    Join { silent: bool },
    Leave(usize),
    Tick(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(|silent| Op::Join { silent }),
        1 => any::<usize>().prop_map(Op::Leave),
        4 => (300u64..2500).prop_map(Op::Tick),
    ]
}

struct Buyer {
    token: String,
    number: u64,
    silent: bool,
    left: bool,
    last_poll_ms: u64,
}

/// What the model can say for sure about a buyer at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Waiting,
    Gone,
    /// Silent for about the heartbeat window: may or may not have been dropped yet.
    Either,
}

pub async fn positions_match_a_reference_model(h: Harness) -> anyhow::Result<()> {
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU32::new(0);
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
            let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            handle
                .block_on(run_case(&h, case, ops))
                .map_err(|error| TestCaseError::fail(format!("{error:#}")))
        })
    });
    outcome.map_err(|error| anyhow::anyhow!("{error}"))
}

async fn run_case(h: &Harness, case: u32, ops: Vec<Op>) -> anyhow::Result<()> {
    let event = h
        .event(&format!("model-{case}"), |s| {
            s.paused = true;
            s.heartbeat_timeout_seconds = (TIMEOUT_MS / 1000) as u32;
        })
        .await?;
    let created_ms = h.clock.now_ms();
    let mut buyers: Vec<Buyer> = Vec::new();
    for op in ops {
        let now = h.clock.now_ms();
        match op {
            Op::Join { silent } => {
                let token = h.join(&event).await?;
                let number = h.keys.verify_line(&token, event.as_str())?.number;
                buyers.push(Buyer {
                    token,
                    number,
                    silent,
                    left: false,
                    last_poll_ms: now,
                });
            }
            Op::Leave(pick) if !buyers.is_empty() => {
                let index = pick % buyers.len();
                if expect(&buyers[index], now, created_ms) == Expect::Waiting {
                    h.room.leave(&event, &buyers[index].token).await?;
                    buyers[index].left = true;
                }
            }
            Op::Leave(_) => {}
            Op::Tick(ms) => {
                h.clock.advance_ms(ms);
                // As the background sync would have, so polls are answered fresh.
                h.room.sync_all().await?;
                let now = h.clock.now_ms();
                for buyer in buyers.iter_mut().filter(|b| !b.silent && !b.left) {
                    h.status(&event, &buyer.token)?;
                    buyer.last_poll_ms = now;
                }
            }
        }
        h.settle().await?;
        check(h, &event, &buyers, created_ms)?;
    }
    Ok(())
}

fn expect(buyer: &Buyer, now: u64, created_ms: u64) -> Expect {
    let silence = now - buyer.last_poll_ms;
    if buyer.left {
        Expect::Gone
    } else if silence < TIMEOUT_MS {
        Expect::Waiting
    } else if silence >= SURELY_DROPPED_MS && now - created_ms >= SURELY_DROPPED_MS {
        Expect::Gone
    } else {
        Expect::Either
    }
}

fn check(h: &Harness, event: &EventId, buyers: &[Buyer], created_ms: u64) -> anyhow::Result<()> {
    let now = h.clock.now_ms();
    let expectations: Vec<Expect> = buyers.iter().map(|b| expect(b, now, created_ms)).collect();
    let mut last_position = 0;
    for (buyer, &expected) in buyers.iter().zip(&expectations) {
        // Polling counts as a heartbeat: only buyers who poll anyway, or who must be
        // gone (a gone buyer's poll changes nothing), are asked.
        let may_poll = (!buyer.silent && !buyer.left) || expected == Expect::Gone;
        if !may_poll {
            continue;
        }
        let status = h.status(event, &buyer.token)?;
        if expected == Expect::Gone {
            ensure!(
                status.state == QueueState::Expired,
                "buyer {} should be gone: {status:?}",
                buyer.number
            );
            continue;
        }
        ensure!(status.state == QueueState::Waiting, "{status:?}");
        let ahead = |wanted: Expect| {
            buyers
                .iter()
                .zip(&expectations)
                .filter(|(other, e)| other.number < buyer.number && **e == wanted)
                .count() as u64
        };
        let low = 1 + ahead(Expect::Waiting);
        let high = low + ahead(Expect::Either);
        let position = status.position.unwrap_or(0);
        ensure!(
            (low..=high).contains(&position),
            "buyer {} at {position}, expected {low}..={high}",
            buyer.number
        );
        ensure!(position > last_position, "positions out of order");
        last_position = position;
    }
    let definite = expectations
        .iter()
        .filter(|e| **e == Expect::Waiting)
        .count() as u64;
    let maybe = expectations
        .iter()
        .filter(|e| **e == Expect::Either)
        .count() as u64;
    let waiting = h.room.stats(event)?.waiting;
    ensure!(
        (definite..=definite + maybe).contains(&waiting),
        "{waiting} waiting, expected {definite}..={}",
        definite + maybe
    );
    Ok(())
}
