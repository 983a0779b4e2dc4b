//! A local network's chain (the `testnet` program's, and the node tests'): a local anvil mining a block every [`BLOCK_MS`], sesh's token and staking
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
//! Each node registers its own BLS key (the one it signs the network's messages with, derived
//! from its Ed25519 key by the node: [`bls_secret`]) with a proof of possession over the
//! contract's domain (the chain id and the contract), its operator's address (the registration's
//! first contributor, whom the contract checks the proof against) and its Ed25519 key.
//!
//! The deployer also sends the staking contract the reward pool's balance
//! ([`sesh_node::keeper::POOL_BALANCE`]) at setup: the nodes model the live `RewardRatePool`'s
//! releases, which on the live network the pool pays into the staking contract, and the
//! contract pays claims from what it holds. There is no pool contract here, so the contract holds
//! the whole pool from the start.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::chain_tools::{self, Anvil, CHAIN_ID, ChainTools};
use crate::contracts::{
    self, Deployment, NodeRegistration, ServiceNodeRewards as Rewards, Settings,
};
use alloy::primitives::{Address as EvmAddress, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::signers::local::PrivateKeySigner;
use sesh_identity::{Identity, NodeId};
use sesh_staking::{Address, BlsKey};

use super::LocalNetwork;

/// Milliseconds between anvil's blocks.
pub const BLOCK_MS: u64 = 100;
/// The confirmation depth the nodes follow the chain at.
pub const CONFIRMATIONS: u64 = 2;
/// Contributors shared among the nodes (each stakes into two).
pub const CONTRIBUTORS: usize = 4;
/// How often the testnet's own providers poll for receipts.
const POLL: Duration = Duration::from_millis(20);

/// Chain blocks per sesh height for heights of about `height_ms`.
pub fn blocks_per_height(height_ms: u64) -> u64 {
    (height_ms + BLOCK_MS / 2).checked_div(BLOCK_MS).unwrap_or(1).max(1)
}

/// Node `identity`'s BLS secret key: the node's own derivation, the key it signs with.
pub fn bls_secret(identity: &Identity) -> sesh_bls::SecretKey {
    sesh_node::signing::bls_secret_key(identity)
}

/// Node `identity`'s BLS public key, as the ledger and the contract record it (G1, `X‖Y`).
pub fn bls_key(identity: &Identity) -> BlsKey {
    BlsKey::from_bytes(bls_secret(identity).public_key().to_bytes())
}

/// Node `identity`'s proof of possession of its BLS key, for registering it on the contract of
/// `domain` with `operator` as its operator (the registration's first contributor).
pub fn proof_of_possession(
    identity: &Identity,
    domain: &sesh_bls::Domain,
    operator: EvmAddress,
) -> sesh_bls::Signature {
    let id = NodeId::from_identity(identity);
    bls_secret(identity).proof_of_possession(domain, operator.0.0, id.as_bytes())
}

/// The signatures' domain of the staking contract at `contract` on this chain.
pub fn domain(contract: EvmAddress) -> sesh_bls::Domain {
    sesh_bls::Domain { chain_id: CHAIN_ID, contract: contract.0.0 }
}

/// The testnet's chain, its contracts and the staked genesis; anvil stops when it is dropped.
#[derive(Debug)]
pub struct Chain {
    /// The running anvil.
    pub anvil: Anvil,
    /// The deployed contracts (the staking contract's deployment block is the nodes' start).
    pub deployment: Deployment,
    /// Chain blocks per sesh height.
    pub blocks_per_height: u64,
    /// Each node's Ed25519 key.
    pub nodes: Vec<Identity>,
    /// Each node's EVM account key (`0x…` hex), for posting its quorums' decisions.
    pub evm_keys: Vec<String>,
    /// A name for every staking address, by the ledger's address (hex).
    pub names: BTreeMap<String, String>,
    /// Each node's operator fee, basis points.
    pub fees: Vec<u16>,
    /// How long installing the tools, starting anvil, deploying and staking took.
    pub setup: Duration,
}

impl Chain {
    /// Installs the chain tools (a progress line on stderr the first time), starts anvil,
    /// deploys the contracts and registers `n` nodes with their stakes, for sesh heights of
    /// about `height_ms`.
    ///
    /// # Errors
    /// What failed: the tools, anvil, a deployment or a registration.
    pub async fn start(n: usize, height_ms: u64) -> Result<Self, String> {
        Self::start_at(n, height_ms, None).await
    }

    /// [`Chain::start`] with anvil's genesis block at `genesis` (unix seconds; anvil's later
    /// blocks keep that offset from the wall clock until `evm_increaseTime`), e.g. hours in the
    /// past, so that the registrations are as old by the chain's clock as the contract's
    /// minimum exit age asks while the nodes' clocks are the wall clock.
    ///
    /// # Errors
    /// As [`Chain::start`].
    pub async fn start_at(n: usize, height_ms: u64, genesis: Option<u64>) -> Result<Self, String> {
        let started = Instant::now();
        let accounts = 1 + n + CONTRIBUTORS + n;
        let anvil = tokio::task::spawn_blocking(move || {
            let tools = ChainTools::install(&chain_tools::target_dir()?)?;
            let block_time = format!("{}", Duration::from_millis(BLOCK_MS).as_secs_f64());
            let accounts = accounts.to_string();
            let genesis = genesis.map(|t| t.to_string());
            let mut args = vec!["--block-time", &block_time, "--accounts", &accounts];
            if let Some(t) = &genesis {
                args.extend(["--timestamp", t]);
            }
            Anvil::spawn(&tools, CHAIN_ID, &args)
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
        // The reward pool's tokens, which the contract pays claims from (see the module's doc).
        let pool = U256::from(sesh_node::keeper::POOL_BALANCE);
        let sent = token.transfer(deployment.rewards, pool).send().await;
        pending.push(sent.map_err(|e| format!("sending the pool to the contract: {e}"))?);
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
                &domain(deployment.rewards),
                op,
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

    /// Starts node `i` of this chain's genesis for each `i < n`, each a follower of the contract
    /// in `<dir>/node<i>` (its key written there), with `extra` (every node's arguments, e.g.
    /// `--plain-http`) and `own(i)`; each sends its first uptime proof to node 0 and the node
    /// before it. Returns once every node has said where it listens (not when it is ready:
    /// [`LocalNetwork::wait_ready`]).
    ///
    /// # Errors
    /// As [`LocalNetwork::add_peer`].
    pub fn start_nodes(
        &self,
        command: &[std::ffi::OsString],
        dir: &std::path::Path,
        extra: &[String],
        own: impl Fn(usize) -> Vec<String>,
    ) -> Result<LocalNetwork, String> {
        super::write_keys(dir, &self.nodes)?;
        let mut nodes = LocalNetwork::followers(command, dir, extra);
        for i in 0..self.nodes.len() {
            let mut args = self.node_args(i, &dir.join(format!("node{i}")))?;
            let peers = [Some(0), i.checked_sub(1).filter(|p| *p > 0)];
            for p in peers.into_iter().flatten().filter_map(|p| nodes.nodes.get(p)) {
                args.extend(["--peer".to_owned(), p.url.clone()]);
            }
            args.extend(own(i));
            nodes.add_peer(&args)?;
        }
        Ok(nodes)
    }

    /// The signing key of a staking account of the genesis (an operator or a contributor), by
    /// its address: the wallet its rewards are claimed to.
    ///
    /// # Errors
    /// When `address` is not one of them.
    pub fn staker(&self, address: EvmAddress) -> Result<PrivateKeySigner, String> {
        let stakers = 1..=self.nodes.len() + CONTRIBUTORS;
        for i in stakers {
            let signer = self.anvil.dev_signer(i).map_err(|e| e.to_string())?;
            if signer.address() == address {
                return Ok(signer);
            }
        }
        Err(format!("{address} is not a staking account of this chain's genesis"))
    }

    /// A provider that sends from `signer`, polling for receipts every 20 ms.
    ///
    /// # Errors
    /// As [`Anvil::provider`].
    pub fn provider(&self, signer: PrivateKeySigner) -> Result<DynProvider, String> {
        let p = self.anvil.provider(signer).map_err(|e| e.to_string())?;
        p.client().set_poll_interval(POLL);
        Ok(p)
    }

    /// The signatures' domain of this chain's staking contract.
    pub fn domain(&self) -> sesh_bls::Domain {
        domain(self.deployment.rewards)
    }

    /// The sesh height's length.
    pub fn height_ms(&self) -> u64 {
        self.blocks_per_height * BLOCK_MS
    }

    /// The staking contract's address, `0x…` (checksummed).
    pub fn contract(&self) -> String {
        self.deployment.rewards.to_checksum(None)
    }

    /// The node arguments that make node `i` a follower of this chain (its EVM key written to
    /// `evm_key` in its data directory `dir`).
    ///
    /// # Errors
    /// When there is no node `i`, or its key cannot be written.
    pub fn node_args(&self, i: usize, dir: &std::path::Path) -> Result<Vec<String>, String> {
        let key = self.evm_keys.get(i).ok_or("no EVM key for the node")?;
        let path = dir.join("evm_key");
        crate::files::write_private(&path, format!("{key}\n").as_bytes())?;
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

/// The registration of `node` on the contract of `domain` with `fee` (basis points) and `stakes`,
/// the operator first (who must be the sender when `stakes` is empty): its BLS key, the proof of
/// possession of it (for the operator: `stakes[0]`'s staker, or `sender`), and its Ed25519
/// signature over its Ed25519 and BLS keys.
pub fn registration(
    node: &Identity,
    domain: &sesh_bls::Domain,
    sender: EvmAddress,
    fee: u16,
    stakes: impl IntoIterator<Item = Rewards::Contributor>,
) -> NodeRegistration {
    let id = NodeId::from_identity(node);
    let bls = bls_key(node);
    let contributors: Vec<Rewards::Contributor> = stakes.into_iter().collect();
    let operator = contributors.first().map_or(sender, |c| c.staker.addr);
    let pop = proof_of_possession(node, domain, operator);
    let signature = node.sign(&sesh_chain::abi::node_signature_message(&id, &bls)).to_bytes();
    let (x, y) = bls.as_bytes().split_at(32);
    let (r, s) = signature.split_at(32);
    let [sigs0, sigs1, sigs2, sigs3] = pop.to_words().map(|w| U256::from_be_bytes(w));
    NodeRegistration {
        bls_pubkey: Rewards::G1Point { X: U256::from_be_slice(x), Y: U256::from_be_slice(y) },
        bls_signature: Rewards::BLSSignatureParams { sigs0, sigs1, sigs2, sigs3 },
        params: Rewards::ServiceNodeParams {
            serviceNodePubkey: U256::from_be_slice(id.as_bytes()),
            serviceNodeSignature1: U256::from_be_slice(r),
            serviceNodeSignature2: U256::from_be_slice(s),
            fee,
        },
        contributors,
    }
}
