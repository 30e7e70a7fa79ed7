//! Breakwater's web pages, served by the `breakwater` binary from embedded assets.
//!
//! Buyers: `/` (open and upcoming events), `/events/{event}` (the event, joining, the
//! waiting room), `/events/{event}/seats` (seat map, hold, checkout, confirmation),
//! `/orders` (my orders). Operators: `/admin` (the dashboard, behind the admin key).
//! Without JavaScript, `/events/{event}/join` (a form post), `/events/{event}/wait` (a
//! server-rendered waiting page that refreshes itself) and `/events/{event}/enter` keep
//! the line usable.
//!
//! The pages use only the public API: the browser calls it, and the server-rendered
//! parts call it in-process through the very router the API is served by (the line
//! token then travels in the API's own HttpOnly, SameSite=Strict cookie). This crate
//! knows nothing of the engine or the stores.

mod api;
mod assets;
mod html;
mod i18n;
mod nojs;
mod pages;

use axum::Router;
use axum::routing::{get, post};

/// The pages and their assets, next to `api` (the gateway's whole HTTP API), which the
/// server-rendered pages call in-process.
pub fn with_pages(api: Router) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/events/{event}", get(pages::event))
        .route("/events/{event}/seats", get(pages::seats))
        .route("/events/{event}/join", post(nojs::join))
        .route("/events/{event}/wait", get(nojs::wait))
        .route("/events/{event}/enter", post(nojs::enter))
        .route("/orders", get(pages::orders))
        .route("/admin", get(pages::admin))
        .route("/assets/{file}", get(assets::serve))
        .with_state(api::Api::new(api.clone()));
    api.merge(pages)
}
