//! The `stake` example as an operator runs it, against a real anvil: deploy the contracts,
//! fund an operator, print a node's registration from its key file (made as the node makes
//! it), refuse a bad signature and a wrong total (by name, exit code 1, nothing changed on
//! chain), register the node with two contributors, read it back with the `ledger` example,
//! then exit, exit after the wait, claim and read the balances.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use serde_json::Value;
use sesh_examples::chain_tools::{Anvil, CHAIN_ID, ChainTools, target_dir};
use sesh_examples::contracts::{SESH, ServiceNodeRewards, SeshToken};
use sesh_identity::Signature;
use sesh_staking::NodeId;

/// What a run of `stake` printed.
struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert!(self.ok, "stake failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

struct Operator {
    bin: PathBuf,
    url: String,
    dir: PathBuf,
    /// Every private key given to `stake`: none may ever be printed.
    secrets: Vec<String>,
}

impl Operator {
    /// Writes dev account `i`'s key to a file, as an operator keeps it.
    fn key_file(&mut self, anvil: &Anvil, i: usize) -> PathBuf {
        let key = anvil.dev_keys()[i].clone();
        let path = self.dir.join(format!("evm_key{i}"));
        std::fs::write(&path, format!("{key}\n")).unwrap();
        self.secrets.push(key.trim_start_matches("0x").to_lowercase());
        path
    }

    fn run(&self, key: Option<&Path>, args: &[&str]) -> Run {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["--rpc", &self.url]);
        if let Some(key) = key {
            cmd.arg("--key").arg(key);
        }
        let out = cmd.args(args).output().unwrap();
        let run = Run {
            ok: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for secret in &self.secrets {
            let all = format!("{}{}", run.stdout, run.stderr).to_lowercase();
            assert!(!all.contains(secret.as_str()), "a private key was printed: {args:?}");
        }
        run
    }
}

/// What the chain holds that a refused command must leave alone.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    block: u64,
    nonce: u64,
    allowance: U256,
    tokens: U256,
    nodes: U256,
}

async fn snapshot(p: &DynProvider, token: Address, rewards: Address, who: Address) -> Snapshot {
    let t = SeshToken::new(token, p.clone());
    Snapshot {
        block: p.get_block_number().await.unwrap(),
        nonce: p.get_transaction_count(who).await.unwrap(),
        allowance: t.allowance(who, rewards).call().await.unwrap(),
        tokens: t.balanceOf(who).call().await.unwrap(),
        nodes: ServiceNodeRewards::new(rewards, p.clone()).totalNodes().call().await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_deploys_registers_a_node_with_two_contributors_and_exits() {
    tokio::time::timeout(Duration::from_secs(240), an_operator_()).await.expect("hung for 240 s");
}

async fn an_operator_() {
    let tools = ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let anvil = Anvil::spawn(&tools, CHAIN_ID, &[]).unwrap_or_else(|e| panic!("{e}"));
    let provider: DynProvider =
        ProviderBuilder::new().connect_http(anvil.url().parse().unwrap()).erased();
    let dir = std::env::temp_dir().join(format!("sesh-stake-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut op = Operator {
        bin: common::example_binary("stake"),
        url: anvil.url(),
        dir: dir.clone(),
        secrets: Vec::new(),
    };
    let deployer = op.key_file(&anvil, 0);
    let operator = op.key_file(&anvil, 1);
    let addr = |i: usize| anvil.dev_signer(i).unwrap().address();
    let (operator_addr, first, second) = (addr(1), addr(2), addr(3));
    let shown = op.run(Some(&operator), &["address", "--json"]).json();
    assert_eq!(shown["address"], operator_addr.to_string());

    // Deploy, with no exit wait so that the exit can be tested at once.
    let deployed = op.run(Some(&deployer), &["deploy", "--exit-wait", "0", "--json"]).json();
    let contract: Address = deployed["contract"].as_str().unwrap().parse().unwrap();
    let token: Address = deployed["token"].as_str().unwrap().parse().unwrap();
    let start_block = deployed["start_block"].as_u64().unwrap();
    assert_eq!(deployed["chain_id"], CHAIN_ID);
    assert_eq!(deployed["staking_requirement"], (100 * SESH).to_string());
    let rewards = ServiceNodeRewards::new(contract, provider.clone());
    assert_eq!(rewards.stakingRequirement().call().await.unwrap(), U256::from(100 * SESH));
    assert_eq!(rewards.designatedToken().call().await.unwrap(), token);
    let receipt_block = provider.get_code_at(contract).block_id((start_block - 1).into()).await;
    assert!(receipt_block.unwrap().is_empty(), "no code before the deployment block");
    assert!(!provider.get_code_at(contract).block_id(start_block.into()).await.unwrap().is_empty());
    let text = op.run(Some(&deployer), &["deploy"]);
    assert!(text.ok && text.stdout.contains("--start-block"), "{}", text.stdout);

    // Fund the operator with the stake.
    let sent = op
        .run(
            Some(&deployer),
            &[
                "transfer",
                "--token",
                &token.to_string(),
                "--to",
                &operator_addr.to_string(),
                "--amount",
                "100SESH",
                "--json",
            ],
        )
        .json();
    assert!(sent["tx"].as_str().unwrap().starts_with("0x"));

    // The node's key file, as the node makes it; its registration printed from it.
    let key_file = dir.join("key_ed25519");
    let identity = sesh_examples::files::node_key(&key_file).unwrap();
    let node = NodeId::from_identity(&identity);
    let c = contract.to_string();
    let registration = |operator: Address| {
        let (key_file, operator) = (key_file.to_str().unwrap(), operator.to_string());
        let args = ["registration", "--node-key", key_file, "--contract", &c, "--json"];
        op.run(None, &[&args[..], &["--operator", &operator, "--chain-id", "31337"]].concat())
    };
    let reg = registration(operator_addr).json();
    assert_eq!(reg["pubkey_ed25519"], node.to_string());
    let bls_hex = reg["bls_key"].as_str().unwrap().to_owned();
    let signature_hex = reg["signature"].as_str().unwrap().to_owned();
    // The BLS key is the node's own (the one it signs with), and the proof of possession is
    // the node key's for this operator, contract and chain, as the contract checks it.
    let bls_key = sesh_node::signing::bls_public_key(&identity);
    assert_eq!(bls_hex, format!("0x{}", hex::encode(bls_key.to_bytes())));
    let pop_hex = reg["pop"].as_str().unwrap().to_owned();
    let pop: [u8; 128] = hex::decode(pop_hex.trim_start_matches("0x")).unwrap().try_into().unwrap();
    let words = reg["pop_words"].as_array().unwrap();
    assert_eq!(words.len(), 4);
    assert_eq!(
        words.iter().map(|w| w.as_str().unwrap().trim_start_matches("0x")).collect::<String>(),
        pop_hex.trim_start_matches("0x")
    );
    let domain = sesh_bls::Domain { chain_id: CHAIN_ID, contract: contract.0.0 };
    let possession = sesh_bls::Message::ProofOfPossession {
        key: bls_key,
        caller: operator_addr.0.0,
        ed25519: *node.as_bytes(),
    };
    bls_key.verify(&domain, &possession, &sesh_bls::Signature::from_bytes(&pop).unwrap()).unwrap();
    // The node's secrets are not printed.
    let secret =
        hex::encode(sesh_node::signing::bls_secret_key(&identity).to_be_bytes().as_slice());
    let seed = hex::encode(identity.seed().as_bytes());
    let (key_path, operator_text) = (key_file.to_str().unwrap(), operator_addr.to_string());
    let text = op.run(
        None,
        &["registration", "--node-key", key_path, "--contract", &c, "--operator", &operator_text]
            .into_iter()
            .chain(["--chain-id", "31337"])
            .collect::<Vec<_>>(),
    );
    assert!(text.ok, "{}", text.stderr);
    for shown in [&bls_hex, &pop_hex, &signature_hex] {
        assert!(text.stdout.contains(shown.as_str()), "{}", text.stdout);
    }
    let printed = format!("{reg}{}{}", text.stdout, text.stderr);
    assert!(!printed.contains(&secret) && !printed.contains(&seed), "{printed}");
    // A proof made for another operator: `register` checks it as the contract would.
    let wrong_pop = registration(first).json()["pop"].as_str().unwrap().to_owned();
    let bls: sesh_staking::BlsKey = bls_hex.trim_start_matches("0x").parse().unwrap();
    let signature: [u8; 64] = hex::decode(&signature_hex).unwrap().try_into().unwrap();
    node.verify(
        &sesh_chain::abi::node_signature_message(&node, &bls),
        &Signature::from_bytes(&signature),
    )
    .unwrap();
    // A missing key file is not made without --create.
    let missing = dir.join("no_such_key");
    let operator_text = operator_addr.to_string();
    let r = op.run(
        None,
        &["registration", "--node-key", missing.to_str().unwrap(), "--contract", &c]
            .into_iter()
            .chain(["--operator", &operator_text, "--chain-id", "1"])
            .collect::<Vec<_>>(),
    );
    assert!(!r.ok && r.stderr.contains("no such node key"), "{}", r.stderr);
    assert!(!missing.exists());

    let stakes = |op_amount: &str| {
        vec![
            "--contributor".to_owned(),
            format!("{operator_addr}:{op_amount}"),
            "--contributor".to_owned(),
            format!("{first}:25SESH"),
            "--contributor".to_owned(),
            format!("{second}:25SESH"),
        ]
    };
    let register_with = |pop: &str, signature: &str, op_amount: &str| {
        let mut args: Vec<String> = [
            "register",
            "--contract",
            &contract.to_string(),
            "--node-pubkey",
            &node.to_string(),
            "--bls-key",
            &bls_hex,
            "--pop",
            pop,
            "--signature",
            signature,
            "--fee",
            "500",
            "--json",
        ]
        .map(String::from)
        .to_vec();
        args.extend(stakes(op_amount));
        args
    };
    let register = |signature: &str, op_amount: &str| register_with(&pop_hex, signature, op_amount);
    let before = snapshot(&provider, token, contract, operator_addr).await;

    // A proof of possession for another operator: the contract would refuse it, so nothing is
    // sent.
    let args = register_with(&wrong_pop, &signature_hex, "50SESH");
    let r = op.run(Some(&operator), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("proof of possession does not verify"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert_eq!(snapshot(&provider, token, contract, operator_addr).await, before);

    // A bad signature: every follower would refuse it, so nothing is sent.
    let mut bad = signature;
    bad[5] ^= 1;
    let args = register(&hex::encode(bad), "50SESH");
    let r = op.run(Some(&operator), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("signature does not verify"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert_eq!(snapshot(&provider, token, contract, operator_addr).await, before);

    // A wrong total: the contract's revert, by name, with its arguments.
    let args = register(&signature_hex, "45SESH");
    let r = op.run(Some(&operator), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "ContributionTotalMismatch(required: {}, provided: {})",
            100 * SESH,
            95 * SESH
        )),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&provider, token, contract, operator_addr).await, before);

    // An operator stake under a quarter: the contract's InsufficientOperatorContribution.
    let mut args = register(&signature_hex, "20SESH");
    args.extend(["--contributor".to_owned(), format!("{}:30SESH", addr(4))]);
    let r = op.run(Some(&operator), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains(&format!("InsufficientOperatorContribution(operatorStake: {})", 20 * SESH)),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&provider, token, contract, operator_addr).await, before);

    // A stake of 0: the contract takes it, the ledger's rules (every follower) would not.
    let mut args = register(&signature_hex, "75SESH");
    let last = args.len() - 1;
    args[last] = format!("{second}:0");
    let r = op.run(Some(&operator), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("the ledger's rules refuse"), "{}", r.stderr);
    assert_eq!(snapshot(&provider, token, contract, operator_addr).await, before);

    // The registration: the operator pays 100 SESH, half of it its own stake.
    let args = register(&signature_hex, "50SESH");
    let registered = op.run(Some(&operator), &args.iter().map(String::as_str).collect::<Vec<_>>());
    let registered = registered.json();
    let id = registered["id"].as_u64().unwrap();
    assert_eq!(id, 1);
    assert!(registered["tx"].as_str().unwrap().starts_with("0x"));
    let after = snapshot(&provider, token, contract, operator_addr).await;
    assert_eq!(after.tokens, U256::ZERO);
    assert_eq!(after.nodes, U256::from(1u8));

    // Registering it again: the contract names the holder.
    let r = op.run(Some(&deployer), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!r.ok);
    assert!(r.stderr.contains("BLSPubkeyAlreadyExists(serviceNodeID: 1)"), "{}", r.stderr);

    // The ledger every follower derives lists it with the stakes.
    let _: Value = provider.raw_request("anvil_mine".into(), ("0x3",)).await.unwrap();
    let out = Command::new(common::example_binary("ledger"))
        .args(["--rpc", &anvil.url(), "--contract", &contract.to_string()])
        .args(["--start-block", &start_block.to_string(), "--confirmations", "2"])
        .args(["--params", "local", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ledger: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ledger["refused"].as_array().unwrap().len(), 0, "{ledger:#}");
    let nodes = ledger["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{ledger:#}");
    let listed = &nodes[0];
    assert_eq!(listed["pubkey_ed25519"], node.to_string());
    assert_eq!(listed["bls_key"], bls_hex);
    assert_eq!(listed["operator"], format!("{operator_addr:#x}"));
    assert_eq!(listed["stake"], (100 * SESH).to_string());
    assert_eq!(listed["fee_bp"], 500);
    assert_eq!(listed["state"], "active");
    let contributors = listed["contributors"].as_array().unwrap();
    let got: Vec<(String, String)> = contributors
        .iter()
        .map(|c| {
            (c["address"].as_str().unwrap().to_owned(), c["stake"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (format!("{operator_addr:#x}"), (50 * SESH).to_string()),
            (format!("{first:#x}"), (25 * SESH).to_string()),
            (format!("{second:#x}"), (25 * SESH).to_string()),
        ]
    );

    // Exit: not before it was asked for; then asked and exited.
    let r = op.run(Some(&operator), &["exit-after-wait", "--contract", &c, "--id", "1"]);
    assert!(
        !r.ok && r.stderr.contains("LeaveRequestNotInitiatedYet(serviceNodeID: 1)"),
        "{}",
        r.stderr
    );
    let r = op.run(Some(&operator), &["exit", "--contract", &c, "--id", "7"]);
    assert!(!r.ok && r.stderr.contains("ServiceNodeDoesntExist(serviceNodeID: 7)"), "{}", r.stderr);
    let r = op.run(Some(&deployer), &["exit", "--contract", &c, "--id", "1"]);
    assert!(
        !r.ok && r.stderr.contains("CallerNotContributor(serviceNodeID: 1, caller: "),
        "{}",
        r.stderr
    );
    op.run(Some(&operator), &["exit", "--contract", &c, "--id", "1", "--json"]).json();
    op.run(Some(&operator), &["exit-after-wait", "--contract", &c, "--id", "1", "--json"]).json();
    // As on the live contract, an exit credits nothing: the returned stake reaches the
    // contributors' ledger balances, claimed with the network's signature (`claim --node`).
    let balance = op.run(Some(&operator), &["balance", "--contract", &c, "--json"]).json();
    assert_eq!(balance["claimable"], "0");
    assert_eq!(balance["tokens"], "0");
    let r = op.run(Some(&operator), &["claim", "--contract", &c, "--amount", "51SESH"]);
    assert!(!r.ok && r.stderr.contains("MaxClaimExceeded()"), "{}", r.stderr);
    let r = op.run(Some(&operator), &["claim", "--contract", &c]);
    assert!(!r.ok && r.stderr.contains("nothing to claim"), "{}", r.stderr);
    // Anyone's balance, without a key.
    let first_balance = op
        .run(None, &["balance", "--contract", &c, "--address", &first.to_string(), "--json"])
        .json();
    assert_eq!(first_balance["claimable"], "0");

    // Ether to fund an operator's gas.
    let fresh = Address::repeat_byte(0x42);
    op.run(
        Some(&deployer),
        &["transfer", "--to", &fresh.to_string(), "--eth", "0.01ETH", "--json"],
    )
    .json();
    assert_eq!(provider.get_balance(fresh).await.unwrap(), U256::from(10_000_000_000_000_000u64));

    // A key file that is not a key, and a missing one: refused without printing it.
    let junk = dir.join("junk_key");
    std::fs::write(&junk, "not a key").unwrap();
    let r = op.run(Some(&junk), &["balance", "--contract", &c]);
    assert!(!r.ok && r.stderr.contains("not a secp256k1 private key"), "{}", r.stderr);
    let r = op.run(None, &["claim", "--contract", &c]);
    assert!(!r.ok && r.stderr.contains("--key"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_endpoint_is_spoken_to_with_tls() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    // A server that reads the client's first bytes and answers garbage: `stake` must have opened
    // with a TLS handshake (alloy's HTTP client is the workspace's reqwest, with rustls).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 5];
        socket.read_exact(&mut hello).await.unwrap();
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        hello
    });
    let bin = common::example_binary("stake");
    let any = Address::repeat_byte(7).to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["--rpc", &format!("https://127.0.0.1:{port}"), "balance"])
            .args(["--contract", &any, "--address", &any])
            .output()
            .unwrap()
    });
    let hello = tokio::time::timeout(Duration::from_secs(60), server).await.unwrap().unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), out).await.unwrap().unwrap();
    // A TLS record: handshake (22), version 3.x.
    assert_eq!((hello[0], hello[1]), (22, 3), "not a TLS handshake: {hello:?}");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("eth_getCode"), "{stderr}");
}

/// The operator's path of `docs/deploy.md`, on one machine: a node started in chain mode makes
/// its key; `stake registration` reads it, `stake register` stakes it; the node then follows
/// its own registration into its published state, at the state hash the `ledger` example
/// derives for the same height.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_staked_with_stake_follows_itself_into_the_network() {
    tokio::time::timeout(Duration::from_secs(240), a_node_staked_()).await.expect("hung for 240 s");
}

async fn a_node_staked_() {
    let tools = ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let anvil =
        Anvil::spawn(&tools, CHAIN_ID, &["--block-time", "0.1"]).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("sesh-stake-node-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut op = Operator {
        bin: common::example_binary("stake"),
        url: anvil.url(),
        dir: dir.clone(),
        secrets: Vec::new(),
    };
    let deployer = op.key_file(&anvil, 0);
    let operator = op.key_file(&anvil, 1);
    let operator_addr = anvil.dev_signer(1).unwrap().address();
    let deployed = op.run(Some(&deployer), &["deploy", "--json"]).json();
    let contract = deployed["contract"].as_str().unwrap().to_owned();
    let token = deployed["token"].as_str().unwrap().to_owned();
    let start = deployed["start_block"].as_u64().unwrap().to_string();
    op.run(
        Some(&deployer),
        &[
            "transfer",
            "--token",
            &token,
            "--to",
            &operator_addr.to_string(),
            "--amount",
            "100SESH",
            "--json",
        ],
    )
    .json();

    // The node, started before it is registered, makes its own key.
    let data = dir.join("node");
    let (per_height, height_ms) = ("2", "200");
    let args: Vec<String> = [
        "--plain-http",
        "--rpc",
        &anvil.url(),
        "--contract",
        &contract,
        "--start-block",
        &start,
        "--confirmations",
        "2",
        "--blocks-per-height",
        per_height,
        "--block-ms",
        height_ms,
        "--tests-per-block",
        "0",
    ]
    .map(String::from)
    .to_vec();
    let command = [common::example_binary("node").into_os_string()];
    let node = sesh_examples::local::NodeProcess::start(&command, &data, "127.0.0.1:0", &args)
        .unwrap_or_else(|e| panic!("{e}"));
    let key_file = data.join("key_ed25519");
    let operator_text = operator_addr.to_string();
    let reg = op.run(
        None,
        &["registration", "--node-key", key_file.to_str().unwrap(), "--contract", &contract]
            .into_iter()
            .chain(["--operator", &operator_text, "--rpc", &anvil.url(), "--json"])
            .collect::<Vec<_>>(),
    );
    let reg = reg.json();
    assert_eq!(reg["chain_id"], CHAIN_ID);
    assert_eq!(reg["pubkey_ed25519"], node.key.to_string());
    let registered = op
        .run(
            Some(&operator),
            &[
                "register",
                "--contract",
                &contract,
                "--node-pubkey",
                reg["pubkey_ed25519"].as_str().unwrap(),
                "--bls-key",
                reg["bls_key"].as_str().unwrap(),
                "--pop",
                reg["pop"].as_str().unwrap(),
                "--signature",
                reg["signature"].as_str().unwrap(),
                "--json",
            ],
        )
        .json();
    let registered_block = registered["block"].as_u64().unwrap();

    // The node lists itself once its registration is confirmed and its height applied.
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let (http, url) = (http.clone(), node.url.clone());
        async move {
            let got = http.get(format!("{url}{path}")).send().await.ok()?;
            got.json::<Value>().await.ok()
        }
    };
    let mut listed = false;
    for _ in 0..300 {
        let state = get("/network/v1/state").await.unwrap_or_default();
        let nodes = state["nodes"].as_array().cloned().unwrap_or_default();
        if nodes.iter().any(|n| n["pubkey_ed25519"] == node.key.to_string()) {
            listed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listed, "the node never listed itself; see {}", data.join("node.log").display());
    let chain = get("/network/v1/chain").await.unwrap();
    assert!(chain["chain_block"].as_u64().unwrap() >= registered_block, "{chain}");

    // The ledger example, run now, derives the node's state hash for its own height.
    let out = Command::new(common::example_binary("ledger"))
        .args(["--rpc", &anvil.url(), "--contract", &contract, "--start-block", &start])
        .args(["--confirmations", "2", "--blocks-per-height", per_height, "--params", "local"])
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ledger: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ledger["nodes"].as_array().unwrap().len(), 1, "{ledger:#}");
    let height = ledger["height"].as_u64().unwrap();
    let mut same = None;
    for _ in 0..100 {
        let chain = get("/network/v1/chain").await.unwrap_or_default();
        let recent = chain["recent"].as_array().cloned().unwrap_or_default();
        same = recent.iter().find(|r| r["height"] == height).map(|r| r["state_hash"].clone());
        if same.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(same, Some(ledger["state_hash"].clone()), "height {height}");

    // The node earns; the operator claims through the network's signature: the node (the whole
    // network here) signs the operator's balance, `claim` sends it to the contract
    // (`updateRewardsBalance`) and claims it. The contract pays from tokens the deployer sends
    // it, as the reward pool would.
    let funded =
        ["transfer", "--token", &token, "--to", &contract, "--amount", "1000SESH", "--json"];
    op.run(Some(&deployer), &funded).json();
    let ledger_address = format!("{:0>64}", hex::encode(operator_addr.0));
    let mut earned = 0u128;
    for _ in 0..300 {
        let rewards = get("/network/v1/rewards").await.unwrap_or_default();
        earned = rewards["balances"][&ledger_address].as_str().map_or(0, |m| m.parse().unwrap());
        if earned >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(earned >= 1000, "the operator earned nothing");
    let tokens = SeshToken::new(
        token.parse().unwrap(),
        anvil.provider(anvil.dev_signer(0).unwrap()).unwrap(),
    );
    let before = tokens.balanceOf(operator_addr).call().await.unwrap();
    let claim = ["claim", "--contract", &contract, "--node", &node.url, "--json"];
    let claimed = op.run(Some(&operator), &claim).json();
    let paid: u128 = claimed["claimed"].as_str().unwrap().parse().unwrap();
    assert!(paid > 0, "{claimed}");
    assert_eq!(claimed["signed"], claimed["claimed"], "{claimed}");
    assert_eq!(claimed["signers"], serde_json::json!([1]), "{claimed}");
    assert_eq!(claimed["non_signers"], serde_json::json!([]), "{claimed}");
    assert!(claimed["update"]["tx"].as_str().unwrap().starts_with("0x"), "{claimed}");
    let after = tokens.balanceOf(operator_addr).call().await.unwrap();
    assert_eq!(after - before, U256::from(paid));
    // What the node signed is what its ledger credited at that height (⌊milli / 1000⌋): no
    // more than it credits now.
    let rewards = get("/network/v1/rewards").await.unwrap();
    let now: u128 = rewards["balances"][&ledger_address].as_str().unwrap().parse().unwrap();
    assert!(paid <= now / 1000, "{claimed} {rewards}");
    // The same height again: the contract already credits it, and nothing is left to claim.
    let height = claimed["height"].as_u64().unwrap().to_string();
    let again = [&claim[..3], &["--node", &node.url, "--height", &height]].concat();
    let again = op.run(Some(&operator), &again);
    assert!(!again.ok && again.stderr.contains("nothing to claim"), "{}", again.stderr);
    // No node answering: nothing is sent.
    let nobody = [&claim[..3], &["--node", "http://127.0.0.1:9"]].concat();
    let nobody = op.run(Some(&operator), &nobody);
    assert!(!nobody.ok && nobody.stderr.contains("no node said its height"), "{}", nobody.stderr);
    // Later, with the nodes from a seed (the node's own json_rpc): the balance signed is
    // cumulative, and the claim pays what was credited since.
    let signed: u128 = claimed["signed"].as_str().unwrap().parse().unwrap();
    let seed = format!("{}/json_rpc", node.url);
    let later = [&claim[..3], &["--nodes-from", &seed, "--plain-http", "--json"]].concat();
    let mut second = None;
    for _ in 0..50 {
        let r = op.run(Some(&operator), &later);
        if r.ok {
            second = Some(r.json());
            break;
        }
        // The same height as before (no new one applied yet) leaves nothing to claim.
        assert!(r.stderr.contains("nothing to claim"), "{}", r.stderr);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second = second.expect("no later claim went through");
    let signed_later: u128 = second["signed"].as_str().unwrap().parse().unwrap();
    let paid_later: u128 = second["claimed"].as_str().unwrap().parse().unwrap();
    assert!(signed_later > signed, "{second}");
    assert_eq!(paid_later, signed_later - signed, "{second}");
    let total = tokens.balanceOf(operator_addr).call().await.unwrap();
    assert_eq!(total - before, U256::from(signed_later));
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}
