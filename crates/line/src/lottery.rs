//! The opening lottery: a keyed random order of everyone who joined before the sale opened.

/// A keyed pseudorandom permutation of `0..size`: the pre-queue's queue numbers are placed
/// in line by it when the sale opens, so arriving early gives no edge.
///
/// It is a six-round Feistel network over the smallest even number of bits covering
/// `size`, with cycle-walking to stay inside `0..size`. Being a bijection computed from a
/// secret seed, every gateway places every pre-queue number identically without storing
/// the order, and a buyer's place can be recomputed from their token after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lottery {
    seed: u64,
}

const ROUNDS: u64 = 6;

impl Lottery {
    /// A lottery drawn from `seed` (derived from the deployment's secret and the event).
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The place (0-based) in `0..size` drawn for queue number `number < size`.
    pub fn place(&self, number: u64, size: u64) -> u64 {
        debug_assert!(number < size);
        let half_bits = half_bits(size);
        let mut value = self.encrypt(number, half_bits);
        while value >= size {
            value = self.encrypt(value, half_bits);
        }
        value
    }

    /// The queue number that drew `place` in `0..size`; the inverse of [`Lottery::place`].
    pub fn number_at(&self, place: u64, size: u64) -> u64 {
        debug_assert!(place < size);
        let half_bits = half_bits(size);
        let mut value = self.decrypt(place, half_bits);
        while value >= size {
            value = self.decrypt(value, half_bits);
        }
        value
    }

    fn encrypt(&self, value: u64, half_bits: u32) -> u64 {
        let mask = (1u64 << half_bits) - 1;
        let (mut left, mut right) = (value >> half_bits, value & mask);
        for round in 0..ROUNDS {
            let next = left ^ (self.round_function(right, round) & mask);
            left = right;
            right = next;
        }
        (left << half_bits) | right
    }

    fn decrypt(&self, value: u64, half_bits: u32) -> u64 {
        let mask = (1u64 << half_bits) - 1;
        let (mut left, mut right) = (value >> half_bits, value & mask);
        for round in (0..ROUNDS).rev() {
            let previous = right ^ (self.round_function(left, round) & mask);
            right = left;
            left = previous;
        }
        (left << half_bits) | right
    }

    fn round_function(&self, half: u64, round: u64) -> u64 {
        mix(self.seed ^ mix(half.wrapping_add(round.wrapping_mul(0x9e37_79b9_7f4a_7c15))))
    }
}

fn half_bits(size: u64) -> u32 {
    let bits = (64 - size.saturating_sub(1).leading_zeros()).max(2);
    bits.div_ceil(2)
}

/// SplitMix64's finaliser: a fast, well-distributed 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn is_a_permutation() {
        for size in [1u64, 2, 3, 7, 100, 1000, 4097] {
            let lottery = Lottery::new(42);
            let mut seen = vec![false; size as usize];
            for number in 0..size {
                let place = lottery.place(number, size);
                assert!(place < size);
                assert!(!seen[place as usize], "size {size}: place {place} twice");
                seen[place as usize] = true;
                assert_eq!(lottery.number_at(place, size), number);
            }
        }
    }

    /// Arriving early gives no edge: over many draws, the first tenth of the pre-queue
    /// lands on average in the middle of the line, like everyone else.
    #[test]
    fn early_arrivals_get_no_edge() {
        let size = 1000u64;
        let draws = 400u64;
        let mut early_sum = 0u64;
        for seed in 0..draws {
            let lottery = Lottery::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
            early_sum += (0..size / 10).map(|n| lottery.place(n, size)).sum::<u64>();
        }
        let mean = early_sum as f64 / (draws * size / 10) as f64;
        let middle = (size - 1) as f64 / 2.0;
        // Standard error of the mean is ~289/sqrt(40_000) ≈ 1.4 places.
        assert!((mean - middle).abs() < 10.0, "mean place {mean}");
    }

    proptest! {
        #[test]
        fn place_and_number_are_inverse(seed in any::<u64>(), size in 1u64..1_000_000_000, n in any::<u64>()) {
            let lottery = Lottery::new(seed);
            let number = n % size;
            let place = lottery.place(number, size);
            prop_assert!(place < size);
            prop_assert_eq!(lottery.number_at(place, size), number);
        }
    }
}
