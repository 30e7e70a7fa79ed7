//! Who is calling: buyers by access token (checked here too, behind the gateway), admins by
//! the admin key.

use axum::http::{HeaderMap, StatusCode, header};
use breakwater_tokens::{TokenError, TokenKeys};

use crate::error::ApiError;
use crate::store::Buyer;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// What a call needs of the buyer's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Proof of who the buyer is: reading their own holds and orders, also a while after
    /// their session ended.
    Identity,
    /// A session that has not run out (holds, cancels, checkouts; whether the buyer left
    /// or bought is the store's to say).
    ActiveSession,
}

/// The buyer named by the request's access token, which must belong to `event` when it
/// is given, and be as valid as `need` says.
pub fn buyer(
    headers: &HeaderMap,
    keys: &TokenKeys,
    event: Option<&str>,
    now_ms: i64,
    need: Need,
) -> Result<Buyer, ApiError> {
    let token = bearer(headers).ok_or_else(|| unauthorized("an access token is required"))?;
    let now = u64::try_from(now_ms).unwrap_or(0);
    let verified = match need {
        Need::Identity => keys.verify_buyer(token, event, now),
        Need::ActiveSession => keys.verify_access(token, event, now),
    };
    let access = verified.map_err(|error| match error {
        TokenError::WrongEvent => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the access token belongs to another event",
        ),
        TokenError::Expired => unauthorized("the access token has expired"),
        _ => unauthorized("the access token is not valid"),
    })?;
    Ok(Buyer::of(&access))
}

/// 403 for a buyer whose session has ended.
pub fn session_ended() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "session_ended",
        "your session has ended (you left, your order was confirmed, or it ran out): you can still read your orders",
    )
}

/// Checks the admin key in `Authorization: Bearer`.
pub fn admin(headers: &HeaderMap, admin_key: &str) -> Result<(), ApiError> {
    match bearer(headers) {
        Some(given) if constant_time_eq(given.as_bytes(), admin_key.as_bytes()) => Ok(()),
        _ => Err(unauthorized("the admin key is required")),
    }
}

/// Compares without an early exit, so timing does not reveal how much of the key matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use breakwater_tokens::AccessToken;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn buyer_comes_from_a_valid_token_of_the_event() {
        let keys = TokenKeys::new(b"0123456789abcdef0123");
        let token = keys.sign_access(&AccessToken {
            event: "demo".into(),
            lineage: 1,
            number: 7,
            expires_at_ms: 10_000,
        });
        let bearer = headers(&format!("Bearer {token}"));
        let active = Need::ActiveSession;
        let buyer = buyer(&bearer, &keys, Some("demo"), 1, active).unwrap();
        assert_eq!(buyer.id, "0000000000000001-7");
        assert!(super::buyer(&bearer, &keys, Some("x"), 1, active).is_err());
        assert!(super::buyer(&bearer, &keys, None, 10_000, active).is_err());
        let reader = super::buyer(&bearer, &keys, None, 10_000, Need::Identity);
        assert_eq!(reader.unwrap(), buyer);
        assert!(super::buyer(&HeaderMap::new(), &keys, None, 1, active).is_err());
    }

    #[test]
    fn admin_key_must_match_exactly() {
        assert!(admin(&headers("Bearer secret-key"), "secret-key").is_ok());
        assert!(admin(&headers("Bearer secret-kex"), "secret-key").is_err());
        assert!(admin(&headers("secret-key"), "secret-key").is_err());
    }
}
