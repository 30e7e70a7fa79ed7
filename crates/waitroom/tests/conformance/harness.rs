//! A waiting room on a chosen store, with a manual clock and explicit stepping.

use std::sync::Arc;
use std::time::Duration;

use breakwater_line::{Clock, EventId, LineSettings, ManualClock, SystemClock};
use breakwater_line_redis::{RedisLineStore, RedisOptions, RedisTopology};
use breakwater_line_store::{EmbeddedLineStore, LineStore};
use breakwater_testkit::redis::{RedisCluster, RedisServer};
use breakwater_tokens::TokenKeys;
use breakwater_waitroom::{QueueStatus, Waitroom, WaitroomConfig, WaitroomError};

/// Which store the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Redis,
    Cluster,
}

/// What keeps a store alive for the test.
enum Servers {
    Embedded(tempfile::TempDir),
    Redis(RedisServer),
    Cluster(RedisCluster),
}

/// A waiting room under test.
pub struct Harness {
    pub room: Waitroom,
    pub clock: ManualClock,
    pub keys: TokenKeys,
    /// The store `room` runs on (other gateways of the same deployment share it).
    pub store: Arc<dyn LineStore>,
    servers: Servers,
    namespace: String,
}

pub const SECRET: &[u8] = b"conformance suite secret";

impl Harness {
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        let clock = ManualClock::new(SystemClock.now_ms());
        let keys = TokenKeys::new(SECRET);
        let servers = match backend {
            Backend::Embedded => Servers::Embedded(tempfile::tempdir()?),
            Backend::Redis => Servers::Redis(RedisServer::start().await?),
            Backend::Cluster => Servers::Cluster(RedisCluster::start(3).await?),
        };
        let namespace = format!("t{:08x}", rand::random::<u32>());
        let store = open_store(&servers, &namespace, clock.now_ms())?;
        let room = Waitroom::new(
            store.clone(),
            keys.clone(),
            Arc::new(clock.clone()),
            config(),
        )
        .await;
        Ok(Self {
            room,
            clock,
            keys,
            store,
            servers,
            namespace,
        })
    }

    /// Another gateway of the same deployment: its own replicas and pacer, the same store.
    pub async fn another_gateway(&self) -> Waitroom {
        Waitroom::new(
            self.store.clone(),
            self.keys.clone(),
            Arc::new(self.clock.clone()),
            config(),
        )
        .await
    }

    /// Hands out `count` queue numbers in store-sized batches (faster than one join call
    /// each, for lines of many thousands); the room learns of them at its next sync.
    pub async fn join_bulk(&self, event: &EventId, count: u64) -> anyhow::Result<()> {
        let mut left = count;
        while left > 0 {
            let batch = left.min(4096);
            self.store
                .join(event, batch as u32, self.clock.now_ms(), 0)
                .await?;
            left -= batch;
        }
        self.room.sync_all().await?;
        Ok(())
    }

    /// Creates an event with default settings changed by `tweak`.
    pub async fn event(
        &self,
        id: &str,
        tweak: impl FnOnce(&mut LineSettings),
    ) -> anyhow::Result<EventId> {
        let id = EventId::parse(id)?;
        let mut settings = LineSettings::with_defaults(format!("Event {id}"), self.clock.now_ms());
        tweak(&mut settings);
        self.room.create_event(&id, &settings).await?;
        Ok(id)
    }

    /// Lets the background work happen once: heartbeats out, replicas in, one pacer
    /// step, replicas in again.
    pub async fn settle(&self) -> anyhow::Result<()> {
        self.room.flush_heartbeats().await?;
        self.room.sync_all().await?;
        self.room.pace_all().await?;
        self.room.sync_all().await?;
        Ok(())
    }

    /// Moves the clock and settles.
    pub async fn advance(&self, ms: u64) -> anyhow::Result<()> {
        self.clock.advance_ms(ms);
        self.settle().await
    }

    /// Joins and returns the token.
    pub async fn join(&self, event: &EventId) -> anyhow::Result<String> {
        Ok(self.room.join(event).await?.token)
    }

    /// Polls.
    pub fn status(&self, event: &EventId, token: &str) -> Result<QueueStatus, WaitroomError> {
        self.room.status(event, token)
    }

    /// The store loses everything: Redis is flushed under the running gateway; the
    /// embedded store's process restarts (a new store from its file, a new engine).
    pub async fn lose_everything(&mut self) -> anyhow::Result<()> {
        match &self.servers {
            Servers::Embedded(_) => self.restart_gateway().await?,
            Servers::Redis(server) => {
                server.query(&["FLUSHALL"]).await?;
            }
            Servers::Cluster(cluster) => cluster.flush_all().await?,
        }
        Ok(())
    }

    /// The whole deployment starts from nothing: the store's state and every gateway's
    /// replica are gone (Redis lost with every gateway restarted; the embedded store's
    /// files deleted before its process restarts). Events must be created again.
    pub async fn lose_the_deployment(&mut self) -> anyhow::Result<()> {
        match &self.servers {
            Servers::Embedded(dir) => {
                for entry in std::fs::read_dir(dir.path())? {
                    std::fs::remove_file(entry?.path())?;
                }
            }
            Servers::Redis(server) => {
                server.query(&["FLUSHALL"]).await?;
            }
            Servers::Cluster(cluster) => cluster.flush_all().await?,
        }
        self.restart_gateway().await
    }

    /// The gateway (for the embedded store: the process holding it) restarts.
    async fn restart_gateway(&mut self) -> anyhow::Result<()> {
        self.store = open_store(&self.servers, &self.namespace, self.clock.now_ms())?;
        self.room = self.another_gateway().await;
        Ok(())
    }
}

fn config() -> WaitroomConfig {
    WaitroomConfig {
        // The suite steps the engine by hand; the lease must outlive a slow test.
        lease_ttl: Duration::from_secs(600),
        ..WaitroomConfig::default()
    }
}

fn open_store(
    servers: &Servers,
    namespace: &str,
    now_ms: u64,
) -> anyhow::Result<Arc<dyn LineStore>> {
    let namespace = namespace.to_owned();
    Ok(match servers {
        Servers::Embedded(dir) => Arc::new(EmbeddedLineStore::open(
            dir.path().join("line-state.json"),
            now_ms,
        )?),
        Servers::Redis(server) => {
            let mut options = RedisOptions::new(server.url(), RedisTopology::Standalone);
            options.namespace = namespace;
            Arc::new(RedisLineStore::new(options))
        }
        Servers::Cluster(cluster) => {
            let mut options = RedisOptions::new(cluster.urls()[0].clone(), RedisTopology::Cluster);
            options.urls = cluster.urls();
            options.namespace = namespace;
            Arc::new(RedisLineStore::new(options))
        }
    })
}
