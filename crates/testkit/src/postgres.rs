//! Fresh PostgreSQL databases on the machine's server, one per test run.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// Where the machine's PostgreSQL server is reached; `BREAKWATER_TEST_POSTGRES_URL`
/// overrides it (it must name a database the test user may connect to).
pub fn admin_url() -> String {
    std::env::var("BREAKWATER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database created for one test run and dropped when this value is dropped.
pub struct FreshDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl FreshDatabase {
    /// Creates an empty database with a random name.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = admin_url();
        let name = format!("bw_test_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::connect(&admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => anyhow::bail!("postgres url {admin_url} names no database"),
        };
        Ok(Self {
            name,
            url,
            admin_url,
        })
    }

    /// The connection URL of the fresh database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        // Drop may run inside or outside a runtime; a short-lived thread with its own
        // runtime works in both.
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
    }
}
