//! One line of the embedded store.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use breakwater_line::{Bitset, Deadlines, Gcra, LineChange, LineImage, LineSettings};

use super::durable::LineRecord;
use crate::contract::{
    AdmitRequest, AdmitResult, EnterOutcome, HeartbeatReport, Snapshot, StoreError, SyncBatch,
    SyncCursor, SyncOutcome,
};
use crate::{Epoch, EpochWindow};

/// How many changes the log keeps; a replica further behind takes a snapshot.
const LOG_CAPACITY: usize = 65_536;
/// Queue numbers are reserved in the durable file this many at a time, so the file is
/// written once per this many joins.
const SEQ_RESERVATION: u64 = 65_536;

pub(super) struct EmbeddedLine {
    settings: LineSettings,
    incarnation: String,
    started_ms: u64,
    seq: u64,
    base: u64,
    reserved_seq: u64,
    opened: Option<u64>,
    out: Bitset,
    reinstated: Bitset,
    entered: Bitset,
    ready: Deadlines,
    sessions: Deadlines,
    admitted_total: u64,
    tat_ms: f64,
    lsn: u64,
    log: VecDeque<(u64, LineChange)>,
    heartbeats: BTreeMap<Epoch, Bitset>,
    lease: Option<(String, Instant)>,
}

impl EmbeddedLine {
    /// A new incarnation holding `image`.
    pub fn from_image(image: &LineImage, now_ms: u64) -> Self {
        Self {
            settings: image.settings.clone(),
            incarnation: new_incarnation(),
            started_ms: now_ms,
            seq: image.seq,
            base: image.base,
            reserved_seq: image.seq,
            opened: image.opened,
            out: image.out.clone(),
            reinstated: image.reinstated.clone(),
            entered: image.entered.clone(),
            ready: image.ready.iter().copied().collect(),
            sessions: image.sessions.iter().copied().collect(),
            admitted_total: image.admitted_total,
            tat_ms: now_ms as f64,
            lsn: 0,
            log: VecDeque::new(),
            heartbeats: BTreeMap::new(),
            lease: None,
        }
    }

    /// A new incarnation after a restart: numbers continue above every number ever
    /// handed out, and the buyers come back with their tokens.
    pub fn resume(record: LineRecord, now_ms: u64) -> Self {
        let mut image = LineImage::empty(record.settings);
        image.seq = record.reserved_seq;
        image.base = record.reserved_seq;
        image.opened = record.opened;
        image.admitted_total = record.admitted_total;
        Self::from_image(&image, now_ms)
    }

    /// What the durable file keeps of this line.
    pub fn record(&self) -> LineRecord {
        LineRecord {
            settings: self.settings.clone(),
            reserved_seq: self.reserved_seq,
            opened: self.opened,
            admitted_total: self.admitted_total,
        }
    }

    pub fn opens_at_ms(&self) -> u64 {
        self.settings.opens_at_ms
    }

    pub fn update_settings(&mut self, settings: &LineSettings) {
        self.settings = settings.clone();
        self.log(LineChange::Settings(Box::new(settings.clone())));
    }

    /// Hands out numbers; also says whether the reservation in the file must grow.
    pub fn join(&mut self, count: u32) -> (u64, bool) {
        let first = self.seq;
        self.seq += u64::from(count);
        let crossed = self.seq > self.reserved_seq;
        if crossed {
            self.reserved_seq = self.seq + SEQ_RESERVATION;
        }
        (first, crossed)
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            incarnation: self.incarnation.clone(),
            lsn: self.lsn,
            started_ms: self.started_ms,
            image: LineImage {
                settings: self.settings.clone(),
                seq: self.seq,
                base: self.base,
                opened: self.opened,
                out: self.out.clone(),
                reinstated: self.reinstated.clone(),
                entered: self.entered.clone(),
                ready: self.ready.iter().collect(),
                sessions: self.sessions.iter().collect(),
                admitted_total: self.admitted_total,
            },
        }
    }

    pub fn sync(&self, cursor: &SyncCursor, max: usize) -> SyncOutcome {
        let oldest_kept = self.log.front().map_or(self.lsn + 1, |(lsn, _)| *lsn);
        if cursor.incarnation != self.incarnation
            || cursor.lsn > self.lsn
            || cursor.lsn + 1 < oldest_kept
        {
            return SyncOutcome::Resnapshot;
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
            admitted_total: self.admitted_total,
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
        let reinstated: Vec<u64> = report
            .reinstate
            .iter()
            .copied()
            .filter(|&n| n < self.base && !self.out.contains(n) && self.reinstated.insert(n))
            .collect();
        if !reinstated.is_empty() {
            self.log(LineChange::Reinstated(reinstated));
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
        if self.settings.paused || self.settings.closed || self.opened.is_none() {
            return self.admit_result(Vec::new());
        }
        let now = request.now_ms;
        self.ready.remove_before(now);
        self.sessions.remove_before(now + 1);
        let active = (self.ready.len() + self.sessions.len()) as u64;
        let room = u64::from(request.max_active).saturating_sub(active);
        let gcra = Gcra {
            interval_ms: request.interval_ms,
            tolerance_ms: request.tolerance_ms,
        };
        let allowed = room.min(gcra.allowance(self.tat_ms, now as f64)) as usize;
        let admitted: Vec<u64> = request
            .candidates
            .iter()
            .copied()
            .filter(|&n| self.is_waiting(n))
            .take(allowed)
            .collect();
        if admitted.is_empty() {
            return self.admit_result(admitted);
        }
        for &number in &admitted {
            self.out.insert(number);
            self.ready.insert(number, request.deadline_ms);
        }
        self.tat_ms = gcra.after(self.tat_ms, now as f64, admitted.len() as u64);
        self.admitted_total += admitted.len() as u64;
        self.log(LineChange::Admitted {
            deadline_ms: request.deadline_ms,
            numbers: admitted.clone(),
        });
        self.admit_result(admitted)
    }

    fn admit_result(&self, admitted: Vec<u64>) -> AdmitResult {
        AdmitResult {
            admitted,
            tat_ms: self.tat_ms,
        }
    }

    pub fn drop_silent(&mut self, numbers: &[u64]) {
        let dropped: Vec<u64> = numbers
            .iter()
            .copied()
            .filter(|&n| self.is_waiting(n))
            .collect();
        for &number in &dropped {
            self.out.insert(number);
        }
        if !dropped.is_empty() {
            self.log(LineChange::Dropped(dropped));
        }
    }

    /// Opens the sale; whether it was not open before.
    pub fn open(&mut self) -> bool {
        if self.opened.is_some() {
            return false;
        }
        self.opened = Some(self.seq);
        self.log(LineChange::Opened {
            prequeue_size: self.seq,
        });
        true
    }

    pub fn enter(&mut self, number: u64, now_ms: u64, session_ms: u64) -> EnterOutcome {
        if self.entered.contains(number) {
            return EnterOutcome::AlreadyEntered;
        }
        match self.ready.get(number) {
            None if self.out.contains(number) => EnterOutcome::Expired,
            None => EnterOutcome::NotReady,
            Some(deadline) if deadline < now_ms => {
                self.ready.remove(number);
                EnterOutcome::Expired
            }
            Some(_) => {
                self.ready.remove(number);
                self.entered.insert(number);
                let session_expires_ms = now_ms + session_ms;
                self.sessions.insert(number, session_expires_ms);
                self.log(LineChange::Entered {
                    number,
                    session_expires_ms,
                });
                EnterOutcome::Entered { session_expires_ms }
            }
        }
    }

    pub fn leave(&mut self, number: u64) {
        if self.ready.remove(number).is_some() {
            self.log(LineChange::Left(number));
        } else if self.sessions.remove(number).is_some() {
            self.log(LineChange::Finished(number));
        } else if number < self.seq && self.out.insert(number) {
            // Waiting, or a place the store lost that must not come back later.
            self.log(LineChange::Left(number));
        }
    }

    pub fn finish(&mut self, number: u64) {
        if self.sessions.remove(number).is_some() {
            self.log(LineChange::Finished(number));
        }
    }

    fn is_waiting(&self, number: u64) -> bool {
        !self.out.contains(number)
            && ((number >= self.base && number < self.seq) || self.reinstated.contains(number))
    }

    fn log(&mut self, change: LineChange) {
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
