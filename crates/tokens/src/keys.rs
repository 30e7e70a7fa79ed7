use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::TokenError;

pub(crate) type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "bw2";
const LINE_KIND: &str = "l";
const ACCESS_KIND: &str = "a";
/// How long after an access token expires it still names its buyer for reading their own
/// orders (a week: long enough to come back for a receipt).
pub const READ_GRACE_MS: u64 = 7 * 24 * 3600 * 1000;
/// 128 bits of MAC are plenty against forgery and keep tokens short.
pub(crate) const MAC_BYTES: usize = 16;

/// A buyer's place in an event's line, as proven by a line token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineToken {
    /// The event the place belongs to.
    pub event: String,
    /// The life of the event's line the number was handed out in.
    pub lineage: u64,
    /// The queue number handed out at join.
    pub number: u64,
    /// When the buyer joined, in Unix milliseconds.
    pub issued_at_ms: u64,
}

/// An admitted buyer's pass to the ticketing backend of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The event the buyer was admitted to.
    pub event: String,
    /// The life of the event's line the buyer's number belongs to.
    pub lineage: u64,
    /// The buyer's queue number.
    pub number: u64,
    /// When the pass stops being valid, in Unix milliseconds.
    pub expires_at_ms: u64,
}

impl AccessToken {
    /// The buyer's identity within the event, as the ticketing backend keys it: never the
    /// same for two buyers of one event.
    pub fn buyer_id(&self) -> String {
        buyer_id(self.lineage, self.number)
    }
}

impl LineToken {
    /// The identity of the buyer holding this place, as [`AccessToken::buyer_id`] gives it
    /// once they entered.
    pub fn buyer_id(&self) -> String {
        buyer_id(self.lineage, self.number)
    }
}

fn buyer_id(lineage: u64, number: u64) -> String {
    format!("{lineage:016x}-{number}")
}

/// Whether `text` is a buyer id as [`AccessToken::buyer_id`] writes them.
pub fn is_buyer_id(text: &str) -> bool {
    text.split_once('-').is_some_and(|(lineage, number)| {
        parse_lineage(lineage).is_ok() && parse_number(number).is_ok()
    })
}

/// The secret that signs and verifies tokens; every gateway of a deployment shares it.
#[derive(Clone)]
pub struct TokenKeys {
    mac: HmacSha256,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(<secret>)")
    }
}

impl TokenKeys {
    /// Keys from a shared secret (at least 16 bytes of entropy is expected).
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        Self { mac }
    }

    /// A fresh random secret, base64url-encoded, for deployments that did not set one.
    pub fn generate_secret() -> String {
        let bytes: [u8; 32] = rand::random();
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A fresh MAC keyed with the secret (other signed texts, such as join challenges).
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// Derives a per-purpose 64-bit seed from the secret (for example, an event's lottery).
    pub fn derive_seed(&self, purpose: &str) -> u64 {
        let mut mac = self.mac.clone();
        mac.update(b"seed:");
        mac.update(purpose.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&out[..8]);
        u64::from_le_bytes(seed)
    }

    /// Signs a line token.
    pub fn sign_line(&self, token: &LineToken) -> String {
        self.sign(
            LINE_KIND,
            &token.event,
            (token.lineage, token.number),
            token.issued_at_ms,
        )
    }

    /// Signs an access token.
    pub fn sign_access(&self, token: &AccessToken) -> String {
        self.sign(
            ACCESS_KIND,
            &token.event,
            (token.lineage, token.number),
            token.expires_at_ms,
        )
    }

    /// Checks a line token and that it belongs to `event`.
    pub fn verify_line(&self, token: &str, event: &str) -> Result<LineToken, TokenError> {
        let fields = self.verify(token, LINE_KIND)?;
        if fields.event != event {
            return Err(TokenError::WrongEvent);
        }
        Ok(LineToken {
            event: fields.event.to_owned(),
            lineage: fields.lineage,
            number: fields.number,
            issued_at_ms: fields.millis,
        })
    }

    /// Checks an access token, that it has not expired at `now_ms`, and, when `event` is
    /// given, that it belongs to that event.
    pub fn verify_access(
        &self,
        token: &str,
        event: Option<&str>,
        now_ms: u64,
    ) -> Result<AccessToken, TokenError> {
        let fields = self.verify(token, ACCESS_KIND)?;
        if event.is_some_and(|event| event != fields.event) {
            return Err(TokenError::WrongEvent);
        }
        if fields.millis <= now_ms {
            return Err(TokenError::Expired);
        }
        Ok(AccessToken {
            event: fields.event.to_owned(),
            lineage: fields.lineage,
            number: fields.number,
            expires_at_ms: fields.millis,
        })
    }

    /// Checks an access token only as proof of who the buyer is: for reading their own
    /// orders, which a buyer may do for [`READ_GRACE_MS`] after the session ended.
    pub fn verify_buyer(
        &self,
        token: &str,
        event: Option<&str>,
        now_ms: u64,
    ) -> Result<AccessToken, TokenError> {
        self.verify_access(token, event, now_ms.saturating_sub(READ_GRACE_MS))
    }

    fn sign(&self, kind: &str, event: &str, (lineage, number): (u64, u64), millis: u64) -> String {
        let body = format!("{VERSION}.{kind}.{event}.{lineage:016x}.{number}.{millis}");
        let mut mac = self.mac.clone();
        mac.update(body.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut token = body;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&tag[..MAC_BYTES], &mut token);
        token
    }

    fn verify<'a>(&self, token: &'a str, kind: &str) -> Result<Fields<'a>, TokenError> {
        let (body, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut tag_bytes = [0u8; MAC_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(tag, &mut tag_bytes) {
            Ok(MAC_BYTES) => {}
            _ => return Err(TokenError::Malformed),
        }
        let fields = Fields::parse(body)?;
        let mut mac = self.mac.clone();
        mac.update(body.as_bytes());
        mac.verify_truncated_left(&tag_bytes)
            .map_err(|_| TokenError::BadSignature)?;
        if fields.kind != kind {
            return Err(TokenError::WrongKind);
        }
        Ok(fields)
    }
}

/// The signed fields of a token, borrowed from its text.
struct Fields<'a> {
    kind: &'a str,
    event: &'a str,
    lineage: u64,
    number: u64,
    millis: u64,
}

impl<'a> Fields<'a> {
    fn parse(body: &'a str) -> Result<Self, TokenError> {
        let mut parts = body.split('.');
        let mut next = || parts.next().ok_or(TokenError::Malformed);
        if next()? != VERSION {
            return Err(TokenError::Malformed);
        }
        let kind = next()?;
        let event = next()?;
        let lineage = parse_lineage(next()?)?;
        let number = parse_number(next()?)?;
        let millis = parse_number(next()?)?;
        if parts.next().is_some() || event.is_empty() {
            return Err(TokenError::Malformed);
        }
        Ok(Self {
            kind,
            event,
            lineage,
            number,
            millis,
        })
    }
}

fn parse_lineage(text: &str) -> Result<u64, TokenError> {
    // Exactly 16 lowercase hex digits: one spelling per token.
    let canonical = text.len() == 16
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !canonical {
        return Err(TokenError::Malformed);
    }
    u64::from_str_radix(text, 16).map_err(|_| TokenError::Malformed)
}

pub(crate) fn parse_number(text: &str) -> Result<u64, TokenError> {
    // Only canonical decimal: a second spelling of the same token would let a client
    // replay a used token under a different text.
    if text.is_empty() || text.len() > 20 || (text.len() > 1 && text.starts_with('0')) {
        return Err(TokenError::Malformed);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TokenError::Malformed);
    }
    text.parse().map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"test secret of enough length")
    }

    fn line(event: &str, number: u64) -> LineToken {
        LineToken {
            event: event.into(),
            lineage: 0x0123_4567_89ab_cdef,
            number,
            issued_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn line_token_round_trips_for_its_event() {
        let token = keys().sign_line(&line("demo", 42));
        assert_eq!(keys().verify_line(&token, "demo"), Ok(line("demo", 42)));
    }

    #[test]
    fn line_token_is_refused_for_another_event() {
        let token = keys().sign_line(&line("demo", 42));
        assert_eq!(
            keys().verify_line(&token, "other"),
            Err(TokenError::WrongEvent)
        );
    }

    #[test]
    fn token_signed_with_another_secret_is_forged() {
        let token = TokenKeys::new(b"attacker").sign_line(&line("demo", 1));
        assert_eq!(
            keys().verify_line(&token, "demo"),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampered_number_is_refused() {
        let token = keys().sign_line(&line("demo", 42));
        let tampered = token.replacen(".42.", ".1.", 1);
        assert_eq!(
            keys().verify_line(&tampered, "demo"),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn non_canonical_number_is_malformed() {
        let token = keys().sign_line(&line("demo", 42));
        let padded = token.replacen(".42.", ".042.", 1);
        assert_eq!(
            keys().verify_line(&padded, "demo"),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn line_token_is_not_an_access_token() {
        let token = keys().sign_line(&line("demo", 42));
        assert_eq!(
            keys().verify_access(&token, Some("demo"), 0),
            Err(TokenError::WrongKind)
        );
    }

    #[test]
    fn access_token_expires() {
        let access = AccessToken {
            event: "demo".into(),
            lineage: 3,
            number: 7,
            expires_at_ms: 1_000,
        };
        let token = keys().sign_access(&access);
        assert_eq!(
            keys().verify_access(&token, Some("demo"), 999),
            Ok(access.clone())
        );
        assert_eq!(
            keys().verify_access(&token, Some("demo"), 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            keys().verify_access(&token, Some("else"), 0),
            Err(TokenError::WrongEvent)
        );
        let reader = keys().verify_buyer(&token, Some("demo"), 1_000);
        assert_eq!(reader, Ok(access));
        assert_eq!(
            keys().verify_buyer(&token, Some("demo"), 1_000 + READ_GRACE_MS),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn the_lineage_is_signed_and_names_the_buyer() {
        let token = keys().sign_line(&line("demo", 42));
        let other_lineage = token.replacen(".0123456789abcdef.", ".0123456789abcdee.", 1);
        assert_ne!(token, other_lineage);
        assert_eq!(
            keys().verify_line(&other_lineage, "demo"),
            Err(TokenError::BadSignature)
        );
        let upper = token.replacen(".0123456789abcdef.", ".0123456789ABCDEF.", 1);
        assert_eq!(
            keys().verify_line(&upper, "demo"),
            Err(TokenError::Malformed)
        );
        let first = AccessToken {
            event: "demo".into(),
            lineage: 1,
            number: 7,
            expires_at_ms: 1,
        };
        let second = AccessToken {
            lineage: 2,
            ..first.clone()
        };
        assert_ne!(first.buyer_id(), second.buyer_id());
        assert_eq!(first.buyer_id(), "0000000000000001-7");
        assert!(is_buyer_id(&first.buyer_id()));
        for bad in [
            "0000000000000001-07",
            "1-7",
            "0000000000000001-",
            "x",
            "0000000000000001-7-1",
        ] {
            assert!(!is_buyer_id(bad), "{bad}");
        }
    }

    #[test]
    fn seeds_differ_by_purpose_and_secret() {
        assert_ne!(keys().derive_seed("a"), keys().derive_seed("b"));
        assert_ne!(
            keys().derive_seed("a"),
            TokenKeys::new(b"x").derive_seed("a")
        );
        assert_eq!(keys().derive_seed("a"), keys().derive_seed("a"));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_verifies(text in ".{0,80}") {
            prop_assert!(keys().verify_line(&text, "demo").is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes);
            prop_assert!(keys().verify_line(&text, "demo").is_err());
            prop_assert!(keys().verify_access(&text, None, 0).is_err());
            prop_assert!(keys().verify_buyer(&text, Some("demo"), 0).is_err());
        }

        #[test]
        fn token_shaped_text_never_panics(
            fields in proptest::collection::vec("[a-z0-9]{0,3}|[0-9a-f]{16}|[0-9]{1,21}|bw2|l|a|[-_A-Za-z0-9]{22}|\\PC{0,4}", 0..9),
        ) {
            let text = fields.join(".");
            prop_assert!(keys().verify_line(&text, "demo").is_err());
            prop_assert!(keys().verify_access(&text, Some("demo"), 0).is_err());
        }

        #[test]
        fn signed_tokens_round_trip(
            event in "[a-z0-9][a-z0-9_-]{0,63}",
            lineage in any::<u64>(),
            number in any::<u64>(),
            millis in any::<u64>(),
        ) {
            let place = LineToken { event: event.clone(), lineage, number, issued_at_ms: millis };
            prop_assert_eq!(keys().verify_line(&keys().sign_line(&place), &event), Ok(place));
            let pass = AccessToken { event: event.clone(), lineage, number, expires_at_ms: millis };
            let token = keys().sign_access(&pass);
            let now = millis.saturating_sub(1);
            if millis > 0 {
                prop_assert_eq!(keys().verify_access(&token, Some(&event), now), Ok(pass));
            } else {
                prop_assert_eq!(keys().verify_access(&token, Some(&event), 0), Err(TokenError::Expired));
            }
        }

        #[test]
        fn tampered_tokens_are_always_refused(
            number in any::<u64>(),
            millis in any::<u64>(),
            at in any::<usize>(),
            byte in any::<u8>(),
            cut in any::<usize>(),
            tail in "\\PC{1,8}",
        ) {
            let pass = AccessToken { event: "demo".into(), lineage: 7, number, expires_at_ms: millis };
            let token = keys().sign_access(&pass);
            // One byte replaced by any other.
            let mut bytes = token.clone().into_bytes();
            let at = at % bytes.len();
            // Never the same byte (no rejections, so any case count runs).
            bytes[at] = if bytes[at] == byte { byte.wrapping_add(1) } else { byte };
            let changed = String::from_utf8_lossy(&bytes);
            prop_assert!(keys().verify_buyer(&changed, None, 0).is_err(), "{} accepted", changed);
            // Cut short, or with anything appended.
            let cut = cut % token.len();
            prop_assert!(keys().verify_buyer(&token[..cut], None, 0).is_err());
            let longer = format!("{token}{tail}");
            prop_assert!(keys().verify_buyer(&longer, None, 0).is_err(), "{} accepted", longer);
            // Signed with another secret.
            let forged = TokenKeys::new(b"another secret").sign_access(&pass);
            prop_assert_eq!(keys().verify_buyer(&forged, None, 0), Err(TokenError::BadSignature));
        }

        #[test]
        fn any_single_character_change_is_refused(number in any::<u64>(), at in 0usize..60, c in "[a-zA-Z0-9._-]") {
            let token = keys().sign_line(&line("demo", number));
            let at = at % token.len();
            let mut changed = token.clone();
            changed.replace_range(at..at + 1, &c);
            if changed == token {
                // The same character: nothing changed (not a rejection, so that a long run
                // with PROPTEST_CASES does not abort on too many rejects).
                return Ok(());
            }
            prop_assert!(keys().verify_line(&changed, "demo").is_err());
        }
    }
}
