//! The node's shared state, and the storage RPC as the node runs it: `sesh-rpc`'s handler over
//! the SQLite store, on the database thread (writes, group-committed) or a reader (reads), and
//! recursive requests sent on to the swarm as `sesh-node`'s replication says.

use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::Duration;

use serde_json::json;
use sesh_identity::{Identity, NodeId};
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::Duty;
use sesh_node::ratelimit::RateLimiter;
use sesh_node::replication;
use sesh_rpc::handler::{self, Body, Context, Node};
use sesh_rpc::request::{self, is_known_method, is_read_only_method};

use crate::lock;
use crate::node::Args;
use crate::node::db::Db;
use crate::node::metrics::Metrics;
use crate::node::peer;

/// How many `05` key conversions a node remembers (64 bytes of keys each).
const CONVERSIONS_HELD: usize = 1 << 16;

/// How many peers' link keys a node keeps (`sesh_network::link`; 32 bytes each).
const LINKS_HELD: usize = 1 << 14;

/// How long a swarm peer has to answer a forwarded request.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the handlers share.
pub struct App {
    /// The node's key.
    pub identity: Identity,
    /// Its id.
    pub me: NodeId,
    /// Where this node is reached (what it tells the network).
    pub info: NodeRecord,
    db: DbThread,
    /// Threads with read-only connections for requests that only read, so that they run in
    /// parallel beside the writer.
    readers: ReadThreads,
    state: RwLock<Arc<NetworkState>>,
    /// Counters.
    pub metrics: Metrics,
    /// Per-client token buckets.
    pub limiter: Option<Mutex<RateLimiter>>,
    /// For requests to other nodes (self-signed certificates: nodes are authenticated by their
    /// request signatures, not by TLS).
    pub peers: reqwest::Client,
    /// For onion relays to HTTP servers (certificates checked, public addresses only, no
    /// redirects).
    pub web: reqwest::Client,
    /// What the node follows of the staking contract.
    pub chain: Arc<crate::node::chain::Following>,
    /// The command line it was started with.
    pub settings: Args,
    /// One handover at a time.
    pub handover: tokio::sync::Mutex<()>,
    /// Its quorum cop and tests.
    pub obligations: crate::node::obligations::Obligations,
    /// The `05` accounts' key conversions checked so far (each about a signature check's work).
    pub conversions: handler::Conversions,
    /// The keys it shares with the nodes it talks to: requests between nodes carry a MAC
    /// under them instead of a signature (`sesh_network::link`).
    pub links: sesh_network::link::Links,
    /// Its streams to the peers it sends requests to.
    pub streams: crate::node::stream::Streams,
}

impl core::fmt::Debug for App {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("App").field("me", &self.me).finish_non_exhaustive()
    }
}

/// A failure of the node itself (a database task that died): answered 500.
#[derive(Debug)]
pub struct Internal(pub String);

fn internal(e: impl std::fmt::Display) -> Internal {
    Internal(format!("internal error: {e}"))
}

impl App {
    /// The node's state before it hears from the network.
    ///
    /// # Errors
    /// When the HTTP clients cannot be made.
    pub fn new(
        identity: Identity,
        info: NodeRecord,
        db: Db,
        db_path: std::path::PathBuf,
        hf: [u16; 2],
        chain: Arc<crate::node::chain::Following>,
        settings: Args,
    ) -> Result<Self, reqwest::Error> {
        let peers =
            reqwest::Client::builder().danger_accept_invalid_certs(true).pool_max_idle_per_host(32);
        Ok(Self {
            me: info.id,
            info,
            db: DbThread::spawn(db),
            readers: ReadThreads::spawn(&db_path),
            state: RwLock::new(Arc::new(NetworkState::empty(hf))),
            metrics: Metrics::new(),
            limiter: (!settings.no_rate_limit).then(|| Mutex::new(RateLimiter::default())),
            peers: peers.build()?,
            web: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(crate::http::PublicOnly(
                    settings.allow_private_destinations,
                )))
                .build()?,
            obligations: crate::node::obligations::Obligations::new(
                info.id,
                settings.ledger_params(),
                chain.settings.height_ms,
            ),
            chain,
            settings,
            handover: tokio::sync::Mutex::new(()),
            links: sesh_network::link::Links::new(&identity, LINKS_HELD),
            streams: crate::node::stream::Streams::default(),
            identity,
            conversions: handler::Conversions::new(CONVERSIONS_HELD),
        })
    }

    /// The current state of the network.
    pub fn state(&self) -> Arc<NetworkState> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the state; returns the previous one.
    pub fn set_state(&self, state: NetworkState) -> Arc<NetworkState> {
        let mut slot = self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        core::mem::replace(&mut *slot, Arc::new(state))
    }

    /// Why the node cannot serve yet, if it cannot.
    pub fn not_ready(&self) -> Option<&'static str> {
        Duty::new(&self.state(), self.me).not_ready()
    }

    /// Runs `f` on the database thread; the answer comes once what `f` wrote is committed.
    ///
    /// # Errors
    /// [`Internal`] when the database thread is gone or the commit failed.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> T + Send + 'static,
    ) -> Result<T, Internal> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db: &mut Db| {
            let out = f(db);
            Box::new(move |committed: Result<(), String>| {
                let _ = tx.send(committed.map(|()| out));
            }) as Deliver
        });
        let stopped = "the database thread stopped";
        lock(&self.db.jobs).send(job).map_err(|_| internal(stopped))?;
        rx.await.map_err(|_| internal(stopped))?.map_err(internal)
    }

    /// Runs `f` on a read-only connection, on the blocking pool.
    ///
    /// # Errors
    /// [`Internal`] when no reader can be opened.
    pub async fn with_reader<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Db) -> T + Send + 'static,
    ) -> Result<T, Internal> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: ReadJob = Box::new(move |db: &mut Db| {
            let _ = tx.send(f(db));
        });
        lock(&self.readers.jobs).send(job).map_err(|_| internal("the read threads stopped"))?;
        rx.await.map_err(|_| internal("the read failed (no read-only connection, or a bug)"))
    }

    /// Expiry, statistics and rate limiter housekeeping.
    pub async fn housekeeping(&self) {
        let now = crate::now_ms();
        let r = self
            .with_db(move |db| {
                let expired = db.clean_expired(now)?;
                let (count, bytes) = db.stats()?;
                Ok::<_, rusqlite::Error>((expired, count, bytes, db.size()?, db.evicted))
            })
            .await;
        let m = &self.metrics;
        match r {
            Ok(Ok((expired, count, bytes, size, evicted))) => {
                m.expired.inc_by(expired as u64);
                m.stored_messages.set(count);
                m.stored_bytes.set(bytes);
                m.db_bytes.set(size);
                m.evicted.set(i64::try_from(evicted).unwrap_or(i64::MAX));
                if expired > 0 {
                    tracing::info!(expired, "removed expired messages");
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "expiry sweep failed"),
            Err(e) => tracing::error!(error = %e.0, "expiry sweep failed"),
        }
        if let Some(limiter) = &self.limiter {
            lock(limiter).clean(std::time::Instant::now());
        }
    }
}

/// A read, run on one of the read threads.
type ReadJob = Box<dyn FnOnce(&mut Db) + Send>;

/// The threads that run reads, each on its own read-only connection (opened at its first
/// read). A fixed set fed through one queue: under load a thread takes the next read without
/// sleeping in between, where a task on the blocking pool woke a thread for each read (that
/// hand-off, and 32 threads contending for SQLite's shared page cache, cost more than the
/// read itself).
struct ReadThreads {
    jobs: Mutex<mpsc::Sender<ReadJob>>,
}

impl ReadThreads {
    fn spawn(path: &std::path::Path) -> Self {
        let (tx, rx) = mpsc::channel::<ReadJob>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
        for i in 0..threads {
            let (rx, path) = (rx.clone(), path.to_owned());
            let spawned = std::thread::Builder::new().name(format!("db-read-{i}")).spawn(move || {
                use std::panic::{AssertUnwindSafe, catch_unwind};
                let mut db: Option<Db> = None;
                loop {
                    let Ok(job) = lock(&rx).recv() else { return };
                    if db.is_none() {
                        match Db::open_reader(&path) {
                            Ok(opened) => db = Some(opened),
                            // The job is dropped unrun: its caller is answered 500.
                            Err(e) => tracing::error!(error = %e, "opening a read-only connection failed"),
                        }
                    }
                    if let Some(db) = &mut db
                        && catch_unwind(AssertUnwindSafe(|| job(db))).is_err()
                    {
                        tracing::error!("a read panicked (a bug)");
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting a read thread failed");
            }
        }
        Self { jobs: Mutex::new(tx) }
    }
}

/// Hands a job's result over once its batch is committed (or not).
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A piece of database work.
type Job = Box<dyn FnOnce(&mut Db) -> Deliver + Send>;

/// Most jobs one commit covers.
const MAX_BATCH: usize = 256;

/// The thread that owns the database. Jobs that arrive together run in one transaction and are
/// answered after its commit: one fsync for a burst of stores (group commit), and no answer
/// before the data is on disk.
struct DbThread {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl DbThread {
    fn spawn(mut db: Db) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new().name("db".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                run_batch(&mut db, batch);
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "starting the database thread failed");
        }
        Self { jobs: Mutex::new(tx) }
    }
}

fn run_batch(db: &mut Db, batch: Vec<Job>) {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let grouped = batch.len() > 1;
    if grouped && let Err(e) = db.begin_batch() {
        // Run them one by one instead (each commits on its own).
        tracing::warn!(error = %e, "could not start a batch transaction");
        for job in batch {
            run_batch(db, vec![job]);
        }
        return;
    }
    let mut deliveries = Vec::with_capacity(batch.len());
    let mut panicked = false;
    for job in batch {
        match catch_unwind(AssertUnwindSafe(|| job(db))) {
            Ok(deliver) => deliveries.push(deliver),
            Err(_) => {
                tracing::error!("a database job panicked (a bug); its batch is rolled back");
                panicked = true;
            }
        }
    }
    let outcome = if panicked {
        Err("a database job failed".to_owned())
    } else if grouped {
        db.commit_batch().map_err(|e| e.to_string())
    } else {
        Ok(())
    };
    if outcome.is_err() {
        db.rollback_batch();
        tracing::error!(error = ?outcome, "committing a batch failed; none of it is acknowledged");
    }
    for deliver in deliveries {
        deliver(outcome.clone());
    }
}

/// The answer to a storage RPC: status, body, and the method (for the counters).
#[derive(Debug)]
pub struct RpcAnswer {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Body,
    /// The method, for the counters (a known name or `unknown`).
    pub method: String,
}

impl RpcAnswer {
    fn text(status: u16, text: impl Into<String>, method: &str) -> Self {
        Self { status, body: Body::Text(text.into()), method: method.to_owned() }
    }
}

/// Runs `f` with this node as `sesh-rpc`'s handler sees it in `state`.
fn with_node<T>(app: &App, state: &NetworkState, f: impl FnOnce(&Node<'_>) -> T) -> T {
    let duty =
        Duty::new(state, app.me).with_seed(rand_core::RngCore::next_u64(&mut rand_core::OsRng));
    f(&Node { identity: &app.identity, hf: state.hf, swarm: &duty })
}

/// Runs one storage RPC body (`{"method", "params"}`), from a client (`forwarded = false`:
/// recursive requests go on to the swarm) or from a swarm peer.
pub async fn process(app: &Arc<App>, body: &[u8], forwarded: bool) -> RpcAnswer {
    if app.settings.noop {
        return RpcAnswer { status: 200, body: Body::Json(json!({})), method: "noop".into() };
    }
    let (method, params) = match handler::parse_body(body) {
        Ok(parsed) => parsed,
        Err(e) => return RpcAnswer::text(400, e.response_text(), "-"),
    };
    let label = if is_known_method(&method) { method.clone() } else { "unknown".into() };
    if forwarded && let Some(refusal) = replication::refuse_forwarded(&method) {
        return RpcAnswer::text(400, refusal, &label);
    }
    let req = match request::parse(&method, &params) {
        Ok(req) => req,
        Err(e) => return RpcAnswer::text(400, e.response_text(), &label),
    };
    let state = app.state();
    let ctx = Context { now_ms: crate::now_ms(), forwarded };
    // What needs no database (info, get_swarm, oxend) is answered here, without a hand-off.
    if let Some(response) = with_node(app, &state, |n| handler::handle_without_store(n, ctx, &req))
    {
        return RpcAnswer { status: response.status, body: response.body, method: label };
    }
    let handled = if is_read_only_method(&label) {
        let (app2, state) = (app.clone(), state.clone());
        let run = move |db: &mut Db| {
            with_node(&app2, &state, |n| handler::handle_with(n, db, ctx, req, &app2.conversions))
        };
        app.with_reader(run).await
    } else {
        // Signatures are checked here, on the blocking pool: the writer only writes.
        let mut verified = handler::Verified::default();
        if params.contains_key("signature") || params.contains_key("requests") {
            let (app2, state2, req2) = (app.clone(), state.clone(), req.clone());
            let ahead = move || {
                with_node(&app2, &state2, |n| {
                    handler::verify_ahead_with(n, ctx, req2, &app2.conversions)
                })
            };
            verified = tokio::task::spawn_blocking(ahead).await.unwrap_or_default();
        }
        let (app2, state) = (app.clone(), state.clone());
        let run = move |db: &mut Db| {
            with_node(&app2, &state, |n| handler::handle_verified(n, db, ctx, req, &verified))
        };
        app.with_db(run).await
    };
    let mut response = match handled {
        Ok(h) => h,
        Err(Internal(e)) => return RpcAnswer::text(500, e, &label),
    };
    if !forwarded {
        let peers: Vec<NodeRecord> =
            Duty::new(&state, app.me).peers().into_iter().copied().collect();
        for job in replication::fanout(&method, &params, &response) {
            for (peer, reply) in forward(app, &peers, job.body).await {
                let (entry, outcome) = replication::swarm_entry(reply);
                Metrics::outcome(&app.metrics.forwards, outcome.as_str(), 1);
                replication::merge(&mut response, &job.slot, &peer, entry);
            }
        }
    }
    RpcAnswer { status: response.status, body: response.body, method: label }
}

/// Sends a request to every peer at once; their replies.
async fn forward(
    app: &Arc<App>,
    peers: &[NodeRecord],
    body: Vec<u8>,
) -> Vec<(NodeId, replication::PeerReply)> {
    let mut tasks = tokio::task::JoinSet::new();
    for node in peers {
        let (app, body, node) = (app.clone(), body.clone(), *node);
        tasks.spawn(async move {
            let url = node.url("/swarm/v1/forward");
            let reply =
                peer::post_to(&app, &node.id, &url, "/swarm/v1/forward", body, FORWARD_TIMEOUT)
                    .await;
            (node.id, reply)
        });
    }
    let mut out = Vec::with_capacity(peers.len());
    while let Some(done) = tasks.join_next().await {
        out.extend(done.ok());
    }
    out
}
