//! Where best-available scans may start. Two facts make a scan's starting point safe:
//! no seat before the first free seat the last scan saw was free then, and no row before
//! the row a block of N was found in had N adjacent free seats then. Starting at the
//! later of the two skips the sold-out front of the venue *and* the rows left with gaps
//! too small for the party (a centre-out fill leaves the aisle seats of every row), which
//! would otherwise make every hold walk all the rows filled so far: a rush quadratic in
//! the rows sold.
//!
//! A hint only ever narrows where to *look first*: a scan from a hint that finds no
//! adjacent block is repeated from the front, so a hint can never turn into a false "sold
//! out" or a worse split. Seats before the hint that became free again (released,
//! expired) are found once the hint lapses ([`HINT_TTL`]) or is dropped (any release in
//! this process).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a hint is trusted.
pub const HINT_TTL: Duration = Duration::from_millis(500);

/// A seat's place in preference order: (section rank, row, number).
pub type SeatKey = (i64, i64, i64);

/// The key before every seat.
pub const START: SeatKey = (-1, -1, -1);

/// Scan hints by event, section filter and party size (a row too small for four may
/// still seat two, so hints for different sizes differ; sizes are bounded, so are hints).
#[derive(Debug, Clone, Default)]
pub struct ScanHints {
    hints: Arc<Mutex<HashMap<String, (Instant, SeatKey)>>>,
}

fn slot(event_id: &str, section_id: &str, quantity: u32) -> String {
    format!("{event_id}/{section_id}/{quantity}")
}

impl ScanHints {
    /// Where to start scanning for `quantity` seats: the key recorded lately, or `START`.
    pub fn start(&self, event_id: &str, section_id: &str, quantity: u32) -> SeatKey {
        let Ok(hints) = self.hints.lock() else {
            return START;
        };
        match hints.get(&slot(event_id, section_id, quantity)) {
            Some((at, key)) if at.elapsed() < HINT_TTL => *key,
            _ => START,
        }
    }

    /// Records what a scan for `quantity` seats saw: the first free seat, and the row an
    /// adjacent block was found in (`None`: no block, so no hint).
    pub fn record(
        &self,
        (event_id, section_id, quantity): (&str, &str, u32),
        first_free: Option<SeatKey>,
        block_row: Option<(i64, i64)>,
    ) {
        let Ok(mut hints) = self.hints.lock() else {
            return;
        };
        let key = slot(event_id, section_id, quantity);
        // "Just before" a seat: numbers are integers, so `> n - 1` includes `n`; and
        // `(rank, row, -1)` is before every seat of a row.
        let after_first_free = first_free.map(|(rank, row, number)| (rank, row, number - 1));
        let row_start = block_row.map(|(rank, row)| (rank, row, -1));
        match (after_first_free, row_start) {
            (Some(a), Some(b)) => {
                hints.insert(key, (Instant::now(), a.max(b)));
            }
            _ => {
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
    fn hints_start_at_the_later_of_first_free_seat_and_block_row_until_cleared() {
        let hints = ScanHints::default();
        assert_eq!(hints.start("e", "", 2), START);
        // Aisle seats left free in front: the block's row is the later bound.
        hints.record(("e", "", 2), Some((0, 3, 1)), Some((0, 9)));
        assert_eq!(hints.start("e", "", 2), (0, 9, -1));
        // General admission: the block is in the first free seat's own row.
        hints.record(("e", "", 1), Some((0, 0, 7)), Some((0, 0)));
        assert_eq!(hints.start("e", "", 1), (0, 0, 6));
        assert_eq!(hints.start("e", "", 4), START);
        assert_eq!(hints.start("e", "s1", 2), START);
        hints.record(("e", "", 2), Some((0, 3, 1)), None);
        assert_eq!(hints.start("e", "", 2), START);
        hints.clear();
        assert_eq!(hints.start("e", "", 1), START);
    }
}
