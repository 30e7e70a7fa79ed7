//! The behaviours every store must give, each proven on a running waiting room.

use anyhow::ensure;
use breakwater_line::{Clock, EventId};
use breakwater_tokens::{LineToken, ProofError, TokenError, TokenKeys, solve};
use breakwater_waitroom::{QueueState, WaitroomError};

use crate::harness::Harness;

fn position(h: &Harness, event: &EventId, token: &str) -> anyhow::Result<Option<u64>> {
    let status = h.status(event, token)?;
    ensure!(
        status.state == QueueState::Waiting,
        "expected waiting, got {status:?}"
    );
    Ok(status.position)
}

fn state(h: &Harness, event: &EventId, token: &str) -> anyhow::Result<QueueState> {
    Ok(h.status(event, token)?.state)
}

async fn join_many(h: &Harness, event: &EventId, count: usize) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count {
        tokens.push(h.join(event).await?);
    }
    Ok(tokens)
}

fn number_of(h: &Harness, event: &EventId, token: &str) -> anyhow::Result<u64> {
    Ok(h.keys.verify_line(token, event.as_str())?.number)
}

/// Admission order is join order, and `position` counts exactly those still waiting ahead.
pub async fn fifo_admission_and_exact_positions(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("fifo", |s| {
            s.admission_rate_per_second = 2.0;
            s.paused = true;
        })
        .await?;
    let tokens = join_many(&h, &event, 8).await?;
    h.settle().await?;
    for (i, token) in tokens.iter().enumerate() {
        ensure!(position(&h, &event, token)? == Some(i as u64 + 1));
    }
    set_paused(&h, &event, false).await?;
    for round in 0..tokens.len() {
        h.advance(500).await?;
        for (i, token) in tokens.iter().enumerate() {
            if i <= round {
                ensure!(
                    state(&h, &event, token)? == QueueState::Ready,
                    "round {round}: buyer {i} should be ready"
                );
            } else {
                let expected = (i - round) as u64;
                ensure!(
                    position(&h, &event, token)? == Some(expected),
                    "round {round}: buyer {i} should be at {expected}"
                );
            }
        }
    }
    Ok(())
}

/// A buyer silent for the heartbeat window drops out; the one behind moves up.
pub async fn silent_buyer_drops_out_and_line_moves_up(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("silence", |s| {
            s.paused = true;
            s.heartbeat_timeout_seconds = 6;
        })
        .await?;
    let [a, b, c] = <[String; 3]>::try_from(join_many(&h, &event, 3).await?).unwrap();
    h.settle().await?;
    ensure!(position(&h, &event, &c)? == Some(3));
    // Only a and c poll (asking about b would be b's heartbeat); c moves up when b is out.
    let mut silent_ms = 0;
    while position(&h, &event, &c)? == Some(3) {
        ensure!(silent_ms <= 20_000, "silent buyer never dropped out");
        h.advance(1000).await?;
        silent_ms += 1000;
        position(&h, &event, &a)?;
    }
    ensure!(
        silent_ms >= 6_000,
        "dropped after only {silent_ms} ms of silence"
    );
    ensure!(state(&h, &event, &b)? == QueueState::Expired);
    ensure!(position(&h, &event, &a)? == Some(1));
    ensure!(position(&h, &event, &c)? == Some(2));
    Ok(())
}

/// A heartbeat timeout lowered live applies within one new window, not after the old one.
pub async fn lowered_heartbeat_timeout_applies_within_the_new_window(
    h: Harness,
) -> anyhow::Result<()> {
    let event = h
        .event("retimed", |s| {
            s.paused = true;
            s.heartbeat_timeout_seconds = 600;
        })
        .await?;
    let [a, b] = <[String; 2]>::try_from(join_many(&h, &event, 2).await?).unwrap();
    h.settle().await?;
    let mut settings = h.room.event(&event)?.settings;
    settings.heartbeat_timeout_seconds = 6;
    h.room.update_event(&event, &settings).await?;
    // Only b polls; a is silent from now on.
    let mut silent_ms = 0;
    while position(&h, &event, &b)? == Some(2) {
        ensure!(silent_ms <= 20_000, "the new timeout never applied");
        h.advance(1000).await?;
        silent_ms += 1000;
    }
    ensure!(silent_ms >= 6_000, "dropped after only {silent_ms} ms");
    ensure!(state(&h, &event, &a)? == QueueState::Expired);
    Ok(())
}

/// A ready buyer who lets the claim window pass loses the place; the next gets the slot.
pub async fn ready_buyer_who_does_not_enter_forfeits(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("forfeit", |s| {
            s.admission_rate_per_second = 100.0;
            s.max_active_users = 1;
            s.claim_window_seconds = 2;
        })
        .await?;
    let [a, b] = <[String; 2]>::try_from(join_many(&h, &event, 2).await?).unwrap();
    h.settle().await?;
    h.advance(100).await?;
    ensure!(state(&h, &event, &a)? == QueueState::Ready);
    ensure!(h.status(&event, &a)?.enter_by_ms.is_some());
    ensure!(position(&h, &event, &b)? == Some(1), "the cap holds b back");
    h.advance(1000).await?;
    ensure!(state(&h, &event, &a)? == QueueState::Ready);
    ensure!(position(&h, &event, &b)? == Some(1));
    h.advance(1500).await?;
    h.settle().await?;
    ensure!(state(&h, &event, &a)? == QueueState::Expired);
    ensure!(matches!(
        h.room.enter(&event, &a).await,
        Err(WaitroomError::PlaceExpired)
    ));
    ensure!(state(&h, &event, &b)? == QueueState::Ready);
    h.room.enter(&event, &b).await?;
    Ok(())
}

/// Admissions follow the configured rate (GCRA in the store), in line order.
pub async fn admission_rate_is_paced(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("rate", |s| {
            s.admission_rate_per_second = 50.0;
            s.max_active_users = 10_000;
        })
        .await?;
    let tokens = join_many(&h, &event, 400).await?;
    h.settle().await?;
    for _ in 0..250 {
        h.clock.advance_ms(20);
        h.room.pace_all().await?;
        h.room.sync_all().await?;
    }
    let admitted = h.room.stats(&event)?.admitted_total;
    // 5 s at 50/s, plus at most the tolerance's worth (40 ms: 2 buyers).
    ensure!((248..=252).contains(&admitted), "admitted {admitted}");
    for (i, token) in tokens.iter().enumerate() {
        let expected = if (i as u64) < admitted {
            QueueState::Ready
        } else {
            QueueState::Waiting
        };
        ensure!(state(&h, &event, token)? == expected, "buyer {i}");
    }
    Ok(())
}

/// Ready plus entered buyers never exceed the cap; a slot frees when a session ends.
pub async fn active_cap_holds_and_frees_on_leave(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("cap", |s| {
            s.admission_rate_per_second = 1000.0;
            s.max_active_users = 3;
        })
        .await?;
    let tokens = join_many(&h, &event, 6).await?;
    h.settle().await?;
    h.advance(100).await?;
    h.advance(100).await?;
    let stats = h.room.stats(&event)?;
    ensure!(stats.ready == 3 && stats.admitted_total == 3, "{stats:?}");
    let first = h.room.enter(&event, &tokens[0]).await?;
    let second = h.room.enter(&event, &tokens[1]).await?;
    h.advance(100).await?;
    let stats = h.room.stats(&event)?;
    ensure!(
        stats.ready == 1 && stats.entered == 2 && stats.admitted_total == 3,
        "{stats:?}"
    );
    ensure!(position(&h, &event, &tokens[3])? == Some(1));
    h.room.leave(&event, &first.access_token).await?;
    h.advance(100).await?;
    ensure!(state(&h, &event, &tokens[3])? == QueueState::Ready);
    let second = h.room.verify_access(&second.access_token, Some(&event))?;
    h.room.finish(&event, &second).await?;
    h.advance(100).await?;
    ensure!(state(&h, &event, &tokens[4])? == QueueState::Ready);
    ensure!(position(&h, &event, &tokens[5])? == Some(1));
    let stats = h.room.stats(&event)?;
    ensure!(stats.ready + stats.entered <= 3, "{stats:?}");
    Ok(())
}

/// A line token enters once; the second attempt is refused.
pub async fn one_token_enters_once(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("once", |s| s.admission_rate_per_second = 100.0)
        .await?;
    let token = h.join(&event).await?;
    h.settle().await?;
    h.advance(100).await?;
    let admission = h.room.enter(&event, &token).await?;
    let access = h
        .room
        .verify_access(&admission.access_token, Some(&event))?;
    ensure!(access.number == number_of(&h, &event, &token)?);
    match h.room.enter(&event, &token).await {
        Err(WaitroomError::AlreadyEntered(status)) => {
            ensure!(status.state == QueueState::Entered)
        }
        other => anyhow::bail!("second enter gave {other:?}"),
    }
    ensure!(state(&h, &event, &token)? == QueueState::Entered);
    Ok(())
}

/// Tokens are bound to their event; forged and tampered tokens are refused.
pub async fn tokens_of_other_events_and_forgeries_are_refused(h: Harness) -> anyhow::Result<()> {
    let x = h
        .event("x", |s| s.admission_rate_per_second = 100.0)
        .await?;
    let y = h.event("y", |_| {}).await?;
    let token = h.join(&x).await?;
    h.settle().await?;
    h.advance(100).await?;
    ensure!(matches!(
        h.status(&y, &token),
        Err(WaitroomError::Token(TokenError::WrongEvent))
    ));
    ensure!(matches!(
        h.room.enter(&y, &token).await,
        Err(WaitroomError::Token(TokenError::WrongEvent))
    ));
    let forged = TokenKeys::new(b"not the secret").sign_line(&LineToken {
        event: "x".into(),
        lineage: h.keys.verify_line(&token, "x")?.lineage,
        number: 0,
        issued_at_ms: 0,
    });
    ensure!(matches!(
        h.room.enter(&x, &forged).await,
        Err(WaitroomError::Token(TokenError::BadSignature))
    ));
    let tampered = token.replacen(".0.", ".1.", 1);
    ensure!(h.status(&x, &tampered).is_err());
    let admission = h.room.enter(&x, &token).await?;
    ensure!(matches!(
        h.room.verify_access(&admission.access_token, Some(&y)),
        Err(WaitroomError::Token(TokenError::WrongEvent))
    ));
    ensure!(matches!(
        h.status(&x, &admission.access_token),
        Err(WaitroomError::Token(TokenError::WrongKind))
    ));
    Ok(())
}

/// The store loses everything mid-sale (Redis flushed under a running gateway, or the
/// embedded process restarted): everyone who polls again keeps place and order, new
/// joins come after them, and admission continues in order.
pub async fn recovery_after_the_store_loses_everything(mut h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("recover", |s| {
            s.admission_rate_per_second = 1.0;
            s.claim_window_seconds = 600;
        })
        .await?;
    let tokens = join_many(&h, &event, 6).await?;
    h.settle().await?;
    ensure!(state(&h, &event, &tokens[0])? == QueueState::Ready);
    ensure!(position(&h, &event, &tokens[1])? == Some(1));
    // Paused so that places can be checked before the line moves on.
    set_paused(&h, &event, true).await?;
    h.lose_everything().await?;
    recover(&h).await?;
    // Everyone polls again (some polls may be refused while the line is restored).
    for _ in 0..2 {
        for token in &tokens {
            let _ = h.status(&event, token);
        }
        recover(&h).await?;
    }
    let first = h.status(&event, &tokens[0])?;
    ensure!(
        first.state == QueueState::Ready,
        "the admitted buyer lost their admission: {first:?}"
    );
    for (i, token) in tokens.iter().enumerate().skip(1) {
        ensure!(
            position(&h, &event, token)? == Some(i as u64),
            "buyer {i} lost their place"
        );
    }
    let late = h.join(&event).await?;
    h.settle().await?;
    ensure!(position(&h, &event, &late)? == Some(tokens.len() as u64));
    let mut order = tokens[1..].to_vec();
    order.push(late);
    set_paused(&h, &event, false).await?;
    for i in 0..order.len() {
        h.advance(1000).await?;
        for (j, later) in order.iter().enumerate() {
            let expected = if j <= i {
                QueueState::Ready
            } else {
                QueueState::Waiting
            };
            ensure!(
                state(&h, &event, later)? == expected,
                "after {i}: buyer {j}"
            );
        }
    }
    Ok(())
}

async fn set_paused(h: &Harness, event: &EventId, paused: bool) -> anyhow::Result<()> {
    let mut settings = h.room.event(event)?.settings;
    settings.paused = paused;
    h.room.update_event(event, &settings).await?;
    Ok(())
}

/// Runs the background steps until they succeed: the first ones after a loss find the
/// state gone and restore it.
async fn recover(h: &Harness) -> anyhow::Result<()> {
    let mut last = None;
    for _ in 0..5 {
        match h.settle().await {
            Ok(()) => return Ok(()),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("never settled")))
}

/// Before opening everyone waits in a pre-queue; at opening they are placed in a random
/// order ahead of everyone who joins after.
pub async fn pre_queue_is_placed_by_lottery_ahead_of_later_joins(h: Harness) -> anyhow::Result<()> {
    let opens_in = 10_000;
    let event = h
        .event("lottery", |s| {
            s.admission_rate_per_second = 1.0;
            s.opens_at_ms += opens_in;
        })
        .await?;
    let early = join_many(&h, &event, 30).await?;
    h.settle().await?;
    for token in &early {
        let status = h.status(&event, token)?;
        ensure!(status.state == QueueState::Waiting && status.position.is_none());
        ensure!(status.eta_seconds == Some(opens_in / 1000), "{status:?}");
    }
    ensure!(h.room.event(&event)?.state == breakwater_line::EventState::Scheduled);
    h.advance(opens_in).await?;
    ensure!(h.room.event(&event)?.state == breakwater_line::EventState::Open);
    let mut places = Vec::new();
    for token in &early {
        places.push(position(&h, &event, token)?.unwrap_or(0));
    }
    let mut sorted = places.clone();
    sorted.sort_unstable();
    ensure!(
        sorted == (1..=30).collect::<Vec<u64>>(),
        "places {places:?}"
    );
    ensure!(places != sorted, "the lottery kept arrival order");
    let late = join_many(&h, &event, 5).await?;
    h.settle().await?;
    let admitted = h.room.stats(&event)?.admitted_total;
    for (i, token) in late.iter().enumerate() {
        ensure!(position(&h, &event, token)? == Some(31 + i as u64 - admitted));
    }
    // The first admitted is the lottery's winner.
    h.advance(1000).await?;
    ensure!(h.room.stats(&event)?.admitted_total >= 1);
    let winner = places.iter().position(|&place| place == 1).unwrap_or(0);
    ensure!(state(&h, &event, &early[winner])? == QueueState::Ready);
    Ok(())
}

/// A paused line admits nobody while polls and joins keep working; resuming admits.
pub async fn paused_line_admits_nobody_until_resumed(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("pause", |s| {
            s.admission_rate_per_second = 100.0;
            s.paused = true;
        })
        .await?;
    let tokens = join_many(&h, &event, 3).await?;
    h.settle().await?;
    h.advance(2000).await?;
    ensure!(h.room.stats(&event)?.admitted_total == 0);
    ensure!(position(&h, &event, &tokens[2])? == Some(3));
    ensure!(h.status(&event, &tokens[0])?.eta_seconds.is_none());
    let late = h.join(&event).await?;
    h.settle().await?;
    ensure!(position(&h, &event, &late)? == Some(4));
    set_paused(&h, &event, false).await?;
    h.advance(100).await?;
    ensure!(state(&h, &event, &tokens[0])? == QueueState::Ready);
    Ok(())
}

/// A buyer who leaves is out for good, and everyone behind moves up.
pub async fn leaving_moves_the_line_up(h: Harness) -> anyhow::Result<()> {
    let event = h.event("leave", |s| s.paused = true).await?;
    let [a, b, c] = <[String; 3]>::try_from(join_many(&h, &event, 3).await?).unwrap();
    h.settle().await?;
    h.room.leave(&event, &b).await?;
    h.settle().await?;
    ensure!(position(&h, &event, &a)? == Some(1));
    ensure!(position(&h, &event, &c)? == Some(2));
    ensure!(state(&h, &event, &b)? == QueueState::Expired);
    ensure!(matches!(
        h.room.enter(&event, &b).await,
        Err(WaitroomError::PlaceExpired)
    ));
    Ok(())
}

pub use crate::model::positions_match_a_reference_model;

/// The rates a line is held to, including ones that divide no pacer step.
const RATES: [f64; 12] = [
    0.1, 0.3, 1.0, 7.0, 13.0, 20.0, 33.0, 50.0, 333.0, 1000.0, 1234.0, 5000.0,
];

/// Admissions follow the configured rate at every rate, on one gateway: over a minute of
/// pacer steps that run up to 75 ms late, within 1 % of the rate, and never more than one
/// admission ahead of it at any moment.
pub async fn admission_rate_is_exact_at_every_rate(h: Harness) -> anyhow::Result<()> {
    admission_rate_over_a_minute(h, 1).await
}

/// The same with three gateways stepping side by side (one holds the pacer lease; the
/// pacing state lives in the store).
pub async fn admission_rate_is_exact_with_three_gateways(h: Harness) -> anyhow::Result<()> {
    admission_rate_over_a_minute(h, 3).await
}

async fn admission_rate_over_a_minute(h: Harness, gateways: usize) -> anyhow::Result<()> {
    let mut events = Vec::new();
    for (i, &rate) in RATES.iter().enumerate() {
        let event = h
            .event(&format!("rate-{i}"), |s| {
                s.admission_rate_per_second = rate;
                s.max_active_users = 10_000_000;
                s.heartbeat_timeout_seconds = 7 * 24 * 3600;
                s.paused = true;
            })
            .await?;
        h.join_bulk(&event, (rate * 61.0).ceil() as u64 + 10)
            .await?;
        events.push((event, rate));
    }
    let mut rooms = vec![h.room.clone()];
    for _ in 1..gateways {
        rooms.push(h.another_gateway().await);
    }
    for (event, _) in &events {
        set_paused(&h, event, false).await?;
    }
    let start = h.clock.now_ms();
    // Steps every 20 ms, late by 0..15 ms, and every 37th by 75 ms (within the catch-up).
    let mut step = 0u64;
    while h.clock.now_ms() < start + 60_000 {
        step += 1;
        let late = if step.is_multiple_of(37) {
            75
        } else {
            step * 7919 % 16
        };
        h.clock.advance_ms(20 + late);
        for room in &rooms {
            room.pace_all().await?;
        }
        for room in &rooms {
            room.sync_all().await?;
        }
        let elapsed = (h.clock.now_ms() - start) as f64 / 1000.0;
        for (event, rate) in &events {
            let admitted = h.room.stats(event)?.admitted_total as f64;
            ensure!(
                admitted <= (rate * elapsed + 1e-6).floor() + 1.0,
                "rate {rate}: {admitted} admitted after {elapsed} s: ahead of the schedule"
            );
        }
    }
    let elapsed = (h.clock.now_ms() - start) as f64 / 1000.0;
    for (event, rate) in &events {
        let admitted = h.room.stats(event)?.admitted_total as f64;
        let owed = rate * elapsed;
        ensure!(
            admitted >= owed * 0.99 && admitted <= owed.floor() + 1.0,
            "rate {rate}: {admitted} admitted in {elapsed} s, owed {owed:.1}"
        );
    }
    Ok(())
}

/// What each buyer became — entered, left, forfeited, finished, ready, waiting — is what
/// they are after the store lost everything (a flushed Redis, a restarted `serve`): nobody
/// enters twice, nobody who left is back in line, the active cap counts the same.
pub async fn every_fate_survives_the_store_losing_everything(mut h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("fates", |s| {
            s.admission_rate_per_second = 1000.0;
            s.claim_window_seconds = 5;
            s.paused = true;
        })
        .await?;
    let tokens = join_many(&h, &event, 8).await?;
    h.settle().await?;
    // 0 is admitted first and forfeits (its claim window runs out); 1 enters; 2 enters and
    // finishes; 3 gives its ready place up; 4 stays ready; 5 leaves the line; 6 and 7 wait.
    // (A fresh schedule admits one at once, then one a millisecond.)
    set_paused(&h, &event, false).await?;
    h.advance(2).await?;
    set_paused(&h, &event, true).await?;
    h.advance(2000).await?;
    set_paused(&h, &event, false).await?;
    h.advance(2).await?;
    h.advance(3).await?;
    set_paused(&h, &event, true).await?;
    ensure!(
        h.room.stats(&event)?.admitted_total == 5,
        "{:?}",
        h.room.stats(&event)?
    );
    let entered = h.room.enter(&event, &tokens[1]).await?;
    let finished = h.room.enter(&event, &tokens[2]).await?;
    h.room.leave(&event, &finished.access_token).await?;
    h.room.leave(&event, &tokens[3]).await?;
    h.room.leave(&event, &tokens[5]).await?;
    h.advance(3500).await?;
    ensure!(state(&h, &event, &tokens[0])? == QueueState::Expired);
    ensure!(state(&h, &event, &tokens[4])? == QueueState::Ready);
    let before = h.room.stats(&event)?;
    let states_before: Vec<QueueState> = tokens
        .iter()
        .map(|t| state(&h, &event, t))
        .collect::<Result<_, _>>()?;
    h.lose_everything().await?;
    recover(&h).await?;
    for _ in 0..2 {
        for token in &tokens {
            let _ = h.status(&event, token);
        }
        recover(&h).await?;
    }
    let states_after: Vec<QueueState> = tokens
        .iter()
        .map(|t| state(&h, &event, t))
        .collect::<Result<_, _>>()?;
    ensure!(
        states_after == states_before,
        "{states_before:?} became {states_after:?}"
    );
    let after = h.room.stats(&event)?;
    ensure!(
        (after.entered, after.admitted_total) == (before.entered, before.admitted_total),
        "{before:?} became {after:?}"
    );
    for (i, token) in [&tokens[1], &tokens[2]].into_iter().enumerate() {
        ensure!(
            matches!(
                h.room.enter(&event, token).await,
                Err(WaitroomError::AlreadyEntered(_))
            ),
            "entered buyer {i} entered again"
        );
    }
    h.room.enter(&event, &tokens[4]).await?;
    for token in [&tokens[0], &tokens[3], &tokens[5]] {
        ensure!(matches!(
            h.room.enter(&event, token).await,
            Err(WaitroomError::PlaceExpired)
        ));
    }
    let entered = h.room.verify_access(&entered.access_token, Some(&event))?;
    h.room.check_session(&event, &entered)?;
    let finished = h.room.verify_access(&finished.access_token, Some(&event))?;
    ensure!(matches!(
        h.room.check_session(&event, &finished),
        Err(WaitroomError::SessionEnded)
    ));
    ensure!(position(&h, &event, &tokens[6])? == Some(1));
    ensure!(position(&h, &event, &tokens[7])? == Some(2));
    Ok(())
}

/// A session ends when the buyer leaves with the access token or finishes (order
/// confirmed), on every gateway: the token may then only read, and the slot goes on.
pub async fn an_ended_session_buys_nothing_more(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("session", |s| {
            s.admission_rate_per_second = 1000.0;
            s.max_active_users = 2;
        })
        .await?;
    let other = h.another_gateway().await;
    let tokens = join_many(&h, &event, 3).await?;
    h.settle().await?;
    h.advance(10).await?;
    let leaving = h.room.enter(&event, &tokens[0]).await?;
    let leaving = h.room.verify_access(&leaving.access_token, Some(&event))?;
    let buying = h.room.enter(&event, &tokens[1]).await?;
    let buying = h.room.verify_access(&buying.access_token, Some(&event))?;
    other.sync_all().await?;
    for room in [&h.room, &other] {
        room.check_session(&event, &leaving)?;
        room.check_session(&event, &buying)?;
    }
    ensure!(
        position(&h, &event, &tokens[2])? == Some(1),
        "the cap holds the third"
    );
    let token = h.keys.sign_access(&leaving);
    h.room.leave(&event, &token).await?;
    h.room.finish(&event, &buying).await?;
    h.settle().await?;
    other.sync_all().await?;
    for room in [&h.room, &other] {
        for buyer in [&leaving, &buying] {
            ensure!(matches!(
                room.check_session(&event, buyer),
                Err(WaitroomError::SessionEnded)
            ));
            room.verify_buyer(&h.keys.sign_access(buyer), Some(&event))?;
        }
    }
    h.advance(10).await?;
    ensure!(
        state(&h, &event, &tokens[2])? == QueueState::Ready,
        "the slots went on"
    );
    Ok(())
}

/// A line that starts again from nothing (the store and every gateway lost it) hands
/// its numbers out in a new lineage: the new buyer #0 is not the old buyer #0, and old
/// tokens are refused rather than taken for someone else's.
pub async fn a_line_started_afresh_never_reuses_a_buyer(mut h: Harness) -> anyhow::Result<()> {
    let settings = |s: &mut breakwater_line::LineSettings| s.admission_rate_per_second = 1000.0;
    let event = h.event("afresh", settings).await?;
    let old = join_many(&h, &event, 2).await?;
    h.settle().await?;
    h.advance(10).await?;
    let old_access = h.room.enter(&event, &old[0]).await?;
    let old_access = h
        .room
        .verify_access(&old_access.access_token, Some(&event))?;
    h.lose_the_deployment().await?;
    h.event("afresh", settings).await?;
    let new = join_many(&h, &event, 2).await?;
    h.settle().await?;
    let (old_line, new_line) = (
        h.keys.verify_line(&old[0], "afresh")?,
        h.keys.verify_line(&new[0], "afresh")?,
    );
    ensure!(
        old_line.number == new_line.number,
        "numbers start again from zero"
    );
    ensure!(
        old_line.lineage != new_line.lineage,
        "the lineage was reused"
    );
    for token in &old {
        ensure!(state(&h, &event, token)? == QueueState::Expired);
        ensure!(matches!(
            h.room.enter(&event, token).await,
            Err(WaitroomError::PlaceExpired)
        ));
    }
    ensure!(matches!(
        h.room.check_session(&event, &old_access),
        Err(WaitroomError::SessionEnded)
    ));
    h.advance(10).await?;
    let new_access = h.room.enter(&event, &new[0]).await?;
    let new_access = h
        .room
        .verify_access(&new_access.access_token, Some(&event))?;
    ensure!(new_access.number == old_access.number);
    ensure!(new_access.buyer_id() != old_access.buyer_id());
    Ok(())
}

/// The line knows the stock: a coarse seats-left hint while selling; once nothing is left
/// and nothing held can come back, everyone waiting or ready is told `sold_out` at once
/// (on every gateway), nobody joins or enters for nothing and the pacer admits nobody;
/// the level survives the store losing everything, and seats that come back reopen it.
pub async fn the_line_knows_the_stock(mut h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("stock", |s| {
            s.admission_rate_per_second = 1000.0;
            s.paused = true;
        })
        .await?;
    let tokens = join_many(&h, &event, 3).await?;
    h.settle().await?;
    ensure!(h.status(&event, &tokens[0])?.seats_left.is_none());
    h.room.observe_stock(&event, 1_500, 0).await?;
    ensure!(h.status(&event, &tokens[0])?.seats_left == Some(1_000));
    let other = h.another_gateway().await;
    other.sync_all().await?;
    ensure!(other.status(&event, &tokens[1])?.seats_left == Some(1_000));
    // Everything held: nothing on sale now, but some may come back.
    h.room.observe_stock(&event, 0, 2).await?;
    let status = h.status(&event, &tokens[1])?;
    ensure!(status.state == QueueState::Waiting && status.seats_left == Some(0));
    set_paused(&h, &event, false).await?;
    h.advance(2).await?;
    set_paused(&h, &event, true).await?;
    ensure!(state(&h, &event, &tokens[0])? == QueueState::Ready);
    h.room.observe_stock(&event, 0, 0).await?;
    other.sync_all().await?;
    for room in [&h.room, &other] {
        for token in &tokens {
            ensure!(room.status(&event, token)?.state == QueueState::SoldOut);
        }
    }
    ensure!(matches!(
        h.room.join(&event).await,
        Err(WaitroomError::SoldOut)
    ));
    ensure!(matches!(
        h.room.enter(&event, &tokens[0]).await,
        Err(WaitroomError::SoldOut)
    ));
    set_paused(&h, &event, false).await?;
    h.advance(100).await?;
    ensure!(
        h.room.stats(&event)?.admitted_total == 1,
        "admitted while sold out"
    );
    h.lose_everything().await?;
    recover(&h).await?;
    for token in &tokens {
        let _ = h.status(&event, token);
    }
    recover(&h).await?;
    ensure!(state(&h, &event, &tokens[1])? == QueueState::SoldOut);
    // A refund put seats back on sale.
    h.room.observe_stock(&event, 3, 0).await?;
    let status = h.status(&event, &tokens[2])?;
    ensure!(
        status.state == QueueState::Waiting && status.seats_left == Some(1),
        "{status:?}"
    );
    Ok(())
}

/// The wait is given as a range: the low end counts on buyers ahead leaving as often as
/// buyers have so far, the high end on nobody leaving; when the active cap holds the line
/// back there is no honest high end.
pub async fn the_wait_is_an_honest_range(h: Harness) -> anyhow::Result<()> {
    let event = h
        .event("range", |s| {
            s.admission_rate_per_second = 1.0;
            s.max_active_users = 100;
            s.paused = true;
        })
        .await?;
    let tokens = join_many(&h, &event, 12).await?;
    h.settle().await?;
    set_paused(&h, &event, false).await?;
    let status = h.status(&event, &tokens[11])?;
    ensure!(
        status.eta_low_seconds == status.eta_seconds
            && status.eta_high_seconds == status.eta_seconds,
        "nobody left yet: {status:?}"
    );
    for token in &tokens[1..5] {
        h.room.leave(&event, token).await?;
    }
    h.settle().await?;
    h.advance(100).await?;
    let status = h.status(&event, &tokens[11])?;
    let (low, high) = (status.eta_low_seconds, status.eta_high_seconds);
    ensure!(
        low.zip(high).is_some_and(|(low, high)| low < high) && high == status.eta_seconds,
        "{status:?}"
    );
    let mut settings = h.room.event(&event)?.settings;
    settings.max_active_users = 1;
    h.room.update_event(&event, &settings).await?;
    h.settle().await?;
    let status = h.status(&event, &tokens[11])?;
    ensure!(
        status.eta_high_seconds.is_none() && status.eta_low_seconds.is_some(),
        "the cap binds: {status:?}"
    );
    Ok(())
}

/// An event that asks a proof of work refuses joins without one, takes each solved
/// challenge once, and every gateway applies a raised difficulty to new and old
/// challenges alike; events that ask none are unaffected.
pub async fn a_join_pays_the_proof_of_work_the_event_asks_once(h: Harness) -> anyhow::Result<()> {
    let event = h.event("proofs", |s| s.join_proof_bits = 8).await?;
    let free = h.event("free", |_| {}).await?;
    ensure!(matches!(
        h.room.join(&event).await,
        Err(WaitroomError::ProofRequired { bits: 8 })
    ));
    h.join(&free).await?;

    let challenge = h.room.join_challenge(&event)?;
    ensure!(challenge.bits == 8);
    let proof = solve(&challenge.text, challenge.bits);
    h.room.join_with_proof(&event, Some(&proof)).await?;
    ensure!(matches!(
        h.room.join_with_proof(&event, Some(&proof)).await,
        Err(WaitroomError::ProofUsed)
    ));
    let elsewhere = solve(&h.room.join_challenge(&free)?.text, 8);
    ensure!(matches!(
        h.room.join_with_proof(&event, Some(&elsewhere)).await,
        Err(WaitroomError::Proof(ProofError::WrongEvent))
    ));

    // Raised to 10: another gateway learns it from the store, and an 8-bit challenge
    // issued before is too easy now.
    let early = solve(&h.room.join_challenge(&event)?.text, 8);
    let mut settings = h.room.event(&event)?.settings;
    settings.join_proof_bits = 10;
    h.room.update_event(&event, &settings).await?;
    let other = h.another_gateway().await;
    other.sync_all().await?;
    ensure!(matches!(
        other.join_with_proof(&event, Some(&early)).await,
        Err(WaitroomError::Proof(ProofError::TooEasy { required: 10 }))
    ));
    let fresh = other.join_challenge(&event)?;
    ensure!(fresh.bits == 10);
    other
        .join_with_proof(&event, Some(&solve(&fresh.text, fresh.bits)))
        .await?;
    h.settle().await?;
    let joined = h.room.stats(&event)?.joined_total;
    ensure!(joined == 2, "{joined} joined; two proofs were accepted");
    Ok(())
}
