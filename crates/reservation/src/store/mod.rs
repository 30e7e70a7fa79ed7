//! Reservation storage: events' sale settings, holds, orders (the saga's outbox) and
//! idempotency keys, in SQLite or PostgreSQL.

mod events;
mod holds;
mod idempotency;
mod orders;
mod placing;
mod sessions;

use serde::{Deserialize, Serialize};

use crate::db::Database;

pub use events::{CreateEventOutcome, EventPatch, EventSettings, PutEventOutcome};
pub use holds::{BeginHold, Cancel, HoldRecord, HoldResult, NewHold};
pub use idempotency::{Claim, StoredResponse};
pub use orders::{BeginCheckout, OrderRecord, SalesTotals};
pub use placing::{Precheck, Recorded, hold_id_for};
pub use sessions::SessionEnd;

/// Why a reservation store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back (a bug or a foreign writer).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A grouped write did not take effect (see `breakwater_sqldb::GroupWriter`).
    #[error("database: {0}")]
    Batch(#[from] breakwater_sqldb::GroupError),
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}

impl From<breakwater_ticketing::UnknownState> for StoreError {
    fn from(error: breakwater_ticketing::UnknownState) -> Self {
        Self::Corrupt(error.to_string())
    }
}

/// A buyer of one event, as their access token names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Buyer {
    /// The event the buyer was admitted to.
    pub event: String,
    /// Who they are within the event: their line's lineage and queue number
    /// (`AccessToken::buyer_id`), never the same for two buyers of one event.
    pub id: String,
}

impl Buyer {
    /// The buyer an access token names.
    pub fn of(access: &breakwater_tokens::AccessToken) -> Self {
        Self {
            event: access.event.clone(),
            id: access.buyer_id(),
        }
    }
}

/// One ticket of a hold or order, with its server-side price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatLine {
    /// Seat id.
    pub id: String,
    /// Section id.
    pub section_id: String,
    /// Row id (numbered seats).
    pub row_id: Option<String>,
    /// Seat number (numbered seats).
    pub number: Option<u32>,
    /// Price in minor units.
    pub price_cents: i64,
}

/// The reservation database.
#[derive(Debug, Clone)]
pub struct ReservationStore {
    db: Database,
    /// Group commit for recording holds, the hottest write.
    holds: breakwater_sqldb::GroupWriter,
}

impl ReservationStore {
    /// Opens (and migrates) the reservation database at `url`.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let db = Database::open(url, max_connections, sqlx::migrate!("./migrations")).await?;
        let holds = db.group_writer(None);
        Ok(Self { db, holds })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.db.read).await.is_ok()
    }
}
