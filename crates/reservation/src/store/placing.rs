//! Placing a hold with one write. A read first checks the idempotency key and the buyer's
//! ticket limit; inventory is asked next (with a hold id derived from the key, so a retry
//! asks for the same hold); then one transaction records the key's final answer and the
//! hold together.
//!
//! Why not record a pending hold before asking inventory: on SQLite every write waits for
//! the one writer connection, and each statement in a transaction keeps it busy for a
//! round trip to the driver's thread. A second transaction per hold was half of what the
//! writer did, and the writer was what limited holds per second. Pending holds are still
//! written when inventory cannot be reached ([`ReservationStore::begin_hold`]), for the
//! reconciler to settle; a crash between inventory's answer and the write leaves seats held
//! under an id only a retry of the same request reaches, and they lapse at the hold's expiry.

use std::sync::LazyLock;

use breakwater_sqldb::GroupError;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::holds::{COUNTED_TICKETS, lock_buyer};
use super::idempotency::seen;
use super::{Buyer, Claim, HoldResult, NewHold, ReservationStore, StoreError, StoredResponse};
use crate::db::Engine;

/// What the buyer's key and tickets so far say about a new hold request.
#[derive(Debug, Clone, PartialEq)]
pub enum Precheck {
    /// The key was used before: answer from that.
    Seen(Claim),
    /// The request would take the buyer past the event's limit.
    OverLimit {
        /// Tickets the buyer already has (live holds and orders).
        counted: u64,
    },
    /// The buyer's session has ended: their token may only read.
    SessionEnded,
    /// A new request within the limit: ask inventory.
    Fresh,
}

/// What recording inventory's answer did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The hold and the key's answer are stored; send this.
    Answered(StoredResponse),
    /// A concurrent hold of the same buyer got there first and the limit is reached;
    /// nothing was stored (the caller gives the seats back).
    OverLimit {
        /// Tickets the buyer has now.
        counted: u64,
    },
    /// A concurrent request with the same key got there first; nothing was stored.
    KeyTaken,
}

/// The hold id a buyer's request with idempotency key `key` gets: the same for every retry
/// (so inventory, which holds nothing twice for one id, grants one hold however often it
/// is asked), distinct across buyers, events and keys. Guessing one gains nothing: holds
/// are only shown to their buyer.
pub fn hold_id_for(buyer: &Buyer, key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"breakwater-hold\0")
        .chain_update(buyer.event.as_bytes())
        .chain_update([0])
        .chain_update(buyer.id.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl ReservationStore {
    /// Looks up the request's key and the buyer's tickets, without taking the writer.
    pub async fn precheck_hold(
        &self,
        new: &NewHold<'_>,
        now_ms: i64,
    ) -> Result<Precheck, StoreError> {
        let row = sqlx::query(PRECHECK.as_str())
            .bind(&new.buyer.event)
            .bind(&new.buyer.id)
            .bind(now_ms)
            .bind(new.key)
            .fetch_one(&self.db.read)
            .await?;
        if row.try_get::<Option<String>, _>("request")?.is_some() {
            return Ok(Precheck::Seen(seen(&row, new.request_text)?));
        }
        if row.try_get::<i64, _>("ended")? > 0 {
            return Ok(Precheck::SessionEnded);
        }
        let counted = u64::try_from(row.try_get::<i64, _>("counted")?).unwrap_or(0);
        if counted + u64::from(new.quantity) > u64::from(new.limit) {
            return Ok(Precheck::OverLimit { counted });
        }
        Ok(Precheck::Fresh)
    }

    /// Records inventory's answer for hold `hold_id` and the request's final answer in one
    /// write (in a group-commit batch), counting the buyer's tickets again there (under
    /// the buyer's lock on PostgreSQL; SQLite has one writer) so concurrent holds never
    /// pass the limit together.
    pub async fn record_hold(
        &self,
        new: &NewHold<'_>,
        hold_id: &str,
        result: &HoldResult,
        answer: &StoredResponse,
        now_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let row = SettledHold::new(new, hold_id, result, answer, now_ms)?;
        let written = self.write_grouped(row).await?;
        Ok(match written {
            Written::Stored => Recorded::Answered(answer.clone()),
            Written::KeyTaken => Recorded::KeyTaken,
            Written::OverLimit => Recorded::OverLimit {
                counted: self.counted_tickets(new.buyer, now_ms).await?,
            },
        })
    }

    /// The write in a group-commit batch, tried again when another write in its batch
    /// failed.
    async fn write_grouped(&self, row: SettledHold) -> Result<Written, StoreError> {
        let engine = self.db.engine;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let row = row.clone();
            let written = self
                .holds
                .write(move |connection| {
                    Box::pin(async move { write_in_batch(connection, engine, &row).await })
                })
                .await;
            match written {
                Err(GroupError::Aborted(_)) if attempts < BATCH_ATTEMPTS => continue,
                written => return written?,
            }
        }
    }

    /// Tickets the buyer has in live holds and orders.
    async fn counted_tickets(&self, buyer: &Buyer, now_ms: i64) -> Result<u64, StoreError> {
        let counted: i64 = sqlx::query_scalar(&format!("SELECT {COUNTED_TICKETS}"))
            .bind(&buyer.event)
            .bind(&buyer.id)
            .bind(now_ms)
            .fetch_one(&self.db.read)
            .await?;
        Ok(u64::try_from(counted).unwrap_or(0))
    }
}

/// What one write of a settled hold did.
enum Written {
    Stored,
    KeyTaken,
    OverLimit,
}

/// The write in a group-commit batch, which cannot roll back alone: a key claimed for a
/// hold over the limit is given up again before the batch goes on. On PostgreSQL the buyer's
/// row lock comes first (one buyer's concurrent holds are then counted one after another;
/// SQLite has one writer) and the key and the hold go in one statement.
async fn write_in_batch(
    connection: &mut AnyConnection,
    engine: Engine,
    row: &SettledHold,
) -> Result<Written, StoreError> {
    let (claimed, inserted) = match engine {
        Engine::Postgres => {
            lock_buyer(connection, &row.event, &row.buyer).await?;
            let counts = bind_settled(sqlx::query(RECORD_IN_ONE_STATEMENT.as_str()), row)
                .fetch_one(&mut *connection)
                .await?;
            (
                counts.try_get::<i64, _>("claimed")? == 1,
                counts.try_get::<i64, _>("inserted")? == 1,
            )
        }
        Engine::Sqlite => {
            let claimed = claim_key(connection, row).await?;
            (claimed, claimed && insert_hold(connection, row).await?)
        }
    };
    if !claimed {
        return Ok(Written::KeyTaken);
    }
    if !inserted {
        sqlx::query(
            "DELETE FROM res_idempotency WHERE event_id = $1 AND buyer = $2 AND idem_key = $3",
        )
        .bind(&row.event)
        .bind(&row.buyer)
        .bind(&row.key)
        .execute(&mut *connection)
        .await?;
        return Ok(Written::OverLimit);
    }
    Ok(Written::Stored)
}

/// Batches a write may be rolled back with (for another write's failure) before it fails.
const BATCH_ATTEMPTS: u32 = 3;

/// A settled hold and its request's answer, owned (a batched write outlives the request's
/// borrows).
#[derive(Clone)]
struct SettledHold {
    event: String,
    buyer: String,
    key: String,
    request_text: String,
    hold_id: String,
    state: &'static str,
    quantity: i64,
    request: String,
    seats: String,
    total_cents: i64,
    currency: String,
    adjacent: bool,
    expires_at_ms: i64,
    limit: i64,
    status: i64,
    response: String,
    now_ms: i64,
}

impl SettledHold {
    fn new(
        new: &NewHold<'_>,
        hold_id: &str,
        result: &HoldResult,
        answer: &StoredResponse,
        now_ms: i64,
    ) -> Result<Self, StoreError> {
        let (state, seats, total_cents, adjacent, expires_at_ms) = match result {
            HoldResult::Held {
                seats,
                total_cents,
                adjacent,
                expires_at_ms,
            } => (
                "held",
                serde_json::to_string(seats)?,
                *total_cents,
                *adjacent,
                *expires_at_ms,
            ),
            HoldResult::Rejected => ("rejected", "[]".to_owned(), 0, true, new.expires_at_ms),
        };
        Ok(Self {
            event: new.buyer.event.clone(),
            buyer: new.buyer.id.clone(),
            key: new.key.to_owned(),
            request_text: new.request_text.to_owned(),
            hold_id: hold_id.to_owned(),
            state,
            quantity: i64::from(new.quantity),
            request: new.request.to_string(),
            seats,
            total_cents,
            currency: new.currency.to_owned(),
            adjacent,
            expires_at_ms,
            limit: i64::from(new.limit),
            status: i64::from(answer.status),
            response: answer.body.to_string(),
            now_ms,
        })
    }
}

/// The key's earlier use, if any, the buyer's tickets and whether their session ended: `$1`
/// event, `$2` buyer, `$3` now, `$4` key.
static PRECHECK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT i.request, i.resource_id, i.status_code, i.response, \
         (SELECT {COUNTED_TICKETS}) AS counted, \
         CAST((SELECT COUNT(*) FROM res_ended_sessions e \
         WHERE e.event_id = $1 AND e.buyer = $2) AS BIGINT) AS ended \
         FROM (SELECT 1 AS one) AS o LEFT JOIN res_idempotency i \
         ON i.event_id = $1 AND i.buyer = $2 AND i.idem_key = $4"
    )
});

/// Claims the idempotency key with its final answer (parameters as [`bind_settled`]).
const CLAIM_KEY: &str = "INSERT INTO res_idempotency (event_id, buyer, idem_key, request, \
     resource_id, status_code, response, created_at_ms) VALUES ($1, $2, $14, $15, $4, $16, $17, $3) \
     ON CONFLICT (event_id, buyer, idem_key) DO NOTHING";

/// Inserts the settled hold, a held one only while the buyer stays within the limit
/// (parameters as [`bind_settled`]; ends in a `WHERE` clause callers may extend).
static INSERT_HOLD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO res_holds (hold_id, event_id, buyer, state, quantity, request, seats, \
         total_cents, currency, adjacent, expires_at_ms, created_at_ms, updated_at_ms) \
         SELECT $4, $1, $2, $5, $6, $7, $8, $9, $10, $11, $12, $3, $3 \
         WHERE ($5 = 'rejected' OR (SELECT {COUNTED_TICKETS}) + $6 <= $13)"
    )
});

/// PostgreSQL: the key and the hold in one statement, answering what each insert did.
static RECORD_IN_ONE_STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH claimed AS ({CLAIM_KEY} RETURNING 1), \
         inserted AS ({insert_hold} AND EXISTS (SELECT 1 FROM claimed) RETURNING 1) \
         SELECT CAST((SELECT COUNT(*) FROM claimed) AS BIGINT) AS claimed, \
         CAST((SELECT COUNT(*) FROM inserted) AS BIGINT) AS inserted",
        insert_hold = INSERT_HOLD.as_str()
    )
});

/// Binds a settled hold as `$1` event, `$2` buyer, `$3` now, `$4` hold id, `$5` state,
/// `$6` quantity, `$7` request, `$8` seats, `$9` total, `$10` currency, `$11` adjacent,
/// `$12` expiry, `$13` limit, `$14` key, `$15` request text, `$16` status, `$17` answer.
fn bind_settled<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    row: &'q SettledHold,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&row.event)
        .bind(&row.buyer)
        .bind(row.now_ms)
        .bind(&row.hold_id)
        .bind(row.state)
        .bind(row.quantity)
        .bind(&row.request)
        .bind(&row.seats)
        .bind(row.total_cents)
        .bind(&row.currency)
        .bind(i64::from(row.adjacent))
        .bind(row.expires_at_ms)
        .bind(row.limit)
        .bind(&row.key)
        .bind(&row.request_text)
        .bind(row.status)
        .bind(&row.response)
}

/// Claims the idempotency key with its final answer; `false` when it was taken.
async fn claim_key(connection: &mut AnyConnection, row: &SettledHold) -> Result<bool, StoreError> {
    let claimed = bind_settled(sqlx::query(CLAIM_KEY), row)
        .execute(&mut *connection)
        .await?
        .rows_affected();
    Ok(claimed == 1)
}

/// Inserts the settled hold; `false`: over the limit, nothing inserted.
async fn insert_hold(
    connection: &mut AnyConnection,
    row: &SettledHold,
) -> Result<bool, StoreError> {
    let inserted = bind_settled(sqlx::query(INSERT_HOLD.as_str()), row)
        .execute(&mut *connection)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyer(event: &str, number: i64) -> Buyer {
        Buyer {
            event: event.to_owned(),
            id: format!("0000000000000001-{number}"),
        }
    }

    #[test]
    fn hold_ids_are_stable_per_request_and_distinct_across_buyers_events_and_keys() {
        let id = hold_id_for(&buyer("e1", 7), "key-1");
        assert_eq!(id, hold_id_for(&buyer("e1", 7), "key-1"));
        for other in [
            hold_id_for(&buyer("e1", 8), "key-1"),
            hold_id_for(&buyer("e2", 7), "key-1"),
            hold_id_for(&buyer("e1", 7), "key-2"),
        ] {
            assert_ne!(id, other);
        }
        assert!(uuid::Uuid::parse_str(&id).is_ok());
    }
}
