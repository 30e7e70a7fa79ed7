//! Bad input at every buyer and admin route of the real `breakwater serve`: malformed
//! JSON, wrong types, huge numbers, invalid UTF-8, oversized headers and bodies, odd paths,
//! bad ids and Idempotency-Keys. Each is a 4xx with the JSON error shape naming the
//! problem, never a 5xx, and nothing changes: the line's statistics, the seat map, the
//! sale's figures and the buyer's holds and orders read the same afterwards.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, Breakwater};

/// Which credential a case sends.
#[derive(Debug, Clone, Copy)]
enum Who {
    Nobody,
    Admin,
    /// The admitted buyer's access token.
    Buyer,
    /// A waiting buyer's line token.
    Line,
}

/// One piece of bad input and what it must be answered with.
struct Case {
    name: String,
    method: Method,
    path: String,
    who: Who,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// `Content-Type: application/json` is sent with every body unless a header says else.
    body: Option<Vec<u8>>,
    status: u16,
    /// The `error` code the answer must carry.
    code: &'static str,
}

fn case(name: &str, method: Method, path: &str, who: Who, status: u16, code: &'static str) -> Case {
    Case {
        name: name.to_owned(),
        method,
        path: path.to_owned(),
        who,
        headers: Vec::new(),
        body: None,
        status,
        code,
    }
}

impl Case {
    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    fn header(mut self, name: &'static str, value: &[u8]) -> Self {
        let value = HeaderValue::from_bytes(value).expect("a header value");
        self.headers.push((HeaderName::from_static(name), value));
        self
    }

    fn key(self, key: &str) -> Self {
        self.header("idempotency-key", key.as_bytes())
    }
}

/// What must not change, read through the API.
async fn observable(serve: &Breakwater, buyer: &str, hold: &str) -> anyhow::Result<Value> {
    let mut stats = serve.stats("gig").await?;
    if let Some(stats) = stats.as_object_mut() {
        stats.remove("replica_age_ms");
    }
    let read = |path: String, token: &'static str| {
        let token = if token == "admin" { ADMIN_KEY } else { buyer };
        let url = serve.url(&path);
        let http = serve.http.clone();
        let token = token.to_owned();
        async move {
            let response = http.get(url).bearer_auth(token).send().await?;
            anyhow::ensure!(
                response.status() == StatusCode::OK,
                "{path}: {}",
                response.status()
            );
            anyhow::Ok(response.json::<Value>().await?)
        }
    };
    Ok(json!({
        "stats": stats,
        "event": read("/admin/v1/events/gig".into(), "admin").await?,
        "events": read("/admin/v1/events".into(), "admin").await?,
        "sales": read("/admin/v1/events/gig/sales".into(), "admin").await?,
        "seats": read("/api/v1/events/gig/seats".into(), "buyer").await?,
        "hold": read(format!("/api/v1/holds/{hold}"), "buyer").await?,
        "orders": read("/api/v1/orders".into(), "buyer").await?,
    }))
}

fn cases(hold: &str) -> Vec<Case> {
    use Method as M;
    use Who::*;
    let huge = vec![b' '; 70 * 1024];
    let mut huge_json = b"{\"quantity\": 1, \"x\": \"".to_vec();
    huge_json.extend(vec![b'a'; 70 * 1024]);
    huge_json.extend(b"\"}");
    let long_id = "a".repeat(300);
    let deep = |prefix: &str| {
        let mut body = prefix.as_bytes().to_vec();
        body.extend(vec![b'['; 20_000]);
        body.extend(vec![b']'; 20_000]);
        body.push(b'}');
        body
    };
    let holds = "/api/v1/events/gig/holds";
    let checkout = format!("/api/v1/holds/{hold}/checkout");
    let mut all = vec![
        // Odd paths and methods.
        case("unknown route", M::GET, "/nope", Nobody, 404, "not_found"),
        case("unknown api route", M::GET, "/api/v1/nope", Buyer, 404, "not_found"),
        case("double slash", M::GET, "/api//v1/events/gig", Nobody, 404, "not_found"),
        case("wrong method", M::PUT, "/api/v1/events/gig/queue", Nobody, 405, "method_not_allowed"),
        case("wrong method on enter", M::GET, "/api/v1/events/gig/queue/enter", Line, 405, "method_not_allowed"),
        case("wrong method on health", M::DELETE, "/healthz", Nobody, 405, "method_not_allowed"),
        case("invalid UTF-8 event", M::GET, "/api/v1/events/%FF%FE", Nobody, 400, "invalid_path"),
        case("invalid UTF-8 event on join", M::POST, "/api/v1/events/%C3%28/queue", Nobody, 400, "invalid_path"),
        case("NUL in event", M::GET, "/api/v1/events/g%00g/queue", Line, 400, "invalid_path"),
        case("event with capitals", M::POST, "/api/v1/events/GIG!/queue", Nobody, 400, "invalid_path"),
        case("overlong event", M::POST, &format!("/api/v1/events/{long_id}/queue"), Nobody, 400, "invalid_path"),
        case("unknown event", M::POST, "/api/v1/events/no-such-event/queue", Nobody, 404, "unknown_event"),
        case("invalid UTF-8 admin id", M::GET, "/admin/v1/events/%FF/stats", Admin, 400, "invalid_path"),
        case("invalid UTF-8 hold id", M::GET, "/api/v1/holds/%FF", Buyer, 400, "invalid_path"),
        case("invalid UTF-8 order id", M::GET, "/api/v1/orders/%80abc", Buyer, 400, "invalid_path"),
        case("traversing hold id", M::DELETE, "/api/v1/holds/..%2F..%2Fhealthz", Buyer, 404, "hold_not_found"),
        case("overlong order id", M::GET, &format!("/api/v1/orders/{}", "o".repeat(8 * 1024)), Buyer, 404, "order_not_found"),
        case("unknown order", M::GET, "/api/v1/orders/00000000-0000-0000-0000-000000000000", Buyer, 404, "order_not_found"),
        case("checkout of a bad hold id", M::POST, "/api/v1/holds/%FF/checkout", Buyer, 400, "invalid_path")
            .key("k1").body(r#"{"payment_method":"card"}"#),
        // Tokens and keys.
        case("no token", M::GET, "/api/v1/events/gig/queue", Nobody, 401, "missing_token"),
        case("garbage token", M::GET, "/api/v1/events/gig/queue", Nobody, 401, "invalid_token")
            .header("authorization", b"Bearer garbage"),
        case("non-UTF-8 token", M::GET, "/api/v1/events/gig/queue", Nobody, 401, "missing_token")
            .header("authorization", b"Bearer \xff\xfe"),
        case("non-UTF-8 cookie", M::POST, "/api/v1/events/gig/queue/enter", Nobody, 401, "missing_token")
            .header("cookie", b"bw_line_gig=\xff"),
        case("admin without key", M::GET, "/admin/v1/events", Nobody, 401, "admin_key_required"),
        case("admin with a buyer's token", M::GET, "/admin/v1/events/gig/stats", Buyer, 401, "admin_key_required"),
        case("hold with a line token", M::POST, holds, Line, 403, "wrong_token_kind")
            .key("k2").body(r#"{"quantity":1}"#),
        case("hold without Idempotency-Key", M::POST, holds, Buyer, 400, "idempotency_key_required")
            .body(r#"{"quantity":1}"#),
        case("overlong Idempotency-Key", M::POST, holds, Buyer, 400, "invalid_idempotency_key")
            .key(&"k".repeat(200)).body(r#"{"quantity":1}"#),
        case("non-ASCII Idempotency-Key", M::POST, holds, Buyer, 400, "invalid_idempotency_key")
            .header("idempotency-key", b"k\xe9y").body(r#"{"quantity":1}"#),
        case("checkout without Idempotency-Key", M::POST, &checkout, Buyer, 400, "idempotency_key_required")
            .body(r#"{"payment_method":"card"}"#),
        // Bodies to the ticketing backend.
        case("hold: malformed JSON", M::POST, holds, Buyer, 400, "invalid_json").key("k3").body(r#"{"quantity":"#),
        case("hold: invalid UTF-8", M::POST, holds, Buyer, 400, "invalid_json").key("k4").body(b"{\"section_id\":\"\xff\",\"quantity\":1}".to_vec()),
        case("hold: wrong type", M::POST, holds, Buyer, 422, "invalid_request").key("k5").body(r#"{"quantity":"two"}"#),
        case("hold: not an object", M::POST, holds, Buyer, 422, "invalid_request").key("k6").body("[1,2]"),
        case("hold: huge number", M::POST, holds, Buyer, 422, "invalid_request").key("k7").body(r#"{"quantity":18446744073709551616}"#),
        case("hold: number out of range", M::POST, holds, Buyer, 400, "invalid_json").key("k8").body(r#"{"quantity":1e400}"#),
        case("hold: negative", M::POST, holds, Buyer, 422, "invalid_request").key("k9").body(r#"{"quantity":-1}"#),
        case("hold: too many", M::POST, holds, Buyer, 422, "invalid_request").key("k10").body(r#"{"quantity":4000000000}"#),
        case("hold: unknown seats", M::POST, holds, Buyer, 422, "unknown_seats").key("k11").body(r#"{"seat_ids":["Z-99999-99999"]}"#),
        case("hold: unknown field", M::POST, holds, Buyer, 422, "invalid_request").key("k12").body(r#"{"quantity":1,"admin":true}"#),
        case("hold: deeply nested", M::POST, holds, Buyer, 422, "invalid_request").key("k19").body(deep(r#"{"seat_ids":"#)),
        case("hold: empty body", M::POST, holds, Buyer, 400, "invalid_json").key("k13"),
        case("hold: body too large", M::POST, holds, Buyer, 413, "body_too_large").key("k14").body(huge_json.clone()),
        case("checkout: malformed JSON", M::POST, &checkout, Buyer, 400, "invalid_json").key("k15").body("{"),
        case("checkout: wrong type", M::POST, &checkout, Buyer, 422, "invalid_request").key("k16").body(r#"{"payment_method":5}"#),
        case("checkout: unknown method", M::POST, &checkout, Buyer, 422, "invalid_payment_method").key("k17").body(r#"{"payment_method":"\u0000card"}"#),
        case("checkout: body too large", M::POST, &checkout, Buyer, 413, "body_too_large").key("k18").body(huge.clone()),
        // Bodies to the admin API.
        case("create: malformed JSON", M::POST, "/admin/v1/events", Admin, 400, "invalid_json").body("{\"id\":"),
        case("create: invalid UTF-8", M::POST, "/admin/v1/events", Admin, 400, "invalid_json").body(b"{\"id\":\"x\",\"name\":\"\xc3\x28\"}".to_vec()),
        case("create: not JSON content", M::POST, "/admin/v1/events", Admin, 400, "invalid_json")
            .header("content-type", b"text/plain").body(r#"{"id":"x","name":"X"}"#),
        case("create: wrong type", M::POST, "/admin/v1/events", Admin, 400, "invalid_json").body(r#"{"id":"x","name":7}"#),
        case("create: huge number", M::POST, "/admin/v1/events", Admin, 400, "invalid_json").body(r#"{"id":"x","name":"X","max_active_users":1e30}"#),
        case("create: number out of range", M::POST, "/admin/v1/events", Admin, 400, "invalid_json").body(r#"{"id":"x","name":"X","admission_rate_per_second":1e999}"#),
        case("create: absurd rate", M::POST, "/admin/v1/events", Admin, 422, "invalid_field").body(r#"{"id":"x","name":"X","admission_rate_per_second":1e308}"#),
        case("create: negative rate", M::POST, "/admin/v1/events", Admin, 422, "invalid_field").body(r#"{"id":"x","name":"X","admission_rate_per_second":-5}"#),
        case("create: bad id", M::POST, "/admin/v1/events", Admin, 422, "invalid_field").body(r#"{"id":"../etc","name":"X"}"#),
        case("create: bad date", M::POST, "/admin/v1/events", Admin, 422, "invalid_field").body(r#"{"id":"x","name":"X","opens_at":"tomorrow"}"#),
        case("create: date before 1970", M::POST, "/admin/v1/events", Admin, 422, "invalid_field").body(r#"{"id":"x","name":"X","opens_at":"1969-12-31T23:59:59Z"}"#),
        case("create: absurd venue", M::POST, "/admin/v1/events", Admin, 422, "invalid_venue")
            .body(r#"{"id":"x","name":"X","venue":{"sections":[{"name":"A","price_cents":1,"rows":4294967295,"seats_per_row":4294967295}]}}"#),
        case("create: negative price", M::POST, "/admin/v1/events", Admin, 422, "invalid_venue")
            .body(r#"{"id":"x","name":"X","venue":{"sections":[{"name":"A","price_cents":-100,"capacity":10}]}}"#),
        case("create: huge ticket limit", M::POST, "/admin/v1/events", Admin, 422, "invalid_request").body(r#"{"id":"x","name":"X","ticket_limit_per_buyer":4294967295}"#),
        case("create: existing id", M::POST, "/admin/v1/events", Admin, 409, "event_exists").body(r#"{"id":"gig","name":"Again"}"#),
        case("create: deeply nested", M::POST, "/admin/v1/events", Admin, 400, "invalid_json").body(deep(r#"{"id":"x","name":"X","venue":"#)),
        case("patch: deeply nested", M::PATCH, "/admin/v1/events/gig", Admin, 400, "invalid_json").body(deep(r#"{"name":"#)),
        case("create: body too large", M::POST, "/admin/v1/events", Admin, 413, "body_too_large").body(huge),
        case("patch: malformed JSON", M::PATCH, "/admin/v1/events/gig", Admin, 400, "invalid_json").body("{]"),
        case("patch: wrong type", M::PATCH, "/admin/v1/events/gig", Admin, 400, "invalid_json").body(r#"{"paused":"yes"}"#),
        case("patch: unknown field", M::PATCH, "/admin/v1/events/gig", Admin, 400, "invalid_json").body(r#"{"pasued":true}"#),
        case("patch: zero rate", M::PATCH, "/admin/v1/events/gig", Admin, 422, "invalid_field").body(r#"{"admission_rate_per_second":0}"#),
        case("patch: absurd limit", M::PATCH, "/admin/v1/events/gig", Admin, 422, "invalid_request").body(r#"{"ticket_limit_per_buyer":100000}"#),
        case("patch: bad date", M::PATCH, "/admin/v1/events/gig", Admin, 422, "invalid_field").body(r#"{"opens_at":"99999-01-01T00:00:00Z"}"#),
        case("patch: bad currency", M::PATCH, "/admin/v1/events/gig", Admin, 422, "invalid_field").body(r#"{"currency":"dollars"}"#),
        case("patch: invalid UTF-8 id", M::PATCH, "/admin/v1/events/%FF", Admin, 400, "invalid_path").body(r#"{"paused":true}"#),
        case("patch: unknown event", M::PATCH, "/admin/v1/events/nope", Admin, 404, "unknown_event").body(r#"{"paused":true}"#),
    ];
    // Oversized headers: past `http.max_header_bytes` (64 KiB) a JSON 431; far past it
    // hyper refuses them itself while reading (a bare 431: no handler runs).
    all.push(
        case(
            "oversized header",
            M::GET,
            "/api/v1/events/gig",
            Nobody,
            431,
            "headers_too_large",
        )
        .header("x-padding", "p".repeat(70 * 1024).as_bytes()),
    );
    all.push(
        case(
            "long path and header",
            M::GET,
            &format!("/api/v1/orders/{}", "o".repeat(40 * 1024)),
            Buyer,
            431,
            "headers_too_large",
        )
        .header("x-padding", "p".repeat(30 * 1024).as_bytes()),
    );
    all.push(
        case(
            "huge header",
            M::POST,
            "/api/v1/events/gig/queue",
            Nobody,
            431,
            "",
        )
        .header("x-padding", "p".repeat(1024 * 1024).as_bytes()),
    );
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_and_changes_nothing() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let serve = Breakwater::serve(data.path()).await?;
    serve
        .create_event(json!({
            "id": "gig", "name": "Gig", "admission_rate_per_second": 1000,
            "venue": {"sections": [{"name": "A", "price_cents": 2500, "rows": 5, "seats_per_row": 10}]},
        }))
        .await?;
    let line = serve.join("gig").await?;
    let buyer = serve.enter_when_ready("gig", &line).await?;
    let waiting = serve.join("gig").await?;
    let (status, held) = serve
        .call(
            Method::POST,
            "/api/v1/events/gig/holds",
            Some(&buyer),
            Some(json!({"quantity": 2})),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "hold: {status} {held}");
    let hold = held["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("hold answered no id: {held}"))?
        .to_owned();
    // The second buyer is let in by the pacer: wait until the line is still.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut before = Value::Null;
    loop {
        let now = observable(&serve, &buyer, &hold).await?;
        let settled = now["stats"]["joined_total"] == 2 && now["stats"]["ready"] == 1;
        if settled && now == before {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the line never settled: {now}");
        before = now;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A fresh connection for every case: a server that answers before reading a body
    // closes the connection, and a pooled one would fail the next case for the client.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut failures = Vec::new();
    for case in cases(&hold) {
        let mut request = http.request(case.method.clone(), serve.url(&case.path));
        request = match case.who {
            Who::Nobody => request,
            Who::Admin => request.bearer_auth(ADMIN_KEY),
            Who::Buyer => request.bearer_auth(&buyer),
            Who::Line => request.bearer_auth(&waiting),
        };
        if let Some(body) = case.body.clone() {
            if !case.headers.iter().any(|(name, _)| name == "content-type") {
                request = request.header("content-type", "application/json");
            }
            request = request.body(body);
        }
        for (name, value) in &case.headers {
            request = request.header(name.clone(), value.clone());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let error: String = error.to_string().chars().take(200).collect();
                failures.push(format!("{}: no answer: {error}", case.name));
                continue;
            }
        };
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let clear = case.code.is_empty()
            || (is_json
                && body["error"] == case.code
                && body["message"].as_str().is_some_and(|m| !m.is_empty()));
        if status != case.status || !clear {
            failures.push(format!(
                "{}: {} {} → {status} {text:.300} (wanted {} {})",
                case.name,
                case.method,
                case.path.chars().take(80).collect::<String>(),
                case.status,
                case.code
            ));
        }
    }
    let after = observable(&serve, &buyer, &hold).await?;
    anyhow::ensure!(
        failures.is_empty(),
        "{} unclear answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    anyhow::ensure!(
        before == after,
        "bad input changed something:\nbefore {before:#}\nafter {after:#}"
    );
    Ok(())
}
