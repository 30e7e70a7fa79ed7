//! Per-client limits on the buyer API: how often one client may join a line and how
//! often it may call at all, so one machine cannot take 50,000 places in a row. A
//! client is its address (an IPv6 client its /64, which one subscriber usually gets);
//! the address a proxy forwards counts only when the proxy is one the operator trusts.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::HeaderMap;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// How often one client may call the buyer API, and which proxies to believe. A
/// configuration section (`[clients]` in a TOML file, `BREAKWATER_CLIENTS__<KEY>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientLimits {
    /// Joins one client may make per minute, across events (0: no limit).
    pub joins_per_minute: u32,
    /// Joins one client may make at once before the per-minute pace applies.
    pub join_burst: u32,
    /// Buyer API calls (polls, enters, holds, ...) one client may make per second (0: no
    /// limit).
    pub calls_per_second: u32,
    /// Calls one client may make at once before the per-second pace applies.
    pub call_burst: u32,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ClientLimits {
    fn default() -> Self {
        // A household or an office behind one address joins a few times; a carrier's
        // NAT may put many buyers behind one, so the limits leave room for that.
        Self {
            joins_per_minute: 30,
            join_burst: 30,
            calls_per_second: 50,
            call_burst: 100,
            trusted_proxies: Vec::new(),
        }
    }
}

impl ClientLimits {
    /// No limits at all: for a load generator that plays many buyers from one address.
    pub fn unlimited() -> Self {
        Self {
            joins_per_minute: 0,
            join_burst: 0,
            calls_per_second: 0,
            call_burst: 0,
            trusted_proxies: Vec::new(),
        }
    }

    /// Checks every limit; the error names the key.
    pub fn validate(&self) -> Result<(), InvalidClientLimit> {
        let bursts = [
            ("clients.join_burst", self.joins_per_minute, self.join_burst),
            ("clients.call_burst", self.calls_per_second, self.call_burst),
        ];
        for (key, rate, burst) in bursts {
            if rate > 0 && burst == 0 {
                return Err(InvalidClientLimit {
                    key,
                    reason: "must be at least 1 while its rate is set",
                });
            }
        }
        Ok(())
    }
}

/// A client limit that cannot work; names the configuration key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` {reason}")]
pub struct InvalidClientLimit {
    /// The key, `clients.` and its name within the section.
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The limiters of one gateway, keyed by client.
#[derive(Clone)]
pub(crate) struct ClientGuard {
    joins: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    calls: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    trusted_proxies: Arc<[IpNet]>,
}

/// What a limited client is told: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooMany {
    pub retry_after: Duration,
}

impl ClientGuard {
    pub(crate) fn new(limits: &ClientLimits) -> Self {
        Self {
            joins: limiter(
                Quota::per_minute,
                limits.joins_per_minute,
                limits.join_burst,
            ),
            calls: limiter(
                Quota::per_second,
                limits.calls_per_second,
                limits.call_burst,
            ),
            trusted_proxies: limits.trusted_proxies.clone().into(),
        }
    }

    /// Who the client is: the peer, or what trusted proxies say the peer is.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_address(peer, headers, &self.trusted_proxies)
    }

    /// Counts one call of `client`, and one join if it is one.
    pub(crate) fn admit(&self, client: IpAddr, joining: bool) -> Result<(), TooMany> {
        check(self.calls.as_deref(), client)?;
        if joining {
            check(self.joins.as_deref(), client)?;
        }
        Ok(())
    }

    /// Forgets clients whose limits are back to full, so memory follows the clients of
    /// the last minute, not every client ever seen.
    pub(crate) fn forget_idle(&self) {
        for limiter in [&self.joins, &self.calls].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// How often idle clients are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Forgets idle clients every [`SWEEP_EVERY`] until `shutdown`.
pub(crate) fn spawn_sweeper(state: crate::GatewayState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => state.clients().forget_idle(),
            }
        }
    });
}

fn limiter(
    per: fn(NonZeroU32) -> Quota,
    rate: u32,
    burst: u32,
) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
    let rate = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(Arc::new(DefaultKeyedRateLimiter::keyed(
        per(rate).allow_burst(burst),
    )))
}

fn check(limiter: Option<&DefaultKeyedRateLimiter<IpAddr>>, client: IpAddr) -> Result<(), TooMany> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(&client).map_err(|not_until| TooMany {
        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
    })
}

/// The client behind `peer`: walking `X-Forwarded-For` from the right (each proxy
/// appends the address it heard from), the first hop not a trusted proxy. A peer that
/// is not trusted is the client, whatever it claims.
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    let mut client = peer;
    if !is_trusted(&client) {
        return key_of(client);
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|value| value.to_str().unwrap_or_default().rsplit(','));
    for hop in hops {
        // Anything unreadable is left of the trusted hops: stop at the last one known.
        let Ok(address) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = address;
        if !is_trusted(&client) {
            break;
        }
    }
    key_of(client)
}

/// One key per subscriber: IPv4 as is (also when written as IPv6), IPv6 by its /64.
fn key_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", value.parse().expect("header"));
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn nets(texts: &[&str]) -> Vec<IpNet> {
        texts
            .iter()
            .map(|text| text.parse().expect("net"))
            .collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let client = client_address(ip("203.0.113.7"), &headers(&["1.2.3.4"]), &[]);
        assert_eq!(client, ip("203.0.113.7"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_hops_left_of_it_are_ignored() {
        let trusted = nets(&["10.0.0.0/8"]);
        let forwarded = headers(&["6.6.6.6, 198.51.100.9", "10.1.1.1"]);
        let client = client_address(ip("10.0.0.2"), &forwarded, &trusted);
        assert_eq!(client, ip("198.51.100.9"));
    }

    #[test]
    fn an_unreadable_hop_stops_at_the_last_trusted_one() {
        let trusted = nets(&["10.0.0.0/8"]);
        let client = client_address(ip("10.0.0.2"), &headers(&["garbage"]), &trusted);
        assert_eq!(client, ip("10.0.0.2"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(key_of(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn a_client_past_its_burst_is_told_when_to_return_and_others_are_not_affected() {
        let guard = ClientGuard::new(&ClientLimits {
            joins_per_minute: 2,
            join_burst: 2,
            ..ClientLimits::default()
        });
        let (bot, buyer) = (ip("192.0.2.1"), ip("192.0.2.2"));
        assert!(guard.admit(bot, true).is_ok());
        assert!(guard.admit(bot, true).is_ok());
        let refused = guard.admit(bot, true).expect_err("third join");
        assert!(refused.retry_after > Duration::from_secs(20));
        assert!(guard.admit(bot, false).is_ok(), "polls are not joins");
        assert!(guard.admit(buyer, true).is_ok());
    }

    #[test]
    fn a_zero_burst_with_a_rate_is_refused_with_its_key() {
        let limits = ClientLimits {
            call_burst: 0,
            ..ClientLimits::default()
        };
        assert_eq!(
            limits.validate().map_err(|e| e.key),
            Err("clients.call_burst")
        );
    }
}
