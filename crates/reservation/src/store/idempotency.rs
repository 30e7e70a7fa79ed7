//! Idempotency keys: claimed inside the transaction that makes the first change, completed
//! with the first final answer.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::{Buyer, ReservationStore, StoreError};

/// An answer kept for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: serde_json::Value,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First use: the key now names `resource_id`.
    New,
    /// Used before with another request.
    Mismatch,
    /// Used before and answered: replay this.
    Replay(StoredResponse),
    /// Used before, not answered yet (in flight, or the process died): resume the resource.
    Resume(String),
}

/// Claims `key` for `request` (operation and canonical body) naming `resource_id`.
pub(super) async fn claim(
    tx: &mut Transaction<'static, Any>,
    buyer: &Buyer,
    key: &str,
    request: &str,
    resource_id: &str,
    now_ms: i64,
) -> Result<Claim, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO res_idempotency (event_id, buyer, idem_key, request, resource_id, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, buyer, idem_key) DO NOTHING",
    )
    .bind(&buyer.event)
    .bind(&buyer.id)
    .bind(key)
    .bind(request)
    .bind(resource_id)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let row = sqlx::query(
        "SELECT request, resource_id, status_code, response FROM res_idempotency \
         WHERE event_id = $1 AND buyer = $2 AND idem_key = $3",
    )
    .bind(&buyer.event)
    .bind(&buyer.id)
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    seen(&row, request)
}

/// What an existing key's row (columns `request, resource_id, status_code, response`)
/// means for a request with canonical text `request`.
pub(super) fn seen(row: &AnyRow, request: &str) -> Result<Claim, StoreError> {
    let stored_request: String = row.try_get("request")?;
    if stored_request != request {
        return Ok(Claim::Mismatch);
    }
    let status: Option<i64> = row.try_get("status_code")?;
    let response: Option<String> = row.try_get("response")?;
    match (status, response) {
        (Some(status), Some(body)) => Ok(Claim::Replay(StoredResponse {
            status: u16::try_from(status).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            body: serde_json::from_str(&body)?,
        })),
        _ => Ok(Claim::Resume(row.try_get("resource_id")?)),
    }
}

impl ReservationStore {
    /// Records the first final answer for `key`; if another answer got there first, that
    /// one is returned (and is what the caller must send).
    pub async fn complete_request(
        &self,
        buyer: &Buyer,
        key: &str,
        response: StoredResponse,
    ) -> Result<StoredResponse, StoreError> {
        let mut connection = self.db.write.acquire().await?;
        complete_on(&mut connection, buyer, key, response).await
    }
}

/// [`ReservationStore::complete_request`] on a given connection or transaction.
pub(super) async fn complete_on(
    connection: &mut AnyConnection,
    buyer: &Buyer,
    key: &str,
    response: StoredResponse,
) -> Result<StoredResponse, StoreError> {
    let updated = sqlx::query(
        "UPDATE res_idempotency SET status_code = $4, response = $5 \
         WHERE event_id = $1 AND buyer = $2 AND idem_key = $3 AND status_code IS NULL",
    )
    .bind(&buyer.event)
    .bind(&buyer.id)
    .bind(key)
    .bind(i64::from(response.status))
    .bind(response.body.to_string())
    .execute(&mut *connection)
    .await?
    .rows_affected();
    if updated == 1 {
        return Ok(response);
    }
    let row = sqlx::query(
        "SELECT status_code, response FROM res_idempotency \
         WHERE event_id = $1 AND buyer = $2 AND idem_key = $3",
    )
    .bind(&buyer.event)
    .bind(&buyer.id)
    .bind(key)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(response);
    };
    let status: Option<i64> = row.try_get("status_code")?;
    let body: Option<String> = row.try_get("response")?;
    match (status, body) {
        (Some(status), Some(body)) => Ok(StoredResponse {
            status: u16::try_from(status).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            body: serde_json::from_str(&body)?,
        }),
        _ => Ok(response),
    }
}
