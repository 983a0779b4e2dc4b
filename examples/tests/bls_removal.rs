//! A node's exit and another's liquidation through the network's BLS signature, end to end:
//! real node processes following sesh's staking contract on anvil, `sesh_examples::claims`
//! collecting their signatures, and the contract taking the aggregate.
//!
//! The contract refuses an exit or a liquidation within 2 hours of the node's registration (by
//! the chain's clock) and a signature older than 10 minutes; the nodes sign only a timestamp
//! within 3 minutes of their own (wall) clocks. So anvil starts with its genesis 3 hours in the
//! past (its blocks keep that offset), the nodes register then, and `evm_increaseTime` brings
//! the chain's clock to the wall clock before the signed transactions.
//!
//! The honest path: two operators ask to leave (`initiateExitBLSPublicKey`); the nodes keep both in
//! service until the ledger's unlock (60 heights here, `--unlock-heights`; `Params::testnet` has
//! 720, 3.6 minutes of 300 ms heights) and refuse to sign either removal until then; then every
//! node's ledger holds both as removed and signs the exit; before the clock catches up the contract
//! would refuse it (`ExitTooEarly`, nothing sent); after, `exitBLSPublicKeyWithSignature` emits
//! `ServiceNodeExit` with the whole deposit, every node's ledger applies it and credits the
//! operator's stake to its balance at the next height, and the operator claims it through the
//! network's signature. The other node, not exited within the ledger's exit buffer (30 heights), is
//! liquidated with the `stake liquidate` command: refused before the buffer ends, signed after it,
//! `ServiceNodeLiquidated` with the sender as liquidator and the deposit less the live 0.2 %
//! penalty returned; `stake exit-signed` of the node that left is refused with nothing sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

/// The ledger's unlock delay the nodes are given (`--unlock-heights`).
const UNLOCK_HEIGHTS: u64 = 60;

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::Provider as _;
use serde_json::{Value, json};
use sesh_bls::PublicKey;
use sesh_examples::claims::{self, ClaimError, Removal};
use sesh_examples::contracts::ServiceNodeRewards as Rewards;
use sesh_examples::local::chain::Chain;

use common::Testnet;

const NODES: usize = 4;
/// The node that exits, and the one liquidated.
const EXITING: usize = 3;
const LIQUIDATED: usize = 2;

fn now() -> u64 {
    claims::unix_now()
}

async fn post(http: &reqwest::Client, url: &str, path: &str, body: &str) -> (u16, Value) {
    let r = http.post(format!("{url}{path}")).body(body.to_owned()).send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn removal_body(key: &PublicKey) -> String {
    json!({"bls_pubkey": format!("0x{}", hex::encode(key.to_bytes())), "timestamp": now()})
        .to_string()
}

/// Polls every node's `path` for `key` until each signs (200); every refusal before that must
/// be `while_refused`. Returns when all sign.
async fn until_all_sign(
    http: &reqwest::Client,
    urls: &[String],
    path: &str,
    key: &PublicKey,
    while_refused: &[&str],
    within: Duration,
) {
    let deadline = Instant::now() + within;
    for url in urls {
        loop {
            let (status, v) = post(http, url, path, &removal_body(key)).await;
            if status == 200 {
                break;
            }
            let rule = v["refused"].as_str().unwrap_or_default();
            assert!(
                status == 409 && while_refused.contains(&rule),
                "{url}{path}: {status} {v} (expected one of {while_refused:?})"
            );
            assert!(Instant::now() < deadline, "{url}{path} still refuses: {v}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// `address`'s credited balance (milli-atomic units) and the height, as node `url` publishes it.
async fn balance(http: &reqwest::Client, url: &str, address: Address) -> (u64, u128) {
    let v: Value =
        http.get(format!("{url}/network/v1/rewards")).send().await.unwrap().json().await.unwrap();
    let key = sesh_staking::Address::from_evm(address.0.0).to_string();
    let milli = v["balances"][&key].as_str().map_or(0, |m| m.parse().unwrap());
    (v["height"].as_u64().unwrap(), milli)
}

async fn chain_time(provider: &alloy::providers::DynProvider) -> u64 {
    let block =
        provider.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await.unwrap().unwrap();
    block.header.timestamp
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_exits_and_another_is_liquidated_through_the_networks_signature() {
    let genesis = now() - 3 * 3600;
    let chain = Chain::start_at(NODES, common::HEIGHT_MS, Some(genesis)).await.unwrap();
    let command = [common::node_binary().into_os_string()];
    // The ledger's unlock shortened from `Params::testnet`'s 720 heights (3.6 minutes) to 60.
    let extra =
        ["--plain-http", "--unlock-heights", &UNLOCK_HEIGHTS.to_string()].map(str::to_owned);
    let net = Testnet::start_on("bls-removal", chain, &extra, &command).await;
    let http = &net.http;
    let urls: Vec<String> = net.nodes.iter().map(|n| n.url.clone()).collect();
    let anvil = &net.chain.anvil;
    let contract = net.chain.deployment.rewards;
    let sender = net.chain.provider(anvil.dev_signer(0).unwrap()).unwrap();
    let rewards = Rewards::new(contract, sender.clone());
    // The chain's clock runs about 3 hours behind the wall clock.
    let behind = now().saturating_sub(chain_time(&sender).await);
    assert!((3 * 3600 - 120..=3 * 3600 + 5).contains(&behind), "{behind}");

    let set = claims::registered_set(&sender, contract).await.unwrap();
    assert_eq!(set.keys.len(), NODES);
    let key = |i: usize| sesh_node::signing::bls_public_key(&net.chain.nodes[i]);
    let id = |i: usize| claims::id_of(&set, &key(i)).unwrap();
    // Node i's operator is dev account 1 + i; it staked half the requirement.
    let operator = |i: usize| anvil.dev_signer(1 + i).unwrap();
    let half = U256::from(sesh_node::keeper::REQUIREMENT / 2);
    for i in [EXITING, LIQUIDATED] {
        let held = rewards.serviceNodes(id(i)).call().await.unwrap();
        assert_eq!(held.contributors[0].staker.addr, operator(i).address());
        assert_eq!(held.contributors[0].stakedAmount, half);
    }

    // A node in service: no node signs its removal, and the aggregator says so.
    let e = claims::collect_removal(
        http,
        &urls,
        &set,
        Removal::Exit,
        key(EXITING),
        now(),
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    match &e {
        ClaimError::TooFewSigners { signed: 0, skipped, .. } => {
            assert_eq!(skipped.len(), NODES, "{e}");
            assert!(skipped.iter().all(|s| s.contains("node_in_service")), "{e}");
        }
        other => panic!("{other}"),
    }

    // The two operators ask to leave.
    for i in [EXITING, LIQUIDATED] {
        let provider = net.chain.provider(operator(i)).unwrap();
        let instance = Rewards::new(contract, provider);
        let call = instance.initiateExitBLSPublicKey(id(i));
        let gas = call.estimate_gas().await.unwrap();
        let receipt = call.gas(gas + gas / 4).send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status());
    }
    // Every node's ledger keeps them in service until the unlock (60 heights), then removes
    // them: from then on every node signs the exit.
    let asked = Instant::now();
    until_all_sign(
        http,
        &urls,
        "/network/v1/bls/exit",
        &key(EXITING),
        &["node_in_service"],
        Duration::from_secs(600),
    )
    .await;
    eprintln!("the ledgers removed the nodes {:?} after the request", asked.elapsed());
    // Not yet liquidatable: the exit buffer (30 heights) runs from the removal. The second
    // request may have landed a block after the first, so node 0 may still hold that node in
    // service for a moment: wait for its removal there first.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (status, v) = loop {
        let (status, v) =
            post(http, &urls[0], "/network/v1/bls/liquidate", &removal_body(&key(LIQUIDATED)))
                .await;
        if v["refused"].as_str() != Some("node_in_service") || Instant::now() > deadline {
            break (status, v);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!((status, v["refused"].as_str()), (409, Some("liquidation_too_early")), "{v}");

    // The network signs the exit; the contract, by its clock, refuses it: too early.
    let collected = claims::collect_removal(
        http,
        &urls,
        &set,
        Removal::Exit,
        key(EXITING),
        now(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(collected.signers.len(), NODES, "{:?}", collected.skipped);
    assert!(collected.non_signers.is_empty());
    match claims::send_removal(&sender, contract, &collected).await {
        Err(ClaimError::WouldRevert { reason, .. }) => {
            assert!(reason.contains("ExitTooEarly"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rewards.allServiceNodeIDs().call().await.unwrap().ids.len(), NODES);

    // The chain's clock catches up with the wall clock.
    let behind = now().saturating_sub(chain_time(&sender).await);
    sender.raw_request::<_, Value>("evm_increaseTime".into(), (behind,)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while chain_time(&sender).await + 5 < now() {
        assert!(Instant::now() < deadline, "anvil's clock did not move");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The operator's credited balance before the exit (its node earns nothing once removed).
    let exiting_operator = operator(EXITING).address();
    let (_, before) = balance(http, &urls[0], exiting_operator).await;

    // The exit through the network's signature.
    let removed = claims::remove_through_network(
        &sender,
        http,
        contract,
        &urls,
        Removal::Exit,
        id(EXITING),
        None,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(removed.collected.signers.len(), NODES, "{:?}", removed.collected.skipped);
    assert_eq!(removed.returned, U256::from(sesh_node::keeper::REQUIREMENT));
    assert_eq!(removed.liquidator, None);
    let ids = rewards.allServiceNodeIDs().call().await.unwrap().ids;
    assert!(!ids.contains(&id(EXITING)) && ids.len() == NODES - 1, "{ids:?}");
    // A replay: the contract holds the key no more.
    let after = claims::registered_set(&sender, contract).await.unwrap();
    let e = claims::collect_removal(
        http,
        &urls,
        &after,
        Removal::Exit,
        key(EXITING),
        now(),
        Duration::ZERO,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ClaimError::NotRegistered(_)), "{e}");

    // Every node's ledger applies the exit: the operator's half of the stake is credited to its
    // balance at the next height, and no node signs the exit again (the contract holds no such
    // node).
    let stake_milli = u128::from(sesh_node::keeper::REQUIREMENT / 2) * 1000;
    let mut credited_at = 0;
    for url in &urls {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (height, now_milli) = balance(http, url, exiting_operator).await;
            if now_milli == before + stake_milli {
                credited_at = credited_at.max(height);
                break;
            }
            assert_eq!(now_milli, before, "{url}: the balance moved by something else");
            assert!(Instant::now() < deadline, "{url} never credits the returned stake");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (status, v) =
            post(http, url, "/network/v1/bls/exit", &removal_body(&key(EXITING))).await;
        assert_eq!((status, v["refused"].as_str()), (409, Some("not_in_contract")), "{v}");
    }
    // The operator claims it (and its rewards) through the network's signature.
    let op_provider = net.chain.provider(operator(EXITING)).unwrap();
    let claimed = claims::claim_with(
        &op_provider,
        http,
        &after,
        &urls,
        exiting_operator,
        credited_at,
        None,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(claimed.collected.amount, (before + stake_milli) / 1000);
    assert_eq!(claimed.claim.0, U256::from((before + stake_milli) / 1000));

    // The other node: liquidatable once the exit buffer has passed (the nodes refuse until then).
    until_all_sign(
        http,
        &urls,
        "/network/v1/bls/liquidate",
        &key(LIQUIDATED),
        &["liquidation_too_early"],
        Duration::from_secs(120),
    )
    .await;
    // Through the `stake` command (the sender is dev account 0): first a refused exit of the
    // node that left (nothing sent), then the liquidation, its JSON read back.
    let key_file = net.dir.join("evm_key0");
    std::fs::write(&key_file, format!("{}\n", anvil.dev_keys()[0])).unwrap();
    let stake = |args: &[String]| {
        let mut cmd = std::process::Command::new(common::example_binary("stake"));
        cmd.args(["--rpc", &anvil.url(), "--key"]).arg(&key_file).arg("--json").args(args);
        let out = cmd.output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        let secret = anvil.dev_keys()[0].trim_start_matches("0x").to_lowercase();
        assert!(!format!("{stdout}{stderr}").to_lowercase().contains(&secret), "a key was printed");
        (out.status.success(), stdout, stderr)
    };
    let nodes: Vec<String> = urls.iter().flat_map(|u| ["--node".to_owned(), u.clone()]).collect();
    let command = |what: &str, i: usize| {
        let mut args = vec![what.to_owned(), "--contract".to_owned(), contract.to_string()];
        args.extend(["--id".to_owned(), id(i).to_string()]);
        args.extend(nodes.iter().cloned());
        args
    };
    let block = sender.get_block_number().await.unwrap();
    let (ok, _, stderr) = stake(&command("exit-signed", EXITING));
    assert!(
        !ok && stderr.contains(&format!("the contract holds no node {}", id(EXITING))),
        "{stderr}"
    );
    let (ok, stdout, stderr) = stake(&command("liquidate", LIQUIDATED));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(sender.get_block_number().await.unwrap() > block);
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (out["removal"].as_str(), out["id"].as_u64()),
        (Some("liquidation"), Some(id(LIQUIDATED)))
    );
    // Three of the contract's three sign; the exited node's process answers with a key the
    // contract no longer lists.
    let signers = out["signers"].as_array().unwrap();
    assert_eq!(
        (signers.len(), out["non_signers"].as_array().unwrap().len()),
        (NODES - 1, 0),
        "{out}"
    );
    let skipped = out["skipped"].to_string();
    assert!(skipped.contains("its key is not one the contract lists"), "{skipped}");
    assert_eq!(
        out["liquidator"].as_str().map(|a| a.parse::<Address>().unwrap()),
        Some(anvil.dev_signer(0).unwrap().address())
    );
    let deposit = U256::from(sesh_node::keeper::REQUIREMENT);
    let penalty = deposit * U256::from(3) / U256::from(10_000)
        + (deposit * U256::from(17)).div_ceil(U256::from(10_000));
    assert_eq!(out["returned"].as_str().unwrap().parse::<U256>().unwrap(), deposit - penalty);
    let hash: alloy::primitives::B256 = out["tx"].as_str().unwrap().parse().unwrap();
    let receipt = sender.get_transaction_receipt(hash).await.unwrap().unwrap();
    let liquidated_event = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| {
            use alloy::sol_types::SolEvent as _;
            Rewards::ServiceNodeLiquidated::decode_log(&log.inner).ok()
        })
        .unwrap();
    assert_eq!(liquidated_event.serviceNodeID, id(LIQUIDATED));
    let ids = rewards.allServiceNodeIDs().call().await.unwrap().ids;
    assert_eq!(ids.len(), NODES - 2, "{ids:?}");
    // Every node's ledger applies the liquidation: it signs it no more.
    for url in &urls {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, v) =
                post(http, url, "/network/v1/bls/liquidate", &removal_body(&key(LIQUIDATED))).await;
            if status == 409 && v["refused"] == "not_in_contract" {
                break;
            }
            assert!(Instant::now() < deadline, "{url} still signs: {status} {v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
