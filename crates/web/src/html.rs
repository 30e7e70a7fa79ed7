//! The page shell every page shares, and escaping.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::assets::{self, Asset};
use crate::i18n::{Lang, texts};

/// Text made safe for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON made safe inside a `<script type="application/json">`.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A page to render.
pub struct Page<'a> {
    /// The language it is written in.
    pub lang: Lang,
    /// Its `<title>`.
    pub title: String,
    /// The inside of `<main>`.
    pub main: String,
    /// Its script, if any (after the shared one).
    pub script: Option<&'static Asset>,
    /// Data for the script.
    pub data: Value,
    /// Reload every this many seconds (the waiting page without JavaScript).
    pub refresh_seconds: Option<u64>,
    /// The request (for ETag and compression).
    pub request: &'a HeaderMap,
    /// Cookies to set.
    pub cookies: Vec<HeaderValue>,
    /// The status to answer with.
    pub status: StatusCode,
}

impl<'a> Page<'a> {
    /// A page with defaults: 200, no script, no refresh.
    pub fn new(lang: Lang, request: &'a HeaderMap, title: String, main: String) -> Self {
        Self {
            lang,
            title,
            main,
            script: None,
            data: json!({}),
            refresh_seconds: None,
            request,
            cookies: Vec::new(),
            status: StatusCode::OK,
        }
    }

    fn html(&self) -> String {
        let t = texts(self.lang);
        let refresh = self
            .refresh_seconds
            .map(|seconds| format!("<meta http-equiv=\"refresh\" content=\"{seconds}\">"))
            .unwrap_or_default();
        let mut data = self.data.clone();
        data["lang"] = Value::from(self.lang.code());
        data["t"] = t.clone();
        let script = self
            .script
            .map(|asset| format!("<script src=\"{}\" defer></script>", asset.url()))
            .unwrap_or_default();
        let (other, other_name) = match self.lang {
            Lang::En => ("ko", "한국어"),
            Lang::Ko => ("en", "English"),
        };
        format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{refresh}\
<title>{title}</title><link rel=\"icon\" href=\"data:,\">\
<link rel=\"stylesheet\" href=\"{style}\"></head><body>\
<a class=\"skip\" href=\"#main\">{skip}</a>\
<header class=\"top\"><a class=\"brand\" href=\"/\">Breakwater</a>\
<nav aria-label=\"{nav}\"><a href=\"/orders\">{orders}</a> \
<a href=\"?lang={other}\" hreflang=\"{other}\" lang=\"{other}\">{other_name}</a></nav></header>\
<main id=\"main\" tabindex=\"-1\">{main}</main>\
<script type=\"application/json\" id=\"bw-data\">{data}</script>\
<script src=\"{common}\" defer></script>{script}</body></html>",
            lang = self.lang.code(),
            title = esc(&self.title),
            style = assets::STYLE.url(),
            skip = esc(text(t, "skip")),
            nav = esc(text(t, "nav")),
            orders = esc(text(t, "my_orders")),
            main = self.main,
            data = script_json(&data),
            common = assets::COMMON.url(),
        )
    }
}

/// A text of the language's table (the key itself when missing).
pub fn text<'t>(t: &'t Value, key: &'t str) -> &'t str {
    t.get(key).and_then(Value::as_str).unwrap_or(key)
}

impl IntoResponse for Page<'_> {
    fn into_response(self) -> Response {
        let body = self.html();
        let digest = Sha256::digest(body.as_bytes());
        let etag: String = digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let etag = HeaderValue::from_str(&format!("\"{etag}\""))
            .unwrap_or(HeaderValue::from_static("\"\""));
        let mut response = if self.status == StatusCode::OK
            && self.cookies.is_empty()
            && self
                .request
                .get(header::IF_NONE_MATCH)
                .is_some_and(|value| value == etag)
        {
            StatusCode::NOT_MODIFIED.into_response()
        } else if assets::accepts_gzip(self.request)
            && let Some(gzip) = assets::gzip(body.as_bytes())
        {
            let mut response = (self.status, gzip).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        } else {
            (self.status, body).into_response()
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::VARY,
            HeaderValue::from_static("accept-encoding, accept-language, cookie"),
        );
        headers.insert(header::ETAG, etag);
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ),
        );
        for cookie in self.cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_and_script_json() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            script_json(&json!({"x": "</script>"})),
            "{\"x\":\"\\u003c/script\\u003e\"}"
        );
    }
}
