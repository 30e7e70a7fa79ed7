//! [`LineStore`] on Redis.

mod reply;

use async_trait::async_trait;
use breakwater_line::{Bitset, EventId, LineImage, LineSettings, Lineage, StockLevel};
use breakwater_line_store::{
    AdmitRequest, AdmitResult, EnterOutcome, EpochWindow, HeartbeatReport, LineStore, Snapshot,
    StoreError, SyncCursor, SyncOutcome,
};
use redis::{AsyncCommands, FromRedisValue, ScriptInvocation, Value};
use tokio::sync::OnceCell;

use crate::connection::{RedisConnection, RedisOptions, unavailable};
use crate::keys::{LineKeys, events_key};
use crate::scripts::Scripts;
use reply::{parse_admit, parse_enter, parse_snapshot, parse_sync};

/// Lines kept in Redis or Redis Cluster, shared by any number of gateways.
pub struct RedisLineStore {
    options: RedisOptions,
    connection: OnceCell<RedisConnection>,
    scripts: Scripts,
}

impl RedisLineStore {
    /// A store on the given servers. Connects lazily, so a gateway starts (not ready)
    /// while Redis is down and connects once it is up.
    pub fn new(options: RedisOptions) -> Self {
        Self {
            options,
            connection: OnceCell::new(),
            scripts: Scripts::new(),
        }
    }

    async fn connection(&self) -> Result<RedisConnection, StoreError> {
        self.connection
            .get_or_try_init(|| RedisConnection::connect(&self.options))
            .await
            .cloned()
    }

    fn keys(&self, event: &EventId) -> LineKeys {
        LineKeys::new(&self.options.namespace, event)
    }

    async fn run<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(script_error)
    }
}

fn script_error(error: redis::RedisError) -> StoreError {
    match error.code() {
        Some("BWLOST") => StoreError::StateLost,
        Some("BWLEASE") => StoreError::LeaseLost,
        Some("BWEXISTS") => StoreError::EventExists,
        Some("BWBEHIND") => StoreError::Behind,
        _ => unavailable(error),
    }
}

fn flag(value: bool) -> &'static str {
    if value { "1" } else { "0" }
}

fn settings_json(settings: &LineSettings) -> Result<String, StoreError> {
    serde_json::to_string(settings).map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// The stock as `stock.lua` stores it (see `codec::decode_stock`).
fn encode_stock(level: StockLevel) -> String {
    format!("{}|{}", level.seats_left, flag(level.sold_out))
}

fn bitmap_args(set: &Bitset) -> (u64, Vec<u8>) {
    set.to_redis_bytes().unwrap_or((0, Vec::new()))
}

#[async_trait]
impl LineStore for RedisLineStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        redis::cmd("PING")
            .query_async::<()>(&mut connection)
            .await
            .map_err(unavailable)
    }

    async fn list_events(&self) -> Result<Vec<EventId>, StoreError> {
        let mut connection = self.connection().await?;
        let ids: Vec<String> = connection
            .smembers(events_key(&self.options.namespace))
            .await
            .map_err(unavailable)?;
        // An id that does not parse was not written by us; skip it rather than fail.
        Ok(ids
            .iter()
            .filter_map(|id| EventId::parse(id).ok())
            .collect())
    }

    async fn create_event(
        &self,
        event: &EventId,
        settings: &LineSettings,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let keys = self.keys(event);
        let incarnation = format!("{:016x}", rand::random::<u64>());
        // Listed first: the list is only a hint for discovery, and an event must never
        // exist unlisted.
        self.register(event).await?;
        self.run::<i64>(
            self.scripts
                .create
                .key(keys.state())
                .key(keys.settings())
                .arg(settings_json(settings)?)
                .arg(incarnation)
                .arg(now_ms)
                .arg(flag(settings.paused))
                .arg(flag(settings.closed))
                .arg(settings.opens_at_ms)
                .arg(Lineage::new(rand::random()).to_string()),
        )
        .await
        .map(drop)
    }

    async fn update_settings(
        &self,
        event: &EventId,
        settings: &LineSettings,
    ) -> Result<(), StoreError> {
        let keys = self.keys(event);
        self.run::<i64>(
            self.scripts
                .update
                .key(keys.state())
                .key(keys.settings())
                .key(keys.log())
                .arg(settings_json(settings)?)
                .arg(flag(settings.paused))
                .arg(flag(settings.closed))
                .arg(settings.opens_at_ms),
        )
        .await
        .map(drop)
    }

    async fn join(
        &self,
        event: &EventId,
        count: u32,
        now_ms: u64,
        floor: u64,
    ) -> Result<u64, StoreError> {
        let keys = self.keys(event);
        self.run(
            self.scripts
                .join
                .key(keys.state())
                .key(keys.log())
                .arg(count)
                .arg(now_ms)
                .arg(floor),
        )
        .await
    }

    async fn snapshot(&self, event: &EventId) -> Result<Snapshot, StoreError> {
        let keys = self.keys(event);
        let value: Value = self
            .run(
                self.scripts
                    .snapshot
                    .key(keys.state())
                    .key(keys.settings())
                    .key(keys.out())
                    .key(keys.reinstated())
                    .key(keys.entered())
                    .key(keys.ready())
                    .key(keys.sessions()),
            )
            .await?;
        parse_snapshot(value)
    }

    async fn sync(
        &self,
        event: &EventId,
        cursor: &SyncCursor,
        max: usize,
    ) -> Result<SyncOutcome, StoreError> {
        let keys = self.keys(event);
        let value: Value = self
            .run(
                self.scripts
                    .sync
                    .key(keys.state())
                    .key(keys.log())
                    .arg(&cursor.incarnation)
                    .arg(cursor.lsn)
                    .arg(max),
            )
            .await?;
        parse_sync(value)
    }

    async fn heartbeat(&self, event: &EventId, report: &HeartbeatReport) -> Result<(), StoreError> {
        let keys = self.keys(event);
        let (offset, bytes) = bitmap_args(&report.seen);
        let mut invocation = self.scripts.heartbeat.prepare_invoke();
        invocation
            .key(keys.state())
            .key(keys.heartbeat(report.epoch))
            .key(keys.scratch())
            .key(keys.out())
            .key(keys.reinstated())
            .key(keys.log())
            .arg(offset)
            .arg(bytes)
            .arg(report.retention_ms);
        for number in &report.reinstate {
            invocation.arg(*number);
        }
        self.run::<i64>(&invocation).await.map(drop)
    }

    async fn liveness(&self, event: &EventId, window: &EpochWindow) -> Result<Bitset, StoreError> {
        let keys = self.keys(event);
        let mut invocation = self.scripts.liveness.prepare_invoke();
        invocation.key(keys.state()).key(keys.scratch());
        for epoch in window.epochs() {
            invocation.key(keys.heartbeat(epoch));
        }
        let bytes: Vec<u8> = self.run(&invocation).await?;
        Ok(Bitset::from_redis_bytes(&bytes))
    }

    async fn hold_lease(
        &self,
        event: &EventId,
        holder: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let keys = self.keys(event);
        let held: i64 = self
            .run(self.scripts.lease.key(keys.lease()).arg(holder).arg(ttl_ms))
            .await?;
        Ok(held == 1)
    }

    async fn admit(
        &self,
        event: &EventId,
        holder: &str,
        request: &AdmitRequest,
    ) -> Result<AdmitResult, StoreError> {
        let keys = self.keys(event);
        let mut invocation = self.scripts.admit.prepare_invoke();
        invocation
            .key(keys.state())
            .key(keys.lease())
            .key(keys.out())
            .key(keys.reinstated())
            .key(keys.ready())
            .key(keys.sessions())
            .key(keys.log())
            .arg(holder)
            .arg(request.now_ms)
            .arg(request.interval_ms)
            .arg(request.tolerance_ms)
            .arg(request.max_active)
            .arg(request.deadline_ms)
            .arg(flag(request.offers_everyone));
        for candidate in &request.candidates {
            invocation.arg(*candidate);
        }
        let value: Value = self.run(&invocation).await?;
        parse_admit(value)
    }

    async fn drop_silent(
        &self,
        event: &EventId,
        holder: &str,
        numbers: &[u64],
    ) -> Result<(), StoreError> {
        let keys = self.keys(event);
        let mut invocation = self.scripts.drop.prepare_invoke();
        invocation
            .key(keys.state())
            .key(keys.lease())
            .key(keys.out())
            .key(keys.reinstated())
            .key(keys.log())
            .arg(holder);
        for number in numbers {
            invocation.arg(*number);
        }
        self.run::<i64>(&invocation).await.map(drop)
    }

    async fn open(&self, event: &EventId, holder: &str) -> Result<(), StoreError> {
        let keys = self.keys(event);
        self.run::<i64>(
            self.scripts
                .open
                .key(keys.state())
                .key(keys.lease())
                .key(keys.log())
                .arg(holder),
        )
        .await
        .map(drop)
    }

    async fn enter(
        &self,
        event: &EventId,
        number: u64,
        now_ms: u64,
        session_ms: u64,
    ) -> Result<EnterOutcome, StoreError> {
        let keys = self.keys(event);
        let value: Value = self
            .run(
                self.scripts
                    .enter
                    .key(keys.state())
                    .key(keys.entered())
                    .key(keys.ready())
                    .key(keys.sessions())
                    .key(keys.out())
                    .key(keys.log())
                    .arg(number)
                    .arg(now_ms)
                    .arg(session_ms),
            )
            .await?;
        parse_enter(value)
    }

    async fn leave(&self, event: &EventId, number: u64) -> Result<(), StoreError> {
        let keys = self.keys(event);
        self.run::<i64>(
            self.scripts
                .leave
                .key(keys.state())
                .key(keys.ready())
                .key(keys.sessions())
                .key(keys.out())
                .key(keys.log())
                .arg(number),
        )
        .await
        .map(drop)
    }

    async fn finish(&self, event: &EventId, number: u64) -> Result<(), StoreError> {
        let keys = self.keys(event);
        self.run::<i64>(
            self.scripts
                .finish
                .key(keys.state())
                .key(keys.sessions())
                .key(keys.log())
                .arg(number),
        )
        .await
        .map(drop)
    }

    async fn set_stock(&self, event: &EventId, level: StockLevel) -> Result<(), StoreError> {
        let keys = self.keys(event);
        self.run::<i64>(
            self.scripts
                .stock
                .key(keys.state())
                .key(keys.log())
                .arg(level.seats_left)
                .arg(flag(level.sold_out)),
        )
        .await
        .map(drop)
    }

    async fn restore(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        self.write_incarnation(event, image, now_ms, "").await
    }

    async fn rebase(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
        incarnation: &str,
    ) -> Result<bool, StoreError> {
        self.write_incarnation(event, image, now_ms, incarnation)
            .await
    }
}

impl RedisLineStore {
    /// Writes `image` as a new incarnation where the line is gone, or where it is still
    /// `replacing` (when that is not empty); returns whether it wrote.
    async fn write_incarnation(
        &self,
        event: &EventId,
        image: &LineImage,
        now_ms: u64,
        replacing: &str,
    ) -> Result<bool, StoreError> {
        let keys = self.keys(event);
        let (out_offset, out) = bitmap_args(&image.out);
        let (reg_offset, reg) = bitmap_args(&image.reinstated);
        let (ent_offset, ent) = bitmap_args(&image.entered);
        let mut invocation = self.scripts.restore.prepare_invoke();
        invocation
            .key(keys.state())
            .key(keys.settings())
            .key(keys.out())
            .key(keys.reinstated())
            .key(keys.entered())
            .key(keys.ready())
            .key(keys.sessions())
            .key(keys.log())
            .arg(format!("{:016x}", rand::random::<u64>()))
            .arg(now_ms)
            .arg(settings_json(&image.settings)?)
            .arg(image.seq)
            .arg(image.base)
            .arg(image.opened.map(|p| p.to_string()).unwrap_or_default())
            .arg(image.admitted_total)
            .arg(flag(image.settings.paused))
            .arg(flag(image.settings.closed))
            .arg(image.settings.opens_at_ms)
            .arg(image.lineage.to_string())
            .arg(image.stock.map(encode_stock).unwrap_or_default())
            .arg(out_offset)
            .arg(out)
            .arg(reg_offset)
            .arg(reg)
            .arg(ent_offset)
            .arg(ent)
            .arg(replacing)
            .arg(image.ready.len());
        for (number, deadline) in &image.ready {
            invocation.arg(*number).arg(*deadline);
        }
        for (number, expires) in &image.sessions {
            invocation.arg(*number).arg(*expires);
        }
        let restored: i64 = self.run(&invocation).await?;
        self.register(event).await?;
        Ok(restored == 1)
    }

    /// Adds the event to the namespace's list, where other gateways discover it.
    async fn register(&self, event: &EventId) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        connection
            .sadd::<_, _, ()>(events_key(&self.options.namespace), event.as_str())
            .await
            .map_err(unavailable)
    }
}
