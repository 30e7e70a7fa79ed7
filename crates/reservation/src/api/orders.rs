//! `GET /api/v1/orders` and `GET /api/v1/orders/{order}`: the buyer's own orders.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{AppState, input, views};
use crate::auth;
use crate::error::ApiError;
use crate::saga::now_ms;

/// The buyer's orders, oldest first.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let buyer = auth::buyer(&headers, &state.keys, None, now_ms(), auth::Need::Identity)?;
    let orders = state.store.orders_of(&buyer).await?;
    let orders: Vec<Value> = orders.iter().map(views::order).collect();
    Ok(Json(json!({ "orders": orders })))
}

/// One of the buyer's orders; anyone else's is not found.
pub async fn show(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let buyer = auth::buyer(&headers, &state.keys, None, now_ms(), auth::Need::Identity)?;
    let order_id = input::resource_id(&order_id, "order")?;
    match state.store.order(order_id).await? {
        Some(order) if order.buyer == buyer => Ok(Json(views::order(&order))),
        _ => Err(input::not_found("order")),
    }
}
