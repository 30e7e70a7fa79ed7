//! `POST /api/v1/holds/{hold}/checkout`: pay for a hold.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use breakwater_ticketing::{HoldState, OrderState, PaymentMethod};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;

use super::{AppState, input, views};
use crate::auth;
use crate::error::{ApiError, send};
use crate::saga::{SagaError, now_ms};
use crate::store::{BeginCheckout, HoldRecord, OrderRecord, StoredResponse};

/// The checkout body. Money fields a client may send are accepted and ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutBody {
    payment_method: String,
    #[serde(default, rename = "total_cents")]
    _total_cents: Option<IgnoredAny>,
    #[serde(default, rename = "currency")]
    _currency: Option<IgnoredAny>,
}

/// Starts (or resumes) the checkout saga for the buyer's hold and answers with where it
/// got: 201 confirmed, 402 declined, 409 hold expired, cancelled or lost (refunded), 202
/// still pending. Exactly one of a checkout and a cancel of the same hold wins; a checkout
/// that loses gets 409 `hold_not_active`.
pub async fn checkout(
    State(state): State<AppState>,
    Path(hold_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let buyer = auth::buyer(&headers, &state.keys, None, now, auth::Need::ActiveSession)?;
    let key = input::idempotency_key(&headers)?;
    let hold_id = input::resource_id(&hold_id, "hold")?;
    let body: CheckoutBody = input::json(&body)?;
    let method = PaymentMethod::parse(&body.payment_method)
        .map_err(|error| ApiError::unprocessable("invalid_payment_method", error.to_string()))?;
    let request_text = format!(
        "POST /api/v1/holds/{hold_id}/checkout {}",
        json!({ "payment_method": method.as_str() })
    );
    let begun = state
        .store
        .begin_checkout(&buyer, &key, &request_text, hold_id, method.as_str(), now)
        .await?;
    let order_id = match begun {
        BeginCheckout::Started(order_id) | BeginCheckout::Resume(order_id) => order_id,
        BeginCheckout::Replay(response) => return Ok(send(response)),
        BeginCheckout::KeyMismatch => {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            ));
        }
        BeginCheckout::HoldNotFound => return Err(input::not_found("hold")),
        BeginCheckout::SessionEnded => return Err(auth::session_ended()),
        BeginCheckout::HoldNotActive(hold) => return Err(not_active(&hold, now)),
    };
    let order = state
        .saga
        .drive(&order_id)
        .await
        .map_err(|error| match error {
            SagaError::Store(error) => ApiError::from(error),
            SagaError::NotFound(_) => input::not_found("order"),
        })?;
    Ok(send(
        state
            .store
            .complete_request(&buyer, &key, answer(&order))
            .await?,
    ))
}

fn not_active(hold: &HoldRecord, now: i64) -> ApiError {
    match hold.state {
        HoldState::Held if hold.expires_at_ms <= now => ApiError::conflict(
            "hold_expired",
            "the hold has expired; its seats are back on sale",
        ),
        HoldState::CheckingOut | HoldState::Converted => {
            ApiError::conflict("hold_checked_out", "this hold already has an order")
                .with("order_id", hold.order_id.clone().unwrap_or_default())
        }
        HoldState::Pending => ApiError::conflict("hold_pending", "the hold is still being placed"),
        // A cancel won the hold (a checkout that lost the race to it lands here).
        HoldState::Released if hold.order_id.is_none() => ApiError::conflict(
            "hold_not_active",
            "this hold was cancelled; its seats are back on sale",
        ),
        _ => ApiError::conflict("hold_not_active", "this hold holds no seats"),
    }
}

fn answer(order: &OrderRecord) -> StoredResponse {
    match order.state {
        OrderState::Confirmed => StoredResponse {
            status: StatusCode::CREATED.as_u16(),
            body: views::order(order),
        },
        OrderState::Pending => StoredResponse {
            status: StatusCode::ACCEPTED.as_u16(),
            body: json!({ "order_id": order.order_id, "status": "pending" }),
        },
        OrderState::Failed if order.failure_reason == "hold_expired" => ApiError::conflict(
            "hold_expired",
            "the hold expired before payment; nothing was charged",
        )
        .with("order_id", order.order_id.clone())
        .into_stored(),
        OrderState::Refunded => ApiError::conflict(
            "order_refunded",
            "the seats were lost before the sale completed; the payment was refunded",
        )
        .with("order_id", order.order_id.clone())
        .into_stored(),
        OrderState::Failed => ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            "the payment was declined; the seats were released and nothing was charged",
        )
        .with("order_id", order.order_id.clone())
        .into_stored(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::api::input::arbitrary::{body, refused_clearly};

    proptest! {
        #[test]
        fn any_checkout_body_names_a_method_or_is_refused_clearly(bytes in body()) {
            let parsed = input::json::<CheckoutBody>(&Bytes::from(bytes)).and_then(|body| {
                PaymentMethod::parse(&body.payment_method).map_err(|error| {
                    ApiError::unprocessable("invalid_payment_method", error.to_string())
                })
            });
            if let Err(error) = parsed {
                refused_clearly(error)?;
            }
        }
    }
}
