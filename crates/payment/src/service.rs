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
        PaymentError::NoIntent => Status::not_found(error.to_string()),
        PaymentError::NotRefundable(_) | PaymentError::Provider(ProviderError::Refused(_)) => {
            Status::failed_precondition(error.to_string())
        }
        _ => {
            tracing::error!(%error, "payment failure");
            Status::unavailable("payment temporarily unavailable")
        }
    }
}

fn validate_key(key: &str) -> Result<(), Status> {
    if (1..=64).contains(&key.len()) {
        Ok(())
    } else {
        Err(Status::invalid_argument(
            "idempotency_key must be 1 to 64 characters",
        ))
    }
}

fn validate(request: &pb::CaptureRequest) -> Result<(), Status> {
    validate_key(&request.idempotency_key)?;
    let currency_ok =
        request.currency.len() == 3 && request.currency.bytes().all(|b| b.is_ascii_uppercase());
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
        IntentState::Refunded => pb::intent::State::Refunded,
    };
    pb::Intent {
        idempotency_key: intent.idempotency_key,
        amount_cents: intent.amount_cents,
        currency: intent.currency,
        method: intent.method,
        state: state.into(),
        provider_reference: intent.provider_reference,
        decline_reason: intent.decline_reason,
        refund_reference: intent.refund_reference,
        refund_reason: intent.refund_reason,
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
        let intent = Intent::new(
            &request.idempotency_key,
            request.amount_cents,
            &request.currency,
            &request.method,
        );
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

    async fn refund(
        &self,
        request: Request<pb::RefundRequest>,
    ) -> Result<Response<pb::Intent>, Status> {
        let request = request.into_inner();
        validate_key(&request.idempotency_key)?;
        if request.reason.len() > 200 {
            return Err(Status::invalid_argument(
                "reason must be at most 200 characters",
            ));
        }
        let intent = self
            .payments
            .refund(&request.idempotency_key, &request.reason)
            .await
            .map_err(to_status)?;
        Ok(Response::new(to_proto(intent)))
    }
}
