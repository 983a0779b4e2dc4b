//! A node's place in the network: its swarm, its peers, whether it can serve, and which
//! accounts it stores (the [`SwarmView`] that `sesh-rpc`'s handler asks).

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use serde_json::Value;
use sesh_identity::NodeId;
use sesh_network::oxend::ServiceNodesQuery;
use sesh_network::{NetworkState, NodeRecord};
use sesh_rpc::AccountId;
use sesh_rpc::handler::SwarmView;
use sesh_swarm::SwarmId;

/// A node's duties in a network state.
///
/// ```
/// use sesh_identity::NodeId;
/// use sesh_network::NetworkState;
/// use sesh_node::Duty;
///
/// let state = NetworkState::empty([21, 0]);
/// let duty = Duty::new(&state, NodeId::from_bytes([1; 32]));
/// assert_eq!(duty.not_ready(), Some("not registered with the network yet"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Duty<'a> {
    state: &'a NetworkState,
    me: NodeId,
    seed: u64,
}

impl<'a> Duty<'a> {
    /// Node `me` in `state`.
    pub fn new(state: &'a NetworkState, me: NodeId) -> Self {
        Self { state, me, seed: 0 }
    }

    /// The randomness its answers draw on (the sample and order of a limited service-node
    /// list): give each request its own.
    #[must_use]
    pub fn with_seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// The node's swarm, once it has one.
    pub fn swarm(&self) -> Option<SwarmId> {
        self.state.swarm_of(&self.me)
    }

    /// The other members of its swarm.
    pub fn peers(&self) -> Vec<&'a NodeRecord> {
        let state = self.state;
        self.swarm()
            .map(|s| state.members(s))
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.id != self.me)
            .collect()
    }

    /// Why the node cannot serve yet, if it cannot (the storage server's 503 reason).
    pub fn not_ready(&self) -> Option<&'static str> {
        if self.state.node(&self.me).is_none() {
            Some("not registered with the network yet")
        } else if self.swarm().is_none() {
            Some("not in a swarm")
        } else {
            None
        }
    }
}

impl SwarmView for Duty<'_> {
    fn owns(&self, account: &AccountId) -> bool {
        let mine = self.swarm();
        mine.is_some() && self.state.swarm_for(&account.to_bytes()) == mine
    }

    fn swarm_json(&self, account: &AccountId) -> Value {
        self.state.swarm_json(self.state.swarm_for(&account.to_bytes()))
    }

    /// `get_service_nodes` from this node's network state, as oxend answers it; sesh has no
    /// name service, so `ons_resolve` is refused.
    fn oxend(&self, endpoint: &str, params: Option<&Value>) -> Result<Value, String> {
        if endpoint != "get_service_nodes" {
            return Err(format!("{endpoint}: this network has no Session names"));
        }
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed);
        ServiceNodesQuery::parse(params)
            .map(|q| q.answer(self.state, &mut rng))
            .map_err(|e| e.text().to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sesh_identity::X25519PublicKey;
    use sesh_swarm::SwarmMap;

    fn record(k: u8) -> NodeRecord {
        NodeRecord {
            id: NodeId::from_bytes([k; 32]),
            x25519: X25519PublicKey::from_bytes([k; 32]),
            ip: "127.0.0.1".parse().unwrap(),
            port: 20_000 + u16::from(k),
            tls: true,
        }
    }

    #[test]
    fn a_node_serves_the_accounts_of_its_swarm_only() {
        // Nodes 1 and 2 in swarm 0, node 3 in swarm 2^63, node 4 listed without a swarm.
        let map = SwarmMap::from_assignments([
            (record(1).id, SwarmId::new(0).unwrap()),
            (record(2).id, SwarmId::new(0).unwrap()),
            (record(3).id, SwarmId::new(1 << 63).unwrap()),
        ])
        .unwrap();
        let state = NetworkState::new(5, [21, 0], [0; 32], (1..=4).map(record), map).unwrap();
        let near_zero = AccountId::new(5, [0; 32]);
        // The swarm space XORs the key's four 8-byte words: this one lands at 2^63.
        let mut key = [0; 32];
        key[0] = 0x80;
        let far = AccountId::new(5, key);

        let one = Duty::new(&state, record(1).id);
        assert_eq!(one.not_ready(), None);
        assert_eq!(one.peers(), [&record(2)]);
        assert!(one.owns(&near_zero) && !one.owns(&far));
        assert_eq!(one.swarm_json(&far)["swarm"], "8000000000000000");
        assert_eq!(one.swarm_json(&far)["snodes"][0]["pubkey_ed25519"], record(3).id.to_string());

        let three = Duty::new(&state, record(3).id);
        assert!(three.owns(&far) && !three.owns(&near_zero));
        assert!(three.peers().is_empty());

        // Listed but in no swarm, and not listed at all: not ready, and owns nothing.
        let four = Duty::new(&state, record(4).id);
        assert_eq!(four.not_ready(), Some("not in a swarm"));
        assert!(!four.owns(&near_zero) && !four.owns(&far));
        let stranger = Duty::new(&state, record(9).id);
        assert_eq!(stranger.not_ready(), Some("not registered with the network yet"));
        assert!(stranger.peers().is_empty());
    }
}
