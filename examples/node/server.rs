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
use sesh_network::STATE_PATH;
use sesh_network::auth::{self, SignatureHeaders};
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
        .route(bls::LIQUIDATE_PATH, post(bls_liquidate));
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
    let known = |id: &sesh_identity::NodeId| {
        *id == app.me || app.state().node(id).is_some() || registered(&app, id)
    };
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
    match path {
        "/onion/v1/relay" => {
            let (status, body) = match Layer::from_node(&body) {
                Ok(layer) => process_layer(&app, layer).await,
                Err(r) => (r.status, r.body),
            };
            app.metrics.request("onion_relay", "-", status);
            bytes(status, body, "text/plain")
        }
        "/swarm/v1/forward" => {
            if let Some(r) = not_ready(&app) {
                return r;
            }
            let answer = process(&app, &body, true).await;
            app.metrics.request("forwarded", &answer.method, answer.status);
            rpc_response(answer.status, answer.body)
        }
        "/swarm/v1/push" => {
            let (status, v) = crate::node::swarm::on_push(&app, &body).await;
            json(status, &v)
        }
        "/swarm/v1/fetch" => {
            let (status, v) = crate::node::swarm::on_fetch(&app, from, &body).await;
            json(status, &v)
        }
        ob::PING_PATH => {
            let (status, v) = crate::node::obligations::on_ping(&app);
            json(status, &v)
        }
        ob::STORAGE_TEST_PATH => {
            let (status, v) = crate::node::obligations::on_storage_test(&app, &body).await;
            json(status, &v)
        }
        ob::SAMPLE_PATH => {
            let (status, v) = crate::node::obligations::on_sample(&app).await;
            json(status, &v)
        }
        ob::UPTIME_PATH => {
            let (status, v) = crate::node::obligations::on_uptime(&app, from, &body);
            json(status, &v)
        }
        ob::VOTES_PATH => match ob::read_votes(&body) {
            Ok(votes) => json(200, &crate::node::obligations::on_votes(&app, from, &votes)),
            Err(e) => text(400, e.to_string()),
        },
        _ => text(404, "no such node-to-node endpoint"),
    }
}

/// Whether `node` is a node of this node's ledger (registered and funded), whether or not this
/// node holds its proof yet (a node that knows this one before this one knows it).
fn registered(app: &App, node: &sesh_identity::NodeId) -> bool {
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
