//! The pacer: the one gateway per event holding the lease admits the front of the line
//! at the configured rate, opens the sale, and drops buyers who went silent.

use breakwater_line::{LineChange, Schedule};
use breakwater_line_store::{AdmitRequest, Epoch, EpochWindow, StoreError};

use crate::line::{Line, PacerState};
use crate::room::Engine;

/// Candidates sent beyond what may be admitted, in case some left a moment ago.
const CANDIDATE_SLACK: usize = 32;
/// Most candidates per step.
const MAX_CANDIDATES: usize = 4096;

/// What the pacer decided to do this step, read from the replica under its lock.
struct Plan {
    open: bool,
    admit: Option<AdmitRequest>,
    drop_check: Option<DropCheck>,
}

struct DropCheck {
    window: EpochWindow,
    /// Only numbers below this joined long enough ago for their first heartbeat to be
    /// in the store.
    joined_below: u64,
}

impl Engine {
    /// One pacer step for `line`: keep or take the lease, and if held, open, admit and
    /// drop as due.
    pub(crate) async fn pace_line(&self, line: &Line) -> Result<(), StoreError> {
        match self.pace_once(line).await {
            // Restore now rather than at the next sync tick, so admission resumes sooner.
            Err(StoreError::StateLost) => self.sync_line(line).await,
            // The lease vanished (expired, or the store was flushed): take it again at
            // once if nobody else has, rather than a step later.
            Err(StoreError::LeaseLost) => self.pace_once(line).await,
            other => other,
        }
    }

    async fn pace_once(&self, line: &Line) -> Result<(), StoreError> {
        let mut pacer = line.pacer.lock().await;
        let now = self.clock.now_ms();
        if !self.renew_lease(line, &mut pacer, now).await? {
            return Ok(());
        }
        let plan = self.plan(line, &pacer, now);
        let outcome = self.carry_out(line, &mut pacer, plan, now).await;
        if outcome == Err(StoreError::LeaseLost) {
            pacer.leading = false;
        }
        outcome
    }

    async fn renew_lease(
        &self,
        line: &Line,
        pacer: &mut PacerState,
        now: u64,
    ) -> Result<bool, StoreError> {
        let ttl = self.config.lease_ttl.as_millis() as u64;
        if pacer.leading && now < pacer.lease_checked_ms + ttl / 3 {
            return Ok(true);
        }
        let held = self
            .store
            .hold_lease(&line.id, &self.config.gateway_id, ttl)
            .await;
        pacer.leading = held.clone().unwrap_or(false);
        pacer.lease_checked_ms = now;
        if pacer.leading {
            metrics::gauge!("breakwater_pacer_leading", "event" => line.id.to_string()).set(1.0);
        }
        held
    }

    fn plan(&self, line: &Line, pacer: &PacerState, now: u64) -> Plan {
        let view = line.view.read();
        let replica = &view.replica;
        let settings = replica.settings();
        let mut plan = Plan {
            open: false,
            admit: None,
            drop_check: None,
        };
        if settings.closed {
            return plan;
        }
        plan.open = !replica.is_opened() && now >= settings.opens_at_ms;
        let timeout = settings.heartbeat_timeout_ms();
        let epoch_length = Epoch::length_for(timeout);
        if now >= view.drops_allowed_from_ms && now >= pacer.last_drop_check_ms + epoch_length {
            let flush = self.config.heartbeat_flush_interval.as_millis() as u64;
            plan.drop_check = Some(DropCheck {
                window: EpochWindow::ending_at(now, timeout),
                joined_below: view.seq_before(now.saturating_sub(2 * flush + 100)),
            });
        }
        let interval = settings.admission_interval_ms();
        let tolerance = self.config.pacing_tolerance_ms();
        let nothing_to_sell = replica.is_sold_out();
        if settings.paused
            || nothing_to_sell
            || !replica.is_opened()
            || (now as f64) < pacer.schedule.due_ms()
        {
            return plan;
        }
        let counts = replica.counts(now);
        let room =
            u64::from(settings.max_active_users).saturating_sub(counts.ready + counts.entered);
        // A step is due at most the tolerance's worth of slots, plus the one due now.
        let per_step = (tolerance / interval).floor() as u64 + 1;
        let want = room.min(per_step) as usize;
        if want == 0 {
            return plan;
        }
        let limit = (want + CANDIDATE_SLACK).min(MAX_CANDIDATES);
        let candidates = replica.next_in_line(limit);
        // With nobody waiting, one more step tells the store the line ran dry (its schedule
        // goes idle, so buyers who come later are not admitted in a catch-up burst); after
        // that the pacer has nothing to send until somebody waits.
        if !candidates.is_empty() || pacer.schedule != Schedule::Idle {
            plan.admit = Some(AdmitRequest {
                now_ms: now,
                offers_everyone: candidates.len() < limit,
                candidates,
                interval_ms: interval,
                tolerance_ms: tolerance,
                max_active: settings.max_active_users,
                deadline_ms: now + settings.claim_window_ms(),
            });
        }
        plan
    }

    async fn carry_out(
        &self,
        line: &Line,
        pacer: &mut PacerState,
        plan: Plan,
        now: u64,
    ) -> Result<(), StoreError> {
        let holder = &self.config.gateway_id;
        if plan.open {
            self.store.open(&line.id, holder).await?;
            tracing::info!(event = %line.id, "sale opened; pre-queue placed by lottery");
            self.sync_line(line).await?;
        }
        if let Some(request) = plan.admit {
            let result = self.store.admit(&line.id, holder, &request).await?;
            pacer.schedule = result.schedule;
            if !result.admitted.is_empty() {
                metrics::counter!("breakwater_admitted_total", "event" => line.id.to_string())
                    .increment(result.admitted.len() as u64);
                // Apply at once so the next step does not offer the same buyers; the log
                // brings the same change again, which is harmless.
                line.view.write().replica.apply(&LineChange::Admitted {
                    deadline_ms: request.deadline_ms,
                    numbers: result.admitted,
                });
            }
        }
        if let Some(check) = plan.drop_check {
            pacer.last_drop_check_ms = now;
            self.drop_silent(line, check).await?;
        }
        Ok(())
    }

    async fn drop_silent(&self, line: &Line, check: DropCheck) -> Result<(), StoreError> {
        let alive = self.store.liveness(&line.id, &check.window).await?;
        let silent = line.view.read().replica.silent(&alive, check.joined_below);
        for chunk in silent.chunks(self.config.drop_batch_max) {
            self.store
                .drop_silent(&line.id, &self.config.gateway_id, chunk)
                .await?;
            metrics::counter!("breakwater_dropped_total", "event" => line.id.to_string())
                .increment(chunk.len() as u64);
            line.view
                .write()
                .replica
                .apply(&LineChange::Dropped(chunk.to_vec()));
        }
        Ok(())
    }
}
