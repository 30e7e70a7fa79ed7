/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is not of the `bw2.<kind>.<event>.<lineage>.<number>.<millis>.<mac>` shape.
    #[error("token is malformed")]
    Malformed,
    /// The MAC does not match: forged or tampered.
    #[error("token signature is invalid")]
    BadSignature,
    /// A line token was given where an access token is needed, or the other way round.
    #[error("token is of the wrong kind")]
    WrongKind,
    /// The token is valid but for another event.
    #[error("token belongs to another event")]
    WrongEvent,
    /// The access token's lifetime has passed.
    #[error("token has expired")]
    Expired,
}
