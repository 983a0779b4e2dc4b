//! The testnet's chain: a local anvil mining a block every [`BLOCK_MS`], sesh's token and staking
//! contract deployed from their committed build by dev account 0, and the genesis operators and
//! contributors staked through contract transactions (the mix of `sesh_node::keeper::Genesis`:
//! the operator stakes half, two of four contributors a quarter each, fees 0 to 15 %).
//!
//! The dev accounts anvil funds are the testnet's EVM accounts: 0 deploys and holds the token's
//! supply, `1..=n` are the operators (each sent the staking requirement in tokens, each paying
//! its own node's whole stake with `addBLSPublicKey`, as the live contract takes it from the
//! caller), the next [`CONTRIBUTORS`] are the contributors (named in the registrations; they
//! pay nothing), and the last `n` are the nodes' own accounts, which post their quorums'
//! decisions (`submitNetworkTransaction`).
//!
//! Each node's BLS key is a stand-in until issue 21 brings real ones: unique (a hash of the
//! node's Ed25519 key), with a zero proof of possession, which the contract does not check yet.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::{Address as EvmAddress, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::signers::local::PrivateKeySigner;
use sesh_examples::chain_tools::{self, Anvil, CHAIN_ID, ChainTools};
use sesh_examples::contracts::{
    self, Deployment, NodeRegistration, ServiceNodeRewards as Rewards, Settings,
};
use sesh_identity::{Identity, NodeId};
use sesh_staking::{Address, BlsKey};

/// Milliseconds between anvil's blocks.
pub(crate) const BLOCK_MS: u64 = 100;
/// The confirmation depth the nodes follow the chain at.
pub(crate) const CONFIRMATIONS: u64 = 2;
/// Contributors shared among the nodes (each stakes into two).
pub(crate) const CONTRIBUTORS: usize = 4;
/// How often the testnet's own providers poll for receipts.
const POLL: Duration = Duration::from_millis(20);

/// Chain blocks per sesh height for heights of about `height_ms`.
pub(crate) fn blocks_per_height(height_ms: u64) -> u64 {
    (height_ms + BLOCK_MS / 2).checked_div(BLOCK_MS).unwrap_or(1).max(1)
}

/// A node's stand-in BLS key (until issue 21): unique, as the ledger and the contract require.
pub(crate) fn bls_key(node: &NodeId) -> BlsKey {
    BlsKey::from_bytes(sesh_identity::hash::blake2b::<64>(b"sesh-testnet-bls", &[node.as_bytes()]))
}

/// The testnet's chain, its contracts and the staked genesis; anvil stops when it is dropped.
#[derive(Debug)]
pub(crate) struct Chain {
    /// The running anvil.
    pub(crate) anvil: Anvil,
    /// The deployed contracts (the staking contract's deployment block is the nodes' start).
    pub(crate) deployment: Deployment,
    /// Chain blocks per sesh height.
    pub(crate) blocks_per_height: u64,
    /// Each node's Ed25519 key.
    pub(crate) nodes: Vec<Identity>,
    /// Each node's EVM account key (`0x…` hex), for posting its quorums' decisions.
    pub(crate) evm_keys: Vec<String>,
    /// A name for every staking address, by the ledger's address (hex).
    pub(crate) names: BTreeMap<String, String>,
    /// Each node's operator fee, basis points.
    pub(crate) fees: Vec<u16>,
    /// How long installing the tools, starting anvil, deploying and staking took.
    pub(crate) setup: Duration,
}

impl Chain {
    /// Installs the chain tools (a progress line on stderr the first time), starts anvil,
    /// deploys the contracts and registers `n` nodes with their stakes.
    pub(crate) async fn start(n: usize, height_ms: u64) -> Result<Self, String> {
        let started = Instant::now();
        let accounts = 1 + n + CONTRIBUTORS + n;
        let anvil = tokio::task::spawn_blocking(move || {
            let tools = ChainTools::install(&chain_tools::target_dir()?)?;
            let block_time = format!("{}", Duration::from_millis(BLOCK_MS).as_secs_f64());
            let accounts = accounts.to_string();
            Anvil::spawn(&tools, CHAIN_ID, &["--block-time", &block_time, "--accounts", &accounts])
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let signer = |i: usize| anvil.dev_signer(i).map_err(|e| e.to_string());
        let provider = |s: PrivateKeySigner| -> Result<DynProvider, String> {
            let p = anvil.provider(s).map_err(|e| e.to_string())?;
            p.client().set_poll_interval(POLL);
            Ok(p)
        };
        let deployer = signer(0)?;
        let deployer_address = deployer.address();
        let owner = provider(deployer)?;
        let requirement = sesh_node::keeper::REQUIREMENT;
        let settings = Settings {
            staking_requirement: U256::from(requirement),
            ..Settings::session_mainnet(deployer_address)
        };
        let deployment = contracts::deploy(&owner, &settings).await.map_err(|e| e.to_string())?;

        // The genesis: keys, fees and stakes as sesh_node::keeper::Genesis has them.
        let nodes: Vec<Identity> =
            (0..n).map(|_| Identity::generate(&mut rand_core::OsRng)).collect();
        let operators: Vec<PrivateKeySigner> = (1..=n).map(signer).collect::<Result<_, _>>()?;
        let contributors: Vec<EvmAddress> = (0..CONTRIBUTORS)
            .map(|k| Ok(signer(1 + n + k)?.address()))
            .collect::<Result<_, String>>()?;
        let evm_keys: Vec<String> =
            anvil.dev_keys().get(1 + n + CONTRIBUTORS..).unwrap_or_default().to_vec();
        if evm_keys.len() < n {
            return Err(format!(
                "anvil funded {} accounts; {accounts} asked",
                anvil.dev_keys().len()
            ));
        }
        let name = |a: &EvmAddress| Address::from_evm(a.0.0).to_string();
        let mut names = BTreeMap::new();
        for (k, c) in contributors.iter().enumerate() {
            names.insert(name(c), format!("contributor {k}"));
        }
        for (i, o) in operators.iter().enumerate() {
            names.insert(name(&o.address()), format!("operator {i}"));
        }
        let fees: Vec<u16> =
            (0..n).map(|i| [0u16, 500, 1000, 1500].get(i % 4).copied().unwrap_or(0)).collect();

        // Each operator receives the requirement in tokens, then registers its node.
        let token = deployment.token(&owner);
        let mut pending = Vec::with_capacity(n);
        for o in &operators {
            let sent = token.transfer(o.address(), U256::from(requirement)).send().await;
            pending.push(sent.map_err(|e| format!("sending tokens to an operator: {e}"))?);
        }
        for p in pending {
            let receipt = p.get_receipt().await.map_err(|e| format!("token transfer: {e}"))?;
            if !receipt.status() {
                return Err(format!("token transfer {} reverted", receipt.transaction_hash));
            }
        }
        let mut registering = tokio::task::JoinSet::new();
        for (i, (node, operator)) in nodes.iter().zip(&operators).enumerate() {
            let c = |k: usize| contributors.get(k % CONTRIBUTORS).copied().unwrap_or_default();
            let (first, second) = (c(i), c(i + 1));
            let op = operator.address();
            let half = requirement / 2;
            let quarter = requirement / 4;
            let stakes = [(op, half), (first, quarter), (second, requirement - half - quarter)];
            let registration = registration(
                node,
                fees.get(i).copied().unwrap_or(0),
                stakes
                    .iter()
                    .map(|(a, amount)| contracts::contributor(*a, *a, U256::from(*amount))),
            );
            let provider = provider(operator.clone())?;
            registering.spawn(async move {
                let got = contracts::register(&provider, &deployment, &registration).await;
                (i, got.map(|(id, _)| id).map_err(|e| format!("registering node {i}: {e}")))
            });
        }
        while let Some(done) = registering.join_next().await {
            done.map_err(|e| e.to_string())?.1?;
        }
        Ok(Self {
            anvil,
            deployment,
            blocks_per_height: blocks_per_height(height_ms),
            nodes,
            evm_keys,
            names,
            fees,
            setup: started.elapsed(),
        })
    }

    /// The sesh height's length.
    pub(crate) fn height_ms(&self) -> u64 {
        self.blocks_per_height * BLOCK_MS
    }

    /// The staking contract's address, `0x…` (checksummed).
    pub(crate) fn contract(&self) -> String {
        self.deployment.rewards.to_checksum(None)
    }

    /// The node arguments that make node `i` a follower of this chain (its EVM key written to
    /// `evm_key` in its data directory `dir`).
    pub(crate) fn node_args(&self, i: usize, dir: &std::path::Path) -> Result<Vec<String>, String> {
        let key = self.evm_keys.get(i).ok_or("no EVM key for the node")?;
        let path = dir.join("evm_key");
        sesh_examples::files::write_private(&path, format!("{key}\n").as_bytes())?;
        Ok([
            "--rpc",
            &self.anvil.url(),
            "--contract",
            &self.contract(),
            "--start-block",
            &self.deployment.block.to_string(),
            "--confirmations",
            &CONFIRMATIONS.to_string(),
            "--blocks-per-height",
            &self.blocks_per_height.to_string(),
            "--block-ms",
            &self.height_ms().to_string(),
            "--evm-key",
            &path.display().to_string(),
        ]
        .map(String::from)
        .to_vec())
    }
}

/// The registration of `node` with `fee` (basis points) and `stakes`, the operator first.
fn registration(
    node: &Identity,
    fee: u16,
    stakes: impl Iterator<Item = Rewards::Contributor>,
) -> NodeRegistration {
    let id = NodeId::from_identity(node);
    let bls = bls_key(&id);
    let signature = node.sign(&sesh_chain::abi::node_signature_message(&id, &bls)).to_bytes();
    let (x, y) = bls.as_bytes().split_at(32);
    let (r, s) = signature.split_at(32);
    NodeRegistration {
        bls_pubkey: Rewards::G1Point { X: U256::from_be_slice(x), Y: U256::from_be_slice(y) },
        bls_signature: Rewards::BLSSignatureParams {
            sigs0: U256::ZERO,
            sigs1: U256::ZERO,
            sigs2: U256::ZERO,
            sigs3: U256::ZERO,
        },
        params: Rewards::ServiceNodeParams {
            serviceNodePubkey: U256::from_be_slice(id.as_bytes()),
            serviceNodeSignature1: U256::from_be_slice(r),
            serviceNodeSignature2: U256::from_be_slice(s),
            fee,
        },
        contributors: stakes.collect(),
    }
}
