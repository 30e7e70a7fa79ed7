//! The gRPC face of the payment service.

use breakwater_proto::payment as pb;
use breakwater_proto::payment::payment_server::Payment;
use tonic::{Request, Response, Status};

use crate::payments::{PaymentError, Payments};
use crate::provider::ProviderError;
use crate::store::{Intent, IntentState, PaymentStoreError};

/// Implements `breakwater.payment.v1.Payment`.
#[derive(Debug, Clone)]
pub struct PaymentService {
    payments: Payments,
}

impl PaymentService {
    /// A service over `payments`.
    pub fn new(payments: Payments) -> Self {
        Self { payments }
    }
}

fn to_status(error: PaymentError) -> Status {
    match &error {
        PaymentError::Store(PaymentStoreError::KeyReused) => {
            Status::failed_precondition(error.to_string())
        }
        PaymentError::Provider(ProviderError::UnsupportedMethod(_)) => {
            Status::invalid_argument(error.to_string())
        }
        _ => {
            tracing::error!(%error, "payment failure");
            Status::unavailable("payment temporarily unavailable")
        }
    }
}

fn validate(request: &pb::CaptureRequest) -> Result<(), Status> {
    let key_ok = (1..=64).contains(&request.idempotency_key.len());
    let currency_ok =
        request.currency.len() == 3 && request.currency.bytes().all(|b| b.is_ascii_uppercase());
    if !key_ok {
        return Err(Status::invalid_argument(
            "idempotency_key must be 1 to 64 characters",
        ));
    }
    if !currency_ok {
        return Err(Status::invalid_argument(
            "currency must be a 3-letter ISO code",
        ));
    }
    if request.amount_cents < 0 {
        return Err(Status::invalid_argument(
            "amount_cents must not be negative",
        ));
    }
    Ok(())
}

fn to_proto(intent: Intent) -> pb::Intent {
    let state = match intent.state {
        IntentState::Processing => pb::intent::State::Processing,
        IntentState::Captured => pb::intent::State::Captured,
        IntentState::Declined => pb::intent::State::Declined,
    };
    pb::Intent {
        idempotency_key: intent.idempotency_key,
        amount_cents: intent.amount_cents,
        currency: intent.currency,
        method: intent.method,
        state: state.into(),
        provider_reference: intent.provider_reference,
        decline_reason: intent.decline_reason,
    }
}

#[tonic::async_trait]
impl Payment for PaymentService {
    async fn capture(
        &self,
        request: Request<pb::CaptureRequest>,
    ) -> Result<Response<pb::Intent>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        let intent = Intent {
            idempotency_key: request.idempotency_key,
            amount_cents: request.amount_cents,
            currency: request.currency,
            method: request.method,
            state: IntentState::Processing,
            provider_reference: String::new(),
            decline_reason: String::new(),
        };
        let intent = self.payments.capture(&intent).await.map_err(to_status)?;
        Ok(Response::new(to_proto(intent)))
    }

    async fn get_intent(
        &self,
        request: Request<pb::IntentRef>,
    ) -> Result<Response<pb::Intent>, Status> {
        let key = request.into_inner().idempotency_key;
        match self.payments.get(&key).await.map_err(to_status)? {
            Some(intent) => Ok(Response::new(to_proto(intent))),
            None => Err(Status::not_found("no intent with that idempotency key")),
        }
    }
}
