//! The inventory service's configuration.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Settings of `breakwater inventory` (and of the inventory inside `serve`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the gRPC server listens.
    pub listen: SocketAddr,
    /// `sqlite://PATH?mode=rwc` (embedded) or `postgres://…` (scale-out).
    pub database_url: String,
    /// Most database connections (readers, for SQLite).
    pub max_connections: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: "sqlite://inventory.db?mode=rwc".to_owned(),
            max_connections: 8,
        }
    }
}

/// A configuration value that cannot work; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` {reason}")]
pub struct ConfigError {
    /// The offending key.
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl Config {
    /// Checks the values before anything is started.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if crate::db::Engine::of_url(&self.database_url).is_none() {
            return Err(ConfigError {
                key: "database_url",
                reason: "must start with sqlite: or postgres://".into(),
            });
        }
        if !(1..=256).contains(&self.max_connections) {
            return Err(ConfigError {
                key: "max_connections",
                reason: "must be between 1 and 256".into(),
            });
        }
        Ok(())
    }
}
