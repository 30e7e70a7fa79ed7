//! JSON shapes of holds, orders and seat maps as buyers see them.

use breakwater_proto::inventory as inv;
use breakwater_ticketing::{HoldState, OrderState};
use serde_json::{Value, json};

use crate::store::{HoldRecord, OrderRecord};

/// Unix milliseconds as RFC 3339.
pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The status a buyer sees: a held hold past its expiry is `expired`.
pub fn hold_status(hold: &HoldRecord, now_ms: i64) -> &'static str {
    match hold.state {
        HoldState::Held if hold.expires_at_ms <= now_ms => "expired",
        state => state.as_str(),
    }
}

/// A hold.
pub fn hold(hold: &HoldRecord, now_ms: i64) -> Value {
    let mut view = json!({
        "id": hold.hold_id,
        "event": hold.buyer.event,
        "status": hold_status(hold, now_ms),
        "seats": hold.seats,
        "total_cents": hold.total_cents,
        "currency": hold.currency,
        "adjacent": hold.adjacent,
        "expires_at": rfc3339(hold.expires_at_ms),
    });
    if let Some(order_id) = &hold.order_id {
        view["order_id"] = Value::from(order_id.clone());
    }
    view
}

/// An order.
pub fn order(order: &OrderRecord) -> Value {
    let mut view = json!({
        "id": order.order_id,
        "order_id": order.order_id,
        "event": order.buyer.event,
        "hold_id": order.hold_id,
        "seats": order.seats,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "status": order.state.as_str(),
        "payment_method": order.payment_method,
        "created_at": rfc3339(order.created_at_ms),
    });
    if matches!(order.state, OrderState::Failed | OrderState::Refunded) {
        view["failure_reason"] = Value::from(order.failure_reason.clone());
    }
    view
}

/// The seat map.
pub fn seat_map(event: &str, currency: &str, map: inv::SeatMap) -> Value {
    let sections: Vec<Value> = map.sections.into_iter().map(section).collect();
    json!({ "event": event, "currency": currency, "sections": sections })
}

fn section(section: inv::SectionMap) -> Value {
    if section.general_admission {
        return json!({
            "id": section.id,
            "name": section.name,
            "price_cents": section.price_cents,
            "general_admission": true,
            "capacity": section.capacity,
            "available": section.available,
        });
    }
    let rows: Vec<Value> = section
        .rows
        .into_iter()
        .map(|row| {
            let seats: Vec<Value> = row
                .seats
                .into_iter()
                .map(|seat| json!({"id": seat.id, "number": seat.number, "status": seat_status(seat.status)}))
                .collect();
            json!({"id": row.id, "seats": seats})
        })
        .collect();
    json!({
        "id": section.id,
        "name": section.name,
        "price_cents": section.price_cents,
        "general_admission": false,
        "available": section.available,
        "rows": rows,
    })
}

fn seat_status(status: i32) -> &'static str {
    match inv::seat_status::Status::try_from(status) {
        Ok(inv::seat_status::Status::Sold) => "sold",
        Ok(inv::seat_status::Status::Held) => "held",
        _ => "available",
    }
}
