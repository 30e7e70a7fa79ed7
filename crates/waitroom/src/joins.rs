//! Join batching: concurrent joins on one gateway share one store call.

use std::sync::Arc;

use breakwater_line::{Clock, EventId};
use breakwater_line_store::{LineStore, StoreError};
use tokio::sync::{mpsc, oneshot};

/// A join waiting for its number: the next number as its gateway last saw it, and where
/// the answer goes.
type Reply = (u64, oneshot::Sender<Result<u64, StoreError>>);

/// The queue of joins waiting for a queue number.
///
/// One task per event takes every join queued while the previous store call was in
/// flight and hands them numbers with one call, so the store sees one command per batch
/// and batches grow exactly as fast as load does.
#[derive(Debug, Clone)]
pub(crate) struct JoinQueue {
    sender: mpsc::Sender<Reply>,
}

/// Why a join could not get a number.
pub(crate) enum JoinFailure {
    /// The queue is full.
    Overloaded,
    /// The store failed.
    Store(StoreError),
}

impl JoinQueue {
    /// Starts the batching task for `event`.
    pub fn start(
        store: Arc<dyn LineStore>,
        clock: Arc<dyn Clock>,
        event: EventId,
        capacity: usize,
        batch_max: usize,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(capacity);
        tokio::spawn(run_batches(store, clock, event, receiver, batch_max));
        Self { sender }
    }

    /// Waits for a queue number above `floor`, the next number as last seen.
    pub async fn number(&self, floor: u64) -> Result<u64, JoinFailure> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .try_send((floor, reply))
            .map_err(|_| JoinFailure::Overloaded)?;
        match answer.await {
            Ok(result) => result.map_err(JoinFailure::Store),
            Err(_) => Err(JoinFailure::Store(StoreError::Unavailable(
                "join batcher stopped".into(),
            ))),
        }
    }
}

async fn run_batches(
    store: Arc<dyn LineStore>,
    clock: Arc<dyn Clock>,
    event: EventId,
    mut receiver: mpsc::Receiver<Reply>,
    batch_max: usize,
) {
    let mut batch = Vec::with_capacity(batch_max);
    while receiver.recv_many(&mut batch, batch_max).await > 0 {
        // Joins whose caller gave up (timeout, disconnect) get no number.
        batch.retain(|(_, reply): &Reply| !reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let count = batch.len() as u32;
        // The join's time decides whether it opens the sale; a batch is stamped when
        // its store call starts.
        let floor = batch.iter().map(|(floor, _)| *floor).max().unwrap_or(0);
        let result = store.join(&event, count, clock.now_ms(), floor).await;
        metrics::counter!("breakwater_join_batches_total").increment(1);
        metrics::histogram!("breakwater_join_batch_size").record(f64::from(count));
        for (offset, (_, reply)) in batch.drain(..).enumerate() {
            let _ = reply.send(result.clone().map(|first| first + offset as u64));
        }
    }
}
