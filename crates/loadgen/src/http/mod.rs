//! A small HTTP/1.1 client for load: a bounded pool of keep-alive connections to one
//! loopback server, requests described as plain data, replies read whole.

mod call;
mod pool;
#[cfg(test)]
pub(crate) mod test_server;

pub use call::{Call, Reply};
pub use pool::{Pool, PoolOptions};

use std::net::SocketAddr;

/// Why a request got no HTTP reply.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The connection could not be opened in time.
    #[error("connect to {addr} failed: {reason}")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// No complete reply within the request timeout.
    #[error("request timed out")]
    Timeout,
    /// The connection broke or the reply was malformed.
    #[error("HTTP error: {0}")]
    Protocol(String),
    /// The request itself could not be built.
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// Why a target address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad target `{target}`: {reason}")]
pub struct TargetError {
    target: String,
    reason: &'static str,
}

/// Reads `http://127.0.0.1:PORT` (or `localhost`, or a bare `HOST:PORT`) into a socket
/// address. Only loopback targets are accepted: this tool floods what it is pointed at.
pub fn parse_target(target: &str) -> Result<SocketAddr, TargetError> {
    let error = |reason| TargetError {
        target: target.to_owned(),
        reason,
    };
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let host_port = host_port.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = host_port
        .parse()
        .map_err(|_| error("expected http://127.0.0.1:PORT"))?;
    if !addr.ip().is_loopback() {
        return Err(error("only loopback addresses may be targeted"));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_loopback_only() {
        assert_eq!(
            parse_target("http://127.0.0.1:8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse_target("localhost:9000/x").unwrap(),
            "127.0.0.1:9000".parse().unwrap()
        );
        assert!(parse_target("http://10.0.0.1:80").is_err());
        assert!(parse_target("http://example.com:80").is_err());
        assert!(parse_target("127.0.0.1").is_err());
    }
}
