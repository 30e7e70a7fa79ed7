//! The HTTP gateway: the waiting room API and the admin API of PRODUCT.md, access-token
//! checks, and forwarding of admitted buyers' calls to the ticketing backend.
//!
//! Errors of every part are mapped to HTTP in one place ([`error::ApiError`]).

mod auth;
mod backend;
mod clients;
mod error;
mod model;
mod openapi;
mod routes;
pub mod schemas;
mod state;
mod stock;

pub use backend::{BackendClient, BackendError, BackendLimits, SaleSettings};
pub use clients::{ClientLimits, InvalidClientLimit};
pub use error::ApiError;
pub use model::{AdminEventBody, CreateEventRequest, SectionSpec, VenueSpec};
pub use routes::admin::create_event;
pub use routes::router;
pub use state::{AdminKey, GatewayParts, GatewayState};

/// Starts what a gateway does in the background until `shutdown`: the stock watch
/// (with a backend) and forgetting idle clients' limits.
pub fn spawn_background(state: GatewayState, shutdown: tokio_util::sync::CancellationToken) {
    clients::spawn_sweeper(state.clone(), shutdown.clone());
    stock::spawn_stock_watch(state, shutdown);
}
