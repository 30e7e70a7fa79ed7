//! Holds: claiming seats (chosen or best-available), pinning, selling and releasing them.
//! Once a checkout has pinned a hold, only that checkout decides its seats' fate: commit
//! sells them, `release_after_checkout` gives them back, a plain `release` is refused.
//!
//! Every claim is one conditional `UPDATE … WHERE <seat is free>` inside a transaction
//! that also records the hold, and succeeds only if it claimed every seat asked for;
//! otherwise the transaction rolls back and nothing is held. That is what makes
//! overselling impossible whatever the concurrency: the database decides, row by row.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use breakwater_ticketing::allocation::MAX_QUANTITY;
use breakwater_ticketing::{Allocator, SeatRef, Unit};
use sqlx::{AnyConnection, Row};

use super::hints::{START, ScanHints, SeatKey};
use super::{
    HoldOutcome, HoldRequest, InventoryStore, PINNED_UNTIL_MS, Pick, SEAT_COLUMNS, Unavailability,
    unit_from_row,
};
use crate::db::Engine;
use crate::error::StoreError;
use crate::sql::{free_seat, placeholders};

/// Free seats read (and locked) per query on PostgreSQL at most.
const PG_PAGE: i64 = 64;
/// Free seats read per query at most by a PostgreSQL pass that locks nothing.
const PG_PEEK_PAGE: i64 = 1_024;
/// Attempts before a hold that keeps losing races gives up.
const ATTEMPTS: usize = 8;
/// How long a hold keeps trying at most before it answers "contended, retry": well inside
/// the callers' deadline (reservation's is 2 s by default), so the answer arrives.
const HOLD_BUDGET: Duration = Duration::from_millis(1_000);
/// PostgreSQL: how long one statement of a hold may wait for another transaction's row
/// lock (SQLSTATE 55P03 past it). Allocators keep their locks for milliseconds; a wait
/// this long means a stuck or overloaded peer, and the attempt is retried or given up.
const LOCK_TIMEOUT: &str = "400ms";

/// The connection of the transaction a hold runs in.
type Tx = AnyConnection;

/// One attempt's result: done, or lost a race and worth retrying.
enum Attempt {
    Done(HoldOutcome),
    Lost,
    /// PostgreSQL: the seats skipped as locked by other allocators may decide the answer (an
    /// adjacent block, or enough seats at all, only counting them); retry waiting for their
    /// locks, in a fresh transaction (waiting while holding this one's locks could deadlock
    /// with another allocator doing the same).
    Contended,
}

impl InventoryStore {
    /// Holds the requested seats, all or nothing. A request whose `hold_id` was seen before
    /// returns that hold's seats and holds nothing more.
    ///
    /// Races lost to concurrent holds are retried here; one that keeps losing them for
    /// [`HOLD_BUDGET`] gets [`StoreError::Contended`] with nothing held, for the caller to
    /// try again later.
    pub async fn hold(
        &self,
        request: &HoldRequest,
        now_ms: i64,
    ) -> Result<HoldOutcome, StoreError> {
        validate(request, now_ms)?;
        let started = Instant::now();
        let mut wait_for_locks = false;
        for attempt in 1..=ATTEMPTS {
            // The last attempt waits for other allocators' locks whatever came before.
            wait_for_locks |= attempt == ATTEMPTS;
            match self.try_hold(request, now_ms, wait_for_locks).await {
                Ok(Attempt::Done(outcome)) => return Ok(outcome),
                Ok(Attempt::Lost) => {}
                Ok(Attempt::Contended) => wait_for_locks = true,
                // A deadlock, a serialization failure, a lock wait past its timeout, a busy
                // SQLite or an aborted batch: nothing of the attempt was kept.
                Err(error) if error.is_transient() => wait_for_locks |= error.is_lock_timeout(),
                Err(error) => return Err(error),
            }
            if started.elapsed() >= HOLD_BUDGET {
                break;
            }
        }
        Err(StoreError::Contended)
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

    /// Sells a pinned hold's seats. Selling a sold hold again changes nothing; a hold that
    /// is not pinned (released, or never pinned) is refused with `NotPinned` and nothing
    /// changes.
    pub async fn commit(&self, hold_id: &str) -> Result<(), StoreError> {
        let mut tx = self.db.write.begin().await?;
        // The hold's row first, conditionally (as pin and release take it): a concurrent
        // release either waits for the sale, or released the hold first and this refuses.
        let sold = sqlx::query(
            "UPDATE inv_holds SET state = 'sold' WHERE hold_id = $1 AND state = 'pinned'",
        )
        .bind(hold_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !sold {
            return match hold_state(&mut tx, hold_id).await?.as_deref() {
                Some("sold") => Ok(()),
                _ => Err(StoreError::NotPinned(hold_id.to_owned())),
            };
        }
        sqlx::query("UPDATE inv_seats SET sold = 1 WHERE hold_id = $1")
            .bind(hold_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives back the seats of a hold no checkout has pinned (the buyer cancelled it, it
    /// was abandoned, it went over the buyer's limit). A pinned hold is refused with
    /// `Pinned` and a sold one with `AlreadySold`, and nothing changes: once pinned, only
    /// the hold's checkout decides ([`Self::release_after_checkout`]). Releasing an unknown
    /// hold records it as released, so a late-arriving `hold` with that id (a retry racing
    /// the release) holds nothing.
    pub async fn release(&self, hold_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.give_back(hold_id, now_ms, Releaser::Anyone).await
    }

    /// The checkout saga's release step after its checkout failed (payment declined, or
    /// the hold lapsed before the pin): gives the hold's seats back, pinned or not. A sold
    /// hold is refused with `AlreadySold`. Only the checkout may call this.
    pub async fn release_after_checkout(
        &self,
        hold_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.give_back(hold_id, now_ms, Releaser::Checkout).await
    }

    async fn give_back(
        &self,
        hold_id: &str,
        now_ms: i64,
        releaser: Releaser,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.write.begin().await?;
        // The hold's row is moved first, conditionally, taking its lock before any seat's
        // (as pin and commit do): a concurrent pin either waits and then finds the hold
        // released, or pinned it first and a plain release is refused. Deciding on a state
        // read earlier would let a pin slip in between.
        let released = sqlx::query(&format!(
            "UPDATE inv_holds SET state = 'released' WHERE hold_id = $1 AND state IN ({})",
            releaser.releasable()
        ))
        .bind(hold_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if released {
            free_unsold_seats(&mut tx, hold_id).await?;
        } else {
            match hold_state(&mut tx, hold_id).await?.as_deref() {
                Some("released") => return Ok(()),
                Some("sold") => return Err(StoreError::AlreadySold(hold_id.to_owned())),
                Some(_) => return Err(StoreError::Pinned(hold_id.to_owned())),
                None => {
                    sqlx::query(
                        "INSERT INTO inv_holds (hold_id, event_id, state, expires_at_ms, \
                         adjacent, created_at_ms) VALUES ($1, '', 'released', 0, 0, $2)",
                    )
                    .bind(hold_id)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        // Seats may be free again in front of where scans start: look from the front.
        self.hints.clear();
        Ok(())
    }

    async fn try_hold(
        &self,
        request: &HoldRequest,
        now_ms: i64,
        wait_for_locks: bool,
    ) -> Result<Attempt, StoreError> {
        let scan = Scan {
            engine: self.db.engine,
            hints: self.hints.clone(),
            wait_for_locks,
        };
        let Some(group) = &self.holds else {
            return hold_in_transaction(&self.db.write, scan, request, now_ms).await;
        };
        let request = request.clone();
        group
            .write(move |connection| {
                Box::pin(async move { hold_in_batch(connection, &scan, &request, now_ms).await })
            })
            .await?
    }
}

/// Who asks for a hold's seats back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Releaser {
    /// Anyone but the hold's checkout: only a hold no checkout has pinned.
    Anyone,
    /// The hold's checkout, after it failed: pinned too.
    Checkout,
}

impl Releaser {
    /// The hold states this releaser may release, as an SQL list.
    fn releasable(self) -> &'static str {
        match self {
            Self::Anyone => "'held'",
            Self::Checkout => "'held', 'pinned'",
        }
    }
}

/// PostgreSQL: a hold in a transaction of its own, rolled back unless it holds.
async fn hold_in_transaction(
    pool: &sqlx::AnyPool,
    scan: Scan,
    request: &HoldRequest,
    now_ms: i64,
) -> Result<Attempt, StoreError> {
    // A hold is soft state that lapses by itself, so its commit need not wait for the WAL
    // flush (sales, pins and releases keep full durability). A database crash can lose the
    // last instants of holds, never a sale; the lost hold's checkout then fails at `pin` and
    // nothing is charged. Row locks taken below are thus never held across a disk flush.
    // Sent with BEGIN, in one round trip.
    // A lock wait is bounded (see `LOCK_TIMEOUT`), so an attempt always ends in time to be
    // retried or answered.
    let mut tx = pool
        .begin_with(format!(
            "BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"
        ))
        .await?;
    let (attempt, _) = place(&mut tx, &scan, request, now_ms).await?;
    if matches!(attempt, Attempt::Done(HoldOutcome::Held { .. })) {
        tx.commit().await?;
    }
    Ok(attempt)
}

/// SQLite: a hold in a group-commit batch. It cannot roll back alone, so a hold recorded
/// but not granted is undone before the batch goes on.
async fn hold_in_batch(
    connection: &mut Tx,
    scan: &Scan,
    request: &HoldRequest,
    now_ms: i64,
) -> Result<Attempt, StoreError> {
    let (attempt, recorded) = place(connection, scan, request, now_ms).await?;
    if recorded && !matches!(attempt, Attempt::Done(HoldOutcome::Held { .. })) {
        forget_hold(connection, &request.hold_id).await?;
    }
    Ok(attempt)
}

/// Records the hold and claims its seats; also says whether this call recorded it (`false`:
/// the id was seen before, and the answer is that hold's).
async fn place(
    tx: &mut Tx,
    scan: &Scan,
    request: &HoldRequest,
    now_ms: i64,
) -> Result<(Attempt, bool), StoreError> {
    // A concurrent duplicate (same hold id) waits here on the key until this one
    // commits, then answers from it.
    if !record_hold(tx, request, now_ms).await? {
        let existing = existing_hold(tx, &request.hold_id).await?;
        return Ok((Attempt::Done(existing), false));
    }
    let attempt = match &request.pick {
        Pick::Seats(ids) => hold_chosen(tx, request, ids, now_ms).await?,
        Pick::Best {
            quantity,
            section_id,
        } => {
            hold_best(
                tx,
                scan,
                request,
                (*quantity, section_id.as_deref()),
                now_ms,
            )
            .await?
        }
    };
    Ok((attempt, true))
}

/// Undoes a hold recorded but not granted: the seats a partial claim took, and the record.
async fn forget_hold(tx: &mut Tx, hold_id: &str) -> Result<(), StoreError> {
    free_unsold_seats(tx, hold_id).await?;
    sqlx::query("DELETE FROM inv_holds WHERE hold_id = $1")
        .bind(hold_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Makes a hold's seats that are not sold free again.
async fn free_unsold_seats(tx: &mut Tx, hold_id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE inv_seats SET hold_id = NULL, hold_expires_at_ms = 0 \
         WHERE hold_id = $1 AND sold = 0",
    )
    .bind(hold_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
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
            .fetch_optional(&mut *tx)
            .await?,
    )
}

/// The answer for a hold id seen before: its seats, or nothing once released.
async fn existing_hold(tx: &mut Tx, hold_id: &str) -> Result<HoldOutcome, StoreError> {
    let row =
        sqlx::query("SELECT state, expires_at_ms, adjacent FROM inv_holds WHERE hold_id = $1")
            .bind(hold_id)
            .fetch_one(&mut *tx)
            .await?;
    let state: String = row.try_get("state")?;
    if state == "released" {
        return Ok(HoldOutcome::Unavailable {
            reason: Unavailability::NotEnough,
            seat_ids: Vec::new(),
        });
    }
    Ok(HoldOutcome::Held {
        seats: seats_of_hold(tx, hold_id).await?,
        adjacent: row.try_get::<i64, _>("adjacent")? == 1,
        expires_at_ms: row.try_get("expires_at_ms")?,
    })
}

async fn seats_of_hold(tx: &mut Tx, hold_id: &str) -> Result<Vec<Unit>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {SEAT_COLUMNS} FROM inv_seats WHERE hold_id = $1 \
         ORDER BY section_rank, row_no, seat_no"
    ))
    .bind(hold_id)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.iter().map(unit_from_row).collect::<Result<_, _>>()?)
}

async fn event_exists(tx: &mut Tx, event_id: &str) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM inv_events WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(&mut *tx)
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
    if claim(tx, request, &ids, now_ms).await? {
        let seats = seats_of_hold(tx, &request.hold_id).await?;
        return Ok(held(seats, true, request.expires_at_ms));
    }
    diagnose(tx, request, &ids, now_ms).await
}

/// Why a chosen-seat claim failed: unknown ids first, then the taken ones (seats the
/// failed claim itself marked, still inside this transaction, are not taken). If none is
/// taken any more, a concurrent release freed them: try again.
async fn diagnose(
    tx: &mut Tx,
    request: &HoldRequest,
    ids: &[String],
    now_ms: i64,
) -> Result<Attempt, StoreError> {
    let sql = format!(
        "SELECT seat_id, CAST(CASE WHEN sold = 0 AND (hold_id = $3 \
         OR hold_expires_at_ms <= $2) THEN 1 ELSE 0 END AS BIGINT) AS free \
         FROM inv_seats WHERE event_id = $1 AND seat_id IN ({})",
        placeholders(4, ids.len())
    );
    let mut query = sqlx::query(&sql)
        .bind(&request.event_id)
        .bind(now_ms)
        .bind(&request.hold_id);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *tx).await?;
    let mut known = BTreeSet::new();
    let mut taken = Vec::new();
    for row in &rows {
        let id: String = row.try_get("seat_id")?;
        if row.try_get::<i64, _>("free")? == 0 {
            taken.push(id.clone());
        }
        known.insert(id);
    }
    if rows.is_empty() && !event_exists(tx, &request.event_id).await? {
        return Err(StoreError::EventNotFound);
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

/// How a best-available allocation scans.
#[derive(Clone)]
struct Scan {
    engine: Engine,
    hints: ScanHints,
    /// PostgreSQL: wait for other allocators' locks instead of skipping the seats.
    wait_for_locks: bool,
}

async fn hold_best(
    tx: &mut Tx,
    scan: &Scan,
    request: &HoldRequest,
    (quantity, section_id): (u32, Option<&str>),
    now_ms: i64,
) -> Result<Attempt, StoreError> {
    if let Some(section_id) = section_id {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM inv_sections WHERE event_id = $1 AND section_id = $2",
        )
        .bind(&request.event_id)
        .bind(section_id)
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Ok(unavailable(Unavailability::UnknownSection, Vec::new()));
        }
    }
    let section = section_id.unwrap_or("");
    let event = request.event_id.as_str();
    let (locking, hinted) = match (scan.engine, scan.wait_for_locks) {
        (Engine::Postgres, true) => (Locking::Wait, START),
        (engine, _) => (
            Locking::of(engine),
            scan.hints.start(event, section, quantity),
        ),
    };
    let (mut found, mut first_free) =
        allocate(tx, locking, event, quantity, section, hinted, now_ms).await?;
    if hinted != START && !found.as_ref().is_some_and(|found| found.is_adjacent()) {
        // The hint may have skipped seats given back since, and a split must take the
        // front-most seats: look from the front.
        (found, first_free) =
            allocate(tx, locking, event, quantity, section, START, now_ms).await?;
    }
    if locking == Locking::Skip && !found.as_ref().is_some_and(|found| found.is_adjacent()) {
        // The seats skipped are merely locked by other allocators' scans, which claim a few
        // of them at most: they are still free. A split (or "not enough") is only the answer
        // if it is one counting them; otherwise wait for those locks and look again.
        let (counting_locked, _) =
            allocate(tx, Locking::Peek, event, quantity, section, START, now_ms).await?;
        let decided = match (&found, &counting_locked) {
            (_, Some(everything)) if everything.is_adjacent() => false,
            (None, Some(_)) => false,
            // No block anywhere: this split stands (its seats are locked by this
            // transaction); or too few seats even counting the locked ones.
            _ => true,
        };
        if !decided {
            return Ok(Attempt::Contended);
        }
    }
    let block_row = found
        .as_ref()
        .filter(|found| found.is_adjacent())
        .and_then(|found| found.seats().first())
        .map(|seat| (i64::from(seat.section_rank), i64::from(seat.row)));
    scan.hints
        .record((event, section, quantity), first_free, block_row);
    let Some(allocation) = found else {
        // Only now, on the rare path, tell an unknown event from a sold-out one (SQLite
        // took no event lock that would have told already).
        if !event_exists(tx, &request.event_id).await? {
            return Err(StoreError::EventNotFound);
        }
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
    if !allocation.is_adjacent() {
        sqlx::query("UPDATE inv_holds SET adjacent = 0 WHERE hold_id = $1")
            .bind(&request.hold_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(held(
        allocation.seats().to_vec(),
        allocation.is_adjacent(),
        request.expires_at_ms,
    ))
}

/// How an allocation pass locks the free seats it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locking {
    /// SQLite: one writer at a time, no row locks.
    None,
    /// PostgreSQL, first pass: lock, skipping seats other allocators hold locked.
    Skip,
    /// PostgreSQL, second pass: lock, waiting for other allocators.
    Wait,
    /// PostgreSQL, checking a first pass that found no adjacent block: read every free
    /// seat, locked by others or not, and lock nothing (the answer is only compared).
    Peek,
}

impl Locking {
    fn of(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => Self::None,
            Engine::Postgres => Self::Skip,
        }
    }
}

/// Streams the free seats in preference order, a page at a time, into the allocator.
///
/// On PostgreSQL each page is locked `FOR UPDATE SKIP LOCKED`: concurrent allocators lock
/// and see disjoint free seats, so none waits for another and the claim that follows cannot
/// lose a race (under a rush two buyers may thus get the second-best block rather than
/// queue for the best). Smaller pages there keep fewer seats locked at once. Seats skipped
/// that way are still free, so a pass that finds no adjacent block is checked by one that
/// counts them ([`Locking::Peek`]) before its split or "not enough" is believed. SQLite runs
/// one writer at a time, so it needs no locks.
/// Returns the allocation, if any, and the first free seat seen (for the next scan's hint).
async fn allocate(
    tx: &mut Tx,
    locking: Locking,
    event_id: &str,
    quantity: u32,
    section_id: &str,
    start: SeatKey,
    now_ms: i64,
) -> Result<ScanResult, StoreError> {
    let page_of = PageOf {
        event_id,
        section_id,
        now_ms,
    };
    let scan = ScanState::new(quantity, start);
    let (locking, pages) = match locking {
        Locking::Skip => (" FOR UPDATE SKIP LOCKED", LOCKED_PAGES),
        Locking::Wait => (" FOR UPDATE", LOCKED_PAGES),
        Locking::Peek => ("", PEEK_PAGES),
        Locking::None => return allocate_by_rows(tx, &page_of, scan).await,
    };
    allocate_by_seats(tx, &page_of, scan, locking, pages).await
}

/// Page sizes of a PostgreSQL scan: the first page (at least the party's size), and the
/// largest page.
#[derive(Debug, Clone, Copy)]
struct Pages {
    first: i64,
    max: i64,
}

/// Locking scans: every seat read is locked, so pages start at the party's size.
const LOCKED_PAGES: Pages = Pages {
    first: 1,
    max: PG_PAGE,
};
/// A scan that locks nothing reads in big pages.
const PEEK_PAGES: Pages = Pages {
    first: PG_PAGE,
    max: PG_PEEK_PAGE,
};

/// PostgreSQL's scan: free seats one result row each, locked as they are read (unless
/// peeking), in pages growing from the party's size to [`PG_PAGE`] (bigger when peeking).
///
/// Every seat read is locked (a row lock is a write, logged), and under a rush most scans
/// find their block in the first free seats past other allocators' locks: a first page of
/// just the party's size measured best (20.6 seats locked per hold against 45.1 with a
/// first page of 16; BENCHMARKS.md finding 10).
async fn allocate_by_seats(
    tx: &mut Tx,
    page_of: &PageOf<'_>,
    mut scan: ScanState,
    locking: &str,
    pages: Pages,
) -> Result<ScanResult, StoreError> {
    let mut page = i64::from(scan.allocator.quantity())
        .max(pages.first)
        .clamp(1, pages.max);
    let sql = format!(
        "SELECT {SEAT_COLUMNS} FROM inv_seats WHERE {} \
         ORDER BY section_rank, row_no, seat_no LIMIT $7{locking}",
        PageOf::filter_sql()
    );
    loop {
        let rows = page_of.fetch(tx, &sql, scan.after, page).await?;
        for row in &rows {
            if scan.feed(unit_from_row(row)?) {
                return Ok(scan.finish());
            }
        }
        if (rows.len() as i64) < page {
            return Ok(scan.finish());
        }
        page = (page * 4).min(pages.max);
    }
}

/// An allocation, if any, and the first free seat the scan saw.
type ScanResult = (Option<breakwater_ticketing::Allocation>, Option<SeatKey>);

/// A best-available scan in progress: the allocator, where the next page starts, and the
/// first free seat seen (for the next scan's hint).
struct ScanState {
    allocator: Allocator,
    after: SeatKey,
    first_free: Option<SeatKey>,
}

impl ScanState {
    fn new(quantity: u32, start: SeatKey) -> Self {
        Self {
            allocator: Allocator::new(quantity),
            after: start,
            first_free: None,
        }
    }

    /// Feeds the next free seat; `true` once the allocator needs no more.
    fn feed(&mut self, seat: Unit) -> bool {
        self.after = (
            i64::from(seat.section_rank),
            i64::from(seat.row),
            i64::from(seat.number),
        );
        self.first_free.get_or_insert(self.after);
        self.allocator.push(seat)
    }

    fn finish(self) -> ScanResult {
        (self.allocator.finish(), self.first_free)
    }
}

/// What every page query of a scan binds: `$1` event, `$2` section filter, `$3` now,
/// `$4..$6` the key to continue after, `$7` the page size.
struct PageOf<'a> {
    event_id: &'a str,
    section_id: &'a str,
    now_ms: i64,
}

impl PageOf<'_> {
    /// The condition every page query filters on: free seats of the event (and section)
    /// after the given key.
    fn filter_sql() -> String {
        format!(
            "event_id = $1 AND ($2 = '' OR section_id = $2) AND {} \
             AND (section_rank, row_no, seat_no) > ($4, $5, $6)",
            free_seat("$3")
        )
    }

    async fn fetch(
        &self,
        tx: &mut Tx,
        sql: &str,
        after: SeatKey,
        limit: i64,
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        Ok(sqlx::query(sql)
            .bind(self.event_id)
            .bind(self.section_id)
            .bind(self.now_ms)
            .bind(after.0)
            .bind(after.1)
            .bind(after.2)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?)
    }
}

/// Venue rows read by the first query of [`allocate_by_rows`]: the hinted row usually
/// holds the block, and every further row read costs the writer ~40 µs.
const FIRST_ROWS_PAGE: i64 = 1;
/// Venue rows read per query by [`allocate_by_rows`] at most.
const ROWS_PAGE: i64 = 8;

/// SQLite's scan: the free seats come grouped, one result row per venue row (its free
/// seat numbers and ids concatenated), in preference order.
///
/// The SQLite driver hands rows over from its worker thread one at a time, a few µs
/// each; a best-available pick must see the whole front row, so reading seats one row
/// each cost ~0.8 ms per hold while holding the writer. One row per venue row makes it a
/// handful.
async fn allocate_by_rows(
    tx: &mut Tx,
    page_of: &PageOf<'_>,
    mut scan: ScanState,
) -> Result<ScanResult, StoreError> {
    let sql = format!(
        "SELECT section_rank, row_no, MIN(section_id) AS section_id, \
         MIN(row_length) AS row_length, MIN(price_cents) AS price_cents, \
         group_concat(seat_no) AS seat_nos, group_concat(seat_id) AS seat_ids \
         FROM inv_seats WHERE {} \
         GROUP BY section_rank, row_no ORDER BY section_rank, row_no LIMIT $7",
        PageOf::filter_sql()
    );
    let mut page = FIRST_ROWS_PAGE.min(ROWS_PAGE);
    loop {
        let rows = page_of.fetch(tx, &sql, scan.after, page).await?;
        for row in &rows {
            for seat in seats_of_row(row)? {
                if scan.feed(seat) {
                    return Ok(scan.finish());
                }
            }
        }
        if (rows.len() as i64) < page {
            return Ok(scan.finish());
        }
        page = (page * 4).min(ROWS_PAGE);
    }
}

/// One grouped venue row as its free seats, in seat order.
fn seats_of_row(row: &sqlx::any::AnyRow) -> Result<Vec<Unit>, StoreError> {
    let corrupt = || StoreError::Invalid("unreadable grouped seat row".into());
    let section_rank: i64 = row.try_get("section_rank")?;
    let row_no: i64 = row.try_get("row_no")?;
    let section_id: String = row.try_get("section_id")?;
    let row_length: i64 = row.try_get("row_length")?;
    let price_cents: i64 = row.try_get("price_cents")?;
    let numbers: String = row.try_get("seat_nos")?;
    let ids: String = row.try_get("seat_ids")?;
    let mut seats = numbers
        .split(',')
        .zip(ids.split(','))
        .map(|(number, id)| {
            let number: u32 = number.parse().map_err(|_| corrupt())?;
            Ok(Unit {
                seat_id: id.to_owned(),
                section_id: section_id.clone(),
                section_rank: u32::try_from(section_rank).map_err(|_| corrupt())?,
                row: u32::try_from(row_no).map_err(|_| corrupt())?,
                number,
                row_length: u32::try_from(row_length).map_err(|_| corrupt())?,
                price_cents,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // group_concat keeps the scan's (index) order in practice, but that is not promised.
    seats.sort_by_key(|seat| seat.number);
    Ok(seats)
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
         AND (hold_id = $1 OR hold_expires_at_ms <= $4) \
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
    let claimed = query.execute(&mut *tx).await?.rows_affected();
    Ok(claimed == ids.len() as u64)
}

/// Records the hold first thing (rolled back with everything else if no seats are
/// claimed); `false` when the id was seen before, and the caller answers from that.
async fn record_hold(tx: &mut Tx, request: &HoldRequest, now_ms: i64) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO inv_holds (hold_id, event_id, state, expires_at_ms, adjacent, created_at_ms) \
         VALUES ($1, $2, 'held', $3, 1, $4) ON CONFLICT (hold_id) DO NOTHING",
    )
    .bind(&request.hold_id)
    .bind(&request.event_id)
    .bind(request.expires_at_ms)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
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
