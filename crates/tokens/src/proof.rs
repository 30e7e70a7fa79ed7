//! Proof of work at join: an event may ask each join to carry the answer to a puzzle the
//! gateway set, so a place in line costs a bot CPU time while a browser pays about a
//! second. The gateway keeps no state for a challenge it issues (it is signed, like a
//! token); only the answers it has accepted are remembered, so each is used once.
//!
//! Challenge: `pow1.<event>.<expires ms>.<bits>.<salt>.<mac>` (mac as in tokens). Proof:
//! `<challenge>.<answer>`, `answer` a decimal number, such that SHA-256 of the proof's
//! text starts with `bits` zero bits. Anything that can hash a string can solve it (the
//! page does it in a Web Worker); checking takes one hash and one HMAC.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::keys::{MAC_BYTES, TokenKeys, parse_number};

const VERSION: &str = "pow1";

/// How long a challenge may be answered.
pub const CHALLENGE_TTL_MS: u64 = 120_000;

/// A puzzle to solve before joining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinChallenge {
    /// The challenge's text, to which the answer is appended.
    pub text: String,
    /// Zero bits the proof's hash must start with.
    pub bits: u8,
    /// Until when an answer is taken (Unix ms).
    pub expires_at_ms: u64,
}

/// An accepted proof: what makes it unique, and until when it must be remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedProof {
    /// The challenge's MAC: one per challenge.
    pub id: [u8; MAC_BYTES],
    /// After this (Unix ms) the challenge is refused anyway.
    pub expires_at_ms: u64,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not of the `<challenge>.<answer>` shape.
    #[error("proof is malformed")]
    Malformed,
    /// The challenge was not issued by this deployment, or was altered.
    #[error("challenge signature is invalid")]
    BadSignature,
    /// The challenge is for another event.
    #[error("challenge belongs to another event")]
    WrongEvent,
    /// The challenge is too old to answer.
    #[error("challenge has expired")]
    Expired,
    /// The challenge asks fewer bits than the event now requires.
    #[error("challenge is easier than the event now requires ({required} bits)")]
    TooEasy {
        /// Bits the event requires now.
        required: u8,
    },
    /// The answer does not solve the challenge.
    #[error("answer does not solve the challenge")]
    Unsolved,
}

impl TokenKeys {
    /// A challenge of `bits` for joining `event`, answerable for [`CHALLENGE_TTL_MS`].
    pub fn issue_challenge(&self, event: &str, bits: u8, now_ms: u64) -> JoinChallenge {
        let expires_at_ms = now_ms.saturating_add(CHALLENGE_TTL_MS);
        let salt: u64 = rand::random();
        let body = format!("{VERSION}.{event}.{expires_at_ms}.{bits}.{salt:016x}");
        let tag = self.tag(&body);
        let mut text = body;
        text.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut text);
        JoinChallenge {
            text,
            bits,
            expires_at_ms,
        }
    }

    /// Checks a proof for joining `event` when the event requires `required_bits`.
    pub fn check_proof(
        &self,
        proof: &str,
        event: &str,
        required_bits: u8,
        now_ms: u64,
    ) -> Result<AcceptedProof, ProofError> {
        let (challenge, answer) = proof.rsplit_once('.').ok_or(ProofError::Malformed)?;
        parse_number(answer).map_err(|_| ProofError::Malformed)?;
        let (body, tag) = challenge.rsplit_once('.').ok_or(ProofError::Malformed)?;
        let mut id = [0u8; MAC_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(tag, &mut id) {
            Ok(MAC_BYTES) => {}
            _ => return Err(ProofError::Malformed),
        }
        let fields = ChallengeFields::parse(body)?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_truncated_left(&id)
            .map_err(|_| ProofError::BadSignature)?;
        if fields.event != event {
            return Err(ProofError::WrongEvent);
        }
        if now_ms >= fields.expires_at_ms {
            return Err(ProofError::Expired);
        }
        if fields.bits < required_bits {
            return Err(ProofError::TooEasy {
                required: required_bits,
            });
        }
        if leading_zero_bits(&Sha256::digest(proof.as_bytes())) < u32::from(fields.bits) {
            return Err(ProofError::Unsolved);
        }
        Ok(AcceptedProof {
            id,
            expires_at_ms: fields.expires_at_ms,
        })
    }

    fn tag(&self, body: &str) -> [u8; MAC_BYTES] {
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; MAC_BYTES];
        tag.copy_from_slice(&full[..MAC_BYTES]);
        tag
    }
}

/// Solves a challenge by trying answers from 0: what a client does (tests, benchmarks and
/// the load generator use this one; the page has its own in JavaScript).
pub fn solve(challenge: &str, bits: u8) -> String {
    let mut proof = String::with_capacity(challenge.len() + 21);
    for answer in 0u64.. {
        proof.clear();
        proof.push_str(challenge);
        proof.push('.');
        proof.push_str(&answer.to_string());
        if leading_zero_bits(&Sha256::digest(proof.as_bytes())) >= u32::from(bits) {
            break;
        }
    }
    proof
}

fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        bits += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    bits
}

struct ChallengeFields<'a> {
    event: &'a str,
    expires_at_ms: u64,
    bits: u8,
}

impl<'a> ChallengeFields<'a> {
    fn parse(body: &'a str) -> Result<Self, ProofError> {
        let mut parts = body.split('.');
        let mut next = || parts.next().ok_or(ProofError::Malformed);
        if next()? != VERSION {
            return Err(ProofError::Malformed);
        }
        let event = next()?;
        let expires_at_ms = parse_number(next()?).map_err(|_| ProofError::Malformed)?;
        let bits = next()?.parse().map_err(|_| ProofError::Malformed)?;
        let _salt = next()?;
        if parts.next().is_some() || event.is_empty() {
            return Err(ProofError::Malformed);
        }
        Ok(Self {
            event,
            expires_at_ms,
            bits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"proof-test-secret-0123456789")
    }

    #[test]
    fn a_solved_challenge_is_accepted_once_per_id_and_names_its_expiry() {
        let challenge = keys().issue_challenge("rush", 8, NOW);
        let proof = solve(&challenge.text, 8);
        let accepted = keys()
            .check_proof(&proof, "rush", 8, NOW + 1)
            .expect("solved");
        assert_eq!(accepted.expires_at_ms, NOW + CHALLENGE_TTL_MS);
        let other = keys().issue_challenge("rush", 8, NOW);
        let again = keys()
            .check_proof(&solve(&other.text, 8), "rush", 8, NOW)
            .expect("solved");
        assert_ne!(accepted.id, again.id, "each challenge has its own id");
    }

    #[test]
    fn wrong_answers_and_altered_challenges_are_refused() {
        let challenge = keys().issue_challenge("rush", 12, NOW);
        let proof = solve(&challenge.text, 12);
        let (text, answer) = proof.rsplit_once('.').expect("answer");
        let wrong = format!("{text}.{}", answer.parse::<u64>().expect("number") + 1);
        // One in 4,096 wrong answers solves it by chance: this one was checked not to.
        let check = |proof: &str| keys().check_proof(proof, "rush", 12, NOW);
        if leading_zero_bits(&Sha256::digest(wrong.as_bytes())) < 12 {
            assert_eq!(check(&wrong), Err(ProofError::Unsolved));
        }
        let easier = proof.replacen(".12.", ".1.", 1);
        assert_eq!(check(&easier), Err(ProofError::BadSignature));
        assert_eq!(
            keys().check_proof(&proof, "other", 12, NOW),
            Err(ProofError::WrongEvent)
        );
        assert_eq!(
            keys().check_proof(&proof, "rush", 12, NOW + CHALLENGE_TTL_MS),
            Err(ProofError::Expired)
        );
        assert_eq!(
            keys().check_proof(&proof, "rush", 13, NOW),
            Err(ProofError::TooEasy { required: 13 })
        );
        let foreign = TokenKeys::new(b"another-deployment-secret-01234");
        assert_eq!(
            foreign.check_proof(&proof, "rush", 12, NOW),
            Err(ProofError::BadSignature)
        );
        for garbage in ["", ".", "pow1", &format!("{text}.01"), &format!("{text}.x")] {
            assert_eq!(check(garbage), Err(ProofError::Malformed), "{garbage:?}");
        }
    }

    #[test]
    fn leading_zero_bits_count_across_bytes() {
        assert_eq!(leading_zero_bits(&[0xff]), 0);
        assert_eq!(leading_zero_bits(&[0x00, 0x10]), 11);
        assert_eq!(leading_zero_bits(&[0x00, 0x00]), 16);
    }
}
