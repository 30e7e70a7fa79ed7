//! The pages over a stand-in API router: what they render from the API's answers, the
//! no-JS join and waiting page, languages, and caching of pages and assets.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

/// A stand-in for the gateway: one open event `x`; the line cookie `bw_line_x=tok`
/// stands for a buyer third in line.
fn api() -> Router {
    Router::new()
        .route(
            "/api/v1/events",
            get(|| async {
                axum::Json(json!([{"id": "x", "name": "X & Y", "state": "open",
                    "opens_at": "2026-01-01T00:00:00Z", "currency": "USD"}]))
            }),
        )
        .route(
            "/api/v1/events/{event}",
            get(
                |axum::extract::Path(event): axum::extract::Path<String>| async move {
                    if event == "x" || event == "over" {
                        let state = if event == "x" { "open" } else { "closed" };
                        axum::Json(json!({"id": event, "name": "X & Y", "state": state,
                        "opens_at": "2026-01-01T00:00:00Z", "currency": "USD"}))
                        .into_response()
                    } else {
                        StatusCode::NOT_FOUND.into_response()
                    }
                },
            ),
        )
        .route(
            "/api/v1/events/x/queue",
            get(|headers: HeaderMap| async move {
                let in_line = headers
                    .get(header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("bw_line_x=tok"));
                if in_line {
                    axum::Json(
                        json!({"state": "waiting", "position": 3, "poll_after_ms": 4000,
                        "eta_low_seconds": 30, "eta_high_seconds": 200}),
                    )
                    .into_response()
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": "missing_token"})),
                    )
                        .into_response()
                }
            })
            .post(|| async {
                (
                    StatusCode::CREATED,
                    [(
                        header::SET_COOKIE,
                        "bw_line_x=tok; Path=/; HttpOnly; SameSite=Strict",
                    )],
                    axum::Json(json!({"token": "tok", "state": "waiting", "position": 3,
                        "poll_after_ms": 4000})),
                )
            }),
        )
}

async fn send(request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = breakwater_web::with_pages(api())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("a request")
}

#[tokio::test]
async fn home_lists_the_apis_events_escaped_in_the_asked_language() {
    let (status, _, body) = send(get_req("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<a href=\"/events/x\">X &amp; Y</a>"),
        "{body}"
    );
    assert!(body.contains("<html lang=\"en\">"));

    let korean = Request::get("/")
        .header(header::ACCEPT_LANGUAGE, "ko-KR,ko;q=0.9")
        .body(Body::empty())
        .expect("a request");
    let (_, _, body) = send(korean).await;
    assert!(body.contains("<html lang=\"ko\">") && body.contains("공연 목록"));

    let (_, headers, body) = send(get_req("/?lang=ko")).await;
    assert!(body.contains("공연 목록"));
    let cookie = headers
        .get(header::SET_COOKIE)
        .expect("the switch is remembered");
    assert!(cookie.to_str().unwrap_or("").starts_with("bw_lang=ko"));
}

#[tokio::test]
async fn a_closed_event_offers_no_join() {
    let (_, _, open) = send(get_req("/events/x")).await;
    assert!(open.contains("action=\"/events/x/join\"><button"), "{open}");
    let (status, _, closed) = send(get_req("/events/over")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        closed.contains("action=\"/events/over/join\" hidden>"),
        "{closed}"
    );
    assert!(closed.contains("Closed"));
}

#[tokio::test]
async fn unknown_events_are_404_pages() {
    let (status, _, body) = send(get_req("/events/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("No such event"));
    let (status, _, _) = send(get_req("/events/BAD%20ID")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_and_assets_are_cacheable_and_compressed() {
    let (_, headers, body) = send(get_req("/events/x")).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let etag = headers[header::ETAG].clone();
    let again = Request::get("/events/x")
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .expect("a request");
    assert_eq!(send(again).await.0, StatusCode::NOT_MODIFIED);

    let start = body
        .find("/assets/event.")
        .expect("the page names its script");
    let end = start + body[start..].find('"').expect("a quoted URL");
    let url = &body[start..end];
    let gzip = Request::get(url)
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .expect("a request");
    let (status, headers, _) = send(gzip).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap_or("")
            .contains("immutable")
    );
    let (status, _, _) = send(get_req("/assets/event.000000000000.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_javascript_a_form_joins_and_the_waiting_page_refreshes_itself() {
    let join = Request::post("/events/x/join")
        .body(Body::empty())
        .expect("a request");
    let (status, headers, _) = send(join).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/events/x/wait");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap_or("");
    assert!(cookie.contains("bw_line_x=tok") && cookie.contains("HttpOnly"));

    let wait = Request::get("/events/x/wait")
        .header(header::COOKIE, "bw_line_x=tok")
        .body(Body::empty())
        .expect("a request");
    let (status, _, body) = send(wait).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("2 people ahead of you"), "{body}");
    assert!(body.contains("Estimated wait: 1 to 4 min"), "{body}");
    assert!(body.contains("<meta http-equiv=\"refresh\" content=\"4\">"));

    // Already in line: a second post takes no second place.
    let again = Request::post("/events/x/join")
        .header(header::COOKIE, "bw_line_x=tok")
        .body(Body::empty())
        .expect("a request");
    let (status, headers, _) = send(again).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers.get(header::SET_COOKIE).is_none());

    // Not in line: the waiting page sends the buyer to the event page.
    let (status, headers, _) = send(get_req("/events/x/wait")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/events/x");
}

/// The API sees the browser's address and `X-Forwarded-For` (so per-client limits count
/// the browser), and never the cookies of a join.
#[tokio::test]
async fn the_api_sees_the_browser_not_the_server() {
    use std::net::SocketAddr;

    use axum::extract::{ConnectInfo, Request as AnyRequest};

    let api = Router::new().route(
        "/api/v1/events",
        get(|request: AnyRequest| async move {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip().to_string())
                .unwrap_or_default();
            let forwarded = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            axum::Json(
                json!([{"id": "p", "name": format!("{peer} via {forwarded}"),
                "state": "open", "opens_at": "2026-01-01T00:00:00Z"}]),
            )
        }),
    );
    let mut request = Request::get("/")
        .header("x-forwarded-for", "203.0.113.7")
        .body(Body::empty())
        .expect("a request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 1, 2, 3], 4567))));
    let response = breakwater_web::with_pages(api)
        .oneshot(request)
        .await
        .expect("infallible");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body = String::from_utf8_lossy(&bytes);
    assert!(body.contains("10.1.2.3 via 203.0.113.7"), "{body}");
}
