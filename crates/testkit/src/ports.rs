//! Free loopback ports.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is released before it is returned, so a race with another process is
/// possible; callers that start servers retry on a bind failure.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A free port whose `port + offset` is free as well (Redis Cluster uses port + 10000
/// for its bus).
pub fn free_port_with_companion(offset: u16) -> anyhow::Result<u16> {
    for _ in 0..100 {
        let port = free_port()?;
        let Some(companion) = port.checked_add(offset) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", companion)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port pair with offset {offset} found")
}
