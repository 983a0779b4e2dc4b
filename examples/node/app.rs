//! The node's shared state, and the storage RPC as the node runs it: the sans-IO handler of
//! `sesh-rpc` over the SQLite store, and recursive requests forwarded to the swarm.

use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::Duration;

use serde_json::{Map, Value, json};
use sesh_identity::Identity;
use sesh_rpc::handler::{self, Body, Context, Node};
use sesh_rpc::request::{is_known_method, is_recursive_method};

use crate::node::authority::Authority;
use crate::node::db::Db;
use crate::node::metrics::Metrics;
use crate::node::network::{NodeInfo, View};
use crate::node::peer::{self, Reply};
use crate::node::ratelimit::RateLimiter;

/// How long a swarm peer has to answer a forwarded request.
pub(crate) const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Answer every storage RPC with an empty 200 (the load generator's baseline).
    pub(crate) noop: bool,
    /// Where the ledger authority is (`None` when this node is the authority).
    pub(crate) network: Option<String>,
    /// The authority's key, when it is pinned.
    pub(crate) authority_key: Option<[u8; 32]>,
}

/// Everything the handlers share.
pub(crate) struct App {
    pub(crate) identity: Identity,
    pub(crate) me: [u8; 32],
    pub(crate) me_hex: String,
    /// Where this node is reached (what it tells the network).
    pub(crate) info: NodeInfo,
    db: DbThread,
    /// Read-only connections for requests that only read (retrieve, get_expiries, info,
    /// get_swarm), so that they run in parallel beside the writer.
    readers: Mutex<Vec<Db>>,
    db_path: std::path::PathBuf,
    view: RwLock<Arc<View>>,
    pub(crate) metrics: Metrics,
    pub(crate) limiter: Option<Mutex<RateLimiter>>,
    /// For requests to other nodes (self-signed certificates: nodes are authenticated by their
    /// request signatures, not by TLS).
    pub(crate) peers: reqwest::Client,
    /// For onion relays to HTTP servers (certificates checked).
    pub(crate) web: reqwest::Client,
    pub(crate) authority: Option<tokio::sync::Mutex<Authority>>,
    pub(crate) settings: Settings,
    /// One handover at a time.
    pub(crate) handover: tokio::sync::Mutex<()>,
}

impl core::fmt::Debug for App {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("App").field("me", &self.me_hex).finish_non_exhaustive()
    }
}

/// A failure of the node itself (a database task that died): answered 500.
#[derive(Debug)]
pub(crate) struct Internal(pub(crate) String);

impl App {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        identity: Identity,
        info: NodeInfo,
        db: Db,
        db_path: std::path::PathBuf,
        hf: [u16; 2],
        rate_limit: bool,
        authority: Option<Authority>,
        settings: Settings,
    ) -> Result<Self, reqwest::Error> {
        let me = identity.ed25519_public_key().to_bytes();
        let peers = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .pool_max_idle_per_host(32)
            .build()?;
        let web = reqwest::Client::builder().build()?;
        Ok(Self {
            me,
            me_hex: hex::encode(me),
            info,
            db: DbThread::spawn(db),
            readers: Mutex::new(Vec::new()),
            db_path,
            view: RwLock::new(Arc::new(View::empty(me, hf))),
            metrics: Metrics::new(),
            limiter: rate_limit.then(|| Mutex::new(RateLimiter::default())),
            peers,
            web,
            authority: authority.map(tokio::sync::Mutex::new),
            settings,
            handover: tokio::sync::Mutex::new(()),
            identity,
        })
    }

    /// The current view of the network.
    pub(crate) fn view(&self) -> Arc<View> {
        match self.view.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the view; returns the previous one.
    pub(crate) fn set_view(&self, view: View) -> Arc<View> {
        let new = Arc::new(view);
        let mut slot = match self.view.write() {
            Ok(v) => v,
            Err(poisoned) => poisoned.into_inner(),
        };
        core::mem::replace(&mut *slot, new)
    }

    /// Runs `f` on the database thread; the answer comes once what `f` wrote is committed.
    pub(crate) async fn with_db<T: Send + 'static>(
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
        self.db.send(job)?;
        match rx.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(Internal(format!("internal error: {e}"))),
            Err(_) => Err(Internal("internal error: the database thread stopped".into())),
        }
    }
}

impl App {
    /// Runs `f` on a read-only connection, on the blocking pool.
    pub(crate) async fn with_reader<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Db) -> T + Send + 'static,
    ) -> Result<T, Internal> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = match app.readers.lock() {
                Ok(mut r) => r.pop(),
                Err(poisoned) => poisoned.into_inner().pop(),
            };
            let mut db = match pooled {
                Some(db) => db,
                None => Db::open_reader(&app.db_path)
                    .map_err(|e| Internal(format!("internal error: {e}")))?,
            };
            let out = f(&mut db);
            match app.readers.lock() {
                Ok(mut r) => r.push(db),
                Err(poisoned) => poisoned.into_inner().push(db),
            }
            Ok(out)
        })
        .await
        .map_err(|e| Internal(format!("internal error: {e}")))?
    }
}

/// Methods that only read the database.
fn read_only(method: &str) -> bool {
    matches!(method, "retrieve" | "get_expiries" | "info" | "get_swarm" | "get_snodes_for_pubkey")
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

    fn send(&self, job: Job) -> Result<(), Internal> {
        let jobs = match self.jobs.lock() {
            Ok(j) => j,
            Err(poisoned) => poisoned.into_inner(),
        };
        jobs.send(job).map_err(|_| Internal("internal error: the database thread stopped".into()))
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
pub(crate) struct RpcAnswer {
    pub(crate) status: u16,
    pub(crate) body: Body,
    pub(crate) method: String,
}

impl RpcAnswer {
    fn text(status: u16, text: impl Into<String>, method: &str) -> Self {
        Self { status, body: Body::Text(text.into()), method: method.to_owned() }
    }
}

/// The method name for the counters: known names only, so that clients cannot grow the label
/// set.
pub(crate) fn method_label(method: &str) -> &str {
    if is_known_method(method) { method } else { "unknown" }
}

/// Runs one storage RPC body (`{"method", "params"}`), from a client (`forwarded = false`:
/// recursive requests go on to the swarm) or from a swarm peer.
pub(crate) async fn process(app: &Arc<App>, body: &[u8], forwarded: bool) -> RpcAnswer {
    if app.settings.noop {
        return RpcAnswer { status: 200, body: Body::Json(json!({})), method: "noop".into() };
    }
    let (method, params) = match handler::parse_body(body) {
        Ok(parsed) => parsed,
        Err(message) => return RpcAnswer::text(400, message, "-"),
    };
    let label = method_label(&method).to_owned();
    if forwarded && !is_recursive_method(&method) {
        return RpcAnswer::text(
            400,
            "invalid request: received invalid forwarded non-forwardable request",
            &label,
        );
    }
    let view = app.view();
    let ctx = Context { now_ms: crate::node::now_ms(), forwarded };
    let handled = {
        let (app2, view2) = (app.clone(), view.clone());
        let run = move |db: &mut Db| {
            let node = Node { identity: &app2.identity, hf: view2.hf, swarm: &*view2 };
            let response = handler::handle_params(&node, db, ctx, &method, &params);
            (response, method, params)
        };
        if read_only(&label) { app.with_reader(run).await } else { app.with_db(run).await }
    };
    let (mut response, method, params) = match handled {
        Ok(h) => h,
        Err(Internal(e)) => return RpcAnswer::text(500, e, &label),
    };
    if !forwarded {
        if response.forward {
            let results = forward(app, &view, &method, &params).await;
            for (peer, result) in results {
                response.merge_peer(&peer, result);
            }
        } else if (method == "batch" || method == "sequence") && response.status == 200 {
            forward_subrequests(app, &view, &params, &mut response.body).await;
        }
    }
    RpcAnswer { status: response.status, body: response.body, method: label }
}

/// Sends a recursive request to every other member of the swarm; their answers, by key.
async fn forward(
    app: &Arc<App>,
    view: &View,
    method: &str,
    params: &Map<String, Value>,
) -> Vec<(String, Value)> {
    let body = json!({"method": method, "params": params}).to_string().into_bytes();
    let peers: Vec<NodeInfo> = view.peers().into_iter().cloned().collect();
    let mut tasks = tokio::task::JoinSet::new();
    for node in peers {
        let (app, body) = (app.clone(), body.clone());
        tasks.spawn(async move {
            let reply = peer::post(
                &app.peers,
                &app.identity,
                &node.url("/swarm/v1/forward"),
                "/swarm/v1/forward",
                body,
                FORWARD_TIMEOUT,
            )
            .await;
            (hex::encode(node.ed25519), peer_result(&app, reply))
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(pair) = done {
            out.push(pair);
        }
    }
    out
}

/// A peer's answer as the `swarm` map records it.
fn peer_result(app: &App, reply: Reply) -> Value {
    let m = &app.metrics;
    match reply {
        Reply::Answered { status: 200, body } => match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => {
                Metrics::outcome(&m.forwards, "ok", 1);
                v
            }
            _ => {
                Metrics::outcome(&m.forwards, "bad_peer_response", 1);
                json!({"failed": true, "bad_peer_response": true})
            }
        },
        Reply::Answered { status, body } => {
            Metrics::outcome(&m.forwards, "refused", 1);
            json!({"failed": true, "code": status, "reason": String::from_utf8_lossy(&body)})
        }
        Reply::TimedOut => {
            Metrics::outcome(&m.forwards, "timeout", 1);
            json!({"failed": true, "timeout": true})
        }
        Reply::Unreachable(e) => {
            tracing::debug!(error = %e, "swarm peer unreachable");
            Metrics::outcome(&m.forwards, "timeout", 1);
            json!({"failed": true, "timeout": true})
        }
    }
}

/// Forwards each recursive subrequest of a batch or sequence that succeeded here, in order, and
/// adds the peers' answers to its result.
async fn forward_subrequests(
    app: &Arc<App>,
    view: &View,
    params: &Map<String, Value>,
    body: &mut Body,
) {
    let Some(Value::Array(subs)) = params.get("requests") else { return };
    let Body::Json(Value::Object(top)) = body else { return };
    let Some(Value::Array(results)) = top.get_mut("results") else { return };
    for (sub, result) in subs.iter().zip(results.iter_mut()) {
        let (Some(method), Some(Value::Object(sub_params))) =
            (sub.get("method").and_then(Value::as_str), sub.get("params"))
        else {
            continue;
        };
        let ok = result.get("code").and_then(Value::as_u64).is_some_and(|c| c < 300);
        if !ok || !is_recursive_method(method) {
            continue;
        }
        for (peer, answer) in forward(app, view, method, sub_params).await {
            let Some(sub_body) = result.get_mut("body") else { break };
            if let Some(all_failed) = handler::merge_swarm_entry(sub_body, &peer, answer)
                && let Some(code) = result.get_mut("code")
            {
                *code = json!(if all_failed { 500 } else { 200 });
            }
        }
    }
}
