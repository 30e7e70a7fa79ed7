//! What the engine answers, independent of how the gateway renders it.

use breakwater_line::{EventState, LineSettings, StockLevel};

/// A buyer's state in line, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    /// In line.
    Waiting,
    /// Admitted: may enter until `enter_by`.
    Ready,
    /// Entered the sale.
    Entered,
    /// Left, dropped out or let the claim window pass.
    Expired,
    /// The event has no seats left and none can come back: waiting is pointless.
    SoldOut,
}

impl QueueState {
    /// The state's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Ready => "ready",
            Self::Entered => "entered",
            Self::Expired => "expired",
            Self::SoldOut => "sold_out",
        }
    }
}

/// A buyer's status: the answer to a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatus {
    /// Where the buyer stands.
    pub state: QueueState,
    /// 1-based place among those still waiting, while waiting and once the sale opened.
    pub position: Option<u64>,
    /// Estimated seconds until admission, when it can be estimated.
    pub eta_seconds: Option<u64>,
    /// The shortest wait to expect (buyers ahead leave as often as so far).
    pub eta_low_seconds: Option<u64>,
    /// The longest wait to expect (nobody ahead leaves); `None` when unbounded.
    pub eta_high_seconds: Option<u64>,
    /// Seats left, coarsely ("at least this many"), once the backend was asked.
    pub seats_left: Option<u64>,
    /// When to poll again.
    pub poll_after_ms: u64,
    /// Claim deadline while ready, Unix ms.
    pub enter_by_ms: Option<u64>,
}

impl QueueStatus {
    /// The status of anyone in line, or joining, once the event is sold out.
    pub fn sold_out() -> Self {
        Self {
            state: QueueState::SoldOut,
            position: None,
            eta_seconds: None,
            eta_low_seconds: None,
            eta_high_seconds: None,
            seats_left: Some(0),
            poll_after_ms: SOLD_OUT_POLL_MS,
            enter_by_ms: None,
        }
    }
}

/// A sold-out line has nothing more to tell a buyer soon; a slow poll still notices seats
/// that came back (a refund).
const SOLD_OUT_POLL_MS: u64 = 30_000;

/// The answer to a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The signed line token: the buyer's proof of their place.
    pub token: String,
    /// The buyer's status right after joining.
    pub status: QueueStatus,
}

/// The answer to a successful enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The signed access token for the ticketing backend.
    pub access_token: String,
    /// When it stops being valid, Unix ms.
    pub expires_at_ms: u64,
}

/// An event as the waiting room knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventView {
    /// The event id.
    pub id: String,
    /// The line's settings.
    pub settings: LineSettings,
    /// The sale's state now.
    pub state: EventState,
}

/// Per-event statistics for operators.
#[derive(Debug, Clone, PartialEq)]
pub struct LineStats {
    /// Buyers waiting (pre-queue included).
    pub waiting: u64,
    /// Admitted buyers whose claim window is open.
    pub ready: u64,
    /// Entered buyers holding a slot.
    pub entered: u64,
    /// How many were ever admitted.
    pub admitted_total: u64,
    /// How many ever entered.
    pub entered_total: u64,
    /// How many ever joined (as far as this gateway knows).
    pub joined_total: u64,
    /// How many left or dropped out before their turn.
    pub departed_total: u64,
    /// The seats left, once the backend was asked.
    pub stock: Option<StockLevel>,
    /// The configured admission rate.
    pub admission_rate_per_second: f64,
    /// The configured cap on ready plus entered buyers.
    pub max_active_users: u32,
    /// The sale's state now.
    pub state: EventState,
    /// How old this gateway's view of the line is, in ms.
    pub replica_age_ms: u64,
}
