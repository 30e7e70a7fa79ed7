//! Reading requests: JSON bodies, the `Idempotency-Key` header, path ids. Bad input becomes
//! a 4xx JSON error here, before anything changes.

use axum::body::Bytes;
use axum::http::HeaderMap;
use breakwater_ticketing::{is_valid_event_id, is_valid_idempotency_key, is_valid_resource_id};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Parses a JSON body: 400 `invalid_json` when it is not JSON, 422 `invalid_request` when
/// it does not fit (unknown fields, wrong types, absurd numbers).
pub fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        if error.is_data() {
            ApiError::unprocessable("invalid_request", error.to_string())
        } else {
            ApiError::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {error}"),
            )
        }
    })
}

/// The `Idempotency-Key` header: required on every mutating call.
pub fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers.get("idempotency-key").ok_or_else(|| {
        ApiError::bad_request(
            "idempotency_key_required",
            "mutating calls need an Idempotency-Key header",
        )
    })?;
    match value.to_str() {
        Ok(key) if is_valid_idempotency_key(key) => Ok(key.to_owned()),
        _ => Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "the Idempotency-Key must be 1 to 128 visible ASCII characters",
        )),
    }
}

/// An event id from the path; ids that cannot exist are simply not found.
pub fn event_id(id: &str) -> Result<&str, ApiError> {
    if is_valid_event_id(id) {
        Ok(id)
    } else {
        Err(ApiError::not_found("event_not_found", "no such event"))
    }
}

/// A hold or order id from the path.
pub fn resource_id<'a>(id: &'a str, what: &'static str) -> Result<&'a str, ApiError> {
    if is_valid_resource_id(id) {
        Ok(id)
    } else {
        Err(not_found(what))
    }
}

/// 404 for a hold or order that does not exist or is someone else's (indistinguishable).
pub fn not_found(what: &'static str) -> ApiError {
    match what {
        "order" => ApiError::not_found("order_not_found", "no such order"),
        _ => ApiError::not_found("hold_not_found", "no such hold"),
    }
}
