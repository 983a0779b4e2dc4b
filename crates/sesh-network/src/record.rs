//! One node of the network: who it is and where it is reached.

use std::net::Ipv4Addr;

use serde_json::{Value, json};
use sesh_identity::{NodeId, X25519PublicKey};

/// A node as the network state lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    /// Its identity (Ed25519 key).
    pub id: NodeId,
    /// Its X25519 key: what onion layers for it are encrypted to.
    pub x25519: X25519PublicKey,
    /// Its public IPv4 address.
    pub ip: Ipv4Addr,
    /// Its storage server port.
    pub port: u16,
    /// Whether it serves HTTPS (live nodes always do; plain HTTP is for loopback testnets).
    pub tls: bool,
}

impl NodeRecord {
    /// The URL of `path` on this node, e.g. `https://1.2.3.4:22021/storage_rpc/v1`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}:{}{path}", self.ip, self.port)
    }

    /// The node's Lokinet address, `<z-base-32 of its key>.snode`, as the storage server lists
    /// it.
    pub fn snode_address(&self) -> String {
        format!("{}.snode", base32z(self.id.as_bytes()))
    }

    /// The node as the storage server lists swarm members (`get_swarm`, and the `snodes` of a
    /// 421 answer).
    pub fn swarm_entry(&self) -> Value {
        let ed = self.id.to_string();
        json!({
            "address": self.snode_address(),
            "pubkey_legacy": ed,
            "pubkey_x25519": self.x25519.to_string(),
            "pubkey_ed25519": ed,
            "port": self.port.to_string(),
            "port_https": self.port,
            "port_omq": self.port,
            "port_quic": self.port,
            "ip": self.ip.to_string(),
        })
    }
}

/// z-base-32, as oxenc's `to_base32z` writes keys in `.snode` addresses.
pub fn base32z(bytes: &[u8]) -> String {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("ybndrfg8ejkmcpqxot1uwisza345h769");
    match spec.encoding() {
        Ok(encoding) => encoding.encode(bytes),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32z_matches_oxenc() {
        // oxenc: to_base32z of 32 zero bytes is 52 'y's; of 0xffff, "999o".
        assert_eq!(base32z(&[0; 32]), "y".repeat(52));
        assert_eq!(base32z(&[0xff; 2]), "999o");
    }
}
