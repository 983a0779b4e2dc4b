//! Onion requests: a layer from a client (`POST /onion_req/v2`) or from another node
//! (`POST /onion/v1/relay`) is peeled with `sesh-onion`, then sent on to the next node, relayed to
//! an HTTP server, or run here and the answer sealed for the client.

use std::sync::Arc;
use std::time::Duration;

use rand_core::OsRng;
use sesh_identity::NodeId;
use sesh_node::egress::{self, MAX_ANSWER};
use sesh_onion::node::{self, Action, Layer, NodeKeys, Rejection, ReplyBody};
use sesh_rpc::handler::Body;

use crate::node::app::{App, process};
use crate::node::metrics::Metrics;
use crate::node::peer;
use sesh_node::replication::PeerReply;

/// How long the next node has to answer.
const NODE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an HTTP server has to answer a relayed request.
const SERVER_TIMEOUT: Duration = Duration::from_secs(25);

/// An HTTP answer: status and body.
pub type Answer = (u16, Vec<u8>);

fn rejected(app: &App, r: Rejection, outcome: &'static str) -> Answer {
    Metrics::outcome(&app.metrics.onion, outcome, 1);
    (r.status, r.body)
}

/// Handles a layer that arrived at this node.
pub async fn process_layer(app: &Arc<App>, layer: Layer) -> Answer {
    if app.not_ready().is_some() {
        return rejected(app, Rejection::not_ready(app.me.as_bytes()), "not_ready");
    }
    let keys = NodeKeys {
        secret: app.identity.x25519_secret_key(),
        public: app.identity.x25519_public_key(),
    };
    let action = match node::peel(&keys, &layer, &mut OsRng) {
        Ok(action) => action,
        Err(r) => return rejected(app, r, "refused"),
    };
    match action {
        Action::Forward { next, message } => {
            let Some(info) = app.state().node(&NodeId::from_bytes(next)).copied() else {
                return rejected(app, Rejection::next_node_not_found(&next), "next_not_found");
            };
            let url = info.url("/onion/v1/relay");
            match peer::post_to(app, &info.id, &url, "/onion/v1/relay", message, NODE_TIMEOUT).await
            {
                PeerReply::Answered { status, body } => {
                    Metrics::outcome(&app.metrics.onion, "forwarded", 1);
                    (node::relay_status(status), body)
                }
                PeerReply::TimedOut => rejected(app, Rejection::timed_out(), "timeout"),
                // Not there at all (refused, no route): the client strikes it and goes round.
                PeerReply::Unreachable => {
                    rejected(app, Rejection::next_node_not_found(&next), "next_unreachable")
                }
            }
        }
        Action::Relay { target, body, refusal } => {
            let allow = app.settings.allow_private_destinations;
            if let Err(e) = egress::check_target(&target.host, allow) {
                tracing::info!(error = %e, "onion relay refused");
                return rejected(
                    app,
                    refusal.reject("Invalid url", &mut OsRng),
                    "refused_destination",
                );
            }
            let sent = app.web.post(target.url()).timeout(SERVER_TIMEOUT).body(body).send().await;
            let answer = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match crate::http::read_capped(resp).await {
                        Ok(b) => (node::relay_status(status), b),
                        Err(Some(e)) => (502, e.to_string().into_bytes()),
                        Err(None) => (502, format!("answer over {MAX_ANSWER} bytes").into_bytes()),
                    }
                }
                Err(e) if e.is_timeout() => (504, e.to_string().into_bytes()),
                Err(e) => (502, e.to_string().into_bytes()),
            };
            Metrics::outcome(&app.metrics.onion, "relayed", 1);
            answer
        }
        Action::Deliver { request, reply } => {
            let answer = process(app, &request, false).await;
            app.metrics.request("onion", &answer.method, answer.status);
            let body = match answer.body {
                Body::Json(v) => ReplyBody::Json(v),
                Body::Text(t) => ReplyBody::Text(t),
            };
            Metrics::outcome(&app.metrics.onion, "delivered", 1);
            match reply.seal(answer.status, body, &mut OsRng) {
                Ok(sealed) => (200, sealed),
                // An AES-CBC layer cannot be answered encrypted (the storage server refuses it too).
                Err(e) => (400, e.to_string().into_bytes()),
            }
        }
        _ => (500, b"unsupported onion action".to_vec()),
    }
}
