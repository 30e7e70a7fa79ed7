//! A growable set of queue numbers, one bit each.

/// A set of `u64` numbers stored as one bit per number from 0 up to the largest member.
///
/// The byte form (`to_redis_bytes` / `or_redis_bytes`) is Redis's bitmap layout, where bit
/// `n` is the most significant bit of byte `n / 8` shifted right by `n % 8`, so a set can
/// be written to and read from a Redis string with `SETRANGE` / `GET` / `BITOP`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bitset {
    words: Vec<u64>,
    len: u64,
}

impl Bitset {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `n` is in the set.
    pub fn contains(&self, n: u64) -> bool {
        let (word, bit) = split(n);
        self.words
            .get(word)
            .is_some_and(|value| value & (1 << bit) != 0)
    }

    /// Adds `n`; returns whether it was new.
    pub fn insert(&mut self, n: u64) -> bool {
        let (word, bit) = split(n);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let was = self.words[word] & (1 << bit) != 0;
        self.words[word] |= 1 << bit;
        if !was {
            self.len += 1;
        }
        !was
    }

    /// Removes `n`; returns whether it was there.
    pub fn remove(&mut self, n: u64) -> bool {
        let (word, bit) = split(n);
        let Some(value) = self.words.get_mut(word) else {
            return false;
        };
        let was = *value & (1 << bit) != 0;
        *value &= !(1 << bit);
        if was {
            self.len -= 1;
        }
        was
    }

    /// How many numbers are in the set.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds every member of `other`.
    pub fn extend_from(&mut self, other: &Bitset) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (mine, &theirs) in self.words.iter_mut().zip(&other.words) {
            let before = *mine;
            *mine |= theirs;
            self.len += u64::from(mine.count_ones() - before.count_ones());
        }
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.words.clear();
        self.len = 0;
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words
            .iter()
            .enumerate()
            .flat_map(|(index, &word)| BitsOf {
                word,
                base: index as u64 * 64,
            })
    }

    /// The members of `self` that are not in `other`, in ascending order, below `limit`.
    pub fn difference_below<'a>(
        &'a self,
        other: &'a Bitset,
        limit: u64,
    ) -> impl Iterator<Item = u64> + 'a {
        self.words
            .iter()
            .enumerate()
            .flat_map(move |(index, &word)| {
                let other_word = other.words.get(index).copied().unwrap_or(0);
                BitsOf {
                    word: word & !other_word,
                    base: index as u64 * 64,
                }
            })
            .take_while(move |&n| n < limit)
    }

    /// The smallest and largest member, if any.
    pub fn bounds(&self) -> Option<(u64, u64)> {
        let first = self.words.iter().position(|&word| word != 0)?;
        let last = self.words.iter().rposition(|&word| word != 0)?;
        let low = first as u64 * 64 + u64::from(self.words[first].trailing_zeros());
        let high = last as u64 * 64 + 63 - u64::from(self.words[last].leading_zeros());
        Some((low, high))
    }

    /// The set as Redis bitmap bytes starting at byte `offset` (the start of the set's
    /// lowest member's byte), or `None` when the set is empty.
    pub fn to_redis_bytes(&self) -> Option<(u64, Vec<u8>)> {
        let (low, high) = self.bounds()?;
        let first_byte = low / 8;
        let last_byte = high / 8;
        let bytes = (first_byte..=last_byte)
            .map(|byte| self.redis_byte(byte))
            .collect();
        Some((first_byte, bytes))
    }

    /// Adds the members encoded in Redis bitmap bytes that start at byte `offset`.
    pub fn or_redis_bytes(&mut self, offset: u64, bytes: &[u8]) {
        for (index, &byte) in bytes.iter().enumerate() {
            if byte == 0 {
                continue;
            }
            let base = (offset + index as u64) * 8;
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    self.insert(base + bit);
                }
            }
        }
    }

    /// A set from Redis bitmap bytes that start at byte 0.
    pub fn from_redis_bytes(bytes: &[u8]) -> Self {
        let mut set = Self::new();
        set.or_redis_bytes(0, bytes);
        set
    }

    /// Releases memory held for numbers below the lowest member.
    pub fn shrink_to_fit(&mut self) {
        let keep = self
            .words
            .iter()
            .rposition(|&word| word != 0)
            .map_or(0, |last| last + 1);
        self.words.truncate(keep);
        self.words.shrink_to_fit();
    }

    fn redis_byte(&self, byte: u64) -> u8 {
        let word = self.words[(byte / 8) as usize];
        let low_bits = (word >> ((byte % 8) * 8)) as u8;
        // Our bit k of the byte is number byte*8+k; Redis puts that number at 0x80 >> k.
        low_bits.reverse_bits()
    }
}

fn split(n: u64) -> (usize, u32) {
    ((n / 64) as usize, (n % 64) as u32)
}

/// The set bits of one word, as numbers (`base` + bit index).
pub(crate) struct BitsOf {
    pub word: u64,
    pub base: u64,
}

impl Iterator for BitsOf {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.word == 0 {
            return None;
        }
        let bit = self.word.trailing_zeros();
        self.word &= self.word - 1;
        Some(self.base + u64::from(bit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn redis_layout_puts_number_zero_in_the_high_bit() {
        let mut set = Bitset::new();
        set.insert(0);
        set.insert(9);
        assert_eq!(set.to_redis_bytes(), Some((0, vec![0x80, 0x40])));
    }

    #[test]
    fn redis_bytes_start_at_the_lowest_members_byte() {
        let mut set = Bitset::new();
        set.insert(17);
        assert_eq!(set.to_redis_bytes(), Some((2, vec![0x40])));
    }

    proptest! {
        #[test]
        fn behaves_like_a_set(ops in proptest::collection::vec((any::<bool>(), 0u64..2000), 0..300)) {
            let mut set = Bitset::new();
            let mut model = BTreeSet::new();
            for (add, n) in ops {
                if add {
                    prop_assert_eq!(set.insert(n), model.insert(n));
                } else {
                    prop_assert_eq!(set.remove(n), model.remove(&n));
                }
            }
            prop_assert_eq!(set.len(), model.len() as u64);
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            let round = match set.to_redis_bytes() {
                Some((offset, bytes)) => { let mut r = Bitset::new(); r.or_redis_bytes(offset, &bytes); r }
                None => Bitset::new(),
            };
            prop_assert_eq!(round.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
        }

        #[test]
        fn difference_matches_model(a in proptest::collection::btree_set(0u64..500, 0..100),
                                    b in proptest::collection::btree_set(0u64..500, 0..100),
                                    limit in 0u64..600) {
            let sa: Bitset = { let mut s = Bitset::new(); for &n in &a { s.insert(n); } s };
            let sb: Bitset = { let mut s = Bitset::new(); for &n in &b { s.insert(n); } s };
            let expected: Vec<u64> = a.difference(&b).copied().filter(|&n| n < limit).collect();
            prop_assert_eq!(sa.difference_below(&sb, limit).collect::<Vec<_>>(), expected);
        }
    }
}
