//! Swarm duty beyond single requests: when the swarms change, hand over the messages this node no
//! longer owns (`POST /swarm/v1/push` to the owning swarm) and fetch the ones it now owns
//! (`POST /swarm/v1/fetch` from its swarm peers).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sesh_rpc::store::Message;
use sesh_rpc::{AccountId, Namespace, message_hash};
use sesh_swarm::SwarmId;

use crate::node::app::App;
use crate::node::metrics::Metrics;
use crate::node::network::View;
use crate::node::peer::{self, Reply};

/// Messages per push or fetch page.
pub(crate) const PAGE: usize = 500;
const TIMEOUT: Duration = Duration::from_secs(30);

/// A message as nodes hand it to each other.
pub(crate) fn message_to_json(m: &Message) -> Value {
    json!({
        "pubkey": m.pubkey.prefixed_hex(),
        "hash": m.hash,
        "namespace": m.namespace.0,
        "timestamp": m.timestamp,
        "expiry": m.expiry,
        "data": STANDARD.encode(&m.data),
    })
}

/// Reads a handed-over message, checking that its hash is its content's.
pub(crate) fn message_from_json(v: &Value) -> Option<Message> {
    let pubkey = AccountId::load(v.get("pubkey")?.as_str()?)?;
    let namespace = Namespace(i16::try_from(v.get("namespace")?.as_i64()?).ok()?);
    let data = STANDARD.decode(v.get("data")?.as_str()?).ok()?;
    let hash = v.get("hash")?.as_str()?.to_owned();
    if hash != message_hash(&pubkey, namespace, &data) {
        return None;
    }
    Some(Message {
        pubkey,
        hash,
        namespace,
        timestamp: v.get("timestamp")?.as_i64()?,
        expiry: v.get("expiry")?.as_i64()?,
        data,
    })
}

/// Whether the swarm this node is in, or its members, differ between two views.
pub(crate) fn swarm_changed(old: &View, new: &View) -> bool {
    let members = |v: &View| v.my_swarm().map(|s| (s, v.map.members(s).to_vec()));
    members(old) != members(new) || (new.my_swarm().is_none() && old.my_swarm().is_some())
}

/// Hands over what this node no longer owns and fetches what it now owns; returns whether
/// anything was left to do (a peer that did not answer).
pub(crate) async fn handover(app: &Arc<App>) -> bool {
    let _one = app.handover.lock().await;
    let view = app.view();
    let mut left_over = push_away(app, &view).await;
    if view.my_swarm().is_some() {
        left_over |= fetch_owned(app, &view).await;
    }
    left_over
}

/// Pushes the messages of accounts outside this node's swarm to their swarms, and deletes the
/// ones a member of the owning swarm took.
async fn push_away(app: &Arc<App>, view: &Arc<View>) -> bool {
    let mine = view.my_swarm();
    let mut after = 0;
    let mut left_over = false;
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
        let mut by_swarm: BTreeMap<SwarmId, Vec<Message>> = BTreeMap::new();
        for (_, m) in rows {
            match view.swarm_for(&m.pubkey) {
                Some(s) if Some(s) != mine => by_swarm.entry(s).or_default().push(m),
                _ => {}
            }
        }
        for (swarm, messages) in by_swarm {
            let body =
                json!({"messages": messages.iter().map(message_to_json).collect::<Vec<_>>()})
                    .to_string()
                    .into_bytes();
            let mut taken: Vec<String> = Vec::new();
            for node in view.members(swarm) {
                let reply = peer::post(
                    &app.peers,
                    &app.identity,
                    &node.url("/swarm/v1/push"),
                    "/swarm/v1/push",
                    body.clone(),
                    TIMEOUT,
                )
                .await;
                if let Reply::Answered { status: 200, body } = reply
                    && let Ok(v) = serde_json::from_slice::<Value>(&body)
                    && let Some(accepted) = v.get("accepted").and_then(Value::as_array)
                {
                    taken.extend(accepted.iter().filter_map(Value::as_str).map(str::to_owned));
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
            tracing::info!(swarm = %swarm, messages = messages.len(), handed_over = n, "handover to new owners");
        }
        if !full_page {
            break;
        }
    }
    left_over
}

/// Fetches from each swarm peer the messages of this node's swarm that it holds.
async fn fetch_owned(app: &Arc<App>, view: &Arc<View>) -> bool {
    let Some(swarm) = view.my_swarm() else { return false };
    let mut left_over = false;
    for node in view.peers() {
        let mut after: i64 = 0;
        loop {
            let body =
                json!({"swarm": format!("{:x}", swarm.get()), "after": after, "limit": PAGE})
                    .to_string()
                    .into_bytes();
            let reply = peer::post(
                &app.peers,
                &app.identity,
                &node.url("/swarm/v1/fetch"),
                "/swarm/v1/fetch",
                body,
                TIMEOUT,
            )
            .await;
            let Reply::Answered { status: 200, body } = reply else {
                left_over = true;
                break;
            };
            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                left_over = true;
                break;
            };
            let messages = accept(app, view, v.get("messages"));
            let got = messages.len();
            match app.with_db(move |db| db.import(messages)).await {
                Ok(Ok(new)) => Metrics::outcome(&app.metrics.handover, "fetched", new as u64),
                _ => {
                    left_over = true;
                    break;
                }
            }
            tracing::debug!(peer = %hex::encode(node.ed25519), got, "fetched from swarm peer");
            match v.get("next").and_then(Value::as_i64) {
                Some(next) if next > after => after = next,
                _ => break,
            }
        }
    }
    left_over
}

/// The messages of a push or fetch that this node should keep: well-formed, unexpired, and of an
/// account its swarm owns.
fn accept(app: &App, view: &View, messages: Option<&Value>) -> Vec<Message> {
    let now = crate::node::now_ms();
    let Some(list) = messages.and_then(Value::as_array) else { return Vec::new() };
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        match message_from_json(v) {
            Some(m)
                if m.expiry > now
                    && view.my_swarm().is_some()
                    && view.swarm_for(&m.pubkey) == view.my_swarm() =>
            {
                out.push(m);
            }
            Some(_) => Metrics::outcome(&app.metrics.handover, "not_ours", 1),
            None => Metrics::outcome(&app.metrics.handover, "malformed", 1),
        }
    }
    out
}

/// `POST /swarm/v1/push`: messages handed over by another node. Answers the hashes kept.
pub(crate) async fn on_push(app: &Arc<App>, body: &[u8]) -> (u16, Value) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (400, json!({"error": "body is not JSON"}));
    };
    let view = app.view();
    let messages = accept(app, &view, v.get("messages"));
    let hashes: Vec<String> = messages.iter().map(|m| m.hash.clone()).collect();
    match app.with_db(move |db| db.import(messages)).await {
        Ok(Ok(new)) => {
            Metrics::outcome(&app.metrics.handover, "received", new as u64);
            (200, json!({"accepted": hashes, "new": new}))
        }
        Ok(Err(e)) => (500, json!({"error": e.to_string()})),
        Err(e) => (500, json!({"error": e.0})),
    }
}

/// `POST /swarm/v1/fetch`: `{"swarm": hex id, "after": row, "limit": n}` from a member of that
/// swarm. Answers `{"messages": […], "next": row or null}`.
pub(crate) async fn on_fetch(app: &Arc<App>, from: [u8; 32], body: &[u8]) -> (u16, Value) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (400, json!({"error": "body is not JSON"}));
    };
    let swarm = v
        .get("swarm")
        .and_then(Value::as_str)
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .and_then(|id| SwarmId::new(id).ok());
    let (Some(swarm), Some(after)) = (swarm, v.get("after").and_then(Value::as_i64)) else {
        return (
            400,
            json!({"error": "expected {\"swarm\": hex, \"after\": int, \"limit\": int}"}),
        );
    };
    let limit = v
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(PAGE, |l| usize::try_from(l).unwrap_or(PAGE).clamp(1, PAGE));
    let view = app.view();
    if view.map.swarm_of(&sesh_swarm::NodeId::from_bytes(from)) != Some(swarm) {
        return (403, json!({"error": "the requesting node is not a member of that swarm"}));
    }
    let rows = match app.with_db(move |db| db.scan(after, limit)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return (500, json!({"error": e.to_string()})),
        Err(e) => return (500, json!({"error": e.0})),
    };
    let next = (rows.len() == limit).then(|| rows.last().map(|(id, _)| *id)).flatten();
    let messages: Vec<Value> = rows
        .iter()
        .filter(|(_, m)| view.swarm_for(&m.pubkey) == Some(swarm))
        .map(|(_, m)| message_to_json(m))
        .collect();
    (200, json!({"messages": messages, "next": next}))
}
