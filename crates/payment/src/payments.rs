//! Capturing intents through the provider, and refunding captured ones, idempotently.

use std::sync::Arc;
use std::time::Duration;

use crate::provider::{Charge, PaymentProvider, ProviderError, ProviderOutcome, Refund};
use crate::store::{Intent, IntentState, PaymentStore, PaymentStoreError};

/// Why a payment operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// Storage failed or the key was misused.
    #[error(transparent)]
    Store(#[from] PaymentStoreError),
    /// The provider refused the request outright.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// No intent has that key.
    #[error("no intent with that idempotency key")]
    NoIntent,
    /// Only a captured intent can be refunded; this one is not (processing or declined).
    #[error("only a captured intent can be refunded; this one is {0}")]
    NotRefundable(IntentState),
}

/// Payment intents over a store and a provider.
#[derive(Debug, Clone)]
pub struct Payments {
    store: PaymentStore,
    provider: Arc<dyn PaymentProvider>,
    provider_timeout: Duration,
}

impl Payments {
    /// Payments over `store` charging through `provider`, waiting at most
    /// `provider_timeout` for each provider answer.
    pub fn new(
        store: PaymentStore,
        provider: Arc<dyn PaymentProvider>,
        provider_timeout: Duration,
    ) -> Self {
        Self {
            store,
            provider,
            provider_timeout,
        }
    }

    /// Creates the intent if new and captures it; a repeat returns the intent's state and,
    /// while it is processing, asks the provider again (same reference, so never charged
    /// twice).
    pub async fn capture(&self, request: &Intent) -> Result<Intent, PaymentError> {
        let stored = self.store.create_or_get(request).await?;
        if stored.state != IntentState::Processing {
            return Ok(stored);
        }
        let charge = Charge {
            reference: stored.idempotency_key.clone(),
            amount_cents: stored.amount_cents,
            currency: stored.currency.clone(),
            method: stored.method.clone(),
        };
        let outcome = match tokio::time::timeout(
            self.provider_timeout,
            self.provider.charge(&charge),
        )
        .await
        {
            Ok(Ok(outcome)) => outcome,
            // Settled as declined, so the intent does not stay processing forever.
            Ok(Err(ProviderError::UnsupportedMethod(method))) => ProviderOutcome::Declined {
                reason: format!("unsupported payment method {method:?}"),
            },
            Ok(Err(error)) => return Err(error.into()),
            // No answer in time: the intent stays processing and is asked about later.
            Err(_) => ProviderOutcome::Pending,
        };
        self.apply(stored, outcome).await
    }

    /// The intent for `key`, refreshed from the provider while processing.
    pub async fn get(&self, key: &str) -> Result<Option<Intent>, PaymentError> {
        let Some(stored) = self.store.get(key).await? else {
            return Ok(None);
        };
        if stored.state != IntentState::Processing {
            return Ok(Some(stored));
        }
        let outcome =
            match tokio::time::timeout(self.provider_timeout, self.provider.status(key)).await {
                Ok(outcome) => outcome?.unwrap_or(ProviderOutcome::Pending),
                Err(_) => ProviderOutcome::Pending,
            };
        Ok(Some(self.apply(stored, outcome).await?))
    }

    /// Refunds the captured intent `key` in full, recording `reason`, and returns it
    /// refunded. Refunding a refunded intent returns it unchanged (the provider is asked
    /// with the same reference, so never refunds twice); a processing or declined intent is
    /// [`PaymentError::NotRefundable`] and nothing changes.
    pub async fn refund(&self, key: &str, reason: &str) -> Result<Intent, PaymentError> {
        let stored = self.store.get(key).await?.ok_or(PaymentError::NoIntent)?;
        match stored.state {
            IntentState::Refunded => return Ok(stored),
            IntentState::Captured => {}
            state => return Err(PaymentError::NotRefundable(state)),
        }
        let refund = Refund {
            reference: stored.idempotency_key.clone(),
            amount_cents: stored.amount_cents,
            currency: stored.currency.clone(),
        };
        let reference = match tokio::time::timeout(
            self.provider_timeout,
            self.provider.refund(&refund),
        )
        .await
        {
            Ok(answer) => answer?,
            // Nothing recorded: the caller asks again (same reference, same refund).
            Err(_) => {
                return Err(ProviderError::Unavailable(
                    "the provider did not answer the refund in time".into(),
                )
                .into());
            }
        };
        let refunded = self
            .store
            .mark_refunded(key, &reference, reason)
            .await?
            .ok_or(PaymentError::NoIntent)?;
        if refunded.state != IntentState::Refunded {
            return Err(PaymentError::NotRefundable(refunded.state));
        }
        metrics::counter!("breakwater_payment_refunds_total").increment(1);
        Ok(refunded)
    }

    async fn apply(
        &self,
        stored: Intent,
        outcome: ProviderOutcome,
    ) -> Result<Intent, PaymentError> {
        let (state, reference, reason) = match outcome {
            ProviderOutcome::Pending => return Ok(stored),
            ProviderOutcome::Captured { provider_reference } => {
                (IntentState::Captured, provider_reference, String::new())
            }
            ProviderOutcome::Declined { reason } => (IntentState::Declined, String::new(), reason),
        };
        let settled = self
            .store
            .settle(&stored.idempotency_key, state, &reference, &reason)
            .await?;
        metrics::counter!("breakwater_payment_outcomes_total", "outcome" => settled.state.as_str())
            .increment(1);
        Ok(settled)
    }
}
