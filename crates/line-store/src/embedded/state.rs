//! What the embedded store knows of one line, changed only by applying the line's change
//! log: the running store applies each change as it logs it, and a restart replays the
//! journaled changes through the same code, so the state after a restart is the state
//! before it.

use breakwater_line::{Bitset, Deadlines, LineChange, LineSettings, Lineage, StockLevel};

/// One line's state, as far as the log decides it (joins and heartbeats aside).
#[derive(Debug, Clone)]
pub(super) struct LineState {
    pub settings: LineSettings,
    pub lineage: Lineage,
    /// The pre-queue size, once the sale opened.
    pub opened: Option<u64>,
    /// Numbers no longer waiting: admitted, left or dropped.
    pub out: Bitset,
    /// Numbers below the incarnation's base that came back with their tokens.
    pub reinstated: Bitset,
    /// Numbers that entered.
    pub entered: Bitset,
    /// Admitted numbers by claim deadline.
    pub ready: Deadlines,
    /// Entered numbers holding a slot, by session end.
    pub sessions: Deadlines,
    pub admitted_total: u64,
    /// The seats left, once the backend was asked.
    pub stock: Option<StockLevel>,
}

impl LineState {
    /// A line of `lineage` nobody has joined yet.
    pub fn new(settings: LineSettings, lineage: Lineage) -> Self {
        Self {
            settings,
            lineage,
            opened: None,
            out: Bitset::new(),
            reinstated: Bitset::new(),
            entered: Bitset::new(),
            ready: Deadlines::default(),
            sessions: Deadlines::default(),
            admitted_total: 0,
            stock: None,
        }
    }

    /// Applies one change of the line's log.
    pub fn apply(&mut self, change: &LineChange) {
        match change {
            LineChange::Settings(settings) => self.settings = (**settings).clone(),
            LineChange::Admitted {
                deadline_ms,
                numbers,
            } => {
                for &number in numbers {
                    self.out.insert(number);
                    self.ready.insert(number, *deadline_ms);
                }
                self.admitted_total += numbers.len() as u64;
            }
            LineChange::Left(number) => {
                self.ready.remove(*number);
                self.out.insert(*number);
            }
            LineChange::Dropped(numbers) => {
                for &number in numbers {
                    self.out.insert(number);
                }
            }
            LineChange::Entered {
                number,
                session_expires_ms,
            } => {
                self.ready.remove(*number);
                self.entered.insert(*number);
                self.sessions.insert(*number, *session_expires_ms);
            }
            LineChange::Finished(number) => {
                self.sessions.remove(*number);
            }
            LineChange::Reinstated(numbers) => {
                for &number in numbers {
                    self.reinstated.insert(number);
                }
            }
            LineChange::Opened { prequeue_size } => {
                self.opened.get_or_insert(*prequeue_size);
            }
            LineChange::Stock(level) => self.stock = Some(*level),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fate_of_a_number_is_kept() {
        let mut state = LineState::new(LineSettings::with_defaults("t", 0), Lineage::new(9));
        state.apply(&LineChange::Opened { prequeue_size: 0 });
        state.apply(&LineChange::Admitted {
            deadline_ms: 100,
            numbers: vec![0, 1, 2],
        });
        state.apply(&LineChange::Entered {
            number: 0,
            session_expires_ms: 500,
        });
        state.apply(&LineChange::Left(1));
        state.apply(&LineChange::Dropped(vec![5]));
        state.apply(&LineChange::Finished(0));
        assert_eq!(state.opened, Some(0));
        assert_eq!(state.out.iter().collect::<Vec<_>>(), vec![0, 1, 2, 5]);
        assert_eq!(state.entered.iter().collect::<Vec<_>>(), vec![0]);
        assert_eq!(state.ready.iter().collect::<Vec<_>>(), vec![(2, 100)]);
        assert!(state.sessions.is_empty());
        assert_eq!(state.admitted_total, 3);
    }
}
