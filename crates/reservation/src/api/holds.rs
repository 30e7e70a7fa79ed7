//! Holds: `POST /api/v1/events/{event}/holds`, `GET|DELETE /api/v1/holds/{hold}`.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use breakwater_proto::inventory as inv;
use breakwater_ticketing::allocation::MAX_QUANTITY;
use breakwater_ticketing::{HoldState, SeatRef, total_cents};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::{AppState, input, views};
use crate::auth;
use crate::clients::RemoteError;
use crate::error::{ApiError, send};
use crate::saga::now_ms;
use crate::store::{
    Buyer, Cancel, Claim, HoldRecord, HoldResult, NewHold, Precheck, Recorded, SeatLine,
    StoreError, StoredResponse, hold_id_for,
};

/// The body of a hold request. Money fields a client may send are accepted and ignored:
/// prices come from the server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    seat_ids: Option<Vec<String>>,
    quantity: Option<u32>,
    section_id: Option<String>,
    #[serde(default, rename = "price_cents")]
    _price_cents: Option<IgnoredAny>,
    #[serde(default, rename = "total_cents")]
    _total_cents: Option<IgnoredAny>,
    #[serde(default, rename = "currency")]
    _currency: Option<IgnoredAny>,
}

/// A validated hold request in canonical form (what retries are compared on).
fn canonical(body: HoldBody) -> Result<(Value, u32), ApiError> {
    let max = MAX_QUANTITY as usize;
    match (body.seat_ids, body.quantity) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > max {
                return Err(ApiError::unprocessable(
                    "invalid_request",
                    format!("seat_ids must name 1 to {max} seats"),
                ));
            }
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            if unique.len() != ids.len() || body.section_id.is_some() {
                return Err(ApiError::unprocessable(
                    "invalid_request",
                    "seat_ids must be distinct and come without section_id",
                ));
            }
            let unknown: Vec<&String> = ids
                .iter()
                .filter(|id| SeatRef::parse(id).is_none())
                .collect();
            if !unknown.is_empty() {
                return Err(unknown_seats(unknown));
            }
            let count = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            Ok((json!({ "seat_ids": ids }), count))
        }
        (None, Some(quantity)) => {
            if quantity == 0 || quantity > MAX_QUANTITY {
                return Err(ApiError::unprocessable(
                    "invalid_request",
                    format!("quantity must be between 1 and {MAX_QUANTITY}"),
                ));
            }
            if body
                .section_id
                .as_ref()
                .is_some_and(|id| id.is_empty() || id.len() > 16)
            {
                return Err(ApiError::unprocessable(
                    "unknown_section",
                    "no such section",
                ));
            }
            Ok((
                json!({ "quantity": quantity, "section_id": body.section_id }),
                quantity,
            ))
        }
        _ => Err(ApiError::unprocessable(
            "invalid_request",
            "give either seat_ids or quantity",
        )),
    }
}

fn unknown_seats(ids: Vec<&String>) -> ApiError {
    ApiError::unprocessable("unknown_seats", "some seats are not in this venue")
        .with("seat_ids", ids.into_iter().cloned().collect::<Vec<_>>())
}

/// Holds chosen seats or the best N adjacent ones.
pub async fn create(
    State(state): State<AppState>,
    Path(event): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let now = now_ms();
    let event = input::event_id(&event)?;
    let buyer = auth::buyer(
        &headers,
        &state.keys,
        Some(event),
        now,
        auth::Need::ActiveSession,
    )?;
    let key = input::idempotency_key(&headers)?;
    let (request, quantity) = canonical(input::json(&body)?)?;
    let settings = state
        .events
        .get(&state.store, event)
        .await?
        .ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    let request_text = format!("POST /api/v1/events/{event}/holds {request}");
    let new = NewHold {
        buyer: &buyer,
        key: &key,
        request_text: &request_text,
        request: &request,
        quantity,
        limit: settings.ticket_limit_per_buyer,
        currency: &settings.currency,
        expires_at_ms: now + i64::from(settings.hold_seconds) * 1_000,
    };
    let response = match state.store.precheck_hold(&new, now).await? {
        Precheck::Fresh => place_new(&state, &new, now).await?,
        Precheck::OverLimit { counted } => return Err(over_limit(&new, counted)),
        Precheck::SessionEnded => return Err(auth::session_ended()),
        Precheck::Seen(claim) => answer_seen(&state, &buyer, &key, claim).await?,
    };
    metrics::histogram!("breakwater_hold_seconds").record(started.elapsed().as_secs_f64());
    Ok(send(response))
}

fn over_limit(new: &NewHold<'_>, counted: u64) -> ApiError {
    metrics::counter!("breakwater_holds_total", "outcome" => "over_limit").increment(1);
    ApiError::unprocessable(
        "ticket_limit_exceeded",
        format!("at most {} tickets per buyer for this event", new.limit),
    )
    .with("limit", new.limit)
    .with("already_held", counted)
}

/// The answer to a request whose key was used before.
async fn answer_seen(
    state: &AppState,
    buyer: &Buyer,
    key: &str,
    claim: Claim,
) -> Result<StoredResponse, ApiError> {
    match claim {
        Claim::Replay(response) => Ok(response),
        Claim::Mismatch => Err(key_reused()),
        Claim::Resume(hold_id) => {
            let hold = state.store.hold(&hold_id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("idempotency key names missing hold {hold_id}"))
            })?;
            place(state, buyer, key, hold).await
        }
        Claim::New => Err(StoreError::Corrupt("a seen key claimed as new".into()).into()),
    }
}

/// Asks inventory for a new hold, then records the hold and the request's answer in one
/// write (see `store::placing`).
async fn place_new(
    state: &AppState,
    new: &NewHold<'_>,
    now: i64,
) -> Result<StoredResponse, ApiError> {
    let hold_id = hold_id_for(new.buyer, new.key);
    let hold = HoldRecord::pending(new, hold_id.clone());
    let (result, answer) = match ask_inventory(state, &hold).await {
        Ok(asked) => asked,
        // Inventory held nothing and said so: the key stays unused, and a retry with it
        // asks again.
        Err(NotAsked::HeldNothing(error)) => return Err(error.into()),
        Err(NotAsked::Unknown(error)) => {
            // Inventory may have held seats before the line broke: leave a pending hold
            // for a retry to resume or the reconciler to give back.
            if let Err(store_error) = state.store.begin_hold(new, &hold_id, now).await {
                tracing::warn!(%store_error, %hold_id, "could not record a pending hold");
            }
            return Err(error);
        }
    };
    match state
        .store
        .record_hold(new, &hold_id, &result, &answer, now_ms())
        .await?
    {
        Recorded::Answered(sent) => Ok(sent),
        Recorded::OverLimit { counted } => {
            // A concurrent hold of this buyer took the last of the limit first.
            if let Err(error) = state.backends.release(&hold_id).await {
                tracing::warn!(%error, %hold_id, "could not give back a hold over the limit; it lapses");
            }
            Err(over_limit(new, counted))
        }
        Recorded::KeyTaken => match state.store.precheck_hold(new, now).await? {
            Precheck::Seen(claim) => answer_seen(state, new.buyer, new.key, claim).await,
            _ => Err(ApiError::conflict(
                "request_in_progress",
                "a request with this Idempotency-Key is in progress; retry",
            )),
        },
    }
}

/// Asks inventory for a pending hold's seats (again, when resuming: inventory holds
/// nothing twice for one hold id) and records and answers the outcome.
async fn place(
    state: &AppState,
    buyer: &Buyer,
    key: &str,
    hold: HoldRecord,
) -> Result<StoredResponse, ApiError> {
    if hold.state != HoldState::Pending {
        return Ok(state
            .store
            .complete_request(buyer, key, answer_for(&hold, now_ms()))
            .await?);
    }
    let (result, answer) = ask_inventory(state, &hold).await.map_err(ApiError::from)?;
    if let Some(sent) = state
        .store
        .settle_hold(&hold.hold_id, &result, now_ms(), (buyer, key, answer))
        .await?
    {
        return Ok(sent);
    }
    // Someone else (a concurrent retry, the reconciler) settled it: answer from that.
    let current = state
        .store
        .hold(&hold.hold_id)
        .await?
        .ok_or_else(|| input::not_found("hold"))?;
    Ok(state
        .store
        .complete_request(buyer, key, answer_for(&current, now_ms()))
        .await?)
}

/// Why inventory gave no outcome for a hold.
enum NotAsked {
    /// Inventory was too contended to decide and held nothing: not an answer to remember.
    HeldNothing(RemoteError),
    /// Inventory may or may not hold seats under the hold id.
    Unknown(ApiError),
}

impl From<NotAsked> for ApiError {
    fn from(error: NotAsked) -> Self {
        match error {
            NotAsked::HeldNothing(error) => error.into(),
            NotAsked::Unknown(error) => error,
        }
    }
}

/// Inventory's answer for a pending hold, and the answer the request gets for it. Only
/// final answers come back `Ok`: they are stored for the key and replayed.
async fn ask_inventory(
    state: &AppState,
    hold: &HoldRecord,
) -> Result<(HoldResult, StoredResponse), NotAsked> {
    let request = inv::HoldRequest {
        event_id: hold.buyer.event.clone(),
        hold_id: hold.hold_id.clone(),
        pick: Some(pick(&hold.request)),
        expires_at_ms: hold.expires_at_ms,
    };
    let (result, answer) = match state.backends.hold(request).await {
        Ok(response) => outcome(response, hold).map_err(NotAsked::Unknown)?,
        Err(error @ RemoteError::Refused { .. }) => {
            tracing::warn!(%error, "inventory refused a hold");
            let answer = ApiError::conflict("hold_failed", "the hold could not be placed");
            (HoldResult::Rejected, answer.into_stored())
        }
        Err(error @ RemoteError::Contended { .. }) => return Err(NotAsked::HeldNothing(error)),
        Err(error @ RemoteError::Unavailable { .. }) => {
            return Err(NotAsked::Unknown(error.into()));
        }
    };
    let outcome = if matches!(result, HoldResult::Held { .. }) {
        "held"
    } else {
        "rejected"
    };
    metrics::counter!("breakwater_holds_total", "outcome" => outcome).increment(1);
    let answer = match &result {
        HoldResult::Held {
            seats,
            total_cents,
            adjacent,
            expires_at_ms,
        } => answer_for(
            &HoldRecord {
                state: HoldState::Held,
                seats: seats.clone(),
                total_cents: *total_cents,
                adjacent: *adjacent,
                expires_at_ms: *expires_at_ms,
                ..hold.clone()
            },
            now_ms(),
        ),
        HoldResult::Rejected => answer,
    };
    Ok((result, answer))
}

fn pick(request: &Value) -> inv::hold_request::Pick {
    if let Some(ids) = request.get("seat_ids").and_then(Value::as_array) {
        let ids = ids
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        return inv::hold_request::Pick::SeatIds(inv::SeatIds { ids });
    }
    inv::hold_request::Pick::Best(inv::BestAvailable {
        quantity: request
            .get("quantity")
            .and_then(Value::as_u64)
            .and_then(|q| u32::try_from(q).ok())
            .unwrap_or(0),
        section_id: request
            .get("section_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

/// Inventory's answer as a hold result and (for refusals) the answer to send.
fn outcome(
    response: inv::HoldResponse,
    hold: &HoldRecord,
) -> Result<(HoldResult, StoredResponse), ApiError> {
    match response.result {
        Some(inv::hold_response::Result::Held(held)) => {
            let seats: Vec<SeatLine> = held.seats.into_iter().map(seat_line).collect();
            let total = total_cents(seats.iter().map(|s| s.price_cents)).map_err(|_| {
                ApiError::unprocessable("invalid_request", "the total is too large")
            })?;
            let result = HoldResult::Held {
                seats,
                total_cents: total,
                adjacent: held.adjacent,
                expires_at_ms: held.expires_at_ms,
            };
            // The answer is built from the stored hold once recorded.
            let placeholder = StoredResponse {
                status: 201,
                body: Value::Null,
            };
            Ok((result, placeholder))
        }
        Some(inv::hold_response::Result::Unavailable(unavailable)) => Ok((
            HoldResult::Rejected,
            refusal(&unavailable, hold).into_stored(),
        )),
        None => Err(ApiError::conflict(
            "hold_failed",
            "inventory gave no answer",
        )),
    }
}

fn refusal(unavailable: &inv::Unavailable, hold: &HoldRecord) -> ApiError {
    use inv::unavailable::Reason;
    match Reason::try_from(unavailable.reason) {
        Ok(Reason::UnknownSeats) => unknown_seats(unavailable.seat_ids.iter().collect()),
        Ok(Reason::UnknownSection) => ApiError::unprocessable("unknown_section", "no such section"),
        Ok(Reason::NotEnough) => ApiError::conflict(
            "seats_unavailable",
            format!("fewer than {} seats are available together", hold.quantity),
        )
        .with("seat_ids", Vec::<String>::new()),
        _ => ApiError::conflict("seats_unavailable", "some seats are already taken")
            .with("seat_ids", unavailable.seat_ids.clone()),
    }
}

fn seat_line(seat: inv::HeldSeat) -> SeatLine {
    SeatLine {
        id: seat.seat_id,
        section_id: seat.section_id,
        row_id: Some(seat.row_id).filter(|id| !id.is_empty()),
        number: Some(seat.number).filter(|n| *n > 0),
        price_cents: seat.price_cents,
    }
}

/// The answer a finished hold request gets, from the hold's stored state.
fn answer_for(hold: &HoldRecord, now_ms: i64) -> StoredResponse {
    match hold.state {
        HoldState::Pending | HoldState::Abandoned => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_abandoned",
            "the hold was abandoned after a failure; retry with a new Idempotency-Key",
        )
        .into_stored(),
        HoldState::Rejected => {
            ApiError::conflict("seats_unavailable", "the seats could not be held")
                .with("seat_ids", Vec::<String>::new())
                .into_stored()
        }
        _ => StoredResponse {
            status: 201,
            body: views::hold(hold, now_ms),
        },
    }
}

fn key_reused() -> ApiError {
    ApiError::unprocessable(
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request",
    )
}

/// The buyer's hold; anyone else's is not found.
pub async fn show(
    State(state): State<AppState>,
    Path(hold_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let buyer = auth::buyer(&headers, &state.keys, None, now, auth::Need::Identity)?;
    let hold = own_hold(&state, &buyer, &hold_id).await?;
    Ok(Json(views::hold(&hold, now)))
}

async fn own_hold(state: &AppState, buyer: &Buyer, hold_id: &str) -> Result<HoldRecord, ApiError> {
    let hold_id = input::resource_id(hold_id, "hold")?;
    match state.store.hold(hold_id).await? {
        Some(hold) if hold.buyer == *buyer => Ok(hold),
        _ => Err(input::not_found("hold")),
    }
}

/// The answer to a cancel that lost to a checkout.
fn checked_out(hold: &HoldRecord) -> ApiError {
    ApiError::conflict(
        "hold_checked_out",
        "a checkout has begun on this hold; it can no longer be cancelled",
    )
    .with("order_id", hold.order_id.clone().unwrap_or_default())
}

/// Gives the buyer's hold back; its seats are available again at once. Exactly one of a
/// cancel and a checkout of the same hold wins; a cancel that loses gets 409
/// `hold_checked_out` with the order id, and gives nothing back.
pub async fn release(
    State(state): State<AppState>,
    Path(hold_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = now_ms();
    // A cancel only gives seats back, so it needs no session: a buyer whose session ended
    // (their unpaid holds went back with it) is answered from the hold's state, and the
    // loser of a cancel/checkout race hears 409 whenever it arrives.
    let buyer = auth::buyer(&headers, &state.keys, None, now, auth::Need::Identity)?;
    let key = input::idempotency_key(&headers)?;
    let hold = own_hold(&state, &buyer, &hold_id).await?;
    let request_text = format!("DELETE /api/v1/holds/{}", hold.hold_id);
    // The cancel's conditional move decides, not the state read above: a checkout may have
    // taken the hold since.
    let decided = state
        .store
        .cancel_hold(&buyer, &key, &request_text, &hold.hold_id, now)
        .await?
        .ok_or_else(|| input::not_found("hold"))?;
    let answer = match decided {
        Cancel::Released(released) => {
            // This cancel (or an earlier one a retry resumes) won: no checkout can start on
            // the hold any more, so inventory never saw it pinned. The seats go back; if
            // inventory is unreachable the retry (same key) finishes the job.
            state.backends.release(&released.hold_id).await?;
            StoredResponse {
                status: 200,
                body: views::hold(&released, now),
            }
        }
        Cancel::CheckedOut(taken) => checked_out(&taken).into_stored(),
        Cancel::NotActive(_) => {
            ApiError::conflict("hold_not_active", "this hold holds no seats").into_stored()
        }
        Cancel::Replay(response) => return Ok(send(response)),
        Cancel::KeyMismatch => return Err(key_reused()),
    };
    Ok(send(
        state.store.complete_request(&buyer, &key, answer).await?,
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::api::input::arbitrary::{body, refused_clearly};

    proptest! {
        #[test]
        fn any_hold_body_is_canonical_or_refused_clearly(bytes in body()) {
            match input::json::<HoldBody>(&Bytes::from(bytes)).and_then(canonical) {
                Ok((canonical, count)) => {
                    prop_assert!((1..=MAX_QUANTITY).contains(&count));
                    prop_assert!(canonical.is_object());
                }
                Err(error) => refused_clearly(error)?,
            }
        }
    }
}
