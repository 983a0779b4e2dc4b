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

/// The node's counters (each registered under `sesh_node_<name>` with the help text below).
#[derive(Debug, Default)]
pub struct Metrics {
    registry: Registry,
    /// Requests by endpoint, method and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Client requests refused by the rate limiter.
    pub rate_limited: Counter,
    /// Messages in the database.
    pub stored_messages: Gauge,
    /// Bytes of message bodies in the database.
    pub stored_bytes: Gauge,
    /// Bytes of database pages in use.
    pub db_bytes: Gauge,
    /// Messages removed by the expiry timer.
    pub expired: Counter,
    /// Messages dropped to stay under the size cap.
    pub evicted: Gauge,
    /// Recursive requests forwarded to swarm peers, by outcome.
    pub forwards: Outcomes,
    /// Messages handed over or fetched on swarm changes, by outcome.
    pub handover: Outcomes,
    /// Onion layers handled, by outcome.
    pub onion: Outcomes,
    /// The network height last seen.
    pub height: Gauge,
}

impl Metrics {
    /// Every counter at zero, registered.
    pub fn new() -> Self {
        let mut m = Self { registry: Registry::with_prefix("sesh_node"), ..Self::default() };
        let r = &mut m.registry;
        r.register("requests", "Requests by endpoint, method and status", m.requests.clone());
        r.register(
            "rate_limited",
            "Client requests refused by the rate limiter",
            m.rate_limited.clone(),
        );
        r.register("stored_messages", "Messages in the database", m.stored_messages.clone());
        r.register(
            "stored_bytes",
            "Bytes of message bodies in the database",
            m.stored_bytes.clone(),
        );
        r.register("db_bytes", "Bytes of database pages in use", m.db_bytes.clone());
        r.register("expired_messages", "Messages removed by the expiry timer", m.expired.clone());
        r.register(
            "evicted_messages",
            "Messages dropped to stay under the size cap",
            m.evicted.clone(),
        );
        r.register(
            "swarm_forwards",
            "Recursive requests forwarded to swarm peers",
            m.forwards.clone(),
        );
        r.register(
            "handover_messages",
            "Messages handed over or fetched on swarm changes",
            m.handover.clone(),
        );
        r.register("onion_layers", "Onion layers handled, by outcome", m.onion.clone());
        r.register("network_height", "The network height last seen", m.height.clone());
        m
    }

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
