//! The HTTP API: the ticketing contract for buyers (behind the gateway) and the internal
//! admin API the gateway uses to open sales.

mod admin;
mod checkout;
mod holds;
mod input;
mod orders;
mod seats;
mod sessions;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use breakwater_tokens::TokenKeys;

use crate::clients::Backends;
use crate::error::ApiError;
use crate::events_cache::EventsCache;
use crate::saga::Saga;
use crate::seat_map_cache::SeatMapCache;
use crate::store::ReservationStore;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The reservation database.
    pub store: ReservationStore,
    /// Inventory and payment clients.
    pub backends: Backends,
    /// The checkout saga driver.
    pub saga: Saga,
    /// Verifies access tokens.
    pub keys: TokenKeys,
    /// The admin key for `/internal/v1`.
    pub admin_key: Arc<str>,
    /// Events' settings, read at most once a second per event.
    pub events: EventsCache,
    /// Rendered seat maps, shared by every buyer for a quarter second.
    pub seat_maps: SeatMapCache,
}

/// The reservation router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/events/{event}/seats", get(seats::seat_map))
        .route("/api/v1/events/{event}/holds", post(holds::create))
        .route(
            "/api/v1/holds/{hold}",
            get(holds::show).delete(holds::release),
        )
        .route("/api/v1/holds/{hold}/checkout", post(checkout::checkout))
        .route("/api/v1/orders", get(orders::list))
        .route("/api/v1/orders/{order}", get(orders::show))
        .route(
            "/internal/v1/events/{event}",
            put(admin::put_event)
                .post(admin::create_event)
                .patch(admin::patch_event),
        )
        .route("/internal/v1/events/{event}/sales", get(admin::sales))
        .route(
            "/internal/v1/events/{event}/sessions/{buyer}",
            delete(sessions::end),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .fallback(|| async { ApiError::not_found("not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(axum::middleware::map_response(crate::error::json_errors))
        .with_state(state)
}

async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, ApiError> {
    if state.store.ping().await {
        Ok("ready")
    } else {
        Err(ApiError::unavailable(
            "not_ready",
            "the reservation database does not answer",
        ))
    }
}
