//! Events' sale settings: name, currency, ticket limit, hold duration and venue.

use breakwater_ticketing::VenueSpec;
use serde::Deserialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{ReservationStore, StoreError};

/// An event's sale settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSettings {
    /// Event id.
    pub event_id: String,
    /// Display name.
    pub name: String,
    /// ISO currency code of every price.
    pub currency: String,
    /// Most tickets one buyer may hold or have bought.
    pub ticket_limit_per_buyer: u32,
    /// How long a hold lasts.
    pub hold_seconds: u32,
    /// The venue as given.
    pub venue: VenueSpec,
    /// Tickets in the venue.
    pub seats_total: u64,
}

/// Settings an admin may change live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    /// New display name.
    pub name: Option<String>,
    /// New currency.
    pub currency: Option<String>,
    /// New ticket limit.
    pub ticket_limit_per_buyer: Option<u32>,
    /// New hold duration (applies to new holds).
    pub hold_seconds: Option<u32>,
}

/// What `put_event` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutEventOutcome {
    /// New event.
    Created,
    /// Same settings as stored.
    Unchanged,
    /// Settings replaced.
    Updated,
}

/// What `create_event` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateEventOutcome {
    /// New event.
    Created,
    /// The same event was already there (nothing changed).
    Identical,
    /// A different event has this id (nothing changed).
    Differs,
}

const COLUMNS: &str =
    "event_id, name, currency, ticket_limit_per_buyer, hold_seconds, venue, seats_total";

/// Inserts an event's settings: `$1` id, `$2` name, `$3` currency, `$4` ticket limit, `$5`
/// hold seconds, `$6` venue, `$7` seats, `$8` now (as [`bind_event`] binds them); callers
/// add the `ON CONFLICT` clause.
const INSERT_EVENT: &str = "INSERT INTO res_events (event_id, name, currency, \
     ticket_limit_per_buyer, hold_seconds, venue, seats_total, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";

fn bind_event<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    event: &'q EventSettings,
    venue: &'q str,
    now_ms: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&event.event_id)
        .bind(&event.name)
        .bind(&event.currency)
        .bind(i64::from(event.ticket_limit_per_buyer))
        .bind(i64::from(event.hold_seconds))
        .bind(venue)
        .bind(i64::try_from(event.seats_total).unwrap_or(i64::MAX))
        .bind(now_ms)
}

impl ReservationStore {
    /// The event's settings, if it exists.
    pub async fn event(&self, event_id: &str) -> Result<Option<EventSettings>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM res_events WHERE event_id = $1"
        ))
        .bind(event_id)
        .fetch_optional(&self.db.read)
        .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    /// Creates or replaces the event's settings.
    pub async fn put_event(
        &self,
        event: &EventSettings,
        now_ms: i64,
    ) -> Result<PutEventOutcome, StoreError> {
        let existing = self.event(&event.event_id).await?;
        if existing.as_ref() == Some(event) {
            return Ok(PutEventOutcome::Unchanged);
        }
        let venue = serde_json::to_string(&event.venue)?;
        let sql = format!(
            "{INSERT_EVENT} ON CONFLICT (event_id) DO UPDATE SET name = $2, currency = $3, \
             ticket_limit_per_buyer = $4, hold_seconds = $5, venue = $6, seats_total = $7, \
             updated_at_ms = $8"
        );
        bind_event(sqlx::query(&sql), event, &venue, now_ms)
            .execute(&self.db.write)
            .await?;
        Ok(match existing {
            Some(_) => PutEventOutcome::Updated,
            None => PutEventOutcome::Created,
        })
    }

    /// Creates the event's settings unless its id is taken; never changes an existing event.
    /// Concurrent creates of one id: exactly one creates, the others compare with it.
    pub async fn create_event(
        &self,
        event: &EventSettings,
        now_ms: i64,
    ) -> Result<CreateEventOutcome, StoreError> {
        let venue = serde_json::to_string(&event.venue)?;
        let sql = format!("{INSERT_EVENT} ON CONFLICT (event_id) DO NOTHING");
        let inserted = bind_event(sqlx::query(&sql), event, &venue, now_ms)
            .execute(&self.db.write)
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(CreateEventOutcome::Created);
        }
        // The conflicting row is committed (PostgreSQL waits for it; SQLite has one writer).
        Ok(match self.event(&event.event_id).await? {
            Some(existing) if existing == *event => CreateEventOutcome::Identical,
            _ => CreateEventOutcome::Differs,
        })
    }

    /// Undoes `create_event` of `event` at `created_at_ms` (its venue was refused), unless
    /// the event has changed since.
    pub async fn forget_created_event(
        &self,
        event: &EventSettings,
        created_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM res_events WHERE event_id = $1 AND created_at_ms = $2 \
             AND updated_at_ms = $2",
        )
        .bind(&event.event_id)
        .bind(created_at_ms)
        .execute(&self.db.write)
        .await?;
        Ok(())
    }

    /// Applies `patch` (already validated); `None` when the event does not exist.
    pub async fn patch_event(
        &self,
        event_id: &str,
        patch: &EventPatch,
        now_ms: i64,
    ) -> Result<Option<EventSettings>, StoreError> {
        let Some(mut event) = self.event(event_id).await? else {
            return Ok(None);
        };
        if let Some(name) = &patch.name {
            event.name.clone_from(name);
        }
        if let Some(currency) = &patch.currency {
            event.currency.clone_from(currency);
        }
        if let Some(limit) = patch.ticket_limit_per_buyer {
            event.ticket_limit_per_buyer = limit;
        }
        if let Some(seconds) = patch.hold_seconds {
            event.hold_seconds = seconds;
        }
        self.put_event(&event, now_ms).await?;
        Ok(Some(event))
    }
}

fn event_from_row(row: &AnyRow) -> Result<EventSettings, StoreError> {
    let venue: String = row.try_get("venue")?;
    let number = |column: &str| -> Result<u32, StoreError> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    Ok(EventSettings {
        event_id: row.try_get("event_id")?,
        name: row.try_get("name")?,
        currency: row.try_get("currency")?,
        ticket_limit_per_buyer: number("ticket_limit_per_buyer")?,
        hold_seconds: number("hold_seconds")?,
        venue: serde_json::from_str(&venue)?,
        seats_total: u64::try_from(row.try_get::<i64, _>("seats_total")?).unwrap_or(0),
    })
}
