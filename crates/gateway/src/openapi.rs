//! The OpenAPI document of every public and admin route.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::model::{
    AdminEventBody, ChallengeBody, CreateEventRequest, EnterBody, ErrorBody, EventInfo, JoinBody,
    PatchEventRequest, QueueStatusBody, SectionSpec, StatsBody, VenueSpec,
};
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Breakwater",
        description = "Ticket-rush waiting room, admission gateway and ticketing API."
    ),
    paths(
        routes::queue::join,
        routes::queue::status,
        routes::queue::enter,
        routes::queue::leave,
        routes::queue::event_info,
        routes::queue::challenge,
        routes::queue::list_events,
        routes::ticketing::docs::seats,
        routes::ticketing::docs::hold,
        routes::ticketing::docs::show_hold,
        routes::ticketing::docs::release_hold,
        routes::ticketing::docs::checkout,
        routes::ticketing::docs::orders,
        routes::ticketing::docs::show_order,
        routes::admin::create,
        routes::admin::list,
        routes::admin::show,
        routes::admin::update,
        routes::admin::stats,
        routes::admin::sales,
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::metrics,
        routes::ops::openapi,
    ),
    components(schemas(
        QueueStatusBody, JoinBody, EnterBody, ErrorBody, EventInfo, ChallengeBody, CreateEventRequest,
        PatchEventRequest, AdminEventBody, StatsBody, VenueSpec, SectionSpec
    )),
    modifiers(&BearerSchemes, &CommonErrors)
)]
struct ApiDoc;

struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in [
            ("line_token", "The line token returned by join"),
            ("access_token", "The access token returned by enter"),
            ("admin_key", "The operator's admin key"),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

/// Every operation lists the error answers any route may give.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            crate::schemas::add_common_errors(item);
        }
    }
}

/// The document as JSON, rendered once.
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default())
}
