//! How much a server takes on at once, and how long it waits for a client.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The bounds one HTTP server keeps, whatever its clients do. A configuration section
/// (`[http]` in a TOML file, `BREAKWATER_HTTP__<KEY>` in the environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Most requests being answered at once; more are shed with 503 + `Retry-After`.
    pub max_in_flight: usize,
    /// A client must send a request's whole header within this, also after a previous
    /// request on the same connection (so it is the idle keep-alive timeout as well).
    pub header_timeout_ms: u64,
    /// A request must be answered within this, body read included; else 503 +
    /// `Retry-After`.
    pub request_timeout_ms: u64,
    /// A connection whose answer makes no progress for this long is closed (a client that
    /// does not read).
    pub write_timeout_ms: u64,
    /// Most bytes of a request's header (and of a connection's read buffer).
    pub max_header_bytes: usize,
    /// How long connections in flight may finish after shutdown begins.
    pub drain_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 20_000,
            max_in_flight: 4_096,
            header_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            write_timeout_ms: 30_000,
            max_header_bytes: 64 * 1024,
            drain_timeout_ms: 10_000,
        }
    }
}

/// A limit that cannot work; names the configuration key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` {reason}")]
pub struct InvalidLimit {
    /// The key, `http.` and its name within the section.
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Limits {
    /// Checks every limit; the error names the key.
    pub fn validate(&self) -> Result<(), InvalidLimit> {
        let invalid = |key, reason| Err(InvalidLimit { key, reason });
        let count = |value: usize| (1..=1_000_000).contains(&value);
        let millis = |value: u64| (1..=3_600_000).contains(&value);
        if !count(self.max_connections) {
            return invalid("http.max_connections", "must be between 1 and 1000000");
        }
        if !count(self.max_in_flight) {
            return invalid("http.max_in_flight", "must be between 1 and 1000000");
        }
        for (key, value) in [
            ("http.header_timeout_ms", self.header_timeout_ms),
            ("http.request_timeout_ms", self.request_timeout_ms),
            ("http.write_timeout_ms", self.write_timeout_ms),
            ("http.drain_timeout_ms", self.drain_timeout_ms),
        ] {
            if !millis(value) {
                return invalid(key, "must be between 1 and 3600000 (milliseconds)");
            }
        }
        if !(8_192..=1_048_576).contains(&self.max_header_bytes) {
            return invalid("http.max_header_bytes", "must be between 8192 and 1048576");
        }
        Ok(())
    }

    pub(crate) fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    pub(crate) fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_limits_are_named() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let zero = Limits {
            max_in_flight: 0,
            ..Limits::default()
        };
        assert_eq!(zero.validate().unwrap_err().key, "http.max_in_flight");
        let tiny = Limits {
            max_header_bytes: 100,
            ..Limits::default()
        };
        assert_eq!(tiny.validate().unwrap_err().key, "http.max_header_bytes");
    }
}
