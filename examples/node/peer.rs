//! Requests to other nodes: to a node whose id it knows, with a MAC under the key the two share
//! (`sesh_network::link`); to an address alone, signed by this node's key (`sesh_network::auth`;
//! see `docs/node.md`).

use std::time::Duration;

use sesh_network::NodeId;
use sesh_node::egress::MAX_ANSWER;
use sesh_node::replication::PeerReply;

use crate::node::app::App;
use crate::node::stream::{Sent, Streams};

/// POSTs a request for `path` at `url`, signed by this node (why a peer could not be reached is
/// logged at debug level).
pub async fn post(app: &App, url: &str, path: &str, body: Vec<u8>, timeout: Duration) -> PeerReply {
    let headers = sesh_network::auth::sign(&app.identity, path, crate::now_ms(), &body);
    send(app, url, headers, body, timeout).await
}

/// Sends a request for `path` to the node `to` (whose endpoint for it is `url`) on the stream to
/// it ([`crate::node::stream`]); to a node that takes no stream, POSTs it with a MAC under the
/// key the two nodes share (signed instead if `to` is not a node key).
pub async fn post_to(
    app: &App,
    to: &NodeId,
    url: &str,
    path: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> PeerReply {
    let body = match Streams::send(app, to, url, path, body, timeout).await {
        Sent::Reply(reply) => return reply,
        Sent::NoStream(body) => body,
    };
    let now = crate::now_ms();
    let headers = match app.links.authenticate(to, path, now, &body) {
        Ok(headers) => headers,
        Err(_) => sesh_network::auth::sign(&app.identity, path, now, &body),
    };
    send(app, url, headers, body, timeout).await
}

async fn send(
    app: &App,
    url: &str,
    headers: [(&'static str, String); 3],
    body: Vec<u8>,
    timeout: Duration,
) -> PeerReply {
    let mut req = app.peers.post(url).timeout(timeout);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let failed = |e: Option<reqwest::Error>| {
        let timed_out = e.as_ref().is_some_and(reqwest::Error::is_timeout);
        let why = e.map_or_else(|| format!("answer over {MAX_ANSWER} bytes"), |e| e.to_string());
        tracing::debug!(%url, error = %why, "peer did not answer");
        if timed_out { PeerReply::TimedOut } else { PeerReply::Unreachable }
    };
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match crate::http::read_capped(resp).await {
                Ok(body) => PeerReply::Answered { status, body },
                Err(e) => failed(e),
            }
        }
        Err(e) => failed(Some(e)),
    }
}
