//! The storage server's per-client token buckets: 600 tokens, refilled at 300 a second, for at
//! most 10 000 clients at once (a client beyond that is limited until buckets refill).
//!
//! Time is the caller's: each call takes the `Instant` it happens at.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use sesh_node::ratelimit::{BUCKET_SIZE, RateLimiter};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let t0 = Instant::now();
//! let mut limiter = RateLimiter::default();
//! let client = Ipv4Addr::new(203, 0, 113, 7);
//! assert!((0..BUCKET_SIZE).all(|_| !limiter.should_limit(client, t0)));
//! assert!(limiter.should_limit(client, t0)); // the burst is spent
//! assert!(!limiter.should_limit(client, t0 + Duration::from_millis(10))); // 3 tokens later
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// Tokens in a full bucket.
pub const BUCKET_SIZE: u32 = 600;
/// Tokens added per second.
pub const TOKEN_RATE: u32 = 300;
/// Clients tracked at once.
pub const MAX_CLIENTS: usize = 10_000;

const TOKEN_PERIOD: Duration = Duration::from_micros(1_000_000 / TOKEN_RATE as u64);

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: u32,
    last: Instant,
}

impl Bucket {
    /// Adds the tokens earned since the last one was taken; whether the bucket is now full.
    /// As in the storage server, the fraction of a token earned is kept only until a token is
    /// taken (which moves `last` to now).
    fn fill(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).min(TOKEN_PERIOD * BUCKET_SIZE);
        let added =
            u32::try_from(elapsed.as_micros() / TOKEN_PERIOD.as_micros()).unwrap_or(BUCKET_SIZE);
        self.tokens = self.tokens.saturating_add(added);
        if self.tokens >= BUCKET_SIZE {
            self.tokens = BUCKET_SIZE;
            return true;
        }
        false
    }
}

/// Per-IPv4 token buckets.
#[derive(Debug, Default)]
pub struct RateLimiter {
    clients: HashMap<Ipv4Addr, Bucket>,
}

impl RateLimiter {
    /// Whether a request from `ip` at `now` is over the limit (taking a token if it is not).
    pub fn should_limit(&mut self, ip: Ipv4Addr, now: Instant) -> bool {
        if let Some(bucket) = self.clients.get_mut(&ip) {
            bucket.fill(now);
            if bucket.tokens == 0 {
                return true;
            }
            bucket.tokens -= 1;
            bucket.last = now;
            return false;
        }
        if self.clients.len() >= MAX_CLIENTS {
            self.clean(now);
            if self.clients.len() >= MAX_CLIENTS {
                return true;
            }
        }
        self.clients.insert(ip, Bucket { tokens: BUCKET_SIZE - 1, last: now });
        false
    }

    /// Forgets clients whose buckets are full again (run every 10 s).
    pub fn clean(&mut self, now: Instant) {
        self.clients.retain(|_, b| !b.fill(now));
    }
}

/// Connections a server keeps open from one address at most: past it a new one is refused, so
/// that one client cannot hold all of a node's sockets while others wait.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

/// The connections open from each address, capped.
#[derive(Debug)]
pub struct Connections {
    open: HashMap<IpAddr, usize>,
    max: usize,
}

impl Connections {
    /// At most `max_per_address` open from one address.
    pub fn new(max_per_address: usize) -> Self {
        Self { open: HashMap::new(), max: max_per_address }
    }

    /// Counts a new connection from `ip`; false (and not counted) when `ip` has the most open.
    pub fn open(&mut self, ip: IpAddr) -> bool {
        let n = self.open.entry(ip).or_default();
        if *n >= self.max {
            return false;
        }
        *n += 1;
        true
    }

    /// A connection from `ip` closed.
    pub fn close(&mut self, ip: IpAddr) {
        if let Some(n) = self.open.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.open.remove(&ip);
            }
        }
    }

    /// Connections open from `ip`.
    pub fn open_from(&self, ip: &IpAddr) -> usize {
        self.open.get(ip).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::disallowed_methods)]
    use super::*;

    #[test]
    fn a_burst_of_600_then_300_a_second() {
        let mut rl = RateLimiter::default();
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        let t0 = Instant::now();
        for _ in 0..BUCKET_SIZE {
            assert!(!rl.should_limit(ip, t0));
        }
        assert!(rl.should_limit(ip, t0));
        // Another client is unaffected.
        assert!(!rl.should_limit(Ipv4Addr::new(10, 0, 0, 2), t0));
        // 10 ms later: 3 tokens.
        let t1 = t0 + Duration::from_millis(10);
        for _ in 0..3 {
            assert!(!rl.should_limit(ip, t1));
        }
        assert!(rl.should_limit(ip, t1));
        // After two seconds the bucket is full again and the client is forgotten.
        rl.clean(t1 + Duration::from_secs(2));
        assert!(!rl.clients.contains_key(&ip));
    }

    #[test]
    fn connections_are_capped_per_address() {
        let mut c = Connections::new(2);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        assert!(c.open(a) && c.open(a));
        assert!(!c.open(a), "a third from one address");
        assert!(c.open(b), "another address is not affected");
        c.close(a);
        assert_eq!(c.open_from(&a), 1);
        assert!(c.open(a));
        c.close(a);
        c.close(a);
        c.close(a); // more closes than opens change nothing
        assert_eq!((c.open_from(&a), c.open.len()), (0, 1));
    }

    #[test]
    fn at_most_ten_thousand_clients() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..u32::try_from(MAX_CLIENTS).unwrap() {
            assert!(!rl.should_limit(Ipv4Addr::from(i), t0));
        }
        assert!(rl.should_limit(Ipv4Addr::from(u32::MAX), t0));
        // Once the others' buckets are full again, there is room.
        assert!(!rl.should_limit(Ipv4Addr::from(u32::MAX), t0 + Duration::from_secs(3)));
    }
}
