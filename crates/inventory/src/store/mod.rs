//! Inventory storage: venues, seats and holds in SQLite or PostgreSQL.

mod hints;
mod holds;
mod venues;

use breakwater_ticketing::Unit;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Database, Engine};
use crate::error::StoreError;

/// A hold's seats are pinned (kept from expiring) by moving their expiry to the end of time.
pub const PINNED_UNTIL_MS: i64 = i64::MAX;

/// The inventory's data, behind the operations the service offers.
#[derive(Debug, Clone)]
pub struct InventoryStore {
    db: Database,
    hints: hints::ScanHints,
    /// SQLite: group commit for holds, the hottest write. PostgreSQL runs each hold in a
    /// transaction of its own: allocators there work side by side, skipping each other's
    /// locked seats, and serialising them through one connection measured slower.
    holds: Option<breakwater_sqldb::GroupWriter>,
}

/// What `put_venue` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutVenueOutcome {
    /// The event is new.
    Created,
    /// The same venue was already there.
    Unchanged,
    /// A different venue replaced the old one (nothing had been held yet).
    Replaced,
}

/// Which seats a hold asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// These seats, all or nothing.
    Seats(Vec<String>),
    /// The best `quantity` seats, in `section_id` when given.
    Best {
        /// How many.
        quantity: u32,
        /// Restrict to this section.
        section_id: Option<String>,
    },
}

/// A hold request.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    /// The event.
    pub event_id: String,
    /// The caller's id for the hold; a retry with the same id holds nothing more.
    pub hold_id: String,
    /// Which seats.
    pub pick: Pick,
    /// When the hold lapses, Unix milliseconds.
    pub expires_at_ms: i64,
}

/// Why a hold could not be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailability {
    /// Some chosen seats are held or sold.
    Taken,
    /// Some chosen seat ids are not in the venue.
    UnknownSeats,
    /// Not enough free seats for best-available.
    NotEnough,
    /// The section named does not exist.
    UnknownSection,
}

/// The result of a hold request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    /// The seats are held.
    Held {
        /// The held seats with their prices.
        seats: Vec<Unit>,
        /// Whether they sit together (false: best-available split the party).
        adjacent: bool,
        /// When the hold lapses.
        expires_at_ms: i64,
    },
    /// Nothing was held.
    Unavailable {
        /// Why.
        reason: Unavailability,
        /// The seats concerned (chosen-seat requests).
        seat_ids: Vec<String>,
    },
}

/// A seat's live status on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatStatus {
    /// Free to hold.
    Available,
    /// In a live hold (anyone's).
    Held,
    /// Sold.
    Sold,
}

/// One seat on the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatView {
    /// Seat id.
    pub id: String,
    /// Number in the row.
    pub number: u32,
    /// Live status.
    pub status: SeatStatus,
}

/// One row on the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowView {
    /// Row id.
    pub id: String,
    /// Seats by number.
    pub seats: Vec<SeatView>,
}

/// One section on the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionView {
    /// Section id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ticket price in minor units.
    pub price_cents: i64,
    /// General admission: `available` and `capacity` tell the stock; `rows` is empty.
    pub general_admission: bool,
    /// Rows front first (numbered sections).
    pub rows: Vec<RowView>,
    /// Free tickets now.
    pub available: u64,
    /// Tickets in the section.
    pub capacity: u64,
}

/// An event's tickets by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sales {
    /// All tickets.
    pub seats_total: u64,
    /// Free now.
    pub available: u64,
    /// In live holds (pinned ones included).
    pub held: u64,
    /// Sold.
    pub sold: u64,
}

/// A sold seat, for audits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoldSeat {
    /// Seat id.
    pub seat_id: String,
    /// The hold it was sold through.
    pub hold_id: String,
}

impl InventoryStore {
    /// Opens (and migrates) the inventory database at `url`.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let db = Database::open(url, max_connections, sqlx::migrate!("./migrations")).await?;
        let holds = (db.engine == Engine::Sqlite).then(|| db.group_writer(None));
        Ok(Self {
            db,
            hints: hints::ScanHints::default(),
            holds,
        })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Every sold seat of `event_id` with its hold: the ground truth audits compare with.
    pub async fn sold_seats(&self, event_id: &str) -> Result<Vec<SoldSeat>, StoreError> {
        let rows = sqlx::query(
            "SELECT seat_id, hold_id FROM inv_seats WHERE event_id = $1 AND sold = 1 ORDER BY seat_id",
        )
        .bind(event_id)
        .fetch_all(&self.db.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SoldSeat {
                    seat_id: row.try_get("seat_id")?,
                    hold_id: row.try_get("hold_id")?,
                })
            })
            .collect()
    }
}

impl InventoryStore {
    /// Seats of `event_id` that break the inventory's invariants at `now_ms`: a sold seat
    /// whose hold is not `sold`, or a live-held seat whose hold is neither `held` nor
    /// `pinned`. Zero in every healthy database.
    pub async fn invariant_violations(
        &self,
        event_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM inv_seats s WHERE s.event_id = $1 AND ( \
               (s.sold = 1 AND NOT EXISTS (SELECT 1 FROM inv_holds h \
                  WHERE h.hold_id = s.hold_id AND h.state = 'sold')) \
               OR (s.sold = 0 AND s.hold_id IS NOT NULL AND s.hold_expires_at_ms > $2 \
                  AND NOT EXISTS (SELECT 1 FROM inv_holds h \
                  WHERE h.hold_id = s.hold_id AND h.state IN ('held', 'pinned'))))",
        )
        .bind(event_id)
        .bind(now_ms)
        .fetch_one(&self.db.read)
        .await?;
        Ok(to_u64(count))
    }
}

/// Reads a free/held seat row (the columns of `SEAT_COLUMNS`) into a `Unit`.
fn unit_from_row(row: &AnyRow) -> Result<Unit, sqlx::Error> {
    Ok(Unit {
        seat_id: row.try_get("seat_id")?,
        section_id: row.try_get("section_id")?,
        section_rank: to_u32(row.try_get("section_rank")?),
        row: to_u32(row.try_get("row_no")?),
        number: to_u32(row.try_get("seat_no")?),
        row_length: to_u32(row.try_get("row_length")?),
        price_cents: row.try_get("price_cents")?,
    })
}

/// The seat columns `unit_from_row` reads.
const SEAT_COLUMNS: &str =
    "seat_id, section_id, section_rank, row_no, seat_no, row_length, price_cents";

/// Stored sizes were validated as `u32` when written.
fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
