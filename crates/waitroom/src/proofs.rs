//! The proofs of work this gateway has accepted, so each answers one join only.

use std::collections::HashSet;

use breakwater_tokens::{AcceptedProof, CHALLENGE_TTL_MS};
use parking_lot::Mutex;

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
