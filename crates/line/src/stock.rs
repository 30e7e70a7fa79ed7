//! What the line tells buyers about the seats left: a coarse hint while selling, and
//! "sold out" once nothing can come back.

use serde::{Deserialize, Serialize};

/// How much of an event is left, as the line shows it to everyone in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// Seats available now, rounded down to a coarse step (1,000, 500, 100, 50, 20, 10, 5,
    /// 1 or 0): "at least this many". Exact counts would tell bots more than buyers need.
    pub seats_left: u64,
    /// Nothing is left and nothing held can come back: waiting is pointless.
    pub sold_out: bool,
}

/// The steps `seats_left` is rounded down to, largest first.
const STEPS: [u64; 8] = [1_000, 500, 100, 50, 20, 10, 5, 1];

impl StockLevel {
    /// The level of an event with `available` seats on sale and `held` in holds (which may
    /// come back when they lapse or are released).
    pub fn of(available: u64, held: u64) -> Self {
        Self {
            seats_left: STEPS
                .iter()
                .copied()
                .find(|&step| available >= step)
                .unwrap_or(0),
            sold_out: available == 0 && held == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_rounded_down_to_coarse_steps() {
        let left = |available| StockLevel::of(available, 0).seats_left;
        assert_eq!(
            [4_000, 1_000, 999, 120, 49, 12, 7, 1, 0].map(left),
            [1_000, 1_000, 500, 100, 20, 10, 5, 1, 0]
        );
    }

    #[test]
    fn sold_out_only_when_nothing_held_can_come_back() {
        assert!(!StockLevel::of(0, 2).sold_out);
        assert!(StockLevel::of(0, 0).sold_out);
        assert!(!StockLevel::of(1, 0).sold_out);
    }
}
