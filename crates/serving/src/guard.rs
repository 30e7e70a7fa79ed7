//! The tower stack in front of every route: a request is answered within its deadline or
//! gets 503; one that finds every in-flight slot taken is shed at once, never queued.

use std::convert::Infallible;

use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use hyper::body::Incoming;
use tower::{Service, ServiceBuilder};

use crate::Limits;

/// Seconds a shed or late client is told to wait before retrying.
const RETRY_AFTER_SECONDS: u32 = 1;

/// `router` behind the request deadline, the in-flight cap and load shedding.
pub(crate) fn guarded(
    router: Router,
    limits: &Limits,
) -> impl Service<hyper::Request<Incoming>, Response = Response, Error = Infallible, Future = impl Send>
+ Clone
+ Send
+ 'static {
    ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refusal))
        .load_shed()
        .concurrency_limit(limits.max_in_flight)
        .timeout(limits.request_timeout())
        .service(router)
}

/// The answer to a request the stack gave up on.
async fn refusal(error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        unavailable(
            "request_timeout",
            "the request took too long; retry shortly",
        )
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        unavailable("overloaded", "the server is busy; retry shortly")
    } else {
        tracing::error!(%error, "request failed below the routes");
        let body = serde_json::json!({"error": "internal", "message": "the request failed"});
        (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
    }
}

fn unavailable(code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}
