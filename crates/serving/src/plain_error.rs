//! Error answers made outside an API's handlers (axum's rejections, the body limit, an
//! unknown route) are plain text; each API reshapes them into its own JSON error shape.
//! This is the part every API shares: picking them out, and finishing the reshaped one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// Most of a plain error's text that is kept.
const MAX_TEXT_BYTES: usize = 4096;

/// An error answer that is not JSON.
#[derive(Debug)]
pub struct PlainError {
    /// Its status.
    pub status: StatusCode,
    /// Its text, trimmed (empty when it had none).
    pub text: String,
    retry_after: Option<HeaderValue>,
}

impl PlainError {
    /// Picks out an error answer that is not JSON; any other answer comes back as it is.
    pub async fn from_response(response: Response) -> Result<Self, Response> {
        let status = response.status();
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json || !(status.is_client_error() || status.is_server_error()) {
            return Err(response);
        }
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let text = axum::body::to_bytes(response.into_body(), MAX_TEXT_BYTES)
            .await
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
            .unwrap_or_default();
        Ok(Self {
            status,
            text,
            retry_after,
        })
    }

    /// The text, or the status's reason when there was none.
    pub fn message(&self) -> String {
        if self.text.is_empty() {
            let reason = self.status.canonical_reason();
            reason.unwrap_or("the request was refused").to_owned()
        } else {
            self.text.clone()
        }
    }

    /// Finishes the API's reshaped answer: it keeps `Retry-After`, and after a body too
    /// large (left unread) it closes the connection, which cannot carry another request.
    pub fn finish(self, mut reshaped: Response) -> Response {
        let headers = reshaped.headers_mut();
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(value) = self.retry_after {
            headers.insert(header::RETRY_AFTER, value);
        }
        reshaped
    }
}
