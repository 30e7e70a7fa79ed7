//! The ticketing contract, proven once and run over both stores: every case below runs on
//! SQLite (temp files) and on PostgreSQL (a fresh database), through the real HTTP API,
//! real gRPC on loopback and the sandbox payment provider.

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Engine, Stack, seated_venue};

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::Engine::Sqlite).await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::Engine::Postgres).await; })*
        }
    };
}

conformance!(
    admin_puts_events_idempotently_and_locks_the_venue,
    admin_creates_an_event_once_and_a_refused_create_changes_nothing,
    admin_calls_need_the_key_and_valid_input,
    chosen_seats_are_held_all_or_nothing,
    best_available_prefers_adjacent_front_centre_then_splits,
    general_admission_stock_is_counted,
    prices_and_totals_come_from_the_server,
    idempotency_keys_replay_and_refuse_reuse,
    ticket_limit_counts_live_holds_and_orders,
    concurrent_holds_of_one_buyer_never_pass_the_limit,
    concurrent_retries_of_one_request_hold_once,
    buyers_only_see_their_own_holds_and_orders,
    tokens_are_checked_on_every_call,
    expired_holds_return_seats_to_sale,
    released_holds_return_seats_at_once,
    approved_checkout_confirms_one_order,
    declined_checkout_releases_and_captures_nothing,
    timed_out_checkout_settles_by_itself,
    bad_input_gets_4xx_and_changes_nothing,
    a_session_ended_by_leaving_only_reads,
    a_confirmed_order_ends_the_session,
    an_expired_session_still_reads_its_orders,
    unreachable_inventory_is_a_503_with_retry_after,
);

fn ids(seats: &Value) -> Vec<String> {
    seats
        .as_array()
        .into_iter()
        .flatten()
        .map(|seat| seat["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn admin_puts_events_idempotently_and_locks_the_venue(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    let venue = seated_venue(1, 2, 4);
    stack.open_event("gala", venue.clone(), 4, 300).await;
    let body = json!({"name": "Event gala", "currency": "EUR", "ticket_limit_per_buyer": 4,
                      "hold_seconds": 300, "venue": venue});
    let (status, same) = stack
        .admin(Method::PUT, "/internal/v1/events/gala", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["seats_total"], 8);
    // Nothing held yet: the venue may still change.
    let mut bigger = body.clone();
    bigger["venue"] = seated_venue(1, 3, 4);
    let (status, changed) = stack
        .admin(
            Method::PUT,
            "/internal/v1/events/gala",
            Some(bigger.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["seats_total"], 12);
    let token = stack.token("gala", 1);
    let (status, _) = stack
        .hold(&token, "gala", "k1", json!({"quantity": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, locked) = stack
        .admin(Method::PUT, "/internal/v1/events/gala", Some(body))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(locked["error"], "venue_locked");
    // The same venue again is still fine.
    let (status, _) = stack
        .admin(Method::PUT, "/internal/v1/events/gala", Some(bigger))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, patched) = stack
        .admin(
            Method::PATCH,
            "/internal/v1/events/gala",
            Some(json!({"ticket_limit_per_buyer": 2, "name": "Gala"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["ticket_limit_per_buyer"], 2);
    assert_eq!(patched["name"], "Gala");
    assert_eq!(patched["hold_seconds"], 300);
    let sales = stack.sales("gala").await;
    assert_eq!(
        (
            sales["seats_total"].as_u64(),
            sales["held"].as_u64(),
            sales["sold"].as_u64()
        ),
        (Some(12), Some(1), Some(0))
    );
    assert_eq!(sales["available"], 11);
    assert_eq!(
        (
            sales["orders_confirmed"].as_u64(),
            sales["orders_refunded"].as_u64(),
            sales["revenue_cents"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    stack.stop().await.unwrap();
}

/// The event's stored settings: (currency, ticket limit, hold seconds, seats in the venue
/// by reservation, seats in the venue by inventory).
async fn stored_event(stack: &Stack, id: &str) -> (String, u32, u32, u64, u64) {
    let store = breakwater_reservation::ReservationStore::open(&stack.databases.reservation, 1)
        .await
        .unwrap();
    let event = store.event(id).await.unwrap().expect("the event exists");
    store.close().await;
    let inventory_seats = stack.sales(id).await["seats_total"].as_u64().unwrap();
    (
        event.currency,
        event.ticket_limit_per_buyer,
        event.hold_seconds,
        event.seats_total,
        inventory_seats,
    )
}

async fn admin_creates_an_event_once_and_a_refused_create_changes_nothing(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    let body = |currency: &str, limit: u32, rows: u32| {
        json!({"name": "Gala", "currency": currency, "ticket_limit_per_buyer": limit,
               "hold_seconds": 300, "venue": seated_venue(1, rows, 4)})
    };
    let (status, created) = stack
        .admin(
            Method::POST,
            "/internal/v1/events/gala",
            Some(body("EUR", 4, 2)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["seats_total"], 8);
    // The same event again: confirmed, unchanged.
    let (status, same) = stack
        .admin(
            Method::POST,
            "/internal/v1/events/gala",
            Some(body("EUR", 4, 2)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same, created);
    // A different event under the same id: refused, and nothing changes anywhere.
    for other in [body("USD", 4, 2), body("EUR", 9, 2), body("EUR", 4, 3)] {
        let (status, refused) = stack
            .admin(Method::POST, "/internal/v1/events/gala", Some(other))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"], "event_exists");
        assert_eq!(
            stored_event(&stack, "gala").await,
            ("EUR".to_owned(), 4, 300, 8, 8)
        );
    }

    // Concurrent creates of one new id with different settings: one wins, the others
    // are refused and change nothing, so the event is exactly the winner's.
    let answers = futures::future::join_all((1..=6).map(|limit| {
        stack.admin(
            Method::POST,
            "/internal/v1/events/duo",
            Some(body("EUR", limit, limit)),
        )
    }))
    .await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in &answers {
        assert!(
            *status == StatusCode::CREATED
                || (*status == StatusCode::CONFLICT && body["error"] == "event_exists"),
            "{status} {body}"
        );
    }
    let limit = u32::try_from(winners[0]["ticket_limit_per_buyer"].as_u64().unwrap()).unwrap();
    let seats = u64::from(limit) * 4;
    assert_eq!(
        stored_event(&stack, "duo").await,
        ("EUR".to_owned(), limit, 300, seats, seats)
    );
    stack.stop().await.unwrap();
}

async fn admin_calls_need_the_key_and_valid_input(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    let body = json!({"name": "x", "venue": seated_venue(1, 1, 1)});
    let (status, error) = stack
        .call(
            Method::PUT,
            "/internal/v1/events/x",
            Some("wrong-key"),
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"], "unauthorized");
    let (status, _) = stack
        .admin(Method::PUT, "/internal/v1/events/Bad!", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for venue in [
        json!({"sections": []}),
        json!({"sections": [{"name": "A", "price_cents": -1, "capacity": 5}]}),
        json!({"sections": [{"name": "A", "price_cents": 1, "capacity": 5, "rows": 2}]}),
        json!({"sections": [{"name": "A", "price_cents": 1, "rows": 100000, "seats_per_row": 100000}]}),
    ] {
        let (status, error) = stack
            .admin(
                Method::PUT,
                "/internal/v1/events/x",
                Some(json!({"name": "x", "venue": venue})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(error["message"].is_string());
    }
    let (status, _) = stack
        .admin(
            Method::PUT,
            "/internal/v1/events/x",
            Some(json!({"name": "x", "venue": seated_venue(1, 1, 1), "colour": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = stack
        .admin(
            Method::PATCH,
            "/internal/v1/events/nope",
            Some(json!({"name": "y"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = stack
        .admin(Method::GET, "/internal/v1/events/nope/sales", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    stack.stop().await.unwrap();
}

async fn chosen_seats_are_held_all_or_nothing(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 6, 300).await;
    let (alice, bob) = (stack.token("e", 1), stack.token("e", 2));
    let (status, hold) = stack
        .hold(
            &alice,
            "e",
            "a1",
            json!({"seat_ids": ["s1-r1-1", "s1-r1-2"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    assert_eq!(ids(&hold["seats"]), vec!["s1-r1-1", "s1-r1-2"]);
    assert_eq!(hold["seats"][0]["row_id"], "s1-r1");
    assert_eq!(hold["seats"][0]["section_id"], "s1");
    assert_eq!(hold["seats"][0]["number"], 1);
    assert!(
        hold["expires_at"]
            .as_str()
            .is_some_and(|at| at.contains('T'))
    );
    let (status, refused) = stack
        .hold(&bob, "e", "b1", json!({"seat_ids": ["s1-r1-2", "s1-r1-3"]}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"], "seats_unavailable");
    assert_eq!(refused["seat_ids"], json!(["s1-r1-2"]));
    // Nothing of the refused request is held.
    assert_eq!(stack.seat_status(&bob, "e", "s1-r1-3").await, "available");
    assert_eq!(stack.seat_status(&bob, "e", "s1-r1-2").await, "held");
    let (status, unknown) = stack
        .hold(&bob, "e", "b2", json!({"seat_ids": ["s1-r9-1"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown["error"], "unknown_seats");
    assert_eq!(unknown["seat_ids"], json!(["s1-r9-1"]));
    assert_eq!(stack.sales("e").await["held"], 2);
    stack.stop().await.unwrap();
}

async fn best_available_prefers_adjacent_front_centre_then_splits(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    // Section 2 is pricier: it is the best tier.
    let venue = json!({"sections": [
        {"name": "Back", "price_cents": 1000, "rows": 2, "seats_per_row": 3},
        {"name": "Front", "price_cents": 5000, "rows": 2, "seats_per_row": 6},
    ]});
    stack.open_event("e", venue, 10, 300).await;
    let token = stack.token("e", 1);
    let (status, first) = stack.hold(&token, "e", "q1", json!({"quantity": 2})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(ids(&first["seats"]), vec!["s2-r1-3", "s2-r1-4"]);
    assert_eq!(first["adjacent"], true);
    // Take s2-r1-2 and s2-r2-3 so neither row of the front has three together … except
    // row 2's 4-6; then a block of three lands there.
    let other = stack.token("e", 2);
    let (status, _) = stack
        .hold(
            &other,
            "e",
            "o1",
            json!({"seat_ids": ["s2-r1-2", "s2-r2-3"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, third) = stack.hold(&token, "e", "q2", json!({"quantity": 3})).await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    assert_eq!(ids(&third["seats"]), vec!["s2-r2-4", "s2-r2-5", "s2-r2-6"]);
    // A section can be asked for.
    let (status, back) = stack
        .hold(
            &token,
            "e",
            "q3",
            json!({"quantity": 2, "section_id": "s1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{back}");
    assert_eq!(ids(&back["seats"]), vec!["s1-r1-1", "s1-r1-2"]);
    // Front now has s2-r1-1, s2-r1-5, s2-r1-6, s2-r2-1, s2-r2-2 free: no three together in
    // one row with the rest held; four split across rows of the same section.
    let (status, split) = stack
        .hold(
            &other,
            "e",
            "o2",
            json!({"quantity": 4, "section_id": "s2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{split}");
    assert_eq!(split["adjacent"], false);
    assert_eq!(
        ids(&split["seats"]),
        vec!["s2-r1-1", "s2-r1-5", "s2-r1-6", "s2-r2-1"]
    );
    let (status, none) = stack
        .hold(
            &other,
            "e",
            "o3",
            json!({"quantity": 3, "section_id": "s2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{none}");
    assert_eq!(none["error"], "seats_unavailable");
    let (status, unknown) = stack
        .hold(
            &other,
            "e",
            "o4",
            json!({"quantity": 1, "section_id": "s9"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown["error"], "unknown_section");
    stack.stop().await.unwrap();
}

async fn general_admission_stock_is_counted(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    let venue = json!({"sections": [
        {"name": "Seats", "price_cents": 3000, "rows": 1, "seats_per_row": 2},
        {"name": "Floor", "price_cents": 2000, "capacity": 5},
    ]});
    stack.open_event("e", venue, 10, 300).await;
    let token = stack.token("e", 1);
    let (status, hold) = stack
        .hold(
            &token,
            "e",
            "g1",
            json!({"quantity": 3, "section_id": "s2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    assert_eq!(hold["total_cents"], 6000);
    assert!(hold["seats"][0]["row_id"].is_null());
    let (status, map) = stack
        .call(
            Method::GET,
            "/api/v1/events/e/seats",
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(map["sections"][1]["available"], 2);
    assert_eq!(map["sections"][1]["general_admission"], true);
    assert!(map["sections"][1].get("rows").is_none());
    assert_eq!(
        map["sections"][0]["rows"][0]["seats"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let (status, _) = stack
        .hold(
            &token,
            "e",
            "g2",
            json!({"quantity": 3, "section_id": "s2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = stack
        .hold(
            &token,
            "e",
            "g3",
            json!({"quantity": 2, "section_id": "s2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(stack.sales("e").await["held"], 5);
    stack.stop().await.unwrap();
}

async fn prices_and_totals_come_from_the_server(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(2, 1, 2), 6, 300).await;
    let token = stack.token("e", 1);
    let (status, hold) = stack
        .hold(&token, "e", "p1", json!({"seat_ids": ["s1-r1-1", "s2-r1-1"], "price_cents": 1, "total_cents": 1, "currency": "XXX"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    assert_eq!(hold["total_cents"], 19_000);
    assert_eq!(hold["currency"], "EUR");
    let hold_id = hold["id"].as_str().unwrap();
    let (status, order) = stack
        .checkout(&token, hold_id, "c1", "sandbox:approve")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["total_cents"], 19_000);
    assert_eq!(stack.sales("e").await["revenue_cents"], 19_000);
    stack.stop().await.unwrap();
}

async fn idempotency_keys_replay_and_refuse_reuse(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 6, 300).await;
    let token = stack.token("e", 1);
    let (status, missing) = stack
        .call(
            Method::POST,
            "/api/v1/events/e/holds",
            Some(&token),
            None,
            Some(json!({"quantity": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(missing["error"], "idempotency_key_required");
    let (first_status, first) = stack
        .hold(&token, "e", "same", json!({"quantity": 2}))
        .await;
    let (second_status, second) = stack
        .hold(&token, "e", "same", json!({"quantity": 2}))
        .await;
    assert_eq!(
        (first_status, second_status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(first, second);
    assert_eq!(
        stack.sales("e").await["held"],
        2,
        "a retried create never holds twice"
    );
    let (status, reused) = stack
        .hold(&token, "e", "same", json!({"quantity": 3}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused["error"], "idempotency_key_reused");
    // Keys belong to a buyer: another buyer's identical key is a fresh request.
    let (status, other) = stack
        .hold(&stack.token("e", 2), "e", "same", json!({"quantity": 2}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(other["id"], first["id"]);
    let hold = first["id"].as_str().unwrap();
    let (s1, c1) = stack.checkout(&token, hold, "pay", "sandbox:approve").await;
    let (s2, c2) = stack.checkout(&token, hold, "pay", "sandbox:approve").await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(c1, c2);
    let (status, _) = stack.checkout(&token, hold, "pay", "sandbox:decline").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let payments = breakwater_payment::PaymentStore::open(&stack.databases.payment, 1)
        .await
        .unwrap();
    assert_eq!(
        payments.list().await.unwrap().len(),
        1,
        "one checkout, one payment intent"
    );
    payments.close().await;
    stack.stop().await.unwrap();
}

async fn ticket_limit_counts_live_holds_and_orders(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 4, 5), 4, 300).await;
    let token = stack.token("e", 1);
    let (_, first) = stack.hold(&token, "e", "l1", json!({"quantity": 2})).await;
    // An order still settling counts (a confirmed one ends the session, so then nothing
    // more can be held at all).
    let (status, _) = stack
        .checkout(
            &token,
            first["id"].as_str().unwrap(),
            "l1c",
            "sandbox:timeout",
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, second) = stack.hold(&token, "e", "l2", json!({"quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, over) = stack.hold(&token, "e", "l3", json!({"quantity": 2})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{over}");
    assert_eq!(over["error"], "ticket_limit_exceeded");
    assert_eq!(over["limit"], 4);
    let (status, _) = stack
        .call(
            Method::DELETE,
            &format!("/api/v1/holds/{}", second["id"].as_str().unwrap()),
            Some(&token),
            Some("l2d"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = stack.hold(&token, "e", "l4", json!({"quantity": 2})).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "released holds no longer count"
    );
    // Another buyer has their own allowance.
    let (status, _) = stack
        .hold(&stack.token("e", 2), "e", "l5", json!({"quantity": 4}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    stack.stop().await.unwrap();
}

async fn concurrent_holds_of_one_buyer_never_pass_the_limit(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 10, 10), 4, 300).await;
    let token = stack.token("e", 1);
    let keys: Vec<String> = (0..12).map(|i| format!("race-{i}")).collect();
    let answers = futures::future::join_all(
        keys.iter()
            .map(|key| stack.hold(&token, "e", key, json!({"quantity": 2}))),
    )
    .await;
    let granted = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    for (status, body) in &answers {
        assert!(
            *status == StatusCode::CREATED || body["error"] == "ticket_limit_exceeded",
            "{status} {body}"
        );
    }
    assert_eq!(granted, 2, "a limit of 4 grants two holds of 2");
    // Holds refused for the limit after inventory granted them gave their seats back.
    let sales = stack.sales("e").await;
    assert_eq!(sales["held"], 4, "{sales}");
    // A retry of a refused request is refused again, and holds nothing.
    let refused = answers
        .iter()
        .position(|(status, _)| *status != StatusCode::CREATED)
        .unwrap();
    let (status, _) = stack
        .hold(&token, "e", &keys[refused], json!({"quantity": 2}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stack.sales("e").await["held"], 4);
    stack.stop().await.unwrap();
}

async fn concurrent_retries_of_one_request_hold_once(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 10, 10), 6, 300).await;
    let token = stack.token("e", 1);
    let answers = futures::future::join_all(
        (0..8).map(|_| stack.hold(&token, "e", "once", json!({"quantity": 3}))),
    )
    .await;
    let (first_status, first) = &answers[0];
    assert_eq!(*first_status, StatusCode::CREATED, "{first}");
    for answer in &answers {
        assert_eq!(answer, &answers[0], "every retry gets the one answer");
    }
    assert_eq!(stack.sales("e").await["held"], 3, "one hold of 3, not 8");
    stack.stop().await.unwrap();
}

async fn buyers_only_see_their_own_holds_and_orders(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 6, 300).await;
    let (alice, mallory) = (stack.token("e", 1), stack.token("e", 2));
    let (_, hold) = stack.hold(&alice, "e", "a1", json!({"quantity": 1})).await;
    let hold_id = hold["id"].as_str().unwrap();
    let (_, other_hold) = stack.hold(&alice, "e", "a2", json!({"quantity": 1})).await;
    let other_id = other_hold["id"].as_str().unwrap();
    let (status, order) = stack
        .checkout(&alice, hold_id, "a1c", "sandbox:approve")
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let order_id = order["order_id"].as_str().unwrap();
    for (method, path, key) in [
        (Method::GET, format!("/api/v1/holds/{other_id}"), None),
        (
            Method::DELETE,
            format!("/api/v1/holds/{other_id}"),
            Some("m1"),
        ),
        (Method::GET, format!("/api/v1/orders/{order_id}"), None),
    ] {
        let (status, body) = stack.call(method, &path, Some(&mallory), key, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = stack
        .checkout(&mallory, other_id, "m2", "sandbox:approve")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, mine) = stack
        .call(Method::GET, "/api/v1/orders", Some(&mallory), None, None)
        .await;
    assert_eq!(mine["orders"], json!([]));
    let (_, hers) = stack
        .call(Method::GET, "/api/v1/orders", Some(&alice), None, None)
        .await;
    assert_eq!(hers["orders"].as_array().map(Vec::len), Some(1));
    assert_eq!(hers["orders"][0]["status"], "confirmed");
    let (status, own) = stack
        .call(
            Method::GET,
            &format!("/api/v1/holds/{other_id}"),
            Some(&alice),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        own["status"], "released",
        "the confirmed order ended the session and gave the unpaid hold back"
    );
    // The same buyer number at another event is another buyer.
    let (status, _) = stack
        .call(
            Method::GET,
            &format!("/api/v1/holds/{other_id}"),
            Some(&stack.token("f", 1)),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    stack.stop().await.unwrap();
}

async fn tokens_are_checked_on_every_call(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 1, 5), 6, 300).await;
    let forged = support::token(
        &breakwater_tokens::TokenKeys::new(b"attacker secret 123"),
        "e",
        1,
    );
    let other_event = stack.token("f", 1);
    let expired = stack.keys.sign_access(&breakwater_tokens::AccessToken {
        event: "e".into(),
        lineage: 1,
        number: 1,
        expires_at_ms: 1,
    });
    for (token, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(forged.as_str()), StatusCode::UNAUTHORIZED),
        (Some(expired.as_str()), StatusCode::UNAUTHORIZED),
        (
            Some("bw1.a.e.1.99999999999999.AAAA"),
            StatusCode::UNAUTHORIZED,
        ),
        (Some(other_event.as_str()), StatusCode::FORBIDDEN),
    ] {
        let (status, body) = stack
            .call(
                Method::POST,
                "/api/v1/events/e/holds",
                token,
                Some("k"),
                Some(json!({"quantity": 1})),
            )
            .await;
        assert_eq!(status, expected, "{body}");
        assert!(body["error"].is_string() && body["message"].is_string());
        let (status, _) = stack
            .call(Method::GET, "/api/v1/events/e/seats", token, None, None)
            .await;
        assert_eq!(status, expected);
    }
    let (status, _) = stack
        .call(Method::GET, "/api/v1/orders", None, None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(stack.sales("e").await["held"], 0);
    stack.stop().await.unwrap();
}

async fn expired_holds_return_seats_to_sale(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 1, 2), 2, 1).await;
    let (alice, bob) = (stack.token("e", 1), stack.token("e", 2));
    let (status, hold) = stack.hold(&alice, "e", "x1", json!({"quantity": 2})).await;
    assert_eq!(status, StatusCode::CREATED);
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    support::eventually(Duration::from_secs(10), "hold to expire", || async {
        let (_, view) = stack
            .call(
                Method::GET,
                &format!("/api/v1/holds/{hold_id}"),
                Some(&alice),
                None,
                None,
            )
            .await;
        (view["status"] == "expired").then_some(())
    })
    .await;
    assert_eq!(stack.seat_status(&bob, "e", "s1-r1-1").await, "available");
    let (status, expired) = stack
        .checkout(&alice, &hold_id, "x1c", "sandbox:approve")
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{expired}");
    assert_eq!(expired["error"], "hold_expired");
    let (status, _) = stack
        .hold(&bob, "e", "y1", json!({"seat_ids": ["s1-r1-1", "s1-r1-2"]}))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "expired seats are for sale again"
    );
    // The expired hold no longer counts against Alice's limit.
    let (status, _) = stack
        .admin(
            Method::PATCH,
            "/internal/v1/events/e",
            Some(json!({"hold_seconds": 300})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = stack.hold(&alice, "e", "x2", json!({"quantity": 2})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no seats left, but not over the limit"
    );
    stack.stop().await.unwrap();
}

async fn released_holds_return_seats_at_once(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 1, 2), 2, 300).await;
    let token = stack.token("e", 1);
    let (_, hold) = stack.hold(&token, "e", "r1", json!({"quantity": 2})).await;
    let path = format!("/api/v1/holds/{}", hold["id"].as_str().unwrap());
    let (status, _) = stack
        .call(Method::DELETE, &path, Some(&token), None, None)
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "DELETE needs an Idempotency-Key"
    );
    let (s1, first) = stack
        .call(Method::DELETE, &path, Some(&token), Some("d1"), None)
        .await;
    let (s2, again) = stack
        .call(Method::DELETE, &path, Some(&token), Some("d1"), None)
        .await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first, again);
    assert_eq!(first["status"], "released");
    assert_eq!(stack.seat_status(&token, "e", "s1-r1-2").await, "available");
    let (status, body) = stack
        .checkout(
            &token,
            hold["id"].as_str().unwrap(),
            "r1c",
            "sandbox:approve",
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["error"], "hold_not_active",
        "a cancelled hold is not checked out"
    );
    // Cancelling again (another key) changes nothing and says so the same way.
    let (status, again) = stack
        .call(Method::DELETE, &path, Some(&token), Some("d2"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "released");
    assert_eq!(stack.sales("e").await["held"], 0);
    stack.stop().await.unwrap();
}

async fn approved_checkout_confirms_one_order(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 1, 4), 6, 300).await;
    let token = stack.token("e", 1);
    let (_, hold) = stack
        .hold(
            &token,
            "e",
            "h",
            json!({"seat_ids": ["s1-r1-1", "s1-r1-2"]}),
        )
        .await;
    let hold_id = hold["id"].as_str().unwrap();
    let (status, order) = stack
        .checkout(&token, hold_id, "c", "sandbox:approve")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "confirmed");
    assert_eq!(ids(&order["seats"]), vec!["s1-r1-1", "s1-r1-2"]);
    assert_eq!(stack.seat_status(&token, "e", "s1-r1-1").await, "sold");
    let (status, again) = stack
        .checkout(&token, hold_id, "c2", "sandbox:approve")
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["error"], "hold_checked_out");
    let (status, cancel) = stack
        .call(
            Method::DELETE,
            &format!("/api/v1/holds/{hold_id}"),
            Some(&token),
            Some("d"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "sold seats never return");
    assert_eq!(cancel["error"], "hold_checked_out");
    assert_eq!(cancel["order_id"], order["order_id"]);
    let sales = stack.sales("e").await;
    assert_eq!(
        (sales["sold"].as_u64(), sales["orders_confirmed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(sales["revenue_cents"], 20_000);
    let (_, fetched) = stack
        .call(
            Method::GET,
            &format!("/api/v1/orders/{}", order["order_id"].as_str().unwrap()),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(fetched["status"], "confirmed");
    let payments = breakwater_payment::PaymentStore::open(&stack.databases.payment, 1)
        .await
        .unwrap();
    let intents = payments.list().await.unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(
        intents[0].idempotency_key,
        order["order_id"].as_str().unwrap()
    );
    assert_eq!(intents[0].state, breakwater_payment::IntentState::Captured);
    assert_eq!(intents[0].amount_cents, 20_000);
    payments.close().await;
    stack.stop().await.unwrap();
}

async fn declined_checkout_releases_and_captures_nothing(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 1, 4), 6, 300).await;
    let token = stack.token("e", 1);
    let (_, hold) = stack
        .hold(&token, "e", "h", json!({"seat_ids": ["s1-r1-3"]}))
        .await;
    let hold_id = hold["id"].as_str().unwrap();
    let (status, declined) = stack
        .checkout(&token, hold_id, "c", "sandbox:decline")
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{declined}");
    assert_eq!(declined["error"], "payment_declined");
    assert_eq!(stack.seat_status(&token, "e", "s1-r1-3").await, "available");
    let (_, order) = stack
        .call(
            Method::GET,
            &format!("/api/v1/orders/{}", declined["order_id"].as_str().unwrap()),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(order["status"], "failed");
    let (_, view) = stack
        .call(
            Method::GET,
            &format!("/api/v1/holds/{hold_id}"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(view["status"], "released");
    let (status, _) = stack.checkout(&token, hold_id, "c2", "bitcoin").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The checkout had the hold: a cancel now is refused and gives nothing back twice.
    let (status, cancel) = stack
        .call(
            Method::DELETE,
            &format!("/api/v1/holds/{hold_id}"),
            Some(&token),
            Some("d"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{cancel}");
    assert_eq!(cancel["error"], "hold_checked_out");
    assert_eq!(cancel["order_id"], declined["order_id"]);
    let payments = breakwater_payment::PaymentStore::open(&stack.databases.payment, 1)
        .await
        .unwrap();
    let intents = payments.list().await.unwrap();
    assert!(
        intents
            .iter()
            .all(|i| i.state != breakwater_payment::IntentState::Captured)
    );
    payments.close().await;
    let sales = stack.sales("e").await;
    assert_eq!(
        (
            sales["sold"].as_u64(),
            sales["held"].as_u64(),
            sales["orders_failed"].as_u64()
        ),
        (Some(0), Some(0), Some(1))
    );
    stack.stop().await.unwrap();
}

async fn timed_out_checkout_settles_by_itself(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 10, 300).await;
    let token = stack.token("e", 1);
    let mut pending = Vec::new();
    for n in 0..4 {
        let (_, hold) = stack
            .hold(&token, "e", &format!("h{n}"), json!({"quantity": 1}))
            .await;
        let (status, answer) = stack
            .checkout(
                &token,
                hold["id"].as_str().unwrap(),
                &format!("c{n}"),
                "sandbox:timeout",
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(answer["status"], "pending");
        pending.push(answer["order_id"].as_str().unwrap().to_owned());
    }
    let settled: Vec<Value> =
        support::eventually(Duration::from_secs(20), "orders to settle", || async {
            let (_, list) = stack
                .call(Method::GET, "/api/v1/orders", Some(&token), None, None)
                .await;
            let orders = list["orders"].as_array().cloned().unwrap_or_default();
            orders
                .iter()
                .all(|o| o["status"] != "pending")
                .then_some(orders)
        })
        .await;
    assert_eq!(settled.len(), 4);
    let payments = breakwater_payment::PaymentStore::open(&stack.databases.payment, 1)
        .await
        .unwrap();
    let intents = payments.list().await.unwrap();
    payments.close().await;
    for order in &settled {
        let intent = intents
            .iter()
            .find(|i| i.idempotency_key == order["id"])
            .expect("intent per order");
        let seat = order["seats"][0]["id"].as_str().unwrap();
        let seat_status = stack.seat_status(&token, "e", seat).await;
        if order["status"] == "confirmed" {
            assert_eq!(intent.state, breakwater_payment::IntentState::Captured);
            assert_eq!(seat_status, "sold");
        } else {
            assert_eq!(order["status"], "failed");
            assert_eq!(intent.state, breakwater_payment::IntentState::Declined);
            assert_eq!(seat_status, "available");
        }
    }
    stack.stop().await.unwrap();
}

async fn bad_input_gets_4xx_and_changes_nothing(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 6, 300).await;
    let token = stack.token("e", 1);
    let holds = format!("{}/api/v1/events/e/holds", stack.base);
    let raw = |body: &'static str| {
        stack
            .http
            .post(&holds)
            .bearer_auth(&token)
            .header("Idempotency-Key", format!("raw-{}", body.len()))
            .header("content-type", "application/json")
            .body(body)
    };
    for (body, expected) in [
        ("{", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
        ("[1,2]", StatusCode::UNPROCESSABLE_ENTITY),
        (
            r#"{"quantity": 99999999999999999999}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (r#"{"quantity": -1}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"quantity": 0}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"quantity": 1000}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (
            r#"{"quantity": 1, "seat_ids": ["s1-r1-1"]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"quantity": 1, "evil": true}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (r#"{"seat_ids": []}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (
            r#"{"seat_ids": ["s1-r1-1", "s1-r1-1"]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"seat_ids": ["'; DROP TABLE inv_seats; --"]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let response = raw(body).send().await.unwrap();
        let status = response.status();
        let json: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{body}: {json}");
        assert!(json["error"].is_string(), "{json}");
    }
    let (status, _) = stack
        .call(
            Method::POST,
            "/api/v1/events/e/holds",
            Some(&token),
            Some(&"k".repeat(200)),
            Some(json!({"quantity": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for path in [
        "/api/v1/holds/not-a-hold",
        "/api/v1/holds/00000000-0000-0000-0000-000000000000",
        "/api/v1/orders/x",
    ] {
        let (status, body) = stack
            .call(Method::GET, path, Some(&token), None, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body["error"].is_string());
    }
    let (status, _) = stack
        .checkout(
            &token,
            "00000000-0000-0000-0000-000000000000",
            "c",
            "sandbox:approve",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = stack
        .call(
            Method::GET,
            "/api/v1/events/NOPE/seats",
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = stack.call(Method::GET, "/nowhere", None, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let (status, _) = stack
        .call(Method::PUT, "/api/v1/orders", Some(&token), None, None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let sales = stack.sales("e").await;
    assert_eq!(
        (sales["held"].as_u64(), sales["sold"].as_u64()),
        (Some(0), Some(0))
    );
    stack.stop().await.unwrap();
}

/// The gateway ends a buyer's session when they leave: from then on their token holds and
/// checks out nothing, their unpaid holds are back on sale, and they still read their own
/// holds and orders.
async fn a_session_ended_by_leaving_only_reads(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 6, 300).await;
    let token = stack.token("e", 3);
    let (_, first) = stack.hold(&token, "e", "h1", json!({"quantity": 2})).await;
    let (_, second) = stack.hold(&token, "e", "h2", json!({"quantity": 1})).await;
    assert_eq!(stack.sales("e").await["held"], 3);
    let session = "/internal/v1/events/e/sessions/0000000000000001-3";
    let (status, body) = stack.call(Method::DELETE, session, None, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no admin key: {body}");
    for _ in 0..2 {
        let (status, ended) = stack.admin(Method::DELETE, session, None).await;
        assert_eq!(status, StatusCode::OK, "{ended}");
        assert_eq!(ended["holds_released"], 2, "{ended}");
    }
    let (status, body) = stack
        .admin(Method::DELETE, "/internal/v1/events/e/sessions/3", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        stack.sales("e").await["held"],
        0,
        "the unpaid holds went back"
    );
    let (status, body) = stack.hold(&token, "e", "h3", json!({"quantity": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "session_ended");
    let hold_id = first["id"].as_str().unwrap();
    let (status, body) = stack
        .checkout(&token, hold_id, "c1", "sandbox:approve")
        .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::FORBIDDEN, json!("session_ended"))
    );
    let (status, shown) = stack
        .call(
            Method::GET,
            &format!("/api/v1/holds/{hold_id}"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, shown["status"].clone()),
        (StatusCode::OK, json!("released"))
    );
    let (status, orders) = stack
        .call(Method::GET, "/api/v1/orders", Some(&token), None, None)
        .await;
    assert_eq!(
        (status, orders["orders"].clone()),
        (StatusCode::OK, json!([]))
    );
    // A retry of a hold made before the session ended still gets its first answer.
    let (status, replay) = stack.hold(&token, "e", "h2", json!({"quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replay["id"], second["id"]);
    stack.stop().await.unwrap();
}

/// A confirmed order ends the buyer's session by itself: the rest of their holds go back
/// and nothing more is held or bought with the token.
async fn a_confirmed_order_ends_the_session(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 6, 300).await;
    let token = stack.token("e", 4);
    let (_, bought) = stack.hold(&token, "e", "h1", json!({"quantity": 1})).await;
    let (_, spare) = stack.hold(&token, "e", "h2", json!({"quantity": 1})).await;
    let (status, order) = stack
        .checkout(
            &token,
            bought["id"].as_str().unwrap(),
            "c1",
            "sandbox:approve",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let sales = stack.sales("e").await;
    assert_eq!(
        (sales["sold"].clone(), sales["held"].clone()),
        (json!(1), json!(0))
    );
    let (status, body) = stack.hold(&token, "e", "h3", json!({"quantity": 1})).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::FORBIDDEN, json!("session_ended"))
    );
    let (status, body) = stack
        .checkout(
            &token,
            spare["id"].as_str().unwrap(),
            "c2",
            "sandbox:approve",
        )
        .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::FORBIDDEN, json!("session_ended"))
    );
    // The bought hold is answered for what it is.
    let (status, body) = stack
        .checkout(
            &token,
            bought["id"].as_str().unwrap(),
            "c3",
            "sandbox:approve",
        )
        .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::CONFLICT, json!("hold_checked_out"))
    );
    let (_, orders) = stack
        .call(Method::GET, "/api/v1/orders", Some(&token), None, None)
        .await;
    assert_eq!(orders["orders"].as_array().map(Vec::len), Some(1));
    stack.stop().await.unwrap();
}

/// An access token past its session still names its buyer for reading their orders, and
/// buys nothing.
async fn an_expired_session_still_reads_its_orders(engine: Engine) {
    let stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 1, 5), 6, 300).await;
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let ran_out = stack.keys.sign_access(&breakwater_tokens::AccessToken {
        event: "e".into(),
        lineage: 1,
        number: 5,
        expires_at_ms: now_ms - 60_000,
    });
    let (status, orders) = stack
        .call(Method::GET, "/api/v1/orders", Some(&ran_out), None, None)
        .await;
    assert_eq!(
        (status, orders["orders"].clone()),
        (StatusCode::OK, json!([]))
    );
    let (status, body) = stack.hold(&ran_out, "e", "h", json!({"quantity": 1})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    stack.stop().await.unwrap();
}

async fn unreachable_inventory_is_a_503_with_retry_after(engine: Engine) {
    let mut stack = Stack::start(engine).await.unwrap();
    stack.open_event("e", seated_venue(1, 2, 5), 4, 300).await;
    let token = stack.token("e", 1);
    if let Some(inventory) = stack.inventory.take() {
        inventory.shutdown().await.unwrap();
    }
    let response = stack
        .http
        .post(format!("{}/api/v1/events/e/holds", stack.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "k")
        .json(&json!({"quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "backend_unavailable", "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
    stack.stop().await.unwrap();
}
