//! A short-lived in-process cache of events' sale settings: every hold and seat-map request
//! needs them, and they change rarely (admin edits). Edits through this process apply at
//! once; edits through another reservation process apply within [`TTL`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::store::{EventSettings, ReservationStore, StoreError};

/// How long a cached entry is trusted.
pub const TTL: Duration = Duration::from_secs(1);

/// An event's settings (or their absence) and when they were read.
type Entry = (Instant, Option<EventSettings>);

/// Event settings by id, each with the time it was read.
#[derive(Debug, Clone, Default)]
pub struct EventsCache {
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl EventsCache {
    /// The event's settings, from the cache when fresh, else from `store`.
    pub async fn get(
        &self,
        store: &ReservationStore,
        event_id: &str,
    ) -> Result<Option<EventSettings>, StoreError> {
        if let Ok(entries) = self.entries.read()
            && let Some((read_at, settings)) = entries.get(event_id)
            && read_at.elapsed() < TTL
        {
            return Ok(settings.clone());
        }
        let settings = store.event(event_id).await?;
        if let Ok(mut entries) = self.entries.write() {
            // Bounded: ids are validated, but a stream of unknown ones must not grow it.
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(event_id.to_owned(), (Instant::now(), settings.clone()));
        }
        Ok(settings)
    }

    /// Forgets the event (after this process changed it).
    pub fn forget(&self, event_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(event_id);
        }
    }
}
