//! Proof of work on this gateway: the difficulty it asks now (the operator's, raised
//! while joins flood in), and the proofs it has accepted, so each answers one join only.

use std::collections::HashSet;

use breakwater_line::MAX_JOIN_PROOF_BITS;
use breakwater_tokens::{AcceptedProof, CHALLENGE_TTL_MS};
use parking_lot::Mutex;

/// Most bits a flood adds to the operator's difficulty: each doubles a join's cost, so a
/// bot's price rises 64-fold while buyers' pages slow by the same factor at worst.
const MAX_FLOOD_BITS: u8 = 6;

/// The difficulty to ask of a join: the operator's `base` (0: none, and a flood adds
/// nothing), plus one bit per doubling of the joins per second past `flood`.
pub(crate) fn required_bits(base: u8, joins_per_second: u64, flood: u64) -> u8 {
    if base == 0 || flood == 0 || joins_per_second <= flood {
        return base;
    }
    let doublings = (joins_per_second / flood).ilog2() + 1;
    let extra = u8::try_from(doublings)
        .unwrap_or(u8::MAX)
        .min(MAX_FLOOD_BITS);
    base.saturating_add(extra).min(MAX_JOIN_PROOF_BITS)
}

/// Joins per second on one line of this gateway: the count of the current second, or of
/// the last whole second when that was higher (so the rate does not drop to nothing at
/// each second's start).
#[derive(Default)]
pub(crate) struct JoinMeter {
    seconds: Mutex<(u64, u64, u64)>,
}

impl JoinMeter {
    /// Counts one join at `now_ms`.
    pub(crate) fn record(&self, now_ms: u64) {
        let mut seconds = self.seconds.lock();
        roll(&mut seconds, now_ms / 1000);
        seconds.1 += 1;
    }

    /// Joins per second as of `now_ms`.
    pub(crate) fn rate(&self, now_ms: u64) -> u64 {
        let mut seconds = self.seconds.lock();
        roll(&mut seconds, now_ms / 1000);
        seconds.1.max(seconds.2)
    }
}

/// Moves (second, its count, the previous second's count) on to `second`.
fn roll(seconds: &mut (u64, u64, u64), second: u64) {
    let (current, count, _) = *seconds;
    if second == current {
        return;
    }
    let previous = if second == current + 1 { count } else { 0 };
    *seconds = (second, 0, previous);
}

/// Accepted proofs, remembered until their challenge has expired: two generations, each
/// [`CHALLENGE_TTL_MS`] long, so memory follows the joins of the last two lifetimes.
#[derive(Default)]
pub(crate) struct SpentProofs {
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    current: HashSet<[u8; 16]>,
    previous: HashSet<[u8; 16]>,
    started_at_ms: u64,
}

impl SpentProofs {
    /// Records `proof` as used; false when it already was.
    pub(crate) fn spend(&self, proof: &AcceptedProof, now_ms: u64) -> bool {
        let mut generations = self.generations.lock();
        // A proof spent in the generation before last was for a challenge that has
        // expired by now, so it is refused as expired before it gets here.
        if now_ms.saturating_sub(generations.started_at_ms) >= CHALLENGE_TTL_MS {
            generations.previous = std::mem::take(&mut generations.current);
            generations.started_at_ms = now_ms;
        }
        if generations.previous.contains(&proof.id) {
            return false;
        }
        generations.current.insert(proof.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_raises_the_operator_s_difficulty_one_bit_per_doubling_within_bounds() {
        assert_eq!(
            required_bits(0, 1_000_000, 2_000),
            0,
            "no proof stays no proof"
        );
        assert_eq!(required_bits(18, 2_000, 2_000), 18);
        assert_eq!(required_bits(18, 2_001, 2_000), 19);
        assert_eq!(required_bits(18, 4_000, 2_000), 20);
        assert_eq!(required_bits(18, 8_000, 2_000), 21);
        assert_eq!(required_bits(18, 10_000_000, 2_000), 18 + MAX_FLOOD_BITS);
        assert_eq!(required_bits(26, 10_000_000, 2_000), MAX_JOIN_PROOF_BITS);
        assert_eq!(required_bits(18, 10_000_000, 0), 18, "0: never raised");
    }

    #[test]
    fn the_meter_counts_this_second_and_remembers_the_last() {
        let meter = JoinMeter::default();
        for _ in 0..50 {
            meter.record(10_100);
        }
        assert_eq!(meter.rate(10_900), 50);
        meter.record(11_000);
        assert_eq!(meter.rate(11_001), 50, "the last whole second still counts");
        assert_eq!(meter.rate(12_000), 1);
        assert_eq!(meter.rate(20_000), 0, "a quiet line forgets the flood");
    }

    fn proof(id: u8, expires_at_ms: u64) -> AcceptedProof {
        AcceptedProof {
            id: [id; 16],
            expires_at_ms,
        }
    }

    #[test]
    fn a_proof_is_spent_once_until_its_challenge_expires() {
        let spent = SpentProofs::default();
        let start = 1_000_000;
        let first = proof(1, start + CHALLENGE_TTL_MS);
        assert!(spent.spend(&first, start));
        assert!(!spent.spend(&first, start + 1));
        assert!(spent.spend(&proof(2, start + CHALLENGE_TTL_MS), start + 2));
        // One generation later the first is still remembered (its challenge may live on).
        assert!(!spent.spend(&first, start + CHALLENGE_TTL_MS));
        assert!(!spent.spend(&first, start + CHALLENGE_TTL_MS + 10));
    }
}
