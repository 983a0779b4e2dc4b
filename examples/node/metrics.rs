//! Counters for `GET /metrics`, in the Prometheus text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A request's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    /// `POST /storage_rpc/v1`, `onion`, `forwarded` or `relay`.
    pub(crate) endpoint: &'static str,
    /// The RPC method (or `-`).
    pub(crate) method: String,
    /// The HTTP status answered.
    pub(crate) status: u16,
}

/// A replication outcome's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    /// What happened.
    pub(crate) outcome: &'static str,
}

/// The node's counters.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    /// Requests by endpoint, method and status.
    pub(crate) requests: Family<RequestLabels, Counter>,
    /// Requests refused by the rate limiter.
    pub(crate) rate_limited: Counter,
    /// Messages in the database.
    pub(crate) stored_messages: Gauge,
    /// Bytes of message bodies in the database.
    pub(crate) stored_bytes: Gauge,
    /// The database's size on disk (pages in use).
    pub(crate) db_bytes: Gauge,
    /// Messages removed by the expiry timer.
    pub(crate) expired: Counter,
    /// Messages dropped to stay under the size cap.
    pub(crate) evicted: Gauge,
    /// Forwards of recursive requests to swarm peers, by outcome.
    pub(crate) forwards: Family<OutcomeLabels, Counter>,
    /// Messages handed over to or fetched from other nodes on swarm changes, by outcome.
    pub(crate) handover: Family<OutcomeLabels, Counter>,
    /// Onion layers handled, by outcome.
    pub(crate) onion: Family<OutcomeLabels, Counter>,
    /// The network height last seen.
    pub(crate) height: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("sesh_node");
        let m = Self {
            requests: Family::default(),
            rate_limited: Counter::default(),
            stored_messages: Gauge::default(),
            stored_bytes: Gauge::default(),
            db_bytes: Gauge::default(),
            expired: Counter::default(),
            evicted: Gauge::default(),
            forwards: Family::default(),
            handover: Family::default(),
            onion: Family::default(),
            height: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests by endpoint, method and status",
            m.requests.clone(),
        );
        registry.register(
            "rate_limited",
            "Client requests refused by the rate limiter",
            m.rate_limited.clone(),
        );
        registry.register("stored_messages", "Messages in the database", m.stored_messages.clone());
        registry.register(
            "stored_bytes",
            "Bytes of message bodies in the database",
            m.stored_bytes.clone(),
        );
        registry.register("db_bytes", "Bytes of database pages in use", m.db_bytes.clone());
        registry.register(
            "expired_messages",
            "Messages removed by the expiry timer",
            m.expired.clone(),
        );
        registry.register(
            "evicted_messages",
            "Messages dropped to stay under the size cap",
            m.evicted.clone(),
        );
        registry.register(
            "swarm_forwards",
            "Recursive requests forwarded to swarm peers",
            m.forwards.clone(),
        );
        registry.register(
            "handover_messages",
            "Messages handed over or fetched on swarm changes",
            m.handover.clone(),
        );
        registry.register("onion_layers", "Onion layers handled, by outcome", m.onion.clone());
        registry.register("network_height", "The network height last seen", m.height.clone());
        Self { registry, ..m }
    }

    /// Counts a request.
    pub(crate) fn request(&self, endpoint: &'static str, method: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, method: method.to_owned(), status })
            .inc();
    }

    /// Counts an outcome in a family.
    pub(crate) fn outcome(family: &Family<OutcomeLabels, Counter>, outcome: &'static str, n: u64) {
        family.get_or_create(&OutcomeLabels { outcome }).inc_by(n);
    }

    /// The text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
