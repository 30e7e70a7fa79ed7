//! The queue of requests due at intended send times.
//!
//! Virtual users do not sleep in tasks of their own: each one's next request waits here,
//! keyed by the time the user means to send it, and the driver pops whatever is due.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Items due at given times (microseconds from the run's start), popped earliest first;
/// items due at the same time come out in the order they were pushed.
#[derive(Debug)]
pub struct DueQueue<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    pushed: u64,
}

#[derive(Debug)]
struct Entry<T> {
    due_us: u64,
    order: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.due_us, self.order) == (other.due_us, other.order)
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due_us, self.order).cmp(&(other.due_us, other.order))
    }
}

impl<T> Default for DueQueue<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            pushed: 0,
        }
    }
}

impl<T> DueQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `item` for `due_us`.
    pub fn push(&mut self, due_us: u64, item: T) {
        self.pushed += 1;
        self.heap.push(Reverse(Entry {
            due_us,
            order: self.pushed,
            item,
        }));
    }

    /// When the earliest item is due.
    pub fn next_due(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(entry)| entry.due_us)
    }

    /// The earliest item if it is due at `now_us`, with its due time.
    pub fn pop_due(&mut self, now_us: u64) -> Option<(u64, T)> {
        if self.next_due()? > now_us {
            return None;
        }
        self.heap
            .pop()
            .map(|Reverse(entry)| (entry.due_us, entry.item))
    }

    /// How many items wait.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_only_what_is_due_earliest_first() {
        let mut queue = DueQueue::new();
        queue.push(30, "c");
        queue.push(10, "a");
        queue.push(20, "b");
        assert_eq!(queue.next_due(), Some(10));
        assert_eq!(queue.pop_due(5), None);
        assert_eq!(queue.pop_due(25), Some((10, "a")));
        assert_eq!(queue.pop_due(25), Some((20, "b")));
        assert_eq!(queue.pop_due(25), None);
        assert_eq!(queue.len(), 1);
    }

    #[test]
    fn ties_keep_push_order() {
        let mut queue = DueQueue::new();
        for item in 0..100 {
            queue.push(7, item);
        }
        let popped: Vec<i32> =
            std::iter::from_fn(|| queue.pop_due(7).map(|(_, item)| item)).collect();
        assert_eq!(popped, (0..100).collect::<Vec<_>>());
        assert!(queue.is_empty());
    }
}
