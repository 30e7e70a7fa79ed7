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

/// The buyer named by the request's access token, which must be valid now and, when
/// `event` is given, belong to that event.
pub fn buyer(
    headers: &HeaderMap,
    keys: &TokenKeys,
    event: Option<&str>,
    now_ms: i64,
) -> Result<Buyer, ApiError> {
    let token = bearer(headers).ok_or_else(|| unauthorized("an access token is required"))?;
    let now = u64::try_from(now_ms).unwrap_or(0);
    let access = keys
        .verify_access(token, event, now)
        .map_err(|error| match error {
            TokenError::WrongEvent => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the access token belongs to another event",
            ),
            TokenError::Expired => unauthorized("the access token has expired"),
            _ => unauthorized("the access token is not valid"),
        })?;
    let number =
        i64::try_from(access.number).map_err(|_| unauthorized("the access token is not valid"))?;
    Ok(Buyer {
        event: access.event,
        number,
    })
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
        let buyer = buyer(&headers(&format!("Bearer {token}")), &keys, Some("demo"), 1).unwrap();
        assert_eq!(buyer.number, 7);
        let other = super::buyer(&headers(&format!("Bearer {token}")), &keys, Some("x"), 1);
        assert!(other.is_err());
        let expired = super::buyer(&headers(&format!("Bearer {token}")), &keys, None, 10_000);
        assert!(expired.is_err());
        assert!(super::buyer(&HeaderMap::new(), &keys, None, 1).is_err());
    }

    #[test]
    fn admin_key_must_match_exactly() {
        assert!(admin(&headers("Bearer secret-key"), "secret-key").is_ok());
        assert!(admin(&headers("Bearer secret-kex"), "secret-key").is_err());
        assert!(admin(&headers("secret-key"), "secret-key").is_err());
    }
}
