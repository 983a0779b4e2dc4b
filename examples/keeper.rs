//! Following the network's ledger keeper: its published network state, fetched and checked
//! against the keeper's pinned key (what every node of a local network does to learn the
//! others; clients find the network from a seed instead, `sesh_client::bootstrap`).

use std::time::Duration;

use sesh_identity::NodeId;
use sesh_network::auth::SignatureHeaders;
use sesh_network::{NetworkState, STATE_PATH};

use crate::now_ms;

/// The keeper's network state at `base`: its bytes, and the state, its signature checked against
/// `pinned` (if given) over those exact bytes.
///
/// # Errors
/// Why no state could be had: the request, the status, the signature or the parse.
pub async fn fetch_state(
    http: &reqwest::Client,
    base: &str,
    pinned: Option<&NodeId>,
) -> Result<(Vec<u8>, NetworkState), String> {
    let body = fetch_signed(http, base, STATE_PATH, pinned).await?;
    let state = NetworkState::from_json(&body).map_err(|e| e.to_string())?;
    Ok((body, state))
}

/// What the keeper at `base` answers a `GET` of `path` with, its signature (the node-to-node
/// signature of its key over the path and body) checked against `pinned` if given.
///
/// # Errors
/// Why nothing could be had: the request, the status or the signature.
pub async fn fetch_signed(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    pinned: Option<&NodeId>,
) -> Result<Vec<u8>, String> {
    let get = http.get(format!("{base}{path}")).timeout(Duration::from_secs(10));
    let resp = get.send().await.map_err(|e| e.to_string())?;
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = crate::http::read_capped(resp)
        .await
        .map_err(|e| e.map_or_else(|| "the answer is over 10 MiB".to_owned(), |e| e.to_string()))?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    if let Some(key) = pinned {
        let lookup = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let signed = SignatureHeaders::from_lookup(lookup);
        let from = sesh_network::auth::verify(&signed, path, now_ms(), &body)
            .map_err(|e| e.to_string())?;
        if from != *key {
            return Err(format!("{path} is signed by {from}, not the keeper"));
        }
    }
    Ok(body)
}
