//! `GET /api/v1/events/{event}/seats`: the live seat map.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;

use super::{AppState, input, views};
use crate::auth;
use crate::error::ApiError;
use crate::saga::now_ms;

/// The seat map with live availability (no owners shown).
pub async fn seat_map(
    State(state): State<AppState>,
    Path(event): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let event = input::event_id(&event)?;
    auth::buyer(&headers, &state.keys, Some(event), now_ms())?;
    let settings = state
        .events
        .get(&state.store, event)
        .await?
        .ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    let map = state.backends.seat_map(event).await.map_err(|error| {
        if error.refused_code() == Some(tonic::Code::NotFound) {
            ApiError::not_found("event_not_found", "no such event")
        } else {
            ApiError::from(error)
        }
    })?;
    Ok(Json(views::seat_map(event, &settings.currency, map)))
}
