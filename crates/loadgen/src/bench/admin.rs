//! The admin API calls benchmarks need: create and change events, read their stats.

use std::sync::Arc;

use http::Method;
use serde_json::Value;

use crate::http::{Call, Pool};
use crate::probe::{LineProbe, LineSample};

/// An admin client of one gateway.
#[derive(Clone)]
pub struct Admin {
    pool: Arc<Pool>,
    key: Arc<str>,
}

impl Admin {
    /// A client of the gateway behind `pool`.
    pub fn new(pool: Arc<Pool>, key: &str) -> Self {
        Self {
            pool,
            key: Arc::from(key),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut call = Call::new(method.clone(), path).bearer(self.key.clone());
        if let Some(body) = body {
            call = call.json(body);
        }
        let reply = self.pool.send(&call).await?;
        anyhow::ensure!(
            (200..300).contains(&reply.status),
            "{method} {path} answered {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        Ok(reply.json().unwrap_or(Value::Null))
    }

    /// `POST /admin/v1/events`.
    pub async fn create_event(&self, body: &Value) -> anyhow::Result<Value> {
        self.call(Method::POST, "/admin/v1/events", Some(body))
            .await
    }

    /// `PATCH /admin/v1/events/{id}`.
    pub async fn patch_event(&self, id: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(Method::PATCH, &format!("/admin/v1/events/{id}"), Some(body))
            .await
    }

    /// `GET /admin/v1/events/{id}/sales`.
    pub async fn sales(&self, id: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, &format!("/admin/v1/events/{id}/sales"), None)
            .await
    }

    /// `GET /admin/v1/events/{id}/stats`.
    pub async fn stats(&self, id: &str) -> anyhow::Result<LineSample> {
        self.line_probe(id).read().await
    }

    /// Waits until this gateway knows event `id` (gateways discover events created
    /// through another one within a second or so).
    pub async fn wait_for_event(&self, id: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let call = Call::get(format!("/api/v1/events/{id}"));
        loop {
            if self
                .pool
                .send(&call)
                .await
                .is_ok_and(|reply| reply.status == 200)
            {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the gateway never learned of event {id}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A probe of the event's line for the sampler.
    pub fn line_probe(&self, id: &str) -> LineProbe {
        LineProbe::new(self.pool.clone(), id, &self.key)
    }
}
