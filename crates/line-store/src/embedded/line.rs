//! One line of the embedded store.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use breakwater_line::{
    Bitset, Gcra, LineChange, LineImage, LineSettings, Schedule, Shortfall, StockLevel,
};

use super::durable::{Entry, LineRecord};
use super::state::LineState;
use crate::contract::{
    AdmitRequest, AdmitResult, EnterOutcome, HeartbeatReport, Snapshot, StoreError, SyncBatch,
    SyncCursor, SyncOutcome,
};
use crate::{Epoch, EpochWindow};

/// How many changes the log keeps; a replica further behind takes a snapshot.
const LOG_CAPACITY: usize = 65_536;
/// Queue numbers are reserved in the journal this many at a time, so it is written once
/// per this many joins.
const SEQ_RESERVATION: u64 = 65_536;

pub(super) struct EmbeddedLine {
    state: LineState,
    incarnation: String,
    started_ms: u64,
    seq: u64,
    base: u64,
    reserved_seq: u64,
    schedule: Schedule,
    lsn: u64,
    log: VecDeque<(u64, LineChange)>,
    /// Journal entries not written yet (the store writes them before answering).
    unjournaled: Vec<Entry>,
    heartbeats: BTreeMap<Epoch, Bitset>,
    lease: Option<(String, Instant)>,
}

impl EmbeddedLine {
    /// A new incarnation holding `image`.
    pub fn from_image(image: &LineImage, now_ms: u64) -> Self {
        let mut state = LineState::new(image.settings.clone(), image.lineage);
        state.opened = image.opened;
        state.out = image.out.clone();
        state.reinstated = image.reinstated.clone();
        state.entered = image.entered.clone();
        state.ready = image.ready.iter().copied().collect();
        state.sessions = image.sessions.iter().copied().collect();
        state.admitted_total = image.admitted_total;
        state.stock = image.stock;
        let mut line = Self::resume(state, image.seq, now_ms);
        line.base = image.base;
        line.unjournaled.push(Entry::Line(Box::new(line.record())));
        line
    }

    /// A new incarnation of `state` after a restart: numbers continue above every number
    /// ever handed out (`reserved_seq`), and waiting buyers come back with their tokens.
    pub fn resume(state: LineState, reserved_seq: u64, now_ms: u64) -> Self {
        Self {
            state,
            incarnation: new_incarnation(),
            started_ms: now_ms,
            seq: reserved_seq,
            base: reserved_seq,
            reserved_seq,
            schedule: Schedule::Idle,
            lsn: 0,
            log: VecDeque::new(),
            unjournaled: Vec::new(),
            heartbeats: BTreeMap::new(),
            lease: None,
        }
    }

    /// What the files keep of this line.
    pub fn record(&self) -> LineRecord {
        LineRecord::of(&self.state, self.reserved_seq)
    }

    /// The journal entries made since the last call.
    pub fn take_unjournaled(&mut self) -> Vec<Entry> {
        std::mem::take(&mut self.unjournaled)
    }

    pub fn opens_at_ms(&self) -> u64 {
        self.state.settings.opens_at_ms
    }

    pub fn update_settings(&mut self, settings: &LineSettings) {
        // A pause, a new rate: pacing starts afresh rather than owing slots from before.
        self.schedule = Schedule::Idle;
        self.record_change(LineChange::Settings(Box::new(settings.clone())));
    }

    /// Hands out `count` numbers; returns the first.
    /// The next number to hand out.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn join(&mut self, count: u32) -> u64 {
        let first = self.seq;
        self.seq += u64::from(count);
        if self.seq > self.reserved_seq {
            self.reserved_seq = self.seq + SEQ_RESERVATION;
            self.unjournaled.push(Entry::Reserved(self.reserved_seq));
        }
        first
    }

    pub fn snapshot(&self) -> Snapshot {
        let state = &self.state;
        Snapshot {
            incarnation: self.incarnation.clone(),
            lsn: self.lsn,
            started_ms: self.started_ms,
            image: LineImage {
                settings: state.settings.clone(),
                lineage: state.lineage,
                seq: self.seq,
                base: self.base,
                opened: state.opened,
                out: state.out.clone(),
                reinstated: state.reinstated.clone(),
                entered: state.entered.clone(),
                ready: state.ready.iter().collect(),
                sessions: state.sessions.iter().collect(),
                admitted_total: state.admitted_total,
                stock: state.stock,
            },
        }
    }

    pub fn sync(&self, cursor: &SyncCursor, max: usize) -> SyncOutcome {
        let oldest_kept = self.log.front().map_or(self.lsn + 1, |(lsn, _)| *lsn);
        if cursor.incarnation != self.incarnation || cursor.lsn + 1 < oldest_kept {
            return SyncOutcome::Resnapshot;
        }
        if cursor.lsn > self.lsn {
            return SyncOutcome::Behind;
        }
        let skip = (cursor.lsn + 1 - oldest_kept) as usize;
        let changes: Vec<LineChange> = self
            .log
            .iter()
            .skip(skip)
            .take(max)
            .map(|(_, change)| change.clone())
            .collect();
        SyncOutcome::Changes(SyncBatch {
            seq: self.seq,
            admitted_total: self.state.admitted_total,
            lsn: cursor.lsn + changes.len() as u64,
            changes,
        })
    }

    pub fn heartbeat(&mut self, report: &HeartbeatReport) {
        let epoch = report.epoch;
        self.heartbeats
            .entry(epoch)
            .or_default()
            .extend_from(&report.seen);
        let horizon = (epoch.index * epoch.length_ms).saturating_sub(report.retention_ms);
        self.heartbeats
            .retain(|kept, _| (kept.index + 1) * kept.length_ms >= horizon);
        let mut reinstated: Vec<u64> = report
            .reinstate
            .iter()
            .copied()
            .filter(|&n| {
                n < self.base && !self.state.out.contains(n) && !self.state.reinstated.contains(n)
            })
            .collect();
        reinstated.sort_unstable();
        reinstated.dedup();
        if !reinstated.is_empty() {
            self.record_change(LineChange::Reinstated(reinstated));
        }
    }

    pub fn liveness(&self, window: &EpochWindow) -> Bitset {
        let mut alive = Bitset::new();
        for epoch in window.epochs() {
            if let Some(seen) = self.heartbeats.get(&epoch) {
                alive.extend_from(seen);
            }
        }
        alive
    }

    pub fn hold_lease(&mut self, holder: &str, ttl_ms: u64) -> bool {
        let now = Instant::now();
        let free = match &self.lease {
            None => true,
            Some((current, expires)) => current == holder || *expires <= now,
        };
        if free {
            self.lease = Some((holder.to_owned(), now + Duration::from_millis(ttl_ms)));
        }
        free
    }

    pub fn check_lease(&self, holder: &str) -> Result<(), StoreError> {
        match &self.lease {
            Some((current, expires)) if current == holder && *expires > Instant::now() => Ok(()),
            _ => Err(StoreError::LeaseLost),
        }
    }

    pub fn admit(&mut self, request: &AdmitRequest) -> AdmitResult {
        let settings = &self.state.settings;
        if settings.paused || settings.closed || self.state.opened.is_none() {
            return self.admit_result(Vec::new());
        }
        let now = request.now_ms;
        self.state.ready.remove_before(now);
        self.state.sessions.remove_before(now + 1);
        let gcra = Gcra {
            interval_ms: request.interval_ms,
            tolerance_ms: request.tolerance_ms,
        };
        let allowance = gcra.allowance(self.schedule, now as f64);
        if allowance.due == 0 {
            return self.admit_result(Vec::new());
        }
        let active = (self.state.ready.len() + self.state.sessions.len()) as u64;
        let room = u64::from(request.max_active).saturating_sub(active);
        let admitted: Vec<u64> = request
            .candidates
            .iter()
            .copied()
            .filter(|&n| self.is_waiting(n))
            .take(room.min(allowance.due) as usize)
            .collect();
        let count = admitted.len() as u64;
        let shortfall = Shortfall::of(allowance.due, room, count, request.offers_everyone);
        self.schedule = gcra.after(allowance, count, shortfall);
        if !admitted.is_empty() {
            self.record_change(LineChange::Admitted {
                deadline_ms: request.deadline_ms,
                numbers: admitted.clone(),
            });
        }
        self.admit_result(admitted)
    }

    fn admit_result(&self, admitted: Vec<u64>) -> AdmitResult {
        AdmitResult {
            admitted,
            schedule: self.schedule,
        }
    }

    pub fn drop_silent(&mut self, numbers: &[u64]) {
        let dropped: Vec<u64> = numbers
            .iter()
            .copied()
            .filter(|&n| self.is_waiting(n))
            .collect();
        if !dropped.is_empty() {
            self.record_change(LineChange::Dropped(dropped));
        }
    }

    /// Opens the sale; whether it was not open before.
    pub fn open(&mut self) -> bool {
        if self.state.opened.is_some() {
            return false;
        }
        self.record_change(LineChange::Opened {
            prequeue_size: self.seq,
        });
        true
    }

    pub fn enter(&mut self, number: u64, now_ms: u64, session_ms: u64) -> EnterOutcome {
        if self.state.entered.contains(number) {
            return EnterOutcome::AlreadyEntered;
        }
        match self.state.ready.get(number) {
            None if self.state.out.contains(number) => EnterOutcome::Expired,
            None => EnterOutcome::NotReady,
            Some(deadline) if deadline < now_ms => {
                // Forfeited: the deadline says so already, wherever it is read.
                self.state.ready.remove(number);
                EnterOutcome::Expired
            }
            Some(_) => {
                let session_expires_ms = now_ms + session_ms;
                self.record_change(LineChange::Entered {
                    number,
                    session_expires_ms,
                });
                EnterOutcome::Entered { session_expires_ms }
            }
        }
    }

    pub fn leave(&mut self, number: u64) {
        let state = &self.state;
        let change = if state.ready.get(number).is_some() {
            LineChange::Left(number)
        } else if state.sessions.get(number).is_some() {
            LineChange::Finished(number)
        } else if number < self.seq && !state.out.contains(number) {
            // Waiting, or a place the store lost that must not come back later.
            LineChange::Left(number)
        } else {
            return;
        };
        self.record_change(change);
    }

    /// Logs the seats left when they differ from what the line has.
    pub fn set_stock(&mut self, level: StockLevel) {
        if self.state.stock != Some(level) {
            self.record_change(LineChange::Stock(level));
        }
    }

    pub fn finish(&mut self, number: u64) {
        if self.state.sessions.get(number).is_some() {
            self.record_change(LineChange::Finished(number));
        }
    }

    fn is_waiting(&self, number: u64) -> bool {
        !self.state.out.contains(number)
            && ((number >= self.base && number < self.seq)
                || self.state.reinstated.contains(number))
    }

    /// Applies a change, logs it for replicas and queues it for the journal.
    fn record_change(&mut self, change: LineChange) {
        self.state.apply(&change);
        self.unjournaled.push(Entry::Change(change.clone()));
        self.lsn += 1;
        self.log.push_back((self.lsn, change));
        if self.log.len() > LOG_CAPACITY {
            self.log.pop_front();
        }
    }
}

fn new_incarnation() -> String {
    format!("{:016x}", rand::random::<u64>())
}
