//! Reservation's gRPC clients for inventory and payment, with a deadline on every call.

use std::time::Duration;

use breakwater_proto::inventory as inv;
use breakwater_proto::inventory::inventory_client::InventoryClient;
use breakwater_proto::payment as pay;
use breakwater_proto::payment::payment_client::PaymentClient;
use tonic::transport::{Channel, Endpoint};

/// A remote call that failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The remote refused the request (bad input, precondition, not found).
    #[error("{service} refused: {status}")]
    Refused {
        /// Which service.
        service: &'static str,
        /// Its status.
        status: Box<tonic::Status>,
    },
    /// The remote was too contended to do it now and changed nothing (gRPC `ABORTED`): the
    /// same call may succeed when tried again.
    #[error("{service} contended: {message}")]
    Contended {
        /// Which service.
        service: &'static str,
        /// What it said.
        message: String,
    },
    /// The remote did not answer in time or could not be reached: the outcome is unknown.
    #[error("{service} unavailable: {message}")]
    Unavailable {
        /// Which service.
        service: &'static str,
        /// What happened.
        message: String,
    },
}

impl RemoteError {
    fn from_status(service: &'static str, status: tonic::Status) -> Self {
        use tonic::Code;
        match status.code() {
            Code::InvalidArgument
            | Code::NotFound
            | Code::FailedPrecondition
            | Code::AlreadyExists
            | Code::OutOfRange => Self::Refused {
                service,
                status: Box::new(status),
            },
            Code::Aborted => Self::Contended {
                service,
                message: status.message().to_owned(),
            },
            _ => Self::Unavailable {
                service,
                message: status.to_string(),
            },
        }
    }

    /// The gRPC code when the remote refused the request.
    pub fn refused_code(&self) -> Option<tonic::Code> {
        match self {
            Self::Refused { status, .. } => Some(status.code()),
            Self::Contended { .. } | Self::Unavailable { .. } => None,
        }
    }
}

/// Clients of the inventory and payment services.
#[derive(Debug, Clone)]
pub struct Backends {
    inventory: InventoryClient<Channel>,
    payment: PaymentClient<Channel>,
    rpc_timeout: Duration,
    payment_timeout: Duration,
}

fn channel(url: &str, timeout: Duration) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(timeout)
        .tcp_nodelay(true)
        // Lazy: reservation starts (and serves reads from its own database) even while a
        // backend is still starting; calls fail fast until it is up.
        .connect_lazy())
}

impl Backends {
    /// Clients for the services at `inventory_url` and `payment_url`; every inventory call
    /// gets `rpc_timeout`, every payment call `payment_timeout`.
    pub fn new(
        inventory_url: &str,
        payment_url: &str,
        rpc_timeout: Duration,
        payment_timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            inventory: InventoryClient::new(channel(inventory_url, rpc_timeout)?),
            payment: PaymentClient::new(channel(payment_url, payment_timeout)?),
            rpc_timeout,
            payment_timeout,
        })
    }

    fn request<T>(message: T, timeout: Duration) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(timeout);
        request
    }

    async fn inventory_call<T, F, Fut>(&self, call: F) -> Result<T, RemoteError>
    where
        F: FnOnce(InventoryClient<Channel>, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        bounded(
            "inventory",
            self.rpc_timeout,
            call(self.inventory.clone(), self.rpc_timeout),
        )
        .await
    }

    /// Inventory `PutVenue`.
    pub async fn put_venue(
        &self,
        request: inv::PutVenueRequest,
    ) -> Result<inv::PutVenueResponse, RemoteError> {
        self.inventory_call(|mut c, t| async move { c.put_venue(Self::request(request, t)).await })
            .await
    }

    /// Inventory `GetSeatMap`.
    pub async fn seat_map(&self, event_id: &str) -> Result<inv::SeatMap, RemoteError> {
        let message = inv::EventRef {
            event_id: event_id.to_owned(),
        };
        self.inventory_call(
            |mut c, t| async move { c.get_seat_map(Self::request(message, t)).await },
        )
        .await
    }

    /// Inventory `Hold`.
    pub async fn hold(&self, request: inv::HoldRequest) -> Result<inv::HoldResponse, RemoteError> {
        self.inventory_call(|mut c, t| async move { c.hold(Self::request(request, t)).await })
            .await
    }

    /// Inventory `Pin`.
    pub async fn pin(&self, hold_id: &str) -> Result<bool, RemoteError> {
        let message = hold_ref(hold_id);
        let response = self
            .inventory_call(|mut c, t| async move { c.pin(Self::request(message, t)).await })
            .await?;
        Ok(response.pinned)
    }

    /// Inventory `Commit`.
    pub async fn commit(&self, hold_id: &str) -> Result<(), RemoteError> {
        let message = hold_ref(hold_id);
        self.inventory_call(|mut c, t| async move { c.commit(Self::request(message, t)).await })
            .await?;
        Ok(())
    }

    /// Inventory `Release`: a hold no checkout has pinned (a cancel, an abandoned hold, a
    /// hold over the limit). Inventory refuses a pinned or sold hold.
    pub async fn release(&self, hold_id: &str) -> Result<(), RemoteError> {
        let message = hold_ref(hold_id);
        self.inventory_call(|mut c, t| async move { c.release(Self::request(message, t)).await })
            .await?;
        Ok(())
    }

    /// Inventory `ReleaseAfterCheckout`: the checkout saga's release step only, pinned
    /// holds included.
    pub async fn release_after_checkout(&self, hold_id: &str) -> Result<(), RemoteError> {
        let message = hold_ref(hold_id);
        self.inventory_call(|mut c, t| async move {
            c.release_after_checkout(Self::request(message, t)).await
        })
        .await?;
        Ok(())
    }

    /// Inventory `GetSales`.
    pub async fn sales(&self, event_id: &str) -> Result<inv::Sales, RemoteError> {
        let message = inv::EventRef {
            event_id: event_id.to_owned(),
        };
        self.inventory_call(|mut c, t| async move { c.get_sales(Self::request(message, t)).await })
            .await
    }

    /// Payment `Refund` of the intent `idempotency_key` (an order id), for `reason`.
    pub async fn refund(
        &self,
        idempotency_key: &str,
        reason: &str,
    ) -> Result<pay::Intent, RemoteError> {
        let mut client = self.payment.clone();
        let timeout = self.payment_timeout;
        let request = pay::RefundRequest {
            idempotency_key: idempotency_key.to_owned(),
            reason: reason.to_owned(),
        };
        bounded(
            "payment",
            timeout,
            client.refund(Self::request(request, timeout)),
        )
        .await
    }

    /// Payment `Capture`.
    pub async fn capture(&self, request: pay::CaptureRequest) -> Result<pay::Intent, RemoteError> {
        let mut client = self.payment.clone();
        let timeout = self.payment_timeout;
        bounded(
            "payment",
            timeout,
            client.capture(Self::request(request, timeout)),
        )
        .await
    }
}

fn hold_ref(hold_id: &str) -> inv::HoldRef {
    inv::HoldRef {
        hold_id: hold_id.to_owned(),
    }
}

/// Runs a call with a hard deadline on top of the gRPC one (which also covers connecting).
async fn bounded<T>(
    service: &'static str,
    timeout: Duration,
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, RemoteError> {
    match tokio::time::timeout(timeout + Duration::from_millis(100), call).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(RemoteError::from_status(service, status)),
        Err(_) => Err(RemoteError::Unavailable {
            service,
            message: "deadline exceeded".into(),
        }),
    }
}
