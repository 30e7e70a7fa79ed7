//! Inventory's typed errors.

/// Why an inventory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No event with that id has a venue.
    #[error("event not found")]
    EventNotFound,
    /// The venue differs and something was already held or sold, so it cannot change.
    #[error("the venue cannot change once seats were held or sold")]
    VenueLocked,
    /// Commit of a hold that is not pinned (expired, released or unknown).
    #[error("hold {0} is not pinned")]
    NotPinned(String),
    /// Release of a hold whose seats are sold.
    #[error("hold {0} is sold and cannot be released")]
    AlreadySold(String),
    /// A plain release of a hold its checkout has pinned: only that checkout may give it
    /// back (`release_after_checkout`).
    #[error("hold {0} is pinned by its checkout; only the checkout may release it")]
    Pinned(String),
    /// A request that makes no sense (validated before touching the database).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The hold kept losing races to concurrent holds (or waiting on their locks) until
    /// its time was up. Nothing was held; trying again later may succeed.
    #[error("too much contention, retry")]
    Contended,
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A grouped write did not take effect (see `breakwater_sqldb::GroupWriter`).
    #[error("database: {0}")]
    Batch(#[from] breakwater_sqldb::GroupError),
}

impl StoreError {
    /// Whether retrying the whole transaction may succeed (PostgreSQL deadlock,
    /// serialization failure or lock wait timeout, SQLite busy, an aborted write batch).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Batch(breakwater_sqldb::GroupError::Aborted(_)))
            || self.has_code(&["40001", "40P01", "55P03", "5", "6"])
    }

    /// Whether a PostgreSQL lock wait ran past `lock_timeout`.
    pub fn is_lock_timeout(&self) -> bool {
        self.has_code(&["55P03"])
    }

    fn has_code(&self, codes: &[&str]) -> bool {
        let Self::Database(error) = self else {
            return false;
        };
        error
            .as_database_error()
            .and_then(|error| error.code())
            .is_some_and(|code| codes.contains(&&*code))
    }
}
