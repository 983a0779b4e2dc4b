//! The chain tools (issue 20, first step): the pinned anvil, solc-js and OpenZeppelin install
//! themselves from npm on first use (into `target/chain-tools`), anvil starts on a free
//! loopback port with the pinned chain id and answers JSON-RPC, and solc-js compiles a contract
//! that imports OpenZeppelin without any network.
//!
//! Without npm, or without the npm registry on the first run, the test fails and says so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};
use sesh_examples::chain_tools::{Anvil, CHAIN_ID, ChainTools, target_dir};

/// A chain id other than anvil's default, so that the pin is seen to take effect.
const TEST_CHAIN_ID: u64 = 4_207_001;

const TOKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chain/Token.sol");

async fn rpc(http: &reqwest::Client, url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    let bytes = reply.bytes().await.unwrap();
    let reply: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply["result"].clone()
}

fn quantity(v: &Value) -> u64 {
    let hex = v.as_str().unwrap().strip_prefix("0x").unwrap();
    u64::from_str_radix(hex, 16).unwrap()
}

#[tokio::test]
async fn pinned_anvil_answers_json_rpc_and_solc_js_compiles_openzeppelin_offline() {
    let started = Instant::now();
    let tools = ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let installed = started.elapsed();

    let anvil = Anvil::spawn(&tools, TEST_CHAIN_ID, &[]).unwrap_or_else(|e| panic!("{e}"));
    let up = started.elapsed();
    assert_ne!(TEST_CHAIN_ID, CHAIN_ID);
    let http = reqwest::Client::new();
    let url = anvil.url();
    let version = rpc(&http, &url, "web3_clientVersion", json!([])).await;
    assert_eq!(version, json!("anvil/v1.7.1"));
    assert_eq!(quantity(&rpc(&http, &url, "eth_chainId", json!([])).await), TEST_CHAIN_ID);
    let before = quantity(&rpc(&http, &url, "eth_blockNumber", json!([])).await);
    rpc(&http, &url, "anvil_mine", json!(["0x5"])).await;
    let after = quantity(&rpc(&http, &url, "eth_blockNumber", json!([])).await);
    assert_eq!(after, before + 5);
    drop(anvil);
    let chain = started.elapsed();

    let out = tools.compile(&[Path::new(TOKEN)]).unwrap_or_else(|e| panic!("{e}"));
    assert!(out["solc"].as_str().unwrap().starts_with("0.8.30+"), "{}", out["solc"]);
    let token = &out["contracts"][format!("{TOKEN}:TestToken")];
    let bytecode = token["bytecode"].as_str().unwrap();
    assert!(bytecode.len() > 1000, "{bytecode}");
    let abi = token["abi"].as_array().unwrap();
    assert!(abi.iter().any(|f| f["name"] == "transfer"), "{abi:?}");
    assert!(abi.iter().any(|e| e["type"] == "event" && e["name"] == "Transfer"), "{abi:?}");

    println!(
        "chain tools: ready in {installed:.1?}, anvil up at {up:.1?}, chain checked at \
         {chain:.1?}, compiled at {:.1?}",
        started.elapsed()
    );
}
