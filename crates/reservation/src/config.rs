//! The reservation service's configuration.

use std::net::SocketAddr;

use breakwater_secret::{Secret, how_to_set};
use serde::{Deserialize, Serialize};

/// Settings of `breakwater reservation` (and of the reservation inside `serve`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// `sqlite://PATH?mode=rwc` (embedded) or `postgres://…` (scale-out).
    pub database_url: String,
    /// Most database connections (readers, for SQLite).
    pub max_connections: u32,
    /// The inventory service's gRPC URL.
    pub inventory_url: String,
    /// The payment service's gRPC URL.
    pub payment_url: String,
    /// The secret access tokens are signed with (shared with the gateway).
    pub token_secret: Secret,
    /// The key of the internal admin API.
    pub admin_key: Secret,
    /// Pause between reconciler passes.
    pub reconcile_interval_ms: u64,
    /// Deadline of each inventory call.
    pub rpc_timeout_ms: u64,
    /// Deadline of each payment call.
    pub payment_timeout_ms: u64,
    /// A hold whose inventory call has not been answered for this long is abandoned.
    pub pending_hold_timeout_ms: u64,
    /// The HTTP server's bounds on connections, requests and slow clients.
    pub http: breakwater_serving::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            database_url: "sqlite://reservation.db?mode=rwc".to_owned(),
            max_connections: 8,
            inventory_url: "http://127.0.0.1:50051".to_owned(),
            payment_url: "http://127.0.0.1:50052".to_owned(),
            token_secret: Secret::default(),
            admin_key: Secret::default(),
            reconcile_interval_ms: 1_000,
            rpc_timeout_ms: 2_000,
            payment_timeout_ms: 5_000,
            pending_hold_timeout_ms: 10_000,
            http: breakwater_serving::Limits::default(),
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

fn invalid(key: &'static str, reason: &str) -> ConfigError {
    ConfigError {
        key,
        reason: reason.to_owned(),
    }
}

fn in_range(key: &'static str, value: u64, low: u64, high: u64) -> Result<(), ConfigError> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(invalid(key, &format!("must be between {low} and {high}")))
    }
}

impl Config {
    /// Checks the values before anything is started.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if crate::db::Engine::of_url(&self.database_url).is_none() {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        for (key, url) in [
            ("inventory_url", &self.inventory_url),
            ("payment_url", &self.payment_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(key, "must be an http:// or https:// URL"));
            }
        }
        for (key, secret) in [
            ("token_secret", &self.token_secret),
            ("admin_key", &self.admin_key),
        ] {
            secret
                .check()
                .map_err(|weak| invalid(key, &format!("{weak}: {}", how_to_set(key))))?;
        }
        in_range("max_connections", u64::from(self.max_connections), 1, 256)?;
        self.http
            .validate()
            .map_err(|limit| invalid(limit.key, limit.reason))?;
        in_range(
            "reconcile_interval_ms",
            self.reconcile_interval_ms,
            10,
            600_000,
        )?;
        in_range("rpc_timeout_ms", self.rpc_timeout_ms, 10, 60_000)?;
        in_range("payment_timeout_ms", self.payment_timeout_ms, 10, 120_000)?;
        in_range(
            "pending_hold_timeout_ms",
            self.pending_hold_timeout_ms,
            100,
            3_600_000,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Config {
        Config {
            token_secret: "0123456789abcdef-token-secret".into(),
            admin_key: "0123456789abcdef-admin-key".into(),
            ..Config::default()
        }
    }

    #[test]
    fn defaults_need_only_the_secrets() {
        assert_eq!(
            Config::default().validate().unwrap_err().key,
            "token_secret"
        );
        assert!(valid().validate().is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (
                Config {
                    database_url: "mysql://x".into(),
                    ..valid()
                },
                "database_url",
            ),
            (
                Config {
                    inventory_url: "127.0.0.1:1".into(),
                    ..valid()
                },
                "inventory_url",
            ),
            (
                Config {
                    admin_key: "short".into(),
                    ..valid()
                },
                "admin_key",
            ),
            (
                Config {
                    rpc_timeout_ms: 0,
                    ..valid()
                },
                "rpc_timeout_ms",
            ),
        ];
        for (config, key) in cases {
            assert_eq!(config.validate().unwrap_err().key, key);
        }
    }
}
