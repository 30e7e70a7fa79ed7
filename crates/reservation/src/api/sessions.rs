//! `DELETE /internal/v1/events/{event}/sessions/{buyer}` (admin key): the gateway ends a
//! buyer's session when they leave with their access token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use breakwater_tokens::is_buyer_id;
use serde_json::{Value, json};

use super::{AppState, input};
use crate::auth;
use crate::error::ApiError;
use crate::saga::now_ms;
use crate::sessions::{self, EndSessionError};
use crate::store::{Buyer, SessionEnd};

/// Ends the buyer's session (idempotent) and gives their unpaid holds back.
pub async fn end(
    State(state): State<AppState>,
    Path((event, buyer)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    auth::admin(&headers, &state.admin_key)?;
    let event = input::event_id(&event)?;
    if !is_buyer_id(&buyer) {
        return Err(ApiError::unprocessable(
            "invalid_buyer",
            "a buyer id is 16 lowercase hex digits, a dash and a queue number",
        ));
    }
    let buyer = Buyer {
        event: event.to_owned(),
        id: buyer,
    };
    let released = sessions::end(
        &state.store,
        &state.backends,
        &buyer,
        SessionEnd::Left,
        now_ms(),
    )
    .await
    .map_err(|error| match error {
        EndSessionError::Store(error) => ApiError::from(error),
        EndSessionError::Remote(error) => ApiError::from(error),
    })?;
    Ok(Json(json!({
        "event": buyer.event,
        "buyer": buyer.id,
        "session": "ended",
        "holds_released": released,
    })))
}
