//! Events and the settings of their lines.

use serde::{Deserialize, Serialize};

/// Why an event id or line setting was refused; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct InvalidSetting {
    /// The offending field, as named in the API.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidSetting {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// An event's id: 1 to 64 of `a-z 0-9 _ -`, starting with a letter or digit. It appears
/// in URLs, tokens and store keys, so it is kept to characters safe in all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    /// Checks and wraps an event id.
    pub fn parse(id: &str) -> Result<Self, InvalidSetting> {
        let valid_first = id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let valid_rest = id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid_first || !valid_rest || id.len() > 64 {
            return Err(InvalidSetting::new(
                "id",
                "must be 1 to 64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit",
            ));
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EventId {
    type Error = InvalidSetting;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> Self {
        id.0
    }
}

/// How an event's line behaves; changed live by the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSettings {
    /// Shown to buyers.
    pub name: String,
    /// ISO 4217 code of the event's prices, shown with the event.
    pub currency: String,
    /// How many buyers are let in per second, across all gateways together.
    pub admission_rate_per_second: f64,
    /// Cap on buyers who are `ready` or inside (entered, not finished) at once.
    pub max_active_users: u32,
    /// A buyer who does not poll for this long drops out of line.
    pub heartbeat_timeout_seconds: u32,
    /// How long a `ready` buyer has to enter before the place goes to the next.
    pub claim_window_seconds: u32,
    /// How long an access token lasts after entering.
    pub session_seconds: u32,
    /// When the sale opens (Unix ms); joins before it wait in the lottery pre-queue.
    pub opens_at_ms: u64,
    /// A paused line admits nobody; polls, joins and leaves keep working.
    pub paused: bool,
    /// A closed line takes no new joins and admits nobody.
    pub closed: bool,
    /// Proof of work asked of each join: zero bits its hash must start with (0: none).
    /// Each bit doubles a join's cost; 18 is about a second in a browser.
    #[serde(default)]
    pub join_proof_bits: u8,
}

/// Most proof-of-work bits an event may ask: minutes in a browser, past any real use.
pub const MAX_JOIN_PROOF_BITS: u8 = 28;

/// Upper bounds that keep arithmetic and memory sane; generous for any real sale.
const MAX_RATE: f64 = 1_000_000.0;
/// Slowest admission rate: one buyer per 1,000 s. Below it the wait estimates run to
/// centuries and mean nothing; a line that should admit nobody is paused instead.
const MIN_RATE: f64 = 0.001;
const MAX_SECONDS: u32 = 7 * 24 * 3600;
const MAX_ACTIVE: u32 = 10_000_000;

impl LineSettings {
    /// Settings with the documented defaults, opening at `now_ms`.
    pub fn with_defaults(name: impl Into<String>, now_ms: u64) -> Self {
        Self {
            name: name.into(),
            currency: "USD".into(),
            admission_rate_per_second: 100.0,
            max_active_users: 1000,
            heartbeat_timeout_seconds: 30,
            claim_window_seconds: 60,
            session_seconds: 900,
            opens_at_ms: now_ms,
            paused: false,
            closed: false,
            join_proof_bits: 0,
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(InvalidSetting::new("name", "must be 1 to 200 characters"));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(InvalidSetting::new(
                "currency",
                "must be a three-letter ISO 4217 code such as USD or KRW",
            ));
        }
        let rate = self.admission_rate_per_second;
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(InvalidSetting::new(
                "admission_rate_per_second",
                format!(
                    "must be a number from {MIN_RATE} to {MAX_RATE} (pause the line to admit nobody)"
                ),
            ));
        }
        if self.max_active_users == 0 || self.max_active_users > MAX_ACTIVE {
            return Err(InvalidSetting::new(
                "max_active_users",
                format!("must be between 1 and {MAX_ACTIVE}"),
            ));
        }
        check_seconds(
            "heartbeat_timeout_seconds",
            self.heartbeat_timeout_seconds,
            3,
        )?;
        check_seconds("claim_window_seconds", self.claim_window_seconds, 1)?;
        check_seconds("session_seconds", self.session_seconds, 1)?;
        if self.join_proof_bits > MAX_JOIN_PROOF_BITS {
            return Err(InvalidSetting::new(
                "join_proof_bits",
                format!("must be 0 (no proof) to {MAX_JOIN_PROOF_BITS}"),
            ));
        }
        Ok(())
    }

    /// Milliseconds between two admissions at the configured rate.
    pub fn admission_interval_ms(&self) -> f64 {
        1000.0 / self.admission_rate_per_second
    }

    /// The heartbeat timeout in milliseconds.
    pub fn heartbeat_timeout_ms(&self) -> u64 {
        u64::from(self.heartbeat_timeout_seconds) * 1000
    }

    /// The claim window in milliseconds.
    pub fn claim_window_ms(&self) -> u64 {
        u64::from(self.claim_window_seconds) * 1000
    }

    /// The session length in milliseconds.
    pub fn session_ms(&self) -> u64 {
        u64::from(self.session_seconds) * 1000
    }
}

fn check_seconds(field: &'static str, value: u32, min: u32) -> Result<(), InvalidSetting> {
    if value < min || value > MAX_SECONDS {
        return Err(InvalidSetting::new(
            field,
            format!("must be between {min} and {MAX_SECONDS} seconds"),
        ));
    }
    Ok(())
}

/// The public state of an event's sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Before `opens_at`: buyers join the lottery pre-queue.
    Scheduled,
    /// Open: the line moves.
    Open,
    /// Open, but the operator stopped admissions for now.
    Paused,
    /// The sale is over: no joins, no admissions.
    Closed,
}

impl EventState {
    /// The state given the settings and whether the pre-queue lottery was drawn.
    pub fn of(settings: &LineSettings, opened: bool, now_ms: u64) -> Self {
        if settings.closed {
            Self::Closed
        } else if !opened && now_ms < settings.opens_at_ms {
            Self::Scheduled
        } else if settings.paused {
            Self::Paused
        } else {
            Self::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_url_and_key_safe() {
        assert!(EventId::parse("demo").is_ok());
        assert!(EventId::parse("k-pop_2026").is_ok());
        for bad in ["", "Demo", "-x", "a b", "a.b", "a{b}", &"x".repeat(65)] {
            assert!(EventId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn defaults_are_valid_and_bad_fields_are_named() {
        let good = LineSettings::with_defaults("Demo", 0);
        assert_eq!(good.validate(), Ok(()));
        for rate in [f64::NAN, 0.0, 1e-300, 0.000_9, 1_000_001.0] {
            let mut bad = good.clone();
            bad.admission_rate_per_second = rate;
            let refused = bad.validate().map_err(|invalid| invalid.field);
            assert_eq!(refused, Err("admission_rate_per_second"), "{rate}");
        }
        let mut slowest = good.clone();
        slowest.admission_rate_per_second = 0.001;
        assert_eq!(slowest.validate(), Ok(()));
        let mut bad = good.clone();
        bad.heartbeat_timeout_seconds = 1;
        assert_eq!(
            bad.validate().unwrap_err().field,
            "heartbeat_timeout_seconds"
        );
        let mut bad = good;
        bad.currency = "usd".into();
        assert_eq!(bad.validate().unwrap_err().field, "currency");
    }
}
