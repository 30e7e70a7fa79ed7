//! What the engine refuses, and why.

use breakwater_line::InvalidSetting;
use breakwater_line_store::StoreError;
use breakwater_tokens::{ProofError, TokenError};

use crate::QueueStatus;

/// A refusal or failure of a waiting room operation; the gateway maps each to an HTTP
/// status in one place.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WaitroomError {
    /// No event with that id.
    #[error("no such event")]
    UnknownEvent,
    /// The token was refused.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// `enter` before the buyer's turn; carries their current status.
    #[error("not your turn yet")]
    NotReady(Box<QueueStatus>),
    /// `enter` with a line token that already entered.
    #[error("this place in line has already entered")]
    AlreadyEntered(Box<QueueStatus>),
    /// The place is gone: left, dropped out or the claim window passed.
    #[error("this place in line has expired")]
    PlaceExpired,
    /// The access token's session has ended: it may only read the buyer's orders.
    #[error(
        "your session has ended (you left, your order was confirmed, or it ran out): you can still read your orders"
    )]
    SessionEnded,
    /// The event has no seats left: nobody joins or enters for nothing.
    #[error("the event is sold out")]
    SoldOut,
    /// The sale is closed: no joins.
    #[error("the sale is closed")]
    Closed,
    /// The line's store cannot be reached, so nothing can be vouched for; retry later.
    #[error("the waiting room is temporarily unavailable")]
    Unavailable {
        /// Seconds after which a retry makes sense.
        retry_after_seconds: u64,
    },
    /// Too many joins are queued on this gateway; retry later.
    #[error("too many requests are queued; retry shortly")]
    Overloaded {
        /// Seconds after which a retry makes sense.
        retry_after_seconds: u64,
    },
    /// An event with that id exists.
    #[error("an event with this id already exists")]
    EventExists,
    /// A setting is invalid.
    #[error("{0}")]
    InvalidSetting(#[from] InvalidSetting),
    /// The event asks a proof of work with each join and none was given.
    #[error(
        "this event asks a proof of work with each join ({bits} bits): get a challenge, solve it, and join with the proof"
    )]
    ProofRequired {
        /// Zero bits the proof's hash must start with.
        bits: u8,
    },
    /// The proof of work was refused.
    #[error("{0}")]
    Proof(#[from] ProofError),
    /// The proof of work already let someone join.
    #[error("this proof of work has already been used to join")]
    ProofUsed,
}

impl WaitroomError {
    /// The error for a store failure seen by a buyer's request.
    pub(crate) fn from_store(error: StoreError) -> Self {
        match error {
            StoreError::UnknownEvent => Self::UnknownEvent,
            StoreError::EventExists => Self::EventExists,
            StoreError::Unavailable(_)
            | StoreError::StateLost
            | StoreError::Behind
            | StoreError::LeaseLost
            | StoreError::Corrupt(_) => Self::Unavailable {
                retry_after_seconds: 1,
            },
        }
    }
}
