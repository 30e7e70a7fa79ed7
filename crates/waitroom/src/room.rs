//! The waiting room's public face: join, status, enter, leave, and the operator's calls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use breakwater_line::{
    Clock, EventId, EventState, LineChange, LineReplica, LineSettings, Lottery, Session, Standing,
    StockLevel, advise,
};
use breakwater_line_store::{EnterOutcome, Epoch, LineStore, StoreError};
use breakwater_tokens::{AccessToken, JoinChallenge, LineToken, TokenError, TokenKeys};
use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;

use crate::joins::JoinFailure;
use crate::line::{Line, ReplicaView};
use crate::proofs::{SpentProofs, required_bits};
use crate::{
    Admission, EventView, Joined, LineStats, QueueState, QueueStatus, WaitroomConfig, WaitroomError,
};

/// The waiting room of one gateway: every event's line, kept in step with the store.
///
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Waitroom {
    engine: Arc<Engine>,
}

/// What every part of the engine shares.
pub(crate) struct Engine {
    pub store: Arc<dyn LineStore>,
    pub keys: TokenKeys,
    pub clock: Arc<dyn Clock>,
    pub config: WaitroomConfig,
    pub lines: RwLock<HashMap<EventId, Arc<Line>>>,
    pub spent_proofs: SpentProofs,
}

impl Engine {
    pub(crate) fn lottery_for(&self, id: &EventId) -> Lottery {
        Lottery::new(self.keys.derive_seed(&format!("lottery:{id}")))
    }

    fn line(&self, id: &EventId) -> Result<Arc<Line>, WaitroomError> {
        self.lines
            .read()
            .get(id)
            .cloned()
            .ok_or(WaitroomError::UnknownEvent)
    }

    /// The proof-of-work bits `line` asks now: the operator's `base`, raised by a flood.
    fn proof_bits(&self, line: &Line, base: u8, now_ms: u64) -> u8 {
        let rate = line.join_meter.rate(now_ms);
        required_bits(base, rate, self.config.proof_flood_joins_per_second)
    }

    fn all_lines(&self) -> Vec<Arc<Line>> {
        self.lines.read().values().cloned().collect()
    }
}

impl Waitroom {
    /// A waiting room on `store`, with every event the store knows loaded (events it
    /// cannot load now are picked up by the background discovery).
    pub async fn new(
        store: Arc<dyn LineStore>,
        keys: TokenKeys,
        clock: Arc<dyn Clock>,
        config: WaitroomConfig,
    ) -> Self {
        let engine = Arc::new(Engine {
            store,
            keys,
            clock,
            config,
            lines: RwLock::new(HashMap::new()),
            spent_proofs: SpentProofs::default(),
        });
        if let Err(error) = engine.discover().await {
            tracing::warn!(%error, "could not load events from the line store yet");
        }
        Self { engine }
    }

    /// Starts the background loops (sync, heartbeat flush, pacer, discovery); they stop
    /// when `shutdown` is cancelled.
    pub fn spawn_background(&self, shutdown: CancellationToken) {
        let config = &self.engine.config;
        self.spawn_loop(shutdown.clone(), config.sync_interval, |room| async move {
            room.sync_all().await
        });
        self.spawn_loop(
            shutdown.clone(),
            config.heartbeat_flush_interval,
            |room| async move { room.flush_heartbeats().await },
        );
        self.spawn_loop(shutdown.clone(), config.pacer_interval, |room| async move {
            room.pace_all().await
        });
        self.spawn_loop(shutdown, config.discovery_interval, |room| async move {
            room.discover().await
        });
    }

    fn spawn_loop<F, Fut>(&self, shutdown: CancellationToken, every: Duration, step: F)
    where
        F: Fn(Waitroom) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
    {
        let room = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticker.tick() => {}
                }
                match step(room.clone()).await {
                    Ok(()) if failing => {
                        tracing::info!("line store reachable again");
                        failing = false;
                    }
                    Ok(()) => {}
                    Err(error) if !failing => {
                        tracing::warn!(%error, "background step failed; retrying");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
    }

    /// Syncs every line's replica once.
    pub async fn sync_all(&self) -> Result<(), StoreError> {
        self.for_each_line(|engine, line| async move { engine.sync_line(&line).await })
            .await
    }

    /// Writes every line's pending heartbeats and reinstatements once.
    pub async fn flush_heartbeats(&self) -> Result<(), StoreError> {
        self.for_each_line(|engine, line| async move { engine.flush_line(&line).await })
            .await
    }

    /// Runs one pacer step for every line.
    pub async fn pace_all(&self) -> Result<(), StoreError> {
        self.for_each_line(|engine, line| async move { engine.pace_line(&line).await })
            .await
    }

    /// Loads events created through other gateways.
    pub async fn discover(&self) -> Result<(), StoreError> {
        self.engine.discover().await
    }

    async fn for_each_line<F, Fut>(&self, step: F) -> Result<(), StoreError>
    where
        F: Fn(Arc<Engine>, Arc<Line>) -> Fut,
        Fut: std::future::Future<Output = Result<(), StoreError>>,
    {
        let mut first_error = None;
        for line in self.engine.all_lines() {
            if let Err(error) = step(self.engine.clone(), line).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Joins `event`'s line: hands out a queue number and its signed token.
    pub async fn join(&self, event: &EventId) -> Result<Joined, WaitroomError> {
        self.join_with_proof(event, None).await
    }

    /// A puzzle whose answer lets one buyer join `event`, at the event's difficulty.
    pub fn join_challenge(&self, event: &EventId) -> Result<JoinChallenge, WaitroomError> {
        let line = self.engine.line(event)?;
        let now = self.engine.clock.now_ms();
        let base = line.view.read().replica.settings().join_proof_bits;
        let bits = self.engine.proof_bits(&line, base, now);
        Ok(self.engine.keys.issue_challenge(event.as_str(), bits, now))
    }

    /// Joins as [`Waitroom::join`], with the proof of work the event may ask for; each
    /// proof joins once.
    pub async fn join_with_proof(
        &self,
        event: &EventId,
        proof: Option<&str>,
    ) -> Result<Joined, WaitroomError> {
        let line = self.engine.line(event)?;
        let now = self.engine.clock.now_ms();
        let (required_bits, floor) = {
            let view = line.view.read();
            self.check_fresh(view.synced_at_ms, now)?;
            if view.replica.settings().closed {
                return Err(WaitroomError::Closed);
            }
            if view.replica.is_sold_out() {
                return Err(WaitroomError::SoldOut);
            }
            (view.replica.settings().join_proof_bits, view.replica.seq())
        };
        if required_bits > 0 {
            let required_bits = self.engine.proof_bits(&line, required_bits, now);
            self.spend_proof(event, proof, required_bits, now)?;
        }
        line.join_meter.record(now);
        let number = line
            .joins
            .number(floor)
            .await
            .map_err(|failure| match failure {
                JoinFailure::Overloaded => WaitroomError::Overloaded {
                    retry_after_seconds: 1,
                },
                JoinFailure::Store(error) => WaitroomError::from_store(error),
            })?;
        let (opening_unseen, lineage) = {
            let view = line.view.read();
            let replica = &view.replica;
            let unseen = !replica.is_opened() && now >= replica.settings().opens_at_ms;
            (unseen, replica.lineage())
        };
        if opening_unseen {
            // This join may have opened the sale; learn the opening now so the answer
            // carries a position.
            let _ = self.engine.sync_line(&line).await;
        }
        let token = LineToken {
            event: event.to_string(),
            lineage: u64::from(lineage),
            number,
            issued_at_ms: now,
        };
        metrics::counter!("breakwater_joins_total").increment(1);
        let status = self.answer(&line, &token, now, false)?;
        let token = self.engine.keys.sign_line(&token);
        Ok(Joined { token, status })
    }

    fn spend_proof(
        &self,
        event: &EventId,
        proof: Option<&str>,
        required_bits: u8,
        now: u64,
    ) -> Result<(), WaitroomError> {
        let proof = proof.ok_or(WaitroomError::ProofRequired {
            bits: required_bits,
        })?;
        let accepted = self
            .engine
            .keys
            .check_proof(proof, event.as_str(), required_bits, now)?;
        if !self.engine.spent_proofs.spend(&accepted, now) {
            return Err(WaitroomError::ProofUsed);
        }
        Ok(())
    }

    /// A buyer's status; also their heartbeat. Answered from memory.
    pub fn status(&self, event: &EventId, line_token: &str) -> Result<QueueStatus, WaitroomError> {
        let token = self.engine.keys.verify_line(line_token, event.as_str())?;
        let now = self.engine.clock.now_ms();
        // Borrowed under the map's read lock rather than cloned: on the hottest path an
        // Arc clone is a contended atomic on a shared cache line.
        let lines = self.engine.lines.read();
        let line = lines.get(event).ok_or(WaitroomError::UnknownEvent)?;
        self.answer(line, &token, now, true)
    }

    /// Reads the buyer's standing, records their heartbeat, and advises them.
    fn answer(
        &self,
        line: &Line,
        token: &LineToken,
        now: u64,
        check_fresh: bool,
    ) -> Result<QueueStatus, WaitroomError> {
        let number = token.number;
        let (standing, status, timeout) = {
            let view = line.view.read();
            if check_fresh {
                self.check_fresh(view.synced_at_ms, now)?;
            }
            let standing = standing_of(&view.replica, token, now);
            let status = render(standing, &view, now);
            (
                standing,
                status,
                view.replica.settings().heartbeat_timeout_ms(),
            )
        };
        if let Standing::Waiting { recovering, .. } = standing {
            line.heartbeats.lock().record(
                number,
                Epoch::at(now, timeout),
                Epoch::retention_ms(timeout),
                recovering,
            );
        }
        Ok(status)
    }

    fn check_fresh(&self, synced_at_ms: u64, now: u64) -> Result<(), WaitroomError> {
        let stale_after = self.engine.config.stale_after.as_millis() as u64;
        if now.saturating_sub(synced_at_ms) > stale_after {
            return Err(WaitroomError::Unavailable {
                retry_after_seconds: 1,
            });
        }
        Ok(())
    }

    /// Claims admission for a `ready` buyer: returns their access token.
    pub async fn enter(
        &self,
        event: &EventId,
        line_token: &str,
    ) -> Result<Admission, WaitroomError> {
        let token = self.engine.keys.verify_line(line_token, event.as_str())?;
        let line = self.engine.line(event)?;
        let now = self.engine.clock.now_ms();
        let (standing, status, session_ms) = {
            let view = line.view.read();
            self.check_fresh(view.synced_at_ms, now)?;
            let standing = standing_of(&view.replica, &token, now);
            (
                standing,
                render(standing, &view, now),
                view.replica.settings().session_ms(),
            )
        };
        if status.state == QueueState::SoldOut {
            return Err(WaitroomError::SoldOut);
        }
        match standing {
            Standing::Expired => return Err(WaitroomError::PlaceExpired),
            Standing::Entered => return Err(WaitroomError::AlreadyEntered(Box::new(status))),
            Standing::Waiting { position, .. } if !self.may_be_admitted(&line, position) => {
                return Err(WaitroomError::NotReady(Box::new(status)));
            }
            Standing::Waiting { .. } | Standing::Ready { .. } => {}
        }
        let outcome = self
            .engine
            .store
            .enter(event, token.number, now, session_ms)
            .await
            .map_err(WaitroomError::from_store)?;
        match outcome {
            EnterOutcome::Entered { session_expires_ms } => {
                // The store logged exactly this change; applying it here at once lets
                // this gateway answer the buyer's next call without waiting for a sync
                // (the log brings it again, which is harmless).
                line.view.write().replica.apply(&LineChange::Entered {
                    number: token.number,
                    session_expires_ms,
                });
                metrics::counter!("breakwater_entered_total").increment(1);
                let access_token = self.engine.keys.sign_access(&AccessToken {
                    event: event.to_string(),
                    lineage: token.lineage,
                    number: token.number,
                    expires_at_ms: session_expires_ms,
                });
                Ok(Admission {
                    access_token,
                    expires_at_ms: session_expires_ms,
                })
            }
            EnterOutcome::AlreadyEntered => Err(WaitroomError::AlreadyEntered(Box::new(
                self.answer(&line, &token, now, false)?,
            ))),
            EnterOutcome::NotReady => Err(WaitroomError::NotReady(Box::new(status))),
            EnterOutcome::Expired => Err(WaitroomError::PlaceExpired),
        }
    }

    /// Whether a buyer this replica sees waiting at `position` may have been admitted
    /// in the store a moment ago (the replica lags by up to a sync interval).
    fn may_be_admitted(&self, line: &Line, position: Option<u64>) -> bool {
        let Some(position) = position else {
            return false;
        };
        let rate = line
            .view
            .read()
            .replica
            .settings()
            .admission_rate_per_second;
        let lag_seconds = self.engine.config.stale_after.as_secs_f64();
        (position as f64) <= rate * lag_seconds + 1.0
    }

    /// A buyer leaves: with a line token, their place; with an access token, their
    /// session (freeing the slot for the next in line).
    pub async fn leave(&self, event: &EventId, token: &str) -> Result<(), WaitroomError> {
        let keys = &self.engine.keys;
        let (lineage, number, session) = match keys.verify_line(token, event.as_str()) {
            Ok(line_token) => (line_token.lineage, line_token.number, false),
            Err(TokenError::WrongKind) => {
                let access =
                    keys.verify_access(token, Some(event.as_str()), self.engine.clock.now_ms())?;
                (access.lineage, access.number, true)
            }
            Err(error) => return Err(error.into()),
        };
        let line = self.engine.line(event)?;
        if !is_of_line(&line, lineage) {
            // A place in a line that no longer exists: nothing to give up.
            return Ok(());
        }
        // What the store logs depends on where the buyer stood there; the next sync
        // brings it to every replica, this one included.
        self.engine
            .store
            .leave(event, number)
            .await
            .map_err(WaitroomError::from_store)?;
        if session {
            // The session has ended: this gateway refuses the token's purchases at once,
            // without waiting for the sync (which brings the same change again, harmlessly).
            line.view
                .write()
                .replica
                .apply(&LineChange::Finished(number));
        }
        Ok(())
    }

    /// Ends an entered buyer's session (their order is done), freeing the slot.
    pub async fn finish(&self, event: &EventId, buyer: &AccessToken) -> Result<(), WaitroomError> {
        let line = self.engine.line(event)?;
        if !is_of_line(&line, buyer.lineage) {
            return Ok(());
        }
        self.engine
            .store
            .finish(event, buyer.number)
            .await
            .map_err(WaitroomError::from_store)?;
        line.view
            .write()
            .replica
            .apply(&LineChange::Finished(buyer.number));
        Ok(())
    }

    /// The buyer identity whose session `token` ends if given to [`Self::leave`]: an access
    /// token's, or a line token's whose holder entered; `None` for a place still in line.
    pub fn session_ended_by_leaving(
        &self,
        event: &EventId,
        token: &str,
    ) -> Result<Option<String>, WaitroomError> {
        let keys = &self.engine.keys;
        let now = self.engine.clock.now_ms();
        match keys.verify_line(token, event.as_str()) {
            Ok(place) => {
                let line = self.engine.line(event)?;
                let entered = standing_of(&line.view.read().replica, &place, now);
                Ok((entered == Standing::Entered).then(|| place.buyer_id()))
            }
            Err(TokenError::WrongKind) => {
                let access = keys.verify_access(token, Some(event.as_str()), now)?;
                Ok(Some(access.buyer_id()))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Refuses a buyer whose session this gateway knows has ended (they left, their order
    /// was confirmed, it ran out, or their line no longer exists): such a token may only
    /// read the buyer's orders. A session entered through another gateway a moment ago is
    /// not known here yet and passes; the backend checks again.
    pub fn check_session(&self, event: &EventId, buyer: &AccessToken) -> Result<(), WaitroomError> {
        let line = self.engine.line(event)?;
        let view = line.view.read();
        let replica = &view.replica;
        if !of_this_line(replica, buyer.lineage) {
            return Err(WaitroomError::SessionEnded);
        }
        match replica.session(buyer.number, self.engine.clock.now_ms()) {
            Session::Ended => Err(WaitroomError::SessionEnded),
            Session::Active { .. } | Session::Unknown => Ok(()),
        }
    }

    /// Checks an access token (for `event` when given) and returns what it says.
    pub fn verify_access(
        &self,
        token: &str,
        event: Option<&EventId>,
    ) -> Result<AccessToken, WaitroomError> {
        Ok(self.engine.keys.verify_access(
            token,
            event.map(EventId::as_str),
            self.engine.clock.now_ms(),
        )?)
    }

    /// Checks an access token as proof of who the buyer is, for reading their own
    /// orders: valid also a while after the session ended.
    pub fn verify_buyer(
        &self,
        token: &str,
        event: Option<&EventId>,
    ) -> Result<AccessToken, WaitroomError> {
        Ok(self.engine.keys.verify_buyer(
            token,
            event.map(EventId::as_str),
            self.engine.clock.now_ms(),
        )?)
    }

    /// Creates an event's line.
    pub async fn create_event(
        &self,
        id: &EventId,
        settings: &LineSettings,
    ) -> Result<EventView, WaitroomError> {
        settings.validate()?;
        let now = self.engine.clock.now_ms();
        self.engine
            .store
            .create_event(id, settings, now)
            .await
            .map_err(WaitroomError::from_store)?;
        self.engine
            .load_line(id)
            .await
            .map_err(WaitroomError::from_store)?;
        self.event(id)
    }

    /// Replaces an event's line settings, live.
    pub async fn update_event(
        &self,
        id: &EventId,
        settings: &LineSettings,
    ) -> Result<EventView, WaitroomError> {
        settings.validate()?;
        let line = self.engine.line(id)?;
        self.engine
            .store
            .update_settings(id, settings)
            .await
            .map_err(WaitroomError::from_store)?;
        self.engine
            .sync_line(&line)
            .await
            .map_err(WaitroomError::from_store)?;
        self.event(id)
    }

    /// An event as this gateway sees it.
    pub fn event(&self, id: &EventId) -> Result<EventView, WaitroomError> {
        let line = self.engine.line(id)?;
        let now = self.engine.clock.now_ms();
        let view = line.view.read();
        let settings = view.replica.settings().clone();
        let state = EventState::of(&settings, view.replica.is_opened(), now);
        Ok(EventView {
            id: id.to_string(),
            settings,
            state,
        })
    }

    /// Every event, by id.
    pub fn events(&self) -> Vec<EventView> {
        let mut ids: Vec<EventId> = self.engine.lines.read().keys().cloned().collect();
        ids.sort();
        ids.iter().filter_map(|id| self.event(id).ok()).collect()
    }

    /// An event's statistics.
    pub fn stats(&self, id: &EventId) -> Result<LineStats, WaitroomError> {
        let line = self.engine.line(id)?;
        let now = self.engine.clock.now_ms();
        let view = line.view.read();
        let settings = view.replica.settings();
        let counts = view.replica.counts(now);
        Ok(LineStats {
            waiting: counts.waiting,
            ready: counts.ready,
            entered: counts.entered,
            admitted_total: counts.admitted_total,
            entered_total: counts.entered_total,
            joined_total: counts.joined_total,
            departed_total: counts.departed_total,
            stock: view.replica.stock(),
            admission_rate_per_second: settings.admission_rate_per_second,
            max_active_users: settings.max_active_users,
            state: EventState::of(settings, view.replica.is_opened(), now),
            replica_age_ms: now.saturating_sub(view.synced_at_ms),
        })
    }

    /// The events whose stock this gateway should ask the ticketing backend about now:
    /// those whose pacer it runs, open, with buyers in line or not asked yet, not asked
    /// within `stock_interval`. (One gateway per event asks, and a quiet event is not
    /// asked at all.)
    pub fn stock_due(&self) -> Vec<EventId> {
        let now = self.engine.clock.now_ms();
        let every = self.engine.config.stock_interval.as_millis() as u64;
        self.engine
            .all_lines()
            .iter()
            .filter(|line| line.leads_pacer() && line.stock_due(now, every))
            .map(|line| line.id.clone())
            .collect()
    }

    /// Tells the line what the ticketing backend says is left: `available` seats on sale,
    /// `held` in holds. Written to the store (and so to every gateway) only when the
    /// coarse level changes.
    pub async fn observe_stock(
        &self,
        event: &EventId,
        available: u64,
        held: u64,
    ) -> Result<(), WaitroomError> {
        let line = self.engine.line(event)?;
        line.stock_checked(self.engine.clock.now_ms());
        let level = StockLevel::of(available, held);
        if line.view.read().replica.stock() == Some(level) {
            return Ok(());
        }
        self.engine
            .store
            .set_stock(event, level)
            .await
            .map_err(WaitroomError::from_store)?;
        line.view.write().replica.apply(&LineChange::Stock(level));
        if level.sold_out {
            tracing::info!(event = %event, "sold out; everyone in line is told");
        }
        Ok(())
    }

    /// Whether the store answers and every replica is fresh.
    pub async fn is_ready(&self) -> bool {
        if self.engine.store.ping().await.is_err() {
            return false;
        }
        let now = self.engine.clock.now_ms();
        let stale_after = self.engine.config.stale_after.as_millis() as u64;
        self.engine
            .all_lines()
            .iter()
            .all(|line| now.saturating_sub(line.view.read().synced_at_ms) <= stale_after)
    }

    /// This gateway's id in pacer leases.
    pub fn gateway_id(&self) -> &str {
        &self.engine.config.gateway_id
    }
}

/// Where the buyer holding `token` stands: a token of another lineage belongs to a line
/// that no longer exists, so its place is gone.
fn standing_of(replica: &LineReplica, token: &LineToken, now: u64) -> Standing {
    if !of_this_line(replica, token.lineage) {
        return Standing::Expired;
    }
    replica.standing(token.number, now)
}

/// Whether a token of `lineage` belongs to the line as `replica` has it now.
fn of_this_line(replica: &LineReplica, lineage: u64) -> bool {
    u64::from(replica.lineage()) == lineage
}

/// The same, for `line`'s replica.
fn is_of_line(line: &Line, lineage: u64) -> bool {
    of_this_line(&line.view.read().replica, lineage)
}

/// A standing as the API shows it.
fn render(standing: Standing, view: &ReplicaView, now: u64) -> QueueStatus {
    let replica = &view.replica;
    let settings = replica.settings();
    let seats_left = replica.stock().map(|level| level.seats_left);
    let waiting_for_nothing = replica.is_sold_out()
        && matches!(standing, Standing::Waiting { .. } | Standing::Ready { .. });
    if waiting_for_nothing {
        return QueueStatus::sold_out();
    }
    let jitter = rand::random_range(-1.0..=1.0);
    let advice = advise(standing, settings, &view.outlook, now, jitter);
    let (state, position, enter_by_ms) = match standing {
        Standing::Waiting { position, .. } => (QueueState::Waiting, position, None),
        Standing::Ready { enter_by_ms } => (QueueState::Ready, None, Some(enter_by_ms)),
        Standing::Entered => (QueueState::Entered, None, None),
        Standing::Expired => (QueueState::Expired, None, None),
    };
    QueueStatus {
        state,
        position,
        eta_seconds: advice.eta_seconds,
        eta_low_seconds: advice.eta_low_seconds,
        eta_high_seconds: advice.eta_high_seconds,
        seats_left,
        poll_after_ms: advice.poll_after_ms,
        enter_by_ms,
    }
}
