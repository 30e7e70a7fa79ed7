//! Cancel racing checkout, on SQLite and PostgreSQL through the real HTTP API, gRPC and
//! the sandbox provider.
//!
//! - `races`: 500 holds, each cancelled and checked out at the same moment (two requests
//!   fired concurrently, different Idempotency-Keys). Exactly one of the two wins, the
//!   other gets 409; every order ends `confirmed`, `failed` or `refunded`; every captured
//!   payment has exactly one confirmed order or one refund; inventory sold exactly the
//!   confirmed orders' seats.
//! - `plain_release_leaves_a_pinned_hold_alone`: inventory refuses a plain release of a
//!   hold whose checkout pinned it (the root of the race: a cancel that lost released the
//!   seats of a paid order anyway).
//! - `seats_lost_after_pin_are_refunded`: the seats of a pinned hold vanish at inventory
//!   between pin and commit (released behind the saga's back); the saga refunds the
//!   captured payment instead of waiting for ever on a commit that cannot succeed.
//! - `refund_is_finished_after_a_restart`: a process that stopped inside the refund step
//!   (the step written, payment not asked) leaves the refund to the next process's
//!   reconciler.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use breakwater_proto::inventory as inv;
use breakwater_proto::inventory::inventory_client::InventoryClient;
use breakwater_proto::payment as pay;
use breakwater_proto::payment::payment_client::PaymentClient;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Engine, Stack, seated_venue};

macro_rules! on_both_engines {
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

on_both_engines!(
    races,
    plain_release_leaves_a_pinned_hold_alone,
    seats_lost_after_pin_are_refunded,
    refund_is_finished_after_a_restart,
);

/// Races per engine.
const RACES: u32 = 500;
/// Races in flight at once.
const IN_FLIGHT: usize = 8;
/// Seats per row of the race venue (one section, `RACES / ROW` rows).
const ROW: u32 = 25;
/// Payment methods the races cycle through.
const METHODS: [&str; 10] = [
    "sandbox:approve",
    "sandbox:approve",
    "sandbox:approve",
    "sandbox:approve",
    "sandbox:approve",
    "sandbox:approve",
    "sandbox:decline",
    "sandbox:decline",
    "sandbox:timeout",
    "sandbox:timeout",
];

/// What one race's two requests got.
struct Race {
    hold_id: String,
    seat: String,
    cancel: (StatusCode, Value),
    checkout: (StatusCode, Value),
}

fn seat_of(n: u32) -> String {
    format!("s1-r{}-{}", n / ROW + 1, n % ROW + 1)
}

/// Holds race `n`'s seat, then cancels and checks it out at the same moment.
async fn race(stack: Arc<Stack>, n: u32) -> Race {
    let token = stack.token("race", u64::from(n) + 1);
    let seat = seat_of(n);
    let (status, hold) = stack
        .hold(&token, "race", "hold", json!({ "seat_ids": [seat] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    let method = METHODS[n as usize % METHODS.len()];
    let cancel = {
        let (stack, token, path) = (
            stack.clone(),
            token.clone(),
            format!("/api/v1/holds/{hold_id}"),
        );
        async move {
            stack
                .call(Method::DELETE, &path, Some(&token), Some("cancel"), None)
                .await
        }
    };
    let checkout = {
        let (stack, token, hold_id) = (stack.clone(), token.clone(), hold_id.clone());
        async move { stack.checkout(&token, &hold_id, "pay", method).await }
    };
    // Both on the runtime's threads at once; which is spawned first alternates.
    let (cancel, checkout) = if n.is_multiple_of(2) {
        let cancel = tokio::spawn(cancel);
        let checkout = tokio::spawn(checkout);
        (cancel.await.unwrap(), checkout.await.unwrap())
    } else {
        let checkout = tokio::spawn(checkout);
        let cancel = tokio::spawn(cancel);
        (cancel.await.unwrap(), checkout.await.unwrap())
    };
    Race {
        hold_id,
        seat,
        cancel,
        checkout,
    }
}

/// Polls the reservation database until every order of `event` has finished its saga;
/// the orders then.
async fn settled_orders(
    stack: &Stack,
    event: &str,
    within: Duration,
) -> Vec<breakwater_reservation::store::OrderRecord> {
    let store = breakwater_reservation::ReservationStore::open(&stack.databases.reservation, 2)
        .await
        .unwrap();
    let deadline = Instant::now() + within;
    let orders = loop {
        let orders = store.orders_of_event(event).await.unwrap();
        let unfinished: Vec<String> = orders
            .iter()
            .filter(|o| o.step.as_str() != "done")
            .map(|o| format!("{} ({}, step {})", o.order_id, o.state, o.step))
            .collect();
        if unfinished.is_empty() {
            break orders;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} orders still unfinished after {within:?}: {:?}",
            unfinished.len(),
            orders.len(),
            &unfinished[..unfinished.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    store.close().await;
    orders
}

/// Every payment intent, by idempotency key (the order id), with its state's name.
async fn intents(stack: &Stack) -> HashMap<String, String> {
    let payments = breakwater_payment::PaymentStore::open(&stack.databases.payment, 1)
        .await
        .unwrap();
    let intents = payments
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.idempotency_key, i.state.as_str().to_owned()))
        .collect();
    payments.close().await;
    intents
}

/// Every seat's status on the live map.
async fn seat_statuses(stack: &Stack, token: &str, event: &str) -> BTreeMap<String, String> {
    let (status, map) = stack
        .call(
            Method::GET,
            &format!("/api/v1/events/{event}/seats"),
            Some(token),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{map}");
    let mut seats = BTreeMap::new();
    for section in map["sections"].as_array().into_iter().flatten() {
        for row in section["rows"].as_array().into_iter().flatten() {
            for seat in row["seats"].as_array().into_iter().flatten() {
                seats.insert(
                    seat["id"].as_str().unwrap_or_default().to_owned(),
                    seat["status"].as_str().unwrap_or_default().to_owned(),
                );
            }
        }
    }
    seats
}

async fn races(engine: Engine) {
    let stack = Arc::new(Stack::start(engine).await.unwrap());
    stack
        .open_event("race", seated_venue(1, RACES / ROW, ROW), 1, 300)
        .await;
    let started = Instant::now();
    let results: Vec<Race> = futures::stream::iter(0..RACES)
        .map(|n| race(stack.clone(), n))
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let raced = started.elapsed();

    // Exactly one of the two won each race; the loser got a clear 409.
    let both_won: Vec<&Race> = results
        .iter()
        .filter(|r| r.cancel.0 == StatusCode::OK && r.checkout.0 != StatusCode::CONFLICT)
        .collect();
    let neither_won = results
        .iter()
        .filter(|r| r.cancel.0 != StatusCode::OK && r.checkout.0 == StatusCode::CONFLICT)
        .count();
    assert!(
        both_won.is_empty() && neither_won == 0,
        "{} of {RACES} races won by both cancel and checkout, {neither_won} by neither; \
         first: cancel {} {}, checkout {} {}",
        both_won.len(),
        both_won.first().map(|r| r.cancel.0).unwrap_or_default(),
        both_won
            .first()
            .map(|r| &r.cancel.1)
            .unwrap_or(&Value::Null),
        both_won.first().map(|r| r.checkout.0).unwrap_or_default(),
        both_won
            .first()
            .map(|r| &r.checkout.1)
            .unwrap_or(&Value::Null),
    );
    let (mut cancel_won, mut checkout_won) = (0, 0);
    let mut order_of_hold = HashMap::new();
    let mut cancelled_seats = BTreeSet::new();
    for race in &results {
        let ((cancel, cancel_body), (checkout, checkout_body)) = (&race.cancel, &race.checkout);
        let context = format!(
            "hold {}: cancel {cancel} {cancel_body}, checkout {checkout} {checkout_body}",
            race.hold_id
        );
        if *cancel == StatusCode::OK {
            cancel_won += 1;
            assert_eq!(cancel_body["status"], "released", "{context}");
            assert_eq!(*checkout, StatusCode::CONFLICT, "{context}");
            assert_eq!(checkout_body["error"], "hold_not_active", "{context}");
            cancelled_seats.insert(race.seat.clone());
        } else {
            checkout_won += 1;
            assert_eq!(*cancel, StatusCode::CONFLICT, "{context}");
            assert_eq!(cancel_body["error"], "hold_checked_out", "{context}");
            assert!(
                [
                    StatusCode::CREATED,
                    StatusCode::ACCEPTED,
                    StatusCode::PAYMENT_REQUIRED
                ]
                .contains(checkout),
                "{context}"
            );
            let order_id = checkout_body["order_id"].as_str().unwrap_or_default();
            assert!(!order_id.is_empty(), "{context}");
            assert_eq!(cancel_body["order_id"], order_id, "{context}");
            order_of_hold.insert(race.hold_id.clone(), order_id.to_owned());
        }
    }

    // The reconciler finishes every order the requests left pending.
    let orders = settled_orders(&stack, "race", Duration::from_secs(30)).await;
    let settled = started.elapsed();
    assert_eq!(
        orders.len(),
        checkout_won,
        "one order per checkout that won"
    );
    let intents = intents(&stack).await;
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    let mut expected_sold = BTreeMap::new();
    for order in &orders {
        let state = order.state.as_str();
        *by_state.entry(state).or_default() += 1;
        assert_eq!(
            order_of_hold.get(&order.hold_id),
            Some(&order.order_id),
            "the order is the one its checkout answered with"
        );
        let intent = intents.get(&order.order_id).map(String::as_str);
        match state {
            "confirmed" => {
                assert_eq!(intent, Some("captured"), "order {}", order.order_id);
                for seat in &order.seats {
                    assert!(
                        expected_sold
                            .insert(seat.id.clone(), order.hold_id.clone())
                            .is_none(),
                        "seat {} in two confirmed orders",
                        seat.id
                    );
                }
            }
            "refunded" => assert_eq!(intent, Some("refunded"), "order {}", order.order_id),
            "failed" => assert!(
                !matches!(intent, Some("captured" | "refunded")),
                "failed order {} was charged",
                order.order_id
            ),
            other => panic!("order {} ended {other}", order.order_id),
        }
    }
    // Every captured payment has exactly one confirmed order or exactly one refund.
    let orders_by_id: HashMap<&str, &str> = orders
        .iter()
        .map(|o| (o.order_id.as_str(), o.state.as_str()))
        .collect();
    let mut refunds = 0;
    for (key, state) in &intents {
        match state.as_str() {
            "captured" => assert_eq!(orders_by_id.get(key.as_str()), Some(&"confirmed")),
            "refunded" => {
                refunds += 1;
                assert_eq!(orders_by_id.get(key.as_str()), Some(&"refunded"));
            }
            "declined" => assert_eq!(orders_by_id.get(key.as_str()), Some(&"failed")),
            other => panic!("intent {key} ended {other}"),
        }
    }

    // Inventory sold exactly the confirmed orders' seats; no seat is both sold and free.
    let inventory = breakwater_inventory::InventoryStore::open(&stack.databases.inventory, 1)
        .await
        .unwrap();
    assert_eq!(
        inventory
            .invariant_violations("race", breakwater_inventory::now_ms())
            .await
            .unwrap(),
        0
    );
    let sold: BTreeMap<String, String> = inventory
        .sold_seats("race")
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.seat_id, s.hold_id))
        .collect();
    inventory.close().await;
    assert_eq!(sold, expected_sold, "sold seats = confirmed orders' seats");
    let map = seat_statuses(&stack, &stack.token("race", 1), "race").await;
    assert_eq!(map.len(), RACES as usize);
    for (seat, status) in &map {
        let expected = if sold.contains_key(seat) {
            "sold"
        } else {
            "available"
        };
        assert_eq!(status, expected, "seat {seat} on the map");
    }
    assert!(cancelled_seats.iter().all(|seat| map[seat] == "available"));
    let sales = stack.sales("race").await;
    assert_eq!(sales["sold"].as_u64(), Some(sold.len() as u64), "{sales}");
    assert_eq!(sales["held"], 0, "{sales}");
    assert_eq!(
        sales["available"].as_u64(),
        Some(u64::from(RACES) - sold.len() as u64),
        "{sales}"
    );
    assert_eq!(sales["orders_pending"], 0, "{sales}");
    assert_eq!(
        sales["orders_confirmed"].as_u64(),
        Some(by_state.get("confirmed").copied().unwrap_or(0) as u64)
    );
    assert_eq!(
        sales["orders_refunded"].as_u64(),
        Some(by_state.get("refunded").copied().unwrap_or(0) as u64),
        "{sales}"
    );
    assert!(
        cancel_won > 0 && checkout_won > 0,
        "both sides won some races"
    );
    eprintln!(
        "{engine:?}: {RACES} races in {:.1} s (settled after {:.1} s): cancel won {cancel_won}, \
         checkout won {checkout_won}; orders {by_state:?}; refunds {refunds}; intents {}",
        raced.as_secs_f64(),
        settled.as_secs_f64(),
        intents.len()
    );
    Arc::try_unwrap(stack)
        .ok()
        .expect("no request in flight")
        .stop()
        .await
        .unwrap();
}

/// A stack whose timed-out charges all end captured, with one seat held and its checkout
/// left pending by a timed-out charge: the hold is pinned at inventory, payment is
/// processing. Returns the stack, the buyer's token, the hold id and the order id.
async fn pinned_checkout(engine: Engine) -> (Stack, String, String, String) {
    let stack = Stack::start_with(engine, |tweaks| {
        tweaks.payment.timeout_capture_rate = 1.0;
    })
    .await
    .unwrap();
    stack.open_event("e", seated_venue(1, 1, 4), 4, 300).await;
    let token = stack.token("e", 1);
    let (status, hold) = stack
        .hold(&token, "e", "h", json!({"seat_ids": ["s1-r1-2"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    let (status, pending) = stack
        .checkout(&token, &hold_id, "c", "sandbox:timeout")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let order_id = pending["order_id"].as_str().unwrap().to_owned();
    // A cancel now loses: the checkout began.
    let (status, lost) = stack
        .call(
            Method::DELETE,
            &format!("/api/v1/holds/{hold_id}"),
            Some(&token),
            Some("d"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{lost}");
    assert_eq!(lost["error"], "hold_checked_out");
    assert_eq!(lost["order_id"], order_id.as_str());
    assert_eq!(stack.seat_status(&token, "e", "s1-r1-2").await, "held");
    (stack, token, hold_id, order_id)
}

/// The order's final state, once its saga is done (polled with a deadline).
async fn final_order(stack: &Stack, token: &str, order_id: &str) -> Value {
    support::eventually(Duration::from_secs(20), "the order to settle", || async {
        let (status, order) = stack
            .call(
                Method::GET,
                &format!("/api/v1/orders/{order_id}"),
                Some(token),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{order}");
        (order["status"] != "pending").then_some(order)
    })
    .await
}

async fn plain_release_leaves_a_pinned_hold_alone(engine: Engine) {
    let (stack, token, hold_id, order_id) = pinned_checkout(engine).await;
    let url = stack.inventory.as_ref().unwrap().url();
    let mut inventory = InventoryClient::connect(url).await.unwrap();
    let released = inventory
        .release(inv::HoldRef {
            hold_id: hold_id.clone(),
        })
        .await;
    match released {
        Err(status) => assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status}"),
        Ok(_) => panic!("inventory released hold {hold_id}, pinned by its running checkout"),
    }
    assert_eq!(stack.seat_status(&token, "e", "s1-r1-2").await, "held");
    // The checkout goes on undisturbed: the charge settles captured, the seat is sold.
    let order = final_order(&stack, &token, &order_id).await;
    assert_eq!(order["status"], "confirmed", "{order}");
    assert_eq!(stack.seat_status(&token, "e", "s1-r1-2").await, "sold");
    // A sold hold cannot be given back either.
    let released = inventory.release(inv::HoldRef { hold_id }).await;
    assert!(
        matches!(&released, Err(status) if status.code() == tonic::Code::FailedPrecondition),
        "{released:?}"
    );
    stack.stop().await.unwrap();
}

/// The seats of a pinned hold vanish at inventory behind the saga's back (what a cancel
/// that lost the race used to do): released straight in inventory's database.
async fn lose_seats(stack: &Stack, hold_id: &str) {
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&stack.databases.inventory)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE inv_seats SET hold_id = NULL, hold_expires_at_ms = 0 \
         WHERE hold_id = $1 AND sold = 0",
    )
    .bind(hold_id)
    .execute(&db)
    .await
    .unwrap();
    let released = sqlx::query("UPDATE inv_holds SET state = 'released' WHERE hold_id = $1")
        .bind(hold_id)
        .execute(&db)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(released, 1);
    db.close().await;
}

async fn seats_lost_after_pin_are_refunded(engine: Engine) {
    let (stack, token, hold_id, order_id) = pinned_checkout(engine).await;
    lose_seats(&stack, &hold_id).await;
    // The charge settles captured; commit finds no pinned seats; the saga refunds.
    let order = final_order(&stack, &token, &order_id).await;
    assert_eq!(order["status"], "refunded", "{order}");
    let intents = intents(&stack).await;
    assert_eq!(
        intents.get(&order_id).map(String::as_str),
        Some("refunded"),
        "the captured payment was refunded"
    );
    // The seat map is rendered at most every 250 ms: wait for it to show the seat free.
    support::eventually(Duration::from_secs(5), "the seat to show free", || async {
        (stack.seat_status(&token, "e", "s1-r1-2").await == "available").then_some(())
    })
    .await;
    let sales = stack.sales("e").await;
    assert_eq!(sales["orders_pending"], 0, "{sales}");
    assert_eq!(sales["orders_refunded"], 1, "{sales}");
    assert_eq!(sales["orders_confirmed"], 0, "{sales}");
    assert_eq!(sales["sold"], 0, "{sales}");
    assert_eq!(sales["revenue_cents"], 0, "{sales}");
    stack.stop().await.unwrap();
}

async fn refund_is_finished_after_a_restart(engine: Engine) {
    let (mut stack, token, hold_id, order_id) = pinned_checkout(engine).await;
    // The process stops with the order at `capture`, its charge pending at the provider.
    stack.reservation.take().unwrap().shutdown().await.unwrap();
    lose_seats(&stack, &hold_id).await;
    let url = stack.payment.as_ref().unwrap().url();
    let mut payment = PaymentClient::connect(url).await.unwrap();
    let captured = pay::intent::State::Captured as i32;
    support::eventually(Duration::from_secs(10), "the charge to settle", || {
        let mut payment = payment.clone();
        let key = order_id.clone();
        async move {
            let intent = payment
                .get_intent(pay::IntentRef {
                    idempotency_key: key,
                })
                .await
                .ok()?
                .into_inner();
            (intent.state == captured).then_some(())
        }
    })
    .await;
    // What a crash inside the refund step leaves: the step written (before the call to
    // payment, as the outbox requires), nothing else done.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&stack.databases.reservation)
        .await
        .unwrap();
    let moved = sqlx::query(
        "UPDATE res_orders SET step = 'refund', failure_reason = 'seats_lost' \
         WHERE order_id = $1 AND step = 'capture'",
    )
    .bind(&order_id)
    .execute(&db)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(moved, 1);
    db.close().await;

    // The new process's reconciler finishes the refund.
    stack.restart_reservation().await.unwrap();
    let order = final_order(&stack, &token, &order_id).await;
    assert_eq!(order["status"], "refunded", "{order}");
    assert_eq!(order["failure_reason"], "seats_lost", "{order}");
    let intent = payment
        .get_intent(pay::IntentRef {
            idempotency_key: order_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        intent.state,
        pay::intent::State::Refunded as i32,
        "{intent:?}"
    );
    assert_eq!(intent.refund_reason, "seats_lost");
    let sales = stack.sales("e").await;
    assert_eq!(
        (
            sales["orders_refunded"].as_u64(),
            sales["orders_pending"].as_u64(),
            sales["sold"].as_u64()
        ),
        (Some(1), Some(0), Some(0)),
        "{sales}"
    );
    stack.stop().await.unwrap();
}
