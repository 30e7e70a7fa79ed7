//! OpenAPI schemas of what the ticketing backend answers through the gateway (the
//! gateway forwards those bodies as they are; these types only describe them), and the
//! error answers every route may give, added to each operation of the document.

use utoipa::ToSchema;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// `POST /api/v1/events/{event}/holds`: either `seat_ids`, or `quantity` (with an
/// optional `section_id`) for the best adjacent seats.
#[derive(ToSchema)]
pub struct HoldRequest {
    /// The seats to hold, by id (as the seat map names them).
    pub seat_ids: Option<Vec<String>>,
    /// How many adjacent seats to hold.
    #[schema(minimum = 1)]
    pub quantity: Option<u32>,
    /// The section to hold `quantity` seats in.
    pub section_id: Option<String>,
}

/// `POST /api/v1/holds/{hold}/checkout`.
#[derive(ToSchema)]
pub struct CheckoutRequest {
    /// The sandbox payment method, such as `card`.
    #[schema(example = "card")]
    pub payment_method: String,
}

/// One ticket of a hold or order, at its server-side price.
#[derive(ToSchema)]
pub struct SeatLine {
    /// Seat id.
    pub id: String,
    /// Section id.
    pub section_id: String,
    /// Row id (numbered seats; null in general admission).
    #[schema(nullable)]
    pub row_id: Option<String>,
    /// Seat number (numbered seats; null in general admission).
    #[schema(nullable)]
    pub number: Option<u32>,
    /// Price in minor units of the currency.
    pub price_cents: i64,
}

/// A hold: seats kept for the buyer until `expires_at`.
#[derive(ToSchema)]
pub struct HoldBody {
    /// Hold id.
    pub id: String,
    /// The event.
    pub event: String,
    /// `held` | `expired` | `released` | `checked_out` | …
    pub status: String,
    /// The held seats.
    pub seats: Vec<SeatLine>,
    /// What the seats cost together, in minor units.
    pub total_cents: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Whether the seats sit side by side.
    pub adjacent: bool,
    /// When the hold lapses (RFC 3339).
    pub expires_at: String,
    /// The order of the checkout that took this hold, once there is one.
    pub order_id: Option<String>,
}

/// An order.
#[derive(ToSchema)]
pub struct OrderBody {
    /// Order id.
    pub id: String,
    /// Order id (the same as `id`).
    pub order_id: String,
    /// The event.
    pub event: String,
    /// The hold it bought.
    pub hold_id: String,
    /// The seats bought.
    pub seats: Vec<SeatLine>,
    /// Total in minor units.
    pub total_cents: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// `pending` | `confirmed` | `failed` | `refunded`.
    pub status: String,
    /// The payment method.
    pub payment_method: String,
    /// When the checkout began (RFC 3339).
    pub created_at: String,
    /// Why it failed or was refunded.
    pub failure_reason: Option<String>,
}

/// The buyer's orders.
#[derive(ToSchema)]
pub struct OrdersBody {
    /// Newest first.
    pub orders: Vec<OrderBody>,
}

/// A checkout the payment provider has not settled yet (202).
#[derive(ToSchema)]
pub struct PendingCheckoutBody {
    /// The order, which settles by itself.
    pub order_id: String,
    /// `pending`.
    pub status: String,
}

/// One seat in the seat map.
#[derive(ToSchema)]
pub struct SeatView {
    /// Seat id (what a hold names).
    pub id: String,
    /// Seat number in its row.
    pub number: u32,
    /// `available` | `held` | `sold`.
    pub status: String,
}

/// One row of a numbered section.
#[derive(ToSchema)]
pub struct RowView {
    /// Row id.
    pub id: String,
    /// Its seats.
    pub seats: Vec<SeatView>,
}

/// One section of the seat map: rows of seats, or general admission with a count.
#[derive(ToSchema)]
pub struct SectionView {
    /// Section id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Price of one ticket in minor units.
    pub price_cents: i64,
    /// Whether the section is general admission (no seats, a capacity).
    pub general_admission: bool,
    /// Tickets of a general-admission section.
    pub capacity: Option<u64>,
    /// Tickets or seats still available.
    pub available: u64,
    /// The rows of a numbered section.
    pub rows: Option<Vec<RowView>>,
}

/// The event's seat map with live availability.
#[derive(ToSchema)]
pub struct SeatMapBody {
    /// The event.
    pub event: String,
    /// ISO 4217 currency of the prices.
    pub currency: String,
    /// The sections, in the order they are shown.
    pub sections: Vec<SectionView>,
}

/// A 409 `seats_unavailable`: nothing was held.
#[derive(ToSchema)]
pub struct SeatsUnavailableBody {
    /// `seats_unavailable`, or another conflict's code.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
    /// The seats that are taken, when named.
    pub seat_ids: Option<Vec<String>>,
}

/// An event's sales figures, from the ticketing backend.
#[derive(ToSchema)]
pub struct SalesBody {
    /// The event.
    pub event: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Tickets in the venue.
    pub seats_total: u64,
    /// Tickets on sale.
    pub available: u64,
    /// Tickets held.
    pub held: u64,
    /// Tickets sold.
    pub sold: u64,
    /// Confirmed orders.
    pub orders_confirmed: u64,
    /// Orders still settling.
    pub orders_pending: u64,
    /// Failed orders.
    pub orders_failed: u64,
    /// Refunded orders (paid, then the seats were lost).
    pub orders_refunded: u64,
    /// Revenue of the confirmed orders, in minor units.
    pub revenue_cents: i64,
}

/// Adds to every operation the error answers any route may give that its own
/// description does not list: a malformed path parameter or body (400), a missing or
/// wrong credential where one is needed (401), a body past the size limit (413), a
/// request line and headers past `http.max_header_bytes` (431), and an overloaded server
/// or a passed request deadline (503).
pub fn add_common_errors(item: &mut PathItem) {
    for operation in [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
    {
        add_to(operation);
    }
}

fn add_to(operation: &mut Operation) {
    let has_path_parameter = operation.parameters.iter().flatten().any(|parameter| {
        matches!(
            parameter.parameter_in,
            utoipa::openapi::path::ParameterIn::Path
        )
    });
    let has_body = operation.request_body.is_some();
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    };
    if has_path_parameter {
        add(
            "400",
            "invalid_path: a path parameter is malformed (not UTF-8, not an id)",
        );
        add("404", "Nothing by that id");
    }
    if has_body {
        add(
            "400",
            "invalid_json: the body is not the JSON this route takes",
        );
        add("413", "body_too_large: the body is larger than 64 KiB");
    }
    if secured {
        add(
            "401",
            "A token or the admin key is missing, forged or expired",
        );
    }
    add(
        "431",
        "headers_too_large: the request line and headers are past the limit",
    );
    add(
        "503",
        "overloaded or request_timeout: retry after Retry-After",
    );
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}
