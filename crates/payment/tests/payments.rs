//! Payment intents over the sandbox provider, on SQLite and PostgreSQL: idempotent
//! capture, declines, timeouts that settle later, misuse of a key, and refunds (idempotent,
//! of captured intents only).

use std::sync::Arc;
use std::time::{Duration, Instant};

use breakwater_payment::{
    Intent, IntentState, PaymentError, PaymentStore, PaymentStoreError, Payments, Sandbox,
    SandboxSettings,
};
use breakwater_testkit::postgres::FreshDatabase;

struct Fixture {
    payments: Payments,
    store: PaymentStore,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<FreshDatabase>,
}

async fn fixture(postgres: bool) -> Fixture {
    let (url, dir, db) = if postgres {
        let db = FreshDatabase::create().await.unwrap();
        (db.url().to_owned(), None, Some(db))
    } else {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
        (url, Some(dir), None)
    };
    let store = PaymentStore::open(&url, 2).await.unwrap();
    let sandbox = Sandbox::new(
        SandboxSettings {
            latency_ms: 0,
            decline_rate: 0.0,
            timeout_rate: 0.0,
            settle_after_ms: 200,
            timeout_capture_rate: 1.0,
        },
        store.database().clone(),
    );
    let payments = Payments::new(store.clone(), Arc::new(sandbox), Duration::from_secs(2));
    Fixture {
        payments,
        store,
        _dir: dir,
        _postgres: db,
    }
}

fn intent(key: &str, method: &str) -> Intent {
    Intent::new(key, 4_200, "EUR", method)
}

async fn capture_is_idempotent(postgres: bool) {
    let f = fixture(postgres).await;
    let first = f
        .payments
        .capture(&intent("k1", "sandbox:approve"))
        .await
        .unwrap();
    let again = f
        .payments
        .capture(&intent("k1", "sandbox:approve"))
        .await
        .unwrap();
    assert_eq!(first.state, IntentState::Captured);
    assert_eq!(first, again);
    assert_eq!(f.store.list().await.unwrap().len(), 1);
    let declined = f
        .payments
        .capture(&intent("k2", "sandbox:decline"))
        .await
        .unwrap();
    assert_eq!(declined.state, IntentState::Declined);
    assert!(!declined.decline_reason.is_empty());
    let unsupported = f.payments.capture(&intent("k3", "visa")).await.unwrap();
    assert_eq!(unsupported.state, IntentState::Declined);
    let mut other_amount = intent("k1", "sandbox:approve");
    other_amount.amount_cents = 1;
    let reused = f.payments.capture(&other_amount).await.unwrap_err();
    assert!(matches!(
        reused,
        PaymentError::Store(PaymentStoreError::KeyReused)
    ));
    f.store.close().await;
}

async fn timeouts_settle_later(postgres: bool) {
    let f = fixture(postgres).await;
    let first = f
        .payments
        .capture(&intent("t1", "sandbox:timeout"))
        .await
        .unwrap();
    assert_eq!(first.state, IntentState::Processing);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = f.payments.get("t1").await.unwrap().expect("intent exists");
        if now.state != IntentState::Processing {
            // timeout_capture_rate is 1.0: the sandbox decided "captured" at charge time.
            assert_eq!(now.state, IntentState::Captured);
            break;
        }
        assert!(Instant::now() < deadline, "timed-out charge never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let retried = f
        .payments
        .capture(&intent("t1", "sandbox:timeout"))
        .await
        .unwrap();
    assert_eq!(
        retried.state,
        IntentState::Captured,
        "a retry reads the settled outcome"
    );
    assert!(f.payments.get("unknown").await.unwrap().is_none());
    f.store.close().await;
}

async fn refunds_are_idempotent_and_only_of_captures(postgres: bool) {
    let f = fixture(postgres).await;
    let captured = f
        .payments
        .capture(&intent("r1", "sandbox:approve"))
        .await
        .unwrap();
    assert_eq!(captured.state, IntentState::Captured);
    let refunded = f.payments.refund("r1", "seats_lost").await.unwrap();
    assert_eq!(refunded.state, IntentState::Refunded);
    assert_eq!(refunded.refund_reason, "seats_lost");
    assert!(!refunded.refund_reference.is_empty());
    assert_eq!(
        (refunded.amount_cents, refunded.provider_reference.as_str()),
        (4_200, captured.provider_reference.as_str()),
        "the capture's record is kept"
    );
    // Again: the same refund, nothing more.
    let again = f.payments.refund("r1", "another reason").await.unwrap();
    assert_eq!(again, refunded);
    assert_eq!(f.payments.get("r1").await.unwrap(), Some(refunded.clone()));
    // A capture retried after the refund does not charge again.
    let retried = f
        .payments
        .capture(&intent("r1", "sandbox:approve"))
        .await
        .unwrap();
    assert_eq!(retried, refunded);
    // Concurrent refunds of one capture: one refund.
    f.payments
        .capture(&intent("r2", "sandbox:approve"))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        f.payments.refund("r2", "seats_lost"),
        f.payments.refund("r2", "seats_lost")
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert_eq!(a.state, IntentState::Refunded);

    // Only a captured intent can be refunded; the others do not change.
    let declined = f
        .payments
        .capture(&intent("r3", "sandbox:decline"))
        .await
        .unwrap();
    let refused = f.payments.refund("r3", "x").await.unwrap_err();
    assert!(
        matches!(refused, PaymentError::NotRefundable(IntentState::Declined)),
        "{refused}"
    );
    assert_eq!(f.payments.get("r3").await.unwrap(), Some(declined));
    let processing = f
        .payments
        .capture(&intent("r4", "sandbox:timeout"))
        .await
        .unwrap();
    assert_eq!(processing.state, IntentState::Processing);
    let refused = f.payments.refund("r4", "x").await.unwrap_err();
    assert!(
        matches!(
            refused,
            PaymentError::NotRefundable(IntentState::Processing)
        ),
        "{refused}"
    );
    assert_eq!(
        f.store.get("r4").await.unwrap().map(|i| i.state),
        Some(IntentState::Processing)
    );
    assert!(matches!(
        f.payments.refund("nobody", "x").await.unwrap_err(),
        PaymentError::NoIntent
    ));
    let states: Vec<(String, IntentState)> = f
        .store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.idempotency_key, i.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("r1".into(), IntentState::Refunded),
            ("r2".into(), IntentState::Refunded),
            ("r3".into(), IntentState::Declined),
            ("r4".into(), IntentState::Processing),
        ]
    );
    f.store.close().await;
}

#[tokio::test]
async fn sqlite_refunds_are_idempotent_and_only_of_captures() {
    refunds_are_idempotent_and_only_of_captures(false).await;
}

#[tokio::test]
async fn postgres_refunds_are_idempotent_and_only_of_captures() {
    refunds_are_idempotent_and_only_of_captures(true).await;
}

#[tokio::test]
async fn sqlite_capture_is_idempotent() {
    capture_is_idempotent(false).await;
}

#[tokio::test]
async fn postgres_capture_is_idempotent() {
    capture_is_idempotent(true).await;
}

#[tokio::test]
async fn sqlite_timeouts_settle_later() {
    timeouts_settle_later(false).await;
}

#[tokio::test]
async fn postgres_timeouts_settle_later() {
    timeouts_settle_later(true).await;
}
