//! Real node processes following sesh's staking contract on anvil sign reward balances with
//! their BLS keys (`POST /network/v1/bls/reward`): every node, asked for one address at one
//! height, signs the same amount (its ledger's, the balance `/network/v1/rewards` shows), each
//! signature verifies against the key the contract registered for the node's id, and the
//! signatures aggregate into one the contract accepts (`updateRewardsBalance`) with no
//! non-signer. A node refuses more than its ledger says (409, saying the ledger's amount), a
//! height it has not applied (409, saying which it can sign), an exit or liquidation of a node in
//! service (409), and malformed requests (400). A node the contract holds and the ledger refused
//! gets the nodes' exit signatures (an aggregate the contract's key set takes), not a liquidation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use serde_json::{Value, json};
use sesh_bls::{Collector, Message, PublicKey, Signature};
use sesh_examples::contracts::{self, ServiceNodeRewards as Rewards};
use sesh_identity::Identity;

use common::Testnet;

const NODES: usize = 4;

async fn post(http: &reqwest::Client, url: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let r = http.post(format!("{url}{path}")).body(body.to_vec()).send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{path}: {status} not JSON ({e}): {bytes:?}"));
    (status, v)
}

async fn get(http: &reqwest::Client, url: &str, path: &str) -> Value {
    let r = http.get(format!("{url}{path}")).send().await.unwrap();
    r.json().await.unwrap()
}

fn words(v: &Value) -> Signature {
    let words: Vec<[u8; 32]> = (0..4)
        .map(|i| {
            let s = v[i].as_str().unwrap();
            hex::decode(s.strip_prefix("0x").unwrap()).unwrap().try_into().unwrap()
        })
        .collect();
    Signature::from_words(&words.try_into().unwrap()).unwrap()
}

fn key(v: &Value) -> PublicKey {
    let s = v.as_str().unwrap();
    PublicKey::from_bytes(&hex::decode(s.strip_prefix("0x").unwrap()).unwrap().try_into().unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_sign_the_reward_balance_their_ledgers_agree_on_and_refuse_the_rest() {
    let net = Testnet::start("bls", NODES, &[]).await;
    let http = &net.http;
    let urls: Vec<String> = net.nodes.iter().map(|n| n.url.clone()).collect();
    let domain = net.chain.domain();

    // The key set the contract checks signatures against, by node id.
    let provider = net.chain.provider(net.chain.anvil.dev_signer(0).unwrap()).unwrap();
    let rewards = Rewards::new(net.chain.deployment.rewards, provider.clone());
    let all = rewards.allServiceNodeIDs().call().await.unwrap();
    let registered: BTreeMap<u64, PublicKey> = all
        .ids
        .iter()
        .zip(&all.pubkeys)
        .map(|(id, p)| {
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&p.X.to_be_bytes::<32>());
            bytes[32..].copy_from_slice(&p.Y.to_be_bytes::<32>());
            (*id, PublicKey::from_bytes(&bytes).unwrap())
        })
        .collect();
    assert_eq!(registered.len(), NODES);

    // A node's published rewards once an EVM address has been credited at least one atomic unit.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (height, address, milli) = loop {
        let v = get(http, &urls[0], "/network/v1/rewards").await;
        let credited = v["balances"].as_object().and_then(|m| {
            m.iter().find_map(|(a, b)| {
                let milli: u128 = b.as_str()?.parse().ok()?;
                let evm = a.strip_prefix("000000000000000000000000")?;
                (milli >= 1000).then(|| (evm.to_owned(), milli))
            })
        });
        if let Some((address, milli)) = credited {
            break (v["height"].as_u64().unwrap(), address, milli);
        }
        assert!(Instant::now() < deadline, "no EVM address credited: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let amount = milli / 1000;
    let address = format!("0x{address}");
    // Every node has applied it (they follow the same chain).
    for url in &urls {
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(http, url, "/network/v1/chain").await["height"].as_u64().unwrap_or(0) < height {
            assert!(Instant::now() < deadline, "{url} does not reach height {height}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Each node signs the same amount at that height, with the key registered for its id.
    let request = json!({"address": address, "height": height}).to_string();
    let message = Message::Reward {
        recipient: hex::decode(&address[2..]).unwrap().try_into().unwrap(),
        amount,
    };
    let mut collector = Collector::new(
        registered.iter().map(|(id, k)| (*id, *k)),
        domain.hash_to_g2_tag(),
        message.to_bytes(&domain),
    );
    let mut ids = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let (status, v) = post(http, url, "/network/v1/bls/reward", request.as_bytes()).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["address"], address.as_str());
        assert_eq!(v["height"], height);
        assert_eq!(v["amount"], amount.to_string(), "node {i} signs another amount: {v}");
        let id = v["contract_id"].as_u64().unwrap_or_else(|| panic!("node {i}: no id: {v}"));
        let signer = key(&v["bls_pubkey"]);
        assert_eq!(registered[&id], signer, "node {i} answers with a key not registered as {id}");
        assert_eq!(signer, sesh_node::signing::bls_public_key(&net.chain.nodes[i]));
        let signature = words(&v["signature"]);
        registered[&id].verify(&domain, &message, &signature).unwrap();
        // Not a signature of one unit more.
        let more = Message::Reward { recipient: [0; 20], amount: amount + 1 };
        assert!(registered[&id].verify(&domain, &more, &signature).is_err());
        collector.add(id, signature).unwrap();
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), NODES, "each node signs with its own id");
    let aggregate = collector.finish(sesh_bls::NON_SIGNER_THRESHOLD_MAX).unwrap();
    assert!(aggregate.non_signers.is_empty());
    let everyone: PublicKey = registered.values().copied().sum();
    everyone.verify(&domain, &message, &aggregate.signature).unwrap();
    // The contract takes it: the recipient's signed balance is the nodes' amount.
    let recipient = alloy::primitives::Address::from_slice(&hex::decode(&address[2..]).unwrap());
    let params = contracts::signature_params(&aggregate.signature.to_words());
    contracts::update_rewards_balance(
        &provider,
        &net.chain.deployment,
        recipient,
        U256::from(amount),
        params,
        aggregate.non_signers.clone(),
    )
    .await
    .unwrap();
    let held = rewards.recipients(recipient).call().await.unwrap();
    assert_eq!(held.rewards, U256::from(amount));

    // The same height asked for no more than the ledger's: signed. More: refused, saying why.
    let at_most = json!({"address": address, "height": height, "amount": amount.to_string()});
    let (status, v) =
        post(http, &urls[1], "/network/v1/bls/reward", at_most.to_string().as_bytes()).await;
    assert_eq!((status, v["amount"].as_str()), (200, Some(amount.to_string().as_str())), "{v}");
    let above = json!({"address": address, "height": height, "amount": (amount + 1).to_string()});
    for url in &urls {
        let (status, v) =
            post(http, url, "/network/v1/bls/reward", above.to_string().as_bytes()).await;
        assert_eq!(status, 409, "{v}");
        assert_eq!(v["refused"], "amount_above_ledger", "{v}");
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(&format!("ledger credits {amount}")), "{error}");
        assert!(v.get("signature").is_none());
    }
    // A height not applied yet: refused, naming the heights it signs.
    let later = json!({"address": address, "height": height + 10_000}).to_string();
    let (status, v) = post(http, &urls[2], "/network/v1/bls/reward", later.as_bytes()).await;
    assert_eq!((status, v["refused"].as_str()), (409, Some("height_not_applied")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("signs balances at heights"), "{v}");
    // An address credited nothing.
    let nobody = json!({"address": format!("0x{}", "ab".repeat(20)), "height": height}).to_string();
    let (status, v) = post(http, &urls[2], "/network/v1/bls/reward", nobody.as_bytes()).await;
    assert_eq!((status, v["refused"].as_str()), (409, Some("nothing_credited")), "{v}");

    // An exit or a liquidation of a node in service: refused.
    let now = u64::try_from(common::now_ms() / 1000).unwrap();
    let active = hex::encode(registered.values().next().unwrap().to_bytes());
    let removal = json!({"bls_pubkey": format!("0x{active}"), "timestamp": now}).to_string();
    for path in ["/network/v1/bls/exit", "/network/v1/bls/liquidate"] {
        let (status, v) = post(http, &urls[0], path, removal.as_bytes()).await;
        assert_eq!((status, v["refused"].as_str()), (409, Some("node_in_service")), "{path}: {v}");
    }

    // Malformed requests: 400, typed, and the node still answers.
    let mut off_curve = registered.values().next().unwrap().to_bytes();
    off_curve[63] ^= 1;
    let bad_point =
        json!({"bls_pubkey": format!("0x{}", hex::encode(off_curve)), "timestamp": now})
            .to_string();
    for (path, body, says) in [
        ("/network/v1/bls/exit", bad_point.as_str(), "not a BN254 G1 point"),
        ("/network/v1/bls/liquidate", bad_point.as_str(), "not a BN254 G1 point"),
        ("/network/v1/bls/exit", "{\"bls_pubkey\": \"0x12\"", "not JSON"),
        ("/network/v1/bls/reward", "{\"address\": \"0xnothex\"}", "address"),
        ("/network/v1/bls/reward", "[]", "JSON object"),
    ] {
        let (status, v) = post(http, &urls[3], path, body.as_bytes()).await;
        assert_eq!(status, 400, "{path} {body}: {v}");
        assert_eq!(v["refused"], "bad_request", "{v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{says}: {v}");
    }
    let (status, _) = post(http, &urls[3], "/network/v1/bls/reward", request.as_bytes()).await;
    assert_eq!(status, 200);

    // A node the contract takes and the ledger refuses (its Ed25519 signature is wrong: the
    // contract does not check it, every follower does): the nodes sign its exit (oxend's
    // "removable": in the contract, not in the node list), not its liquidation.
    let stranger = Identity::generate(&mut rand_core::OsRng);
    let owner = net.chain.anvil.dev_signer(0).unwrap().address();
    let mut registration = common::registration(&stranger, net.chain.deployment.rewards, owner);
    registration.params.serviceNodeSignature1 ^= U256::from(1);
    contracts::register(&provider, &net.chain.deployment, &registration).await.unwrap();
    let stranger_key = sesh_node::signing::bls_public_key(&stranger);
    let now = u64::try_from(common::now_ms() / 1000).unwrap();
    let exit = json!({"bls_pubkey": format!("0x{}", hex::encode(stranger_key.to_bytes())), "timestamp": now})
        .to_string();
    let all = rewards.allServiceNodeIDs().call().await.unwrap();
    let set: BTreeMap<u64, PublicKey> = all
        .ids
        .iter()
        .zip(&all.pubkeys)
        .map(|(id, p)| {
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&p.X.to_be_bytes::<32>());
            bytes[32..].copy_from_slice(&p.Y.to_be_bytes::<32>());
            (*id, PublicKey::from_bytes(&bytes).unwrap())
        })
        .collect();
    assert_eq!(set.len(), NODES + 1);
    let message = Message::Exit { key: stranger_key, timestamp: now };
    let mut collector = Collector::new(
        set.iter().map(|(id, k)| (*id, *k)),
        domain.hash_to_g2_tag(),
        message.to_bytes(&domain),
    );
    for url in &urls {
        // Until the node has followed the registration, the key is not in the contract for it.
        let deadline = Instant::now() + Duration::from_secs(30);
        let v = loop {
            let (status, v) = post(http, url, "/network/v1/bls/exit", exit.as_bytes()).await;
            if status == 200 {
                break v;
            }
            assert_eq!((status, v["refused"].as_str()), (409, Some("not_in_contract")), "{v}");
            assert!(Instant::now() < deadline, "{url} never signs the exit: {v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let id = v["contract_id"].as_u64().unwrap();
        let signature = words(&v["signature"]);
        set[&id].verify(&domain, &message, &signature).unwrap();
        collector.add(id, signature).unwrap();
        let (status, v) = post(http, url, "/network/v1/bls/liquidate", exit.as_bytes()).await;
        assert_eq!((status, v["refused"].as_str()), (409, Some("not_liquidatable")), "{v}");
    }
    // The stranger does not sign: one non-signer of five, which the contract allows.
    let aggregate = collector.finish(sesh_bls::NON_SIGNER_THRESHOLD_MAX).unwrap();
    assert_eq!(aggregate.non_signers.len(), 1);
    sesh_bls::verify_aggregate(
        &set,
        &domain.hash_to_g2_tag(),
        &message.to_bytes(&domain),
        &aggregate,
        sesh_bls::NON_SIGNER_THRESHOLD_MAX,
    )
    .unwrap();
    // A timestamp four minutes off the nodes' clocks: refused.
    let stale = json!({"bls_pubkey": format!("0x{}", hex::encode(stranger_key.to_bytes())), "timestamp": now - 240})
        .to_string();
    let (status, v) = post(http, &urls[0], "/network/v1/bls/exit", stale.as_bytes()).await;
    assert_eq!((status, v["refused"].as_str()), (409, Some("timestamp_out_of_window")), "{v}");
}
