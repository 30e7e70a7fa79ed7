//! The payment provider seam: the sandbox today, a real PSP behind the same trait later.

use std::fmt::Debug;

/// A charge as sent to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Our idempotency key; providers must treat a repeated reference as the same charge.
    pub reference: String,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// The buyer's payment method string.
    pub method: String,
}

/// What the provider said about a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderOutcome {
    /// Money captured.
    Captured {
        /// The provider's id of the capture.
        provider_reference: String,
    },
    /// Refused; nothing captured.
    Declined {
        /// Why, in the provider's words.
        reason: String,
    },
    /// No answer yet (the provider timed out or is still working).
    Pending,
}

/// Why a provider call failed outright.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The method is not one this provider takes.
    #[error("unsupported payment method {0:?}")]
    UnsupportedMethod(String),
    /// The provider's own storage or network failed.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

/// A payment service provider.
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync + Debug {
    /// Charges (captures) `charge`. Must be idempotent per `charge.reference`.
    async fn charge(&self, charge: &Charge) -> Result<ProviderOutcome, ProviderError>;

    /// The current outcome of an earlier charge; `None` when the provider never saw it.
    async fn status(&self, reference: &str) -> Result<Option<ProviderOutcome>, ProviderError>;
}
