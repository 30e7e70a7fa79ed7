//! Opening a service's database: SQLite (the embedded default) or PostgreSQL (scale-out),
//! reached through sqlx's `Any` driver so one set of SQL (with `$n` placeholders, which both
//! engines accept) serves both. Shared by the inventory, payment and reservation services.

mod group;

use std::time::Duration;

pub use group::{ConnectionFuture, GroupError, GroupWriter};

use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` / `postgresql:` URLs.
    Postgres,
}

/// Pools for one service's database.
///
/// SQLite allows one writer at a time, so writes go through a single connection (no
/// `SQLITE_BUSY` between our own connections) and reads through a pool of readers (WAL lets
/// them run beside the writer). PostgreSQL uses one pool for both.
#[derive(Debug, Clone)]
pub struct Database {
    /// Connections for transactions that write.
    pub write: AnyPool,
    /// Connections for reads.
    pub read: AnyPool,
    /// The engine behind the pools.
    pub engine: Engine,
}

/// Writes per group-commit transaction at most: enough to take a rush's queue in one go,
/// few enough that one batch's transaction stays short.
const MAX_BATCH: usize = 64;

/// Waiting longer than this for a pooled connection fails the request rather than queueing
/// it without bound.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Engine {
    /// The engine a database URL names, if supported.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

impl Database {
    /// Connects, configures the connections and applies `migrator`.
    pub async fn open(
        url: &str,
        max_connections: u32,
        mut migrator: Migrator,
    ) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url)
            .ok_or_else(|| sqlx::Error::Configuration("unsupported database URL".into()))?;
        let database = match engine {
            Engine::Sqlite => {
                let write = sqlite_pool(1).connect(url).await?;
                let read = sqlite_pool(max_connections.max(1)).connect_lazy(url)?;
                Self {
                    write,
                    read,
                    engine,
                }
            }
            Engine::Postgres => {
                let pool = pool_options(max_connections.max(2)).connect(url).await?;
                Self {
                    write: pool.clone(),
                    read: pool,
                    engine,
                }
            }
        };
        // Every service keeps its own version range, so another service's rows in a shared
        // `_sqlx_migrations` table are expected.
        migrator.set_ignore_missing(true);
        migrator.run(&database.write).await?;
        Ok(database)
    }

    /// Starts group commit on the write pool for a service's hottest writes (see
    /// [`GroupWriter`]); every transaction opens with `begin` (`None`: a plain `BEGIN`).
    pub fn group_writer(&self, begin: Option<&'static str>) -> GroupWriter {
        GroupWriter::start(self.write.clone(), MAX_BATCH, begin)
    }

    /// Closes both pools.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn pool_options(max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A ping before every acquire costs a round trip per query; broken connections are
        // detected by the query itself.
        .test_before_acquire(false)
}

fn sqlite_pool(max_connections: u32) -> AnyPoolOptions {
    pool_options(max_connections).after_connect(|connection, _| {
        Box::pin(async move {
            // WAL: readers never block the writer; NORMAL: durable at checkpoints, safe
            // against application crashes (the kill -9 case), fast enough for a rush.
            // A 64 MiB page cache and memory-mapped reads keep a big venue's pages out of
            // read syscalls.
            connection
                .execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;",
                )
                .await?;
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_connections_are_configured_for_concurrency() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Database::open(&url, 2, Migrator::DEFAULT).await.unwrap();
        for pool in [&db.write, &db.read] {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap();
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!((mode.as_str(), synchronous, busy), ("wal", 1, 5000));
        }
        db.close().await;
    }
}
