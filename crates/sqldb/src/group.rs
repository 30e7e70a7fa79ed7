//! Group commit: writes queued while a transaction runs share the next one.
//!
//! Why: on SQLite's one writer connection every statement costs a round trip between the
//! caller's task and the driver's thread, and the writer is busy for all of it, so the
//! round trips of a transaction, not the SQL, bound writes per second; on PostgreSQL every
//! statement is a network round trip and a backend wake-up, and the server shares the
//! machine's cores. `BEGIN` and `COMMIT` are two of a hold's five statements; in a batch of
//! K writes they are paid once, and so are the commit's WAL write and flush.
//!
//! The price is a contract: a write in a batch cannot roll back alone. It must check before
//! it acts (SQLite has one writer, so what it reads stays true until it writes) or undo what
//! it wrote before giving up. A write that fails with an error rolls the whole batch back;
//! the others in it get [`GroupError::Aborted`] and may simply be tried again.

use std::future::Future;
use std::pin::Pin;

use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot};

/// Writes queued beyond this wait for room (backpressure rather than unbounded memory).
const QUEUE: usize = 4_096;

/// A boxed future borrowing the connection.
pub type ConnectionFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// Hands a write's result to its caller once the batch's fate is known.
type Deliver = Box<dyn FnOnce(Option<GroupError>) + Send>;

/// A queued write: runs on the shared transaction's connection, says whether it failed, and
/// returns how to deliver its result.
type Job =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> ConnectionFuture<'c, (bool, Deliver)> + Send>;

/// Why a write in a batch did not take effect.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GroupError {
    /// Another write in the batch failed, or the batch could not begin or commit; nothing
    /// of this write was kept. Trying again is safe.
    #[error("the write batch was rolled back: {0}")]
    Aborted(String),
    /// The writer has stopped (the service is shutting down).
    #[error("the database writer has stopped")]
    Closed,
}

/// Queues writes for SQLite's writer connection and runs them in shared transactions.
#[derive(Debug, Clone)]
pub struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    /// Starts the writer task on `pool`, taking at most `max_batch` writes per transaction,
    /// each transaction opened with `begin` (`None`: a plain `BEGIN`).
    pub fn start(pool: AnyPool, max_batch: usize, begin: Option<&'static str>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, begin, queue, max_batch.max(1)));
        Self { jobs }
    }

    /// Runs `work` inside the next batch transaction and returns its result once that
    /// transaction has committed. `work` must not rely on a rollback of its own (see the
    /// module documentation); its `Err` rolls the batch back.
    pub async fn write<T, E, F>(&self, work: F) -> Result<Result<T, E>, GroupError>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> ConnectionFuture<'c, Result<T, E>>
            + Send
            + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<Result<T, E>, GroupError>>();
        let job: Job = Box::new(move |connection| {
            Box::pin(async move {
                let result = work(connection).await;
                let failed = result.is_err();
                let deliver: Deliver = Box::new(move |batch_error| {
                    let delivered = match (result, batch_error) {
                        (Err(error), _) => Ok(Err(error)),
                        (Ok(_), Some(error)) => Err(error),
                        (Ok(value), None) => Ok(Ok(value)),
                    };
                    // The caller may have given up waiting; the write stands regardless.
                    let _ = answer.send(delivered);
                });
                (failed, deliver)
            })
        });
        self.jobs.send(job).await.map_err(|_| GroupError::Closed)?;
        answered
            .await
            .unwrap_or_else(|_| Err(GroupError::Aborted("the batch stopped first".into())))
    }
}

async fn run(
    pool: AnyPool,
    begin: Option<&'static str>,
    mut queue: mpsc::Receiver<Job>,
    max_batch: usize,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&pool, begin, batch).await;
    }
}

/// Runs one batch in one transaction; writes not run (after a failure) are dropped, which
/// their callers see as [`GroupError::Aborted`].
async fn run_batch(pool: &AnyPool, begin: Option<&'static str>, batch: Vec<Job>) {
    let began = match begin {
        Some(statement) => pool.begin_with(statement).await,
        None => pool.begin().await,
    };
    let mut tx = match began {
        Ok(tx) => tx,
        Err(error) => {
            // Dropping the jobs answers each caller with `Aborted`.
            tracing::warn!(%error, "could not begin a write batch");
            return;
        }
    };
    let mut delivers = Vec::with_capacity(batch.len());
    let mut failed = false;
    for job in batch {
        let (job_failed, deliver) = job(&mut tx).await;
        delivers.push(deliver);
        if job_failed {
            failed = true;
            break;
        }
    }
    let outcome = if failed {
        let _ = tx.rollback().await;
        Some(GroupError::Aborted(
            "another write in the batch failed".into(),
        ))
    } else {
        tx.commit()
            .await
            .err()
            .map(|error| GroupError::Aborted(error.to_string()))
    };
    for deliver in delivers {
        deliver(outcome.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;
    use sqlx::migrate::Migrator;

    async fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
        let db = Database::open(&url, 2, Migrator::DEFAULT).await.unwrap();
        sqlx::query("CREATE TABLE t (k BIGINT PRIMARY KEY)")
            .execute(&db.write)
            .await
            .unwrap();
        (dir, db)
    }

    fn insert(
        k: i64,
    ) -> impl for<'c> FnOnce(&'c mut AnyConnection) -> ConnectionFuture<'c, Result<u64, sqlx::Error>>
    + Send
    + 'static {
        move |connection| {
            Box::pin(async move {
                Ok(sqlx::query("INSERT INTO t (k) VALUES ($1)")
                    .bind(k)
                    .execute(&mut *connection)
                    .await?
                    .rows_affected())
            })
        }
    }

    async fn keys(db: &Database) -> Vec<i64> {
        sqlx::query_scalar("SELECT k FROM t ORDER BY k")
            .fetch_all(&db.read)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_all_commit_and_answer() {
        let (_dir, db) = database().await;
        let group = db.group_writer(None);
        let writes = (0..200).map(|k| {
            let group = group.clone();
            tokio::spawn(async move { group.write(insert(k)).await })
        });
        for write in futures_join(writes).await {
            assert_eq!(write.unwrap().unwrap(), 1);
        }
        assert_eq!(keys(&db).await, (0..200).collect::<Vec<_>>());
    }

    /// Waits until `queued` writes wait in the queue (the writer task has not taken them).
    async fn until_queued(group: &GroupWriter, queued: usize) {
        while QUEUE - group.jobs.capacity() != queued {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_rolls_back_its_batch_and_the_others_may_retry() {
        let (_dir, db) = database().await;
        let group = db.group_writer(None);
        group.write(insert(1)).await.unwrap().unwrap();
        // A first write that waits inside its batch, so the next writes queue up behind it
        // and share the following batch.
        let (started, has_started) = oneshot::channel();
        let (release, released) = oneshot::channel::<()>();
        let first = tokio::spawn({
            let group = group.clone();
            async move {
                group
                    .write(move |connection| {
                        Box::pin(async move {
                            let _ = started.send(());
                            let _ = released.await;
                            insert(100)(connection).await
                        })
                    })
                    .await
            }
        });
        has_started.await.unwrap();
        let mut writes = Vec::new();
        for (queued, k) in [2, 1, 3].into_iter().enumerate() {
            let group_for_write = group.clone();
            writes.push(tokio::spawn(async move {
                group_for_write.write(insert(k)).await
            }));
            until_queued(&group, queued + 1).await;
        }
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap().unwrap(), 1);
        let results = futures_join(writes).await;
        assert!(matches!(results[1], Ok(Err(_))), "the duplicate fails");
        for aborted in [&results[0], &results[2]] {
            assert!(
                matches!(aborted, Err(GroupError::Aborted(_))),
                "{aborted:?}"
            );
        }
        assert_eq!(keys(&db).await, vec![1, 100], "the batch left no trace");
        for k in [2, 3] {
            group.write(insert(k)).await.unwrap().unwrap();
        }
        assert_eq!(keys(&db).await, vec![1, 2, 3, 100]);
    }

    async fn futures_join<T>(
        handles: impl IntoIterator<Item = tokio::task::JoinHandle<T>>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}
