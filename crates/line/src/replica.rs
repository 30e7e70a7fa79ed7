//! A gateway's in-memory copy of one line, answering status polls without the store.

use crate::deadlines::Deadlines;
use crate::{Bitset, LineChange, LineImage, LineSettings, Lineage, Lottery, RankIndex, StockLevel};

/// Where one buyer stands, as far as this replica knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// In line. `position` is 1-based among buyers still waiting (1 = next); it is `None`
    /// before the sale opens, when the lottery has not placed anyone yet.
    Waiting {
        /// 1-based place among those still waiting.
        position: Option<u64>,
        /// The store lost this number (a restart or flush); it must be reinstated from
        /// the buyer's token.
        recovering: bool,
    },
    /// Admitted: may enter until the deadline.
    Ready {
        /// Claim deadline, Unix ms.
        enter_by_ms: u64,
    },
    /// Entered the sale.
    Entered,
    /// Left, dropped out, or let the claim window pass.
    Expired,
}

/// Whether an entered buyer's session still holds a slot, as far as this replica knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Entered, and the session runs until this time (Unix ms).
    Active {
        /// When it ends by itself.
        ends_at_ms: u64,
    },
    /// Entered, and the session has ended: the buyer left, their order was confirmed, or
    /// it ran out.
    Ended,
    /// This replica has not seen the number enter (it entered through another gateway
    /// a moment ago, or never did).
    Unknown,
}

/// Head counts of a line, for statistics and pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineCounts {
    /// Buyers waiting (pre-queue included).
    pub waiting: u64,
    /// Admitted buyers whose claim window is still open.
    pub ready: u64,
    /// Entered buyers whose session still holds a slot.
    pub entered: u64,
    /// How many were ever admitted.
    pub admitted_total: u64,
    /// How many ever entered.
    pub entered_total: u64,
    /// How many ever joined (as far as this replica knows: after the store lost the line,
    /// those not back yet are not counted).
    pub joined_total: u64,
    /// How many left the line or dropped out before their turn.
    pub departed_total: u64,
}

/// The in-memory view of one line, fed by the store's change log.
///
/// Answers a buyer's standing and position in O(log n) with no I/O; everything here is
/// derived from a [`LineImage`] plus the changes applied since.
#[derive(Debug, Clone)]
pub struct LineReplica {
    settings: LineSettings,
    lineage: Lineage,
    lottery: Lottery,
    seq: u64,
    base: u64,
    opened: Option<u64>,
    /// Waiting buyers by queue number (pre-queue included).
    waiting: Bitset,
    /// Waiting buyers by line key, once the sale opened.
    index: RankIndex,
    out: Bitset,
    reinstated: Bitset,
    entered: Bitset,
    /// Admitted numbers by claim deadline.
    ready: Deadlines,
    /// Entered numbers holding a slot, by session end.
    sessions: Deadlines,
    admitted_total: u64,
    stock: Option<StockLevel>,
}

impl LineReplica {
    /// A replica holding `image`; `lottery` must be the event's lottery.
    pub fn from_image(image: LineImage, lottery: Lottery) -> Self {
        let mut replica = Self {
            settings: image.settings,
            lineage: image.lineage,
            lottery,
            seq: image.base,
            base: image.base,
            opened: image.opened,
            waiting: Bitset::new(),
            index: RankIndex::new(),
            out: image.out,
            reinstated: image.reinstated,
            entered: image.entered,
            ready: image.ready.into_iter().collect(),
            sessions: image.sessions.into_iter().collect(),
            admitted_total: image.admitted_total,
            stock: image.stock,
        };
        let reinstated: Vec<u64> = replica.reinstated.iter().collect();
        for number in reinstated {
            replica.add_waiting(number);
        }
        replica.advance_seq(image.seq);
        replica
    }

    /// The line's state to write into a store that lost it: queue numbers continue
    /// `gap` above every number this replica has seen (joins it has not seen yet are
    /// below that), and everyone waiting keeps their place explicitly.
    pub fn restore_image(&self, gap: u64) -> LineImage {
        let next = self.seq + gap;
        LineImage {
            settings: self.settings.clone(),
            lineage: self.lineage,
            seq: next,
            base: next,
            opened: self.opened,
            out: self.out.clone(),
            reinstated: self.waiting.clone(),
            entered: self.entered.clone(),
            ready: self.ready.iter().collect(),
            sessions: self.sessions.iter().collect(),
            admitted_total: self.admitted_total,
            stock: self.stock,
        }
    }

    /// The line's settings.
    pub fn settings(&self) -> &LineSettings {
        &self.settings
    }

    /// Which life of the event's line this is: tokens of another lineage are not this
    /// line's.
    pub fn lineage(&self) -> Lineage {
        self.lineage
    }

    /// The next queue number the store will hand out, as last seen.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether the sale opened (the pre-queue was placed).
    pub fn is_opened(&self) -> bool {
        self.opened.is_some()
    }

    /// Takes in joins: every number below `seq` was handed out.
    pub fn advance_seq(&mut self, seq: u64) {
        for number in self.seq.max(self.base)..seq {
            self.add_waiting(number);
        }
        self.seq = self.seq.max(seq);
    }

    /// How many were ever admitted, as last seen.
    pub fn admitted_total(&self) -> u64 {
        self.admitted_total
    }

    /// Records the store's count of admissions.
    pub fn set_admitted_total(&mut self, total: u64) {
        self.admitted_total = total;
    }

    /// Applies one change from the log.
    pub fn apply(&mut self, change: &LineChange) {
        match change {
            LineChange::Settings(settings) => self.settings = (**settings).clone(),
            LineChange::Admitted {
                deadline_ms,
                numbers,
            } => {
                for &number in numbers {
                    self.take_out(number);
                    self.ready.insert(number, *deadline_ms);
                }
            }
            LineChange::Left(number) => {
                self.take_out(*number);
                self.ready.remove(*number);
            }
            LineChange::Dropped(numbers) => {
                for &number in numbers {
                    self.take_out(number);
                }
            }
            LineChange::Entered {
                number,
                session_expires_ms,
            } => {
                self.take_out(*number);
                self.ready.remove(*number);
                self.entered.insert(*number);
                self.sessions.insert(*number, *session_expires_ms);
            }
            LineChange::Finished(number) => {
                self.sessions.remove(*number);
            }
            LineChange::Reinstated(numbers) => {
                for &number in numbers {
                    self.reinstated.insert(number);
                    self.add_waiting(number);
                }
            }
            LineChange::Opened { prequeue_size } => self.open(*prequeue_size),
            LineChange::Stock(level) => self.stock = Some(*level),
        }
    }

    /// The seats left, as last told by the ticketing backend (`None`: not yet asked).
    pub fn stock(&self) -> Option<StockLevel> {
        self.stock
    }

    /// Whether the event is sold out: nobody in line can buy any more.
    pub fn is_sold_out(&self) -> bool {
        self.stock.is_some_and(|level| level.sold_out)
    }

    /// Where `number` stands at `now_ms`.
    pub fn standing(&self, number: u64, now_ms: u64) -> Standing {
        if self.entered.contains(number) {
            return Standing::Entered;
        }
        if let Some(deadline) = self.ready.get(number) {
            return if now_ms <= deadline {
                Standing::Ready {
                    enter_by_ms: deadline,
                }
            } else {
                Standing::Expired
            };
        }
        if self.out.contains(number) {
            return Standing::Expired;
        }
        let position = self.position_of(number);
        if self.waiting.contains(number) || number >= self.seq {
            // At or past `seq`: joined a moment ago through another gateway.
            return Standing::Waiting {
                position,
                recovering: false,
            };
        }
        if number < self.base && !self.reinstated.contains(number) {
            return Standing::Waiting {
                position,
                recovering: true,
            };
        }
        Standing::Expired
    }

    /// Where `number`'s session stands at `now_ms`.
    pub fn session(&self, number: u64, now_ms: u64) -> Session {
        if !self.entered.contains(number) {
            return Session::Unknown;
        }
        match self.sessions.get(number) {
            Some(ends_at_ms) if ends_at_ms > now_ms => Session::Active { ends_at_ms },
            _ => Session::Ended,
        }
    }

    /// The first `max` waiting buyers' numbers, in line order (empty before opening).
    pub fn next_in_line(&self, max: usize) -> Vec<u64> {
        if self.opened.is_none() {
            return Vec::new();
        }
        self.index
            .iter()
            .take(max)
            .map(|key| self.number_of(key))
            .collect()
    }

    /// Waiting buyers below `below` with no heartbeat in `alive`.
    pub fn silent(&self, alive: &Bitset, below: u64) -> Vec<u64> {
        self.waiting.difference_below(alive, below).collect()
    }

    /// Head counts at `now_ms`.
    pub fn counts(&self, now_ms: u64) -> LineCounts {
        LineCounts {
            waiting: self.waiting.len(),
            ready: self.ready.count_from(now_ms),
            entered: self.sessions.count_from(now_ms + 1),
            admitted_total: self.admitted_total,
            entered_total: self.entered.len(),
            // Every number handed out is waiting or out (admitted, left, dropped).
            joined_total: self.waiting.len() + self.out.len(),
            departed_total: self.out.len().saturating_sub(self.admitted_total),
        }
    }

    /// Forgets claim windows and sessions that ended before `now_ms`; their buyers'
    /// standing stays as it was (expired or entered).
    pub fn prune(&mut self, now_ms: u64) {
        self.ready.remove_before(now_ms);
        self.sessions.remove_before(now_ms + 1);
    }

    fn open(&mut self, prequeue_size: u64) {
        if self.opened.is_some() {
            return;
        }
        self.opened = Some(prequeue_size);
        let waiting: Vec<u64> = self.waiting.iter().collect();
        for number in waiting {
            if let Some(key) = self.key_of(number) {
                self.index.insert(key);
            }
        }
    }

    fn position_of(&self, number: u64) -> Option<u64> {
        self.key_of(number).map(|key| self.index.rank(key) + 1)
    }

    fn key_of(&self, number: u64) -> Option<u64> {
        match self.opened {
            None => None,
            Some(size) if number < size => Some(self.lottery.place(number, size)),
            Some(_) => Some(number),
        }
    }

    fn number_of(&self, key: u64) -> u64 {
        match self.opened {
            Some(size) if key < size => self.lottery.number_at(key, size),
            _ => key,
        }
    }

    fn add_waiting(&mut self, number: u64) {
        if self.out.contains(number) || !self.waiting.insert(number) {
            return;
        }
        if let Some(key) = self.key_of(number) {
            self.index.insert(key);
        }
    }

    fn take_out(&mut self, number: u64) {
        self.out.insert(number);
        if self.waiting.remove(number)
            && let Some(key) = self.key_of(number)
        {
            self.index.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_line(seq: u64) -> LineReplica {
        let mut image = LineImage::empty(LineSettings::with_defaults("t", 0), Lineage::new(1));
        image.opened = Some(0);
        image.seq = seq;
        LineReplica::from_image(image, Lottery::new(7))
    }

    fn position(replica: &LineReplica, number: u64) -> Option<u64> {
        match replica.standing(number, 0) {
            Standing::Waiting { position, .. } => position,
            _ => None,
        }
    }

    #[test]
    fn positions_count_only_those_still_waiting_ahead() {
        let mut replica = open_line(5);
        assert_eq!(position(&replica, 4), Some(5));
        replica.apply(&LineChange::Left(1));
        replica.apply(&LineChange::Dropped(vec![2]));
        assert_eq!(position(&replica, 4), Some(3));
        replica.apply(&LineChange::Admitted {
            deadline_ms: 10,
            numbers: vec![0],
        });
        assert_eq!(position(&replica, 4), Some(2));
        assert_eq!(replica.standing(0, 5), Standing::Ready { enter_by_ms: 10 });
        assert_eq!(replica.standing(0, 11), Standing::Expired);
        assert_eq!(replica.standing(1, 0), Standing::Expired);
        assert_eq!(replica.next_in_line(10), vec![3, 4]);
    }

    #[test]
    fn a_session_ends_when_finished_or_run_out() {
        let mut replica = open_line(3);
        assert_eq!(replica.session(0, 0), Session::Unknown);
        replica.apply(&LineChange::Entered {
            number: 0,
            session_expires_ms: 100,
        });
        replica.apply(&LineChange::Entered {
            number: 1,
            session_expires_ms: 100,
        });
        assert_eq!(replica.session(0, 99), Session::Active { ends_at_ms: 100 });
        assert_eq!(replica.session(0, 100), Session::Ended);
        replica.apply(&LineChange::Finished(1));
        assert_eq!(replica.session(1, 0), Session::Ended);
    }

    #[test]
    fn a_number_not_seen_yet_is_behind_everyone() {
        let replica = open_line(3);
        assert_eq!(position(&replica, 9), Some(4));
    }

    #[test]
    fn restore_image_keeps_everyone_waiting_explicitly_above_a_gap() {
        let mut replica = open_line(4);
        replica.apply(&LineChange::Left(1));
        let image = replica.restore_image(100);
        assert_eq!((image.seq, image.base), (104, 104));
        assert_eq!(image.reinstated.iter().collect::<Vec<_>>(), vec![0, 2, 3]);
        let restored = LineReplica::from_image(image, Lottery::new(7));
        assert_eq!(position(&restored, 3), Some(3));
        assert_eq!(restored.standing(1, 0), Standing::Expired);
        assert_eq!(position(&restored, 104), Some(4));
    }

    #[test]
    fn numbers_the_store_lost_are_recovering_until_reinstated() {
        let mut image = LineImage::empty(LineSettings::with_defaults("t", 0), Lineage::new(1));
        image.opened = Some(0);
        image.seq = 50;
        image.base = 50;
        let mut replica = LineReplica::from_image(image, Lottery::new(7));
        assert_eq!(
            replica.standing(7, 0),
            Standing::Waiting {
                position: Some(1),
                recovering: true
            }
        );
        replica.apply(&LineChange::Reinstated(vec![7, 3]));
        assert_eq!(
            replica.standing(7, 0),
            Standing::Waiting {
                position: Some(2),
                recovering: false
            }
        );
    }

    #[test]
    fn opening_places_the_pre_queue_by_lottery_ahead_of_later_joins() {
        let mut image = LineImage::empty(LineSettings::with_defaults("t", 0), Lineage::new(1));
        image.seq = 20;
        let mut replica = LineReplica::from_image(image, Lottery::new(99));
        assert_eq!(position(&replica, 3), None);
        replica.apply(&LineChange::Opened { prequeue_size: 20 });
        replica.advance_seq(22);
        let mut places: Vec<u64> = (0..20).filter_map(|n| position(&replica, n)).collect();
        assert_ne!(places, (1..=20).collect::<Vec<_>>(), "arrival order kept");
        places.sort_unstable();
        assert_eq!(places, (1..=20).collect::<Vec<_>>());
        assert_eq!(position(&replica, 20), Some(21));
        assert_eq!(position(&replica, 21), Some(22));
        let first = replica.next_in_line(1)[0];
        assert_eq!(position(&replica, first), Some(1));
    }
}
