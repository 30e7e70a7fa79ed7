//! Best-available allocation: N adjacent seats in one row, best tier and front rows first.
//!
//! The allocator is fed the free seats in preference order (section rank, row, number), so
//! the first row holding a block of N is the best row; within it the block nearest the
//! row's centre wins. General-admission stock needs no adjacency: any N units will do.
//! When no row has N adjacent seats, the fallback is the front-most N free seats of the
//! best section that still has N ("split"), which keeps the party in one section.

use crate::venue::Unit;

/// A free seat as the allocator sees it.
pub type FreeSeat = Unit;

/// Most tickets one hold may ask for.
pub const MAX_QUANTITY: u32 = 100;

/// What the allocator chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation {
    /// N adjacent seats in one row (or N general-admission units).
    Adjacent(Vec<FreeSeat>),
    /// No row had N adjacent seats: the front-most N free seats of one section.
    Split(Vec<FreeSeat>),
}

impl Allocation {
    /// The chosen seats.
    pub fn seats(&self) -> &[FreeSeat] {
        match self {
            Self::Adjacent(seats) | Self::Split(seats) => seats,
        }
    }

    /// Whether the seats sit together.
    pub fn is_adjacent(&self) -> bool {
        matches!(self, Self::Adjacent(_))
    }
}

/// Streams free seats in preference order and picks the best block.
#[derive(Debug)]
pub struct Allocator {
    quantity: usize,
    row: Vec<FreeSeat>,
    /// Where the run of consecutive seat numbers ending at the row's last seat starts.
    run_start: usize,
    /// The row's block nearest its centre so far: twice its distance to the centre, and
    /// where it lies in `row`.
    best_in_row: Option<(i64, std::ops::Range<usize>)>,
    section: Vec<FreeSeat>,
    fallback: Option<Vec<FreeSeat>>,
    found: Option<Vec<FreeSeat>>,
}

impl Allocator {
    /// An allocator for `quantity` seats (at least 1).
    pub fn new(quantity: u32) -> Self {
        Self {
            quantity: usize::try_from(quantity.max(1)).unwrap_or(1),
            row: Vec::new(),
            run_start: 0,
            best_in_row: None,
            section: Vec::new(),
            fallback: None,
            found: None,
        }
    }

    /// Feeds the next free seat; returns `true` once an adjacent block has been found and
    /// no more seats are needed.
    pub fn push(&mut self, seat: FreeSeat) -> bool {
        if self.found.is_some() {
            return true;
        }
        if self
            .row
            .first()
            .is_some_and(|first| !same_row(first, &seat))
        {
            self.close_row();
            if self.found.is_some() {
                return true;
            }
        }
        self.track_section(&seat);
        let general_admission = seat.row == 0;
        self.row.push(seat);
        if general_admission {
            if self.row.len() == self.quantity {
                self.found = Some(std::mem::take(&mut self.row));
                return true;
            }
            return false;
        }
        self.extend_run();
        if self.row_is_decided() {
            self.close_row();
            return true;
        }
        false
    }

    /// The best allocation among the seats fed, if any.
    pub fn finish(mut self) -> Option<Allocation> {
        self.close_row();
        if let Some(found) = self.found {
            return Some(Allocation::Adjacent(found));
        }
        self.fallback.map(Allocation::Split)
    }

    /// The number of seats asked for.
    pub fn quantity(&self) -> u32 {
        u32::try_from(self.quantity).unwrap_or(MAX_QUANTITY)
    }

    fn track_section(&mut self, seat: &FreeSeat) {
        if self
            .section
            .first()
            .is_some_and(|first| first.section_id != seat.section_id)
        {
            self.section.clear();
        }
        if self.fallback.is_none() && self.section.len() < self.quantity {
            self.section.push(seat.clone());
            if self.section.len() == self.quantity {
                self.fallback = Some(self.section.clone());
            }
        }
    }

    /// Takes the row's last seat into its run of consecutive numbers, and the block that
    /// run now ends in into the row's best.
    fn extend_run(&mut self) {
        let last = self.row.len() - 1;
        if last > 0 && self.row[last].number != self.row[last - 1].number + 1 {
            self.run_start = last;
        }
        if last + 1 < self.run_start + self.quantity {
            return;
        }
        let start = last + 1 - self.quantity;
        let distance = twice_distance_to_centre(&self.row[start], &self.row[last]);
        // Ties go to the lower numbers: a later block must be strictly nearer.
        if self
            .best_in_row
            .as_ref()
            .is_none_or(|(best, _)| distance < *best)
        {
            self.best_in_row = Some((distance, start..last + 1));
        }
    }

    /// Whether no seat after the row's last one could end a block nearer the centre than
    /// the row's best: then the row's choice is made without reading the rest of it (which,
    /// on a database that locks what it reads, keeps fewer seats locked).
    fn row_is_decided(&self) -> bool {
        let (Some((best, _)), Some(last)) = (&self.best_in_row, self.row.last()) else {
            return false;
        };
        // A later block ends at `last.number + 1` or beyond, so its doubled centre is at
        // least `2 * (last.number + 1) - (quantity - 1)`, past the row's doubled centre.
        let quantity = i64::try_from(self.quantity).unwrap_or(i64::MAX);
        let nearest_later =
            2 * (i64::from(last.number) + 1) - (quantity - 1) - (i64::from(last.row_length) + 1);
        nearest_later >= *best
    }

    fn close_row(&mut self) {
        let row = std::mem::take(&mut self.row);
        let best = self.best_in_row.take();
        self.run_start = 0;
        if self.found.is_none() && row.first().is_some_and(|seat| seat.row > 0) {
            self.found = best.map(|(_, range)| row[range].to_vec());
        }
    }
}

/// Twice the distance, in seats, between the centre of the block `first..=last` and its
/// row's centre (doubled to stay in whole numbers).
fn twice_distance_to_centre(first: &FreeSeat, last: &FreeSeat) -> i64 {
    let block_centre = i64::from(first.number) + i64::from(last.number);
    (block_centre - (i64::from(first.row_length) + 1)).abs()
}

fn same_row(a: &FreeSeat, b: &FreeSeat) -> bool {
    a.section_id == b.section_id && a.row == b.row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venue::{SectionSpec, VenueSpec};

    fn seat(section: u32, row: u32, number: u32, row_length: u32) -> FreeSeat {
        FreeSeat {
            seat_id: format!("s{section}-r{row}-{number}"),
            section_id: format!("s{section}"),
            section_rank: section - 1,
            row,
            number,
            row_length,
            price_cents: 100,
        }
    }

    fn allocate(quantity: u32, seats: Vec<FreeSeat>) -> Option<Allocation> {
        let mut allocator = Allocator::new(quantity);
        for seat in seats {
            if allocator.push(seat) {
                break;
            }
        }
        allocator.finish()
    }

    fn ids(allocation: &Allocation) -> Vec<&str> {
        allocation
            .seats()
            .iter()
            .map(|s| s.seat_id.as_str())
            .collect()
    }

    #[test]
    fn picks_the_centre_of_the_front_row() {
        let row: Vec<FreeSeat> = (1..=10).map(|n| seat(1, 1, n, 10)).collect();
        let allocation = allocate(2, row).unwrap();
        assert!(allocation.is_adjacent());
        assert_eq!(ids(&allocation), vec!["s1-r1-5", "s1-r1-6"]);
    }

    #[test]
    fn a_row_is_decided_once_no_later_seat_could_be_nearer_its_centre() {
        let mut allocator = Allocator::new(2);
        let decided_at = (1..=10)
            .map(|n| seat(1, 1, n, 10))
            .position(|seat| allocator.push(seat));
        // Seats 5 and 6 are the centre: seat 7 and beyond cannot do better.
        assert_eq!(decided_at, Some(5));
        let allocation = allocator.finish().unwrap();
        assert_eq!(ids(&allocation), vec!["s1-r1-5", "s1-r1-6"]);
    }

    /// The choice made reading whole rows: the first row with a block of `quantity`, and in
    /// it the block nearest the centre, lower numbers winning ties.
    fn best_block_reading_whole_rows(seats: &[FreeSeat], quantity: usize) -> Option<Vec<&str>> {
        let rows = seats.chunk_by(same_row);
        rows.filter_map(|row| {
            row.windows(quantity)
                .filter(|block| block.windows(2).all(|w| w[1].number == w[0].number + 1))
                .min_by_key(|block| twice_distance_to_centre(&block[0], &block[quantity - 1]))
                .map(|block| block.iter().map(|s| s.seat_id.as_str()).collect())
        })
        .next()
    }

    #[test]
    fn skips_a_row_without_a_long_enough_run() {
        let mut seats = vec![seat(1, 1, 1, 4), seat(1, 1, 3, 4)];
        seats.extend((1..=4).map(|n| seat(1, 2, n, 4)));
        let allocation = allocate(2, seats).unwrap();
        assert_eq!(ids(&allocation), vec!["s1-r2-2", "s1-r2-3"]);
    }

    #[test]
    fn falls_back_to_front_most_seats_of_one_section() {
        let seats = vec![
            seat(1, 1, 1, 4),
            seat(1, 2, 3, 4),
            seat(2, 1, 1, 4),
            seat(2, 2, 4, 4),
        ];
        let allocation = allocate(2, seats).unwrap();
        assert!(!allocation.is_adjacent());
        assert_eq!(ids(&allocation), vec!["s1-r1-1", "s1-r2-3"]);
    }

    #[test]
    fn general_admission_needs_no_adjacency() {
        let venue = VenueSpec {
            sections: vec![SectionSpec {
                name: "Floor".into(),
                price_cents: 10,
                rows: None,
                seats_per_row: None,
                capacity: Some(5),
            }],
        }
        .validate()
        .unwrap();
        let units: Vec<FreeSeat> = venue.units().filter(|u| u.number % 2 == 1).collect();
        let allocation = allocate(3, units).unwrap();
        assert!(allocation.is_adjacent());
        assert_eq!(ids(&allocation), vec!["s1-ga-1", "s1-ga-3", "s1-ga-5"]);
    }

    #[test]
    fn too_few_free_seats_give_nothing() {
        assert_eq!(allocate(3, vec![seat(1, 1, 1, 4), seat(2, 1, 1, 4)]), None);
    }

    proptest::proptest! {
        #[test]
        fn deciding_a_row_early_chooses_what_reading_whole_rows_would(
            free in proptest::collection::btree_set((1u32..3, 1u32..4, 1u32..13), 0..60),
            quantity in 1u32..5,
        ) {
            let seats: Vec<FreeSeat> = free.iter().map(|&(s, r, n)| seat(s, r, n, 12)).collect();
            let expected = best_block_reading_whole_rows(&seats, quantity as usize);
            let allocation = allocate(quantity, seats.clone());
            let adjacent = allocation.as_ref().filter(|a| a.is_adjacent()).map(ids);
            proptest::prop_assert_eq!(adjacent, expected);
        }

        #[test]
        fn an_allocation_is_always_quantity_distinct_free_seats(
            free in proptest::collection::btree_set((1u32..4, 1u32..6, 1u32..9), 0..60),
            quantity in 1u32..6,
        ) {
            let seats: Vec<FreeSeat> = free.iter().map(|&(s, r, n)| seat(s, r, n, 8)).collect();
            if let Some(allocation) = allocate(quantity, seats.clone()) {
                let chosen = allocation.seats();
                proptest::prop_assert_eq!(chosen.len(), quantity as usize);
                let mut unique: Vec<&str> = chosen.iter().map(|s| s.seat_id.as_str()).collect();
                unique.sort_unstable();
                unique.dedup();
                proptest::prop_assert_eq!(unique.len(), quantity as usize);
                proptest::prop_assert!(chosen.iter().all(|c| seats.contains(c)));
                if allocation.is_adjacent() {
                    proptest::prop_assert!(chosen.windows(2).all(|w| w[0].row == w[1].row && w[1].number == w[0].number + 1));
                }
            } else {
                // Nothing allocated only when no section has `quantity` free seats.
                for section in 1..4 {
                    let count = free.iter().filter(|(s, _, _)| *s == section).count();
                    proptest::prop_assert!(count < quantity as usize);
                }
            }
        }
    }
}
