//! Orders: the checkout saga's outbox rows and what buyers and admins read of them.

use breakwater_ticketing::{HoldState, OrderState, SagaStep};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::idempotency::{Claim, claim};
use super::{
    Buyer, HoldRecord, ReservationStore, SeatLine, SessionEnd, StoreError, StoredResponse,
};

/// An order as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    /// Order id; also the payment's idempotency key.
    pub order_id: String,
    /// The hold being bought.
    pub hold_id: String,
    /// Whose.
    pub buyer: Buyer,
    /// What the buyer sees.
    pub state: OrderState,
    /// The saga's next action.
    pub step: SagaStep,
    /// Payment method string.
    pub payment_method: String,
    /// Total from the hold's server-side prices.
    pub total_cents: i64,
    /// Currency.
    pub currency: String,
    /// The seats.
    pub seats: Vec<SeatLine>,
    /// Why it failed or was refunded: `payment_declined`, `hold_expired` (failed),
    /// `seats_lost` (refunded).
    pub failure_reason: String,
    /// When it was created (Unix ms).
    pub created_at_ms: i64,
}

/// What starting a checkout found.
#[derive(Debug, Clone, PartialEq)]
pub enum BeginCheckout {
    /// A new order (step `pin`) for the hold, which is now `checking_out`.
    Started(String),
    /// A retry of an unfinished checkout: drive this order on.
    Resume(String),
    /// A retry of a finished checkout: send this again.
    Replay(StoredResponse),
    /// The key was used for another request.
    KeyMismatch,
    /// No such hold for this buyer.
    HoldNotFound,
    /// The buyer's session has ended: their token may only read.
    SessionEnded,
    /// The hold cannot be checked out (expired, released, already ordered).
    HoldNotActive(Box<HoldRecord>),
}

/// Confirmed orders and revenue of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SalesTotals {
    /// Confirmed orders.
    pub orders_confirmed: u64,
    /// Orders still settling.
    pub orders_pending: u64,
    /// Failed orders.
    pub orders_failed: u64,
    /// Refunded orders (paid, then the seats were gone).
    pub orders_refunded: u64,
    /// Sum of confirmed orders' totals.
    pub revenue_cents: i64,
}

const COLUMNS: &str = "order_id, hold_id, event_id, buyer, state, step, payment_method, \
                       total_cents, currency, seats, failure_reason, created_at_ms";

impl ReservationStore {
    /// Claims the key and, if the buyer's hold is live, records the order (step `pin`) and
    /// marks the hold `checking_out`, in one transaction, before any remote call. The mark
    /// is a conditional update from `held`, as a cancel's is (`cancel_hold`): exactly one of
    /// the two wins a hold.
    pub async fn begin_checkout(
        &self,
        buyer: &Buyer,
        key: &str,
        request_text: &str,
        hold_id: &str,
        payment_method: &str,
        now_ms: i64,
    ) -> Result<BeginCheckout, StoreError> {
        let order_id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.db.write.begin().await?;
        match claim(&mut tx, buyer, key, request_text, &order_id, now_ms).await? {
            Claim::New => {}
            Claim::Mismatch => return Ok(BeginCheckout::KeyMismatch),
            Claim::Replay(response) => return Ok(BeginCheckout::Replay(response)),
            Claim::Resume(existing) => return Ok(BeginCheckout::Resume(existing)),
        }
        let Some(hold) = super::holds::hold_on(&mut tx, hold_id).await? else {
            return Ok(BeginCheckout::HoldNotFound);
        };
        if hold.buyer != *buyer {
            return Ok(BeginCheckout::HoldNotFound);
        }
        // In the transaction that takes the hold: a session ended before cannot buy (a
        // hold already bought is answered for what it is, below).
        let bought = matches!(hold.state, HoldState::CheckingOut | HoldState::Converted);
        if !bought && super::sessions::session_ended_on(&mut tx, buyer).await? {
            return Ok(BeginCheckout::SessionEnded);
        }
        let marked = sqlx::query(
            "UPDATE res_holds SET state = 'checking_out', order_id = $2, updated_at_ms = $3 \
             WHERE hold_id = $1 AND state = 'held' AND expires_at_ms > $3",
        )
        .bind(hold_id)
        .bind(&order_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            // Read again after the update: a cancel (or another checkout) that took the
            // hold meanwhile is what the buyer is told about.
            let current = super::holds::hold_on(&mut tx, hold_id)
                .await?
                .unwrap_or(hold);
            return Ok(BeginCheckout::HoldNotActive(Box::new(current)));
        }
        sqlx::query(
            "INSERT INTO res_orders (order_id, hold_id, event_id, buyer, state, step, \
             payment_method, total_cents, currency, seats, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, 'pending', 'pin', $5, $6, $7, $8, $9, $9)",
        )
        .bind(&order_id)
        .bind(hold_id)
        .bind(&buyer.event)
        .bind(&buyer.id)
        .bind(payment_method)
        .bind(hold.total_cents)
        .bind(&hold.currency)
        .bind(serde_json::to_string(&hold.seats)?)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(BeginCheckout::Started(order_id))
    }

    /// The order, if it exists.
    pub async fn order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM res_orders WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&self.db.write)
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// Moves the saga from step `from` to `to` (recording `failure_reason` when given);
    /// `false` when another driver already moved it.
    pub async fn advance_order(
        &self,
        order_id: &str,
        from: SagaStep,
        to: SagaStep,
        failure_reason: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE res_orders SET step = $3, failure_reason = CASE WHEN $4 = '' THEN failure_reason ELSE $4 END, \
             updated_at_ms = $5 WHERE order_id = $1 AND step = $2",
        )
        .bind(order_id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(failure_reason.unwrap_or(""))
        .bind(now_ms)
        .execute(&self.db.write)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// Ends the saga from step `from`: the order takes `order_state` and its hold
    /// `hold_state`, and a confirmed order ends the buyer's session, in one transaction.
    /// Returns the buyer's unpaid holds the session's end took back (their seats are the
    /// caller's to give back at inventory); `None` when another driver already ended it.
    pub async fn finish_order(
        &self,
        order: &OrderRecord,
        from: SagaStep,
        order_state: OrderState,
        hold_state: HoldState,
        now_ms: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut tx = self.db.write.begin().await?;
        let moved = sqlx::query(
            "UPDATE res_orders SET step = 'done', state = $3, updated_at_ms = $4 \
             WHERE order_id = $1 AND step = $2",
        )
        .bind(&order.order_id)
        .bind(from.as_str())
        .bind(order_state.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(None);
        }
        sqlx::query("UPDATE res_holds SET state = $2, updated_at_ms = $3 WHERE hold_id = $1")
            .bind(&order.hold_id)
            .bind(hold_state.as_str())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let mut unpaid = Vec::new();
        if order_state == OrderState::Confirmed {
            // A confirmed order ends the buyer's session, in the same transaction: from
            // now on their token only reads.
            unpaid = super::sessions::end_session_on(
                &mut tx,
                &order.buyer,
                SessionEnd::OrderConfirmed,
                now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(unpaid))
    }

    /// The buyer's orders, oldest first.
    pub async fn orders_of(&self, buyer: &Buyer) -> Result<Vec<OrderRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM res_orders WHERE event_id = $1 AND buyer = $2 \
             ORDER BY created_at_ms, order_id"
        ))
        .bind(&buyer.event)
        .bind(&buyer.id)
        .fetch_all(&self.db.read)
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Orders whose saga is unfinished and untouched since `before_ms` (at most `limit`).
    pub async fn unfinished_orders(
        &self,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT order_id FROM res_orders WHERE step <> 'done' AND updated_at_ms < $1 \
             ORDER BY updated_at_ms LIMIT $2",
        )
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&self.db.read)
        .await?)
    }

    /// Every order of the event, for audits.
    pub async fn orders_of_event(&self, event_id: &str) -> Result<Vec<OrderRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM res_orders WHERE event_id = $1 ORDER BY created_at_ms, order_id"
        ))
        .bind(event_id)
        .fetch_all(&self.db.read)
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Order counts and revenue of the event.
    pub async fn sales_totals(&self, event_id: &str) -> Result<SalesTotals, StoreError> {
        let row = sqlx::query(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN state = 'confirmed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS confirmed, \
             CAST(COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
             CAST(COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
             CAST(COALESCE(SUM(CASE WHEN state = 'refunded' THEN 1 ELSE 0 END), 0) AS BIGINT) AS refunded, \
             CAST(COALESCE(SUM(CASE WHEN state = 'confirmed' THEN total_cents ELSE 0 END), 0) AS BIGINT) AS revenue \
             FROM res_orders WHERE event_id = $1",
        )
        .bind(event_id)
        .fetch_one(&self.db.read)
        .await?;
        let count = |column: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
        };
        Ok(SalesTotals {
            orders_confirmed: count("confirmed")?,
            orders_pending: count("pending")?,
            orders_failed: count("failed")?,
            orders_refunded: count("refunded")?,
            revenue_cents: row.try_get("revenue")?,
        })
    }
}

fn order_from_row(row: &AnyRow) -> Result<OrderRecord, StoreError> {
    let state: String = row.try_get("state")?;
    let step: String = row.try_get("step")?;
    let seats: String = row.try_get("seats")?;
    Ok(OrderRecord {
        order_id: row.try_get("order_id")?,
        hold_id: row.try_get("hold_id")?,
        buyer: Buyer {
            event: row.try_get("event_id")?,
            id: row.try_get("buyer")?,
        },
        state: OrderState::parse(&state)?,
        step: SagaStep::parse(&step)?,
        payment_method: row.try_get("payment_method")?,
        total_cents: row.try_get("total_cents")?,
        currency: row.try_get("currency")?,
        seats: serde_json::from_str(&seats)?,
        failure_reason: row.try_get("failure_reason")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}
