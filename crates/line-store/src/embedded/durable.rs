//! The embedded store's files: what must survive a restart (or `kill -9`) of
//! `breakwater serve`.
//!
//! Two files: a snapshot of every line (JSON, replaced atomically: write, fsync, rename)
//! and a journal appended to on every change after it (one JSON line per entry, written
//! before the operation answers). Opening replays the journal over the snapshot, then
//! writes a fresh snapshot and starts a new journal generation; so does a journal grown past
//! [`COMPACT_AFTER_BYTES`]. Appends are not fsynced: what a call answered survives the
//! process dying, not the machine losing power mid-sale.
//!
//! Waiting buyers are not written down: after a restart they come back with their signed
//! line tokens (numbers continue above every number ever handed out). What each number
//! *became* — admitted, entered, left, dropped, forfeited — is kept, so nobody who entered
//! or left gets a place again.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use breakwater_line::{Bitset, EventId, LineChange, LineSettings, Lineage, StockLevel};
use serde::{Deserialize, Serialize};

use super::state::LineState;
use crate::StoreError;

/// A journal larger than this is folded into a new snapshot.
const COMPACT_AFTER_BYTES: u64 = 32 << 20;

/// What is kept of one line: its state and the queue-number high-water mark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct LineRecord {
    settings: LineSettings,
    /// Files written before lineages existed get a fresh one.
    #[serde(default = "random_lineage")]
    lineage: Lineage,
    /// Every queue number ever handed out is below this.
    reserved_seq: u64,
    opened: Option<u64>,
    admitted_total: u64,
    #[serde(default)]
    out: StoredBits,
    #[serde(default)]
    entered: StoredBits,
    #[serde(default)]
    ready: Vec<(u64, u64)>,
    #[serde(default)]
    sessions: Vec<(u64, u64)>,
    #[serde(default)]
    stock: Option<StockLevel>,
}

fn random_lineage() -> Lineage {
    Lineage::new(rand::random())
}

impl LineRecord {
    /// The record of `state` with numbers reserved below `reserved_seq`.
    pub fn of(state: &LineState, reserved_seq: u64) -> Self {
        Self {
            settings: state.settings.clone(),
            lineage: state.lineage,
            reserved_seq,
            opened: state.opened,
            admitted_total: state.admitted_total,
            out: StoredBits::of(&state.out),
            entered: StoredBits::of(&state.entered),
            ready: state.ready.iter().collect(),
            sessions: state.sessions.iter().collect(),
            stock: state.stock,
        }
    }

    /// The state kept, and the queue-number high-water mark. Reinstatements are not
    /// kept: after a restart every waiting buyer is reinstated from their token alike.
    fn into_state(self) -> Result<(LineState, u64), StoreError> {
        let mut state = LineState::new(self.settings, self.lineage);
        state.opened = self.opened;
        state.admitted_total = self.admitted_total;
        state.out = self.out.decode()?;
        state.entered = self.entered.decode()?;
        state.ready = self.ready.into_iter().collect();
        state.sessions = self.sessions.into_iter().collect();
        state.stock = self.stock;
        Ok((state, self.reserved_seq))
    }
}

/// A set of numbers as Redis bitmap bytes from a byte offset, base64-encoded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredBits {
    offset: u64,
    bytes: String,
}

impl StoredBits {
    fn of(set: &Bitset) -> Self {
        let (offset, bytes) = set.to_redis_bytes().unwrap_or_default();
        Self {
            offset,
            bytes: STANDARD.encode(bytes),
        }
    }

    fn decode(&self) -> Result<Bitset, StoreError> {
        let bytes = STANDARD
            .decode(&self.bytes)
            .map_err(|error| StoreError::Corrupt(format!("a stored bitmap: {error}")))?;
        let mut set = Bitset::new();
        set.or_redis_bytes(self.offset, &bytes);
        Ok(set)
    }
}

/// One journal entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Entry {
    /// A line created or restored, whole.
    Line(Box<LineRecord>),
    /// A change to the line, as logged.
    Change(LineChange),
    /// Queue numbers handed out up to here.
    Reserved(u64),
}

/// A journal line: an entry of one event.
#[derive(Debug, Serialize, Deserialize)]
struct JournalLine<'a> {
    event: std::borrow::Cow<'a, EventId>,
    entry: std::borrow::Cow<'a, Entry>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SnapshotFile {
    version: u32,
    /// The journal generation that continues this snapshot (absent: version 1, none).
    #[serde(default)]
    generation: u64,
    events: BTreeMap<EventId, LineRecord>,
}

/// Version 1 kept only counters; version 2 keeps each line's state and has a journal.
const VERSION: u32 = 2;

/// A line as recovered from the files.
pub(super) struct Recovered {
    pub state: LineState,
    pub reserved_seq: u64,
}

/// The snapshot file and the journal after it.
pub(super) struct DurableFiles {
    path: PathBuf,
    generation: u64,
    journal: File,
    journal_bytes: u64,
}

impl DurableFiles {
    /// Opens the files at `path` (created if missing): the lines as they were, replayed
    /// from the snapshot and the journal, then folded into a fresh snapshot.
    pub fn open(path: PathBuf) -> Result<(Self, BTreeMap<EventId, Recovered>), StoreError> {
        let snapshot = read_snapshot(&path)?;
        let generation = snapshot.generation;
        let mut lines = BTreeMap::new();
        for (id, record) in snapshot.events {
            lines.insert(id, recovered(record)?);
        }
        let journal_path = journal_path(&path, generation);
        if snapshot.version >= VERSION {
            replay(&journal_path, &mut lines)?;
        }
        let journal = open_journal(&journal_path)?;
        let mut files = Self {
            path,
            generation,
            journal,
            journal_bytes: 0,
        };
        files.compact(
            lines
                .iter()
                .map(|(id, line)| (id, LineRecord::of(&line.state, line.reserved_seq))),
        )?;
        Ok((files, lines))
    }

    /// Appends one event's entries (one write).
    pub fn append(&mut self, event: &EventId, entries: &[Entry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for entry in entries {
            let line = JournalLine {
                event: std::borrow::Cow::Borrowed(event),
                entry: std::borrow::Cow::Borrowed(entry),
            };
            serde_json::to_writer(&mut text, &line)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
            text.push(b'\n');
        }
        let journal = journal_path(&self.path, self.generation);
        self.journal
            .write_all(&text)
            .map_err(|error| io_error(&journal, error))?;
        self.journal_bytes += text.len() as u64;
        Ok(())
    }

    /// Whether the journal has grown enough to fold into a snapshot.
    pub fn wants_compaction(&self) -> bool {
        self.journal_bytes > COMPACT_AFTER_BYTES
    }

    /// Writes `records` as the new snapshot and starts an empty journal after it.
    pub fn compact<'a>(
        &mut self,
        records: impl Iterator<Item = (&'a EventId, LineRecord)>,
    ) -> Result<(), StoreError> {
        let next = self.generation + 1;
        let contents = SnapshotFile {
            version: VERSION,
            generation: next,
            events: records.map(|(id, record)| (id.clone(), record)).collect(),
        };
        let text = serde_json::to_vec(&contents)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let journal = open_journal(&journal_path(&self.path, next))?;
        let temporary = self.path.with_extension("tmp");
        write_synced(&temporary, &text).map_err(|error| io_error(&temporary, error))?;
        std::fs::rename(&temporary, &self.path).map_err(|error| io_error(&self.path, error))?;
        // The snapshot names the new generation now; the old journal is folded in.
        let old = journal_path(&self.path, self.generation);
        if let Err(error) = std::fs::remove_file(&old)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, path = %old.display(), "could not remove a folded journal");
        }
        self.generation = next;
        self.journal = journal;
        self.journal_bytes = 0;
        Ok(())
    }
}

fn recovered(record: LineRecord) -> Result<Recovered, StoreError> {
    let (state, reserved_seq) = record.into_state()?;
    Ok(Recovered {
        state,
        reserved_seq,
    })
}

fn read_snapshot(path: &Path) -> Result<SnapshotFile, StoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(SnapshotFile {
                version: VERSION,
                ..SnapshotFile::default()
            });
        }
        Err(error) => return Err(io_error(path, error)),
    };
    let contents: SnapshotFile = serde_json::from_str(&text)
        .map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display())))?;
    if contents.version == 0 || contents.version > VERSION {
        return Err(StoreError::Corrupt(format!(
            "{}: unknown version {}",
            path.display(),
            contents.version
        )));
    }
    Ok(contents)
}

/// Applies the journal's entries in order. A last line cut short (the process died while
/// writing it) was never answered, so it is dropped; any other unreadable line is an error.
fn replay(path: &Path, lines: &mut BTreeMap<EventId, Recovered>) -> Result<(), StoreError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error(path, error)),
    };
    let complete = text.last().is_none_or(|&last| last == b'\n');
    let rows: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|row| !row.is_empty())
        .collect();
    for (index, row) in rows.iter().enumerate() {
        let line: JournalLine<'static> = match serde_json::from_slice(row) {
            Ok(line) => line,
            Err(_) if index + 1 == rows.len() && !complete => {
                tracing::warn!(path = %path.display(), "dropping a journal entry cut short");
                break;
            }
            Err(error) => {
                return Err(StoreError::Corrupt(format!(
                    "{} entry {}: {error}",
                    path.display(),
                    index + 1
                )));
            }
        };
        apply_entry(lines, line.event.into_owned(), line.entry.into_owned())?;
    }
    Ok(())
}

fn apply_entry(
    lines: &mut BTreeMap<EventId, Recovered>,
    event: EventId,
    entry: Entry,
) -> Result<(), StoreError> {
    match entry {
        Entry::Line(record) => {
            lines.insert(event, recovered(*record)?);
        }
        Entry::Change(change) => {
            if let Some(line) = lines.get_mut(&event) {
                line.state.apply(&change);
            }
        }
        Entry::Reserved(seq) => {
            if let Some(line) = lines.get_mut(&event) {
                line.reserved_seq = line.reserved_seq.max(seq);
            }
        }
    }
    Ok(())
}

fn journal_path(path: &Path, generation: u64) -> PathBuf {
    path.with_extension(format!("journal-{generation}"))
}

fn open_journal(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| io_error(path, error))
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn io_error(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{}: {error}", path.display()))
}
