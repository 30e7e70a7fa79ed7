//! The one place where every failure becomes an HTTP response: a status code and a JSON
//! body `{error, message, ...}` that says what is wrong.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use breakwater_serving::PlainError;
use breakwater_tokens::TokenError;
use breakwater_waitroom::WaitroomError;
use serde_json::{Value, json};

use crate::backend::BackendError;
use crate::model::QueueStatusBody;

/// A request that failed, and why.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The waiting room refused or failed.
    #[error(transparent)]
    Waitroom(#[from] WaitroomError),
    /// No token in `Authorization: Bearer …` or the event's cookie.
    #[error("a token is required in the Authorization header (Bearer) or the event's cookie")]
    MissingToken,
    /// The admin key is missing or wrong.
    #[error("the admin API requires Authorization: Bearer <admin key>")]
    AdminKeyRequired,
    /// The body is not the JSON this route takes.
    #[error("{0}")]
    InvalidJson(String),
    /// A path parameter is malformed.
    #[error("{message}")]
    InvalidPath {
        /// Which parameter.
        parameter: String,
        /// What is wrong with it.
        message: String,
    },
    /// A field is invalid.
    #[error("`{field}` {message}")]
    InvalidField {
        /// The field, as named in the request.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No such hold or order (ids that cannot exist are not forwarded).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// This deployment has no ticketing backend configured.
    #[error("this gateway has no ticketing backend")]
    NoBackend,
    /// The ticketing backend refused or failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// No route has this path.
    #[error("no such route")]
    NoRoute,
    /// The route exists but does not take this method.
    #[error("this route does not take that method")]
    MethodNotAllowed,
    /// The body is larger than any route takes.
    #[error("the body is larger than the {limit} bytes any route takes")]
    BodyTooLarge {
        /// The largest body taken, in bytes.
        limit: usize,
    },
    /// The request could not be read as HTTP the API takes (what axum or hyper said).
    #[error("{message}")]
    BadRequest {
        /// The status it was refused with (a 4xx).
        status: StatusCode,
        /// What is wrong with it.
        message: String,
    },
    /// This client has called too often; it may again after the given seconds.
    #[error("too many requests from this client; retry after {retry_after_seconds} s")]
    TooManyRequests {
        /// Whole seconds until the client may call again.
        retry_after_seconds: u64,
    },
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, Option<u64>) {
        match self {
            Self::Waitroom(error) => waitroom_parts(error),
            Self::MissingToken => (StatusCode::UNAUTHORIZED, "missing_token", None),
            Self::AdminKeyRequired => (StatusCode::UNAUTHORIZED, "admin_key_required", None),
            Self::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json", None),
            Self::InvalidPath { .. } => (StatusCode::BAD_REQUEST, "invalid_path", None),
            Self::InvalidField { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", None),
            Self::NotFound("order") => (StatusCode::NOT_FOUND, "order_not_found", None),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "hold_not_found", None),
            Self::NoBackend => (StatusCode::SERVICE_UNAVAILABLE, "no_backend", None),
            Self::Backend(BackendError::Unavailable { .. }) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "backend_unavailable",
                Some(1),
            ),
            Self::Backend(BackendError::Busy) => {
                (StatusCode::SERVICE_UNAVAILABLE, "backend_busy", Some(1))
            }
            Self::Backend(BackendError::Rejected { .. }) => {
                (StatusCode::BAD_GATEWAY, "backend_rejected", None)
            }
            Self::NoRoute => (StatusCode::NOT_FOUND, "not_found", None),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None),
            Self::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", None),
            Self::BadRequest { status, .. } => (*status, "bad_request", None),
            Self::TooManyRequests {
                retry_after_seconds,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                Some(*retry_after_seconds),
            ),
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            Self::Waitroom(WaitroomError::NotReady(status))
            | Self::Waitroom(WaitroomError::AlreadyEntered(status)) => {
                serde_json::to_value(QueueStatusBody::from(status.as_ref())).ok()
            }
            Self::Waitroom(WaitroomError::InvalidSetting(invalid)) => {
                Some(json!({ "field": invalid.field }))
            }
            Self::InvalidField { field, .. } => Some(json!({ "field": field })),
            Self::InvalidPath { parameter, .. } => Some(json!({ "parameter": parameter })),
            Self::Waitroom(WaitroomError::ProofRequired { bits }) => Some(json!({ "bits": bits })),
            _ => None,
        }
    }
}

fn waitroom_parts(error: &WaitroomError) -> (StatusCode, &'static str, Option<u64>) {
    match error {
        WaitroomError::UnknownEvent => (StatusCode::NOT_FOUND, "unknown_event", None),
        WaitroomError::Token(token) => token_parts(token),
        WaitroomError::NotReady(_) => (StatusCode::CONFLICT, "not_ready", None),
        WaitroomError::AlreadyEntered(_) => (StatusCode::CONFLICT, "already_entered", None),
        WaitroomError::PlaceExpired => (StatusCode::GONE, "place_expired", None),
        WaitroomError::Closed => (StatusCode::CONFLICT, "event_closed", None),
        WaitroomError::SessionEnded => (StatusCode::FORBIDDEN, "session_ended", None),
        WaitroomError::SoldOut => (StatusCode::GONE, "sold_out", None),
        WaitroomError::Unavailable {
            retry_after_seconds,
        } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            Some(*retry_after_seconds),
        ),
        WaitroomError::Overloaded {
            retry_after_seconds,
        } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            Some(*retry_after_seconds),
        ),
        WaitroomError::EventExists => (StatusCode::CONFLICT, "event_exists", None),
        WaitroomError::InvalidSetting(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", None)
        }
        WaitroomError::ProofRequired { .. } => {
            (StatusCode::PRECONDITION_REQUIRED, "proof_required", None)
        }
        WaitroomError::Proof(_) => (StatusCode::BAD_REQUEST, "invalid_proof", None),
        WaitroomError::ProofUsed => (StatusCode::CONFLICT, "proof_used", None),
    }
}

fn token_parts(error: &TokenError) -> (StatusCode, &'static str, Option<u64>) {
    match error {
        TokenError::Malformed | TokenError::BadSignature => {
            (StatusCode::UNAUTHORIZED, "invalid_token", None)
        }
        TokenError::Expired => (StatusCode::UNAUTHORIZED, "token_expired", None),
        TokenError::WrongKind => (StatusCode::FORBIDDEN, "wrong_token_kind", None),
        TokenError::WrongEvent => (StatusCode::FORBIDDEN, "wrong_event", None),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Backend(BackendError::Rejected { status, body }) = self {
            // The backend's own answer (a 4xx with its JSON body) goes to the buyer as is.
            return backend_answer(status, body);
        }
        if let Self::Backend(BackendError::Unavailable { detail }) = &self {
            // The detail names internal addresses: it goes to the log, not to the client.
            tracing::warn!(%detail, "ticketing backend unavailable");
        }
        let (status, code, retry_after) = self.parts();
        let mut body = json!({ "error": code, "message": self.to_string() });
        if let (Some(Value::Object(extra)), Value::Object(map)) = (self.details(), &mut body) {
            for (key, value) in extra {
                map.entry(key).or_insert(value);
            }
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The safety net behind the extractors: an error answer made outside them (axum's own
/// rejections, the body limit, an unknown method) that is not JSON becomes the API's JSON
/// error shape, so a client always reads `{error, message}`.
pub async fn json_errors(response: Response) -> Response {
    let plain = match PlainError::from_response(response).await {
        Ok(plain) => plain,
        Err(response) => return response,
    };
    let error = match plain.status {
        StatusCode::NOT_FOUND => ApiError::NoRoute,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge {
            limit: crate::routes::MAX_BODY_BYTES,
        },
        status => ApiError::BadRequest {
            status,
            message: plain.message(),
        },
    };
    plain.finish(error.into_response())
}

fn backend_answer(status: u16, body: bytes::Bytes) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
