//! Admission pacing: one admission slot every interval, served late but never early.
//!
//! This is the generic cell rate algorithm (GCRA) turned around for a pacer that steps on
//! a timer: the state is the *theoretical arrival time* of the next admission slot, kept in
//! the line's store so every gateway and every pacer hand-over shares it. A step admits
//! every slot that is due by its own time, so admissions are never ahead of the schedule
//! (at most one admission above `rate × elapsed`). A step that runs late (timers are
//! late, a process stalls) still owes the slots that fell due meanwhile and serves them;
//! how far behind the schedule may fall is bounded by the tolerance, so a stall costs at
//! most that much catching up, never a burst. When the line runs dry (nobody left to
//! admit, the active cap reached, the line paused or its settings changed) the schedule
//! goes idle: the next step with buyers waiting starts a fresh one at its own time, so idle
//! time never banks admissions.
//!
//! Quantising slots to pacer steps would lose a share of every slot that falls between two
//! steps (measured: 16.7/s at a configured 20/s with 20 ms steps); keeping the slot times
//! and advancing them by whole intervals loses nothing at any rate.

/// The pacing state a line's store keeps between steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Nobody was left to admit, or the line was paused or changed: the next step with
    /// buyers waiting starts a fresh schedule at its own time.
    Idle,
    /// The next admission slot is due at this time, Unix ms.
    NextSlotAt(f64),
}

impl Schedule {
    /// When the pacer should next offer candidates: at the next slot, or (idle) at once.
    pub fn due_ms(self) -> f64 {
        match self {
            Self::Idle => 0.0,
            Self::NextSlotAt(at) => at,
        }
    }
}

/// Paces admissions at a fixed rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcra {
    /// Milliseconds between two admission slots.
    pub interval_ms: f64,
    /// How far behind the schedule a late step may catch up, in milliseconds; slots that
    /// fell due longer ago are forgone.
    pub tolerance_ms: f64,
}

/// Absorbs float error so that a slot due exactly now is not lost (Unix ms as a double
/// resolve to about 0.25 µs).
const EPSILON_MS: f64 = 1e-3;

/// What one pacer step may do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allowance {
    /// Slots due now: how many may be admitted.
    pub due: u64,
    /// The time of the first of them (or of the next slot, when none is due).
    first_slot_ms: f64,
}

/// Why a step admitted fewer than were due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// Every due slot was used (or none was due).
    None,
    /// The line ran dry: the active cap was reached, or every buyer waiting was admitted.
    /// The schedule goes idle.
    RanDry,
    /// Some candidates offered had left meanwhile, but more buyers wait: the unused slots
    /// stay due (within the tolerance) for the next step.
    StaleCandidates,
}

impl Shortfall {
    /// Why a step with `due` slots, room for `room` more active buyers and `admitted`
    /// admissions fell short; `offered_everyone` says the candidates were every buyer the
    /// pacer saw waiting.
    pub fn of(due: u64, room: u64, admitted: u64, offered_everyone: bool) -> Self {
        if admitted >= due {
            Self::None
        } else if room < due || offered_everyone {
            Self::RanDry
        } else {
            Self::StaleCandidates
        }
    }
}

impl Gcra {
    /// How many admissions are due at `now_ms` under `schedule`.
    pub fn allowance(&self, schedule: Schedule, now_ms: f64) -> Allowance {
        let first_slot_ms = match schedule {
            Schedule::Idle => now_ms,
            Schedule::NextSlotAt(at) => at.max(now_ms - self.tolerance_ms),
        };
        let due = if first_slot_ms > now_ms + EPSILON_MS {
            0
        } else {
            ((now_ms - first_slot_ms + EPSILON_MS) / self.interval_ms).floor() as u64 + 1
        };
        Allowance { due, first_slot_ms }
    }

    /// The schedule after a step that was allowed `allowance` and admitted `admitted`.
    pub fn after(&self, allowance: Allowance, admitted: u64, shortfall: Shortfall) -> Schedule {
        if admitted < allowance.due && shortfall == Shortfall::RanDry {
            return Schedule::Idle;
        }
        Schedule::NextSlotAt(allowance.first_slot_ms + admitted as f64 * self.interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gcra(rate: f64) -> Gcra {
        Gcra {
            interval_ms: 1000.0 / rate,
            tolerance_ms: 100.0,
        }
    }

    /// Steps a pacer with unlimited demand at the given step times; returns the cumulative
    /// count admitted after each step.
    fn run(gcra: &Gcra, steps: impl IntoIterator<Item = f64>) -> Vec<(f64, u64)> {
        let mut schedule = Schedule::Idle;
        let mut total = 0;
        let mut counts = Vec::new();
        for now in steps {
            let allowance = gcra.allowance(schedule, now);
            total += allowance.due;
            schedule = gcra.after(allowance, allowance.due, Shortfall::None);
            counts.push((now, total));
        }
        counts
    }

    #[test]
    fn rates_that_divide_no_step_are_exact() {
        for rate in [0.1, 0.3, 5.0, 7.0, 13.0, 20.0, 33.0, 333.0, 1234.0, 5000.0] {
            let gcra = gcra(rate);
            // Steps every 20 ms, each up to 15 ms late, for a minute.
            let steps = (0..3001).map(|i| f64::from(i) * 20.0 + f64::from(i * 7919 % 16));
            let (last, admitted) = *run(&gcra, steps).last().unwrap();
            let expected = rate * last / 1000.0;
            assert!(
                (admitted as f64) >= expected * 0.99 && (admitted as f64) <= expected + 1.0,
                "rate {rate}: admitted {admitted} in {last} ms"
            );
        }
    }

    #[test]
    fn a_stall_catches_up_at_most_the_tolerance() {
        let gcra = gcra(1000.0);
        let mut steps: Vec<f64> = (0..50).map(|i| f64::from(i) * 20.0).collect();
        steps.push(980.0 + 1000.0); // stalled for a second
        let counts = run(&gcra, steps);
        let before = counts[counts.len() - 2].1;
        let after = counts[counts.len() - 1].1;
        // One step's worth plus the tolerance's, never the whole second.
        assert!(after - before <= 100 + 1, "caught up {}", after - before);
        assert!(after - before >= 100, "caught up only {}", after - before);
    }

    #[test]
    fn idle_time_does_not_bank_a_burst() {
        let gcra = gcra(100.0);
        let allowance = gcra.allowance(Schedule::NextSlotAt(0.0), 0.0);
        let idle = gcra.after(allowance, 0, Shortfall::RanDry);
        assert_eq!(idle, Schedule::Idle);
        assert_eq!(gcra.allowance(idle, 1_000_000.0).due, 1);
    }

    #[test]
    fn stale_candidates_keep_the_slots_due() {
        let gcra = gcra(100.0);
        let allowance = gcra.allowance(Schedule::NextSlotAt(0.0), 40.0);
        assert_eq!(allowance.due, 5);
        let schedule = gcra.after(allowance, 2, Shortfall::StaleCandidates);
        assert_eq!(schedule, Schedule::NextSlotAt(20.0));
        assert_eq!(gcra.allowance(schedule, 60.0).due, 5);
    }

    proptest! {
        /// Whatever the step times, admissions never run ahead of the schedule by more
        /// than one, and with steps at most the tolerance apart none is lost.
        #[test]
        fn never_ahead_and_never_behind(
            rate in 0.1f64..5000.0,
            gaps in proptest::collection::vec(1u32..100, 1..400),
        ) {
            let gcra = gcra(rate);
            let mut now = 1_700_000_000_000.0;
            let start = now;
            let steps: Vec<f64> = gaps.iter().map(|gap| { now += f64::from(*gap); now }).collect();
            for (at, total) in run(&gcra, std::iter::once(start).chain(steps)) {
                // Slots falling within float error of a step (Unix ms as doubles are good
                // to a quarter of a microsecond each step) may go either way.
                let owed = (at - start) * rate / 1000.0;
                let slack = 0.05 * rate / 1000.0;
                prop_assert!(total as f64 <= (owed + slack).floor() + 1.0, "ahead: {total} at {owed}");
                prop_assert!(total as f64 >= (owed - slack).floor() + 1.0, "behind: {total} at {owed}");
            }
        }
    }
}
