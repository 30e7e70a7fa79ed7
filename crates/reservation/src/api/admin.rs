//! The internal admin API (`/internal/v1`, admin key): open an event's sale, change its
//! settings, read its sales.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use breakwater_proto::inventory as inv;
use breakwater_ticketing::{VenueSpec, is_valid_event_id};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, input};
use crate::auth;
use crate::clients::RemoteError;
use crate::error::ApiError;
use crate::saga::now_ms;
use crate::store::{CreateEventOutcome, EventPatch, EventSettings, PutEventOutcome};

/// Body of `PUT` and `POST /internal/v1/events/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutEventBody {
    name: String,
    #[serde(default = "default_currency")]
    currency: String,
    #[serde(default = "default_limit")]
    ticket_limit_per_buyer: u32,
    #[serde(default = "default_hold_seconds")]
    hold_seconds: u32,
    venue: VenueSpec,
}

fn default_currency() -> String {
    "USD".to_owned()
}
fn default_limit() -> u32 {
    6
}
fn default_hold_seconds() -> u32 {
    300
}

fn admin_event_id(headers: &HeaderMap, state: &AppState, id: &str) -> Result<(), ApiError> {
    auth::admin(headers, &state.admin_key)?;
    if is_valid_event_id(id) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_event_id",
            "event ids match ^[a-z0-9][a-z0-9_-]{0,63}$",
        ))
    }
}

fn check_settings(
    name: Option<&str>,
    currency: Option<&str>,
    limit: Option<u32>,
    hold_seconds: Option<u32>,
) -> Result<(), ApiError> {
    if name.is_some_and(|n| n.trim().is_empty() || n.chars().count() > 200) {
        return Err(ApiError::unprocessable(
            "invalid_request",
            "name must be 1 to 200 characters",
        ));
    }
    if currency.is_some_and(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(ApiError::unprocessable(
            "invalid_request",
            "currency must be a 3-letter ISO code",
        ));
    }
    if limit.is_some_and(|l| !(1..=100).contains(&l)) {
        return Err(ApiError::unprocessable(
            "invalid_request",
            "ticket_limit_per_buyer must be 1 to 100",
        ));
    }
    if hold_seconds.is_some_and(|s| !(1..=86_400).contains(&s)) {
        return Err(ApiError::unprocessable(
            "invalid_request",
            "hold_seconds must be 1 to 86400",
        ));
    }
    Ok(())
}

fn settings_view(event: &EventSettings) -> Value {
    json!({
        "id": event.event_id,
        "name": event.name,
        "currency": event.currency,
        "ticket_limit_per_buyer": event.ticket_limit_per_buyer,
        "hold_seconds": event.hold_seconds,
        "seats_total": event.seats_total,
        "venue": event.venue,
    })
}

fn venue_sections(venue: &VenueSpec) -> Vec<inv::Section> {
    venue
        .sections
        .iter()
        .map(|section| {
            let layout = match section.capacity {
                Some(capacity) => {
                    inv::section::Layout::GeneralAdmission(inv::GeneralAdmission { capacity })
                }
                None => inv::section::Layout::Seated(inv::Seated {
                    rows: section.rows.unwrap_or(0),
                    seats_per_row: section.seats_per_row.unwrap_or(0),
                }),
            };
            inv::Section {
                name: section.name.clone(),
                price_cents: section.price_cents,
                layout: Some(layout),
            }
        })
        .collect()
}

fn invalid_venue(error: breakwater_ticketing::VenueError) -> ApiError {
    ApiError::unprocessable("invalid_venue", error.to_string())
}

/// Creates the venue in inventory, confirms it unchanged, or replaces it while nothing was
/// ever held there.
async fn put_venue(
    state: &AppState,
    event_id: &str,
    venue: &VenueSpec,
) -> Result<inv::PutVenueResponse, RemoteError> {
    state
        .backends
        .put_venue(inv::PutVenueRequest {
            event_id: event_id.to_owned(),
            sections: venue_sections(venue),
        })
        .await
}

fn venue_refused(error: RemoteError) -> ApiError {
    match error.refused_code() {
        Some(tonic::Code::FailedPrecondition) => ApiError::conflict(
            "venue_locked",
            "the venue cannot change once seats were held or sold",
        ),
        Some(_) => ApiError::unprocessable("invalid_venue", error.to_string()),
        None => ApiError::from(error),
    }
}

/// The admin key, the event id and the body of a create or put, checked.
fn event_body(
    headers: &HeaderMap,
    state: &AppState,
    event_id: &str,
    body: &Bytes,
) -> Result<PutEventBody, ApiError> {
    admin_event_id(headers, state, event_id)?;
    let body: PutEventBody = input::json(body)?;
    check_settings(
        Some(&body.name),
        Some(&body.currency),
        Some(body.ticket_limit_per_buyer),
        Some(body.hold_seconds),
    )?;
    Ok(body)
}

impl PutEventBody {
    /// The event's settings, its venue holding `seats_total` tickets.
    fn into_settings(self, event_id: String, seats_total: u64) -> EventSettings {
        EventSettings {
            event_id,
            name: self.name.trim().to_owned(),
            currency: self.currency,
            ticket_limit_per_buyer: self.ticket_limit_per_buyer,
            hold_seconds: self.hold_seconds,
            venue: self.venue,
            seats_total,
        }
    }
}

/// Creates the event's sale, or confirms it unchanged; a different venue once anything
/// was held is refused (409).
pub async fn put_event(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = event_body(&headers, &state, &event_id, &body)?;
    body.venue.validate().map_err(invalid_venue)?;
    let put = put_venue(&state, &event_id, &body.venue)
        .await
        .map_err(venue_refused)?;
    let event = body.into_settings(event_id, put.seats_total);
    let outcome = state.store.put_event(&event, now_ms()).await?;
    state.events.forget(&event.event_id);
    let status = match outcome {
        PutEventOutcome::Created => StatusCode::CREATED,
        PutEventOutcome::Unchanged | PutEventOutcome::Updated => StatusCode::OK,
    };
    Ok((status, Json(settings_view(&event))).into_response())
}

/// Creates the event's sale and never changes an existing one (what the gateway's event
/// create uses): 201 when created, 200 when the very same event exists, 409
/// `event_exists` with nothing changed when a different one does. The id is claimed before
/// the venue goes to inventory, so of concurrent creates only the winner's venue does.
pub async fn create_event(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = event_body(&headers, &state, &event_id, &body)?;
    let seats_total = body.venue.validate().map_err(invalid_venue)?.total_units();
    let event = body.into_settings(event_id, seats_total);
    let now = now_ms();
    let outcome = state.store.create_event(&event, now).await?;
    if outcome == CreateEventOutcome::Differs {
        return Err(ApiError::conflict(
            "event_exists",
            "an event with this id exists with other settings; nothing was changed",
        ));
    }
    // Created, or the same event again (whose venue may not have reached inventory yet:
    // a retry after a failure finishes the job).
    if let Err(error) = put_venue(&state, &event.event_id, &event.venue).await {
        let refused = error.refused_code().is_some();
        if refused && outcome == CreateEventOutcome::Created {
            // Inventory refused the venue and holds nothing new: neither does reservation.
            state.store.forget_created_event(&event, now).await?;
        }
        return Err(venue_refused(error));
    }
    state.events.forget(&event.event_id);
    let status = match outcome {
        CreateEventOutcome::Created => StatusCode::CREATED,
        CreateEventOutcome::Identical | CreateEventOutcome::Differs => StatusCode::OK,
    };
    Ok((status, Json(settings_view(&event))).into_response())
}

/// Changes name, currency, ticket limit or hold duration live.
pub async fn patch_event(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    admin_event_id(&headers, &state, &event_id)?;
    let patch: EventPatch = input::json(&body)?;
    check_settings(
        patch.name.as_deref(),
        patch.currency.as_deref(),
        patch.ticket_limit_per_buyer,
        patch.hold_seconds,
    )?;
    let event = state
        .store
        .patch_event(&event_id, &patch, now_ms())
        .await?
        .inspect(|_| state.events.forget(&event_id))
        .ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    Ok(Json(settings_view(&event)))
}

/// The event's tickets by status, its orders by state and its revenue.
pub async fn sales(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    admin_event_id(&headers, &state, &event_id)?;
    let event = state
        .store
        .event(&event_id)
        .await?
        .ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    let seats = state.backends.sales(&event_id).await?;
    let totals = state.store.sales_totals(&event_id).await?;
    Ok(Json(json!({
        "event": event_id,
        "currency": event.currency,
        "seats_total": seats.seats_total,
        "available": seats.available,
        "held": seats.held,
        "sold": seats.sold,
        "orders_confirmed": totals.orders_confirmed,
        "orders_pending": totals.orders_pending,
        "orders_failed": totals.orders_failed,
        "orders_refunded": totals.orders_refunded,
        "revenue_cents": totals.revenue_cents,
    })))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::api::input::arbitrary::{body, refused_clearly};

    proptest! {
        #[test]
        fn any_event_body_is_a_sale_or_refused_clearly(bytes in body()) {
            let checked = input::json::<PutEventBody>(&Bytes::from(bytes)).and_then(|body| {
                check_settings(
                    Some(&body.name),
                    Some(&body.currency),
                    Some(body.ticket_limit_per_buyer),
                    Some(body.hold_seconds),
                )?;
                let seats = body.venue.validate().map_err(invalid_venue)?.total_units();
                let _ = venue_sections(&body.venue);
                Ok(body.into_settings("gig".into(), seats))
            });
            if let Err(error) = checked {
                refused_clearly(error)?;
            }
        }

        #[test]
        fn any_event_patch_is_checked_or_refused_clearly(bytes in body()) {
            let checked = input::json::<EventPatch>(&Bytes::from(bytes)).and_then(|patch| {
                check_settings(
                    patch.name.as_deref(),
                    patch.currency.as_deref(),
                    patch.ticket_limit_per_buyer,
                    patch.hold_seconds,
                )
            });
            if let Err(error) = checked {
                refused_clearly(error)?;
            }
        }
    }
}
