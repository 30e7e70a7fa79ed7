//! The change log's text form, as the Lua scripts write it: `<tag>|<fields>`.
//!
//! `S|<json>` settings, `A|<deadline>|n,n,…` admitted, `L|n` left, `D|n,n,…` dropped,
//! `E|n|<session end>` entered, `F|n` finished, `R|n,n,…` reinstated, `O|<size>` opened,
//! `K|<seats left>|<sold out 1/0>` stock.

use breakwater_line::{LineChange, LineSettings, StockLevel};
use breakwater_line_store::StoreError;

/// Reads one log entry.
pub(crate) fn decode_change(text: &str) -> Result<LineChange, StoreError> {
    let bad = || StoreError::Corrupt(format!("unreadable log entry {text:?}"));
    let (tag, rest) = text.split_once('|').ok_or_else(bad)?;
    let change = match tag {
        "S" => {
            let settings: LineSettings = serde_json::from_str(rest).map_err(|_| bad())?;
            LineChange::Settings(Box::new(settings))
        }
        "A" => {
            let (deadline, numbers) = rest.split_once('|').ok_or_else(bad)?;
            LineChange::Admitted {
                deadline_ms: number(deadline).ok_or_else(bad)?,
                numbers: numbers_list(numbers).ok_or_else(bad)?,
            }
        }
        "L" => LineChange::Left(number(rest).ok_or_else(bad)?),
        "D" => LineChange::Dropped(numbers_list(rest).ok_or_else(bad)?),
        "E" => {
            let (n, expires) = rest.split_once('|').ok_or_else(bad)?;
            LineChange::Entered {
                number: number(n).ok_or_else(bad)?,
                session_expires_ms: number(expires).ok_or_else(bad)?,
            }
        }
        "F" => LineChange::Finished(number(rest).ok_or_else(bad)?),
        "R" => LineChange::Reinstated(numbers_list(rest).ok_or_else(bad)?),
        "O" => LineChange::Opened {
            prequeue_size: number(rest).ok_or_else(bad)?,
        },
        "K" => LineChange::Stock(decode_stock(rest).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    Ok(change)
}

/// The stock as the state hash's `stk` field and the log write it: `<seats left>|<0|1>`.
pub(crate) fn decode_stock(text: &str) -> Option<StockLevel> {
    let (seats_left, sold_out) = text.split_once('|')?;
    Some(StockLevel {
        seats_left: number(seats_left)?,
        sold_out: match sold_out {
            "1" => true,
            "0" => false,
            _ => return None,
        },
    })
}

/// A non-negative integer as Lua prints it (Lua 5.1 prints doubles, so `12.0` or
/// `1.5e+12` style never appears for integers below 10^14, which is all we store).
pub(crate) fn number(text: &str) -> Option<u64> {
    text.parse().ok()
}

fn numbers_list(text: &str) -> Option<Vec<u64>> {
    text.split(',').map(number).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_entry() {
        assert_eq!(
            decode_change("A|1700|3,5,8").unwrap(),
            LineChange::Admitted {
                deadline_ms: 1700,
                numbers: vec![3, 5, 8]
            }
        );
        assert_eq!(decode_change("L|4").unwrap(), LineChange::Left(4));
        assert_eq!(
            decode_change("E|4|99").unwrap(),
            LineChange::Entered {
                number: 4,
                session_expires_ms: 99
            }
        );
        assert_eq!(
            decode_change("O|12").unwrap(),
            LineChange::Opened { prequeue_size: 12 }
        );
        assert_eq!(
            decode_change("K|500|0").unwrap(),
            LineChange::Stock(StockLevel {
                seats_left: 500,
                sold_out: false
            })
        );
        assert!(decode_change("K|0|2").is_err());
        assert!(decode_change("X|1").is_err());
        assert!(decode_change("A|1|x").is_err());
    }
}
