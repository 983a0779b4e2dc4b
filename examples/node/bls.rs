//! The node's BLS signing endpoints: a reward balance, an exit, a liquidation, each signed with
//! the node's BLS key only when its own ledger agrees (`sesh_node::signing` decides; this module
//! reads the request, takes the node's clock and answers).
//!
//! | endpoint | request | answer |
//! |---|---|---|
//! | `POST /network/v1/bls/reward` | `{"address": "0x<40 hex>", "height": N?, "amount": "<decimal>"?}` | `{"address", "height", "amount", "signature": [4 × "0x<64 hex>"], "bls_pubkey", "contract_id"}` |
//! | `POST /network/v1/bls/exit`, `/network/v1/bls/liquidate` | `{"bls_pubkey": "0x<128 hex>", "timestamp": <unix s>}` | `{"signature", "bls_pubkey", "contract_id"}` |
//!
//! `400` for a request that is not of its form, `409` for one the node's ledger refuses, `503`
//! before the node has applied a height (or learned the chain id); refusals are
//! `{"refused": "<rule>", "error": "<what>"}` (`sesh_node::Error::refusal`).

use serde_json::{Value, json};
use sesh_node::Error;
use sesh_node::signing::{self, RemovalRequest, RewardRequest, Signer};
use sesh_staking::BlsKey;

use crate::lock;
use crate::node::app::App;

/// `POST`: a reward balance.
pub const REWARD_PATH: &str = "/network/v1/bls/reward";
/// `POST`: an exit.
pub const EXIT_PATH: &str = "/network/v1/bls/exit";
/// `POST`: a liquidation.
pub const LIQUIDATE_PATH: &str = "/network/v1/bls/liquidate";

fn refused(e: &Error) -> (u16, Value) {
    let status = match e {
        Error::BadRequest(_) => 400,
        Error::NoHeightApplied => 503,
        _ => 409,
    };
    (status, json!({"refused": e.refusal(), "error": e.to_string()}))
}

fn signer(app: &App) -> Result<&Signer, (u16, Value)> {
    app.chain.signer.get().ok_or_else(|| {
        let error = "this node has not learned the chain id yet: it signs nothing";
        (503, json!({"refused": "not_following", "error": error}))
    })
}

/// The node's clock, unix seconds.
fn now() -> u64 {
    u64::try_from(crate::now_ms() / 1000).unwrap_or(0)
}

/// The node's own contract id, as followed.
fn contract_id(app: &App, signer: &Signer) -> Option<u64> {
    let me = BlsKey::from_bytes(signer.public_key().to_bytes());
    lock(&app.chain.signing).contract_id(&me)
}

/// `POST /network/v1/bls/reward`.
pub fn on_reward(app: &App, body: &[u8]) -> (u16, Value) {
    let signer = match signer(app) {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let decided = RewardRequest::from_json(body).and_then(|request| {
        let signing = lock(&app.chain.signing);
        let reward = signing.reward(&request)?;
        let me = BlsKey::from_bytes(signer.public_key().to_bytes());
        Ok((reward, signing.contract_id(&me)))
    });
    match decided {
        Ok((reward, id)) => {
            let signature = signer.sign(&reward.message);
            tracing::debug!(height = reward.height, amount = %reward.amount, "signed a reward balance");
            (200, signing::reward_json(&reward, &signature, &signer.public_key(), id))
        }
        Err(e) => refused(&e),
    }
}

/// `POST /network/v1/bls/exit` (`liquidate` false) or `/network/v1/bls/liquidate`.
pub fn on_removal(app: &App, body: &[u8], liquidate: bool) -> (u16, Value) {
    let signer = match signer(app) {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let now = now();
    let decided = RemovalRequest::from_json(body).and_then(|request| {
        let signing = lock(&app.chain.signing);
        if liquidate { signing.liquidation(&request, now) } else { signing.exit(&request, now) }
    });
    match decided {
        Ok(message) => {
            let signature = signer.sign(&message);
            let what = if liquidate { "liquidation" } else { "exit" };
            tracing::info!(what, "signed a node's removal");
            let id = contract_id(app, signer);
            (200, signing::removal_json(&signature, &signer.public_key(), id))
        }
        Err(e) => refused(&e),
    }
}
