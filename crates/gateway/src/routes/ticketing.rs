//! The ticketing API, reached only through the gateway: every call must carry a valid
//! access token (for the path's event, where the path names one) and is then forwarded
//! to the reservation service. Anything else never reaches the backend.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use breakwater_line::EventId;
use breakwater_tokens::AccessToken;

use crate::auth::{access_cookie, bearer, cookie, cookies_with_prefix};
use crate::routes::event_id;
use crate::{ApiError, GatewayState};

/// The ticketing routes.
pub fn routes() -> Router<GatewayState> {
    Router::new()
        .route("/api/v1/events/{event}/seats", get(for_event))
        .route("/api/v1/events/{event}/holds", post(for_event))
        .route("/api/v1/holds/{hold}", get(for_buyer).delete(for_buyer))
        .route("/api/v1/holds/{hold}/checkout", post(checkout))
        .route("/api/v1/orders", get(for_buyer))
        .route("/api/v1/orders/{order}", get(for_buyer))
}

/// Seat map and holds of one event; the access token must be for that event.
async fn for_event(
    State(state): State<GatewayState>,
    Path(event): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let event = event_id(&event)?;
    let token = bearer(&headers)
        .or_else(|| cookie(&headers, &access_cookie(event.as_str())))
        .ok_or(ApiError::MissingToken)?
        .to_owned();
    state.room.verify_access(&token, Some(&event))?;
    forward(&state, method, &uri, headers, &token, body).await
}

/// Holds and orders of the buyer the access token names.
async fn for_buyer(
    State(state): State<GatewayState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (token, _) = buyer_token(&state, &headers)?;
    forward(&state, method, &uri, headers, &token, body).await
}

/// Checkout; a confirmed order ends the buyer's session, so their slot goes to the next
/// in line at once.
async fn checkout(
    State(state): State<GatewayState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (token, access) = buyer_token(&state, &headers)?;
    let response = forward(&state, method, &uri, headers, &token, body).await?;
    if response.status() == axum::http::StatusCode::CREATED
        && let Ok(event) = EventId::parse(&access.event)
        && let Err(error) = state.room.finish(&event, access.number).await
    {
        tracing::warn!(%error, event = %event, "could not free the buyer's slot after checkout");
    }
    Ok(response)
}

/// The access token of the request (bearer, or any event's access cookie) and what it
/// says; the first valid one wins.
fn buyer_token(
    state: &GatewayState,
    headers: &HeaderMap,
) -> Result<(String, AccessToken), ApiError> {
    if let Some(token) = bearer(headers) {
        let access = state.room.verify_access(token, None)?;
        return Ok((token.to_owned(), access));
    }
    let mut last_error = ApiError::MissingToken;
    for token in cookies_with_prefix(headers, "bw_access_") {
        match state.room.verify_access(token, None) {
            Ok(access) => return Ok((token.to_owned(), access)),
            Err(error) => last_error = error.into(),
        }
    }
    Err(last_error)
}

async fn forward(
    state: &GatewayState,
    method: Method,
    uri: &Uri,
    mut headers: HeaderMap,
    token: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let backend = state.backend.as_ref().ok_or(ApiError::NoBackend)?;
    // The backend checks the token too; it gets it in the header even when the page
    // sent it as a cookie.
    let authorization =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ApiError::MissingToken)?;
    headers.insert(header::AUTHORIZATION, authorization);
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let answer = backend.forward(method, path, &headers, body).await?;
    let mut response = (answer.status, answer.body).into_response();
    if let Some(content_type) = answer.content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    Ok(response)
}

/// The OpenAPI description of the forwarded routes (served by the handlers above, which
/// are generic over the path, so each route is described here once).
#[allow(dead_code)]
pub(crate) mod docs {
    use crate::model::ErrorBody;

    /// The event's seat map with live availability.
    #[utoipa::path(get, path = "/api/v1/events/{event}/seats", tag = "ticketing",
        params(("event" = String, Path, description = "Event id")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "Sections with rows of seats (available | held | sold), or `available` for general admission", body = Object),
            (status = 401, description = "Missing, forged or expired access token", body = ErrorBody),
            (status = 403, description = "Access token of another event", body = ErrorBody),
        ))]
    pub fn seats() {}

    /// Hold chosen seats (`{seat_ids}`) or the best adjacent (`{quantity, section_id?}`).
    #[utoipa::path(post, path = "/api/v1/events/{event}/holds", tag = "ticketing",
        params(("event" = String, Path, description = "Event id"),
               ("Idempotency-Key" = String, Header, description = "Required; a retry with the same key returns the first answer")),
        request_body = Object,
        security(("access_token" = [])),
        responses(
            (status = 201, description = "Held: seats, total_cents, currency, expires_at", body = Object),
            (status = 409, description = "seats_unavailable, with seat_ids; nothing is held", body = Object),
            (status = 422, description = "Over the per-buyer ticket limit, or the same key with another body", body = ErrorBody),
        ))]
    pub fn hold() {}

    /// One of the buyer's holds.
    #[utoipa::path(get, path = "/api/v1/holds/{hold}", tag = "ticketing",
        params(("hold" = String, Path, description = "Hold id")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "The hold", body = Object),
            (status = 404, description = "No such hold of this buyer", body = ErrorBody),
        ))]
    pub fn show_hold() {}

    /// Release one of the buyer's holds.
    #[utoipa::path(delete, path = "/api/v1/holds/{hold}", tag = "ticketing",
        params(("hold" = String, Path, description = "Hold id"),
               ("Idempotency-Key" = String, Header, description = "Required")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "Released", body = Object),
            (status = 404, description = "No such hold of this buyer", body = ErrorBody),
            (status = 409, description = "hold_checked_out (a checkout began first; `order_id` names its order) or hold_not_active; nothing is released", body = ErrorBody),
        ))]
    pub fn release_hold() {}

    /// Pay for a hold (`{payment_method}`).
    #[utoipa::path(post, path = "/api/v1/holds/{hold}/checkout", tag = "ticketing",
        params(("hold" = String, Path, description = "Hold id"),
               ("Idempotency-Key" = String, Header, description = "Required")),
        request_body = Object,
        security(("access_token" = [])),
        responses(
            (status = 201, description = "Paid: the confirmed order", body = Object),
            (status = 202, description = "The provider has not answered yet: the order is pending and settles by itself", body = Object),
            (status = 402, description = "payment_declined; the hold is released and nothing captured", body = ErrorBody),
            (status = 404, description = "No such hold of this buyer", body = ErrorBody),
            (status = 409, description = "hold_not_active (cancelled first), hold_expired, hold_checked_out, or order_refunded (the seats were lost and the payment refunded)", body = ErrorBody),
        ))]
    pub fn checkout() {}

    /// The buyer's orders.
    #[utoipa::path(get, path = "/api/v1/orders", tag = "ticketing",
        security(("access_token" = [])),
        responses((status = 200, description = "Orders", body = Object)))]
    pub fn orders() {}

    /// One of the buyer's orders.
    #[utoipa::path(get, path = "/api/v1/orders/{order}", tag = "ticketing",
        params(("order" = String, Path, description = "Order id")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "The order: id, event, seats, total_cents, currency, status", body = Object),
            (status = 404, description = "No such order of this buyer", body = ErrorBody),
        ))]
    pub fn show_order() {}
}
