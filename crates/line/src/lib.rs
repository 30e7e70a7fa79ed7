//! The waiting line's domain: queue numbers, line order, positions, admission pacing and
//! the opening lottery. Knows nothing of HTTP or storage.

mod advice;
mod bitset;
mod change;
mod clock;
mod deadlines;
mod event;
mod lineage;
mod lottery;
mod pacing;
mod rank;
mod replica;
mod stock;

pub use advice::{Advice, LineOutlook, advise};
pub use bitset::Bitset;
pub use change::{LineChange, LineImage};
pub use clock::{Clock, ManualClock, SystemClock};
pub use deadlines::Deadlines;
pub use event::{EventId, EventState, InvalidSetting, LineSettings, MAX_JOIN_PROOF_BITS};
pub use lineage::{InvalidLineage, Lineage};
pub use lottery::Lottery;
pub use pacing::{Allowance, Gcra, Schedule, Shortfall};
pub use rank::RankIndex;
pub use replica::{LineCounts, LineReplica, Session, Standing};
pub use stock::StockLevel;
