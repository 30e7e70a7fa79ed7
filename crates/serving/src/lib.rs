//! Serving HTTP under a ticket rush: every connection and every request bounded in
//! number and in time, overload shed at once with 503 + `Retry-After` instead of queued,
//! and a graceful drain on shutdown.
//!
//! `axum::serve` sets no timer on its connections, so a client that sends half a header
//! and then nothing keeps its connection (and a file descriptor) for ever; it also bounds
//! neither connections nor requests in flight. This crate is the accept loop the gateway
//! and the ticketing services share instead: hyper's HTTP/1 server with a header-read
//! timeout (which also closes idle keep-alive connections), a write timeout on every
//! socket (a client that never reads its answers), a cap on open connections (the rest
//! wait in the listen backlog), and a tower stack that answers a request in time or sheds
//! it.

mod guard;
mod limits;
mod plain_error;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

pub use limits::{InvalidLimit, Limits};
pub use plain_error::PlainError;

/// How long to wait before accepting again after `accept` failed (out of file
/// descriptors, say), rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then stops
/// accepting and gives the connections in flight `limits.drain_timeout_ms` to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let service = guard::guarded(router, &limits);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout())
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout()));
        let io = TokioIo::new(Box::pin(stream));
        let service = TowerToHyperService::new(with_peer(service.clone(), peer));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout(), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
    Ok(())
}

/// Gives every request the client's address (`ConnectInfo`), as `axum::serve` would.
fn with_peer<S>(
    service: S,
    peer: SocketAddr,
) -> impl Service<
    hyper::Request<Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone
+ Send
where
    S: Service<hyper::Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    service.map_request(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    })
}
