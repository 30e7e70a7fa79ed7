//! The seat map, rendered once per refresh and shared by every buyer who asks.
//!
//! Every buyer opens the seat map, and a venue's map is thousands of seats: rendering it
//! per request made it the backend's bottleneck (about 45 buyers/s through `serve`). A
//! rendered map is reused for [`FRESH_FOR`]; one request refreshes it while the others
//! wait for that one refresh (single flight). Availability is therefore at most that old —
//! a hold never relies on it: inventory claims seats atomically and answers 409 for a
//! seat taken meanwhile.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// How long a rendered map is served before it is rendered again.
pub const FRESH_FOR: Duration = Duration::from_millis(250);

/// Most events kept; a stream of unknown event ids must not grow the cache.
const MAX_EVENTS: usize = 10_000;

/// One event's rendered map and the lock that makes its refresh single-flight.
#[derive(Debug, Default)]
struct Slot {
    rendered: Mutex<Option<(Instant, Bytes)>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl Slot {
    fn fresh(&self) -> Option<Bytes> {
        let rendered = self.rendered.lock().ok()?;
        match &*rendered {
            Some((at, bytes)) if at.elapsed() < FRESH_FOR => Some(bytes.clone()),
            _ => None,
        }
    }
}

/// Rendered seat maps by event.
#[derive(Debug, Clone, Default)]
pub struct SeatMapCache {
    slots: Arc<Mutex<HashMap<String, Arc<Slot>>>>,
}

impl SeatMapCache {
    /// The event's rendered map: cached while fresh, else rendered by `render` (once,
    /// however many ask at the same moment).
    pub async fn get<E, F>(&self, event: &str, render: F) -> Result<Bytes, E>
    where
        F: Future<Output = Result<Bytes, E>>,
    {
        let slot = self.slot(event);
        if let Some(bytes) = slot.fresh() {
            return Ok(bytes);
        }
        let _refresh = slot.refreshing.lock().await;
        if let Some(bytes) = slot.fresh() {
            return Ok(bytes);
        }
        let bytes = render.await?;
        if let Ok(mut rendered) = slot.rendered.lock() {
            *rendered = Some((Instant::now(), bytes.clone()));
        }
        Ok(bytes)
    }

    fn slot(&self, event: &str) -> Arc<Slot> {
        let Ok(mut slots) = self.slots.lock() else {
            return Arc::default();
        };
        if slots.len() >= MAX_EVENTS && !slots.contains_key(event) {
            slots.clear();
        }
        slots.entry(event.to_owned()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_requests_share_one_render() {
        let cache = SeatMapCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        let (gate, opened) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let cache = cache.clone();
            let renders = renders.clone();
            tokio::spawn(async move {
                cache
                    .get("e", async move {
                        renders.fetch_add(1, Ordering::SeqCst);
                        let _ = opened.await;
                        Ok::<_, ()>(Bytes::from_static(b"map"))
                    })
                    .await
            })
        };
        // Wait until the first render has started, then ask again while it runs.
        while renders.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let cache = cache.clone();
            let renders = renders.clone();
            tokio::spawn(async move {
                cache
                    .get("e", async move {
                        renders.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, ()>(Bytes::from_static(b"other"))
                    })
                    .await
            })
        };
        let _ = gate.send(());
        assert_eq!(first.await.unwrap(), Ok(Bytes::from_static(b"map")));
        assert_eq!(second.await.unwrap(), Ok(Bytes::from_static(b"map")));
        assert_eq!(renders.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_render_is_not_cached() {
        let cache = SeatMapCache::default();
        let failed = cache.get("e", async { Err::<Bytes, _>("down") }).await;
        assert_eq!(failed, Err("down"));
        let rendered = cache
            .get("e", async { Ok::<_, &str>(Bytes::from_static(b"map")) })
            .await;
        assert_eq!(rendered, Ok(Bytes::from_static(b"map")));
    }
}
