//! The line as the gateway's admin API reports it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::http::{Call, Pool};

/// One reading of `GET /admin/v1/events/{id}/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LineSample {
    /// Buyers waiting.
    #[serde(default)]
    pub waiting: u64,
    /// Buyers admitted whose claim window is open.
    #[serde(default)]
    pub ready: u64,
    /// Buyers inside.
    #[serde(default)]
    pub entered: u64,
    /// Buyers ever admitted.
    #[serde(default)]
    pub admitted_total: u64,
}

/// Reads an event's statistics through the admin API.
#[derive(Clone)]
pub struct LineProbe {
    pool: Arc<Pool>,
    call: Call,
}

impl LineProbe {
    /// A probe of `event` on the gateway behind `pool`.
    pub fn new(pool: Arc<Pool>, event: &str, admin_key: &str) -> Self {
        let call =
            Call::get(format!("/admin/v1/events/{event}/stats")).bearer(Arc::from(admin_key));
        Self { pool, call }
    }

    /// One reading.
    pub async fn read(&self) -> anyhow::Result<LineSample> {
        let reply = self.pool.send(&self.call).await?;
        anyhow::ensure!(reply.status == 200, "stats answered {}", reply.status);
        Ok(serde_json::from_slice(&reply.body)?)
    }
}
