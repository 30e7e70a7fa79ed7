//! Numbers that each hold something until a deadline (a claim window, a session).

use std::collections::{BTreeSet, HashMap};

/// Queue numbers with one deadline each, also ordered by deadline, so the expired ones
/// are found and counted without walking the rest: pruning costs what expired, not what
/// is held.
#[derive(Debug, Clone, Default)]
pub struct Deadlines {
    by_number: HashMap<u64, u64>,
    by_time: BTreeSet<(u64, u64)>,
}

impl Deadlines {
    /// Sets `number`'s deadline (replacing any earlier one).
    pub fn insert(&mut self, number: u64, deadline: u64) {
        if let Some(old) = self.by_number.insert(number, deadline) {
            self.by_time.remove(&(old, number));
        }
        self.by_time.insert((deadline, number));
    }

    /// Forgets `number`; returns its deadline if it had one.
    pub fn remove(&mut self, number: u64) -> Option<u64> {
        let deadline = self.by_number.remove(&number)?;
        self.by_time.remove(&(deadline, number));
        Some(deadline)
    }

    /// `number`'s deadline.
    pub fn get(&self, number: u64) -> Option<u64> {
        self.by_number.get(&number).copied()
    }

    /// How many numbers have a deadline.
    pub fn len(&self) -> usize {
        self.by_number.len()
    }

    /// Whether no number has a deadline.
    pub fn is_empty(&self) -> bool {
        self.by_number.is_empty()
    }

    /// How many numbers have a deadline at or after `from`.
    pub fn count_from(&self, from: u64) -> u64 {
        let before = self.by_time.range(..(from, 0)).count();
        (self.by_time.len() - before) as u64
    }

    /// Forgets every number whose deadline is before `limit`.
    pub fn remove_before(&mut self, limit: u64) {
        while let Some(&(deadline, number)) = self.by_time.first() {
            if deadline >= limit {
                break;
            }
            self.by_time.pop_first();
            self.by_number.remove(&number);
        }
    }

    /// Every (number, deadline).
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.by_number
            .iter()
            .map(|(&number, &deadline)| (number, deadline))
    }
}

impl FromIterator<(u64, u64)> for Deadlines {
    fn from_iter<I: IntoIterator<Item = (u64, u64)>>(entries: I) -> Self {
        let mut deadlines = Self::default();
        for (number, deadline) in entries {
            deadlines.insert(number, deadline);
        }
        deadlines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_prunes_by_deadline() {
        let mut deadlines: Deadlines = [(1, 10), (2, 20), (3, 30)].into_iter().collect();
        deadlines.insert(1, 25);
        assert_eq!(deadlines.count_from(20), 3);
        assert_eq!(deadlines.count_from(21), 2);
        deadlines.remove_before(26);
        assert_eq!(deadlines.get(1), None);
        assert_eq!(deadlines.get(2), None);
        assert_eq!(deadlines.get(3), Some(30));
        assert_eq!(deadlines.remove(3), Some(30));
        assert_eq!(deadlines.count_from(0), 0);
    }
}
