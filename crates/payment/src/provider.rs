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

/// A refund as sent to a provider: the whole of an earlier captured charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The charge's reference; providers must treat a repeated refund of it as the same
    /// refund.
    pub reference: String,
    /// Amount in minor units (the charge's).
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
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
    /// The provider will not do it (e.g. refund a charge it never captured).
    #[error("provider refused: {0}")]
    Refused(String),
}

/// A payment service provider.
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync + Debug {
    /// Charges (captures) `charge`. Must be idempotent per `charge.reference`.
    async fn charge(&self, charge: &Charge) -> Result<ProviderOutcome, ProviderError>;

    /// The current outcome of an earlier charge; `None` when the provider never saw it.
    async fn status(&self, reference: &str) -> Result<Option<ProviderOutcome>, ProviderError>;

    /// Refunds a captured charge in full and returns the provider's id of the refund. Must
    /// be idempotent per `refund.reference`: refunding it again returns the same refund.
    async fn refund(&self, refund: &Refund) -> Result<String, ProviderError>;
}
