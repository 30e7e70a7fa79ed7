//! What happens to a line, as recorded in the store's change log.

use serde::{Deserialize, Serialize};

use crate::{Bitset, LineSettings, Lineage, StockLevel};

/// One entry of a line's change log. Joins are not logged: they only advance the queue
/// number counter, which travels with every sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineChange {
    /// The operator changed the line's settings.
    Settings(Box<LineSettings>),
    /// The pacer admitted these numbers; each must enter by the deadline.
    Admitted {
        /// The claim deadline, Unix ms.
        deadline_ms: u64,
        /// The admitted queue numbers, in line order.
        numbers: Vec<u64>,
    },
    /// The buyer left the line, or gave up a `ready` place.
    Left(u64),
    /// These waiting buyers went silent for the heartbeat window.
    Dropped(Vec<u64>),
    /// The buyer entered; their session holds a slot until it ends.
    Entered {
        /// Queue number.
        number: u64,
        /// When the session ends by itself, Unix ms.
        session_expires_ms: u64,
    },
    /// The buyer's session ended (order done or left), freeing their slot.
    Finished(u64),
    /// These numbers came back with their tokens after the store lost its state.
    Reinstated(Vec<u64>),
    /// The sale opened: the numbers below `prequeue_size` are placed by the lottery.
    Opened {
        /// How many numbers were handed out before opening.
        prequeue_size: u64,
    },
    /// The seats left changed enough to tell buyers (a new step, or sold out).
    Stock(StockLevel),
}

/// The whole state of one line: what a snapshot reads and what a restore writes.
#[derive(Debug, Clone, PartialEq)]
pub struct LineImage {
    /// The line's settings.
    pub settings: LineSettings,
    /// Which life of the event's line this is.
    pub lineage: Lineage,
    /// The next queue number to hand out.
    pub seq: u64,
    /// Numbers from `base` to `seq` joined in this store incarnation; numbers below it are
    /// in line only if reinstated.
    pub base: u64,
    /// The pre-queue size, once the sale opened.
    pub opened: Option<u64>,
    /// Numbers no longer waiting: admitted, left or dropped.
    pub out: Bitset,
    /// Numbers below `base` that were reinstated from their tokens.
    pub reinstated: Bitset,
    /// Numbers that entered.
    pub entered: Bitset,
    /// Admitted numbers not yet entered, with their claim deadlines.
    pub ready: Vec<(u64, u64)>,
    /// Entered numbers whose session still holds a slot, with the session's end.
    pub sessions: Vec<(u64, u64)>,
    /// How many were ever admitted.
    pub admitted_total: u64,
    /// The seats left, once the ticketing backend has been asked.
    pub stock: Option<StockLevel>,
}

impl LineImage {
    /// The image of a line of `lineage` that nobody has joined yet.
    pub fn empty(settings: LineSettings, lineage: Lineage) -> Self {
        Self {
            settings,
            lineage,
            seq: 0,
            base: 0,
            opened: None,
            out: Bitset::new(),
            reinstated: Bitset::new(),
            entered: Bitset::new(),
            ready: Vec::new(),
            sessions: Vec::new(),
            admitted_total: 0,
            stock: None,
        }
    }
}
