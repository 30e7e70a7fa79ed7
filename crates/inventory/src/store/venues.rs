//! Venues: creating an event's seats, the live seat map and the sales counts.

use std::collections::HashMap;

use breakwater_ticketing::{Layout, Venue, VenueSpec};
use sqlx::{Any, Row, Transaction};

use super::{
    InventoryStore, PutVenueOutcome, RowView, Sales, SeatStatus, SeatView, SectionView, to_u32,
    to_u64,
};
use crate::db::Engine;
use crate::error::StoreError;
use crate::sql::placeholders;

/// Seats inserted per statement (8 parameters each, well under both engines' limits).
const INSERT_BATCH: usize = 500;

impl InventoryStore {
    /// Creates the event's venue, or checks it is unchanged, or replaces it while nothing
    /// was ever held.
    pub async fn put_venue(
        &self,
        event_id: &str,
        spec: &VenueSpec,
        now_ms: i64,
    ) -> Result<PutVenueOutcome, StoreError> {
        let venue = spec
            .validate()
            .map_err(|error| StoreError::Invalid(error.to_string()))?;
        let canonical =
            serde_json::to_string(spec).map_err(|error| StoreError::Invalid(error.to_string()))?;
        let mut tx = self.db.write.begin().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT venue FROM inv_events WHERE event_id = $1")
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?;
        let outcome = match existing {
            Some(stored) if stored == canonical => return Ok(PutVenueOutcome::Unchanged),
            Some(_) => {
                replace_unused_venue(&mut tx, event_id, &canonical).await?;
                PutVenueOutcome::Replaced
            }
            None => {
                sqlx::query(
                    "INSERT INTO inv_events (event_id, venue, created_at_ms) VALUES ($1, $2, $3)",
                )
                .bind(event_id)
                .bind(&canonical)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                PutVenueOutcome::Created
            }
        };
        insert_sections(&mut tx, event_id, &venue).await?;
        insert_seats(&mut tx, event_id, &venue).await?;
        tx.commit().await?;
        if self.db.engine == Engine::Postgres {
            // A venue is a bulk load. Until statistics cover it, PostgreSQL's planner may
            // claim seats through the free-seat scan index rather than the primary key,
            // reading every seat of the event per hold (measured: ~6,700 index entries per
            // claim, holds/s falling as the venue fills). Autovacuum would analyse a minute
            // later, in the middle of the rush.
            sqlx::query("ANALYZE inv_seats")
                .execute(&self.db.write)
                .await?;
        }
        Ok(outcome)
    }

    /// The event's seat map with live availability at `now_ms`.
    pub async fn seat_map(
        &self,
        event_id: &str,
        now_ms: i64,
    ) -> Result<Vec<SectionView>, StoreError> {
        let mut sections = self.sections(event_id).await?;
        if sections.is_empty() {
            return Err(StoreError::EventNotFound);
        }
        let rows = sqlx::query(
            "SELECT section_id, row_no, seat_no, seat_id, \
             CAST(CASE WHEN sold = 1 THEN 2 \
                       WHEN hold_id IS NOT NULL AND hold_expires_at_ms > $2 THEN 1 \
                       ELSE 0 END AS BIGINT) AS status \
             FROM inv_seats WHERE event_id = $1 \
             ORDER BY section_rank, row_no, seat_no",
        )
        .bind(event_id)
        .bind(now_ms)
        .fetch_all(&self.db.read)
        .await?;
        let index: HashMap<String, usize> = sections
            .iter()
            .enumerate()
            .map(|(i, section)| (section.id.clone(), i))
            .collect();
        for row in &rows {
            let section_id: String = row.try_get("section_id")?;
            let Some(section) = index.get(&section_id).map(|&i| &mut sections[i]) else {
                continue;
            };
            let status = match row.try_get::<i64, _>("status")? {
                2 => SeatStatus::Sold,
                1 => SeatStatus::Held,
                _ => SeatStatus::Available,
            };
            if status == SeatStatus::Available {
                section.available += 1;
            }
            if section.general_admission {
                continue;
            }
            let row_no = to_u32(row.try_get("row_no")?);
            let row_id = format!("{section_id}-r{row_no}");
            if section.rows.last().is_none_or(|last| last.id != row_id) {
                section.rows.push(RowView {
                    id: row_id,
                    seats: Vec::new(),
                });
            }
            if let Some(current) = section.rows.last_mut() {
                current.seats.push(SeatView {
                    id: row.try_get("seat_id")?,
                    number: to_u32(row.try_get("seat_no")?),
                    status,
                });
            }
        }
        Ok(sections)
    }

    /// The event's tickets counted by status at `now_ms`.
    pub async fn sales(&self, event_id: &str, now_ms: i64) -> Result<Sales, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total, \
             CAST(COALESCE(SUM(CASE WHEN sold = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS sold, \
             CAST(COALESCE(SUM(CASE WHEN sold = 0 AND hold_id IS NOT NULL \
                  AND hold_expires_at_ms > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS held \
             FROM inv_seats WHERE event_id = $1",
        )
        .bind(event_id)
        .bind(now_ms)
        .fetch_one(&self.db.read)
        .await?;
        let seats_total = to_u64(row.try_get("total")?);
        if seats_total == 0 {
            return Err(StoreError::EventNotFound);
        }
        let sold = to_u64(row.try_get("sold")?);
        let held = to_u64(row.try_get("held")?);
        Ok(Sales {
            seats_total,
            available: seats_total.saturating_sub(sold + held),
            held,
            sold,
        })
    }

    async fn sections(&self, event_id: &str) -> Result<Vec<SectionView>, StoreError> {
        let rows = sqlx::query(
            "SELECT section_id, name, price_cents, rows_count, capacity FROM inv_sections \
             WHERE event_id = $1 ORDER BY position_no",
        )
        .bind(event_id)
        .fetch_all(&self.db.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SectionView {
                    id: row.try_get("section_id")?,
                    name: row.try_get("name")?,
                    price_cents: row.try_get("price_cents")?,
                    general_admission: row.try_get::<i64, _>("rows_count")? == 0,
                    rows: Vec::new(),
                    available: 0,
                    capacity: to_u64(row.try_get("capacity")?),
                })
            })
            .collect()
    }
}

/// Drops the old seats and sections, refusing once anything was ever held.
async fn replace_unused_venue(
    tx: &mut Transaction<'static, Any>,
    event_id: &str,
    canonical: &str,
) -> Result<(), StoreError> {
    let holds: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM inv_holds WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&mut **tx)
            .await?;
    if holds > 0 {
        return Err(StoreError::VenueLocked);
    }
    for table in ["inv_seats", "inv_sections"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE event_id = $1"))
            .bind(event_id)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("UPDATE inv_events SET venue = $2 WHERE event_id = $1")
        .bind(event_id)
        .bind(canonical)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_sections(
    tx: &mut Transaction<'static, Any>,
    event_id: &str,
    venue: &Venue,
) -> Result<(), StoreError> {
    for section in &venue.sections {
        let (rows, seats_per_row) = match section.layout {
            Layout::Seated {
                rows,
                seats_per_row,
            } => (rows, seats_per_row),
            Layout::GeneralAdmission { .. } => (0, 0),
        };
        sqlx::query(
            "INSERT INTO inv_sections (event_id, section_id, position_no, section_rank, name, \
             price_cents, rows_count, seats_per_row, capacity) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(event_id)
        .bind(&section.id)
        .bind(i64::from(section.index))
        .bind(i64::from(section.rank))
        .bind(&section.name)
        .bind(section.price_cents)
        .bind(i64::from(rows))
        .bind(i64::from(seats_per_row))
        .bind(i64::try_from(section.layout.units()).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_seats(
    tx: &mut Transaction<'static, Any>,
    event_id: &str,
    venue: &Venue,
) -> Result<(), StoreError> {
    let units: Vec<_> = venue.units().collect();
    for batch in units.chunks(INSERT_BATCH) {
        let values: Vec<String> = (0..batch.len())
            .map(|i| format!("({})", placeholders(i * 8 + 1, 8)))
            .collect();
        let sql = format!(
            "INSERT INTO inv_seats (event_id, seat_id, section_id, section_rank, row_no, seat_no, \
             row_length, price_cents) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for unit in batch {
            query = query
                .bind(event_id)
                .bind(&unit.seat_id)
                .bind(&unit.section_id)
                .bind(i64::from(unit.section_rank))
                .bind(i64::from(unit.row))
                .bind(i64::from(unit.number))
                .bind(i64::from(unit.row_length))
                .bind(unit.price_cents);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
