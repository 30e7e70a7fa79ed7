//! The checkout saga: pin the hold, capture the payment, then sell the seats or give them
//! back. The order row's `step` is the outbox: it is written before each remote call and
//! every step is idempotent, so the request that started a checkout, a retry of it and the
//! reconciler can all drive the same order, in any interleaving, after any crash.
//!
//! Invariants: payment is only asked to capture after the hold is pinned, and inventory
//! gives a pinned hold back only on the saga's own `ReleaseAfterCheckout` (a cancel cannot
//! start once the checkout has, and a plain release of a pinned hold is refused), so a
//! captured payment finds its seats; seats are only released after payment said
//! "declined" (or before payment was ever asked); the order id is the payment's
//! idempotency key, so one order is at most one capture. Should the seats be gone at
//! commit all the same (inventory refuses the commit), the capture is refunded and the
//! order ends `refunded`: every order ends `confirmed`, `failed` or `refunded`.

use breakwater_proto::payment as pay;
use breakwater_ticketing::{HoldState, OrderState, SagaStep};

use crate::clients::{Backends, RemoteError};
use crate::store::{OrderRecord, ReservationStore, StoreError};

/// Why driving an order stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    /// No such order.
    #[error("order {0} not found")]
    NotFound(String),
    /// The reservation database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Steps one driver takes at most per call (a saga has at most four).
const MAX_STEPS: usize = 8;

/// Drives orders through the checkout saga.
#[derive(Debug, Clone)]
pub struct Saga {
    store: ReservationStore,
    backends: Backends,
}

/// What one step did.
enum Progress {
    /// Moved on (or someone else did): look again.
    Moved,
    /// Waiting on a remote (unreachable, or payment still processing).
    Waiting,
}

impl Saga {
    /// A saga driver over `store` and `backends`.
    pub fn new(store: ReservationStore, backends: Backends) -> Self {
        Self { store, backends }
    }

    /// Drives the order as far as it can go now and returns it: `done` with its final
    /// state, or still pending when a remote has not answered yet.
    pub async fn drive(&self, order_id: &str) -> Result<OrderRecord, SagaError> {
        for _ in 0..MAX_STEPS {
            let order = self.load(order_id).await?;
            let progress = match order.step {
                SagaStep::Done => return Ok(order),
                SagaStep::Pin => self.pin(&order).await?,
                SagaStep::Capture => self.capture(&order).await?,
                SagaStep::Commit => self.commit(&order).await?,
                SagaStep::Release => self.release(&order).await?,
                SagaStep::Refund => self.refund(&order).await?,
            };
            if let Progress::Waiting = progress {
                return Ok(order);
            }
        }
        self.load(order_id).await
    }

    async fn load(&self, order_id: &str) -> Result<OrderRecord, SagaError> {
        self.store
            .order(order_id)
            .await?
            .ok_or_else(|| SagaError::NotFound(order_id.to_owned()))
    }

    async fn advance(
        &self,
        order: &OrderRecord,
        to: SagaStep,
        reason: Option<&str>,
    ) -> Result<Progress, SagaError> {
        self.store
            .advance_order(&order.order_id, order.step, to, reason, now_ms())
            .await?;
        Ok(Progress::Moved)
    }

    async fn pin(&self, order: &OrderRecord) -> Result<Progress, SagaError> {
        match self.backends.pin(&order.hold_id).await {
            Ok(true) => self.advance(order, SagaStep::Capture, None).await,
            // Expired before checkout pinned it: payment was never asked, nothing to undo
            // but the hold itself.
            Ok(false) => {
                self.advance(order, SagaStep::Release, Some("hold_expired"))
                    .await
            }
            Err(error) => Ok(waiting(&error)),
        }
    }

    async fn capture(&self, order: &OrderRecord) -> Result<Progress, SagaError> {
        let request = pay::CaptureRequest {
            idempotency_key: order.order_id.clone(),
            amount_cents: order.total_cents,
            currency: order.currency.clone(),
            method: order.payment_method.clone(),
        };
        let intent = match self.backends.capture(request).await {
            Ok(intent) => intent,
            Err(error) => return Ok(waiting(&error)),
        };
        match pay::intent::State::try_from(intent.state) {
            Ok(pay::intent::State::Captured) => self.advance(order, SagaStep::Commit, None).await,
            Ok(pay::intent::State::Declined) => {
                self.advance(order, SagaStep::Release, Some("payment_declined"))
                    .await
            }
            // Processing (the provider timed out): the reconciler asks again later.
            _ => Ok(Progress::Waiting),
        }
    }

    async fn commit(&self, order: &OrderRecord) -> Result<Progress, SagaError> {
        match self.backends.commit(&order.hold_id).await {
            Ok(()) => {}
            // Inventory refuses to sell a hold that is not pinned: the seats are gone and
            // no retry brings them back. The money captured for them goes back instead.
            Err(error) if error.refused_code() == Some(tonic::Code::FailedPrecondition) => {
                tracing::error!(%error, order_id = %order.order_id, "a paid order's seats are gone; refunding");
                return self
                    .advance(order, SagaStep::Refund, Some("seats_lost"))
                    .await;
            }
            Err(error) => return Ok(waiting(&error)),
        }
        let finished = self
            .store
            .finish_order(
                order,
                SagaStep::Commit,
                OrderState::Confirmed,
                HoldState::Converted,
                now_ms(),
            )
            .await?;
        if let Some(unpaid) = finished {
            metrics::counter!("breakwater_checkouts_total", "outcome" => "confirmed").increment(1);
            // The confirmation ended the buyer's session and took back their other unpaid
            // holds; their seats go back on sale now rather than when they lapse.
            for hold_id in unpaid {
                if let Err(error) = self.backends.release(&hold_id).await {
                    tracing::warn!(%error, %hold_id, "an unpaid hold is left to lapse");
                }
            }
        }
        Ok(Progress::Moved)
    }

    async fn release(&self, order: &OrderRecord) -> Result<Progress, SagaError> {
        // The checkout's own release: inventory gives a pinned hold back only on this call.
        if let Err(error) = self.backends.release_after_checkout(&order.hold_id).await {
            return Ok(waiting(&error));
        }
        let finished = self
            .store
            .finish_order(
                order,
                SagaStep::Release,
                OrderState::Failed,
                HoldState::Released,
                now_ms(),
            )
            .await?;
        if finished.is_some() {
            metrics::counter!("breakwater_checkouts_total", "outcome" => "failed").increment(1);
        }
        Ok(Progress::Moved)
    }

    async fn refund(&self, order: &OrderRecord) -> Result<Progress, SagaError> {
        let intent = match self
            .backends
            .refund(&order.order_id, &order.failure_reason)
            .await
        {
            Ok(intent) => intent,
            Err(error) => return Ok(waiting(&error)),
        };
        if pay::intent::State::try_from(intent.state) != Ok(pay::intent::State::Refunded) {
            // Refund answers a refunded intent or an error; anything else is a bug.
            tracing::error!(order_id = %order.order_id, state = intent.state, "refund answered without refunding");
            return Ok(Progress::Waiting);
        }
        let finished = self
            .store
            .finish_order(
                order,
                SagaStep::Refund,
                OrderState::Refunded,
                HoldState::Released,
                now_ms(),
            )
            .await?;
        if finished.is_some() {
            metrics::counter!("breakwater_checkouts_total", "outcome" => "refunded").increment(1);
        }
        Ok(Progress::Moved)
    }
}

fn waiting(error: &RemoteError) -> Progress {
    tracing::warn!(%error, "checkout step must wait");
    Progress::Waiting
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
