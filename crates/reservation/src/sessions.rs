//! Ending a buyer's session: from then on their access token only reads, and their unpaid
//! holds go back on sale. The gateway asks for it when the buyer leaves; a confirmed order
//! does it by itself (the saga).

use crate::clients::{Backends, RemoteError};
use crate::store::{Buyer, ReservationStore, SessionEnd, StoreError};

/// Why a session could not be ended completely; a retry finishes the job.
#[derive(Debug, thiserror::Error)]
pub enum EndSessionError {
    /// The reservation database failed: nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Inventory did not take a hold back; the session has ended all the same.
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

/// Ends `buyer`'s session and gives their unpaid holds back; returns how many holds went
/// back.
pub async fn end(
    store: &ReservationStore,
    backends: &Backends,
    buyer: &Buyer,
    why: SessionEnd,
    now_ms: i64,
) -> Result<usize, EndSessionError> {
    let released = store.end_session(buyer, why, now_ms).await?;
    for hold_id in &released {
        backends.release(hold_id).await?;
    }
    Ok(released.len())
}
