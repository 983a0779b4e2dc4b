//! Requests to other nodes, signed by this node's key (`sesh_network::auth`; see
//! `docs/node.md`).

use std::time::Duration;

use sesh_node::egress::MAX_ANSWER;
use sesh_node::replication::PeerReply;

use crate::node::app::App;

/// An answer from a peer.
#[derive(Debug)]
pub enum Reply {
    /// It answered.
    Answered {
        /// HTTP status.
        status: u16,
        /// Body.
        body: Vec<u8>,
    },
    /// It did not answer in time.
    TimedOut,
    /// It could not be reached.
    Unreachable(String),
}

impl From<Reply> for PeerReply {
    fn from(r: Reply) -> Self {
        match r {
            Reply::Answered { status, body } => Self::Answered { status, body },
            Reply::TimedOut => Self::TimedOut,
            Reply::Unreachable(e) => {
                tracing::debug!(error = %e, "swarm peer unreachable");
                Self::Unreachable
            }
        }
    }
}

/// POSTs a request for `path` at `url`, signed by this node.
pub async fn post(app: &App, url: &str, path: &str, body: Vec<u8>, timeout: Duration) -> Reply {
    let mut req = app.peers.post(url).timeout(timeout);
    for (name, value) in sesh_network::auth::sign(&app.identity, path, crate::now_ms(), &body) {
        req = req.header(name, value);
    }
    let failed = |e: reqwest::Error| {
        if e.is_timeout() { Reply::TimedOut } else { Reply::Unreachable(e.to_string()) }
    };
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match crate::http::read_capped(resp).await {
                Ok(body) => Reply::Answered { status, body },
                Err(Some(e)) => failed(e),
                Err(None) => Reply::Unreachable(format!("answer over {MAX_ANSWER} bytes")),
            }
        }
        Err(e) => failed(e),
    }
}
