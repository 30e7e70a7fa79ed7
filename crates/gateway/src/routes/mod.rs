//! The routes, assembled into one router.

pub(crate) mod admin;
mod extract;
pub(crate) mod ops;
pub(crate) mod queue;
pub(crate) mod ticketing;

use axum::Router;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::GatewayState;

/// Largest request body any route takes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The gateway's whole HTTP API.
pub fn router(state: GatewayState) -> Router {
    Router::new()
        .route(
            "/api/v1/events/{event}/queue",
            post(queue::join).get(queue::status).delete(queue::leave),
        )
        .route("/api/v1/events/{event}/queue/enter", post(queue::enter))
        .route("/api/v1/events", get(queue::list_events))
        .route("/api/v1/events/{event}", get(queue::event_info))
        .merge(ticketing::routes())
        .nest("/admin/v1", admin::routes(state.clone()))
        .merge(ops::routes())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(state)
}

pub(crate) use extract::{ApiJson, event_id};
