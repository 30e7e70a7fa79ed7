//! The payment service's configuration.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::sandbox::SandboxSettings;

/// Settings of `breakwater payment` (and of the payment service inside `serve`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the gRPC server listens.
    pub listen: SocketAddr,
    /// `sqlite://PATH?mode=rwc` (embedded) or `postgres://…` (scale-out).
    pub database_url: String,
    /// Most database connections (readers, for SQLite).
    pub max_connections: u32,
    /// Sandbox: mean provider latency in milliseconds.
    pub latency_ms: u64,
    /// Sandbox: share of `sandbox` charges declined (0.0 to 1.0).
    pub decline_rate: f64,
    /// Sandbox: share of `sandbox` charges that time out (0.0 to 1.0).
    pub timeout_rate: f64,
    /// Sandbox: when a timed-out charge's outcome becomes known, after the charge.
    pub settle_after_ms: u64,
    /// Sandbox: share of timed-out charges that end captured.
    pub timeout_capture_rate: f64,
    /// Longest wait for one provider answer before the intent is left processing.
    pub provider_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50052)),
            database_url: "sqlite://payment.db?mode=rwc".to_owned(),
            max_connections: 8,
            latency_ms: 20,
            decline_rate: 0.0,
            timeout_rate: 0.0,
            settle_after_ms: 2_000,
            timeout_capture_rate: 0.5,
            provider_timeout_ms: 2_000,
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

impl Config {
    /// Checks the values before anything is started.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if crate::db::Engine::of_url(&self.database_url).is_none() {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        if !(1..=256).contains(&self.max_connections) {
            return Err(invalid("max_connections", "must be between 1 and 256"));
        }
        for (key, rate) in [
            ("decline_rate", self.decline_rate),
            ("timeout_rate", self.timeout_rate),
            ("timeout_capture_rate", self.timeout_capture_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(invalid(key, "must be between 0.0 and 1.0"));
            }
        }
        if self.decline_rate + self.timeout_rate > 1.0 {
            return Err(invalid(
                "timeout_rate",
                "plus decline_rate must not exceed 1.0",
            ));
        }
        if self.latency_ms > 60_000 {
            return Err(invalid("latency_ms", "must be at most 60000"));
        }
        if self.settle_after_ms > 3_600_000 {
            return Err(invalid("settle_after_ms", "must be at most 3600000"));
        }
        if !(1..=60_000).contains(&self.provider_timeout_ms) {
            return Err(invalid(
                "provider_timeout_ms",
                "must be between 1 and 60000",
            ));
        }
        Ok(())
    }

    /// The sandbox provider's part of the settings.
    pub fn sandbox(&self) -> SandboxSettings {
        SandboxSettings {
            latency_ms: self.latency_ms,
            decline_rate: self.decline_rate,
            timeout_rate: self.timeout_rate,
            settle_after_ms: self.settle_after_ms,
            timeout_capture_rate: self.timeout_capture_rate,
        }
    }
}
