//! The per-client limits, applied to every buyer API route before its handler runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::{ApiError, GatewayState};

/// The route a join is a `POST` to.
pub(crate) const JOIN_ROUTE: &str = "/api/v1/events/{event}/queue";

/// Counts the call against its client's limits; a client past them gets 429.
pub(crate) async fn limit(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Served without client addresses (not by `breakwater`), every caller is one client:
    // the limits then bind early rather than not at all.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let joining = request.method() == Method::POST
        && request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|path| path.as_str() == JOIN_ROUTE);
    let clients = state.clients();
    let client = clients.client(peer, request.headers());
    clients
        .admit(client, joining)
        .map_err(|too_many| ApiError::TooManyRequests {
            retry_after_seconds: too_many.retry_after.as_secs_f64().ceil().max(1.0) as u64,
        })?;
    Ok(next.run(request).await)
}
