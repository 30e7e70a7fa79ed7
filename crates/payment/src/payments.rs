//! Capturing intents through the provider, idempotently.

use std::sync::Arc;
use std::time::Duration;

use crate::provider::{Charge, PaymentProvider, ProviderError, ProviderOutcome};
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
