//! Swarm duty beyond single requests, as `sesh_node::handover` rules it: when the swarms change,
//! hand over the messages this node no longer owns (`POST /swarm/v1/push` to the owning swarm)
//! and fetch the ones it now owns (`POST /swarm/v1/fetch` from its swarm peers).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sesh_identity::NodeId;
use sesh_node::handover::{self, Accepted, FetchRequest, Handover, Outcome, Step};

use crate::node::app::{App, Internal};
use crate::node::metrics::Metrics;
use crate::node::peer;
use sesh_node::replication::PeerReply;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Hands over what this node no longer owns and fetches what it now owns, as
/// `sesh_node::handover::Handover` directs; returns whether anything was left to do.
pub async fn handover(app: &Arc<App>) -> bool {
    let _one = app.handover.lock().await;
    let mut run = Handover::new(app.state(), app.me, crate::now_ms());
    let mut outcome = None;
    loop {
        let ok_body = |reply| match reply {
            PeerReply::Answered { status: 200, body } => Some(body),
            _ => None,
        };
        // A fetched page's signatures are checked in `step`: off the runtime's other tasks.
        outcome = Some(match tokio::task::block_in_place(|| run.step(outcome.take())) {
            Step::Scan { after, limit } => match app.with_db(move |db| db.scan(after, limit)).await
            {
                Ok(Ok(rows)) => Outcome::Rows(rows),
                _ => Outcome::Failed,
            },
            Step::Push { to, body, count } => {
                let mut answers = Vec::with_capacity(to.len());
                for node in to {
                    let url = node.url("/swarm/v1/push");
                    answers.push(ok_body(
                        peer::post_to(app, &node.id, &url, "/swarm/v1/push", body.clone(), TIMEOUT)
                            .await,
                    ));
                }
                tracing::info!(messages = count, members = answers.len(), "handover to new owners");
                Outcome::Pushed(answers)
            }
            Step::Delete { hashes } => {
                let n = hashes.len() as u64;
                match app.with_db(move |db| db.delete_hashes(&hashes)).await {
                    Ok(Ok(_)) => {
                        Metrics::outcome(&app.metrics.handover, "handed_over", n);
                        Outcome::Done
                    }
                    _ => Outcome::Failed,
                }
            }
            Step::Fetch { from, body } => {
                let url = from.url("/swarm/v1/fetch");
                Outcome::Fetched(ok_body(
                    peer::post_to(app, &from.id, &url, "/swarm/v1/fetch", body, TIMEOUT).await,
                ))
            }
            Step::Import { accepted } => match keep(app, accepted).await {
                Ok(new) => {
                    Metrics::outcome(&app.metrics.handover, "fetched", new as u64);
                    Outcome::Done
                }
                Err(_) => Outcome::Failed,
            },
            Step::Done { left_over } => return left_over,
        });
    }
}

/// Counts what a push or a page brought, and stores what this node keeps; how many were new.
async fn keep(app: &App, accepted: Accepted) -> Result<usize, Internal> {
    for (outcome, n) in accepted.refused() {
        Metrics::outcome(&app.metrics.handover, outcome, n as u64);
    }
    let messages = accepted.keep;
    match app.with_db(move |db| db.import(messages)).await? {
        Ok(new) => Ok(new),
        Err(e) => Err(Internal(e.to_string())),
    }
}

/// `POST /swarm/v1/push`: messages handed over by another node. Answers the hashes kept.
pub async fn on_push(app: &Arc<App>, body: &[u8]) -> (u16, Value) {
    let state = app.state();
    let read = || handover::read_push(&state, &app.me, crate::now_ms(), body);
    let accepted = match tokio::task::block_in_place(read) {
        Ok(a) => a,
        Err(e) => return (400, json!({"error": e.to_string()})),
    };
    let kept = accepted.keep.clone();
    match keep(app, accepted).await {
        Ok(new) => {
            Metrics::outcome(&app.metrics.handover, "received", new as u64);
            (200, handover::push_answer(&kept, new))
        }
        Err(e) => (500, json!({"error": e.0})),
    }
}

/// `POST /swarm/v1/fetch` from a member of the swarm asked for.
pub async fn on_fetch(app: &Arc<App>, from: NodeId, body: &[u8]) -> (u16, Value) {
    let state = app.state();
    let ask = match FetchRequest::parse(body) {
        Ok(ask) => ask,
        Err(e) => return (400, json!({"error": e.to_string()})),
    };
    if let Err(e) = ask.authorize(&state, &from) {
        return (403, json!({"error": e.to_string()}));
    }
    match app.with_db(move |db| db.scan(ask.after, ask.limit)).await {
        Ok(Ok(rows)) => (200, ask.answer(&state, &rows)),
        Ok(Err(e)) => (500, json!({"error": e.to_string()})),
        Err(e) => (500, json!({"error": e.0})),
    }
}
