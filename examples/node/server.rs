//! The HTTP endpoints.
//!
//! | endpoint | who | what |
//! |---|---|---|
//! | `POST /storage_rpc/v1` | clients | the storage RPC, as live nodes answer it |
//! | `POST /onion_req/v2` | clients | an onion request's first layer |
//! | `POST /json_rpc` | clients | oxend's service-node list (what clients ask a seed) |
//! | `GET /metrics` | operators | counters, Prometheus text format |
//! | `POST /onion/v1/relay` | nodes (signed) | the next layer of an onion request |
//! | `POST /swarm/v1/forward` | nodes (signed) | a recursive request, run as forwarded |
//! | `POST /swarm/v1/push`, `/swarm/v1/fetch` | nodes (signed) | handing messages over |
//! | `POST /ping_test/v1`, `/swarm/v1/storage_test`, `/swarm/v1/sample` | nodes (signed) | tests |
//! | `GET /network/v1/stream` | nodes (authenticated as their requests) | upgrades to a stream carrying the node-to-node requests above as frames (`sesh_network::stream`) |
//! | `POST /network/v1/uptime` | nodes (signed) | an uptime proof (a new one is relayed on); `GET`: the proofs held |
//! | `POST /network/v1/votes` | nodes (signed) | votes, tallied by this node; `GET`: its tallies |
//! | `GET /network/v1/chain` | anyone | the chain followed: chain id, contract, last block, height, state hash, the last 256 heights' state hashes |
//! | `GET /network/v1/state`, `GET /network/v1/ledger`, `GET /network/v1/rewards` | anyone | this node's network state; its ledger view (no proofs); its reward balances: each node's own, unsigned |
//! | `POST /network/v1/bls/reward`, `/network/v1/bls/exit`, `/network/v1/bls/liquidate` | anyone | this node's BLS signature of a reward balance, an exit, a liquidation, when its ledger agrees ([`bls`]) |

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use sesh_onion::node::Layer;

use crate::node::app::{App, process};
use crate::node::bls;
use crate::node::onion::process_layer;
use sesh_network::auth::{self, SignatureHeaders};
use sesh_network::stream;
use sesh_network::{NodeId, STATE_PATH};
use sesh_node::obligations as ob;

/// `GET`: the chain the node follows.
pub const CHAIN_PATH: &str = "/network/v1/chain";

/// The largest request body accepted (the storage server's limit): 10 MiB.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    let mut r = Router::new()
        .route("/storage_rpc/v1", post(storage_rpc))
        .route("/onion_req/v2", post(onion_req))
        .route("/json_rpc", post(json_rpc))
        .route("/metrics", get(metrics));
    for path in ["/onion/v1/relay", "/swarm/v1/forward", "/swarm/v1/push", "/swarm/v1/fetch"] {
        r = r.route(path, post(from_node));
    }
    for path in [ob::PING_PATH, ob::STORAGE_TEST_PATH, ob::SAMPLE_PATH] {
        r = r.route(path, post(from_node));
    }
    r = r
        .route(ob::UPTIME_PATH, post(from_node).get(proofs))
        .route(ob::VOTES_PATH, post(from_node).get(ballot));
    r = r
        .route(CHAIN_PATH, get(chain))
        .route(STATE_PATH, get(own_state))
        .route(ob::LEDGER_PATH, get(own_ledger))
        .route("/network/v1/rewards", get(own_rewards))
        .route(bls::REWARD_PATH, post(bls_reward))
        .route(bls::EXIT_PATH, post(bls_exit))
        .route(bls::LIQUIDATE_PATH, post(bls_liquidate))
        .route(stream::STREAM_PATH, get(open_stream));
    r.fallback(not_found).with_state(app)
}

fn text(status: u16, body: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "text/plain")], body.into()).into_response()
}

fn bytes(status: u16, body: Vec<u8>, content_type: &'static str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn json(status: u16, v: &Value) -> Response {
    bytes(status, v.to_string().into_bytes(), "application/json")
}

/// The status line's reason with a newline: the storage server's body for bare errors.
fn reason(status: u16) -> String {
    let reason =
        StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    format!("{reason}\n")
}

/// Reads a body of at most [`MAX_BODY`] bytes (`413 Request body too large` past it).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    if let Some(len) = headers.get(header::CONTENT_LENGTH) {
        match len.to_str().ok().and_then(|l| l.parse::<u64>().ok()) {
            None => return Err(text(400, "invalid Content-Length")),
            Some(l) if l > MAX_BODY as u64 => return Err(text(413, "Request body too large")),
            Some(_) => {}
        }
    }
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| text(413, "Request body too large"))
}

fn not_ready(app: &App) -> Option<Response> {
    app.not_ready().map(|why| text(503, format!("Service node is not ready: {why}\n")))
}

/// The per-client limit of the client endpoints (the storage RPC, onion entry): `400` for a
/// client that is not IPv4, `429` past its bucket.
fn over_limit(app: &App, addr: SocketAddr) -> Option<Response> {
    let IpAddr::V4(ip) = addr.ip() else { return Some(text(400, reason(400))) };
    let limiter = app.limiter.as_ref()?;
    crate::lock(limiter).should_limit(ip, Instant::now()).then(|| {
        app.metrics.rate_limited.inc();
        text(429, reason(429))
    })
}

async fn storage_rpc(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let refuse = |status: u16, body: Response| {
        app.metrics.request("storage_rpc", "-", status);
        body
    };
    if !app.settings.noop
        && let Some(r) = not_ready(&app)
    {
        return refuse(503, r);
    }
    if let Some(r) = over_limit(&app, addr) {
        return refuse(r.status().as_u16(), r);
    }
    if headers.contains_key("x-loki-long-poll") {
        return refuse(
            410,
            text(410, "long polling is no longer supported, client upgrade required"),
        );
    }
    let body = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(r) => return refuse(r.status().as_u16(), r),
    };
    let answer = process(&app, &body, false).await;
    app.metrics.request("storage_rpc", &answer.method, answer.status);
    tracing::debug!(method = %answer.method, status = answer.status, elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX), client = %addr.ip(), "storage_rpc");
    rpc_response(answer.status, answer.body)
}

fn rpc_response(status: u16, body: sesh_rpc::handler::Body) -> Response {
    match body {
        sesh_rpc::handler::Body::Json(v) => json(status, &v),
        sesh_rpc::handler::Body::Text(t) => text(status, t),
    }
}

async fn onion_req(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(r) = not_ready(&app).or_else(|| over_limit(&app, addr)) {
        app.metrics.request("onion_req", "-", r.status().as_u16());
        return r;
    }
    let body = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (status, body) = match Layer::from_client(&body) {
        Ok(layer) => process_layer(&app, layer).await,
        Err(r) => (r.status, r.body),
    };
    app.metrics.request("onion_req", "-", status);
    bytes(status, body, "text/plain")
}

/// The routes of a seed's plain-HTTP port: `/json_rpc` alone.
pub fn seed_router(app: Arc<App>) -> Router {
    Router::new().route("/json_rpc", post(json_rpc)).fallback(not_found).with_state(app)
}

/// `POST /json_rpc`: oxend's answer from this node's view of the network (`200` and
/// `application/json`, errors included, as oxend answers).
async fn json_rpc(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(r) = over_limit(&app, addr) {
        return r;
    }
    let answer = match read_body(&headers, body).await {
        Ok(body) => sesh_network::oxend::json_rpc(&app.state(), &body, &mut rand_core::OsRng),
        Err(r) => return r,
    };
    app.metrics.request("json_rpc", "-", 200);
    json(200, &answer)
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut r = app.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// A request from another node: authenticated (signed, or with a MAC under the link key, by a
/// node this one knows, or by any node for a join), then run.
async fn from_node(State(app): State<Arc<App>>, req: Request) -> Response {
    if app.settings.fault_unreachable {
        return text(503, "unreachable (a testnet fault)");
    }
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let body = match read_body(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let lookup = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SignatureHeaders::from_lookup(lookup);
    let known =
        |id: &NodeId| *id == app.me || app.state().node(id).is_some() || registered(&app, id);
    let unknown = || text(403, "unknown node: not in this node's view of the network");
    let checked = if signed.mac.is_some() {
        // A link key is derived only with a node this one knows (a MAC from anyone else is
        // refused before any work: deriving a key costs a Diffie-Hellman, and the keys kept
        // are for the network's nodes). Nodes send uptime proofs signed.
        if let Some(claimed) = signed.node.and_then(|n| n.parse().ok())
            && !known(&claimed)
        {
            return unknown();
        }
        app.links.verify(&signed, path, crate::now_ms(), &body)
    } else {
        auth::verify(&signed, path, crate::now_ms(), &body)
    };
    let from = match checked {
        Ok(key) => key,
        Err(e) => return text(401, e.to_string()),
    };
    // An uptime proof is bound to its node's signature (a node the state does not list,
    // decommissioned or not yet known here, still sends proofs, and relays them); other
    // requests come from a node of this node's ledger (with a known address or not yet).
    let open = path == ob::UPTIME_PATH;
    // (A MAC's sender was found known above, before its key was derived.)
    if !open && signed.mac.is_none() && !known(&from) {
        return unknown();
    }
    let (status, content_type, body) = dispatch(&app, from, path, &body).await;
    bytes(status, body, content_type)
}

/// A request from another node on a stream (`crate::node::stream`), its sender authenticated
/// when the stream was opened: its status and body.
pub async fn run_from_node(
    app: &Arc<App>,
    from: NodeId,
    path: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    if app.settings.fault_unreachable {
        return (503, b"unreachable (a testnet fault)".to_vec());
    }
    if path == ob::UPTIME_PATH {
        // Proofs are relayed signed, with the HTTP request's headers: never on a stream.
        return (400, b"uptime proofs are sent signed, not on a stream".to_vec());
    }
    let (status, _, body) = dispatch(app, from, path, body).await;
    (status, body)
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

fn json_answer((status, v): (u16, Value)) -> (u16, &'static str, Vec<u8>) {
    (status, JSON, v.to_string().into_bytes())
}

/// Runs an authenticated node-to-node request: status, content type, body.
async fn dispatch(
    app: &Arc<App>,
    from: NodeId,
    path: &str,
    body: &[u8],
) -> (u16, &'static str, Vec<u8>) {
    match path {
        "/onion/v1/relay" => {
            let (status, body) = match Layer::from_node(body) {
                Ok(layer) => process_layer(app, layer).await,
                Err(r) => (r.status, r.body),
            };
            app.metrics.request("onion_relay", "-", status);
            (status, TEXT, body)
        }
        "/swarm/v1/forward" => {
            if let Some(why) = app.not_ready() {
                return (503, TEXT, format!("Service node is not ready: {why}\n").into_bytes());
            }
            let answer = process(app, body, true).await;
            app.metrics.request("forwarded", &answer.method, answer.status);
            match answer.body {
                sesh_rpc::handler::Body::Json(v) => json_answer((answer.status, v)),
                sesh_rpc::handler::Body::Text(t) => (answer.status, TEXT, t.into_bytes()),
            }
        }
        "/swarm/v1/push" => json_answer(crate::node::swarm::on_push(app, body).await),
        "/swarm/v1/fetch" => json_answer(crate::node::swarm::on_fetch(app, from, body).await),
        ob::PING_PATH => json_answer(crate::node::obligations::on_ping(app)),
        ob::STORAGE_TEST_PATH => {
            json_answer(crate::node::obligations::on_storage_test(app, body).await)
        }
        ob::SAMPLE_PATH => json_answer(crate::node::obligations::on_sample(app).await),
        ob::UPTIME_PATH => json_answer(crate::node::obligations::on_uptime(app, from, body)),
        ob::VOTES_PATH => match ob::read_votes(body) {
            Ok(votes) => json_answer((200, crate::node::obligations::on_votes(app, from, &votes))),
            Err(e) => (400, TEXT, e.to_string().into_bytes()),
        },
        _ => (404, TEXT, b"no such node-to-node endpoint".to_vec()),
    }
}

/// `GET /network/v1/stream` with `Upgrade: sesh-stream/1`: another node opens a stream
/// (`sesh_network::stream`), authenticated as its requests are; `101`, then its requests are
/// run as they come ([`run_from_node`]).
async fn open_stream(State(app): State<Arc<App>>, mut req: Request) -> Response {
    if app.settings.fault_unreachable {
        return text(503, "unreachable (a testnet fault)");
    }
    let headers = req.headers();
    let upgrade = headers.get(header::UPGRADE).and_then(|v| v.to_str().ok());
    if upgrade != Some(stream::PROTOCOL) {
        return text(400, format!("expected Upgrade: {}", stream::PROTOCOL));
    }
    let lookup = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SignatureHeaders::from_lookup(lookup);
    let known =
        |id: &NodeId| *id == app.me || app.state().node(id).is_some() || registered(&app, id);
    // As for a MAC'd request: no key is derived for a node this one does not know.
    if !signed.node.and_then(|n| n.parse().ok()).is_some_and(|n| known(&n)) {
        return text(403, "unknown node: not in this node's view of the network");
    }
    let nonce = lookup(stream::NONCE_HEADER);
    let (from, session, ours) =
        match stream::accept(&app.links, &signed, nonce, crate::now_ms(), &mut rand_core::OsRng) {
            Ok(accepted) => accepted,
            Err(e) => return text(401, e.to_string()),
        };
    let upgrading = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match upgrading.await {
            Ok(upgraded) => crate::node::stream::serve(
                app,
                from,
                hyper_util::rt::TokioIo::new(upgraded),
                session,
            ),
            Err(e) => tracing::debug!(peer = %from, error = %e, "stream upgrade failed"),
        }
    });
    let mut r = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static(stream::PROTOCOL));
    if let Ok(v) = HeaderValue::from_str(&ours) {
        h.insert(stream::NONCE_HEADER, v);
    }
    r
}

/// Whether `node` is a node of this node's ledger (registered and funded), whether or not this
/// node holds its proof yet (a node that knows this one before this one knows it).
fn registered(app: &App, node: &NodeId) -> bool {
    app.obligations.in_view(node)
}

async fn ballot(State(app): State<Arc<App>>) -> Response {
    let changes = crate::lock(&app.chain.followed).changes_json();
    json(200, &crate::node::obligations::ballot_json(&app, Some(changes)))
}

async fn chain(State(app): State<Arc<App>>) -> Response {
    json(200, &app.chain.json())
}

async fn own_state(State(app): State<Arc<App>>) -> Response {
    json(200, &app.state().to_json())
}

async fn own_rewards(State(app): State<Arc<App>>) -> Response {
    json(200, &crate::lock(&app.chain.followed).rewards)
}

async fn own_ledger(State(app): State<Arc<App>>) -> Response {
    let view = crate::lock(&app.chain.followed).view.clone();
    match view {
        Some(view) => json(200, &view.to_json()),
        None => text(503, "no height followed yet"),
    }
}

async fn bls_reward(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    match read_body(&headers, body).await {
        Ok(body) => {
            let (status, v) = bls::on_reward(&app, &body);
            app.metrics.request("bls_reward", "-", status);
            json(status, &v)
        }
        Err(r) => r,
    }
}

async fn bls_exit(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    match read_body(&headers, body).await {
        Ok(body) => {
            let (status, v) = bls::on_removal(&app, &body, false);
            app.metrics.request("bls_exit", "-", status);
            json(status, &v)
        }
        Err(r) => r,
    }
}

async fn bls_liquidate(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    match read_body(&headers, body).await {
        Ok(body) => {
            let (status, v) = bls::on_removal(&app, &body, true);
            app.metrics.request("bls_liquidate", "-", status);
            json(status, &v)
        }
        Err(r) => r,
    }
}

async fn proofs(State(app): State<Arc<App>>) -> Response {
    json(200, &crate::node::obligations::proofs_json(&app))
}

async fn not_found(req: Request) -> Response {
    text(404, format!("{} {} Not Found", req.method(), req.uri()))
}
