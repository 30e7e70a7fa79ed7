//! One event's line as this gateway runs it.

use std::collections::VecDeque;

use breakwater_line::{EventId, LineReplica, Lottery, Schedule};
use breakwater_line_store::{Epoch, Snapshot, SyncCursor};
use parking_lot::{Mutex, RwLock};

use crate::heartbeats::PendingHeartbeats;
use crate::joins::JoinQueue;

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
}

/// How many (time, seq) pairs to keep; covers several flush intervals of syncs.
const SEQ_HISTORY: usize = 256;

impl ReplicaView {
    /// A view of `snapshot`, synced at `now_ms`.
    pub fn from_snapshot(snapshot: Snapshot, lottery: Lottery, now_ms: u64) -> Self {
        let timeout = snapshot.image.settings.heartbeat_timeout_ms();
        let drops_allowed_from_ms = snapshot.started_ms + timeout + Epoch::length_for(timeout) * 2;
        let seq = snapshot.image.seq;
        Self {
            replica: LineReplica::from_image(snapshot.image, lottery),
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
