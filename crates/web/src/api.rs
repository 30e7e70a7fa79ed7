//! Calling the public API in-process, through the router it is served by.

use axum::Router;
use axum::body::Body;
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

/// An answer of the API.
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its `Set-Cookie` headers, for the browser.
    pub cookies: Vec<HeaderValue>,
    /// Its JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
}

impl Api {
    /// The API served by `router`.
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    /// Calls `method path` with the browser's cookies (which carry the buyer's tokens).
    pub async fn call(&self, method: Method, path: &str, browser: &HeaderMap) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        for cookie in browser.get_all(header::COOKIE) {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(language) = browser.get(header::ACCEPT_LANGUAGE) {
            request = request.header(header::ACCEPT_LANGUAGE, language);
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
        }
    }

    /// The string field `name` of the body, or "".
    pub fn text(&self, name: &str) -> &str {
        self.body.get(name).and_then(Value::as_str).unwrap_or("")
    }
}
