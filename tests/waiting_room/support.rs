//! Spawning `breakwater` processes and talking to them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub const TOKEN_SECRET: &str = "e2e-token-secret-0123456789abcdef";
pub const ADMIN_KEY: &str = "e2e-admin-key-0123456789abcdef";

/// Settings that lift the per-client limits.
const UNLIMITED_CLIENTS: [(&str, &str); 2] = [
    ("BREAKWATER_CLIENTS__JOINS_PER_MINUTE", "0"),
    ("BREAKWATER_CLIENTS__CALLS_PER_SECOND", "0"),
];

/// One running `breakwater` process, killed when dropped.
pub struct Breakwater {
    child: Child,
    pub base: String,
    pub http: Client,
}

impl Breakwater {
    /// `breakwater gateway` on a free port against `redis_url` in `namespace`.
    pub async fn gateway(redis_url: &str, namespace: &str) -> anyhow::Result<Self> {
        let port = breakwater_testkit::ports::free_port()?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_breakwater"));
        command
            .arg("gateway")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--redis-url", redis_url])
            .args(["--redis-namespace", namespace])
            .env("BREAKWATER_TOKEN_SECRET", TOKEN_SECRET)
            .env("BREAKWATER_ADMIN_KEY", ADMIN_KEY);
        Self::spawn(command, port).await
    }

    /// `breakwater gateway` as above, forwarding buyers to the backend at `backend_url`,
    /// with more `BREAKWATER_*` settings.
    pub async fn gateway_with_backend(
        redis_url: &str,
        namespace: &str,
        backend_url: &str,
        settings: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let port = breakwater_testkit::ports::free_port()?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_breakwater"));
        command
            .arg("gateway")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--redis-url", redis_url])
            .args(["--redis-namespace", namespace])
            .args(["--backend-url", backend_url])
            .env("BREAKWATER_TOKEN_SECRET", TOKEN_SECRET)
            .env("BREAKWATER_ADMIN_KEY", ADMIN_KEY)
            .envs(settings.iter().copied());
        // Not ready while its backend is down (that is the point): wait for it to be alive.
        Self::spawn_until(command, port, "/healthz").await
    }

    /// `breakwater serve` on a free port with its files in `data_dir`.
    pub async fn serve(data_dir: &Path) -> anyhow::Result<Self> {
        Self::serve_with(data_dir, &[]).await
    }

    /// `breakwater serve` as above, with more `BREAKWATER_*` settings.
    pub async fn serve_with(data_dir: &Path, settings: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = breakwater_testkit::ports::free_port()?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_breakwater"));
        command
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("BREAKWATER_ADMIN_KEY", ADMIN_KEY)
            .envs(settings.iter().copied());
        Self::spawn(command, port).await
    }

    async fn spawn(command: Command, port: u16) -> anyhow::Result<Self> {
        Self::spawn_until(command, port, "/readyz").await
    }

    async fn spawn_until(mut command: Command, port: u16, probe: &str) -> anyhow::Result<Self> {
        // These tests play many buyers from one address; the per-client limits have tests
        // of their own (a setting given to `serve_with` still wins).
        for (key, value) in UNLIMITED_CLIENTS {
            if !command.get_envs().any(|(name, _)| name == key) {
                command.env(key, value);
            }
        }
        command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = command.spawn().context("spawning breakwater")?;
        let process = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: Client::builder().timeout(Duration::from_secs(5)).build()?,
        };
        process.until_answering(probe).await?;
        Ok(process)
    }

    /// Waits until `probe` answers 200.
    async fn until_answering(&self, probe: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = self.http.get(self.url(probe)).send().await
                && response.status() == StatusCode::OK
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} never became ready",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends the process a signal by name (`STOP`, `CONT`, …).
    pub fn signal(&self, name: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .context("running kill")?;
        anyhow::ensure!(status.success(), "kill -{name} failed: {status}");
        Ok(())
    }

    /// Kills the process at once (SIGKILL): a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Creates an event through the admin API.
    pub async fn create_event(&self, body: Value) -> anyhow::Result<()> {
        let response = self
            .http
            .post(self.url("/admin/v1/events"))
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == StatusCode::CREATED,
            "create event: {} {}",
            response.status(),
            response.text().await?
        );
        Ok(())
    }

    /// Changes an event through the admin API.
    pub async fn patch_event(&self, event: &str, body: Value) -> anyhow::Result<()> {
        let response = self
            .http
            .patch(self.url(&format!("/admin/v1/events/{event}")))
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == StatusCode::OK,
            "patch: {}",
            response.status()
        );
        Ok(())
    }

    /// The event's statistics.
    pub async fn stats(&self, event: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(self.url(&format!("/admin/v1/events/{event}/stats")))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await?
            .json()
            .await?)
    }

    /// Joins; returns the line token.
    pub async fn join(&self, event: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(self.url(&format!("/api/v1/events/{event}/queue")))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == StatusCode::CREATED,
            "join: {}",
            response.status()
        );
        let body: Value = response.json().await?;
        body["token"]
            .as_str()
            .map(str::to_owned)
            .context("join answered no token")
    }

    /// Polls; returns the status code, the Retry-After header and the body.
    pub async fn poll(
        &self,
        event: &str,
        token: &str,
    ) -> anyhow::Result<(StatusCode, Option<String>, Value)> {
        let response = self
            .http
            .get(self.url(&format!("/api/v1/events/{event}/queue")))
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.unwrap_or(json!(null));
        Ok((status, retry_after, body))
    }
}

impl Breakwater {
    /// Any call: method, path, an optional bearer token and JSON body; a fresh
    /// Idempotency-Key on everything but GET. Returns the status and the JSON body (null
    /// when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if method != reqwest::Method::GET {
            request = request.header("idempotency-key", uuid_like());
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body = response.json().await.unwrap_or(json!(null));
        Ok((status, body))
    }

    /// Waits for the buyer's turn and enters; returns the access token.
    pub async fn enter_when_ready(&self, event: &str, line_token: &str) -> anyhow::Result<String> {
        eventually(Duration::from_secs(20), "the buyer's turn", || async {
            let path = format!("/api/v1/events/{event}/queue/enter");
            let (status, body) = self
                .call(reqwest::Method::POST, &path, Some(line_token), None)
                .await?;
            match status {
                StatusCode::OK => Ok(body["access_token"].as_str().map(str::to_owned)),
                StatusCode::CONFLICT if body["error"] == "not_ready" => Ok(None),
                other => anyhow::bail!("enter: {other} {body}"),
            }
        })
        .await
    }
}

/// A unique enough Idempotency-Key for tests.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("test-{nanos}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Drop for Breakwater {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` every 50 ms until it gives `Some`, or fails after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An event made straight in the Redis store (no backend could open its sale), so a
/// gateway with an unreachable or stalled backend still has a line to admit buyers from.
pub async fn line_in_store(redis_url: &str, namespace: &str, event: &str) -> anyhow::Result<()> {
    use breakwater_line::{Clock, EventId, LineSettings, SystemClock};
    use breakwater_line_redis::{RedisLineStore, RedisOptions, RedisTopology};
    use breakwater_line_store::LineStore;

    let mut options = RedisOptions::new(redis_url.to_owned(), RedisTopology::Standalone);
    options.namespace = namespace.into();
    let store = RedisLineStore::new(options);
    let mut settings = LineSettings::with_defaults("Gig", SystemClock.now_ms());
    settings.admission_rate_per_second = 1000.0;
    store
        .create_event(&EventId::parse(event)?, &settings, SystemClock.now_ms())
        .await?;
    Ok(())
}

impl Breakwater {
    /// Joins `event` once the gateway knows it, and waits to be let in.
    pub async fn admitted_buyer(&self, event: &str) -> anyhow::Result<String> {
        let line = eventually(
            Duration::from_secs(10),
            "the gateway to find the event",
            || async { Ok(self.join(event).await.ok()) },
        )
        .await?;
        self.enter_when_ready(event, &line).await
    }
}
