//! The embedded store: every line in this process's memory, with the little that must
//! survive a restart (settings, the queue number high-water mark, the opening) in a file.
//!
//! Buyers' places are not written to disk: after a restart they come back with their
//! signed line tokens (see the engine's recovery), which is also how a Redis deployment
//! survives a flush. The store keeps the same semantics as the Redis store; one
//! conformance suite runs over both.

mod durable;
mod line;

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use breakwater_line::{Bitset, EventId, LineImage, LineSettings};
use parking_lot::Mutex;

use crate::EpochWindow;
use crate::contract::{
    AdmitRequest, AdmitResult, EnterOutcome, HeartbeatReport, LineStore, Snapshot, StoreError,
    SyncCursor, SyncOutcome,
};
use durable::DurableFile;
use line::EmbeddedLine;

/// Every line in this process's memory; the store of `breakwater serve`.
pub struct EmbeddedLineStore {
    lines: Mutex<BTreeMap<EventId, EmbeddedLine>>,
    durable: Option<DurableFile>,
}

impl EmbeddedLineStore {
    /// A store that keeps nothing across restarts.
    pub fn in_memory() -> Self {
        Self {
            lines: Mutex::new(BTreeMap::new()),
            durable: None,
        }
    }

    /// A store whose settings and high-water marks live in `path` (created if missing);
    /// lines found there start a new incarnation at `now_ms`.
    pub fn open(path: PathBuf, now_ms: u64) -> Result<Self, StoreError> {
        let durable = DurableFile::new(path);
        let lines = durable
            .load()?
            .into_iter()
            .map(|(id, record)| (id, EmbeddedLine::resume(record, now_ms)))
            .collect();
        Ok(Self {
            lines: Mutex::new(lines),
            durable: Some(durable),
        })
    }

    /// Runs `action` on one line; saves the durable file when the action asks to.
    fn with_line<T>(
        &self,
        event: &EventId,
        action: impl FnOnce(&mut EmbeddedLine) -> Result<(T, Persist), StoreError>,
    ) -> Result<T, StoreError> {
        let mut lines = self.lines.lock();
        let line = lines.get_mut(event).ok_or(StoreError::UnknownEvent)?;
        let (value, persist) = action(line)?;
        if persist == Persist::Yes {
            self.save(&lines)?;
        }
        Ok(value)
    }

    fn save(&self, lines: &BTreeMap<EventId, EmbeddedLine>) -> Result<(), StoreError> {
        match &self.durable {
            Some(durable) => durable.save(lines.iter().map(|(id, line)| (id, line.record()))),
            None => Ok(()),
        }
    }
}

/// Whether an operation changed what the durable file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persist {
    Yes,
    No,
}

fn unchanged<T>(value: T) -> Result<(T, Persist), StoreError> {
    Ok((value, Persist::No))
}

#[async_trait]
impl LineStore for EmbeddedLineStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn list_events(&self) -> Result<Vec<EventId>, StoreError> {
        Ok(self.lines.lock().keys().cloned().collect())
    }

    async fn create_event(
        &self,
        event: &EventId,
        settings: &LineSettings,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut lines = self.lines.lock();
        if lines.contains_key(event) {
            return Err(StoreError::EventExists);
        }
        let mut image = LineImage::empty(settings.clone());
        // A sale that opens now has no pre-queue: nobody is placed by lottery.
        if settings.opens_at_ms <= now_ms {
            image.opened = Some(0);
        }
        lines.insert(event.clone(), EmbeddedLine::from_image(&image, now_ms));
        self.save(&lines)
    }

    async fn update_settings(
        &self,
        event: &EventId,
        settings: &LineSettings,
    ) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.update_settings(settings);
            Ok(((), Persist::Yes))
        })
    }

    async fn join(&self, event: &EventId, count: u32, now_ms: u64) -> Result<u64, StoreError> {
        self.with_line(event, |line| {
            let opened = now_ms >= line.opens_at_ms() && line.open();
            let (first, crossed) = line.join(count);
            let persist = if crossed || opened {
                Persist::Yes
            } else {
                Persist::No
            };
            Ok((first, persist))
        })
    }

    async fn snapshot(&self, event: &EventId) -> Result<Snapshot, StoreError> {
        self.with_line(event, |line| unchanged(line.snapshot()))
    }

    async fn sync(
        &self,
        event: &EventId,
        cursor: &SyncCursor,
        max: usize,
    ) -> Result<SyncOutcome, StoreError> {
        self.with_line(event, |line| unchanged(line.sync(cursor, max)))
    }

    async fn heartbeat(&self, event: &EventId, report: &HeartbeatReport) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.heartbeat(report);
            unchanged(())
        })
    }

    async fn liveness(&self, event: &EventId, window: &EpochWindow) -> Result<Bitset, StoreError> {
        self.with_line(event, |line| unchanged(line.liveness(window)))
    }

    async fn hold_lease(
        &self,
        event: &EventId,
        holder: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        self.with_line(event, |line| unchanged(line.hold_lease(holder, ttl_ms)))
    }

    async fn admit(
        &self,
        event: &EventId,
        holder: &str,
        request: &AdmitRequest,
    ) -> Result<AdmitResult, StoreError> {
        self.with_line(event, |line| {
            line.check_lease(holder)?;
            unchanged(line.admit(request))
        })
    }

    async fn drop_silent(
        &self,
        event: &EventId,
        holder: &str,
        numbers: &[u64],
    ) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.check_lease(holder)?;
            {
                line.drop_silent(numbers);
                unchanged(())
            }
        })
    }

    async fn open(&self, event: &EventId, holder: &str) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.check_lease(holder)?;
            let opened = line.open();
            Ok(((), if opened { Persist::Yes } else { Persist::No }))
        })
    }

    async fn enter(
        &self,
        event: &EventId,
        number: u64,
        now_ms: u64,
        session_ms: u64,
    ) -> Result<EnterOutcome, StoreError> {
        self.with_line(event, |line| {
            unchanged(line.enter(number, now_ms, session_ms))
        })
    }

    async fn leave(&self, event: &EventId, number: u64) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.leave(number);
            unchanged(())
        })
    }

    async fn finish(&self, event: &EventId, number: u64) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.finish(number);
            unchanged(())
        })
    }

    async fn restore(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut lines = self.lines.lock();
        if lines.contains_key(event) {
            return Ok(false);
        }
        lines.insert(event.clone(), EmbeddedLine::from_image(image, now_ms));
        self.save(&lines)?;
        Ok(true)
    }
}
