//! Request parts read the gateway's way: bad input becomes a clear 4xx.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
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

/// Path parameters; one that is not what the route takes (text that is not UTF-8, say) is
/// a 400 `invalid_path` naming the parameter.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_error(rejection)),
        }
    }
}

fn path_error(rejection: PathRejection) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        return ApiError::InvalidPath {
            parameter: "path".into(),
            message: rejection.body_text(),
        };
    };
    let (parameter, message) = match failed.kind() {
        ErrorKind::InvalidUtf8InPathParam { key } => {
            (key.clone(), format!("`{key}` is not valid UTF-8 text"))
        }
        ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. } => {
            (key.clone(), failed.body_text())
        }
        _ => ("path".to_owned(), failed.body_text()),
    };
    ApiError::InvalidPath { parameter, message }
}

/// The `{event}` path parameter as an event id.
pub fn event_id(text: &str) -> Result<EventId, ApiError> {
    EventId::parse(text).map_err(|invalid| ApiError::InvalidPath {
        parameter: "event".into(),
        message: format!("event id {}", invalid.reason),
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, header};
    use axum::response::IntoResponse;
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::model::{CreateEventRequest, PatchEventRequest};

    /// Field names the request types know, and some they do not.
    const KEYS: &[&str] = &[
        "id",
        "name",
        "admission_rate_per_second",
        "max_active_users",
        "heartbeat_timeout_seconds",
        "claim_window_seconds",
        "session_seconds",
        "opens_at",
        "ticket_limit_per_buyer",
        "hold_seconds",
        "venue",
        "sections",
        "price_cents",
        "rows",
        "seats_per_row",
        "capacity",
        "currency",
        "paused",
        "closed",
        "x",
    ];

    /// Any JSON value, objects keyed mostly by the request types' own field names.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![Just(0.0), Just(-1.0), Just(1e308), Just(f64::MIN_POSITIVE)]
                .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            "[a-z0-9_-]{1,8}".prop_map(Value::from),
            Just(Value::from("2026-12-01T10:00:00Z")),
        ];
        leaf.prop_recursive(4, 48, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(
                    (prop_oneof![4 => proptest::sample::select(KEYS).prop_map(str::to_owned), 1 => "\\PC{0,6}"], inner),
                    0..8,
                )
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    }

    /// Runs `body` through [`ApiJson`] as the routes do: it parses, or the answer is a 4xx
    /// with the JSON error shape.
    fn extract<T: DeserializeOwned>(body: Vec<u8>, json: bool) -> Result<T, ApiError> {
        let mut request = Request::builder().method("POST").uri("/x");
        if json {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(Body::from(body)).expect("a request");
        runtime()
            .block_on(ApiJson::<T>::from_request(request, &()))
            .map(|ApiJson(value)| value)
    }

    fn refused_clearly(error: ApiError) -> Result<(), TestCaseError> {
        let response = error.into_response();
        prop_assert!(response.status().is_client_error(), "{}", response.status());
        let body = runtime()
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .expect("a body");
        let body: Value = serde_json::from_slice(&body).expect("a JSON body");
        prop_assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{}",
            body
        );
        Ok(())
    }

    proptest! {
        #[test]
        fn any_json_creates_an_event_or_is_refused_clearly(value in json_value()) {
            let bytes = serde_json::to_vec(&value).expect("JSON");
            match extract::<CreateEventRequest>(bytes, true) {
                Ok(request) => {
                    // What the handler does next is pure and must not panic either.
                    if let Err(error) = crate::routes::admin::checked_settings(&request) {
                        refused_clearly(error)?;
                    }
                }
                Err(error) => refused_clearly(error)?,
            }
        }

        #[test]
        fn any_json_patches_an_event_or_is_refused_clearly(value in json_value()) {
            let bytes = serde_json::to_vec(&value).expect("JSON");
            match extract::<PatchEventRequest>(bytes, true) {
                Ok(patch) => {
                    let mut settings = breakwater_line::LineSettings::with_defaults("Gig", 0);
                    let applied = patch.apply_to(&mut settings).and_then(|()| {
                        settings.validate().map_err(crate::routes::admin::invalid)
                    });
                    let _ = patch.sale_patch();
                    if let Err(error) = applied {
                        refused_clearly(error)?;
                    }
                }
                Err(error) => refused_clearly(error)?,
            }
        }

        #[test]
        fn any_bytes_are_parsed_or_refused_clearly(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            json in any::<bool>(),
        ) {
            if let Err(error) = extract::<CreateEventRequest>(bytes.clone(), json) {
                refused_clearly(error)?;
            }
            if let Err(error) = extract::<PatchEventRequest>(bytes, json) {
                refused_clearly(error)?;
            }
        }
    }
}
