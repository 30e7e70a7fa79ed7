//! One event's line as this gateway runs it.

use std::collections::VecDeque;

use std::sync::atomic::{AtomicU64, Ordering};

use breakwater_line::{EventId, LineOutlook, LineReplica, Lottery, Schedule};
use breakwater_line_store::{Epoch, Snapshot, SyncCursor};
use parking_lot::{Mutex, RwLock};

use crate::heartbeats::PendingHeartbeats;
use crate::joins::JoinQueue;
use crate::proofs::JoinMeter;

/// One event's replica, pending heartbeats, join queue and pacer.
pub(crate) struct Line {
    pub id: EventId,
    pub lottery: Lottery,
    pub view: RwLock<ReplicaView>,
    pub heartbeats: Mutex<PendingHeartbeats>,
    pub joins: JoinQueue,
    pub pacer: tokio::sync::Mutex<PacerState>,
    /// Serialises syncs of this line so changes are applied once and in order.
    pub sync_lock: tokio::sync::Mutex<()>,
    /// When the ticketing backend was last asked about the seats left, Unix ms.
    pub stock_checked_ms: AtomicU64,
    /// Joins per second on this gateway, which may raise the proof of work asked.
    pub join_meter: JoinMeter,
}

impl Line {
    /// Whether this gateway ran the line's pacer at its last step.
    pub fn leads_pacer(&self) -> bool {
        self.pacer.try_lock().is_ok_and(|pacer| pacer.leading)
    }

    /// Whether the seats left are due to be asked about at `now_ms`: the line is open,
    /// has buyers in line (or was never asked), and was not asked within `every_ms`.
    pub fn stock_due(&self, now_ms: u64, every_ms: u64) -> bool {
        let view = self.view.read();
        let replica = &view.replica;
        let open = replica.is_opened() && !replica.settings().closed;
        let counts = replica.counts(now_ms);
        let someone_waits = counts.waiting + counts.ready > 0 || replica.stock().is_none();
        let asked_ms = self.stock_checked_ms.load(Ordering::Relaxed);
        open && someone_waits && now_ms >= asked_ms + every_ms
    }

    /// Records that the backend was asked at `now_ms`.
    pub fn stock_checked(&self, now_ms: u64) {
        self.stock_checked_ms.store(now_ms, Ordering::Relaxed);
    }
}

/// The replica and what the engine tracks about its freshness.
pub(crate) struct ReplicaView {
    pub replica: LineReplica,
    pub cursor: SyncCursor,
    /// When the last successful sync finished, Unix ms.
    pub synced_at_ms: u64,
    /// Recent (time, seq) pairs: a number below the seq seen at time t joined before t.
    pub seq_history: VecDeque<(u64, u64)>,
    /// No drop-outs before this time: buyers restored or re-timed need a window to poll.
    pub drops_allowed_from_ms: u64,
    /// What the line has seen that bears on waits, as of the last sync (kept here so a
    /// poll does not count the line).
    pub outlook: LineOutlook,
}

/// How many (time, seq) pairs to keep; covers several flush intervals of syncs.
const SEQ_HISTORY: usize = 256;

impl ReplicaView {
    /// A view of `snapshot`, synced at `now_ms`.
    pub fn from_snapshot(snapshot: Snapshot, lottery: Lottery, now_ms: u64) -> Self {
        let timeout = snapshot.image.settings.heartbeat_timeout_ms();
        let drops_allowed_from_ms = snapshot.started_ms + timeout + Epoch::length_for(timeout) * 2;
        let seq = snapshot.image.seq;
        let replica = LineReplica::from_image(snapshot.image, lottery);
        let outlook = LineOutlook::of(&replica.counts(now_ms), replica.settings());
        Self {
            replica,
            outlook,
            cursor: SyncCursor {
                incarnation: snapshot.incarnation,
                lsn: snapshot.lsn,
            },
            synced_at_ms: now_ms,
            seq_history: VecDeque::from([(now_ms, seq)]),
            drops_allowed_from_ms,
        }
    }

    /// Records that the replica saw `seq` at `now_ms`.
    pub fn note_seq(&mut self, now_ms: u64) {
        let seq = self.replica.seq();
        if self
            .seq_history
            .back()
            .is_some_and(|&(_, last)| last == seq)
        {
            return;
        }
        self.seq_history.push_back((now_ms, seq));
        if self.seq_history.len() > SEQ_HISTORY {
            self.seq_history.pop_front();
        }
    }

    /// Every number below this joined before `at_ms`.
    pub fn seq_before(&self, at_ms: u64) -> u64 {
        self.seq_history
            .iter()
            .rev()
            .find(|&&(time, _)| time <= at_ms)
            .map_or(0, |&(_, seq)| seq)
    }
}

/// The pacer's memory between steps.
#[derive(Debug)]
pub(crate) struct PacerState {
    /// Whether this gateway holds the lease, as of `lease_checked_ms`.
    pub leading: bool,
    pub lease_checked_ms: u64,
    /// The store's pacing schedule as of the last step: nothing is due before its slot.
    pub schedule: Schedule,
    pub last_drop_check_ms: u64,
}

impl Default for PacerState {
    fn default() -> Self {
        Self {
            leading: false,
            lease_checked_ms: 0,
            schedule: Schedule::Idle,
            last_drop_check_ms: 0,
        }
    }
}
