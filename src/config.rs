//! Loading a subcommand's typed configuration.
//!
//! Every subcommand has one typed configuration struct (owned by the crate that runs that
//! part). Values come, later ones winning, from the struct's defaults, the TOML file given
//! with `--config`, `BREAKWATER_*` environment variables (`BREAKWATER_REDIS_URL` sets
//! `redis_url`; `__` separates nested keys), and the flags given on the command line.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a configuration could not be loaded; the message names the offending key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// An error about one key.
    pub fn invalid(key: &str, reason: impl std::fmt::Display) -> Self {
        Self(format!("`{key}` {reason}"))
    }
}

/// Loads `T` from its defaults, the optional TOML file, the environment and `flags` (a
/// struct whose unset flags serialize to nothing).
pub fn load<T>(file: Option<&Path>, flags: &impl Serialize) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let defaults = T::default();
    let mut figment = Figment::from(Serialized::defaults(&defaults));
    if let Some(file) = file {
        if !file.is_file() {
            return Err(ConfigError::invalid(
                "--config",
                format!("names {} which is not a readable file", file.display()),
            ));
        }
        figment = figment.merge(Toml::file(file));
    }
    // Only keys this subcommand knows are read from the environment, so a variable meant
    // for another part of a deployment never trips this one.
    let known = known_keys(&defaults);
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    figment = figment
        .merge(Env::prefixed("BREAKWATER_").split("__").only(&known))
        .merge(Serialized::defaults(flags));
    figment
        .extract()
        .map_err(|error| ConfigError(describe(&error)))
}

/// Every key of the configuration, a section's keys as `section.key` (how `__` in a
/// variable's name reads).
fn known_keys(value: &impl Serialize) -> Vec<String> {
    fn walk(prefix: &str, value: &serde_json::Value, keys: &mut Vec<String>) {
        if let serde_json::Value::Object(map) = value {
            for (name, inner) in map {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                walk(&key, inner, keys);
                keys.push(key);
            }
        }
    }
    let mut keys = Vec::new();
    if let Ok(value) = serde_json::to_value(value) {
        walk("", &value, &mut keys);
    }
    keys
}

fn describe(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|error| {
            let key = error.path.join(".");
            let source = error
                .metadata
                .as_ref()
                .map(|metadata| format!(" (from {})", metadata.name))
                .unwrap_or_default();
            if key.is_empty() {
                format!("{}{source}", error.kind)
            } else {
                format!("`{key}`: {}{source}", error.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        listen: String,
        rate: u32,
    }

    #[derive(Serialize, Default)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        rate: Option<u32>,
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "listen = \"a:1\"\nrate = 5\n").unwrap();
        let loaded: Sample = load(Some(&file), &Flags { rate: Some(9) }).unwrap();
        assert_eq!(
            loaded,
            Sample {
                listen: "a:1".into(),
                rate: 9
            }
        );
    }

    #[test]
    fn a_section_s_keys_are_known_by_their_dotted_path() {
        #[derive(Serialize)]
        struct Section {
            timeout_ms: u64,
        }
        #[derive(Serialize)]
        struct Nested {
            listen: String,
            http: Section,
        }
        let mut keys = known_keys(&Nested {
            listen: String::new(),
            http: Section { timeout_ms: 1 },
        });
        keys.sort();
        assert_eq!(keys, ["http", "http.timeout_ms", "listen"]);
    }

    #[test]
    fn unknown_file_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "lisen = \"a:1\"\n").unwrap();
        let error = load::<Sample>(Some(&file), &Flags::default()).unwrap_err();
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "rate = \"fast\"\n").unwrap();
        let error = load::<Sample>(Some(&file), &Flags::default()).unwrap_err();
        assert!(error.to_string().contains("`rate`"), "{error}");
    }

    #[test]
    fn missing_file_names_the_flag() {
        let error =
            load::<Sample>(Some(Path::new("/nonexistent.toml")), &Flags::default()).unwrap_err();
        assert!(error.to_string().contains("--config"), "{error}");
    }
}
