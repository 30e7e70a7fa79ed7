//! Requests as plain data, and whole replies.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;

use super::HttpError;

/// One request to the target server.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Sent as `Authorization: Bearer …`.
    pub bearer: Option<Arc<str>>,
    /// A JSON body.
    pub body: Option<Bytes>,
    /// Sent as `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

impl Call {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A request with no token and no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            bearer: None,
            body: None,
            idempotency_key: None,
        }
    }

    /// With a bearer token.
    pub fn bearer(mut self, token: Arc<str>) -> Self {
        self.bearer = Some(token);
        self
    }

    /// With a JSON body.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(Bytes::from(body.to_string()));
        self
    }

    /// With an idempotency key.
    pub fn idempotency_key(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// The HTTP request, addressed to `host`.
    pub(crate) fn to_request(&self, host: &str) -> Result<Request<Full<Bytes>>, HttpError> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(&self.path)
            .header(header::HOST, host);
        if let Some(token) = &self.bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = &self.idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        let body = match &self.body {
            Some(body) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                body.clone()
            }
            None => Bytes::new(),
        };
        builder
            .body(Full::new(body))
            .map_err(|error| HttpError::BadRequest(error.to_string()))
    }
}

/// A whole reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Retry-After` header in seconds, when given.
    pub retry_after_seconds: Option<u64>,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_headers() {
        let call = Call::new(Method::POST, "/api/v1/events/x/holds")
            .bearer(Arc::from("tok"))
            .idempotency_key("k1".into())
            .json(&serde_json::json!({"quantity": 2}));
        let request = call.to_request("127.0.0.1:1").unwrap();
        assert_eq!(request.headers()[header::AUTHORIZATION], "Bearer tok");
        assert_eq!(request.headers()["idempotency-key"], "k1");
        assert_eq!(request.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(request.uri().path(), "/api/v1/events/x/holds");
    }
}
