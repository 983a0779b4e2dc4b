//! Counters for `GET /metrics`, in the Prometheus text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A request's labels: the endpoint (`storage_rpc`, `onion`, `forwarded`, …), the RPC method
/// (or `-`), the HTTP status answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    endpoint: &'static str,
    method: String,
    status: u16,
}

/// An outcome's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    outcome: &'static str,
}

/// Counts by outcome.
pub type Outcomes = Family<OutcomeLabels, Counter>;

/// Declares the node's metrics once: each field, its name under `sesh_node_` and its help text
/// (which is also the field's documentation).
macro_rules! metrics {
    ($($field:ident: $ty:ty = $name:literal, $help:literal;)*) => {
        /// The node's counters, registered under `sesh_node_<name>`.
        #[derive(Debug, Default)]
        pub struct Metrics {
            registry: Registry,
            $(#[doc = $help] pub $field: $ty,)*
        }

        impl Metrics {
            /// Every counter at zero, registered.
            pub fn new() -> Self {
                let mut m = Self { registry: Registry::with_prefix("sesh_node"), ..Self::default() };
                $(m.registry.register($name, $help, m.$field.clone());)*
                m
            }
        }
    };
}

impl Metrics {
    /// Counts a request.
    pub fn request(&self, endpoint: &'static str, method: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, method: method.to_owned(), status })
            .inc();
    }

    /// Counts `n` of an outcome in a family.
    pub fn outcome(family: &Outcomes, outcome: &'static str, n: u64) {
        family.get_or_create(&OutcomeLabels { outcome }).inc_by(n);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

metrics! {
    requests: Family<RequestLabels, Counter> = "requests", "Requests by endpoint, method and status";
    rate_limited: Counter = "rate_limited", "Client requests refused by the rate limiter";
    stored_messages: Gauge = "stored_messages", "Messages in the database";
    stored_bytes: Gauge = "stored_bytes", "Bytes of message bodies in the database";
    db_bytes: Gauge = "db_bytes", "Bytes of database pages in use";
    expired: Counter = "expired_messages", "Messages removed by the expiry timer";
    evicted: Gauge = "evicted_messages", "Messages dropped to stay under the size cap";
    forwards: Outcomes = "swarm_forwards", "Recursive requests forwarded to swarm peers";
    handover: Outcomes = "handover_messages", "Messages handed over or fetched on swarm changes";
    onion: Outcomes = "onion_layers", "Onion layers handled, by outcome";
    height: Gauge = "network_height", "The network height last seen";
    tests: Outcomes = "obligation_tests", "Tests of other nodes, by outcome";
    votes: Outcomes = "state_change_votes", "State-change votes sent, by state";
    streams: Outcomes = "node_streams", "Node-to-node streams: opened, accepted, refused by a peer, ended by a bad frame";
}
