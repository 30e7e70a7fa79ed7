//! Loading a subcommand's typed configuration.
//!
//! Every subcommand has one typed configuration struct (owned by the crate that runs that
//! part). Values come, later ones winning, from the struct's defaults, the TOML file given
//! with `--config`, `BREAKWATER_*` environment variables (`BREAKWATER_REDIS_URL` sets
//! `redis_url`; `__` separates nested keys), files named by `BREAKWATER_<KEY>_FILE` (how
//! container platforms hand out secrets: `BREAKWATER_ADMIN_KEY_FILE=/run/secrets/admin`),
//! and the flags given on the command line. Secrets have no flags.

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

/// Checks a secret setting; the error names the key and the two ways to set it.
pub fn check_secret(key: &str, secret: &breakwater_secret::Secret) -> Result<(), ConfigError> {
    secret.check().map_err(|weak| {
        ConfigError::invalid(
            key,
            format!("{weak}: {}", breakwater_secret::how_to_set(key)),
        )
    })
}

/// Refuses a URL given as a flag when it carries a password: flags show in every process
/// list. (The URL is only looked at up to its host; parsing it fully is the driver's job.)
pub fn refuse_password_in_flag(flag: &str, url: Option<&str>) -> Result<(), ConfigError> {
    let userinfo = url
        .and_then(|url| url.split_once("://"))
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .map(|(userinfo, _)| userinfo);
    if userinfo.is_some_and(|userinfo| userinfo.contains(':')) {
        let variable = flag
            .trim_start_matches('-')
            .replace('-', "_")
            .to_ascii_uppercase();
        return Err(ConfigError::invalid(
            flag,
            format!(
                "must not carry a password (a process list shows it): set BREAKWATER_{variable} or BREAKWATER_{variable}_FILE"
            ),
        ));
    }
    Ok(())
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
    figment = figment.merge(Env::prefixed("BREAKWATER_").split("__").only(&known));
    for (key, value) in values_from_files(&known, std::env::vars_os())? {
        figment = figment.merge(Serialized::default(&key, value));
    }
    figment = figment.merge(Serialized::defaults(flags));
    figment
        .extract()
        .map_err(|error| ConfigError(describe(&error)))
}

/// The values of keys whose `BREAKWATER_<KEY>_FILE` variable names a file: the file's
/// text without its final line break.
fn values_from_files(
    known: &[&str],
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut values = Vec::new();
    for (name, path) in vars {
        let Some(key) = name
            .to_str()
            .and_then(|name| name.strip_prefix("BREAKWATER_"))
            .and_then(|name| name.strip_suffix("_FILE"))
            .map(|name| name.to_ascii_lowercase().replace("__", "."))
        else {
            continue;
        };
        if !known.contains(&key.as_str()) {
            continue;
        }
        let variable = name.to_string_lossy();
        let text = std::fs::read_to_string(&path).map_err(|error| {
            ConfigError::invalid(
                &key,
                format!(
                    "cannot be read from {} named by {variable}: {error}",
                    Path::new(&path).display()
                ),
            )
        })?;
        let value = text.strip_suffix('\n').unwrap_or(&text);
        let value = value.strip_suffix('\r').unwrap_or(value);
        values.push((key, value.to_owned()));
    }
    Ok(values)
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
    fn a_known_key_s_file_variable_gives_its_value_without_the_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("admin");
        std::fs::write(&secret, "s3cret-value\n").unwrap();
        let vars = [
            ("BREAKWATER_ADMIN_KEY_FILE", secret.as_os_str()),
            ("BREAKWATER_UNKNOWN_FILE", secret.as_os_str()),
            ("OTHER_ADMIN_KEY_FILE", secret.as_os_str()),
            ("BREAKWATER_HTTP__MAX_IN_FLIGHT_FILE", secret.as_os_str()),
        ]
        .map(|(name, path)| (name.into(), path.to_owned()));
        let values =
            values_from_files(&["admin_key", "http.max_in_flight"], vars.into_iter()).unwrap();
        assert_eq!(
            values,
            [
                ("admin_key".to_owned(), "s3cret-value".to_owned()),
                ("http.max_in_flight".to_owned(), "s3cret-value".to_owned()),
            ]
        );
    }

    #[test]
    fn an_unreadable_file_names_the_key_and_the_variable() {
        let vars = [(
            "BREAKWATER_ADMIN_KEY_FILE".into(),
            "/nonexistent/admin".into(),
        )];
        let error = values_from_files(&["admin_key"], vars.into_iter()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`admin_key`"), "{message}");
        assert!(message.contains("BREAKWATER_ADMIN_KEY_FILE"), "{message}");
    }

    #[test]
    fn a_url_flag_with_a_password_is_refused() {
        let refused = |url| refuse_password_in_flag("--database-url", Some(url)).is_err();
        assert!(refused("postgres://app:hunter2@db/sales"));
        assert!(refused("redis://:hunter2@127.0.0.1:6379"));
        assert!(!refused("postgres://app@db/sales"));
        assert!(!refused("sqlite:///data/x.db?mode=rwc"));
        assert!(!refused("postgres://db/sales?note=a:b@c"));
        assert!(!refused("postgres://db?note=a:b@c"));
        let error = refuse_password_in_flag("--database-url", Some("postgres://a:b@h/d"));
        let message = error.unwrap_err().to_string();
        assert!(
            message.contains("BREAKWATER_DATABASE_URL_FILE"),
            "{message}"
        );
        assert!(!message.contains("a:b"), "{message}");
    }

    #[test]
    fn missing_file_names_the_flag() {
        let error =
            load::<Sample>(Some(Path::new("/nonexistent.toml")), &Flags::default()).unwrap_err();
        assert!(error.to_string().contains("--config"), "{error}");
    }
}
