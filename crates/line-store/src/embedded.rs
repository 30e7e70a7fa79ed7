//! The embedded store: every line in this process's memory, with what must survive a
//! restart (each line's settings, what each queue number became, the queue-number
//! high-water mark) journaled to a file before each call answers.
//!
//! Waiting buyers' places are not written to disk: after a restart they come back with
//! their signed line tokens (see the engine's recovery), which is also how a Redis
//! deployment survives a flush. The store keeps the same semantics as the Redis store; one
//! conformance suite runs over both.

mod durable;
mod line;
mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use breakwater_line::{Bitset, EventId, LineImage, LineSettings, Lineage, StockLevel};
use parking_lot::Mutex;

use crate::EpochWindow;
use crate::contract::{
    AdmitRequest, AdmitResult, EnterOutcome, HeartbeatReport, LineStore, Snapshot, StoreError,
    SyncCursor, SyncOutcome,
};
use durable::DurableFiles;
use line::EmbeddedLine;

/// Every line in this process's memory; the store of `breakwater serve`.
pub struct EmbeddedLineStore {
    lines: Mutex<Lines>,
}

/// The lines and, when the store is durable, its files (written under the same lock, so
/// the journal is in the order the changes happened).
struct Lines {
    by_event: BTreeMap<EventId, EmbeddedLine>,
    files: Option<DurableFiles>,
}

impl EmbeddedLineStore {
    /// A store that keeps nothing across restarts.
    pub fn in_memory() -> Self {
        Self {
            lines: Mutex::new(Lines {
                by_event: BTreeMap::new(),
                files: None,
            }),
        }
    }

    /// A store whose lines live in the files at `path` (created if missing); lines found
    /// there start a new incarnation at `now_ms`, each number as it was.
    pub fn open(path: PathBuf, now_ms: u64) -> Result<Self, StoreError> {
        let (files, recovered) = DurableFiles::open(path)?;
        let by_event = recovered
            .into_iter()
            .map(|(id, line)| {
                let resumed = EmbeddedLine::resume(line.state, line.reserved_seq, now_ms);
                (id, resumed)
            })
            .collect();
        Ok(Self {
            lines: Mutex::new(Lines {
                by_event,
                files: Some(files),
            }),
        })
    }

    /// Runs `action` on one line, then journals what it changed.
    fn with_line<T>(
        &self,
        event: &EventId,
        action: impl FnOnce(&mut EmbeddedLine) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut lines = self.lines.lock();
        let line = lines
            .by_event
            .get_mut(event)
            .ok_or(StoreError::UnknownEvent)?;
        let value = action(line)?;
        let entries = line.take_unjournaled();
        lines.journal(event, &entries)?;
        Ok(value)
    }

    /// Adds a line made from `image`; `false` when the event has one.
    fn insert(&self, event: &EventId, image: &LineImage, now_ms: u64) -> Result<bool, StoreError> {
        let mut lines = self.lines.lock();
        if lines.by_event.contains_key(event) {
            return Ok(false);
        }
        let mut line = EmbeddedLine::from_image(image, now_ms);
        let entries = line.take_unjournaled();
        lines.by_event.insert(event.clone(), line);
        lines.journal(event, &entries)?;
        Ok(true)
    }
}

impl Lines {
    fn journal(&mut self, event: &EventId, entries: &[durable::Entry]) -> Result<(), StoreError> {
        let Some(files) = &mut self.files else {
            return Ok(());
        };
        files.append(event, entries)?;
        if files.wants_compaction() {
            files.compact(self.by_event.iter().map(|(id, line)| (id, line.record())))?;
        }
        Ok(())
    }
}

#[async_trait]
impl LineStore for EmbeddedLineStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn list_events(&self) -> Result<Vec<EventId>, StoreError> {
        Ok(self.lines.lock().by_event.keys().cloned().collect())
    }

    async fn create_event(
        &self,
        event: &EventId,
        settings: &LineSettings,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut image = LineImage::empty(settings.clone(), Lineage::new(rand::random()));
        // A sale that opens now has no pre-queue: nobody is placed by lottery.
        if settings.opens_at_ms <= now_ms {
            image.opened = Some(0);
        }
        match self.insert(event, &image, now_ms)? {
            true => Ok(()),
            false => Err(StoreError::EventExists),
        }
    }

    async fn update_settings(
        &self,
        event: &EventId,
        settings: &LineSettings,
    ) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.update_settings(settings);
            Ok(())
        })
    }

    async fn join(
        &self,
        event: &EventId,
        count: u32,
        now_ms: u64,
        floor: u64,
    ) -> Result<u64, StoreError> {
        self.with_line(event, |line| {
            if line.seq() < floor {
                return Err(StoreError::Behind);
            }
            if now_ms >= line.opens_at_ms() {
                line.open();
            }
            Ok(line.join(count))
        })
    }

    async fn snapshot(&self, event: &EventId) -> Result<Snapshot, StoreError> {
        self.with_line(event, |line| Ok(line.snapshot()))
    }

    async fn sync(
        &self,
        event: &EventId,
        cursor: &SyncCursor,
        max: usize,
    ) -> Result<SyncOutcome, StoreError> {
        self.with_line(event, |line| Ok(line.sync(cursor, max)))
    }

    async fn heartbeat(&self, event: &EventId, report: &HeartbeatReport) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.heartbeat(report);
            Ok(())
        })
    }

    async fn liveness(&self, event: &EventId, window: &EpochWindow) -> Result<Bitset, StoreError> {
        self.with_line(event, |line| Ok(line.liveness(window)))
    }

    async fn hold_lease(
        &self,
        event: &EventId,
        holder: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        self.with_line(event, |line| Ok(line.hold_lease(holder, ttl_ms)))
    }

    async fn admit(
        &self,
        event: &EventId,
        holder: &str,
        request: &AdmitRequest,
    ) -> Result<AdmitResult, StoreError> {
        self.with_line(event, |line| {
            line.check_lease(holder)?;
            Ok(line.admit(request))
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
            line.drop_silent(numbers);
            Ok(())
        })
    }

    async fn open(&self, event: &EventId, holder: &str) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.check_lease(holder)?;
            line.open();
            Ok(())
        })
    }

    async fn enter(
        &self,
        event: &EventId,
        number: u64,
        now_ms: u64,
        session_ms: u64,
    ) -> Result<EnterOutcome, StoreError> {
        self.with_line(event, |line| Ok(line.enter(number, now_ms, session_ms)))
    }

    async fn leave(&self, event: &EventId, number: u64) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.leave(number);
            Ok(())
        })
    }

    async fn finish(&self, event: &EventId, number: u64) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.finish(number);
            Ok(())
        })
    }

    async fn set_stock(&self, event: &EventId, level: StockLevel) -> Result<(), StoreError> {
        self.with_line(event, |line| {
            line.set_stock(level);
            Ok(())
        })
    }

    async fn restore(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        self.insert(event, image, now_ms)
    }

    async fn rebase(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
        _incarnation: &str,
    ) -> Result<bool, StoreError> {
        // The journal keeps every write before it is acknowledged and there is no replica
        // to promote, so this store is never behind a replica: nothing to replace, unless
        // the line is gone altogether.
        self.insert(event, image, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AdmitRequest;

    const NOW: u64 = 1_700_000_000_000;

    fn request(now_ms: u64, candidates: Vec<u64>) -> AdmitRequest {
        AdmitRequest {
            now_ms,
            candidates,
            offers_everyone: true,
            interval_ms: 1.0,
            tolerance_ms: 100.0,
            max_active: 100,
            deadline_ms: NOW + 60_000,
        }
    }

    async fn line_with_every_fate(store: &EmbeddedLineStore, event: &EventId) {
        let settings = LineSettings::with_defaults("t", NOW);
        store.create_event(event, &settings, NOW).await.unwrap();
        store.join(event, 6, NOW, 0).await.unwrap();
        assert!(store.hold_lease(event, "gw", 60_000).await.unwrap());
        // 0..=3 admitted; 0 enters; 1 gives up its ready place; 2 and 3 stay ready (a
        // drop-out leaves admitted buyers alone); 4 leaves the line; 5 waits.
        // A fresh schedule admits one at once, then one a millisecond.
        let first = store
            .admit(event, "gw", &request(NOW, vec![0, 1, 2, 3]))
            .await;
        assert_eq!(first.unwrap().admitted, vec![0]);
        let rest = store
            .admit(event, "gw", &request(NOW + 3, vec![1, 2, 3]))
            .await;
        assert_eq!(rest.unwrap().admitted, vec![1, 2, 3]);
        store.enter(event, 0, NOW, 900_000).await.unwrap();
        store.leave(event, 1).await.unwrap();
        store.drop_silent(event, "gw", &[3]).await.unwrap();
        store.leave(event, 4).await.unwrap();
    }

    #[tokio::test]
    async fn every_fate_of_a_number_survives_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("line-state.json");
        let event = EventId::parse("gig").unwrap();
        let before = {
            let store = EmbeddedLineStore::open(path.clone(), NOW).unwrap();
            line_with_every_fate(&store, &event).await;
            store.snapshot(&event).await.unwrap().image
        };
        // Twice: the first reopening folds the journal into a new snapshot.
        for _ in 0..2 {
            let store = EmbeddedLineStore::open(path.clone(), NOW).unwrap();
            let after = store.snapshot(&event).await.unwrap().image;
            assert_eq!(after.lineage, before.lineage);
            assert_eq!(after.out, before.out);
            assert_eq!(after.entered, before.entered);
            assert_eq!(after.admitted_total, 4);
            let mut ready = after.ready.clone();
            ready.sort_unstable();
            assert_eq!(ready, vec![(2, NOW + 60_000), (3, NOW + 60_000)]);
            assert_eq!(after.sessions, vec![(0, NOW + 900_000)]);
            assert!(after.seq >= 6 && after.base == after.seq, "{after:?}");
            assert_eq!(
                store.enter(&event, 0, NOW, 1).await.unwrap(),
                EnterOutcome::AlreadyEntered
            );
            assert_eq!(
                store.enter(&event, 1, NOW, 1).await.unwrap(),
                EnterOutcome::Expired
            );
        }
    }

    #[tokio::test]
    async fn an_entry_cut_short_is_dropped_and_a_broken_one_refused() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("line-state.json");
        let event = EventId::parse("gig").unwrap();
        {
            let store = EmbeddedLineStore::open(path.clone(), NOW).unwrap();
            line_with_every_fate(&store, &event).await;
        }
        let journal = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .find(|path| path.to_string_lossy().contains("journal"))
                .unwrap()
        };
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(journal())
            .unwrap();
        file.write_all(br#"{"event":"gig","entry":{"change":{"left""#)
            .unwrap();
        drop(file);
        let store = EmbeddedLineStore::open(path.clone(), NOW).unwrap();
        assert_eq!(
            store.snapshot(&event).await.unwrap().image.admitted_total,
            4
        );
        store.leave(&event, 5).await.unwrap();
        drop(store);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(journal())
            .unwrap();
        file.write_all(b"not json\n").unwrap();
        file.write_all(br#"{"event":"gig","entry":{"change":{"left":2}}}"#)
            .unwrap();
        file.write_all(b"\n").unwrap();
        drop(file);
        assert!(matches!(
            EmbeddedLineStore::open(path, NOW),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[tokio::test]
    async fn a_file_of_version_one_keeps_its_counters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("line-state.json");
        let settings = serde_json::to_value(LineSettings::with_defaults("t", NOW)).unwrap();
        let v1 = serde_json::json!({
            "version": 1,
            "events": {"gig": {
                "settings": settings, "reserved_seq": 70000, "opened": 0, "admitted_total": 12
            }}
        });
        std::fs::write(&path, v1.to_string()).unwrap();
        let store = EmbeddedLineStore::open(path, NOW).unwrap();
        let image = store
            .snapshot(&EventId::parse("gig").unwrap())
            .await
            .unwrap()
            .image;
        assert_eq!(
            (image.seq, image.base, image.admitted_total),
            (70000, 70000, 12)
        );
    }
}
