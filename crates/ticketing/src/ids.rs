//! Identifier rules: event ids, seat ids and the opaque ids clients send back to us.

use std::fmt;

/// Whether `id` is a valid event id: `^[a-z0-9][a-z0-9_-]{0,63}$`.
pub fn is_valid_event_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    bytes.len() <= 64
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}

/// Whether `id` may be a hold or order id (we issue UUIDs; anything else is refused early).
pub fn is_valid_resource_id(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Whether an `Idempotency-Key` header value is acceptable: 1 to 128 visible ASCII characters.
pub fn is_valid_idempotency_key(key: &str) -> bool {
    (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A seat's place in the venue, as named by its id.
///
/// Ids are `s<section>-r<row>-<number>` for a numbered seat and `s<section>-ga-<unit>` for
/// a general-admission ticket; sections, rows and numbers count from 1 in venue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatRef {
    /// A numbered seat in a row.
    Seated {
        /// 1-based section index.
        section: u32,
        /// 1-based row, front first.
        row: u32,
        /// 1-based seat number in the row.
        number: u32,
    },
    /// One unit of a general-admission section's stock.
    GeneralAdmission {
        /// 1-based section index.
        section: u32,
        /// 1-based unit number.
        unit: u32,
    },
}

impl SeatRef {
    /// Parses a seat id; `None` when it is not one we could have issued.
    pub fn parse(id: &str) -> Option<Self> {
        let rest = id.strip_prefix('s')?;
        let (section, rest) = rest.split_once('-')?;
        let section = parse_positive(section)?;
        if let Some(unit) = rest.strip_prefix("ga-") {
            return Some(Self::GeneralAdmission {
                section,
                unit: parse_positive(unit)?,
            });
        }
        let (row, number) = rest.strip_prefix('r')?.split_once('-')?;
        Some(Self::Seated {
            section,
            row: parse_positive(row)?,
            number: parse_positive(number)?,
        })
    }

    /// The id of the section this seat is in.
    pub fn section_id(&self) -> String {
        match self {
            Self::Seated { section, .. } | Self::GeneralAdmission { section, .. } => {
                section_id(*section)
            }
        }
    }
}

impl fmt::Display for SeatRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Seated {
                section,
                row,
                number,
            } => write!(f, "s{section}-r{row}-{number}"),
            Self::GeneralAdmission { section, unit } => write!(f, "s{section}-ga-{unit}"),
        }
    }
}

/// The id of the section at 1-based `index`.
pub fn section_id(index: u32) -> String {
    format!("s{index}")
}

/// The id of a row: `s<section>-r<row>`.
pub fn row_id(section: u32, row: u32) -> String {
    format!("s{section}-r{row}")
}

/// Canonical positive decimal only, so one seat has exactly one id.
fn parse_positive(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || text.starts_with('0') {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn event_ids_follow_the_pattern() {
        assert!(is_valid_event_id("demo"));
        assert!(is_valid_event_id("0-a_b"));
        assert!(is_valid_event_id(&"a".repeat(64)));
        assert!(!is_valid_event_id(&"a".repeat(65)));
        assert!(!is_valid_event_id(""));
        assert!(!is_valid_event_id("-a"));
        assert!(!is_valid_event_id("Demo"));
        assert!(!is_valid_event_id("a/b"));
    }

    #[test]
    fn seat_ids_round_trip() {
        for id in ["s1-r2-3", "s10-ga-400"] {
            assert_eq!(
                SeatRef::parse(id).map(|s| s.to_string()),
                Some(id.to_owned())
            );
        }
    }

    #[test]
    fn non_canonical_seat_ids_are_refused() {
        for id in [
            "s01-r2-3",
            "s1-r0-3",
            "s1-r2-",
            "x1-r2-3",
            "s1-ga-",
            "s1-r2-3-4",
            "",
        ] {
            assert_eq!(SeatRef::parse(id), None, "{id}");
        }
    }

    #[test]
    fn resource_ids_are_uuid_shaped() {
        assert!(is_valid_resource_id("67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert!(!is_valid_resource_id("../../etc/passwd"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in ".{0,40}") {
            let _ = SeatRef::parse(&text);
        }
    }
}
