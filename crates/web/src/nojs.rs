//! The waiting room without JavaScript: a form post joins (the API's own answer sets the
//! line token as an HttpOnly, SameSite=Strict cookie), and a server-rendered waiting page
//! shows the place and reloads itself as often as the API advises.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use crate::api::{Answer, Api, Browser};
use crate::html::esc;
use crate::i18n::{self, Lang};
use crate::pages::{not_found, page, raw, tr};

fn valid(event: &str) -> bool {
    !event.is_empty()
        && event.len() <= 64
        && event
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A redirect that also sets the API's cookies.
fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = Redirect::to(to).into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /events/{event}/join`: join, then the waiting page.
pub async fn join(State(api): State<Api>, Path(event): Path<String>, browser: Browser) -> Response {
    let headers = &browser.headers;
    if !valid(&event) {
        return not_found(headers, None);
    }
    let wait = format!("/events/{event}/wait");
    // Already in line (the cookie answers): never a second place.
    let status = api
        .call(
            Method::GET,
            &format!("/api/v1/events/{event}/queue"),
            &browser,
            true,
        )
        .await;
    if status.status == StatusCode::OK && status.text("state") != "expired" {
        return see_other(&wait, Vec::new());
    }
    let joined = api
        .call(
            Method::POST,
            &format!("/api/v1/events/{event}/queue"),
            &browser,
            false,
        )
        .await;
    match joined.status {
        StatusCode::CREATED => see_other(&wait, joined.cookies),
        StatusCode::OK => see_other(&format!("{wait}?sold_out=1"), Vec::new()),
        StatusCode::NOT_FOUND => not_found(headers, None),
        StatusCode::PRECONDITION_REQUIRED => needs_javascript(headers, &event),
        _ => problem(headers, &event, &joined),
    }
}

/// The event asks a proof of work, which only the page's script can do.
fn needs_javascript(headers: &HeaderMap, event: &str) -> Response {
    let lang = i18n::choose(headers, None).0;
    let status = StatusCode::PRECONDITION_REQUIRED;
    try_again(headers, event, tr(lang, "needs_js_proof"), status, None)
}

fn problem(headers: &HeaderMap, event: &str, answer: &Answer) -> Response {
    let message = esc(answer.text("message"));
    let refresh = answer.retry_after.unwrap_or(5).clamp(1, 60);
    try_again(headers, event, message, answer.status, Some(refresh))
}

/// A page saying why the buyer should try again, with `message` (HTML) and a way back.
fn try_again(
    headers: &HeaderMap,
    event: &str,
    message: impl std::fmt::Display,
    status: StatusCode,
    refresh_seconds: Option<u64>,
) -> Response {
    let lang = i18n::choose(headers, None).0;
    let main = format!(
        "<h1>{}</h1><p>{message}</p><p><a href=\"/events/{}\">{}</a></p>",
        tr(lang, "try_again"),
        esc(event),
        tr(lang, "back_to_event"),
    );
    let mut page = page(headers, None, raw(lang, "try_again"), main);
    page.status = status;
    page.refresh_seconds = refresh_seconds;
    page.into_response()
}

/// `GET /events/{event}/wait`: the place in line, refreshed by the browser itself.
pub async fn wait(
    State(api): State<Api>,
    Path(event): Path<String>,
    RawQuery(query): RawQuery,
    browser: Browser,
) -> Response {
    let headers = &browser.headers;
    if !valid(&event) {
        return not_found(headers, query.as_deref());
    }
    let lang = i18n::choose(headers, query.as_deref()).0;
    let t = |key: &str| tr(lang, key);
    if query.as_deref().is_some_and(|q| q.contains("sold_out=1")) {
        let main = format!("<h1>{}</h1><p>{}</p>", t("sold_out"), t("sold_out_body"));
        return page(headers, query.as_deref(), raw(lang, "sold_out"), main).into_response();
    }
    let status = api
        .call(
            Method::GET,
            &format!("/api/v1/events/{event}/queue"),
            &browser,
            true,
        )
        .await;
    if matches!(
        status.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        return Redirect::to(&format!("/events/{event}")).into_response();
    }
    if status.status != StatusCode::OK {
        return problem(headers, &event, &status);
    }
    let body = &status.body;
    let number = |name: &str| body.get(name).and_then(Value::as_u64);
    let poll_seconds = number("poll_after_ms")
        .unwrap_or(5_000)
        .div_ceil(1000)
        .max(2);
    let (main, refresh) = match status.text("state") {
        "ready" => (
            format!(
                "<h1>{}</h1><p>{} <time datetime=\"{by}\">{by}</time></p>\
                 <form method=\"post\" action=\"/events/{e}/enter\"><button type=\"submit\">{}</button></form>",
                t("your_turn"),
                t("enter_by"),
                t("enter"),
                by = esc(status.text("enter_by")),
                e = esc(&event),
            ),
            Some(poll_seconds),
        ),
        "entered" => (inside(lang, &event), None),
        "sold_out" => (
            format!("<h1>{}</h1><p>{}</p>", t("sold_out"), t("sold_out_body")),
            None,
        ),
        "expired" => (
            format!(
                "<h1>{}</h1><form method=\"post\" action=\"/events/{}/join\"><button type=\"submit\">{}</button></form>",
                t("place_expired"),
                esc(&event),
                t("join"),
            ),
            None,
        ),
        _ => (waiting(lang, body), Some(poll_seconds)),
    };
    let mut page = page(headers, query.as_deref(), raw(lang, "waiting_room"), main);
    page.refresh_seconds = refresh;
    page.into_response()
}

fn waiting(lang: Lang, body: &Value) -> String {
    let t = |key: &str| tr(lang, key);
    let number = |name: &str| body.get(name).and_then(Value::as_u64);
    let place = match number("position") {
        Some(1) => t("you_are_next"),
        Some(2) => t("one_ahead"),
        Some(position) => t("people_ahead").replace("{n}", &(position - 1).to_string()),
        None => t("prequeued"),
    };
    let eta = match (number("eta_low_seconds"), number("eta_high_seconds")) {
        (Some(low), Some(high)) => format!(
            "<p>{}</p>",
            t("eta_range")
                .replace("{low}", &minutes(low))
                .replace("{high}", &minutes(high))
        ),
        (Some(low), None) => format!(
            "<p>{}</p>",
            t("eta_at_least").replace("{low}", &minutes(low))
        ),
        _ => String::new(),
    };
    format!(
        "<h1>{}</h1><p class=\"big\">{place}</p>{eta}<p class=\"muted\">{}</p>",
        t("waiting_room"),
        t("nojs_refresh"),
    )
}

/// Whole minutes, at least one.
fn minutes(seconds: u64) -> String {
    seconds.div_ceil(60).max(1).to_string()
}

fn inside(lang: Lang, event: &str) -> String {
    format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/events/{}/seats\">{}</a></p>",
        tr(lang, "your_turn"),
        tr(lang, "inside"),
        esc(event),
        tr(lang, "to_seats"),
    )
}

/// `POST /events/{event}/enter`: claim the admission (the API's answer sets the access
/// token cookie).
pub async fn enter(
    State(api): State<Api>,
    Path(event): Path<String>,
    browser: Browser,
) -> Response {
    let headers = &browser.headers;
    if !valid(&event) {
        return not_found(headers, None);
    }
    let entered = api
        .call(
            Method::POST,
            &format!("/api/v1/events/{event}/queue/enter"),
            &browser,
            true,
        )
        .await;
    if entered.status != StatusCode::OK {
        return see_other(&format!("/events/{event}/wait"), Vec::new());
    }
    let lang = i18n::choose(headers, None).0;
    let mut page = page(headers, None, raw(lang, "your_turn"), inside(lang, &event));
    page.cookies.extend(entered.cookies);
    page.into_response()
}
