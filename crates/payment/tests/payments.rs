//! Payment intents over the sandbox provider, on SQLite and PostgreSQL: idempotent
//! capture, declines, timeouts that settle later, and misuse of a key.

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
    Intent {
        idempotency_key: key.into(),
        amount_cents: 4_200,
        currency: "EUR".into(),
        method: method.into(),
        state: IntentState::Processing,
        provider_reference: String::new(),
        decline_reason: String::new(),
    }
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
