//! An order-statistics set over line keys: who is in line, and how many are ahead of a key.

use crate::bitset::BitsOf;

const BLOCK_BITS: u64 = 2048;
const BLOCK_WORDS: usize = (BLOCK_BITS / 64) as usize;

type Block = Box<[u64; BLOCK_WORDS]>;

/// The set of line keys of everyone waiting, answering "how many wait ahead of key k" in
/// O(log n).
///
/// Keys are dense integers (queue numbers, or lottery ranks), so the set is kept as
/// fixed-size bit blocks, with a Fenwick tree over the blocks' member counts. A million
/// waiting users cost about 128 KiB; blocks that empty out are freed, and the front of the
/// line that everyone has left is dropped, so memory follows the live line, not history.
#[derive(Debug, Default, Clone)]
pub struct RankIndex {
    /// Block number of `blocks[0]`.
    first_block: u64,
    blocks: Vec<Option<Block>>,
    counts: Vec<u32>,
    /// 1-based Fenwick tree over `counts`.
    fenwick: Vec<u64>,
    len: u64,
}

impl RankIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys are in the index.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `key` is in the index.
    pub fn contains(&self, key: u64) -> bool {
        let Some(slot) = self.slot_of(key) else {
            return false;
        };
        let (word, bit) = word_and_bit(key);
        self.blocks[slot]
            .as_ref()
            .is_some_and(|block| block[word] & (1 << bit) != 0)
    }

    /// Adds `key`; returns whether it was new.
    pub fn insert(&mut self, key: u64) -> bool {
        let slot = self.make_slot(key);
        let (word, bit) = word_and_bit(key);
        let block = self.blocks[slot].get_or_insert_with(|| Box::new([0; BLOCK_WORDS]));
        if block[word] & (1 << bit) != 0 {
            return false;
        }
        block[word] |= 1 << bit;
        self.counts[slot] += 1;
        self.fenwick_add(slot, 1);
        self.len += 1;
        true
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: u64) -> bool {
        let Some(slot) = self.slot_of(key) else {
            return false;
        };
        let (word, bit) = word_and_bit(key);
        let Some(block) = self.blocks[slot].as_mut() else {
            return false;
        };
        if block[word] & (1 << bit) == 0 {
            return false;
        }
        block[word] &= !(1 << bit);
        self.counts[slot] -= 1;
        if self.counts[slot] == 0 {
            self.blocks[slot] = None;
        }
        self.fenwick_add(slot, -1);
        self.len -= 1;
        self.drop_empty_front();
        true
    }

    /// How many keys in the index are smaller than `key` (whether or not `key` is in it).
    pub fn rank(&self, key: u64) -> u64 {
        let block_number = key / BLOCK_BITS;
        if block_number < self.first_block {
            return 0;
        }
        let slot = (block_number - self.first_block) as usize;
        if slot >= self.blocks.len() {
            return self.len;
        }
        let before_block = self.fenwick_prefix(slot);
        let within = match &self.blocks[slot] {
            None => 0,
            Some(block) => {
                let (word, bit) = word_and_bit(key);
                let full: u64 = block[..word]
                    .iter()
                    .map(|w| u64::from(w.count_ones()))
                    .sum();
                full + u64::from((block[word] & ((1u64 << bit) - 1)).count_ones())
            }
        };
        before_block + within
    }

    /// The smallest keys, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.blocks
            .iter()
            .enumerate()
            .filter_map(|(slot, block)| block.as_ref().map(|block| (slot, block)))
            .flat_map(move |(slot, block)| {
                let base = (self.first_block + slot as u64) * BLOCK_BITS;
                block
                    .iter()
                    .enumerate()
                    .flat_map(move |(word_index, &word)| BitsOf {
                        word,
                        base: base + word_index as u64 * 64,
                    })
            })
    }

    fn slot_of(&self, key: u64) -> Option<usize> {
        let block_number = key / BLOCK_BITS;
        let slot = block_number.checked_sub(self.first_block)? as usize;
        (slot < self.blocks.len()).then_some(slot)
    }

    fn make_slot(&mut self, key: u64) -> usize {
        let block_number = key / BLOCK_BITS;
        if self.blocks.is_empty() {
            self.first_block = block_number;
        }
        if block_number < self.first_block {
            // Rare: a key ahead of everyone left in line (a lottery rank, a place
            // recovered from its token). Re-base once; O(blocks).
            let extra = (self.first_block - block_number) as usize;
            let mut blocks: Vec<Option<Block>> = (0..extra).map(|_| None).collect();
            blocks.append(&mut self.blocks);
            let mut counts = vec![0; extra];
            counts.append(&mut self.counts);
            self.blocks = blocks;
            self.counts = counts;
            self.first_block = block_number;
            self.rebuild_fenwick();
        }
        let slot = (block_number - self.first_block) as usize;
        while self.blocks.len() <= slot {
            self.blocks.push(None);
            self.counts.push(0);
            self.fenwick_push();
        }
        slot
    }

    /// Forgets the front of the line once enough of it is empty, so memory tracks the live
    /// line; amortised O(1) per removal.
    fn drop_empty_front(&mut self) {
        let empty = self.counts.iter().take_while(|&&count| count == 0).count();
        if empty == 0 || (empty < 64 && empty * 2 < self.counts.len()) {
            return;
        }
        if empty == self.counts.len() {
            *self = Self::default();
            return;
        }
        self.blocks.drain(..empty);
        self.counts.drain(..empty);
        self.first_block += empty as u64;
        self.rebuild_fenwick();
    }

    fn rebuild_fenwick(&mut self) {
        let slots = self.counts.len();
        self.fenwick = vec![0; slots + 1];
        for i in 1..=slots {
            self.fenwick[i] += u64::from(self.counts[i - 1]);
            let parent = i + lowbit(i);
            if parent <= slots {
                let value = self.fenwick[i];
                self.fenwick[parent] += value;
            }
        }
    }

    fn fenwick_push(&mut self) {
        if self.fenwick.is_empty() {
            self.fenwick.push(0);
        }
        // The new node covers (i - lowbit(i), i]; the slot itself is empty, so its value is
        // the sum of the slots before it in that range.
        let i = self.fenwick.len();
        let value = self.fenwick_prefix(i - 1) - self.fenwick_prefix(i - lowbit(i));
        self.fenwick.push(value);
    }

    fn fenwick_add(&mut self, slot: usize, delta: i64) {
        let mut i = slot + 1;
        while i < self.fenwick.len() {
            self.fenwick[i] = self.fenwick[i].wrapping_add_signed(delta);
            i += lowbit(i);
        }
    }

    /// Sum of the counts of the first `slots` slots.
    fn fenwick_prefix(&self, slots: usize) -> u64 {
        let mut i = slots;
        let mut sum = 0;
        while i > 0 {
            sum += self.fenwick[i];
            i -= lowbit(i);
        }
        sum
    }
}

fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

fn word_and_bit(key: u64) -> (usize, u32) {
    let within = key % BLOCK_BITS;
    ((within / 64) as usize, (within % 64) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn check(index: &RankIndex, model: &BTreeSet<u64>, probes: &[u64]) {
        assert_eq!(index.len(), model.len() as u64);
        for &probe in probes {
            let expected = model.range(..probe).count() as u64;
            assert_eq!(index.rank(probe), expected, "rank({probe})");
            assert_eq!(index.contains(probe), model.contains(&probe));
        }
        assert!(index.iter().eq(model.iter().copied()));
    }

    #[test]
    fn rank_counts_keys_ahead() {
        let mut index = RankIndex::new();
        for key in [5, 10_000, 3, 70_000] {
            index.insert(key);
        }
        assert_eq!(index.rank(3), 0);
        assert_eq!(index.rank(5), 1);
        assert_eq!(index.rank(10_000), 2);
        assert_eq!(index.rank(70_000), 3);
        assert_eq!(index.rank(u64::MAX / 2), 4);
        index.remove(5);
        assert_eq!(index.rank(70_000), 2);
    }

    #[test]
    fn draining_the_front_frees_blocks() {
        let mut index = RankIndex::new();
        for key in 0..100_000 {
            index.insert(key);
        }
        for key in 0..99_000 {
            index.remove(key);
        }
        assert!(
            index.blocks.len() < 10,
            "{} blocks kept",
            index.blocks.len()
        );
        assert_eq!(index.rank(99_500), 500);
        index.insert(7);
        assert_eq!(index.rank(99_500), 501);
        assert_eq!(index.rank(8), 1);
    }

    proptest! {
        #[test]
        fn matches_a_sorted_set(ops in proptest::collection::vec((0u8..3, 0u64..40_000), 1..400),
                                probes in proptest::collection::vec(0u64..45_000, 1..20)) {
            let mut index = RankIndex::new();
            let mut model = BTreeSet::new();
            for (op, key) in ops {
                match op {
                    0 | 1 => { prop_assert_eq!(index.insert(key), model.insert(key)); }
                    _ => {
                        let victim = model.range(key..).next().copied().unwrap_or(key);
                        prop_assert_eq!(index.remove(victim), model.remove(&victim));
                    }
                }
            }
            check(&index, &model, &probes);
        }
    }
}
