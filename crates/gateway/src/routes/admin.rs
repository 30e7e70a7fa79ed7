//! The operator's API: events, live settings, pause/resume, statistics and sales.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use breakwater_line::{Clock, InvalidSetting, LineSettings, SystemClock};
use breakwater_waitroom::WaitroomError;

use crate::auth::bearer;
use crate::model::{
    AdminEventBody, CreateEventRequest, ErrorBody, PatchEventRequest, StatsBody, parse_rfc3339,
};
use crate::routes::{ApiJson, ApiPath, event_id};
use crate::{ApiError, GatewayState, SaleSettings, VenueSpec};

const DEFAULT_TICKET_LIMIT: u32 = 4;
const DEFAULT_HOLD_SECONDS: u32 = 300;

/// The admin routes, behind the admin key.
pub fn routes(state: GatewayState) -> Router<GatewayState> {
    Router::new()
        .route("/events", get(list).post(create))
        .route("/events/{id}", get(show).patch(update))
        .route("/events/{id}/stats", get(stats))
        .route("/events/{id}/sales", get(sales))
        .layer(middleware::from_fn_with_state(state, require_admin_key))
}

async fn require_admin_key(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match bearer(request.headers()) {
        Some(key) if state.admin_key.matches(key) => Ok(next.run(request).await),
        _ => Err(ApiError::AdminKeyRequired),
    }
}

pub(crate) fn invalid(error: InvalidSetting) -> ApiError {
    ApiError::InvalidField {
        field: error.field.to_owned(),
        message: error.reason,
    }
}

/// Create an event: its line and, when a backend is configured, its sale.
#[utoipa::path(post, path = "/admin/v1/events", tag = "admin",
    request_body = CreateEventRequest,
    security(("admin_key" = [])),
    responses(
        (status = 201, description = "Created", body = AdminEventBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Admin key missing or wrong", body = ErrorBody),
        (status = 409, description = "An event with this id exists", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<GatewayState>,
    ApiJson(request): ApiJson<CreateEventRequest>,
) -> Result<(StatusCode, Json<AdminEventBody>), ApiError> {
    let body = create_event(&state, &request).await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Creates an event: its sale in the backend (when there is one), then its line. A create
/// that is refused changes nothing: an id this gateway knows is refused before anything
/// else, and the backend only ever creates a sale (or confirms the very same one), so a
/// concurrent create of the same id through another gateway cannot change it either.
pub async fn create_event(
    state: &GatewayState,
    request: &CreateEventRequest,
) -> Result<AdminEventBody, ApiError> {
    let (id, settings) = checked_settings(request)?;
    if state.room.event(&id).is_ok() {
        return Err(WaitroomError::EventExists.into());
    }
    let sale = SaleSettings {
        name: settings.name.clone(),
        currency: settings.currency.clone(),
        ticket_limit_per_buyer: request
            .ticket_limit_per_buyer
            .unwrap_or(DEFAULT_TICKET_LIMIT),
        hold_seconds: request.hold_seconds.unwrap_or(DEFAULT_HOLD_SECONDS),
        venue: request
            .venue
            .clone()
            .unwrap_or_else(VenueSpec::default_venue),
    };
    let sale = match &state.backend {
        Some(backend) => Some(backend.create_event(id.as_str(), &sale).await?),
        None => None,
    };
    let view = state.room.create_event(&id, &settings).await?;
    Ok(AdminEventBody::new(&view, sale))
}

/// The event id and line settings a create asks for, validated (a 422 names the field).
pub(crate) fn checked_settings(
    request: &CreateEventRequest,
) -> Result<(breakwater_line::EventId, LineSettings), ApiError> {
    let id = breakwater_line::EventId::parse(&request.id).map_err(invalid)?;
    let settings = line_settings(request)?;
    settings.validate().map_err(invalid)?;
    Ok((id, settings))
}

fn line_settings(request: &CreateEventRequest) -> Result<LineSettings, ApiError> {
    let mut settings = LineSettings::with_defaults(request.name.clone(), SystemClock.now_ms());
    if let Some(currency) = &request.currency {
        settings.currency = currency.clone();
    }
    if let Some(rate) = request.admission_rate_per_second {
        settings.admission_rate_per_second = rate;
    }
    if let Some(cap) = request.max_active_users {
        settings.max_active_users = cap;
    }
    if let Some(seconds) = request.heartbeat_timeout_seconds {
        settings.heartbeat_timeout_seconds = seconds;
    }
    if let Some(seconds) = request.claim_window_seconds {
        settings.claim_window_seconds = seconds;
    }
    if let Some(seconds) = request.session_seconds {
        settings.session_seconds = seconds;
    }
    if let Some(opens_at) = &request.opens_at {
        settings.opens_at_ms = parse_rfc3339("opens_at", opens_at)?;
    }
    if let Some(paused) = request.paused {
        settings.paused = paused;
    }
    if let Some(bits) = request.join_proof_bits {
        settings.join_proof_bits = bits;
    }
    Ok(settings)
}

/// Every event.
#[utoipa::path(get, path = "/admin/v1/events", tag = "admin",
    security(("admin_key" = [])),
    responses((status = 200, description = "Events", body = Vec<AdminEventBody>)))]
pub async fn list(State(state): State<GatewayState>) -> Json<Vec<AdminEventBody>> {
    let events = state
        .room
        .events()
        .iter()
        .map(|view| AdminEventBody::new(view, None))
        .collect();
    Json(events)
}

/// One event.
#[utoipa::path(get, path = "/admin/v1/events/{id}", tag = "admin",
    params(("id" = String, Path, description = "Event id", example = "demo")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "The event", body = AdminEventBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn show(
    State(state): State<GatewayState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminEventBody>, ApiError> {
    let view = state.room.event(&event_id(&id)?)?;
    Ok(Json(AdminEventBody::new(&view, None)))
}

/// Change an event live: rate, cap, windows, opening time, pause/resume, close, and the
/// sale's settings.
#[utoipa::path(patch, path = "/admin/v1/events/{id}", tag = "admin",
    params(("id" = String, Path, description = "Event id", example = "demo")),
    request_body = PatchEventRequest,
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Changed", body = AdminEventBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<GatewayState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<PatchEventRequest>,
) -> Result<Json<AdminEventBody>, ApiError> {
    let id = event_id(&id)?;
    let mut settings = state.room.event(&id)?.settings;
    patch.apply_to(&mut settings)?;
    settings.validate().map_err(invalid)?;
    let sale = match (&state.backend, patch.sale_patch()) {
        (Some(backend), Some(sale_patch)) => {
            Some(backend.patch_event(id.as_str(), &sale_patch).await?)
        }
        (None, Some(_)) => return Err(ApiError::NoBackend),
        (_, None) => None,
    };
    let view = state.room.update_event(&id, &settings).await?;
    Ok(Json(AdminEventBody::new(&view, sale)))
}

/// Live statistics of an event's line.
#[utoipa::path(get, path = "/admin/v1/events/{id}/stats", tag = "admin",
    params(("id" = String, Path, description = "Event id", example = "demo")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Statistics", body = StatsBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn stats(
    State(state): State<GatewayState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<StatsBody>, ApiError> {
    let stats = state.room.stats(&event_id(&id)?)?;
    Ok(Json(StatsBody::from(stats)))
}

/// An event's sales: seats, holds, orders and revenue, from the ticketing backend.
#[utoipa::path(get, path = "/admin/v1/events/{id}/sales", tag = "admin",
    params(("id" = String, Path, description = "Event id", example = "demo")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Sales figures: seats_total, available, held, sold, orders_confirmed, orders_pending, orders_failed, orders_refunded, revenue_cents", body = crate::schemas::SalesBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 503, description = "No ticketing backend, or it is unavailable", body = ErrorBody),
    ))]
pub async fn sales(
    State(state): State<GatewayState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = event_id(&id)?;
    state.room.event(&id)?;
    let backend = state.backend.as_ref().ok_or(ApiError::NoBackend)?;
    Ok(Json(backend.sales(id.as_str()).await?))
}
