//! Payment methods the buyer may name at checkout.

/// What the sandbox provider should do with a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxChoice {
    /// Drawn from the provider's configured decline and timeout rates.
    Random,
    /// Always captured.
    Approve,
    /// Always declined.
    Decline,
    /// The provider does not answer in time; the outcome is settled later.
    Timeout,
}

/// A payment method accepted at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMethod {
    /// The built-in sandbox provider.
    Sandbox(SandboxChoice),
}

/// The method string named no method we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment_method must be one of sandbox, sandbox:approve, sandbox:decline, sandbox:timeout")]
pub struct PaymentMethodError;

impl PaymentMethod {
    /// Parses `sandbox`, `sandbox:approve`, `sandbox:decline` or `sandbox:timeout`.
    pub fn parse(text: &str) -> Result<Self, PaymentMethodError> {
        let choice = match text {
            "sandbox" => SandboxChoice::Random,
            "sandbox:approve" => SandboxChoice::Approve,
            "sandbox:decline" => SandboxChoice::Decline,
            "sandbox:timeout" => SandboxChoice::Timeout,
            _ => return Err(PaymentMethodError),
        };
        Ok(Self::Sandbox(choice))
    }

    /// The canonical string form.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sandbox(SandboxChoice::Random) => "sandbox",
            Self::Sandbox(SandboxChoice::Approve) => "sandbox:approve",
            Self::Sandbox(SandboxChoice::Decline) => "sandbox:decline",
            Self::Sandbox(SandboxChoice::Timeout) => "sandbox:timeout",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_round_trip_and_unknown_ones_are_refused() {
        for text in [
            "sandbox",
            "sandbox:approve",
            "sandbox:decline",
            "sandbox:timeout",
        ] {
            assert_eq!(PaymentMethod::parse(text).unwrap().as_str(), text);
        }
        assert_eq!(PaymentMethod::parse("visa"), Err(PaymentMethodError));
        assert_eq!(PaymentMethod::parse("SANDBOX"), Err(PaymentMethodError));
    }
}
