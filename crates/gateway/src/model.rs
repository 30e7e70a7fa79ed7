//! The JSON the API speaks, with its OpenAPI schemas.

use breakwater_line::{EventState, LineSettings};
use breakwater_waitroom::{EventView, LineStats, QueueStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::ApiError;

/// A Unix-ms instant as RFC 3339 text.
pub fn rfc3339(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// RFC 3339 text as Unix ms; the error names `field`.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<u64, ApiError> {
    let invalid = || ApiError::InvalidField {
        field: field.to_owned(),
        message: "must be an RFC 3339 date-time at or after 1970, such as 2026-12-01T10:00:00Z"
            .into(),
    };
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| invalid())?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| invalid())
}

/// A buyer's status: the answer to a poll.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStatusBody {
    /// `waiting` | `ready` | `entered` | `expired` | `sold_out` (the event has no seats
    /// left and none can come back: stop waiting).
    #[schema(example = "waiting")]
    pub state: &'static str,
    /// 1-based place among those still waiting (1 = next); while waiting, once the sale
    /// has opened (before opening the pre-queue has no order yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// Estimated seconds until admission; absent while the line is paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u64>,
    /// The shortest wait to expect: buyers ahead leave as often as buyers have so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_low_seconds: Option<u64>,
    /// The longest wait to expect if admissions keep the configured rate (nobody ahead
    /// leaves); absent when the cap on active buyers, not the rate, holds the line back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_high_seconds: Option<u64>,
    /// Seats left, coarsely: at least this many (1,000, 500, 100, 50, 20, 10, 5, 1 or 0;
    /// 0 while all are held and some may come back). Absent until the backend was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats_left: Option<u64>,
    /// Poll again after this many milliseconds (polls are also heartbeats).
    pub poll_after_ms: u64,
    /// While ready: enter before this time (RFC 3339) or lose the place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enter_by: Option<String>,
}

impl From<&QueueStatus> for QueueStatusBody {
    fn from(status: &QueueStatus) -> Self {
        Self {
            state: status.state.as_str(),
            position: status.position,
            eta_seconds: status.eta_seconds,
            eta_low_seconds: status.eta_low_seconds,
            eta_high_seconds: status.eta_high_seconds,
            seats_left: status.seats_left,
            poll_after_ms: status.poll_after_ms,
            enter_by: status.enter_by_ms.map(rfc3339),
        }
    }
}

/// The answer to a join: the line token and the first status.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoinBody {
    /// The signed line token: the proof of this place. Send it as `Authorization:
    /// Bearer …` on every later call.
    pub token: String,
    #[serde(flatten)]
    pub status: QueueStatusBody,
}

/// The answer to a successful enter.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnterBody {
    /// The access token for the ticketing API of this event.
    pub access_token: String,
    /// When it stops being valid (RFC 3339).
    pub expires_at: String,
}

/// An error: a machine-readable code and a sentence for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in snake_case.
    #[schema(example = "invalid_token")]
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
}

/// An event as buyers see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventInfo {
    pub id: String,
    pub name: String,
    /// When the sale opens (RFC 3339).
    pub opens_at: String,
    /// `scheduled` | `open` | `paused` | `closed`.
    #[schema(value_type = String, example = "open")]
    pub state: EventState,
    /// ISO 4217 currency of the event's prices.
    pub currency: String,
    /// Proof-of-work bits each join must carry (0: none): get a challenge from
    /// `POST /api/v1/events/{event}/challenge` and join with the `Breakwater-Proof` header.
    pub join_proof_bits: u8,
}

impl From<&EventView> for EventInfo {
    fn from(view: &EventView) -> Self {
        Self {
            id: view.id.clone(),
            name: view.settings.name.clone(),
            opens_at: rfc3339(view.settings.opens_at_ms),
            state: view.state,
            currency: view.settings.currency.clone(),
            join_proof_bits: view.settings.join_proof_bits,
        }
    }
}

/// A venue: seated sections (`rows` × `seats_per_row`) or general admission (`capacity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueSpec {
    pub sections: Vec<SectionSpec>,
}

/// One section of a venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    pub name: String,
    /// Price of one ticket in minor units of the event's currency.
    pub price_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats_per_row: Option<u32>,
    /// General admission: how many tickets, instead of rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

impl VenueSpec {
    /// The venue of an event created without one: one general-admission section.
    pub fn default_venue() -> Self {
        Self {
            sections: vec![SectionSpec {
                name: "General admission".into(),
                price_cents: 5_000,
                rows: None,
                seats_per_row: None,
                capacity: Some(1_000),
            }],
        }
    }
}

/// `POST /admin/v1/events`: everything but `id` and `name` has a default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventRequest {
    /// 1 to 64 of `a-z 0-9 _ -`.
    pub id: String,
    pub name: String,
    /// Default 100.
    pub admission_rate_per_second: Option<f64>,
    /// Default 1000.
    pub max_active_users: Option<u32>,
    /// Default 30.
    pub heartbeat_timeout_seconds: Option<u32>,
    /// Default 60.
    pub claim_window_seconds: Option<u32>,
    /// Default 900.
    pub session_seconds: Option<u32>,
    /// RFC 3339; default now (open at once).
    pub opens_at: Option<String>,
    /// Default 4.
    pub ticket_limit_per_buyer: Option<u32>,
    /// Default 300.
    pub hold_seconds: Option<u32>,
    /// Default: one general-admission section of 1,000 at 50.00.
    pub venue: Option<VenueSpec>,
    /// ISO 4217; default USD.
    pub currency: Option<String>,
    /// Default false.
    pub paused: Option<bool>,
    /// Proof-of-work bits asked of each join: 0 (default) none, at most 28; 18 costs a
    /// browser about a second.
    pub join_proof_bits: Option<u8>,
}

/// `PATCH /admin/v1/events/{id}`: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEventRequest {
    pub name: Option<String>,
    pub admission_rate_per_second: Option<f64>,
    pub max_active_users: Option<u32>,
    pub heartbeat_timeout_seconds: Option<u32>,
    pub claim_window_seconds: Option<u32>,
    pub session_seconds: Option<u32>,
    pub opens_at: Option<String>,
    pub ticket_limit_per_buyer: Option<u32>,
    pub hold_seconds: Option<u32>,
    pub currency: Option<String>,
    pub paused: Option<bool>,
    pub closed: Option<bool>,
    pub join_proof_bits: Option<u8>,
}

impl PatchEventRequest {
    /// Applies the line's part of the patch to `settings`.
    pub fn apply_to(&self, settings: &mut LineSettings) -> Result<(), ApiError> {
        if let Some(name) = &self.name {
            settings.name = name.clone();
        }
        if let Some(currency) = &self.currency {
            settings.currency = currency.clone();
        }
        if let Some(rate) = self.admission_rate_per_second {
            settings.admission_rate_per_second = rate;
        }
        if let Some(cap) = self.max_active_users {
            settings.max_active_users = cap;
        }
        if let Some(seconds) = self.heartbeat_timeout_seconds {
            settings.heartbeat_timeout_seconds = seconds;
        }
        if let Some(seconds) = self.claim_window_seconds {
            settings.claim_window_seconds = seconds;
        }
        if let Some(seconds) = self.session_seconds {
            settings.session_seconds = seconds;
        }
        if let Some(opens_at) = &self.opens_at {
            settings.opens_at_ms = parse_rfc3339("opens_at", opens_at)?;
        }
        if let Some(paused) = self.paused {
            settings.paused = paused;
        }
        if let Some(closed) = self.closed {
            settings.closed = closed;
        }
        if let Some(bits) = self.join_proof_bits {
            settings.join_proof_bits = bits;
        }
        Ok(())
    }

    /// The sale's part of the patch, as the backend takes it (`None` when untouched).
    pub fn sale_patch(&self) -> Option<serde_json::Value> {
        let mut patch = serde_json::Map::new();
        if let Some(name) = &self.name {
            patch.insert("name".into(), name.clone().into());
        }
        if let Some(currency) = &self.currency {
            patch.insert("currency".into(), currency.clone().into());
        }
        if let Some(limit) = self.ticket_limit_per_buyer {
            patch.insert("ticket_limit_per_buyer".into(), limit.into());
        }
        if let Some(seconds) = self.hold_seconds {
            patch.insert("hold_seconds".into(), seconds.into());
        }
        (!patch.is_empty()).then_some(serde_json::Value::Object(patch))
    }
}

/// An event as the operator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminEventBody {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub admission_rate_per_second: f64,
    pub max_active_users: u32,
    pub heartbeat_timeout_seconds: u32,
    pub claim_window_seconds: u32,
    pub session_seconds: u32,
    /// RFC 3339.
    pub opens_at: String,
    pub paused: bool,
    pub closed: bool,
    pub join_proof_bits: u8,
    /// `scheduled` | `open` | `paused` | `closed`.
    #[schema(value_type = String)]
    pub state: EventState,
    /// The sale's settings as the ticketing backend holds them, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sale: Option<serde_json::Value>,
}

impl AdminEventBody {
    /// The operator's view of an event, with the backend's sale settings if known.
    pub fn new(view: &EventView, sale: Option<serde_json::Value>) -> Self {
        let settings = &view.settings;
        Self {
            id: view.id.clone(),
            name: settings.name.clone(),
            currency: settings.currency.clone(),
            admission_rate_per_second: settings.admission_rate_per_second,
            max_active_users: settings.max_active_users,
            heartbeat_timeout_seconds: settings.heartbeat_timeout_seconds,
            claim_window_seconds: settings.claim_window_seconds,
            session_seconds: settings.session_seconds,
            opens_at: rfc3339(settings.opens_at_ms),
            paused: settings.paused,
            closed: settings.closed,
            join_proof_bits: settings.join_proof_bits,
            state: view.state,
            sale,
        }
    }
}

/// Live statistics of an event's line.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsBody {
    /// Buyers waiting (pre-queue included).
    pub waiting: u64,
    /// Admitted buyers whose claim window is open.
    pub ready: u64,
    /// Entered buyers holding a slot.
    pub entered: u64,
    /// Ever admitted.
    pub admitted_total: u64,
    /// Ever entered.
    pub entered_total: u64,
    /// Ever joined (as far as this gateway knows).
    pub joined_total: u64,
    /// Left the line or dropped out before their turn.
    pub departed_total: u64,
    /// Seats left, coarsely, as the line tells buyers (absent until the backend was asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats_left: Option<u64>,
    /// Nothing left and nothing held can come back.
    pub sold_out: bool,
    /// Admitted but neither entered nor still ready: forfeited or left.
    pub forfeited_total: u64,
    pub admission_rate_per_second: f64,
    pub max_active_users: u32,
    /// Seconds to admit everyone waiting at the configured rate.
    pub drain_seconds: f64,
    #[schema(value_type = String)]
    pub state: EventState,
    /// How old this gateway's view of the line is, in milliseconds.
    pub replica_age_ms: u64,
}

impl From<LineStats> for StatsBody {
    fn from(stats: LineStats) -> Self {
        Self {
            waiting: stats.waiting,
            ready: stats.ready,
            entered: stats.entered,
            admitted_total: stats.admitted_total,
            entered_total: stats.entered_total,
            joined_total: stats.joined_total,
            departed_total: stats.departed_total,
            seats_left: stats.stock.map(|level| level.seats_left),
            sold_out: stats.stock.is_some_and(|level| level.sold_out),
            forfeited_total: stats
                .admitted_total
                .saturating_sub(stats.entered_total + stats.ready),
            admission_rate_per_second: stats.admission_rate_per_second,
            max_active_users: stats.max_active_users,
            drain_seconds: stats.waiting as f64 / stats.admission_rate_per_second,
            state: stats.state,
            replica_age_ms: stats.replica_age_ms,
        }
    }
}

/// A proof-of-work puzzle to solve before joining.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeBody {
    /// Append `.` and a decimal answer such that SHA-256 of the whole text starts with
    /// `bits` zero bits; send that as the `Breakwater-Proof` header of the join.
    pub challenge: String,
    pub bits: u8,
    /// RFC 3339; answers after it are refused.
    pub expires_at: String,
}
