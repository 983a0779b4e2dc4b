//! The storage server's per-client token buckets: 600 tokens, refilled at 300 a second, for at
//! most 10 000 clients at once (a client beyond that is limited until buckets refill); and the
//! caps on the connections a server keeps open, per address and in total ([`Connections`]).
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

/// Connections a server keeps open at once, all addresses together, when its process may have
/// `descriptors` files open (the soft `RLIMIT_NOFILE`): three quarters of them. The quarter left
/// (256 of the usual 1,024) is for what the server needs besides its clients' connections: its
/// database and log files, its own connections to other nodes and relayed servers, and the
/// ledger keeper's files; a server that ran out of them stops writing, not only answering.
pub fn max_connections(descriptors: u64) -> usize {
    usize::try_from(descriptors - descriptors / 4).unwrap_or(usize::MAX)
}

/// Why [`Connections::open`] refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// Its address has [`Connections::new`]'s `max_per_address` open.
    Address,
    /// The server has `max_total` open, from all addresses together.
    Total,
}

/// The connections open from each address, capped per address and in total.
#[derive(Debug)]
pub struct Connections {
    open: HashMap<IpAddr, usize>,
    total: usize,
    max_total: usize,
    max: usize,
}

impl Connections {
    /// At most `max_total` open at once, and at most `max_per_address` of them from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self { open: HashMap::new(), total: 0, max_total, max: max_per_address }
    }

    /// Counts a new connection from `ip`, or says which cap it would pass (and does not count
    /// it).
    ///
    /// # Errors
    /// [`Full::Total`] when the server has `max_total` open, [`Full::Address`] when `ip` has
    /// `max_per_address` open.
    pub fn open(&mut self, ip: IpAddr) -> Result<(), Full> {
        if self.total >= self.max_total {
            return Err(Full::Total);
        }
        if self.open_from(&ip) >= self.max {
            return Err(Full::Address);
        }
        *self.open.entry(ip).or_default() += 1;
        self.total += 1;
        Ok(())
    }

    /// A connection from `ip` closed.
    pub fn close(&mut self, ip: IpAddr) {
        if let Some(n) = self.open.get_mut(&ip) {
            *n = n.saturating_sub(1);
            self.total = self.total.saturating_sub(1);
            if *n == 0 {
                self.open.remove(&ip);
            }
        }
    }

    /// Connections open from `ip`.
    pub fn open_from(&self, ip: &IpAddr) -> usize {
        self.open.get(ip).copied().unwrap_or(0)
    }

    /// Connections open from all addresses together.
    pub fn open_total(&self) -> usize {
        self.total
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
        let mut c = Connections::new(100, 2);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        assert!(c.open(a).is_ok() && c.open(a).is_ok());
        assert_eq!(c.open(a), Err(Full::Address), "a third from one address");
        assert!(c.open(b).is_ok(), "another address is not affected");
        c.close(a);
        assert_eq!(c.open_from(&a), 1);
        assert!(c.open(a).is_ok());
        c.close(a);
        c.close(a);
        c.close(a); // more closes than opens change nothing
        assert_eq!((c.open_from(&a), c.open.len(), c.open_total()), (0, 1, 1));
    }

    #[test]
    fn connections_are_capped_in_total() {
        let mut c = Connections::new(5, 2);
        let ip = |i: u8| IpAddr::from([10, 0, 0, i]);
        // Five addresses, one connection each, fill the server; a sixth address is refused, and
        // so is a second connection from one that has room under its own cap.
        for i in 1..=5 {
            assert!(c.open(ip(i)).is_ok());
        }
        assert_eq!(c.open(ip(6)), Err(Full::Total));
        assert_eq!(c.open(ip(1)), Err(Full::Total));
        assert_eq!((c.open_total(), c.open.len()), (5, 5), "refusals are not counted");
        // One closes: there is room for one more, from any address.
        c.close(ip(3));
        assert_eq!(c.open_total(), 4);
        assert!(c.open(ip(6)).is_ok());
        assert_eq!(c.open(ip(7)), Err(Full::Total));
        // Closes from an address with nothing open do not make room.
        c.close(ip(7));
        c.close(ip(3));
        assert_eq!(c.open_total(), 5);
        // The per-address cap still holds under the total.
        let mut c = Connections::new(5, 2);
        assert!(c.open(ip(1)).is_ok() && c.open(ip(1)).is_ok());
        assert_eq!(c.open(ip(1)), Err(Full::Address));
        assert_eq!(c.open_total(), 2);
    }

    #[test]
    fn three_quarters_of_the_descriptors_for_connections() {
        assert_eq!(max_connections(1024), 768);
        assert_eq!(max_connections(65_536), 49_152);
        assert_eq!(max_connections(0), 0);
        assert!(max_connections(u64::MAX) > 0);
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
