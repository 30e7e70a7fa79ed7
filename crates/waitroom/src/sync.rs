//! Keeping replicas in step with the store, and restoring a store that lost a line.

use std::sync::Arc;

use breakwater_line::{EventId, LineOutlook};
use breakwater_line_store::{Epoch, StoreError, SyncBatch, SyncOutcome};

use crate::line::{Line, ReplicaView};
use crate::room::Engine;

impl Engine {
    /// Brings `line`'s replica up to date with the store.
    pub(crate) async fn sync_line(&self, line: &Line) -> Result<(), StoreError> {
        let _one_at_a_time = line.sync_lock.lock().await;
        loop {
            let cursor = line.view.read().cursor.clone();
            let max = self.config.sync_batch_max;
            match self.store.sync(&line.id, &cursor, max).await {
                Ok(SyncOutcome::Changes(batch)) if self.store_fell_behind(line, &batch) => {
                    return self.rebase(line).await;
                }
                Ok(SyncOutcome::Changes(batch)) => {
                    let more = batch.changes.len() >= max;
                    self.apply_batch(line, batch);
                    if !more {
                        return Ok(());
                    }
                }
                Ok(SyncOutcome::Resnapshot) => return self.resnapshot(line).await,
                Ok(SyncOutcome::Behind) => return self.rebase(line).await,
                Err(StoreError::StateLost) => return self.restore(line).await,
                Err(error) => return Err(error),
            }
        }
    }

    fn apply_batch(&self, line: &Line, batch: SyncBatch) {
        let now = self.clock.now_ms();
        let mut view = line.view.write();
        let old_timeout = view.replica.settings().heartbeat_timeout_ms();
        view.replica.advance_seq(batch.seq);
        for change in &batch.changes {
            view.replica.apply(change);
        }
        view.replica.set_admitted_total(batch.admitted_total);
        view.replica.prune(now);
        view.outlook = LineOutlook::of(&view.replica.counts(now), view.replica.settings());
        view.cursor.lsn = batch.lsn;
        view.synced_at_ms = now;
        view.note_seq(now);
        let timeout = view.replica.settings().heartbeat_timeout_ms();
        if timeout != old_timeout {
            // Polls were bucketed by the old timeout's epochs: everyone gets one full new
            // window from now before anyone can be dropped (and no longer than that,
            // even when the old timeout was much longer).
            view.drops_allowed_from_ms = now + timeout + 2 * Epoch::length_for(timeout);
        }
    }

    async fn resnapshot(&self, line: &Line) -> Result<(), StoreError> {
        let snapshot = self.store.snapshot(&line.id).await?;
        let view = ReplicaView::from_snapshot(snapshot, line.lottery, self.clock.now_ms());
        *line.view.write() = view;
        Ok(())
    }

    /// Whether the store's counters went back below what this replica saw of the same
    /// incarnation: it lost writes, even if new ones took the lost log positions since.
    fn store_fell_behind(&self, line: &Line, batch: &SyncBatch) -> bool {
        let view = line.view.read();
        batch.seq < view.replica.seq() || batch.admitted_total < view.replica.admitted_total()
    }

    /// The store lost its last writes: replace its line with this replica's state as a
    /// new incarnation (unless another gateway did first), then follow the store again.
    /// Numbers continue past a gap, as after a loss, so none a token carries is handed
    /// out again; everyone the replica knew keeps their fate.
    async fn rebase(&self, line: &Line) -> Result<(), StoreError> {
        let (image, incarnation) = {
            let view = line.view.read();
            let image = view.replica.restore_image(self.config.restore_gap);
            (image, view.cursor.incarnation.clone())
        };
        let rebased = self
            .store
            .rebase(&line.id, &image, self.clock.now_ms(), &incarnation)
            .await?;
        if rebased {
            tracing::warn!(event = %line.id, "line store lost its last writes; rebased it on this gateway's replica");
            metrics::counter!("breakwater_line_rebases_total").increment(1);
        }
        self.resnapshot(line).await
    }

    /// The store lost the line: write this replica's state back as a new incarnation
    /// (unless another gateway did first), then follow the store again.
    async fn restore(&self, line: &Line) -> Result<(), StoreError> {
        let image = line
            .view
            .read()
            .replica
            .restore_image(self.config.restore_gap);
        let waiting = image.reinstated.len();
        let restored = self
            .store
            .restore(&line.id, &image, self.clock.now_ms())
            .await?;
        if restored {
            tracing::warn!(event = %line.id, waiting, "line store lost the line; restored it from this gateway's replica");
            metrics::counter!("breakwater_line_restores_total").increment(1);
        }
        self.resnapshot(line).await
    }

    /// Loads an event's line from the store and starts its join queue.
    pub(crate) async fn load_line(&self, id: &EventId) -> Result<Arc<Line>, StoreError> {
        if let Some(line) = self.lines.read().get(id) {
            return Ok(line.clone());
        }
        let snapshot = self.store.snapshot(id).await?;
        let lottery = self.lottery_for(id);
        let view = ReplicaView::from_snapshot(snapshot, lottery, self.clock.now_ms());
        let line = Arc::new(Line {
            id: id.clone(),
            lottery,
            view: parking_lot::RwLock::new(view),
            heartbeats: parking_lot::Mutex::default(),
            joins: crate::joins::JoinQueue::start(
                self.store.clone(),
                self.clock.clone(),
                id.clone(),
                self.config.join_queue_capacity,
                self.config.join_batch_max,
            ),
            pacer: tokio::sync::Mutex::default(),
            sync_lock: tokio::sync::Mutex::new(()),
            stock_checked_ms: std::sync::atomic::AtomicU64::new(0),
            join_meter: Default::default(),
        });
        Ok(self.lines.write().entry(id.clone()).or_insert(line).clone())
    }

    /// Loads events other gateways created.
    pub(crate) async fn discover(&self) -> Result<(), StoreError> {
        for id in self.store.list_events().await? {
            let known = self.lines.read().contains_key(&id);
            if !known {
                self.load_line(&id).await?;
            }
        }
        Ok(())
    }

    /// Sends the line's pending polls to the store; if the store lost the line, restores
    /// it first.
    pub(crate) async fn flush_line(&self, line: &Line) -> Result<(), StoreError> {
        match self.flush_once(line).await {
            Err(StoreError::StateLost) => {
                self.sync_line(line).await?;
                self.flush_once(line).await
            }
            other => other,
        }
    }

    async fn flush_once(&self, line: &Line) -> Result<(), StoreError> {
        let reports = line.heartbeats.lock().take();
        let mut failed = Vec::new();
        let mut error = None;
        for report in reports {
            if error.is_some() {
                failed.push(report);
                continue;
            }
            if let Err(failure) = self.store.heartbeat(&line.id, &report).await {
                error = Some(failure);
                failed.push(report);
            }
        }
        match error {
            None => Ok(()),
            Some(error) => {
                line.heartbeats.lock().put_back(failed, self.clock.now_ms());
                Err(error)
            }
        }
    }
}
