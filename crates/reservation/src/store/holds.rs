//! Holds as reservation sees them: the buyer's claim, its ticket-limit accounting and the
//! seats inventory granted.

use breakwater_ticketing::HoldState;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::idempotency::{Claim, claim, complete_on};
use super::{Buyer, ReservationStore, SeatLine, StoreError, StoredResponse};
use crate::db::Engine;

/// A hold as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldRecord {
    /// Hold id.
    pub hold_id: String,
    /// Whose.
    pub buyer: Buyer,
    /// Where it stands.
    pub state: HoldState,
    /// Tickets asked for (counted against the limit while pending).
    pub quantity: u32,
    /// The canonical request (what to ask inventory for when resuming).
    pub request: serde_json::Value,
    /// Seats granted.
    pub seats: Vec<SeatLine>,
    /// Their total, from the server's prices.
    pub total_cents: i64,
    /// Currency of the prices.
    pub currency: String,
    /// Whether the seats sit together.
    pub adjacent: bool,
    /// When the hold lapses (Unix ms).
    pub expires_at_ms: i64,
    /// The order checking it out, if any.
    pub order_id: Option<String>,
}

impl HoldRecord {
    /// A hold just asked for: pending, no seats yet.
    pub fn pending(new: &NewHold<'_>, hold_id: String) -> Self {
        Self {
            hold_id,
            buyer: new.buyer.clone(),
            state: HoldState::Pending,
            quantity: new.quantity,
            request: new.request.clone(),
            seats: Vec::new(),
            total_cents: 0,
            currency: new.currency.to_owned(),
            adjacent: true,
            expires_at_ms: new.expires_at_ms,
            order_id: None,
        }
    }
}

/// What inventory answered for a pending hold.
#[derive(Debug, Clone, PartialEq)]
pub enum HoldResult {
    /// Seats held.
    Held {
        /// The seats.
        seats: Vec<SeatLine>,
        /// Their total.
        total_cents: i64,
        /// Whether they sit together.
        adjacent: bool,
        /// When the hold lapses (inventory's word).
        expires_at_ms: i64,
    },
    /// Nothing held.
    Rejected,
}

/// What starting a hold found.
#[derive(Debug, Clone, PartialEq)]
pub enum BeginHold {
    /// A new pending hold, to be placed with inventory.
    New(HoldRecord),
    /// A retry of an unfinished request: carry on with this hold.
    Resume(HoldRecord),
    /// A retry of a finished request: send this again.
    Replay(StoredResponse),
    /// The key was used for another request.
    KeyMismatch,
    /// Holding `quantity` more would pass the limit; nothing was recorded.
    OverLimit {
        /// The event's limit.
        limit: u32,
        /// Tickets the buyer already has (live holds and orders).
        counted: u64,
    },
}

/// What cancelling a hold decided. Cancel and checkout both move the hold out of `held`
/// with a conditional update of its row, so exactly one of them wins.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancel {
    /// The hold is released by a cancel (this one, or an earlier one): no checkout can
    /// start on it any more, and its seats go back at inventory.
    Released(HoldRecord),
    /// A checkout took the hold first (its order is `order_id`).
    CheckedOut(HoldRecord),
    /// The hold holds no seats (pending, rejected, abandoned).
    NotActive(HoldRecord),
    /// A retry of a finished cancel: send this again.
    Replay(StoredResponse),
    /// The key was used for another request.
    KeyMismatch,
}

/// Parameters of a new hold.
#[derive(Debug, Clone)]
pub struct NewHold<'a> {
    /// Whose.
    pub buyer: &'a Buyer,
    /// The idempotency key.
    pub key: &'a str,
    /// Operation and canonical body, compared on retries.
    pub request_text: &'a str,
    /// The canonical body.
    pub request: &'a serde_json::Value,
    /// Tickets asked for.
    pub quantity: u32,
    /// The event's limit.
    pub limit: u32,
    /// The event's currency.
    pub currency: &'a str,
    /// When the hold lapses.
    pub expires_at_ms: i64,
}

/// The buyer's tickets in live holds and orders, as an expression of `$1` event, `$2` buyer
/// and `$3` now: what the ticket limit is checked against.
pub(super) const COUNTED_TICKETS: &str = "CAST(COALESCE(SUM(quantity), 0) AS BIGINT) \
     FROM res_holds WHERE event_id = $1 AND buyer = $2 \
     AND (state IN ('pending', 'checking_out', 'converted') \
     OR (state = 'held' AND expires_at_ms > $3))";

const COLUMNS: &str = "hold_id, event_id, buyer, state, quantity, request, seats, total_cents, \
                       currency, adjacent, expires_at_ms, order_id";

impl ReservationStore {
    /// Claims the idempotency key and, within the buyer's ticket limit, records hold
    /// `hold_id` as pending, all in one transaction: what is left when inventory could not
    /// be reached, for a retry of the request to resume or the reconciler to abandon.
    pub async fn begin_hold(
        &self,
        new: &NewHold<'_>,
        hold_id: &str,
        now_ms: i64,
    ) -> Result<BeginHold, StoreError> {
        let hold_id = hold_id.to_owned();
        let mut tx = self.db.write.begin().await?;
        if self.db.engine == Engine::Postgres {
            // A pending hold is soft state (it lapses by itself): its commit need not wait
            // for the WAL flush. The buyer's lock comes before the key, in the order
            // `record_hold` takes them, so the two never deadlock.
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
            lock_buyer(&mut tx, &new.buyer.event, &new.buyer.id).await?;
        }
        match claim(
            &mut tx,
            new.buyer,
            new.key,
            new.request_text,
            &hold_id,
            now_ms,
        )
        .await?
        {
            Claim::New => {}
            Claim::Mismatch => return Ok(BeginHold::KeyMismatch),
            Claim::Replay(response) => return Ok(BeginHold::Replay(response)),
            Claim::Resume(existing) => {
                drop(tx);
                let hold = self.hold(&existing).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("idempotency key names missing hold {existing}"))
                })?;
                return Ok(BeginHold::Resume(hold));
            }
        }
        let counted: i64 = sqlx::query_scalar(&format!("SELECT {COUNTED_TICKETS}"))
            .bind(&new.buyer.event)
            .bind(&new.buyer.id)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
        let counted = u64::try_from(counted).unwrap_or(0);
        if counted + u64::from(new.quantity) > u64::from(new.limit) {
            return Ok(BeginHold::OverLimit {
                limit: new.limit,
                counted,
            });
        }
        sqlx::query(
            "INSERT INTO res_holds (hold_id, event_id, buyer, state, quantity, request, currency, \
             expires_at_ms, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $8)",
        )
        .bind(&hold_id)
        .bind(&new.buyer.event)
        .bind(&new.buyer.id)
        .bind(i64::from(new.quantity))
        .bind(new.request.to_string())
        .bind(new.currency)
        .bind(new.expires_at_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(BeginHold::New(HoldRecord::pending(new, hold_id)))
    }

    /// Records inventory's answer for a pending hold and the request's final answer, in one
    /// transaction; `None` (and nothing changed) when the hold was no longer pending (a
    /// concurrent retry or the reconciler got there first). Returns the answer to send:
    /// `answer`, or an answer recorded first by a concurrent retry.
    pub async fn settle_hold(
        &self,
        hold_id: &str,
        result: &HoldResult,
        now_ms: i64,
        request: (&Buyer, &str, StoredResponse),
    ) -> Result<Option<StoredResponse>, StoreError> {
        let mut tx = self.db.write.begin().await?;
        let query = match result {
            HoldResult::Held {
                seats,
                total_cents,
                adjacent,
                expires_at_ms,
            } => sqlx::query(
                "UPDATE res_holds SET state = 'held', seats = $2, total_cents = $3, adjacent = $4, \
                 expires_at_ms = $5, updated_at_ms = $6 WHERE hold_id = $1 AND state = 'pending'",
            )
            .bind(hold_id)
            .bind(serde_json::to_string(seats)?)
            .bind(*total_cents)
            .bind(i64::from(*adjacent))
            .bind(*expires_at_ms)
            .bind(now_ms),
            HoldResult::Rejected => sqlx::query(
                "UPDATE res_holds SET state = 'rejected', updated_at_ms = $2 \
                 WHERE hold_id = $1 AND state = 'pending'",
            )
            .bind(hold_id)
            .bind(now_ms),
        };
        if query.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(None);
        }
        let (buyer, key, answer) = request;
        let sent = complete_on(&mut tx, buyer, key, answer).await?;
        tx.commit().await?;
        Ok(Some(sent))
    }

    /// The hold, if it exists.
    pub async fn hold(&self, hold_id: &str) -> Result<Option<HoldRecord>, StoreError> {
        let mut connection = self.db.read.acquire().await?;
        hold_on(&mut connection, hold_id).await
    }

    /// Claims the key and cancels the hold, in one transaction: moves the hold from `held`
    /// to `released` unless a checkout took it first, with one conditional update of its
    /// row (the checkout's `begin_checkout` moves the same row from `held` to
    /// `checking_out`, so exactly one wins). A hold a cancel released before is
    /// [`Cancel::Released`] again, so a retry finishes the job. `None` when there is no
    /// such hold.
    pub async fn cancel_hold(
        &self,
        buyer: &Buyer,
        key: &str,
        request_text: &str,
        hold_id: &str,
        now_ms: i64,
    ) -> Result<Option<Cancel>, StoreError> {
        let mut tx = self.db.write.begin().await?;
        match claim(&mut tx, buyer, key, request_text, hold_id, now_ms).await? {
            Claim::New | Claim::Resume(_) => {}
            Claim::Replay(response) => return Ok(Some(Cancel::Replay(response))),
            Claim::Mismatch => return Ok(Some(Cancel::KeyMismatch)),
        }
        let won = sqlx::query(
            "UPDATE res_holds SET state = 'released', updated_at_ms = $2 \
             WHERE hold_id = $1 AND state = 'held' AND order_id IS NULL",
        )
        .bind(hold_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        // Read after the update, in its transaction: the state that decided it.
        let Some(hold) = hold_on(&mut tx, hold_id).await? else {
            return Ok(None);
        };
        tx.commit().await?;
        let decided = match (&hold.state, &hold.order_id) {
            _ if won => Cancel::Released(hold),
            (_, Some(_)) => Cancel::CheckedOut(hold),
            (HoldState::Released, None) => Cancel::Released(hold),
            _ => Cancel::NotActive(hold),
        };
        Ok(Some(decided))
    }

    /// Moves a hold from `from` to `to`; `false` when it was not in `from`.
    pub async fn move_hold(
        &self,
        hold_id: &str,
        from: breakwater_ticketing::HoldState,
        to: breakwater_ticketing::HoldState,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE res_holds SET state = $3, updated_at_ms = $4 WHERE hold_id = $1 AND state = $2",
        )
        .bind(hold_id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(now_ms)
        .execute(&self.db.write)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// Holds in `state` last touched before `before_ms` (at most `limit`).
    pub async fn holds_in_state(
        &self,
        state: breakwater_ticketing::HoldState,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT hold_id FROM res_holds WHERE state = $1 AND updated_at_ms < $2 \
             ORDER BY updated_at_ms LIMIT $3",
        )
        .bind(state.as_str())
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&self.db.read)
        .await?)
    }
}

/// Takes the buyer's row lock (PostgreSQL; SQLite has a single writer) so one buyer's
/// concurrent holds are counted against the limit one after another.
pub(super) async fn lock_buyer(
    connection: &mut sqlx::AnyConnection,
    event: &str,
    buyer: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO res_buyers (event_id, buyer, lock_seq) VALUES ($1, $2, 1) \
         ON CONFLICT (event_id, buyer) DO UPDATE SET lock_seq = res_buyers.lock_seq + 1",
    )
    .bind(event)
    .bind(buyer)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// The hold, read on `connection` (inside a transaction, so a caller holding one never
/// waits for a second pooled connection).
pub(super) async fn hold_on(
    connection: &mut sqlx::AnyConnection,
    hold_id: &str,
) -> Result<Option<HoldRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM res_holds WHERE hold_id = $1"
    ))
    .bind(hold_id)
    .fetch_optional(connection)
    .await?;
    row.as_ref().map(hold_from_row).transpose()
}

fn hold_from_row(row: &AnyRow) -> Result<HoldRecord, StoreError> {
    let state: String = row.try_get("state")?;
    let request: String = row.try_get("request")?;
    let seats: String = row.try_get("seats")?;
    let quantity: i64 = row.try_get("quantity")?;
    Ok(HoldRecord {
        hold_id: row.try_get("hold_id")?,
        buyer: Buyer {
            event: row.try_get("event_id")?,
            id: row.try_get("buyer")?,
        },
        state: HoldState::parse(&state)?,
        quantity: u32::try_from(quantity).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        request: serde_json::from_str(&request)?,
        seats: serde_json::from_str(&seats)?,
        total_cents: row.try_get("total_cents")?,
        currency: row.try_get("currency")?,
        adjacent: row.try_get::<i64, _>("adjacent")? == 1,
        expires_at_ms: row.try_get("expires_at_ms")?,
        order_id: row.try_get("order_id")?,
    })
}
