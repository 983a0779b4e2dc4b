//! The testnet's starting ledger: one operator per node, a few contributors staking into several
//! nodes each, operator fees from 0 to 15 %, every node fully staked and active. Written as the
//! authority's `ledger.log` before it starts.

use std::collections::BTreeMap;

use rand_core::OsRng;
use sesh_identity::Identity;
use sesh_staking::journal::Journal;
use sesh_staking::tx::{Contribute, Register, Tx};
use sesh_staking::{Address, BlsKey, NodeId};

use crate::node::authority;

/// Contributors shared among the nodes.
pub(crate) const CONTRIBUTORS: usize = 4;

/// Who is who in the ledger.
pub(crate) struct Genesis {
    /// The journal's log: the authority's `ledger.log`.
    pub(crate) log: Vec<u8>,
    /// Each node's key.
    pub(crate) nodes: Vec<Identity>,
    /// A name for every staking address (`operator 3`, `contributor 1`).
    pub(crate) names: BTreeMap<Address, String>,
    /// Each node's operator fee, basis points.
    pub(crate) fees: Vec<u16>,
}

/// Builds the ledger for `n` nodes.
pub(crate) fn build(n: usize) -> Result<Genesis, String> {
    let params = authority::params();
    let requirement = params.staking_requirement;
    let mut journal = Journal::new(params.clone());
    let mut log = Vec::new();
    let mut names = BTreeMap::new();
    let contributors: Vec<Identity> =
        (0..CONTRIBUTORS).map(|_| Identity::generate(&mut OsRng)).collect();
    for (i, c) in contributors.iter().enumerate() {
        names.insert(Address::from_identity(c), format!("contributor {i}"));
    }
    let (mut nodes, mut fees) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let node = Identity::generate(&mut OsRng);
        let operator = Identity::generate(&mut OsRng);
        let op = Address::from_identity(&operator);
        names.insert(op, format!("operator {i}"));
        let id = NodeId::from_identity(&node);
        let bls_key = BlsKey::from_bytes(sesh_identity::hash::blake2b::<64>(
            b"sesh-testnet-bls",
            &[id.as_bytes()],
        ));
        let fee_bp = [0u16, 500, 1000, 1500].get(i % 4).copied().unwrap_or(0);
        // The operator stakes half; two contributors a quarter each.
        let register = Tx::Register(Register {
            operator: op,
            nonce: journal.ledger().nonce(&op),
            node: id,
            bls_key,
            fee_bp,
            stake: requirement / 2,
            beneficiary: op,
            reservations: Vec::new(),
            node_signature: node
                .sign(&Register::node_message(&id, &bls_key, &op, &params))
                .to_bytes(),
        });
        let mut apply =
            |journal: &mut Journal, tx: sesh_staking::tx::SignedTx| -> Result<(), String> {
                let (_, record) = journal.apply(&tx).map_err(|e| format!("node {i}: {e}"))?;
                log.extend_from_slice(&record);
                Ok(())
            };
        apply(&mut journal, register.sign(&operator, &params).map_err(|e| e.to_string())?)?;
        let last_share = requirement - requirement / 2 - requirement / 4;
        for (k, share) in
            [(i % CONTRIBUTORS, requirement / 4), ((i + 1) % CONTRIBUTORS, last_share)]
        {
            let c = contributors.get(k).ok_or("no contributor")?;
            let addr = Address::from_identity(c);
            // Each contributor's nonce counts its transactions so far.
            let nonce = journal.ledger().nonce(&addr);
            let tx = Tx::Contribute(Contribute {
                contributor: addr,
                nonce,
                node: id,
                amount: share,
                beneficiary: addr,
            });
            apply(&mut journal, tx.sign(c, &params).map_err(|e| e.to_string())?)?;
        }
        if !journal.ledger().node(&id).is_some_and(|n| n.is_active()) {
            return Err(format!("node {i} did not activate"));
        }
        nodes.push(node);
        fees.push(fee_bp);
    }
    Ok(Genesis { log, nodes, names, fees })
}
