//! The waiting room API: join, status, enter, leave; and the public event info.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use breakwater_line::{Clock, EventState, SystemClock};
use breakwater_waitroom::{QueueStatus, WaitroomError};

use crate::auth::{access_cookie, bearer, cookie, line_cookie, set_cookie};
use crate::model::{
    ChallengeBody, EnterBody, ErrorBody, EventInfo, JoinBody, QueueStatusBody, rfc3339,
};
use crate::routes::{ApiPath, event_id};
use crate::{ApiError, GatewayState};

/// The header a join carries its proof of work in, when the event asks one.
pub(crate) const PROOF_HEADER: &str = "breakwater-proof";

/// How long the page keeps a line token cookie.
const LINE_COOKIE_SECONDS: u64 = 24 * 3600;

/// The line token of the request: bearer, or the event's line cookie.
fn line_token<'a>(headers: &'a HeaderMap, event: &str) -> Result<&'a str, ApiError> {
    bearer(headers)
        .or_else(|| cookie(headers, &line_cookie(event)))
        .ok_or(ApiError::MissingToken)
}

/// Join the line.
#[utoipa::path(post, path = "/api/v1/events/{event}/queue", tag = "waiting room",
    params(("event" = String, Path, description = "Event id", example = "demo"),
           ("Breakwater-Proof" = Option<String>, Header, description = "A solved challenge, when the event asks a proof of work (`join_proof_bits` > 0)")),
    responses(
        (status = 201, description = "Joined", body = JoinBody),
        (status = 400, description = "`invalid_proof`: the proof is malformed, forged, expired, too easy or wrong", body = ErrorBody),
        (status = 428, description = "`proof_required` (with `bits`): the event asks a proof of work with each join", body = ErrorBody),
        (status = 200, description = "Sold out: nobody joins for nothing; the status says `sold_out` and no token is given", body = QueueStatusBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "The sale is closed (`event_closed`), or the proof was already used (`proof_used`)", body = ErrorBody),
        (status = 503, description = "Store unavailable; retry after Retry-After", body = ErrorBody),
        (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
    ))]
pub async fn join(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let event = event_id(&event)?;
    let proof = match headers.get(PROOF_HEADER) {
        Some(value) => Some(value.to_str().map_err(|_| ApiError::InvalidField {
            field: "Breakwater-Proof".into(),
            message: "must be visible ASCII".into(),
        })?),
        None => None,
    };
    let joined = match state.room.join_with_proof(&event, proof).await {
        // Nobody joins for nothing: the answer says so, and no place is taken.
        Err(WaitroomError::SoldOut) => {
            let status = QueueStatusBody::from(&QueueStatus::sold_out());
            return Ok(Json(status).into_response());
        }
        joined => joined?,
    };
    let cookie = set_cookie(
        &line_cookie(event.as_str()),
        &joined.token,
        LINE_COOKIE_SECONDS,
    );
    let body = JoinBody {
        status: QueueStatusBody::from(&joined.status),
        token: joined.token,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Your status in line; every call is also your heartbeat.
#[utoipa::path(get, path = "/api/v1/events/{event}/queue", tag = "waiting room",
    params(("event" = String, Path, description = "Event id", example = "demo")),
    security(("line_token" = [])),
    responses(
        (status = 200, description = "Status", body = QueueStatusBody),
        (status = 401, description = "Missing, forged or tampered token", body = ErrorBody),
        (status = 403, description = "Token of another event", body = ErrorBody),
        (status = 503, description = "Store unavailable; retry after Retry-After", body = ErrorBody),
        (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<QueueStatusBody>, ApiError> {
    let event = event_id(&event)?;
    let token = line_token(&headers, event.as_str())?;
    let status = state.room.status(&event, token)?;
    Ok(Json(QueueStatusBody::from(&status)))
}

/// Claim your admission when `ready`.
#[utoipa::path(post, path = "/api/v1/events/{event}/queue/enter", tag = "waiting room",
    params(("event" = String, Path, description = "Event id", example = "demo")),
    security(("line_token" = [])),
    responses(
        (status = 200, description = "Entered", body = EnterBody),
        (status = 409, description = "Not ready yet, or already entered; carries the current status", body = QueueStatusBody),
        (status = 410, description = "The place expired (`place_expired`), or the event sold out (`sold_out`)", body = ErrorBody),
        (status = 401, description = "Missing, forged or tampered token", body = ErrorBody),
        (status = 403, description = "Token of another event", body = ErrorBody),
        (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
    ))]
pub async fn enter(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let event = event_id(&event)?;
    let token = line_token(&headers, event.as_str())?;
    let admission = state.room.enter(&event, token).await?;
    let max_age = admission
        .expires_at_ms
        .saturating_sub(SystemClock.now_ms())
        .div_ceil(1000);
    let cookie = set_cookie(
        &access_cookie(event.as_str()),
        &admission.access_token,
        max_age,
    );
    let body = EnterBody {
        access_token: admission.access_token,
        expires_at: rfc3339(admission.expires_at_ms),
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Leave the line (line token), or end your session and free your slot (access token).
#[utoipa::path(delete, path = "/api/v1/events/{event}/queue", tag = "waiting room",
    params(("event" = String, Path, description = "Event id", example = "demo")),
    security(("line_token" = []), ("access_token" = [])),
    responses(
        (status = 204, description = "Left"),
        (status = 401, description = "Missing, forged or tampered token", body = ErrorBody),
        (status = 403, description = "Token of another event", body = ErrorBody),
        (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
    ))]
pub async fn leave(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let event = event_id(&event)?;
    let token = bearer(&headers)
        .or_else(|| cookie(&headers, &access_cookie(event.as_str())))
        .or_else(|| cookie(&headers, &line_cookie(event.as_str())))
        .ok_or(ApiError::MissingToken)?;
    if let (Some(buyer), Some(backend)) = (
        state.room.session_ended_by_leaving(&event, token)?,
        state.backend.as_ref(),
    ) {
        // An entered buyer leaving ends their session at the backend first, so their
        // token stops buying at once whichever gateway it comes through.
        backend.end_session(event.as_str(), &buyer).await?;
    }
    state.room.leave(&event, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A proof-of-work puzzle for joining the event (at its `join_proof_bits`).
#[utoipa::path(post, path = "/api/v1/events/{event}/challenge", tag = "waiting room",
    params(("event" = String, Path, description = "Event id")),
    responses(
        (status = 201, description = "A challenge; solve it and join with `Breakwater-Proof`", body = ChallengeBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
    ))]
pub async fn challenge(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
) -> Result<(StatusCode, Json<ChallengeBody>), ApiError> {
    let event = event_id(&event)?;
    let challenge = state.room.join_challenge(&event)?;
    let body = ChallengeBody {
        challenge: challenge.text,
        bits: challenge.bits,
        expires_at: rfc3339(challenge.expires_at_ms),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// An event's public information.
#[utoipa::path(get, path = "/api/v1/events/{event}", tag = "events",
    params(("event" = String, Path, description = "Event id", example = "demo")),
    responses(
        (status = 200, description = "The event", body = EventInfo),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
    ))]
pub async fn event_info(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
) -> Result<Json<EventInfo>, ApiError> {
    let event = event_id(&event)?;
    let view = state.room.event(&event)?;
    Ok(Json(EventInfo::from(&view)))
}

/// The events buyers can see: open (or paused) and upcoming ones, soonest opening first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    responses((status = 200, description = "Open and upcoming events", body = Vec<EventInfo>)))]
pub async fn list_events(State(state): State<GatewayState>) -> Json<Vec<EventInfo>> {
    let mut views: Vec<_> = state
        .room
        .events()
        .into_iter()
        .filter(|view| view.state != EventState::Closed)
        .collect();
    views.sort_by(|a, b| (a.settings.opens_at_ms, &a.id).cmp(&(b.settings.opens_at_ms, &b.id)));
    Json(views.iter().map(EventInfo::from).collect())
}
