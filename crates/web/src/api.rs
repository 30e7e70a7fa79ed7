//! Calling the public API in-process, through the router it is served by.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Largest API answer a page reads.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The public API, as the server-rendered pages reach it.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// What a page passes on from the browser's request to the API: its cookies (the
/// buyer's tokens), language, and who the client is (its address and `X-Forwarded-For`,
/// so per-client limits count the browser, not the server).
pub struct Browser {
    /// The request's headers.
    pub headers: HeaderMap,
    peer: Option<ConnectInfo<SocketAddr>>,
}

impl<S: Send + Sync> FromRequestParts<S> for Browser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            headers: parts.headers.clone(),
            peer: parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned(),
        })
    }
}

/// An answer of the API.
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its `Set-Cookie` headers, for the browser.
    pub cookies: Vec<HeaderValue>,
    /// Its JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// Its `Retry-After` in seconds, if any.
    pub retry_after: Option<u64>,
}

impl Api {
    /// The API served by `router`.
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    /// Calls `method path` for `browser`, with its cookies when `with_cookies`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        browser: &Browser,
        with_cookies: bool,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        let passed_on = [
            header::ACCEPT_LANGUAGE,
            header::HeaderName::from_static("x-forwarded-for"),
        ];
        for name in passed_on
            .iter()
            .chain(with_cookies.then_some(&header::COOKIE))
        {
            for value in browser.headers.get_all(name) {
                request = request.header(name, value);
            }
        }
        if let Some(peer) = browser.peer {
            request = request.extension(peer);
        }
        let request = match request.body(Body::empty()) {
            Ok(request) => request,
            Err(error) => return Answer::failed(&error.to_string()),
        };
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(infallible) => match infallible {},
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        let cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        let body = match http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
        {
            Ok(collected) => serde_json::from_slice(&collected.to_bytes()).unwrap_or(Value::Null),
            Err(error) => return Answer::failed(&error.to_string()),
        };
        Answer {
            status,
            cookies,
            body,
            retry_after,
        }
    }
}

impl Answer {
    fn failed(message: &str) -> Self {
        tracing::warn!(message, "an in-process API call failed");
        Self {
            status: StatusCode::BAD_GATEWAY,
            cookies: Vec::new(),
            body: Value::Null,
            retry_after: None,
        }
    }

    /// The string field `name` of the body, or "".
    pub fn text(&self, name: &str) -> &str {
        self.body.get(name).and_then(Value::as_str).unwrap_or("")
    }
}
