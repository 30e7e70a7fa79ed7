//! The reconciler: finishes whatever requests left half done (a crash, a timeout, an
//! unreachable backend): every unfinished order is driven through the saga to `confirmed`,
//! `failed` or `refunded`, from the step its row names. Runs every `reconcile_interval_ms` in every reservation process;
//! all it does is idempotent, so several processes may run it side by side.

use std::time::Duration;

use breakwater_ticketing::HoldState;
use tokio::sync::watch;

use crate::clients::Backends;
use crate::saga::{Saga, now_ms};
use crate::store::{ReservationStore, StoreError};

/// Rows looked at per pass.
const BATCH: i64 = 200;

/// Timing of the reconciler.
#[derive(Debug, Clone, Copy)]
pub struct ReconcilerSettings {
    /// Pause between passes.
    pub interval: Duration,
    /// An unfinished order untouched this long is driven by the reconciler (shorter
    /// would race the request still driving it, harmlessly but uselessly).
    pub order_grace: Duration,
    /// A pending hold untouched this long is abandoned and its seats released.
    pub pending_hold_timeout: Duration,
}

/// Runs passes until `stop` turns true.
pub async fn run(
    store: ReservationStore,
    backends: Backends,
    settings: ReconcilerSettings,
    mut stop: watch::Receiver<bool>,
) {
    let saga = Saga::new(store.clone(), backends.clone());
    loop {
        if let Err(error) = pass(&store, &backends, &saga, &settings).await {
            tracing::warn!(%error, "reconciler pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// One pass: drive stale orders, abandon stale pending holds, release abandoned ones.
pub async fn pass(
    store: &ReservationStore,
    backends: &Backends,
    saga: &Saga,
    settings: &ReconcilerSettings,
) -> Result<(), StoreError> {
    let now = now_ms();
    let grace = i64::try_from(settings.order_grace.as_millis()).unwrap_or(i64::MAX);
    for order_id in store.unfinished_orders(now - grace, BATCH).await? {
        if let Err(error) = saga.drive(&order_id).await {
            tracing::warn!(%error, %order_id, "reconciler could not drive order");
        }
    }
    let timeout = i64::try_from(settings.pending_hold_timeout.as_millis()).unwrap_or(i64::MAX);
    for hold_id in store
        .holds_in_state(HoldState::Pending, now - timeout, BATCH)
        .await?
    {
        // Marked first, so a late retry of the request can no longer record seats for it.
        store
            .move_hold(&hold_id, HoldState::Pending, HoldState::Abandoned, now)
            .await?;
    }
    for hold_id in store
        .holds_in_state(HoldState::Abandoned, i64::MAX, BATCH)
        .await?
    {
        match backends.release(&hold_id).await {
            Ok(()) => {
                store
                    .move_hold(
                        &hold_id,
                        HoldState::Abandoned,
                        HoldState::Rejected,
                        now_ms(),
                    )
                    .await?;
            }
            Err(error) => tracing::warn!(%error, %hold_id, "could not release abandoned hold"),
        }
    }
    Ok(())
}
