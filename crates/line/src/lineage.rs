//! Which life of an event's line a queue number belongs to.

use serde::{Deserialize, Serialize};

/// The identity of one life of an event's line. Queue numbers count from zero in each
/// lineage, so a buyer is (event, lineage, number): a line created afresh — also after its
/// store lost everything and no gateway was left to restore it — gets a new lineage, and
/// no buyer identity ever repeats for an event. A line restored from a gateway's replica
/// keeps its lineage (its numbers continue above every number handed out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Lineage(u64);

/// Text that is not a lineage (16 lowercase hex digits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a lineage is 16 lowercase hexadecimal digits")]
pub struct InvalidLineage;

impl Lineage {
    /// The lineage with this value (stores draw it at random when a line is created).
    pub fn new(value: u64) -> Self {
        Self(value)
    }

    /// Parses the 16-hex-digit form that tokens and stores carry.
    pub fn parse(text: &str) -> Result<Self, InvalidLineage> {
        let canonical = text.len() == 16
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !canonical {
            return Err(InvalidLineage);
        }
        u64::from_str_radix(text, 16)
            .map(Self)
            .map_err(|_| InvalidLineage)
    }
}

impl From<Lineage> for u64 {
    fn from(lineage: Lineage) -> Self {
        lineage.0
    }
}

impl std::fmt::Display for Lineage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl From<Lineage> for String {
    fn from(lineage: Lineage) -> Self {
        lineage.to_string()
    }
}

impl TryFrom<String> for Lineage {
    type Error = InvalidLineage;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_one_spelling_only() {
        let lineage = Lineage::new(0x00ab_cdef_0123_4567);
        assert_eq!(lineage.to_string(), "00abcdef01234567");
        assert_eq!(Lineage::parse("00abcdef01234567"), Ok(lineage));
        for bad in [
            "abcdef01234567",
            "00ABCDEF01234567",
            "00abcdef0123456g",
            "+0abcdef01234567",
        ] {
            assert_eq!(Lineage::parse(bad), Err(InvalidLineage), "{bad}");
        }
    }
}
