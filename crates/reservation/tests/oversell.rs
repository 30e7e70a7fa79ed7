//! Oversell: 100x more buyers than seats (200 seats, 20,000 hold attempts with bounded
//! concurrency through the real HTTP → gRPC → database path), then every winner checks
//! out. Exactly the seats are sold, none twice: checked against the inventory's invariant
//! query, its sold seats, the reservation's orders and an independent client-side tally.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Engine, Stack, seated_venue};

const SEATS_SECTIONS: u32 = 2;
const ROWS: u32 = 10;
const SEATS_PER_ROW: u32 = 10;
const ATTEMPTS: u64 = 20_000;
const CONCURRENCY: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_never_oversells() {
    never_oversells(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_never_oversells() {
    never_oversells(Engine::Postgres).await;
}

/// A won hold: its id, the buyer's token and the seats.
struct Won {
    hold_id: String,
    token: String,
    seats: Vec<String>,
}

async fn never_oversells(engine: Engine) {
    let stack = Arc::new(Stack::start(engine).await.unwrap());
    stack
        .open_event(
            "rush",
            seated_venue(SEATS_SECTIONS, ROWS, SEATS_PER_ROW),
            4,
            600,
        )
        .await;
    let seats_total = u64::from(SEATS_SECTIONS * ROWS * SEATS_PER_ROW);
    let won: Vec<Won> = futures::stream::iter(1..=ATTEMPTS)
        .map(|buyer| attempt(stack.clone(), buyer))
        .buffer_unordered(CONCURRENCY)
        .filter_map(|won| async move { won })
        .collect()
        .await;

    // Independent tally from the answers the buyers got.
    let held: Vec<&String> = won.iter().flat_map(|w| &w.seats).collect();
    let distinct: BTreeSet<&String> = held.iter().copied().collect();
    assert_eq!(
        held.len() as u64,
        seats_total,
        "every seat is held once all attempts ran"
    );
    assert_eq!(
        distinct.len(),
        held.len(),
        "no seat was granted to two holds"
    );

    let confirmed: Vec<Value> = futures::stream::iter(&won)
        .map(|w| {
            let stack = stack.clone();
            async move {
                let (status, order) = stack
                    .checkout(&w.token, &w.hold_id, "pay", "sandbox:approve")
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{order}");
                order
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let mut sold_by_orders: BTreeMap<String, String> = BTreeMap::new();
    for order in &confirmed {
        for seat in order["seats"].as_array().unwrap() {
            let seat = seat["id"].as_str().unwrap().to_owned();
            let previous =
                sold_by_orders.insert(seat.clone(), order["hold_id"].as_str().unwrap().to_owned());
            assert!(previous.is_none(), "seat {seat} is in two confirmed orders");
        }
    }
    assert_eq!(sold_by_orders.len() as u64, seats_total);

    let inventory = breakwater_inventory::InventoryStore::open(&stack.databases.inventory, 2)
        .await
        .unwrap();
    let violations = inventory
        .invariant_violations("rush", breakwater_inventory::now_ms())
        .await
        .unwrap();
    assert_eq!(violations, 0, "inventory invariant query");
    let sold = inventory.sold_seats("rush").await.unwrap();
    inventory.close().await;
    let sold: BTreeMap<String, String> = sold.into_iter().map(|s| (s.seat_id, s.hold_id)).collect();
    assert_eq!(
        sold, sold_by_orders,
        "inventory's sold seats are exactly the orders' seats"
    );

    let sales = stack.sales("rush").await;
    assert_eq!(sales["sold"].as_u64(), Some(seats_total));
    assert_eq!(sales["available"], 0);
    assert_eq!(sales["held"], 0);
    assert_eq!(sales["orders_confirmed"].as_u64(), Some(seats_total));
    if let Ok(stack) = Arc::try_unwrap(stack) {
        stack.stop().await.unwrap();
    }
}

/// One buyer's attempt: half pick a random seat, half ask for the best one.
async fn attempt(stack: Arc<Stack>, buyer: u64) -> Option<Won> {
    let token = stack.token("rush", buyer);
    let body = if buyer.is_multiple_of(2) {
        let seat = format!(
            "s{}-r{}-{}",
            rand::random_range(1..=SEATS_SECTIONS),
            rand::random_range(1..=ROWS),
            rand::random_range(1..=SEATS_PER_ROW)
        );
        json!({ "seat_ids": [seat] })
    } else {
        json!({ "quantity": 1 })
    };
    let (status, hold) = stack.hold(&token, "rush", "hold", body).await;
    match status {
        StatusCode::CREATED => Some(Won {
            hold_id: hold["id"].as_str().unwrap().to_owned(),
            token,
            seats: hold["seats"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect(),
        }),
        StatusCode::CONFLICT => {
            assert_eq!(hold["error"], "seats_unavailable", "{hold}");
            None
        }
        other => panic!("hold attempt got {other}: {hold}"),
    }
}
