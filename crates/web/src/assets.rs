//! The embedded assets: hand-written CSS and JavaScript (no bundler, so nothing is
//! generated and nothing can drift), served under content-hashed, immutable URLs,
//! gzip-compressed once at first use.

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Its name without the hash, such as `style.css`.
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// The site's stylesheet.
pub const STYLE: &Asset = &Asset {
    name: "style.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../assets/style.css"),
};
/// What every page's script shares: texts, API calls, times.
pub const COMMON: &Asset = &Asset {
    name: "common.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/common.js"),
};
/// The event page and waiting room.
pub const EVENT: &Asset = &Asset {
    name: "event.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/event.js"),
};
/// The waiting room's timer while its tab is hidden (a worker).
pub const TICK: &Asset = &Asset {
    name: "tick.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/tick.js"),
};
/// The join's proof of work, solved off the page's thread (a worker, fetched only for an
/// event that asks one).
pub const PROOF: &Asset = &Asset {
    name: "proof.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/proof.js"),
};
/// The seat map, hold, checkout and confirmation.
pub const SEATS: &Asset = &Asset {
    name: "seats.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/seats.js"),
};
/// My orders.
pub const ORDERS: &Asset = &Asset {
    name: "orders.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/orders.js"),
};
/// The operator dashboard.
pub const ADMIN: &Asset = &Asset {
    name: "admin.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/admin.js"),
};

const ALL: [&Asset; 8] = [STYLE, COMMON, EVENT, TICK, PROOF, SEATS, ORDERS, ADMIN];

/// An asset as served: its hashed name, ETag and compressed body.
struct Prepared {
    file: String,
    etag: String,
    gzip: Vec<u8>,
}

fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| ALL.iter().map(|asset| prepare(asset)).collect())
}

fn prepare(asset: &Asset) -> Prepared {
    let digest = Sha256::digest(asset.body);
    let hash: String = digest[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let (stem, extension) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail; an empty body would only lose the compression.
    let gzip = encoder
        .write_all(asset.body)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    Prepared {
        file: format!("{stem}.{hash}.{extension}"),
        etag: format!("\"{hash}\""),
        gzip,
    }
}

impl Asset {
    /// The asset's URL: content-hashed, so it can be cached for good.
    pub fn url(&self) -> String {
        let index = ALL
            .iter()
            .position(|asset| asset.name == self.name)
            .unwrap_or(0);
        format!("/assets/{}", prepared()[index].file)
    }
}

/// `GET /assets/{file}`: an asset by its hashed name, immutable.
pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((asset, prepared)) = ALL
        .iter()
        .zip(prepared())
        .find(|(_, prepared)| prepared.file == file)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = HeaderValue::from_str(&prepared.etag).unwrap_or(HeaderValue::from_static("\"\""));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value == etag)
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let common = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ),
        (header::ETAG, etag),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    if accepts_gzip(&headers) && !prepared.gzip.is_empty() {
        let encoding = [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))];
        (common, encoding, prepared.gzip.clone()).into_response()
    } else {
        (common, asset.body).into_response()
    }
}

/// Whether the client takes gzip.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|param| param.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Compresses a page with gzip (fast), for a client that takes it.
pub fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_content_hashed_and_served() {
        let url = STYLE.url();
        assert!(
            url.starts_with("/assets/style.") && url.ends_with(".css"),
            "{url}"
        );
        assert!(prepared().iter().all(|asset| !asset.gzip.is_empty()));
    }

    #[test]
    fn gzip_is_negotiated() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&headers));
    }
}
