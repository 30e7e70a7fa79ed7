//! Where tokens travel: `Authorization: Bearer …`, or the event's cookie for the page.

use axum::http::{HeaderMap, header};

/// The cookie that carries the line token of `event`.
pub fn line_cookie(event: &str) -> String {
    format!("bw_line_{event}")
}

/// The cookie that carries the access token of `event`.
pub fn access_cookie(event: &str) -> String {
    format!("bw_access_{event}")
}

/// The bearer token of the request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find_map(|(key, value)| (key == name).then_some(value))
}

/// Every cookie of the request whose name starts with `prefix`.
pub fn cookies_with_prefix<'a>(
    headers: &'a HeaderMap,
    prefix: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    cookies(headers).filter_map(move |(key, value)| key.starts_with(prefix).then_some(value))
}

fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            Some((key.trim(), value.trim()))
        })
}

/// A `Set-Cookie` value for a token the page keeps.
pub fn set_cookie(name: &str, token: &str, max_age_seconds: u64) -> String {
    format!("{name}={token}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_bearer_and_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("x=1; bw_line_demo=tok; bw_access_demo=acc"),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        assert_eq!(cookie(&headers, "bw_line_demo"), Some("tok"));
        assert_eq!(
            cookies_with_prefix(&headers, "bw_access_").collect::<Vec<_>>(),
            vec!["acc"]
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
