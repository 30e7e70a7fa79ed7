//! The routes, assembled into one router.

pub(crate) mod admin;
mod clients;
mod extract;
pub(crate) mod ops;
pub(crate) mod queue;
pub(crate) mod ticketing;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::json_errors;
use crate::{ApiError, GatewayState};

/// Largest request body any route takes.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// The gateway's whole HTTP API.
pub fn router(state: GatewayState) -> Router {
    let buyer_api = Router::new()
        .route(
            clients::JOIN_ROUTE,
            post(queue::join).get(queue::status).delete(queue::leave),
        )
        .route("/api/v1/events/{event}/queue/enter", post(queue::enter))
        .route("/api/v1/events/{event}/challenge", post(queue::challenge))
        .route("/api/v1/events", get(queue::list_events))
        .route("/api/v1/events/{event}", get(queue::event_info))
        .merge(ticketing::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            clients::limit,
        ));
    Router::new()
        .merge(buyer_api)
        .nest("/admin/v1", admin::routes(state.clone()))
        .merge(ops::routes())
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::map_response(json_errors))
        .with_state(state)
}

pub(crate) use extract::{ApiJson, ApiPath, event_id};
