//! Who may give a hold's seats back, on SQLite and PostgreSQL: anyone while the hold is
//! only held; once its checkout pinned it, only that checkout (`release_after_checkout`);
//! nobody once sold. A refused release changes nothing.

use breakwater_inventory::store::{HoldOutcome, HoldRequest, Pick, Sales};
use breakwater_inventory::{InventoryStore, StoreError, now_ms};
use breakwater_testkit::postgres::FreshDatabase;
use breakwater_ticketing::{SectionSpec, VenueSpec};

struct Fixture {
    store: InventoryStore,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<FreshDatabase>,
}

async fn fixture(postgres: bool) -> Fixture {
    let (url, dir, db) = if postgres {
        let db = FreshDatabase::create().await.unwrap();
        (db.url().to_owned(), None, Some(db))
    } else {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("i.db").display());
        (url, Some(dir), None)
    };
    let store = InventoryStore::open(&url, 2).await.unwrap();
    let venue = VenueSpec {
        sections: vec![SectionSpec {
            name: "Stalls".into(),
            price_cents: 5_000,
            rows: Some(1),
            seats_per_row: Some(6),
            capacity: None,
        }],
    };
    store.put_venue("e", &venue, now_ms()).await.unwrap();
    Fixture {
        store,
        _dir: dir,
        _postgres: db,
    }
}

/// Holds seat `number` of the only row under `hold_id`.
async fn hold(store: &InventoryStore, hold_id: &str, number: u32) {
    let request = HoldRequest {
        event_id: "e".into(),
        hold_id: hold_id.into(),
        pick: Pick::Seats(vec![format!("s1-r1-{number}")]),
        expires_at_ms: now_ms() + 600_000,
    };
    let outcome = store.hold(&request, now_ms()).await.unwrap();
    assert!(matches!(outcome, HoldOutcome::Held { .. }), "{outcome:?}");
}

async fn sales(store: &InventoryStore) -> (u64, u64, u64) {
    let Sales {
        available,
        held,
        sold,
        ..
    } = store.sales("e", now_ms()).await.unwrap();
    (available, held, sold)
}

async fn only_the_checkout_releases_a_pinned_hold(postgres: bool) {
    let f = fixture(postgres).await;
    let store = &f.store;

    // Held only: a plain release gives the seat back, and again changes nothing.
    hold(store, "plain", 1).await;
    store.release("plain", now_ms()).await.unwrap();
    store.release("plain", now_ms()).await.unwrap();
    assert_eq!(sales(store).await, (6, 0, 0));
    assert!(!store.pin("plain", now_ms()).await.unwrap(), "released");
    assert!(matches!(
        store.commit("plain").await,
        Err(StoreError::NotPinned(_))
    ));

    // Pinned: a plain release is refused and changes nothing; the checkout's own release
    // gives the seat back (idempotently).
    hold(store, "declined", 2).await;
    assert!(store.pin("declined", now_ms()).await.unwrap());
    let refused = store.release("declined", now_ms()).await;
    assert!(matches!(refused, Err(StoreError::Pinned(_))), "{refused:?}");
    assert_eq!(sales(store).await, (5, 1, 0));
    assert!(
        store.pin("declined", now_ms()).await.unwrap(),
        "still pinned"
    );
    store
        .release_after_checkout("declined", now_ms())
        .await
        .unwrap();
    store
        .release_after_checkout("declined", now_ms())
        .await
        .unwrap();
    store.release("declined", now_ms()).await.unwrap();
    assert_eq!(sales(store).await, (6, 0, 0));
    assert!(matches!(
        store.commit("declined").await,
        Err(StoreError::NotPinned(_))
    ));
    assert_eq!(
        sales(store).await,
        (6, 0, 0),
        "a refused commit sells nothing"
    );

    // Sold: nobody gives it back.
    hold(store, "paid", 3).await;
    assert!(store.pin("paid", now_ms()).await.unwrap());
    store.commit("paid").await.unwrap();
    store.commit("paid").await.unwrap();
    assert!(matches!(
        store.release("paid", now_ms()).await,
        Err(StoreError::AlreadySold(_))
    ));
    assert!(matches!(
        store.release_after_checkout("paid", now_ms()).await,
        Err(StoreError::AlreadySold(_))
    ));
    assert_eq!(sales(store).await, (5, 0, 1));

    // The checkout's release also takes a hold it never pinned (it lapsed first).
    hold(store, "lapsed", 4).await;
    store
        .release_after_checkout("lapsed", now_ms())
        .await
        .unwrap();
    assert_eq!(sales(store).await, (5, 0, 1));

    // An unknown hold is recorded as released: a late hold with its id holds nothing.
    store.release("late", now_ms()).await.unwrap();
    let request = HoldRequest {
        event_id: "e".into(),
        hold_id: "late".into(),
        pick: Pick::Seats(vec!["s1-r1-5".into()]),
        expires_at_ms: now_ms() + 600_000,
    };
    let outcome = store.hold(&request, now_ms()).await.unwrap();
    assert!(
        matches!(outcome, HoldOutcome::Unavailable { .. }),
        "{outcome:?}"
    );
    assert_eq!(store.invariant_violations("e", now_ms()).await.unwrap(), 0);
    store.close().await;
}

/// Pin and plain release of one hold at the same moment: exactly one wins, and the loser
/// changes nothing (the pinned seat stays held; the released one is not pinned).
async fn pin_and_release_race(postgres: bool) {
    let f = fixture(postgres).await;
    let store = &f.store;
    let (mut pinned, mut released) = (0, 0);
    for round in 0..40_u32 {
        let hold_id = format!("race-{round}");
        hold(store, &hold_id, 6).await;
        let pin = {
            let (store, hold_id) = (store.clone(), hold_id.clone());
            async move { store.pin(&hold_id, now_ms()).await }
        };
        let release = {
            let (store, hold_id) = (store.clone(), hold_id.clone());
            async move { store.release(&hold_id, now_ms()).await }
        };
        // Both on the runtime's threads at once; which starts first alternates.
        let (pin, release) = if round.is_multiple_of(2) {
            let pin = tokio::spawn(pin);
            let release = tokio::spawn(release);
            (pin.await.unwrap(), release.await.unwrap())
        } else {
            let release = tokio::spawn(release);
            let pin = tokio::spawn(pin);
            (pin.await.unwrap(), release.await.unwrap())
        };
        match (pin.unwrap(), release) {
            (true, Err(StoreError::Pinned(_))) => {
                pinned += 1;
                assert_eq!(sales(store).await, (5, 1, 0), "round {round}");
                store
                    .release_after_checkout(&hold_id, now_ms())
                    .await
                    .unwrap();
            }
            (false, Ok(())) => released += 1,
            (pin, release) => panic!("round {round}: pin {pin}, release {release:?}"),
        }
        assert_eq!(sales(store).await, (6, 0, 0), "round {round}");
    }
    assert_eq!(pinned + released, 40);
    eprintln!("pin won {pinned}, release won {released}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_only_the_checkout_releases_a_pinned_hold() {
    only_the_checkout_releases_a_pinned_hold(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_only_the_checkout_releases_a_pinned_hold() {
    only_the_checkout_releases_a_pinned_hold(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pin_and_release_race() {
    pin_and_release_race(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pin_and_release_race() {
    pin_and_release_race(true).await;
}
