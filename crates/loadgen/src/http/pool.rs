//! A bounded pool of HTTP/1.1 keep-alive connections to one server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::{Call, HttpError, Reply};

/// Bounds of a [`Pool`].
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections open at once; each carries one request at a time.
    pub connections: usize,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// How long a request may take from the moment it has a connection.
    pub request_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            connections: 256,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        }
    }
}

type Sender = SendRequest<Full<Bytes>>;

/// Keep-alive connections to one server, at most `connections` of them; a request waits
/// for a free connection when all are busy.
pub struct Pool {
    addr: SocketAddr,
    host: String,
    options: PoolOptions,
    idle: Mutex<Vec<Sender>>,
    permits: Semaphore,
}

impl Pool {
    /// A pool for `addr`; connects lazily.
    pub fn new(addr: SocketAddr, options: PoolOptions) -> Arc<Self> {
        Arc::new(Self {
            addr,
            host: addr.to_string(),
            options,
            idle: Mutex::new(Vec::with_capacity(options.connections)),
            permits: Semaphore::new(options.connections.max(1)),
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `call` and reads the whole reply.
    pub async fn send(&self, call: &Call) -> Result<Reply, HttpError> {
        let request = call.to_request(&self.host)?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HttpError::Protocol("pool closed".into()))?;
        let mut sender = self.checkout().await?;
        let exchange = async {
            sender
                .ready()
                .await
                .map_err(|error| HttpError::Protocol(error.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|error| HttpError::Protocol(error.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|error| HttpError::Protocol(error.to_string()))?
                .to_bytes();
            let retry_after_seconds = parts
                .headers
                .get(http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse().ok());
            Ok(Reply {
                status: parts.status.as_u16(),
                retry_after_seconds,
                body,
            })
        };
        let reply = tokio::time::timeout(self.options.request_timeout, exchange)
            .await
            .map_err(|_| HttpError::Timeout)?;
        // Only a connection that finished its exchange cleanly goes back to the pool.
        if reply.is_ok() && !sender.is_closed() {
            self.idle.lock().push(sender);
        }
        reply
    }

    async fn checkout(&self) -> Result<Sender, HttpError> {
        loop {
            let Some(sender) = self.idle.lock().pop() else {
                break;
            };
            if !sender.is_closed() {
                return Ok(sender);
            }
        }
        self.connect().await
    }

    async fn connect(&self) -> Result<Sender, HttpError> {
        let connect_error = |reason: String| HttpError::Connect {
            addr: self.addr,
            reason,
        };
        let stream =
            tokio::time::timeout(self.options.connect_timeout, TcpStream::connect(self.addr))
                .await
                .map_err(|_| connect_error("timed out".into()))?
                .map_err(|error| connect_error(error.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|error| connect_error(error.to_string()))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| connect_error(error.to_string()))?;
        tokio::spawn(async move {
            // The connection ends when its sender is dropped or the server closes it.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::tiny_server;

    #[tokio::test]
    async fn reuses_connections_within_the_bound() {
        let (addr, accepted) = tiny_server().await;
        let pool = Pool::new(
            addr,
            PoolOptions {
                connections: 4,
                ..PoolOptions::default()
            },
        );
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.send(&Call::get("/healthz")).await
            }));
        }
        for task in tasks {
            let reply = task.await.unwrap().unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.retry_after_seconds, Some(3));
            assert_eq!(&reply.body[..], b"ok");
        }
        assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) <= 4);
    }

    #[tokio::test]
    async fn a_dead_server_is_an_error_not_a_hang() {
        let port = breakwater_testkit::ports::free_port().unwrap();
        let pool = Pool::new(
            SocketAddr::from(([127, 0, 0, 1], port)),
            PoolOptions::default(),
        );
        assert!(matches!(
            pool.send(&Call::get("/")).await,
            Err(HttpError::Connect { .. })
        ));
    }
}
