//! Venues: the seat map an event is sold from, as the admin describes it and as validated.

use serde::{Deserialize, Serialize};

use crate::ids::{SeatRef, row_id, section_id};

/// Most sections a venue may have.
pub const MAX_SECTIONS: usize = 100;
/// Most rows in a section and seats in a row.
pub const MAX_ROWS: u32 = 1_000;
/// Most seats in one row.
pub const MAX_SEATS_PER_ROW: u32 = 1_000;
/// Most tickets (seats and general-admission units) in one venue.
pub const MAX_UNITS: u64 = 200_000;
/// Highest ticket price accepted, in minor units (ten million major units).
pub const MAX_PRICE_CENTS: i64 = 1_000_000_000;

/// A venue as the admin API receives it: `{sections: [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueSpec {
    /// The sections, in the order they are shown.
    pub sections: Vec<SectionSpec>,
}

/// One section as received: numbered (`rows` × `seats_per_row`) or general admission
/// (`capacity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// Display name.
    pub name: String,
    /// Price of one ticket in minor units.
    pub price_cents: i64,
    /// Number of rows (numbered sections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    /// Seats in each row (numbered sections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats_per_row: Option<u32>,
    /// Tickets in stock (general-admission sections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

/// Why a venue description was refused; each names the offending section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueError {
    /// No sections, or too many.
    #[error("a venue needs 1 to {MAX_SECTIONS} sections")]
    SectionCount,
    /// A name that is empty or too long.
    #[error("section {0}: name must be 1 to 100 characters")]
    Name(usize),
    /// A negative or absurd price.
    #[error("section {0}: price_cents must be between 0 and {MAX_PRICE_CENTS}")]
    Price(usize),
    /// Neither or both layouts, or a zero / too large size.
    #[error(
        "section {0}: give either rows and seats_per_row (1 to {MAX_ROWS} each) or capacity (at least 1)"
    )]
    Layout(usize),
    /// The whole venue is too large.
    #[error("a venue may have at most {MAX_UNITS} tickets")]
    TooLarge,
}

/// A validated venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue {
    /// Sections in venue order.
    pub sections: Vec<Section>,
}

/// A validated section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `s<index>`.
    pub id: String,
    /// 1-based position in the venue.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// Price of one ticket in minor units.
    pub price_cents: i64,
    /// Preference order for best-available: 0 is the best (priciest, then first listed).
    pub rank: u32,
    /// Numbered or general admission.
    pub layout: Layout,
}

/// How a section's tickets are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Numbered seats in rows, row 1 at the front.
    Seated {
        /// Number of rows.
        rows: u32,
        /// Seats in each row.
        seats_per_row: u32,
    },
    /// Unnumbered stock.
    GeneralAdmission {
        /// Tickets in stock.
        capacity: u32,
    },
}

/// One sellable ticket of a venue: a seat or a general-admission unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The seat id.
    pub seat_id: String,
    /// The section id.
    pub section_id: String,
    /// The section's best-available rank.
    pub section_rank: u32,
    /// Row (1-based); 0 for general admission.
    pub row: u32,
    /// Seat number in the row, or unit number for general admission.
    pub number: u32,
    /// Seats in the row (0 for general admission), for centring.
    pub row_length: u32,
    /// Price in minor units.
    pub price_cents: i64,
}

impl VenueSpec {
    /// Checks the description and assigns ids and best-available ranks.
    pub fn validate(&self) -> Result<Venue, VenueError> {
        if self.sections.is_empty() || self.sections.len() > MAX_SECTIONS {
            return Err(VenueError::SectionCount);
        }
        let mut sections = Vec::with_capacity(self.sections.len());
        let mut units: u64 = 0;
        for (position, spec) in self.sections.iter().enumerate() {
            let section = spec.validate(position)?;
            units += section.layout.units();
            sections.push(section);
        }
        if units > MAX_UNITS {
            return Err(VenueError::TooLarge);
        }
        assign_ranks(&mut sections);
        Ok(Venue { sections })
    }
}

impl SectionSpec {
    fn validate(&self, position: usize) -> Result<Section, VenueError> {
        let number = position + 1;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(VenueError::Name(number));
        }
        if !(0..=MAX_PRICE_CENTS).contains(&self.price_cents) {
            return Err(VenueError::Price(number));
        }
        let layout = match (self.rows, self.seats_per_row, self.capacity) {
            (Some(rows), Some(seats_per_row), None)
                if (1..=MAX_ROWS).contains(&rows)
                    && (1..=MAX_SEATS_PER_ROW).contains(&seats_per_row) =>
            {
                Layout::Seated {
                    rows,
                    seats_per_row,
                }
            }
            (None, None, Some(capacity)) if capacity >= 1 && u64::from(capacity) <= MAX_UNITS => {
                Layout::GeneralAdmission { capacity }
            }
            _ => return Err(VenueError::Layout(number)),
        };
        let index = u32::try_from(number).map_err(|_| VenueError::SectionCount)?;
        Ok(Section {
            id: section_id(index),
            index,
            name: name.to_owned(),
            price_cents: self.price_cents,
            rank: 0,
            layout,
        })
    }
}

/// Best-available prefers the priciest tier (the best seats), then venue order.
fn assign_ranks(sections: &mut [Section]) {
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(sections[i].price_cents), i));
    for (rank, i) in order.into_iter().enumerate() {
        sections[i].rank = u32::try_from(rank).unwrap_or(u32::MAX);
    }
}

impl Layout {
    /// Number of tickets in a section of this layout.
    pub fn units(&self) -> u64 {
        match *self {
            Self::Seated {
                rows,
                seats_per_row,
            } => u64::from(rows) * u64::from(seats_per_row),
            Self::GeneralAdmission { capacity } => u64::from(capacity),
        }
    }
}

impl Venue {
    /// Total tickets in the venue.
    pub fn total_units(&self) -> u64 {
        self.sections.iter().map(|s| s.layout.units()).sum()
    }

    /// Every ticket of the venue, section by section, front row first.
    pub fn units(&self) -> impl Iterator<Item = Unit> + '_ {
        self.sections.iter().flat_map(Section::units)
    }
}

impl Section {
    /// Whether this is a general-admission section.
    pub fn is_general_admission(&self) -> bool {
        matches!(self.layout, Layout::GeneralAdmission { .. })
    }

    /// The section's tickets, front row first.
    pub fn units(&self) -> Box<dyn Iterator<Item = Unit> + '_> {
        match self.layout {
            Layout::Seated {
                rows,
                seats_per_row,
            } => Box::new((1..=rows).flat_map(move |row| {
                (1..=seats_per_row).map(move |number| {
                    self.unit(
                        SeatRef::Seated {
                            section: self.index,
                            row,
                            number,
                        },
                        row,
                        number,
                        seats_per_row,
                    )
                })
            })),
            Layout::GeneralAdmission { capacity } => Box::new((1..=capacity).map(move |unit| {
                self.unit(
                    SeatRef::GeneralAdmission {
                        section: self.index,
                        unit,
                    },
                    0,
                    unit,
                    0,
                )
            })),
        }
    }

    /// The id of row `row` of this section.
    pub fn row_id(&self, row: u32) -> String {
        row_id(self.index, row)
    }

    fn unit(&self, seat: SeatRef, row: u32, number: u32, row_length: u32) -> Unit {
        Unit {
            seat_id: seat.to_string(),
            section_id: self.id.clone(),
            section_rank: self.rank,
            row,
            number,
            row_length,
            price_cents: self.price_cents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seated(name: &str, price_cents: i64, rows: u32, seats_per_row: u32) -> SectionSpec {
        SectionSpec {
            name: name.into(),
            price_cents,
            rows: Some(rows),
            seats_per_row: Some(seats_per_row),
            capacity: None,
        }
    }

    fn general(name: &str, price_cents: i64, capacity: u32) -> SectionSpec {
        SectionSpec {
            name: name.into(),
            price_cents,
            rows: None,
            seats_per_row: None,
            capacity: Some(capacity),
        }
    }

    #[test]
    fn a_mixed_venue_validates_and_ranks_by_price() {
        let venue = VenueSpec {
            sections: vec![
                seated("Stalls", 5_000, 2, 3),
                seated("Front", 9_000, 1, 4),
                general("Floor", 5_000, 10),
            ],
        }
        .validate()
        .unwrap();
        let ranks: Vec<u32> = venue.sections.iter().map(|s| s.rank).collect();
        assert_eq!(ranks, vec![1, 0, 2]);
        assert_eq!(venue.total_units(), 20);
        let ids: Vec<String> = venue.units().map(|u| u.seat_id).take(4).collect();
        assert_eq!(ids, vec!["s1-r1-1", "s1-r1-2", "s1-r1-3", "s1-r2-1"]);
        assert_eq!(venue.units().last().unwrap().seat_id, "s3-ga-10");
    }

    #[test]
    fn bad_sections_are_named() {
        let cases = [
            (seated("", 1, 1, 1), VenueError::Name(1)),
            (seated("A", -1, 1, 1), VenueError::Price(1)),
            (seated("A", 1, 0, 1), VenueError::Layout(1)),
            (general("A", 1, 0), VenueError::Layout(1)),
            (
                SectionSpec {
                    capacity: Some(3),
                    ..seated("A", 1, 1, 1)
                },
                VenueError::Layout(1),
            ),
        ];
        for (section, error) in cases {
            let spec = VenueSpec {
                sections: vec![section],
            };
            assert_eq!(spec.validate(), Err(error));
        }
        assert_eq!(
            VenueSpec { sections: vec![] }.validate(),
            Err(VenueError::SectionCount)
        );
    }

    #[test]
    fn huge_venues_are_refused() {
        let spec = VenueSpec {
            sections: vec![seated("A", 1, 1_000, 1_000)],
        };
        assert_eq!(spec.validate(), Err(VenueError::TooLarge));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed: Result<VenueSpec, _> = serde_json::from_str(
            r#"{"sections":[{"name":"A","price_cents":1,"capacity":1,"x":1}]}"#,
        );
        assert!(parsed.is_err());
    }
}
