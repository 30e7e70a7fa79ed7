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

/// Arbitrary request bodies for the property tests of every body this API takes.
#[cfg(test)]
pub(crate) mod arbitrary {
    use proptest::prelude::*;
    use serde_json::Value;

    use crate::error::ApiError;

    /// Field names the bodies know, and some they do not.
    const KEYS: &[&str] = &[
        "seat_ids",
        "quantity",
        "section_id",
        "price_cents",
        "total_cents",
        "currency",
        "payment_method",
        "name",
        "ticket_limit_per_buyer",
        "hold_seconds",
        "venue",
        "sections",
        "rows",
        "seats_per_row",
        "capacity",
        "x",
    ];

    /// Any JSON value, objects keyed mostly by the bodies' own field names.
    pub fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..12).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            "[A-Z]{1,2}-[0-9]{1,3}-[0-9]{1,3}".prop_map(Value::from),
            prop_oneof![Just("card"), Just("USD"), Just("A"), Just("")].prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
                            1 => "\\PC{0,6}",
                        ],
                        inner,
                    ),
                    0..8,
                )
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// A body: mostly JSON, sometimes any bytes.
    pub fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => json_value().prop_map(|value| serde_json::to_vec(&value).unwrap_or_default()),
            1 => proptest::collection::vec(any::<u8>(), 0..128),
        ]
    }

    /// A refusal must be a 4xx: bad input is never the server's failure.
    pub fn refused_clearly(error: ApiError) -> Result<(), TestCaseError> {
        let stored = error.into_stored();
        prop_assert!((400..500).contains(&stored.status), "{}", stored.status);
        prop_assert!(stored.body["error"].is_string() && stored.body["message"].is_string());
        Ok(())
    }
}
