//! The behaviours every store must give, each proven on a running waiting room.

use anyhow::ensure;
use breakwater_line::EventId;
use breakwater_tokens::{LineToken, TokenError, TokenKeys};
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
    h.room.enter(&event, &tokens[1]).await?;
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
    h.room
        .finish(&event, number_of(&h, &event, &tokens[1])?)
        .await?;
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
    let first_waiting = match (first.state, first.position) {
        (QueueState::Ready, _) => false,
        (QueueState::Waiting, Some(1)) => true,
        other => anyhow::bail!("the admitted buyer lost their place: {other:?}"),
    };
    let offset = u64::from(first_waiting);
    for (i, token) in tokens.iter().enumerate().skip(1) {
        ensure!(
            position(&h, &event, token)? == Some(i as u64 + offset),
            "buyer {i} lost their place"
        );
    }
    let late = h.join(&event).await?;
    h.settle().await?;
    ensure!(position(&h, &event, &late)? == Some(tokens.len() as u64 - 1 + offset + 1));
    let mut order = tokens.clone();
    if !first_waiting {
        order.remove(0);
    }
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
