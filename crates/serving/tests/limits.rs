//! The server's bounds on a real socket: slow and idle clients are cut off while honest
//! ones are served, overload is shed with 503 + Retry-After, late answers become 503, and
//! connections beyond the cap wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use breakwater_serving::{Limits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

/// A server on a free port with `limits`; `/ok` answers at once, `/hang` answers when
/// `release` is notified (or never).
struct Server {
    address: String,
    release: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(limits: Limits) -> Self {
        let release = Arc::new(Notify::new());
        let waiting = release.clone();
        let router = Router::new().route("/ok", get(|| async { "ok" })).route(
            "/hang",
            get(move || {
                let waiting = waiting.clone();
                async move {
                    waiting.notified().await;
                    "released"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(serve(listener, router, limits, async {
            let _ = stopped.await;
        }));
        Self {
            address,
            release,
            stop: Some(stop),
            done,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("http://{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.done.await.unwrap().unwrap();
    }
}

/// Reads until the peer closes; how long that took.
async fn until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

fn limits(header_timeout_ms: u64) -> Limits {
    Limits {
        header_timeout_ms,
        ..Limits::default()
    }
}

#[tokio::test]
async fn half_a_header_is_cut_off_while_honest_clients_are_served() {
    let server = Server::start(limits(300)).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&server.address).await.unwrap();
        stream
            .write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    for _ in 0..50 {
        let response = server.get("/ok").await;
        assert_eq!(response.status(), 200);
    }
    for stream in &mut slow {
        let waited = until_closed(stream).await;
        assert!(waited < Duration::from_secs(5), "held for {waited:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = Server::start(limits(300)).await;
    let mut stream = TcpStream::connect(&server.address).await.unwrap();
    stream
        .write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0_u8; 256];
    let read = stream.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
    // Kept alive, then nothing more: closed within the header timeout.
    let waited = until_closed(&mut stream).await;
    assert!(waited < Duration::from_secs(5), "idle for {waited:?}");
    server.stop().await;
}

#[tokio::test]
async fn requests_beyond_the_in_flight_cap_are_shed_at_once() {
    let server = Server::start(Limits {
        max_in_flight: 2,
        ..Limits::default()
    })
    .await;
    let client = reqwest::Client::new();
    let hanging: Vec<_> = (0..2)
        .map(|_| {
            let request = client.get(format!("http://{}/hang", server.address)).send();
            tokio::spawn(request)
        })
        .collect();
    // Until both hang inside the cap, a third may still get in: ask until one is shed.
    let mut tries = 0;
    let shed = loop {
        let response = server.get("/ok").await;
        if response.status() == 503 {
            break response;
        }
        tries += 1;
        assert!(tries < 10_000, "never shed");
    };
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(body["error"], "overloaded");
    server.release.notify_waiters();
    for request in hanging {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    assert_eq!(server.get("/ok").await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_503() {
    let server = Server::start(Limits {
        request_timeout_ms: 200,
        ..Limits::default()
    })
    .await;
    let response = server.get("/hang").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "request_timeout");
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let server = Server::start(Limits {
        max_connections: 1,
        header_timeout_ms: 60_000,
        ..Limits::default()
    })
    .await;
    let mut holder = TcpStream::connect(&server.address).await.unwrap();
    holder
        .write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0_u8; 256];
    let _ = holder.read(&mut answer).await.unwrap();
    let mut waiting = tokio::spawn({
        let address = server.address.clone();
        async move {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            stream
                .write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        }
    });
    // The second is not served while the first holds the only connection...
    let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "served past the cap: {early:?}");
    // ...and is as soon as it closes.
    drop(holder);
    let answer = waiting.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}
