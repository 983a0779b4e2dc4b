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
    let get = http.get(format!("{base}{STATE_PATH}")).timeout(Duration::from_secs(10));
    let resp = get.send().await.map_err(|e| e.to_string())?;
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = crate::http::read_capped(resp)
        .await
        .map_err(|e| e.map_or_else(|| "the state is over 10 MiB".to_owned(), |e| e.to_string()))?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    let state = match pinned {
        Some(key) => {
            let lookup = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            NetworkState::from_signed(&body, &SignatureHeaders::from_lookup(lookup), key, now_ms())
        }
        None => NetworkState::from_json(&body),
    };
    Ok((body, state.map_err(|e| e.to_string())?))
}
