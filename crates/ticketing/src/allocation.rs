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
        if general_admission && self.row.len() == self.quantity {
            self.found = Some(std::mem::take(&mut self.row));
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

    fn close_row(&mut self) {
        let row = std::mem::take(&mut self.row);
        if self.found.is_none() && row.first().is_some_and(|seat| seat.row > 0) {
            self.found = centred_block(&row, self.quantity).map(|range| row[range].to_vec());
        }
    }
}

fn same_row(a: &FreeSeat, b: &FreeSeat) -> bool {
    a.section_id == b.section_id && a.row == b.row
}

/// The index range of the block of `quantity` consecutive seat numbers nearest the row's
/// centre (ties go to the lower numbers). `row` is sorted by number.
fn centred_block(row: &[FreeSeat], quantity: usize) -> Option<std::ops::Range<usize>> {
    let row_length = i64::from(row.first()?.row_length);
    let mut best: Option<(i64, std::ops::Range<usize>)> = None;
    let mut run_start = 0;
    for i in 0..row.len() {
        if i > 0 && row[i].number != row[i - 1].number + 1 {
            run_start = i;
        }
        if i + 1 >= run_start + quantity {
            let start = i + 1 - quantity;
            // Twice the distance between the block's centre and the row's, in seats.
            let block_centre = i64::from(row[start].number) + i64::from(row[i].number);
            let distance = (block_centre - (row_length + 1)).abs();
            if best.as_ref().is_none_or(|(d, _)| distance < *d) {
                best = Some((distance, start..i + 1));
            }
        }
    }
    best.map(|(_, range)| range)
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
