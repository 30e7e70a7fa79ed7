//! Reading script replies.

use breakwater_line::{Bitset, LineImage, LineSettings, Lineage};
use breakwater_line_store::{Snapshot, StoreError};
use redis::Value;

use crate::codec::decode_stock;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected reply: {what}"))
}

/// A number written by Lua or stored as text.
pub(crate) fn number(text: &str) -> Result<u64, StoreError> {
    crate::codec::number(text).ok_or_else(|| corrupt(&format!("{text:?} is not a number")))
}

fn text_of(value: Value) -> Result<String, StoreError> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).map_err(|_| corrupt("non-UTF-8 text")),
        Value::SimpleString(text) => Ok(text),
        Value::Int(number) => Ok(number.to_string()),
        Value::Okay => Ok("OK".into()),
        other => Err(corrupt(&format!("{other:?} is not text"))),
    }
}

fn bytes_of(value: Value) -> Result<Vec<u8>, StoreError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::Nil => Ok(Vec::new()),
        other => Err(corrupt(&format!("{other:?} is not bytes"))),
    }
}

/// An array reply read front to back.
pub(crate) struct Reply {
    items: std::vec::IntoIter<Value>,
}

impl Reply {
    pub fn array(value: Value) -> Result<Self, StoreError> {
        match value {
            Value::Array(items) => Ok(Self {
                items: items.into_iter(),
            }),
            other => Err(corrupt(&format!("{other:?} is not an array"))),
        }
    }

    pub fn next_value(&mut self) -> Result<Value, StoreError> {
        self.items.next().ok_or_else(|| corrupt("reply too short"))
    }

    pub fn next_text(&mut self) -> Result<String, StoreError> {
        text_of(self.next_value()?)
    }

    pub fn next_number(&mut self) -> Result<u64, StoreError> {
        number(&self.next_text()?)
    }

    pub fn next_bytes(&mut self) -> Result<Vec<u8>, StoreError> {
        bytes_of(self.next_value()?)
    }

    pub fn texts(self) -> Result<Vec<String>, StoreError> {
        self.items.map(text_of).collect()
    }

    pub fn rest_numbers(self) -> Result<Vec<u64>, StoreError> {
        self.texts()?.iter().map(|text| number(text)).collect()
    }

    /// `member, score, member, score…` as (number, score) pairs.
    fn scored_numbers(self) -> Result<Vec<(u64, u64)>, StoreError> {
        let texts = self.texts()?;
        texts
            .chunks(2)
            .map(|pair| match pair {
                [member, score] => Ok((number(member)?, score_of(score)?)),
                _ => Err(corrupt("odd sorted set reply")),
            })
            .collect()
    }
}

/// Sorted set scores come back as text of a double ("1700000000000" or "1.7e+12").
fn score_of(text: &str) -> Result<u64, StoreError> {
    text.parse::<f64>()
        .ok()
        .filter(|score| score.is_finite() && *score >= 0.0)
        .map(|score| score as u64)
        .ok_or_else(|| corrupt(&format!("{text:?} is not a score")))
}

/// The snapshot script's reply: state hash, settings, bitmaps, ready and sessions.
pub(crate) fn parse_snapshot(value: Value) -> Result<Snapshot, StoreError> {
    let mut reply = Reply::array(value)?;
    let state = Reply::array(reply.next_value()?)?.texts()?;
    let field = |name: &str| -> Option<&str> {
        state
            .chunks(2)
            .find(|pair| pair[0] == name)
            .and_then(|pair| pair.get(1))
            .map(String::as_str)
    };
    let required = |name: &str| -> Result<u64, StoreError> {
        number(field(name).ok_or_else(|| corrupt(&format!("state has no {name}")))?)
    };
    let settings: LineSettings = serde_json::from_str(&reply.next_text()?)
        .map_err(|error| corrupt(&format!("settings: {error}")))?;
    let lineage = field("lin").ok_or_else(|| corrupt("state has no lineage"))?;
    let image = LineImage {
        settings,
        lineage: Lineage::parse(lineage).map_err(|error| corrupt(&error.to_string()))?,
        seq: required("seq")?,
        base: required("base")?,
        opened: field("p").map(number).transpose()?,
        out: Bitset::from_redis_bytes(&reply.next_bytes()?),
        reinstated: Bitset::from_redis_bytes(&reply.next_bytes()?),
        entered: Bitset::from_redis_bytes(&reply.next_bytes()?),
        ready: Reply::array(reply.next_value()?)?.scored_numbers()?,
        sessions: Reply::array(reply.next_value()?)?.scored_numbers()?,
        admitted_total: required("adm")?,
        stock: field("stk")
            .map(|text| decode_stock(text).ok_or_else(|| corrupt("unreadable stock")))
            .transpose()?,
    };
    Ok(Snapshot {
        incarnation: field("inc")
            .ok_or_else(|| corrupt("state has no incarnation"))?
            .to_owned(),
        lsn: required("lsn")?,
        started_ms: required("t0")?,
        image,
    })
}
