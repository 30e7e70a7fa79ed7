//! Reading script replies.

use breakwater_line::{Bitset, LineImage, LineSettings, Lineage, Schedule};
use breakwater_line_store::{
    AdmitResult, EnterOutcome, Snapshot, StoreError, SyncBatch, SyncOutcome,
};
use redis::Value;

use crate::codec::{decode_change, decode_stock};

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

/// The sync script's reply: `RESNAP`, or the counters and the log entries after the cursor.
pub(crate) fn parse_sync(value: Value) -> Result<SyncOutcome, StoreError> {
    let mut reply = Reply::array(value)?;
    let first = reply.next_text()?;
    match first.as_str() {
        "RESNAP" => return Ok(SyncOutcome::Resnapshot),
        "BEHIND" => return Ok(SyncOutcome::Behind),
        _ => {}
    }
    let seq = number(&first)?;
    let admitted_total = reply.next_number()?;
    let lsn = reply.next_number()?;
    let changes = Reply::array(reply.next_value()?)?
        .texts()?
        .iter()
        .map(|text| decode_change(text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SyncOutcome::Changes(SyncBatch {
        seq,
        admitted_total,
        changes,
        lsn,
    }))
}

/// The admit script's reply: the next slot (empty when idle), then the numbers admitted.
pub(crate) fn parse_admit(value: Value) -> Result<AdmitResult, StoreError> {
    let mut reply = Reply::array(value)?;
    let schedule = match reply.next_text()?.as_str() {
        "" => Schedule::Idle,
        next_slot => Schedule::NextSlotAt(
            next_slot
                .parse()
                .map_err(|_| StoreError::Corrupt("pacing state is not a number".into()))?,
        ),
    };
    let admitted = reply.rest_numbers()?;
    Ok(AdmitResult { admitted, schedule })
}

/// The enter script's reply: `OK` with the session's end, or why not.
pub(crate) fn parse_enter(value: Value) -> Result<EnterOutcome, StoreError> {
    let mut reply = Reply::array(value)?;
    match reply.next_text()?.as_str() {
        "OK" => Ok(EnterOutcome::Entered {
            session_expires_ms: reply.next_number()?,
        }),
        "ALREADY" => Ok(EnterOutcome::AlreadyEntered),
        "NOTREADY" => Ok(EnterOutcome::NotReady),
        "EXPIRED" => Ok(EnterOutcome::Expired),
        other => Err(StoreError::Corrupt(format!("enter answered {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Texts the scripts write, and texts they never do.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,21}",
            "[0-9]{1,6}(,[0-9]{1,6}){0,4}",
            "[SALDEFROK]\\|[0-9|,]{0,12}",
            "K\\|[0-9]{1,4}\\|[0-2]",
            "-?[0-9]+(\\.[0-9]+)?(e[+-]?[0-9]{1,3})?",
            prop_oneof![
                Just("RESNAP"),
                Just("OK"),
                Just("ALREADY"),
                Just("NOTREADY"),
                Just("EXPIRED"),
                Just("lin"),
                Just("seq"),
                Just("base"),
                Just("adm"),
                Just("lsn"),
                Just("t0"),
                Just("inc"),
                Just("stk"),
                Just("p"),
                Just("0123456789abcdef"),
                Just(""),
            ]
            .prop_map(str::to_owned),
            "S\\|\\{.{0,40}\\}",
            "\\PC{0,16}",
        ]
    }

    /// Any reply a Redis server could send, nested a few levels.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            Just(Value::Okay),
            any::<i64>().prop_map(Value::Int),
            text().prop_map(|text| Value::BulkString(text.into_bytes())),
            proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::BulkString),
            text().prop_map(Value::SimpleString),
            any::<f64>().prop_map(Value::Double),
            any::<bool>().prop_map(Value::Boolean),
        ];
        leaf.prop_recursive(4, 64, 12, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Set),
                proptest::collection::vec((inner.clone(), inner), 0..3).prop_map(Value::Map),
            ]
        })
    }

    fn texts(items: Vec<String>) -> Value {
        Value::Array(
            items
                .into_iter()
                .map(|text| Value::BulkString(text.into_bytes()))
                .collect(),
        )
    }

    proptest! {
        #[test]
        fn any_reply_is_decoded_or_refused_as_corrupt(reply in value()) {
            for outcome in [
                parse_snapshot(reply.clone()).map(drop),
                parse_sync(reply.clone()).map(drop),
                parse_admit(reply.clone()).map(drop),
                parse_enter(reply.clone()).map(drop),
            ] {
                if let Err(error) = outcome {
                    prop_assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
                }
            }
        }

        #[test]
        fn any_log_entry_is_decoded_or_refused(entry in text()) {
            let _ = decode_change(&entry);
            let _ = decode_stock(&entry);
        }

        #[test]
        fn a_snapshot_shaped_reply_is_decoded_or_refused(
            state in proptest::collection::vec(text(), 0..24),
            settings in text(),
            bitmaps in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 3),
            ready in proptest::collection::vec(text(), 0..6),
            sessions in proptest::collection::vec(text(), 0..6),
        ) {
            let mut items = vec![texts(state), Value::BulkString(settings.into_bytes())];
            items.extend(bitmaps.into_iter().map(Value::BulkString));
            items.push(texts(ready));
            items.push(texts(sessions));
            if let Err(error) = parse_snapshot(Value::Array(items)) {
                prop_assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
            }
        }

        #[test]
        fn a_sync_shaped_reply_is_decoded_or_refused(
            head in proptest::collection::vec(text(), 0..4),
            entries in proptest::collection::vec(text(), 0..8),
        ) {
            let mut items: Vec<Value> = texts(head).as_sequence().map(<[Value]>::to_vec).unwrap_or_default();
            items.push(texts(entries));
            if let Err(error) = parse_sync(Value::Array(items)) {
                prop_assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
            }
        }
    }
}
