//! Signed tokens that carry a buyer's place in line and their admission.
//!
//! A *line token* is issued by `join` and names the event, the queue number and the
//! time of joining; it is the buyer's proof of their place, also after the line's store
//! lost its state. An *access token* is issued by `enter` and lets the buyer through to
//! the ticketing backend for one event until it expires.
//!
//! Both name the buyer as (event, lineage, number): the queue number counts from zero in
//! each lineage (one life of the event's line), so a buyer identity never repeats for an
//! event even when the line has to start again from nothing.
//!
//! Format: `bw2.<kind>.<event>.<lineage>.<number>.<millis>.<mac>` where `lineage` is 16 hex
//! digits and `mac` is the first 128 bits of HMAC-SHA256 over everything before it,
//! base64url without padding. The fields stay readable so operators can read a token in a
//! log line; only the MAC is secret-bound.

mod error;
mod keys;
mod proof;

pub use error::TokenError;
pub use keys::{AccessToken, LineToken, READ_GRACE_MS, TokenKeys, is_buyer_id};
pub use proof::{AcceptedProof, CHALLENGE_TTL_MS, JoinChallenge, ProofError, solve};
