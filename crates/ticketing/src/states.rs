//! The states holds, orders and payments move through, and the checkout saga's steps.
//!
//! Each state has a stable lowercase name used in storage and in the API.

/// A stored state name that is not one of the known states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {0:?}")]
pub struct UnknownState(pub String);

macro_rules! named_states {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// The stable name.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Parses a stable name.
            pub fn parse(text: &str) -> Result<Self, UnknownState> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownState(other.to_owned())),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_states! {
    /// A reservation hold's life.
    HoldState {
        /// Recorded, the inventory call not yet answered.
        Pending => "pending",
        /// Seats held until `expires_at`.
        Held => "held",
        /// A checkout is in flight; the seats are pinned and cannot expire.
        CheckingOut => "checking_out",
        /// Paid: the seats are sold to the hold's order.
        Converted => "converted",
        /// Given back by the buyer or by a failed checkout.
        Released => "released",
        /// The inventory had not the seats (nothing held).
        Rejected => "rejected",
        /// Left pending by a crash or an unreachable inventory; released by the reconciler.
        Abandoned => "abandoned",
    }
}

named_states! {
    /// An order's state as the buyer sees it.
    OrderState {
        /// Payment not settled yet.
        Pending => "pending",
        /// Paid; the seats are the buyer's.
        Confirmed => "confirmed",
        /// Not paid; nothing was captured and the seats went back on sale.
        Failed => "failed",
        /// Paid, then refunded: the seats were gone when the sale was to complete.
        Refunded => "refunded",
    }
}

named_states! {
    /// The payment provider's view of a payment intent.
    PaymentState {
        /// Submitted, outcome not known yet.
        Processing => "processing",
        /// Money captured.
        Captured => "captured",
        /// Refused; nothing captured.
        Declined => "declined",
        /// Captured, then given back.
        Refunded => "refunded",
    }
}

named_states! {
    /// The next thing the checkout saga must do for an order. Every step is idempotent, so
    /// the reconciler can redo the recorded step after a crash.
    SagaStep {
        /// Keep the hold's seats from expiring (inventory `Pin`).
        Pin => "pin",
        /// Capture the payment (idempotency key = order id).
        Capture => "capture",
        /// Payment captured: mark the seats sold (inventory `Commit`), confirm the order.
        Commit => "commit",
        /// Payment refused or hold lost before payment: give the seats back (inventory
        /// `ReleaseAfterCheckout`), fail the order.
        Release => "release",
        /// Payment captured but the seats are gone (inventory refused the commit): give the
        /// money back (payment `Refund`, idempotency key = order id), the order ends refunded.
        Refund => "refund",
        /// Nothing left to do.
        Done => "done",
    }
}

impl HoldState {
    /// Whether the hold still counts against the buyer's ticket limit (when unexpired).
    pub fn counts_against_limit(&self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Held | Self::CheckingOut | Self::Converted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in [
            HoldState::Pending,
            HoldState::CheckingOut,
            HoldState::Abandoned,
        ] {
            assert_eq!(HoldState::parse(state.as_str()), Ok(state));
        }
        for step in [
            SagaStep::Pin,
            SagaStep::Capture,
            SagaStep::Commit,
            SagaStep::Release,
            SagaStep::Refund,
            SagaStep::Done,
        ] {
            assert_eq!(SagaStep::parse(step.as_str()), Ok(step));
        }
        assert_eq!(OrderState::parse("confirmed"), Ok(OrderState::Confirmed));
        assert_eq!(OrderState::parse("refunded"), Ok(OrderState::Refunded));
        assert_eq!(PaymentState::parse("refunded"), Ok(PaymentState::Refunded));
        assert_eq!(
            PaymentState::parse("bogus"),
            Err(UnknownState("bogus".into()))
        );
    }
}
