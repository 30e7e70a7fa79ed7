//! The pages in a real browser: the real `breakwater serve` on a free port, driven by
//! headless Chromium (Debian's `chromium`, through `playwright-core`) from
//! `tests/web/browser/scenario.mjs`, which asserts on what the pages show, runs axe-core
//! on them, prints the waiting page's transfer size and saves screenshots under
//! `<target>/tmp/web-screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` and `tests/web/browser/node_modules` (`scripts/setup`
//! installs all three).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "web-test-admin-key-0123456789abcdef";

/// A `breakwater serve` process, killed when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &Path) -> anyhow::Result<Serve> {
    let port = breakwater_testkit::ports::free_port()?;
    let child = Command::new(env!("CARGO_BIN_EXE_breakwater"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("BREAKWATER_ADMIN_KEY", ADMIN_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(Serve {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "breakwater serve never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/browser")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_and_operator_in_a_real_browser() -> anyhow::Result<()> {
    let dir = browser_dir();
    anyhow::ensure!(
        dir.join("node_modules/playwright-core").is_dir()
            && dir.join("node_modules/axe-core").is_dir()
            && Path::new("/usr/bin/chromium").exists(),
        "the browser tests need chromium and tests/web/browser/node_modules: run scripts/setup"
    );
    let data = tempfile::tempdir()?;
    let serve = serve(data.path())?;
    wait_ready(&serve.base).await?;
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&screenshots)?;
    let status = tokio::process::Command::new("node")
        .arg(dir.join("scenario.mjs"))
        .env("BASE_URL", &serve.base)
        .env("ADMIN_KEY", ADMIN_KEY)
        .env("SCREENSHOTS", &screenshots)
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(Duration::from_secs(240), status).await??;
    anyhow::ensure!(status.success(), "the browser scenario failed: {status}");
    println!("screenshots in {}", screenshots.display());
    Ok(())
}

/// `breakwater gateway` serves the same pages (its line in Redis, no ticketing backend).
#[tokio::test]
async fn the_gateway_role_serves_the_pages() -> anyhow::Result<()> {
    let redis = breakwater_testkit::redis::RedisServer::start().await?;
    let port = breakwater_testkit::ports::free_port()?;
    let child = Command::new(env!("CARGO_BIN_EXE_breakwater"))
        .arg("gateway")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--redis-url", &redis.url()])
        .args(["--redis-namespace", "web"])
        .env(
            "BREAKWATER_TOKEN_SECRET",
            "web-test-token-secret-0123456789",
        )
        .env("BREAKWATER_ADMIN_KEY", ADMIN_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let gateway = Serve {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&gateway.base).await?;
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/admin/v1/events", gateway.base))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({"id": "gala", "name": "Gala <Night>"}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status() == reqwest::StatusCode::CREATED,
        "{created:?}"
    );

    let home = http.get(&gateway.base).send().await?.text().await?;
    anyhow::ensure!(home.contains("Gala &lt;Night&gt;"), "{home}");
    let page = http
        .get(format!("{}/events/gala", gateway.base))
        .send()
        .await?
        .text()
        .await?;
    let start = page
        .find("/assets/event.")
        .ok_or(anyhow::anyhow!("no script"))?;
    let end = start + page[start..].find('"').unwrap_or(0);
    let script = http
        .get(format!("{}{}", gateway.base, &page[start..end]))
        .send()
        .await?;
    anyhow::ensure!(script.status().is_success(), "{script:?}");
    let admin = http.get(format!("{}/admin", gateway.base)).send().await?;
    anyhow::ensure!(admin.status().is_success(), "{admin:?}");
    Ok(())
}
