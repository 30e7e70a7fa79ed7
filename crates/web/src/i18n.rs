//! Korean and English: which one a request gets, and every text of the pages.
//!
//! `?lang=ko|en` switches (and is remembered in a `bw_lang` cookie); otherwise the
//! cookie, otherwise `Accept-Language`, otherwise English. The server renders the static
//! parts; the scripts get the same table for what they write.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::{Map, Value};

mod table;

type Entry = (&'static str, &'static str, &'static str);

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Korean.
    Ko,
}

impl Lang {
    /// Its BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "ko" => Some(Self::Ko),
            _ => None,
        }
    }
}

/// The language of a request, and the cookie that remembers a switch.
pub fn choose(headers: &HeaderMap, query: Option<&str>) -> (Lang, Option<HeaderValue>) {
    let asked = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.strip_prefix("lang="))
        .find_map(Lang::parse);
    if let Some(lang) = asked {
        let cookie = format!(
            "bw_lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        return (lang, HeaderValue::from_str(&cookie).ok());
    }
    let remembered = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("bw_lang="))
        .find_map(Lang::parse);
    let lang = remembered.or_else(|| from_accept_language(headers));
    (lang.unwrap_or(Lang::En), None)
}

/// The preferred of our languages in `Accept-Language` (highest q, then first).
fn from_accept_language(headers: &HeaderMap) -> Option<Lang> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let Some(lang) = parts.next().and_then(Lang::parse) else {
            continue;
        };
        let q = parts
            .find_map(|param| param.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// Every text in `lang`, as the scripts get it.
pub fn texts(lang: Lang) -> &'static Value {
    static EN: OnceLock<Value> = OnceLock::new();
    static KO: OnceLock<Value> = OnceLock::new();
    let build = |pick: fn(&Entry) -> &'static str| {
        let map: Map<String, Value> = table::TEXTS
            .iter()
            .map(|entry| (entry.0.to_owned(), Value::from(pick(entry))))
            .collect();
        Value::Object(map)
    };
    match lang {
        Lang::En => EN.get_or_init(|| build(|entry| entry.1)),
        Lang::Ko => KO.get_or_init(|| build(|entry| entry.2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn picks_the_language() {
        let korean = headers(header::ACCEPT_LANGUAGE, "ko-KR,ko;q=0.9,en;q=0.8");
        assert_eq!(choose(&korean, None).0, Lang::Ko);
        let english = headers(header::ACCEPT_LANGUAGE, "fr, en;q=0.5, ko;q=0.4");
        assert_eq!(choose(&english, None).0, Lang::En);
        let (lang, cookie) = choose(&korean, Some("lang=en"));
        assert_eq!(lang, Lang::En);
        assert!(cookie.is_some());
        let remembered = headers(header::COOKIE, "a=b; bw_lang=ko");
        assert_eq!(choose(&remembered, None).0, Lang::Ko);
        assert_eq!(choose(&HeaderMap::new(), None).0, Lang::En);
    }

    #[test]
    fn every_text_has_both_languages() {
        for (key, en, ko) in table::TEXTS {
            assert!(!en.is_empty() && !ko.is_empty(), "{key}");
        }
    }
}
