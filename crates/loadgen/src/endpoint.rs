//! The endpoints a run measures, and which answers count as errors for each.

use serde::Serialize;

/// One kind of request, measured on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /api/v1/events/{event}/queue`.
    Join,
    /// `GET /api/v1/events/{event}/queue`.
    Status,
    /// `POST /api/v1/events/{event}/queue/enter`.
    Enter,
    /// `DELETE /api/v1/events/{event}/queue`.
    Leave,
    /// `GET /api/v1/events/{event}/seats`.
    Seats,
    /// `POST /api/v1/events/{event}/holds`.
    Hold,
    /// `POST /api/v1/holds/{hold}/checkout`.
    Checkout,
    /// `GET /healthz`.
    Healthz,
}

impl Endpoint {
    /// Every endpoint, in a fixed order (the index of each is [`Endpoint::index`]).
    pub const ALL: [Endpoint; 8] = [
        Self::Join,
        Self::Status,
        Self::Enter,
        Self::Leave,
        Self::Seats,
        Self::Hold,
        Self::Checkout,
        Self::Healthz,
    ];

    /// Position in [`Endpoint::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The endpoint's short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Status => "status",
            Self::Enter => "enter",
            Self::Leave => "leave",
            Self::Seats => "seats",
            Self::Hold => "hold",
            Self::Checkout => "checkout",
            Self::Healthz => "healthz",
        }
    }

    /// Whether `status` is an answer the contract allows here. Anything else (5xx,
    /// 429 shedding, 401 on a valid token...) is an error.
    pub fn expects(self, status: u16) -> bool {
        match self {
            Self::Join => status == 201,
            Self::Status | Self::Seats | Self::Healthz => status == 200,
            // 409: not ready yet; 410: the place expired.
            Self::Enter => matches!(status, 200 | 409 | 410),
            Self::Leave => matches!(status, 200 | 204),
            // 409: seats taken; 422: over the ticket limit.
            Self::Hold => matches!(status, 201 | 409 | 422),
            // 202: payment pending; 402: declined.
            Self::Checkout => matches!(status, 201 | 202 | 402),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_match_the_table() {
        for (index, endpoint) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(endpoint.index(), index);
        }
    }

    #[test]
    fn contract_answers_are_not_errors() {
        assert!(Endpoint::Enter.expects(409));
        assert!(!Endpoint::Status.expects(503));
        assert!(!Endpoint::Join.expects(429));
        assert!(Endpoint::Checkout.expects(402));
    }
}
