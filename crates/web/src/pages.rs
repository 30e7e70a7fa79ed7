//! The pages: rendered on the server from the public API (called in-process), then
//! brought to life by their script.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::{Api, Browser};
use crate::assets;
use crate::html::{Page, esc, text};
use crate::i18n::{self, Lang, texts};

/// The language of a request and a page started in it.
pub fn page<'a>(
    headers: &'a HeaderMap,
    query: Option<&str>,
    title: String,
    main: String,
) -> Page<'a> {
    let (lang, cookie) = i18n::choose(headers, query);
    let mut page = Page::new(lang, headers, title, main);
    page.cookies.extend(cookie);
    page
}

/// The text `key` in `lang`, as it is (for the title, which the shell escapes).
pub fn raw(lang: Lang, key: &str) -> String {
    text(texts(lang), key).to_owned()
}

/// The text `key` in `lang`, escaped for HTML.
pub fn tr(lang: Lang, key: &str) -> String {
    esc(text(texts(lang), key))
}

fn lang_of(headers: &HeaderMap, query: Option<&str>) -> Lang {
    i18n::choose(headers, query).0
}

/// What an event's state is called.
fn state_text(lang: Lang, state: &str) -> String {
    tr(lang, &format!("state_{state}"))
}

/// `GET /`: the open and upcoming events.
pub async fn home(State(api): State<Api>, RawQuery(query): RawQuery, browser: Browser) -> Response {
    let headers = &browser.headers;
    let lang = lang_of(headers, query.as_deref());
    let answer = api
        .call(Method::GET, "/api/v1/events", &browser, true)
        .await;
    let events = answer.body.as_array().cloned().unwrap_or_default();
    let mut main = format!("<h1>{}</h1>", tr(lang, "events"));
    if events.is_empty() {
        main.push_str(&format!("<p>{}</p>", tr(lang, "no_events")));
    } else {
        main.push_str("<ul class=\"cards\">");
        for event in &events {
            let field = |name: &str| esc(event.get(name).and_then(Value::as_str).unwrap_or(""));
            let state = event.get("state").and_then(Value::as_str).unwrap_or("");
            main.push_str(&format!(
                "<li class=\"card\"><h2><a href=\"/events/{id}\">{name}</a></h2>\
                 <p><span class=\"badge {state}\">{state_text}</span> \
                 {opens} <time datetime=\"{opens_at}\">{opens_at}</time></p></li>",
                id = field("id"),
                name = field("name"),
                state = esc(state),
                state_text = state_text(lang, state),
                opens = tr(lang, "opens_at"),
                opens_at = field("opens_at"),
            ));
        }
        main.push_str("</ul>");
    }
    page(headers, query.as_deref(), raw(lang, "events"), main).into_response()
}

/// The event of `event`, or the page saying there is none.
async fn event_info(api: &Api, event: &str, browser: &Browser) -> Option<Value> {
    if !event
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return None;
    }
    let answer = api
        .call(
            Method::GET,
            &format!("/api/v1/events/{event}"),
            browser,
            true,
        )
        .await;
    (answer.status == StatusCode::OK).then_some(answer.body)
}

/// A 404 page.
pub fn not_found(headers: &HeaderMap, query: Option<&str>) -> Response {
    let lang = lang_of(headers, query);
    let main = format!(
        "<h1>{}</h1><p><a href=\"/\">{}</a></p>",
        tr(lang, "no_such_event"),
        tr(lang, "back_to_events")
    );
    let mut page = page(headers, query, raw(lang, "no_such_event"), main);
    page.status = StatusCode::NOT_FOUND;
    page.into_response()
}

/// `GET /events/{event}`: the event, joining, and the waiting room.
pub async fn event(
    State(api): State<Api>,
    Path(event): Path<String>,
    RawQuery(query): RawQuery,
    browser: Browser,
) -> Response {
    let headers = &browser.headers;
    let Some(info) = event_info(&api, &event, &browser).await else {
        return not_found(headers, query.as_deref());
    };
    let lang = lang_of(headers, query.as_deref());
    let name = esc(info.get("name").and_then(Value::as_str).unwrap_or(""));
    let state = info.get("state").and_then(Value::as_str).unwrap_or("");
    let opens_at = esc(info.get("opens_at").and_then(Value::as_str).unwrap_or(""));
    let id = esc(&event);
    let t = |key: &str| tr(lang, key);
    let scheduled = if state == "scheduled" {
        format!(
            "<div id=\"prequeue\"><p>{opens} <time datetime=\"{opens_at}\">{opens_at}</time> \
             <span id=\"countdown\" class=\"countdown\"></span></p><p class=\"note\">{lottery}</p></div>",
            opens = t("opens_at"),
            lottery = t("lottery_note"),
        )
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{name}</h1><p id=\"ev-state\"><span class=\"badge {state}\">{state_text}</span></p>\
{scheduled}\
<form id=\"join\" method=\"post\" action=\"/events/{id}/join\"{closed}><button type=\"submit\">{join}</button></form>\
<section id=\"room\" hidden aria-labelledby=\"room-h\"><h2 id=\"room-h\">{room}</h2>\
<p id=\"paused\" class=\"notice\" hidden>{paused}</p>\
<p id=\"prequeued\" class=\"notice\" hidden>{prequeued}</p>\
<div id=\"waiting\" hidden><p class=\"big\" id=\"position\"></p>\
<div class=\"bar\"><progress id=\"progress\" max=\"100\" value=\"0\" aria-label=\"{progress}\"></progress></div>\
<p id=\"eta\"></p><p id=\"seats-left\"></p></div>\
<div id=\"ready\" class=\"turn\" hidden><h2>{your_turn}</h2><p id=\"deadline\" class=\"deadline\"></p>\
<button id=\"enter\" type=\"button\">{enter}</button></div>\
<div id=\"inside\" hidden><p>{inside}</p><p><a class=\"button\" href=\"/events/{id}/seats\">{to_seats}</a></p></div>\
<div id=\"soldout\" class=\"notice\" hidden><h2>{sold_out}</h2><p>{sold_out_body}</p></div>\
<div id=\"expired\" class=\"notice\" hidden><p>{expired}</p></div>\
<p id=\"problem\" class=\"error\" hidden></p>\
<p class=\"muted\" id=\"updated\"></p>\
<p><button id=\"leave\" type=\"button\" class=\"secondary\">{leave}</button></p></section>\
<p id=\"announce\" class=\"sr-only\" aria-live=\"polite\"></p>",
        state_text = state_text(lang, state),
        closed = if state == "closed" { " hidden" } else { "" },
        join = t("join"),
        room = t("waiting_room"),
        paused = t("paused_notice"),
        prequeued = t("prequeued"),
        progress = t("progress"),
        your_turn = t("your_turn"),
        enter = t("enter"),
        inside = t("inside"),
        to_seats = t("to_seats"),
        sold_out = t("sold_out"),
        sold_out_body = t("sold_out_body"),
        expired = t("place_expired"),
        leave = t("leave"),
    );
    let mut page = page(headers, query.as_deref(), text_of(&info, "name"), main);
    page.script = Some(assets::EVENT);
    page.data = json!({
        "event": info,
        "tick": assets::TICK.url(),
        "proof": assets::PROOF.url(),
    });
    page.into_response()
}

fn text_of(value: &Value, name: &str) -> String {
    value
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// `GET /events/{event}/seats`: seat map, hold, checkout, confirmation.
pub async fn seats(
    State(api): State<Api>,
    Path(event): Path<String>,
    RawQuery(query): RawQuery,
    browser: Browser,
) -> Response {
    let headers = &browser.headers;
    let Some(info) = event_info(&api, &event, &browser).await else {
        return not_found(headers, query.as_deref());
    };
    let lang = lang_of(headers, query.as_deref());
    let t = |key: &str| tr(lang, key);
    let main = format!(
        "<h1>{name}</h1><noscript><p class=\"notice\">{needs_js}</p></noscript>\
<p id=\"no-access\" class=\"notice\" hidden>{no_access} <a href=\"/events/{id}\">{back}</a></p>\
<div id=\"shop\" hidden><p class=\"muted\" id=\"session\"></p>\
<section id=\"pick\" aria-labelledby=\"pick-h\"><h2 id=\"pick-h\">{choose}</h2>\
<form id=\"best\" class=\"row\"><label for=\"qty\">{quantity}</label>\
<select id=\"qty\"></select><label for=\"section\">{section}</label><select id=\"section\"></select>\
<button type=\"submit\">{best}</button></form>\
<ul id=\"tiers\" class=\"tiers\" aria-label=\"{tiers}\"></ul>\
<p><label><input id=\"zoom\" type=\"checkbox\"> {zoom}</label></p>\
<div id=\"map\" class=\"map\" tabindex=\"0\" role=\"group\"></div><p id=\"cursor\" class=\"muted\" aria-live=\"polite\"></p>\
<p><button id=\"hold-picked\" type=\"button\" disabled>{hold_picked}</button> <span id=\"picked\"></span></p></section>\
<section id=\"hold\" hidden aria-labelledby=\"hold-h\"><h2 id=\"hold-h\">{your_hold}</h2>\
<ul id=\"hold-seats\"></ul><p id=\"hold-total\" class=\"big\"></p><p id=\"hold-left\"></p>\
<form id=\"pay\"><fieldset><legend>{payment}</legend>\
<label><input type=\"radio\" name=\"method\" value=\"sandbox:approve\" checked> {pay_approve}</label>\
<label><input type=\"radio\" name=\"method\" value=\"sandbox:decline\"> {pay_decline}</label>\
<label><input type=\"radio\" name=\"method\" value=\"sandbox:timeout\"> {pay_timeout}</label>\
<label><input type=\"radio\" name=\"method\" value=\"sandbox\"> {pay_random}</label></fieldset>\
<button type=\"submit\">{pay}</button> <button id=\"release\" type=\"button\" class=\"secondary\">{release}</button></form></section>\
<section id=\"done\" hidden aria-labelledby=\"done-h\"><h2 id=\"done-h\"></h2><div id=\"order\"></div>\
<p><a href=\"/orders\">{my_orders}</a></p></section></div>\
<p id=\"status\" class=\"status\" aria-live=\"polite\"></p>",
        name = esc(&text_of(&info, "name")),
        id = esc(&event),
        needs_js = t("needs_js"),
        no_access = t("no_access"),
        back = t("back_to_event"),
        choose = t("choose_seats"),
        quantity = t("quantity"),
        section = t("section"),
        best = t("best_available"),
        tiers = t("tiers"),
        zoom = t("zoom"),
        hold_picked = t("hold_picked"),
        your_hold = t("your_hold"),
        payment = t("payment"),
        pay_approve = t("pay_approve"),
        pay_decline = t("pay_decline"),
        pay_timeout = t("pay_timeout"),
        pay_random = t("pay_random"),
        pay = t("pay"),
        release = t("release"),
        my_orders = t("my_orders"),
    );
    let title = format!(
        "{} – {}",
        text_of(&info, "name"),
        text(texts(lang), "choose_seats")
    );
    let mut page = page(headers, query.as_deref(), title, main);
    page.script = Some(assets::SEATS);
    page.data = json!({ "event": info });
    page.into_response()
}

/// `GET /orders`: the buyer's orders, every event's.
pub async fn orders(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers, query.as_deref());
    let main = format!(
        "<h1>{}</h1><noscript><p>{}</p></noscript><div id=\"orders\"></div>\
         <p id=\"status\" class=\"status\" aria-live=\"polite\"></p>",
        tr(lang, "my_orders"),
        tr(lang, "needs_js"),
    );
    let mut page = page(&headers, query.as_deref(), raw(lang, "my_orders"), main);
    page.script = Some(assets::ORDERS);
    page.into_response()
}

/// `GET /admin`: the operator dashboard (the key is asked for by the page and kept in
/// the tab's sessionStorage).
pub async fn admin(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers, query.as_deref());
    let t = |key: &str| tr(lang, key);
    let main = format!(
        "<h1>{dashboard}</h1><noscript><p>{needs_js}</p></noscript>\
<form id=\"key-form\" hidden><label for=\"key\">{admin_key}</label> \
<input id=\"key\" type=\"password\" autocomplete=\"off\" required> <button type=\"submit\">{sign_in}</button></form>\
<div id=\"console\" hidden><p><button id=\"sign-out\" type=\"button\" class=\"secondary\">{sign_out}</button></p>\
<section aria-labelledby=\"list-h\"><h2 id=\"list-h\">{events}</h2><div class=\"scroll\"><table id=\"events\"></table></div></section>\
<section id=\"live\" hidden aria-labelledby=\"live-h\"><h2 id=\"live-h\"></h2>\
<p><button id=\"pause\" type=\"button\"></button> <span id=\"live-state\" class=\"badge\"></span></p>\
<div id=\"figures\" class=\"figures\"></div><div id=\"charts\" class=\"charts\"></div>\
<h3>{edit}</h3><form id=\"edit\" class=\"grid\"></form></section>\
<section aria-labelledby=\"create-h\"><h2 id=\"create-h\">{create}</h2><form id=\"create\" class=\"grid\"></form></section></div>\
<p id=\"status\" class=\"status\" aria-live=\"polite\"></p>",
        dashboard = t("dashboard"),
        needs_js = t("needs_js"),
        admin_key = t("admin_key"),
        sign_in = t("sign_in"),
        sign_out = t("sign_out"),
        events = t("events"),
        edit = t("edit_event"),
        create = t("create_event"),
    );
    let mut page = page(&headers, query.as_deref(), raw(lang, "dashboard"), main);
    page.script = Some(assets::ADMIN);
    page.into_response()
}
