//! The embedded store's file: what must survive a restart of `breakwater serve`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use breakwater_line::{EventId, LineSettings};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// What is kept of one line across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct LineRecord {
    pub settings: LineSettings,
    /// Every queue number ever handed out is below this.
    pub reserved_seq: u64,
    /// The pre-queue size, once the sale opened.
    pub opened: Option<u64>,
    pub admitted_total: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileContents {
    version: u32,
    events: BTreeMap<EventId, LineRecord>,
}

const VERSION: u32 = 1;

/// A JSON file replaced atomically (write, fsync, rename) on every save.
pub(super) struct DurableFile {
    path: PathBuf,
}

impl DurableFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn load(&self) -> Result<BTreeMap<EventId, LineRecord>, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BTreeMap::new());
            }
            Err(error) => return Err(io_error(&self.path, error)),
        };
        let contents: FileContents = serde_json::from_str(&text)
            .map_err(|error| StoreError::Corrupt(format!("{}: {error}", self.path.display())))?;
        if contents.version != VERSION {
            return Err(StoreError::Corrupt(format!(
                "{}: unknown version {}",
                self.path.display(),
                contents.version
            )));
        }
        Ok(contents.events)
    }

    pub fn save<'a>(
        &self,
        records: impl Iterator<Item = (&'a EventId, LineRecord)>,
    ) -> Result<(), StoreError> {
        let contents = FileContents {
            version: VERSION,
            events: records.map(|(id, record)| (id.clone(), record)).collect(),
        };
        let text = serde_json::to_vec_pretty(&contents)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let temporary = self.path.with_extension("tmp");
        write_synced(&temporary, &text).map_err(|error| io_error(&temporary, error))?;
        std::fs::rename(&temporary, &self.path).map_err(|error| io_error(&self.path, error))
    }
}

fn write_synced(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn io_error(path: &std::path::Path, error: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{}: {error}", path.display()))
}
