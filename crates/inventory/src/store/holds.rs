//! Holds: claiming seats (chosen or best-available), pinning, selling and releasing them.
//!
//! Every claim is one conditional `UPDATE … WHERE <seat is free>` inside a transaction
//! that also records the hold, and succeeds only if it claimed every seat asked for;
//! otherwise the transaction rolls back and nothing is held. That is what makes
//! overselling impossible whatever the concurrency: the database decides, row by row.

use std::collections::BTreeSet;

use breakwater_ticketing::allocation::MAX_QUANTITY;
use breakwater_ticketing::{Allocator, SeatRef, Unit};
use sqlx::{Any, Row, Transaction};

use super::{
    HoldOutcome, HoldRequest, InventoryStore, PINNED_UNTIL_MS, Pick, SEAT_COLUMNS, Unavailability,
    unit_from_row,
};
use crate::error::StoreError;
use crate::sql::{free_seat, placeholders};

/// Free seats read per query while looking for the best block.
const PAGE: i64 = 256;
/// Attempts before a hold that keeps losing races (PostgreSQL only) gives up.
const ATTEMPTS: usize = 8;

type Tx = Transaction<'static, Any>;

/// One attempt's result: done, or lost a race and worth retrying.
enum Attempt {
    Done(HoldOutcome),
    Lost,
}

impl InventoryStore {
    /// Holds the requested seats, all or nothing. A request whose `hold_id` was seen before
    /// returns that hold's seats and holds nothing more.
    pub async fn hold(
        &self,
        request: &HoldRequest,
        now_ms: i64,
    ) -> Result<HoldOutcome, StoreError> {
        validate(request, now_ms)?;
        for _ in 1..ATTEMPTS {
            match self.try_hold(request, now_ms).await {
                Ok(Attempt::Done(outcome)) => return Ok(outcome),
                Ok(Attempt::Lost) => continue,
                Err(error) if error.is_transient() => continue,
                Err(error) => return Err(error),
            }
        }
        match self.try_hold(request, now_ms).await? {
            Attempt::Done(outcome) => Ok(outcome),
            Attempt::Lost => Err(StoreError::Invalid("too much contention, retry".into())),
        }
    }

    /// Keeps a live hold's seats from expiring; `false` when it has expired or was released.
    pub async fn pin(&self, hold_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.db.write.begin().await?;
        let pinned = sqlx::query(
            "UPDATE inv_holds SET state = 'pinned' \
             WHERE hold_id = $1 AND state = 'held' AND expires_at_ms > $2",
        )
        .bind(hold_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if pinned {
            sqlx::query(
                "UPDATE inv_seats SET hold_expires_at_ms = $2 WHERE hold_id = $1 AND sold = 0",
            )
            .bind(hold_id)
            .bind(PINNED_UNTIL_MS)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(true);
        }
        let state = hold_state(&mut tx, hold_id).await?;
        Ok(matches!(state.as_deref(), Some("pinned" | "sold")))
    }

    /// Sells a pinned hold's seats. Selling a sold hold again changes nothing.
    pub async fn commit(&self, hold_id: &str) -> Result<(), StoreError> {
        let mut tx = self.db.write.begin().await?;
        match hold_state(&mut tx, hold_id).await?.as_deref() {
            Some("sold") => return Ok(()),
            Some("pinned") => {}
            _ => return Err(StoreError::NotPinned(hold_id.to_owned())),
        }
        sqlx::query("UPDATE inv_seats SET sold = 1 WHERE hold_id = $1")
            .bind(hold_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE inv_holds SET state = 'sold' WHERE hold_id = $1")
            .bind(hold_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a hold's seats back. Releasing an unknown hold records it as released, so a
    /// late-arriving `hold` with that id (a retry racing the release) holds nothing.
    pub async fn release(&self, hold_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.db.write.begin().await?;
        match hold_state(&mut tx, hold_id).await?.as_deref() {
            Some("sold") => return Err(StoreError::AlreadySold(hold_id.to_owned())),
            Some("released") => return Ok(()),
            Some(_) => {
                sqlx::query(
                    "UPDATE inv_seats SET hold_id = NULL, hold_expires_at_ms = 0 \
                     WHERE hold_id = $1 AND sold = 0",
                )
                .bind(hold_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE inv_holds SET state = 'released' WHERE hold_id = $1")
                    .bind(hold_id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO inv_holds (hold_id, event_id, state, expires_at_ms, adjacent, \
                     created_at_ms) VALUES ($1, '', 'released', 0, 0, $2)",
                )
                .bind(hold_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn try_hold(&self, request: &HoldRequest, now_ms: i64) -> Result<Attempt, StoreError> {
        let mut tx = self.db.write.begin().await?;
        if matches!(request.pick, Pick::Best { .. }) {
            // Locked before looking for an earlier attempt, so a concurrent duplicate
            // waits for it and then finds it.
            lock_event_allocation(&mut tx, &request.event_id).await?;
        }
        if let Some(existing) = existing_hold(&mut tx, &request.hold_id).await? {
            return Ok(Attempt::Done(existing));
        }
        let attempt = match &request.pick {
            Pick::Seats(ids) => hold_chosen(&mut tx, request, ids, now_ms).await?,
            Pick::Best {
                quantity,
                section_id,
            } => hold_best(&mut tx, request, *quantity, section_id.as_deref(), now_ms).await?,
        };
        if matches!(attempt, Attempt::Done(HoldOutcome::Held { .. })) {
            tx.commit().await?;
        }
        Ok(attempt)
    }
}

fn validate(request: &HoldRequest, now_ms: i64) -> Result<(), StoreError> {
    if request.hold_id.is_empty() || request.hold_id.len() > 64 {
        return Err(StoreError::Invalid(
            "hold_id must be 1 to 64 characters".into(),
        ));
    }
    if request.expires_at_ms <= now_ms {
        return Err(StoreError::Invalid("expires_at_ms is in the past".into()));
    }
    let count = match &request.pick {
        Pick::Seats(ids) => ids.len(),
        Pick::Best { quantity, .. } => usize::try_from(*quantity).unwrap_or(usize::MAX),
    };
    if count == 0 || count > MAX_QUANTITY as usize {
        return Err(StoreError::Invalid(format!(
            "a hold takes 1 to {MAX_QUANTITY} seats"
        )));
    }
    Ok(())
}

async fn hold_state(tx: &mut Tx, hold_id: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT state FROM inv_holds WHERE hold_id = $1")
            .bind(hold_id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

async fn existing_hold(tx: &mut Tx, hold_id: &str) -> Result<Option<HoldOutcome>, StoreError> {
    let Some(row) =
        sqlx::query("SELECT state, expires_at_ms, adjacent FROM inv_holds WHERE hold_id = $1")
            .bind(hold_id)
            .fetch_optional(&mut **tx)
            .await?
    else {
        return Ok(None);
    };
    let state: String = row.try_get("state")?;
    if state == "released" {
        return Ok(Some(HoldOutcome::Unavailable {
            reason: Unavailability::NotEnough,
            seat_ids: Vec::new(),
        }));
    }
    Ok(Some(HoldOutcome::Held {
        seats: seats_of_hold(tx, hold_id).await?,
        adjacent: row.try_get::<i64, _>("adjacent")? == 1,
        expires_at_ms: row.try_get("expires_at_ms")?,
    }))
}

async fn seats_of_hold(tx: &mut Tx, hold_id: &str) -> Result<Vec<Unit>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {SEAT_COLUMNS} FROM inv_seats WHERE hold_id = $1 \
         ORDER BY section_rank, row_no, seat_no"
    ))
    .bind(hold_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(unit_from_row).collect::<Result<_, _>>()?)
}

async fn event_exists(tx: &mut Tx, event_id: &str) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM inv_events WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

async fn hold_chosen(
    tx: &mut Tx,
    request: &HoldRequest,
    ids: &[String],
    now_ms: i64,
) -> Result<Attempt, StoreError> {
    let ids: Vec<String> = ids
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let malformed: Vec<String> = ids
        .iter()
        .filter(|id| SeatRef::parse(id).is_none())
        .cloned()
        .collect();
    if !malformed.is_empty() {
        return Ok(unavailable(Unavailability::UnknownSeats, malformed));
    }
    if !event_exists(tx, &request.event_id).await? {
        return Err(StoreError::EventNotFound);
    }
    if claim(tx, request, &ids, now_ms).await? {
        record_hold(tx, request, true, now_ms).await?;
        let seats = seats_of_hold(tx, &request.hold_id).await?;
        return Ok(held(seats, true, request.expires_at_ms));
    }
    diagnose(tx, &request.event_id, &ids, now_ms).await
}

/// Why a chosen-seat claim failed: unknown ids first, then the taken ones. If none is
/// taken any more, a concurrent release freed them: try again.
async fn diagnose(
    tx: &mut Tx,
    event_id: &str,
    ids: &[String],
    now_ms: i64,
) -> Result<Attempt, StoreError> {
    let sql = format!(
        "SELECT seat_id, CAST(CASE WHEN {} THEN 1 ELSE 0 END AS BIGINT) AS free \
         FROM inv_seats WHERE event_id = $1 AND seat_id IN ({})",
        free_seat("$2"),
        placeholders(3, ids.len())
    );
    let mut query = sqlx::query(&sql).bind(event_id).bind(now_ms);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    let mut known = BTreeSet::new();
    let mut taken = Vec::new();
    for row in &rows {
        let id: String = row.try_get("seat_id")?;
        if row.try_get::<i64, _>("free")? == 0 {
            taken.push(id.clone());
        }
        known.insert(id);
    }
    let unknown: Vec<String> = ids
        .iter()
        .filter(|id| !known.contains(*id))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Ok(unavailable(Unavailability::UnknownSeats, unknown));
    }
    if taken.is_empty() {
        return Ok(Attempt::Lost);
    }
    Ok(unavailable(Unavailability::Taken, taken))
}

async fn hold_best(
    tx: &mut Tx,
    request: &HoldRequest,
    quantity: u32,
    section_id: Option<&str>,
    now_ms: i64,
) -> Result<Attempt, StoreError> {
    if let Some(section_id) = section_id {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM inv_sections WHERE event_id = $1 AND section_id = $2",
        )
        .bind(&request.event_id)
        .bind(section_id)
        .fetch_optional(&mut **tx)
        .await?;
        if found.is_none() {
            return Ok(unavailable(Unavailability::UnknownSection, Vec::new()));
        }
    }
    let Some(allocation) = allocate(
        tx,
        &request.event_id,
        quantity,
        section_id.unwrap_or(""),
        now_ms,
    )
    .await?
    else {
        return Ok(unavailable(Unavailability::NotEnough, Vec::new()));
    };
    let ids: Vec<String> = allocation
        .seats()
        .iter()
        .map(|s| s.seat_id.clone())
        .collect();
    // A chosen-seat hold (which does not take the event lock) may have won a seat since
    // the scan: then this attempt is lost and retried on fresh data.
    if !claim(tx, request, &ids, now_ms).await? {
        return Ok(Attempt::Lost);
    }
    record_hold(tx, request, allocation.is_adjacent(), now_ms).await?;
    Ok(held(
        allocation.seats().to_vec(),
        allocation.is_adjacent(),
        request.expires_at_ms,
    ))
}

/// Takes the event row's lock (PostgreSQL; SQLite has a single writer anyway): allocators
/// of one event run one at a time, so concurrent buyers do not all compute, and then fight
/// over, the same best block.
async fn lock_event_allocation(tx: &mut Tx, event_id: &str) -> Result<(), StoreError> {
    let locked = sqlx::query("UPDATE inv_events SET alloc_seq = alloc_seq + 1 WHERE event_id = $1")
        .bind(event_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if locked == 0 {
        return Err(StoreError::EventNotFound);
    }
    Ok(())
}

/// Streams the free seats in preference order, a page at a time, into the allocator.
async fn allocate(
    tx: &mut Tx,
    event_id: &str,
    quantity: u32,
    section_id: &str,
    now_ms: i64,
) -> Result<Option<breakwater_ticketing::Allocation>, StoreError> {
    let sql = format!(
        "SELECT {SEAT_COLUMNS} FROM inv_seats \
         WHERE event_id = $1 AND ($2 = '' OR section_id = $2) AND {} \
         AND (section_rank, row_no, seat_no) > ($4, $5, $6) \
         ORDER BY section_rank, row_no, seat_no LIMIT $7",
        free_seat("$3")
    );
    let mut allocator = Allocator::new(quantity);
    let mut after = (-1i64, -1i64, -1i64);
    loop {
        let rows = sqlx::query(&sql)
            .bind(event_id)
            .bind(section_id)
            .bind(now_ms)
            .bind(after.0)
            .bind(after.1)
            .bind(after.2)
            .bind(PAGE)
            .fetch_all(&mut **tx)
            .await?;
        let full_page = rows.len() as i64 == PAGE;
        for row in &rows {
            let seat = unit_from_row(row)?;
            after = (
                i64::from(seat.section_rank),
                i64::from(seat.row),
                i64::from(seat.number),
            );
            if allocator.push(seat) {
                return Ok(allocator.finish());
            }
        }
        if !full_page {
            return Ok(allocator.finish());
        }
    }
}

/// Claims every seat in `ids` for the hold, or reports `false` (and the caller rolls back).
/// Seats this very hold already has count as claimed: a concurrent duplicate of the
/// request (same `hold_id`) then agrees with the first instead of reporting them taken.
async fn claim(
    tx: &mut Tx,
    request: &HoldRequest,
    ids: &[String],
    now_ms: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE inv_seats SET hold_id = $1, hold_expires_at_ms = $2 \
         WHERE event_id = $3 AND sold = 0 \
         AND (hold_id = $1 OR hold_id IS NULL OR hold_expires_at_ms <= $4) \
         AND seat_id IN ({})",
        placeholders(5, ids.len())
    );
    let mut query = sqlx::query(&sql)
        .bind(&request.hold_id)
        .bind(request.expires_at_ms)
        .bind(&request.event_id)
        .bind(now_ms);
    for id in ids {
        query = query.bind(id);
    }
    let claimed = query.execute(&mut **tx).await?.rows_affected();
    Ok(claimed == ids.len() as u64)
}

async fn record_hold(
    tx: &mut Tx,
    request: &HoldRequest,
    adjacent: bool,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO inv_holds (hold_id, event_id, state, expires_at_ms, adjacent, created_at_ms) \
         VALUES ($1, $2, 'held', $3, $4, $5) ON CONFLICT (hold_id) DO NOTHING",
    )
    .bind(&request.hold_id)
    .bind(&request.event_id)
    .bind(request.expires_at_ms)
    .bind(i64::from(adjacent))
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn held(seats: Vec<Unit>, adjacent: bool, expires_at_ms: i64) -> Attempt {
    Attempt::Done(HoldOutcome::Held {
        seats,
        adjacent,
        expires_at_ms,
    })
}

fn unavailable(reason: Unavailability, seat_ids: Vec<String>) -> Attempt {
    Attempt::Done(HoldOutcome::Unavailable { reason, seat_ids })
}
