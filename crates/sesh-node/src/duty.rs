//! A node's place in the network: its swarm, its peers, whether it can serve, and which
//! accounts it stores (the [`SwarmView`] that `sesh-rpc`'s handler asks).

use serde_json::Value;
use sesh_identity::NodeId;
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
}

impl<'a> Duty<'a> {
    /// Node `me` in `state`.
    pub fn new(state: &'a NetworkState, me: NodeId) -> Self {
        Self { state, me }
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
}
