//! Telling the line what the ticketing backend has left: the gateway that runs an event's
//! pacer asks the backend's sales figures about once a second while buyers are in line,
//! and the waiting room passes a changed level on to every gateway through its store.

use std::time::Duration;

use breakwater_line::EventId;
use breakwater_waitroom::WaitroomError;
use tokio_util::sync::CancellationToken;

use crate::{BackendError, GatewayState};

/// Why the seats left could not be passed on (the next look tries again).
#[derive(Debug, thiserror::Error)]
enum StockError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Waitroom(#[from] WaitroomError),
    #[error("the sales figures have no {0}")]
    Unreadable(&'static str),
}

/// How often the loop looks for events due to be asked (each is asked at most at the
/// waiting room's `stock_interval`).
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// Runs the stock watch until `shutdown`; does nothing without a backend.
pub(crate) fn spawn_stock_watch(state: GatewayState, shutdown: CancellationToken) {
    if state.backend.is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(LOOK_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            for event in state.room.stock_due() {
                if let Err(error) = ask(&state, &event).await {
                    tracing::debug!(%error, event = %event, "could not learn the seats left");
                }
            }
        }
    });
}

/// Asks the backend about one event and tells the line.
async fn ask(state: &GatewayState, event: &EventId) -> Result<(), StockError> {
    let Some(backend) = &state.backend else {
        return Ok(());
    };
    let sales = backend.sales(event.as_str()).await?;
    let count = |field: &'static str| sales[field].as_u64().ok_or(StockError::Unreadable(field));
    state
        .room
        .observe_stock(event, count("available")?, count("held")?)
        .await?;
    Ok(())
}
