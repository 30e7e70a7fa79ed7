//! Money: integer minor units, summed without overflow.

/// Why an amount could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The sum does not fit in 64 bits.
    #[error("amount overflows")]
    Overflow,
}

/// The total of `prices` in minor units.
pub fn total_cents(prices: impl IntoIterator<Item = i64>) -> Result<i64, MoneyError> {
    prices
        .into_iter()
        .try_fold(0i64, |sum, price| sum.checked_add(price))
        .ok_or(MoneyError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_refuses_overflow() {
        assert_eq!(total_cents([100, 250]), Ok(350));
        assert_eq!(total_cents([]), Ok(0));
        assert_eq!(total_cents([i64::MAX, 1]), Err(MoneyError::Overflow));
    }
}
