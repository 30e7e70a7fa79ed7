//! Buyers' sessions as reservation knows them: a session ends when the buyer leaves (the
//! gateway says so) or their order is confirmed, and from then on their access token may
//! only read. Ending a session also takes back the buyer's unpaid holds.

use super::{Buyer, ReservationStore, StoreError};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The buyer left the line with their access token.
    Left,
    /// The buyer's order was confirmed.
    OrderConfirmed,
}

impl SessionEnd {
    fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::OrderConfirmed => "order_confirmed",
        }
    }
}

impl ReservationStore {
    /// Ends the buyer's session (again: nothing changes) and marks their unpaid holds
    /// released, in one transaction. Returns every hold of the buyer that is released
    /// here, so the caller gives their seats back at inventory (a retry gives back again
    /// whatever an interrupted call did not).
    pub async fn end_session(
        &self,
        buyer: &Buyer,
        why: SessionEnd,
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.db.write.begin().await?;
        end_session_on(&mut tx, buyer, why, now_ms).await?;
        let released = sqlx::query_scalar(
            "SELECT hold_id FROM res_holds \
             WHERE event_id = $1 AND buyer = $2 AND state = 'released' AND order_id IS NULL",
        )
        .bind(&buyer.event)
        .bind(&buyer.id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(released)
    }
}

/// Ends the buyer's session and marks their unpaid holds released, on `connection` (in
/// the caller's transaction); returns the holds released now.
pub(super) async fn end_session_on(
    connection: &mut sqlx::AnyConnection,
    buyer: &Buyer,
    why: SessionEnd,
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    sqlx::query(
        "INSERT INTO res_ended_sessions (event_id, buyer, reason, ended_at_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, buyer) DO NOTHING",
    )
    .bind(&buyer.event)
    .bind(&buyer.id)
    .bind(why.as_str())
    .bind(now_ms)
    .execute(&mut *connection)
    .await?;
    // Only holds no checkout has taken: a checkout's hold is its saga's to settle.
    Ok(sqlx::query_scalar(
        "UPDATE res_holds SET state = 'released', updated_at_ms = $3 \
         WHERE event_id = $1 AND buyer = $2 AND state = 'held' AND order_id IS NULL \
         RETURNING hold_id",
    )
    .bind(&buyer.event)
    .bind(&buyer.id)
    .bind(now_ms)
    .fetch_all(&mut *connection)
    .await?)
}

/// Whether the buyer's session has ended, read on `connection` (inside a transaction, so a
/// write that depends on it sees the same answer).
pub(super) async fn session_ended_on(
    connection: &mut sqlx::AnyConnection,
    buyer: &Buyer,
) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM res_ended_sessions WHERE event_id = $1 AND buyer = $2",
    )
    .bind(&buyer.event)
    .bind(&buyer.id)
    .fetch_optional(connection)
    .await?;
    Ok(found.is_some())
}
