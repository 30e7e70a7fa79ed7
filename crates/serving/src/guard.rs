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
        .service(router.layer(axum::middleware::from_fn_with_state(
            limits.max_header_bytes,
            header_bound,
        )))
}

/// Refuses a request whose target and headers together are larger than `max` bytes with
/// 431 and the JSON error shape. hyper's own bound (its read buffer, which may read up to
/// twice as far before it gives up with a bare 431) stays behind it for larger ones.
async fn header_bound(
    axum::extract::State(max): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let size = request.uri().to_string().len()
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size <= max {
        return next.run(request).await;
    }
    let body = serde_json::json!({
        "error": "headers_too_large",
        "message": format!("the request line and headers are {size} bytes; at most {max} are read"),
    });
    let mut response = (
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        axum::Json(body),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
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
