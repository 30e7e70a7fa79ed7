//! The ticketing API, reached only through the gateway: every call must carry a valid
//! access token (for the path's event, where the path names one) and is then forwarded
//! to the reservation service on a path rebuilt from the parsed ids, never the buyer's
//! own text. Anything else never reaches the backend.
//!
//! Calls that buy (holds, checkouts) need a session that still holds a slot; reads (the
//! seat map, the buyer's holds and orders) and cancels (which only give seats back) need
//! only proof of who the buyer is, so a buyer can read their orders after their session
//! ended.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use breakwater_line::EventId;
use breakwater_ticketing::is_valid_resource_id;
use breakwater_tokens::AccessToken;

use crate::auth::{access_cookie, bearer, cookie, cookies_with_prefix};
use crate::routes::{ApiPath, event_id};
use crate::{ApiError, GatewayState};

/// The ticketing routes.
pub fn routes() -> Router<GatewayState> {
    Router::new()
        .route("/api/v1/events/{event}/seats", get(seat_map))
        .route("/api/v1/events/{event}/holds", post(hold))
        .route("/api/v1/holds/{hold}", get(show_hold).delete(release_hold))
        .route("/api/v1/holds/{hold}/checkout", post(checkout))
        .route("/api/v1/orders", get(orders))
        .route("/api/v1/orders/{order}", get(show_order))
}

/// What a call needs of the buyer's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Proof of who the buyer is, also a while after the session ended.
    Identity,
    /// A session that still holds a slot.
    ActiveSession,
}

/// A buyer's call, checked and ready to forward.
struct Call {
    token: String,
    buyer: AccessToken,
}

async fn seat_map(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let event = event_id(&event)?;
    let path = format!("/api/v1/events/{event}/seats");
    let call = event_call(&state, &event, &headers, Need::Identity)?;
    forward(&state, Method::GET, &path, headers, &call, Bytes::new()).await
}

async fn hold(
    State(state): State<GatewayState>,
    ApiPath(event): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let event = event_id(&event)?;
    let call = event_call(&state, &event, &headers, Need::ActiveSession)?;
    let path = format!("/api/v1/events/{event}/holds");
    forward(&state, Method::POST, &path, headers, &call, body).await
}

async fn show_hold(
    State(state): State<GatewayState>,
    ApiPath(hold): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/holds/{}", resource(&hold, "hold")?);
    for_buyer(&state, Method::GET, &path, headers, Need::Identity).await
}

async fn release_hold(
    State(state): State<GatewayState>,
    ApiPath(hold): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/holds/{}", resource(&hold, "hold")?);
    // A cancel only gives seats back: it needs no session (the backend answers a hold
    // that is gone, or was bought, for what it is).
    for_buyer(&state, Method::DELETE, &path, headers, Need::Identity).await
}

/// Checkout; a confirmed order ends the buyer's session, so their slot goes to the next
/// in line at once.
async fn checkout(
    State(state): State<GatewayState>,
    ApiPath(hold): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/holds/{}/checkout", resource(&hold, "hold")?);
    let call = buyer_call(&state, &headers, Need::ActiveSession)?;
    let response = forward(&state, Method::POST, &path, headers, &call, body).await?;
    if response.status() == StatusCode::CREATED
        && let Ok(event) = EventId::parse(&call.buyer.event)
        && let Err(error) = state.room.finish(&event, &call.buyer).await
    {
        tracing::warn!(%error, event = %event, "could not free the buyer's slot after checkout");
    }
    Ok(response)
}

async fn orders(
    State(state): State<GatewayState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    for_buyer(
        &state,
        Method::GET,
        "/api/v1/orders",
        headers,
        Need::Identity,
    )
    .await
}

async fn show_order(
    State(state): State<GatewayState>,
    ApiPath(order): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{}", resource(&order, "order")?);
    for_buyer(&state, Method::GET, &path, headers, Need::Identity).await
}

/// Forwards a bodiless call about the buyer's own holds and orders.
async fn for_buyer(
    state: &GatewayState,
    method: Method,
    path: &str,
    headers: HeaderMap,
    need: Need,
) -> Result<Response, ApiError> {
    let call = buyer_call(state, &headers, need)?;
    forward(state, method, path, headers, &call, Bytes::new()).await
}

/// A hold or order id from the path; anything else names nothing.
fn resource<'a>(id: &'a str, what: &'static str) -> Result<&'a str, ApiError> {
    if is_valid_resource_id(id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound(what))
    }
}

/// A call about one event: the access token (bearer, or that event's cookie) must be for
/// it.
fn event_call(
    state: &GatewayState,
    event: &EventId,
    headers: &HeaderMap,
    need: Need,
) -> Result<Call, ApiError> {
    let token = bearer(headers)
        .or_else(|| cookie(headers, &access_cookie(event.as_str())))
        .ok_or(ApiError::MissingToken)?;
    checked(state, token, Some(event), need)
}

/// A call about the buyer's own holds and orders: the access token of the request
/// (bearer, or any event's access cookie); the first valid one wins.
fn buyer_call(state: &GatewayState, headers: &HeaderMap, need: Need) -> Result<Call, ApiError> {
    if let Some(token) = bearer(headers) {
        return checked(state, token, None, need);
    }
    let mut last_error = ApiError::MissingToken;
    for token in cookies_with_prefix(headers, "bw_access_") {
        match checked(state, token, None, need) {
            Ok(call) => return Ok(call),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

fn checked(
    state: &GatewayState,
    token: &str,
    event: Option<&EventId>,
    need: Need,
) -> Result<Call, ApiError> {
    let buyer = match need {
        Need::Identity => state.room.verify_buyer(token, event)?,
        Need::ActiveSession => {
            let buyer = state.room.verify_access(token, event)?;
            let event = EventId::parse(&buyer.event).map_err(|_| ApiError::MissingToken)?;
            state.room.check_session(&event, &buyer)?;
            buyer
        }
    };
    Ok(Call {
        token: token.to_owned(),
        buyer,
    })
}

async fn forward(
    state: &GatewayState,
    method: Method,
    path: &str,
    mut headers: HeaderMap,
    call: &Call,
    body: Bytes,
) -> Result<Response, ApiError> {
    let backend = state.backend.as_ref().ok_or(ApiError::NoBackend)?;
    // The backend checks the token too; it gets it in the header even when the page
    // sent it as a cookie.
    let authorization = HeaderValue::from_str(&format!("Bearer {}", call.token))
        .map_err(|_| ApiError::MissingToken)?;
    headers.insert(header::AUTHORIZATION, authorization);
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
    use crate::schemas::{
        CheckoutRequest, HoldBody, HoldRequest, OrderBody, OrdersBody, PendingCheckoutBody,
        SeatMapBody, SeatsUnavailableBody,
    };

    /// The event's seat map with live availability.
    #[utoipa::path(get, path = "/api/v1/events/{event}/seats", tag = "ticketing",
        params(("event" = String, Path, description = "Event id", example = "demo")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "Sections with rows of seats (available | held | sold), or `available` for general admission", body = SeatMapBody),
            (status = 401, description = "Missing, forged or expired access token", body = ErrorBody),
            (status = 403, description = "Access token of another event", body = ErrorBody),
            (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
        ))]
    pub fn seats() {}

    /// Hold chosen seats (`{seat_ids}`) or the best adjacent (`{quantity, section_id?}`).
    #[utoipa::path(post, path = "/api/v1/events/{event}/holds", tag = "ticketing",
        params(("event" = String, Path, description = "Event id", example = "demo"),
               ("Idempotency-Key" = String, Header, description = "Required; a retry with the same key returns the first answer")),
        request_body = HoldRequest,
        security(("access_token" = [])),
        responses(
            (status = 201, description = "Held: seats, total_cents, currency, expires_at", body = HoldBody),
            (status = 403, description = "session_ended: the buyer left, their order was confirmed, or the session ran out; the token may only read orders", body = ErrorBody),
            (status = 409, description = "seats_unavailable, with seat_ids; nothing is held", body = SeatsUnavailableBody),
            (status = 422, description = "Over the per-buyer ticket limit, or the same key with another body", body = ErrorBody),
            (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
        ))]
    pub fn hold() {}

    /// One of the buyer's holds.
    #[utoipa::path(get, path = "/api/v1/holds/{hold}", tag = "ticketing",
        params(("hold" = String, Path, description = "Hold id")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "The hold", body = HoldBody),
            (status = 404, description = "No such hold of this buyer", body = ErrorBody),
            (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
        ))]
    pub fn show_hold() {}

    /// Release one of the buyer's holds.
    #[utoipa::path(delete, path = "/api/v1/holds/{hold}", tag = "ticketing",
        params(("hold" = String, Path, description = "Hold id"),
               ("Idempotency-Key" = String, Header, description = "Required")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "Released", body = HoldBody),
            (status = 403, description = "session_ended", body = ErrorBody),
            (status = 404, description = "No such hold of this buyer", body = ErrorBody),
            (status = 409, description = "hold_checked_out (a checkout began first; `order_id` names its order) or hold_not_active; nothing is released", body = ErrorBody),
            (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
        ))]
    pub fn release_hold() {}

    /// Pay for a hold (`{payment_method}`).
    #[utoipa::path(post, path = "/api/v1/holds/{hold}/checkout", tag = "ticketing",
        params(("hold" = String, Path, description = "Hold id"),
               ("Idempotency-Key" = String, Header, description = "Required")),
        request_body = CheckoutRequest,
        security(("access_token" = [])),
        responses(
            (status = 201, description = "Paid: the confirmed order", body = OrderBody),
            (status = 202, description = "The provider has not answered yet: the order is pending and settles by itself", body = PendingCheckoutBody),
            (status = 402, description = "payment_declined; the hold is released and nothing captured", body = ErrorBody),
            (status = 403, description = "session_ended", body = ErrorBody),
            (status = 404, description = "No such hold of this buyer", body = ErrorBody),
            (status = 409, description = "hold_not_active (cancelled first), hold_expired, hold_checked_out, or order_refunded (the seats were lost and the payment refunded)", body = ErrorBody),
            (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
        ))]
    pub fn checkout() {}

    /// The buyer's orders (also after the session ended).
    #[utoipa::path(get, path = "/api/v1/orders", tag = "ticketing",
        security(("access_token" = [])),
        responses(
            (status = 200, description = "Orders", body = OrdersBody),
            (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
        ))]
    pub fn orders() {}

    /// One of the buyer's orders.
    #[utoipa::path(get, path = "/api/v1/orders/{order}", tag = "ticketing",
        params(("order" = String, Path, description = "Order id")),
        security(("access_token" = [])),
        responses(
            (status = 200, description = "The order: id, event, seats, total_cents, currency, status", body = OrderBody),
            (status = 404, description = "No such order of this buyer", body = ErrorBody),
            (status = 429, description = "This client is past its limit; retry after Retry-After", body = ErrorBody),
        ))]
    pub fn show_order() {}
}
