//! Request parts read the gateway's way: bad input becomes a clear 4xx.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use breakwater_line::EventId;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON body; a malformed one is a 400 that says what is wrong.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::InvalidJson(describe(rejection))),
        }
    }
}

fn describe(rejection: JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "the body must be JSON with Content-Type: application/json".into()
        }
        other => other.body_text(),
    }
}

/// The `{event}` path parameter as an event id.
pub fn event_id(text: &str) -> Result<EventId, ApiError> {
    EventId::parse(text).map_err(|invalid| ApiError::InvalidPath {
        parameter: "event",
        message: format!("event id {}", invalid.reason),
    })
}
