//! Swarm duty beyond single requests, as `sesh_node::handover` rules it: when the swarms change,
//! hand over the messages this node no longer owns (`POST /swarm/v1/push` to the owning swarm)
//! and fetch the ones it now owns (`POST /swarm/v1/fetch` from its swarm peers).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sesh_identity::NodeId;
use sesh_network::NetworkState;
use sesh_node::Duty;
use sesh_node::handover::{self, Accepted, FetchRequest, PAGE};

use crate::node::app::{App, Internal};
use crate::node::metrics::Metrics;
use crate::node::peer::{self, Reply};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Hands over what this node no longer owns and fetches what it now owns; returns whether
/// anything was left to do (a peer that did not answer).
pub async fn handover(app: &Arc<App>) -> bool {
    let _one = app.handover.lock().await;
    let state = app.state();
    let mut left_over = push_away(app, &state).await;
    if Duty::new(&state, app.me).swarm().is_some() {
        left_over |= fetch_owned(app, &state).await;
    }
    left_over
}

/// Pushes the messages of accounts outside this node's swarm to their swarms, and deletes the
/// ones a member of the owning swarm took.
async fn push_away(app: &Arc<App>, state: &Arc<NetworkState>) -> bool {
    let (mut after, mut left_over) = (0, false);
    loop {
        let rows = match app.with_db(move |db| db.scan(after, PAGE)).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "handover: scanning the database failed");
                return true;
            }
            Err(_) => return true,
        };
        let Some((last, _)) = rows.last() else { break };
        after = *last;
        let full_page = rows.len() == PAGE;
        for (swarm, messages) in handover::push_plan(state, &app.me, rows.into_iter().map(|r| r.1))
        {
            let body = handover::push_body(&messages);
            let mut taken: Vec<String> = Vec::new();
            for node in state.members(swarm) {
                let url = node.url("/swarm/v1/push");
                if let Reply::Answered { status: 200, body } =
                    peer::post(app, &url, "/swarm/v1/push", body.clone(), TIMEOUT).await
                {
                    taken.extend(handover::accepted(&body));
                }
            }
            taken.sort();
            taken.dedup();
            left_over |= taken.len() < messages.len();
            let n = taken.len();
            if n > 0 {
                match app.with_db(move |db| db.delete_hashes(&taken)).await {
                    Ok(Ok(_)) => Metrics::outcome(&app.metrics.handover, "handed_over", n as u64),
                    _ => left_over = true,
                }
            }
            tracing::info!(%swarm, messages = messages.len(), handed_over = n, "handover to new owners");
        }
        if !full_page {
            break;
        }
    }
    left_over
}

/// Fetches from each swarm peer the messages of this node's swarm that it holds.
async fn fetch_owned(app: &Arc<App>, state: &Arc<NetworkState>) -> bool {
    let duty = Duty::new(state, app.me);
    let Some(swarm) = duty.swarm() else { return false };
    let mut left_over = false;
    for node in duty.peers() {
        let mut ask = FetchRequest { swarm, after: 0, limit: PAGE };
        loop {
            let url = node.url("/swarm/v1/fetch");
            let Reply::Answered { status: 200, body } =
                peer::post(app, &url, "/swarm/v1/fetch", ask.to_body(), TIMEOUT).await
            else {
                left_over = true;
                break;
            };
            let Ok((accepted, next)) =
                handover::read_page(state, &app.me, crate::node::now_ms(), &body, ask.after)
            else {
                left_over = true;
                break;
            };
            match keep(app, accepted).await {
                Ok(new) => Metrics::outcome(&app.metrics.handover, "fetched", new as u64),
                Err(_) => {
                    left_over = true;
                    break;
                }
            }
            match next {
                Some(next) => ask.after = next,
                None => break,
            }
        }
    }
    left_over
}

/// Counts what a push or a page brought, and stores what this node keeps; how many were new.
async fn keep(app: &App, accepted: Accepted) -> Result<usize, Internal> {
    Metrics::outcome(&app.metrics.handover, "not_ours", accepted.not_ours as u64);
    Metrics::outcome(&app.metrics.handover, "malformed", accepted.malformed as u64);
    let messages = accepted.keep;
    match app.with_db(move |db| db.import(messages)).await? {
        Ok(new) => Ok(new),
        Err(e) => Err(Internal(e.to_string())),
    }
}

/// `POST /swarm/v1/push`: messages handed over by another node. Answers the hashes kept.
pub async fn on_push(app: &Arc<App>, body: &[u8]) -> (u16, Value) {
    let state = app.state();
    let accepted = match handover::read_push(&state, &app.me, crate::node::now_ms(), body) {
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
