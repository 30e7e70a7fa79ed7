//! Where best-available scans may start: the position of the first free seat the last scan
//! of an event (and section filter) saw. Seats before it were taken then, so a scan that
//! starts there skips walking the sold-out front of the venue on every hold, which would
//! make a rush quadratic in the seats sold.
//!
//! A hint only ever narrows where to *look first*: a scan from a hint that finds nothing
//! is repeated from the front, so a hint can never turn into a false "sold out". Seats
//! before the hint that became free again (released, expired) are found once the hint
//! lapses ([`HINT_TTL`]) or is dropped (any release in this process).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a hint is trusted.
pub const HINT_TTL: Duration = Duration::from_millis(500);

/// A seat's place in preference order: (section rank, row, number).
pub type SeatKey = (i64, i64, i64);

/// The key before every seat.
pub const START: SeatKey = (-1, -1, -1);

/// Scan hints by event and section filter.
#[derive(Debug, Clone, Default)]
pub struct ScanHints {
    hints: Arc<Mutex<HashMap<String, (Instant, SeatKey)>>>,
}

fn slot(event_id: &str, section_id: &str) -> String {
    format!("{event_id}/{section_id}")
}

impl ScanHints {
    /// Where to start scanning: just before the first free seat seen lately, or `START`.
    pub fn start(&self, event_id: &str, section_id: &str) -> SeatKey {
        let Ok(hints) = self.hints.lock() else {
            return START;
        };
        match hints.get(&slot(event_id, section_id)) {
            Some((at, key)) if at.elapsed() < HINT_TTL => *key,
            _ => START,
        }
    }

    /// Records the first free seat a full-or-hinted scan saw (`None`: none at all).
    pub fn record(&self, event_id: &str, section_id: &str, first_free: Option<SeatKey>) {
        let Ok(mut hints) = self.hints.lock() else {
            return;
        };
        let key = slot(event_id, section_id);
        match first_free {
            // "Just before" that seat: numbers are integers, so `> n - 1` includes `n`.
            Some((rank, row, number)) => {
                hints.insert(key, (Instant::now(), (rank, row, number - 1)));
            }
            None => {
                hints.remove(&key);
            }
        }
    }

    /// Forgets every hint (seats were given back: the front may have free seats again).
    pub fn clear(&self) {
        if let Ok(mut hints) = self.hints.lock() {
            hints.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_start_just_before_the_first_free_seat_until_cleared() {
        let hints = ScanHints::default();
        assert_eq!(hints.start("e", ""), START);
        hints.record("e", "", Some((0, 3, 7)));
        assert_eq!(hints.start("e", ""), (0, 3, 6));
        assert_eq!(hints.start("e", "s1"), START);
        hints.clear();
        assert_eq!(hints.start("e", ""), START);
    }
}
