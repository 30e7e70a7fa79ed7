//! The store operations the waiting room engine relies on.

use async_trait::async_trait;
use breakwater_line::{Bitset, EventId, LineChange, LineImage, LineSettings, Schedule, StockLevel};

use crate::{Epoch, EpochWindow};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or did not answer in time; nothing is known to have
    /// changed. The engine fails closed: no admissions, polls get 503.
    #[error("line store unavailable: {0}")]
    Unavailable(String),
    /// The store lost this line's state (restart or flush); the engine restores it.
    #[error("line store lost the line's state")]
    StateLost,
    /// The store has handed out fewer numbers than a replica has seen: it lost its last
    /// writes, and a join now would hand out a number a token already carries.
    #[error("line store is behind what this gateway has seen")]
    Behind,
    /// No such event.
    #[error("no such event")]
    UnknownEvent,
    /// The event already exists.
    #[error("event already exists")]
    EventExists,
    /// Another gateway holds the pacer lease now.
    #[error("pacer lease is held by another gateway")]
    LeaseLost,
    /// The store answered something this code cannot read.
    #[error("line store answered unexpectedly: {0}")]
    Corrupt(String),
}

/// A consistent copy of a line's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Identifies this life of the line's state; it changes when the state is restored.
    pub incarnation: String,
    /// The change log position the image includes.
    pub lsn: u64,
    /// When this incarnation began, Unix ms.
    pub started_ms: u64,
    /// The state.
    pub image: LineImage,
}

/// Where a replica stands in the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCursor {
    /// The incarnation the replica was built from.
    pub incarnation: String,
    /// The last change applied.
    pub lsn: u64,
}

/// What happened since a cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncOutcome {
    /// The changes after the cursor.
    Changes(SyncBatch),
    /// The cursor is from another incarnation or fell behind the trimmed log: take a
    /// fresh snapshot.
    Resnapshot,
    /// The store holds less of this incarnation than the replica has already seen: it
    /// lost its last writes (a replica promoted while lagging, a restart from an older
    /// dump). Rebase the store from the replica.
    Behind,
}

/// Changes after a cursor, read atomically with the counters.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncBatch {
    /// The next queue number (every number below it was handed out).
    pub seq: u64,
    /// How many were ever admitted.
    pub admitted_total: u64,
    /// The changes, oldest first.
    pub changes: Vec<LineChange>,
    /// The log position after the last change returned.
    pub lsn: u64,
}

/// One gateway's polls in one epoch, and the numbers it asks to reinstate.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatReport {
    /// The epoch the polls fell in.
    pub epoch: Epoch,
    /// Queue numbers that polled.
    pub seen: Bitset,
    /// Numbers the store lost that came back with valid tokens.
    pub reinstate: Vec<u64>,
    /// How long the epoch's record must be kept.
    pub retention_ms: u64,
}

/// One pacer step.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmitRequest {
    /// The pacer's clock, Unix ms.
    pub now_ms: u64,
    /// The first waiting numbers in line order, as the pacer's replica sees them.
    pub candidates: Vec<u64>,
    /// Whether the candidates are everyone the pacer sees waiting: if fewer are admitted
    /// than the rate allows, the line ran dry and the schedule goes idle (otherwise the
    /// list was cut short and the unused slots stay due).
    pub offers_everyone: bool,
    /// Milliseconds between admissions.
    pub interval_ms: f64,
    /// How far behind the schedule a late step may catch up, in milliseconds.
    pub tolerance_ms: f64,
    /// Cap on ready plus entered buyers.
    pub max_active: u32,
    /// Claim deadline for those admitted now, Unix ms.
    pub deadline_ms: u64,
}

/// What one pacer step did.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmitResult {
    /// The numbers admitted, in line order.
    pub admitted: Vec<u64>,
    /// The pacing state after the step: nothing more is due before its next slot.
    pub schedule: Schedule,
}

/// The result of an attempt to enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterOutcome {
    /// Entered; the session holds a slot until then.
    Entered {
        /// Unix ms.
        session_expires_ms: u64,
    },
    /// This number entered before; a line token enters once.
    AlreadyEntered,
    /// Not admitted (yet).
    NotReady,
    /// The claim window passed.
    Expired,
}

/// A store shared by every gateway of a deployment.
///
/// Every method is one atomic step in the store. Methods taking a `holder` act only while
/// that gateway holds the event's pacer lease and fail with [`StoreError::LeaseLost`]
/// otherwise, so a pacer that lost its lease can never admit.
#[async_trait]
pub trait LineStore: Send + Sync + 'static {
    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Every event in the store.
    async fn list_events(&self) -> Result<Vec<EventId>, StoreError>;

    /// Creates an event's line.
    async fn create_event(
        &self,
        event: &EventId,
        settings: &LineSettings,
        now_ms: u64,
    ) -> Result<(), StoreError>;

    /// Replaces a line's settings and logs the change.
    async fn update_settings(
        &self,
        event: &EventId,
        settings: &LineSettings,
    ) -> Result<(), StoreError>;

    /// Hands out `count` consecutive queue numbers; returns the first. The first join
    /// at or after `opens_at` opens the sale, so nobody who joins after it is placed by
    /// the pre-queue lottery. `floor` is the next number as the caller last saw it: a
    /// store below it lost writes, and refuses with [`StoreError::Behind`].
    async fn join(
        &self,
        event: &EventId,
        count: u32,
        now_ms: u64,
        floor: u64,
    ) -> Result<u64, StoreError>;

    /// A consistent copy of the line's state.
    async fn snapshot(&self, event: &EventId) -> Result<Snapshot, StoreError>;

    /// Up to `max` changes after `cursor`.
    async fn sync(
        &self,
        event: &EventId,
        cursor: &SyncCursor,
        max: usize,
    ) -> Result<SyncOutcome, StoreError>;

    /// Records a gateway's polls of one epoch and reinstates numbers the store lost.
    async fn heartbeat(&self, event: &EventId, report: &HeartbeatReport) -> Result<(), StoreError>;

    /// Numbers that polled in any epoch of the window.
    async fn liveness(&self, event: &EventId, window: &EpochWindow) -> Result<Bitset, StoreError>;

    /// Takes or renews the event's pacer lease for `ttl_ms`; whether `holder` has it.
    async fn hold_lease(
        &self,
        event: &EventId,
        holder: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError>;

    /// Admits the first candidates still waiting, as many as the rate and the active cap
    /// allow; returns them.
    async fn admit(
        &self,
        event: &EventId,
        holder: &str,
        request: &AdmitRequest,
    ) -> Result<AdmitResult, StoreError>;

    /// Drops waiting buyers who went silent.
    async fn drop_silent(
        &self,
        event: &EventId,
        holder: &str,
        numbers: &[u64],
    ) -> Result<(), StoreError>;

    /// Opens the sale: every number handed out so far goes to the lottery.
    async fn open(&self, event: &EventId, holder: &str) -> Result<(), StoreError>;

    /// Enters an admitted buyer, once.
    async fn enter(
        &self,
        event: &EventId,
        number: u64,
        now_ms: u64,
        session_ms: u64,
    ) -> Result<EnterOutcome, StoreError>;

    /// A buyer leaves: out of line, giving up a ready place, or ending their session.
    async fn leave(&self, event: &EventId, number: u64) -> Result<(), StoreError>;

    /// Ends an entered buyer's session, freeing the slot.
    async fn finish(&self, event: &EventId, number: u64) -> Result<(), StoreError>;

    /// Records the seats left as the ticketing backend last told them, and logs it when it
    /// differs from what the line has (any gateway may; no lease needed).
    async fn set_stock(&self, event: &EventId, level: StockLevel) -> Result<(), StoreError>;

    /// Writes `image` as a new incarnation if the store lost the line; returns whether
    /// this call restored it (false: someone else did first).
    async fn restore(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
    ) -> Result<bool, StoreError>;

    /// Replaces the line with `image` as a new incarnation if the store still holds
    /// `incarnation`, found [`SyncOutcome::Behind`] a replica; returns whether this call
    /// replaced it (false: another gateway rebased it first).
    async fn rebase(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
        incarnation: &str,
    ) -> Result<bool, StoreError>;
}
