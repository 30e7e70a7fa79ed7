//! `GET /api/v1/events/{event}/seats`: the live seat map.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::{AppState, input, views};
use crate::auth;
use crate::error::ApiError;
use crate::saga::now_ms;

/// The seat map with live availability (no owners shown), at most
/// [`crate::seat_map_cache::FRESH_FOR`] old.
pub async fn seat_map(
    State(state): State<AppState>,
    Path(event): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let event = input::event_id(&event)?;
    auth::buyer(
        &headers,
        &state.keys,
        Some(event),
        now_ms(),
        auth::Need::Identity,
    )?;
    let body = state.seat_maps.get(event, render(&state, event)).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

async fn render(state: &AppState, event: &str) -> Result<Bytes, ApiError> {
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
    Ok(Bytes::from(
        views::seat_map(event, &settings.currency, map).to_string(),
    ))
}
