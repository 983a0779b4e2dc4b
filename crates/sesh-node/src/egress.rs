//! What a node lets a stranger make it fetch: the last hop of an onion request can ask the node
//! to relay a request to an HTTP server (`Action::Relay`), which is the node reaching out on an
//! anonymous sender's behalf. A node relays only to a public server named by a plain host, and
//! reads at most [`MAX_ANSWER`] bytes of any answer it did not ask for itself.
//!
//! - [`check_host`]: the host is a DNS name (letters, digits, hyphens, dots) or an IP address
//!   literal, nothing else: no port, path, query, userinfo, or whitespace smuggled into the URL
//!   the node builds from it.
//! - [`check_ip`]: every address the node would connect to is public: not loopback, private,
//!   link-local, shared (CGNAT), unspecified, multicast, broadcast, documentation or otherwise
//!   reserved, IPv4 or IPv6 (with IPv4-mapped and 6to4-wrapped addresses judged by the IPv4
//!   inside), unless the operator allows private destinations (a local testnet whose servers
//!   are on loopback).
//!
//! The node resolves the name itself and connects only to the addresses that pass, and follows
//! no redirect.
//!
//! ```
//! use sesh_node::egress::{self, Egress};
//!
//! assert_eq!(egress::check_host("files.example.org"), Ok(Egress::Name("files.example.org".into())));
//! assert!(egress::check_host("127.0.0.1:22599/admin/secret?token=").is_err());
//! assert!(egress::check_ip("127.0.0.1".parse()?, false).is_err());
//! assert!(egress::check_ip("127.0.0.1".parse()?, true).is_ok());
//! assert!(egress::check_ip("93.184.216.34".parse()?, false).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// The most a node reads of an answer from another node or a relayed server: the live
/// network's message limit (OxenMQ's `MAX_MSG_SIZE`, libsession-util's onion parser limit),
/// 10 MiB.
pub const MAX_ANSWER: usize = 10 * 1024 * 1024;

/// A relay target's host, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Egress {
    /// A DNS name, to resolve (and whose addresses [`check_ip`] must pass).
    Name(String),
    /// An address literal (already checked with the policy given to [`check_host`]'s caller).
    Ip(IpAddr),
}

/// Checks the host of a relay target: a DNS name or an IP literal (IPv6 in brackets or bare).
///
/// # Errors
/// [`Error::Egress`] saying what is wrong with it.
pub fn check_host(host: &str) -> Result<Egress> {
    let refuse = |why: &str| Err(Error::Egress(format!("host {host:?} {why}")));
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(Egress::Ip(ip));
    }
    if host.is_empty() || host.len() > 253 {
        return refuse("must be a DNS name of 1 to 253 characters");
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    for label in name.split('.') {
        let ldh = label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if label.is_empty()
            || label.len() > 63
            || !ldh
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return refuse(
                "is not a DNS name (letters, digits and hyphens between dots) or an IP address",
            );
        }
    }
    if name.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // `127.1` and friends: numeric names that resolvers read as addresses.
        return refuse("is a numeric name, not a DNS name or a dotted-quad IPv4 address");
    }
    Ok(Egress::Name(host.to_ascii_lowercase()))
}

/// [`check_host`], and an address literal checked at once with [`check_ip`]: what a node checks
/// before it relays (a name's addresses are checked as it resolves them).
///
/// # Errors
/// As [`check_host`] and [`check_ip`].
pub fn check_target(host: &str, allow_private: bool) -> Result<Egress> {
    let target = check_host(host)?;
    if let Egress::Ip(ip) = target {
        check_ip(ip, allow_private)?;
    }
    Ok(target)
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18)) // benchmarking
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    let [s0, s1, ..] = s;
    if s0 == 0x2002 {
        // 6to4: the IPv4 address in the next 32 bits.
        let v4 = Ipv4Addr::from((u32::from(s1) << 16) | u32::from(s.get(2).copied().unwrap_or(0)));
        return public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s0 & 0xfe00) == 0xfc00 // unique local
        || (s0 & 0xffc0) == 0xfe80 // link-local
        || (s0 == 0x2001 && s1 == 0x0db8) // documentation
        || (s0 == 0x0064 && s1 == 0xff9b) // NAT64
        || s0 == 0x0100 // discard-only
        || s[..6] == [0; 6]) // IPv4-compatible and other ::/96 forms
}

/// Checks an address a relay would connect to; `allow_private` is the operator's opt-in for
/// local networks.
///
/// # Errors
/// [`Error::Egress`] naming the address.
pub fn check_ip(ip: IpAddr, allow_private: bool) -> Result<()> {
    let public = match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    };
    if public || (allow_private && !ip.is_unspecified() && !ip.is_multicast()) {
        Ok(())
    } else {
        Err(Error::Egress(format!(
            "{ip} is not a public address (loopback, private, link-local or reserved); relays go to public servers only"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hosts() {
        for good in ["example.org", "a-b.c1.example.", "xn--bcher-kva.example", "localhost"] {
            assert!(matches!(check_host(good), Ok(Egress::Name(_))), "{good}");
        }
        assert_eq!(check_host("[::1]"), Ok(Egress::Ip("::1".parse().unwrap())));
        assert_eq!(check_host("10.0.0.1"), Ok(Egress::Ip("10.0.0.1".parse().unwrap())));
        assert!(check_target("10.0.0.1", false).is_err());
        assert!(check_target("10.0.0.1", true).is_ok());
        assert!(check_target("example.org", false).is_ok());
        for bad in [
            "",
            "127.0.0.1:22599/admin/secret?token=",
            "example.org:80",
            "example.org/x",
            "user@example.org",
            "exa mple.org",
            "-x.example",
            "x..example",
            "127.1",
            "ex\u{e4}mple.org",
            &"a".repeat(64),
        ] {
            assert!(check_host(bad).is_err(), "{bad:?}");
        }
        // A name that some resolvers read as an address is still a name here: what it resolves
        // to goes through `check_ip`.
        assert!(matches!(check_host("0x7f000001"), Ok(Egress::Name(_))));
    }

    #[test]
    fn addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2002:7f00:1::",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(check_ip(ip, false).is_err(), "{private}");
        }
        for public in
            ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "::ffff:1.1.1.1", "2002:0101:0101::"]
        {
            assert!(check_ip(public.parse().unwrap(), false).is_ok(), "{public}");
        }
        // The operator's opt-in lets loopback and private through, never unspecified or multicast.
        assert!(check_ip("127.0.0.1".parse().unwrap(), true).is_ok());
        assert!(check_ip("10.0.0.1".parse().unwrap(), true).is_ok());
        assert!(check_ip("0.0.0.0".parse().unwrap(), true).is_err());
        assert!(check_ip("224.0.0.1".parse().unwrap(), true).is_err());
    }
}
