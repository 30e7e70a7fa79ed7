//! A secret from the configuration: the token secret, the admin key.
//!
//! One type for every secret of every binary, so none can be printed, logged or written
//! back out by accident: its `Debug` and `Serialize` show `<redacted>`, it has no
//! `Display`, and the memory is wiped when it is dropped (`secrecy`). Secrets come from
//! the environment or a file (see the CLI's configuration loader), never from a flag,
//! which any user of the machine can read in the process list.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret shows wherever it is printed or serialized.
const REDACTED: &str = "<redacted>";

/// A secret value from the configuration.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Shortest secret accepted anywhere: 22 characters, 128 bits of base64.
    pub const MIN_LEN: usize = 22;

    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The value, for the one place that signs or compares with it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Checks the secret is set and long enough to be one.
    pub fn check(&self) -> Result<(), WeakSecret> {
        match self.expose().chars().count() {
            0 => Err(WeakSecret::Missing),
            length if length < Self::MIN_LEN => Err(WeakSecret::TooShort { length }),
            _ => Ok(()),
        }
    }
}

impl Default for Secret {
    /// Not set: [`Secret::check`] refuses it.
    fn default() -> Self {
        Self::new(String::new())
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// Where the secret setting `key` comes from, for the message that says it is missing.
pub fn how_to_set(key: &str) -> String {
    let variable = format!("BREAKWATER_{}", key.to_ascii_uppercase());
    format!("set {variable} or {variable}_FILE (a secret has no flag)")
}

/// Why a secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakSecret {
    /// It is not set.
    #[error("is not set")]
    Missing,
    /// It is shorter than [`Secret::MIN_LEN`].
    #[error("must be at least {min} characters (it has {length})", min = Secret::MIN_LEN)]
    TooShort {
        /// How many characters it has.
        length: usize,
    },
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl Serialize for Secret {
    /// A configuration written back out (or walked for its keys) shows no secret; an
    /// unset one stays empty, so defaults read back as unset.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let shown = if self.expose().is_empty() {
            ""
        } else {
            REDACTED
        };
        serializer.serialize_str(shown)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "0123456789abcdef-ghijklmnop";

    #[test]
    fn a_secret_is_never_shown_by_debug_or_serialization() {
        let secret = Secret::new(VALUE);
        let shown = format!("{secret:?} {}", serde_json::json!({ "key": secret }));
        assert!(!shown.contains(VALUE), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
    }

    #[test]
    fn a_secret_reads_from_a_string_and_exposes_it_on_request() {
        let secret: Secret = serde_json::from_str(&format!("{VALUE:?}")).expect("secret");
        assert_eq!(secret.expose(), VALUE);
        assert_eq!(secret.check(), Ok(()));
    }

    #[test]
    fn secrets_shorter_than_the_minimum_are_refused() {
        assert_eq!(Secret::default().check(), Err(WeakSecret::Missing));
        let unset = serde_json::to_value(Secret::default()).expect("json");
        assert_eq!(unset, "", "defaults read back as unset");
        assert_eq!(
            Secret::new("short").check(),
            Err(WeakSecret::TooShort { length: 5 })
        );
        // A configuration echoed back in would carry the placeholder: too short to pass.
        assert!(Secret::new(REDACTED).check().is_err());
        let length = Secret::MIN_LEN;
        assert!(Secret::new("x".repeat(length)).check().is_ok());
        assert!(Secret::new("x".repeat(length - 1)).check().is_err());
    }
}
