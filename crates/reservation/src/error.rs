//! The one place where failures become HTTP answers: `{"error": code, "message": …, …}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use breakwater_serving::PlainError;
use serde_json::{Map, Value};

use crate::clients::RemoteError;
use crate::store::{StoreError, StoredResponse};

/// An error answer: status, snake_case code, human message and optional details.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Map<String, Value>,
    /// Sent as `Retry-After` (seconds): the request may succeed when tried again.
    retry_after_seconds: Option<u64>,
}

/// How long a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: u64 = 1;

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Map::new(),
            retry_after_seconds: None,
        }
    }

    /// 503 `code` with `Retry-After`: nothing was decided, the same request may be tried
    /// again shortly.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            retry_after_seconds: Some(RETRY_AFTER_SECONDS),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }

    /// Adds a detail field to the body.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// 400 `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 `code`.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404 `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// The answer as a storable response (for idempotent replay). Only final answers are
    /// stored; `Retry-After` belongs to answers that are not.
    pub fn into_stored(self) -> StoredResponse {
        StoredResponse {
            status: self.status.as_u16(),
            body: self.body(),
        }
    }

    fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), Value::from(self.code));
        body.insert("message".into(), Value::from(self.message.clone()));
        for (key, value) in &self.details {
            body.insert(key.clone(), value.clone());
        }
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "reservation store failure");
        Self::unavailable(
            "storage_unavailable",
            "the reservation database is unavailable, retry shortly",
        )
    }
}

impl From<RemoteError> for ApiError {
    fn from(error: RemoteError) -> Self {
        tracing::warn!(%error, "backend call failed");
        match error {
            RemoteError::Contended { .. } => Self::unavailable(
                "contention",
                "too many buyers asked for these seats at once and nothing was held; \
                 retry with the same Idempotency-Key",
            ),
            RemoteError::Refused { .. } | RemoteError::Unavailable { .. } => Self::unavailable(
                "backend_unavailable",
                "a ticketing service did not answer, retry with the same Idempotency-Key",
            ),
        }
    }
}

/// The safety net behind the handlers: an error answer axum made itself (a path
/// parameter that is not UTF-8, a body past the size limit) is text, not JSON; it becomes
/// the API's JSON error shape with the same status.
pub async fn json_errors(response: Response) -> Response {
    let plain = match PlainError::from_response(response).await {
        Ok(plain) => plain,
        Err(response) => return response,
    };
    let (code, message) = match plain.status {
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the body is too large".to_owned()),
        StatusCode::NOT_FOUND => ("not_found", "no such route".to_owned()),
        _ => ("bad_request", plain.message()),
    };
    let answer = ApiError::new(plain.status, code, message).into_response();
    plain.finish(answer)
}

/// Sends a stored (or fresh) answer.
pub fn send(response: StoredResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    (status, Json(response.body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn reshaped(status: StatusCode, text: &'static str) -> (StatusCode, Value) {
        let response = json_errors((status, text).into_response()).await;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn axum_text_rejections_become_the_json_error_shape() {
        let (status, body) = reshaped(
            StatusCode::BAD_REQUEST,
            "Invalid URL: Invalid UTF-8 in `order`",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad_request");
        assert_eq!(body["message"], "Invalid URL: Invalid UTF-8 in `order`");
        let (status, body) = reshaped(StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"], "body_too_large");
        let ok = json_errors((StatusCode::OK, "ok").into_response()).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
