//! Payment intents: one per idempotency key, moving from processing to captured or declined,
//! and from captured to refunded.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::clock::now_ms;
use crate::db::Database;

/// An intent's state.
pub use breakwater_ticketing::PaymentState as IntentState;

/// A payment intent as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The caller's idempotency key (reservation uses the order id).
    pub idempotency_key: String,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// Payment method string.
    pub method: String,
    /// Where it stands.
    pub state: IntentState,
    /// The provider's capture id (captured intents).
    pub provider_reference: String,
    /// Why it was declined (declined intents).
    pub decline_reason: String,
    /// The provider's id of the refund (refunded intents).
    pub refund_reference: String,
    /// Why it was refunded (refunded intents).
    pub refund_reason: String,
}

impl Intent {
    /// A new intent to capture: processing, nothing settled yet.
    pub fn new(key: &str, amount_cents: i64, currency: &str, method: &str) -> Self {
        Self {
            idempotency_key: key.to_owned(),
            amount_cents,
            currency: currency.to_owned(),
            method: method.to_owned(),
            state: IntentState::Processing,
            provider_reference: String::new(),
            decline_reason: String::new(),
            refund_reference: String::new(),
            refund_reason: String::new(),
        }
    }
}

/// Why a payment store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PaymentStoreError {
    /// The key was used before for a different amount, currency or method.
    #[error("idempotency key reused with a different amount, currency or method")]
    KeyReused,
    /// The database failed or holds something unreadable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The payment database.
#[derive(Debug, Clone)]
pub struct PaymentStore {
    db: Database,
}

const COLUMNS: &str = "idempotency_key, amount_cents, currency, method, state, \
                       provider_reference, decline_reason, refund_reference, refund_reason";

impl PaymentStore {
    /// Opens (and migrates) the payment database at `url`.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, PaymentStoreError> {
        let db = Database::open(url, max_connections, sqlx::migrate!("./migrations")).await?;
        Ok(Self { db })
    }

    /// The underlying database (the sandbox keeps its ledger there).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Records a new processing intent for the key, or returns the existing one (which
    /// must match).
    pub async fn create_or_get(&self, request: &Intent) -> Result<Intent, PaymentStoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO pay_intents (idempotency_key, amount_cents, currency, method, state, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, 'processing', $5, $5) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&request.idempotency_key)
        .bind(request.amount_cents)
        .bind(&request.currency)
        .bind(&request.method)
        .bind(now)
        .execute(&self.db.write)
        .await?;
        let stored = self
            .get(&request.idempotency_key)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        let same = stored.amount_cents == request.amount_cents
            && stored.currency == request.currency
            && stored.method == request.method;
        if !same {
            return Err(PaymentStoreError::KeyReused);
        }
        Ok(stored)
    }

    /// The intent for `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Intent>, PaymentStoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM pay_intents WHERE idempotency_key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.db.write)
        .await?;
        row.as_ref().map(intent_from_row).transpose()
    }

    /// Moves a processing intent to its final state; an intent already final keeps its
    /// state (the first final answer wins). Returns the stored intent.
    pub async fn settle(
        &self,
        key: &str,
        state: IntentState,
        provider_reference: &str,
        decline_reason: &str,
    ) -> Result<Intent, PaymentStoreError> {
        sqlx::query(
            "UPDATE pay_intents SET state = $2, provider_reference = $3, decline_reason = $4, \
             updated_at_ms = $5 WHERE idempotency_key = $1 AND state = 'processing'",
        )
        .bind(key)
        .bind(state.as_str())
        .bind(provider_reference)
        .bind(decline_reason)
        .bind(now_ms())
        .execute(&self.db.write)
        .await?;
        self.get(key)
            .await?
            .ok_or(PaymentStoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Moves a captured intent to refunded, recording the provider's refund id and why;
    /// an intent already refunded keeps its first refund. Returns the stored intent (the
    /// caller checks its state: only a captured or refunded intent ends refunded).
    pub async fn mark_refunded(
        &self,
        key: &str,
        refund_reference: &str,
        reason: &str,
    ) -> Result<Option<Intent>, PaymentStoreError> {
        sqlx::query(
            "UPDATE pay_intents SET state = 'refunded', refund_reference = $2, \
             refund_reason = $3, updated_at_ms = $4 \
             WHERE idempotency_key = $1 AND state = 'captured'",
        )
        .bind(key)
        .bind(refund_reference)
        .bind(reason)
        .bind(now_ms())
        .execute(&self.db.write)
        .await?;
        self.get(key).await
    }

    /// Every intent, for audits.
    pub async fn list(&self) -> Result<Vec<Intent>, PaymentStoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM pay_intents ORDER BY idempotency_key"
        ))
        .fetch_all(&self.db.read)
        .await?;
        rows.iter().map(intent_from_row).collect()
    }
}

fn intent_from_row(row: &AnyRow) -> Result<Intent, PaymentStoreError> {
    let state: String = row.try_get("state")?;
    Ok(Intent {
        idempotency_key: row.try_get("idempotency_key")?,
        amount_cents: row.try_get("amount_cents")?,
        currency: row.try_get("currency")?,
        method: row.try_get("method")?,
        state: IntentState::parse(&state).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        provider_reference: row.try_get("provider_reference")?,
        decline_reason: row.try_get("decline_reason")?,
        refund_reference: row.try_get("refund_reference")?,
        refund_reason: row.try_get("refund_reason")?,
    })
}
