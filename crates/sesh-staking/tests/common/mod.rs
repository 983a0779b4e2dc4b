//! A small world for ledger tests: keys, signing and block advancing.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sesh_identity::{Identity, Seed};
use sesh_staking::tx::{
    ByContributor, Contribute, DecisionKind, Liquidate, QuorumDecision, Register, SignedTx, Tx,
};
use sesh_staking::{Address, BlsKey, Error, Event, Ledger, NodeId, Params, Rejection};

pub const SESH: u64 = 1_000_000_000;

pub fn identity(n: u32) -> Identity {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    seed[31] = 0x5e;
    Identity::from_seed(&Seed::from_bytes(seed))
}

pub fn address(n: u32) -> Address {
    Address::from_identity(&identity(n))
}

pub fn node_id(n: u32) -> NodeId {
    NodeId::from_identity(&identity(1_000_000 + n))
}

pub fn bls(n: u32) -> BlsKey {
    let mut key = [0x42u8; 64];
    key[..4].copy_from_slice(&n.to_be_bytes());
    BlsKey::from_bytes(key)
}

pub struct World {
    pub params: Params,
    pub ledger: Ledger,
}

impl World {
    pub fn new(params: Params) -> Self {
        Self { ledger: Ledger::new(params.clone()), params }
    }

    pub fn apply(&mut self, tx: &SignedTx) -> Result<Vec<Event>, Error> {
        let before = self.ledger.clone();
        let result = self.ledger.apply_signed(tx);
        if result.is_err() {
            assert_eq!(self.ledger, before, "a rejected transaction changed the ledger");
        }
        assert!(
            self.ledger.totals().balanced(),
            "tokens not conserved: {:?}",
            self.ledger.totals()
        );
        result
    }

    pub fn rejection(&mut self, tx: &SignedTx) -> Rejection {
        match self.apply(tx) {
            Err(Error::TxRejected { reason }) => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    pub fn advance(&mut self, blocks: u64) -> Vec<Event> {
        let mut events = Vec::new();
        for _ in 0..blocks {
            let next = self.ledger.height() + 1;
            events.extend(self.apply(&Tx::AdvanceHeight(next).unsigned()).unwrap());
        }
        events
    }

    pub fn register_tx(
        &self,
        operator: u32,
        node: u32,
        stake: u64,
        fee_bp: u16,
        reservations: Vec<(Address, u64)>,
    ) -> SignedTx {
        let op = address(operator);
        let (id, key) = (node_id(node), bls(node));
        let node_key = identity(1_000_000 + node);
        let tx = Tx::Register(Register {
            operator: op,
            nonce: self.ledger.nonce(&op),
            node: id,
            bls_key: key,
            fee_bp,
            stake,
            beneficiary: op,
            reservations,
            node_signature: node_key
                .sign(&Register::node_message(&id, &key, &op, &self.params))
                .to_bytes(),
        });
        tx.sign(&identity(operator), &self.params).unwrap()
    }

    pub fn contribute_tx(&self, contributor: u32, node: u32, amount: u64) -> SignedTx {
        let who = address(contributor);
        Tx::Contribute(Contribute {
            contributor: who,
            nonce: self.ledger.nonce(&who),
            node: node_id(node),
            amount,
            beneficiary: who,
        })
        .sign(&identity(contributor), &self.params)
        .unwrap()
    }

    pub fn by_contributor(
        &self,
        contributor: u32,
        node: u32,
        make: fn(ByContributor) -> Tx,
    ) -> SignedTx {
        let who = address(contributor);
        make(ByContributor {
            contributor: who,
            nonce: self.ledger.nonce(&who),
            node: node_id(node),
        })
        .sign(&identity(contributor), &self.params)
        .unwrap()
    }

    /// A decision on `node` signed by the nodes `voters`, cast for the current height.
    pub fn decision(&self, kind: DecisionKind, node: u32, voters: &[u32]) -> QuorumDecision {
        let keys: Vec<Identity> = voters.iter().map(|v| identity(1_000_000 + v)).collect();
        let refs: Vec<&Identity> = keys.iter().collect();
        QuorumDecision::signed(kind, node_id(node), self.ledger.height(), &refs, &self.params)
    }

    pub fn quorum_tx(&self, kind: DecisionKind, node: u32, voters: &[u32]) -> SignedTx {
        let d = self.decision(kind, node, voters);
        match kind {
            DecisionKind::Decommission => Tx::Decommission(d).unsigned(),
            DecisionKind::Recommission => Tx::Recommission(d).unsigned(),
            DecisionKind::Deregister => Tx::Deregister(d).unsigned(),
            DecisionKind::Liquidate => panic!("use liquidate_tx"),
        }
    }

    pub fn liquidate_tx(&self, liquidator: u32, node: u32, voters: &[u32]) -> SignedTx {
        let who = address(liquidator);
        Tx::Liquidate(Liquidate {
            liquidator: who,
            nonce: self.ledger.nonce(&who),
            decision: self.decision(DecisionKind::Liquidate, node, voters),
        })
        .sign(&identity(liquidator), &self.params)
        .unwrap()
    }

    /// Solo nodes 100.. run by operators 100.., to vote.
    pub fn voters(&mut self, count: u32) -> Vec<u32> {
        let requirement = self.params.staking_requirement;
        let voters: Vec<u32> = (100..100 + count).collect();
        for n in &voters {
            let tx = self.register_tx(*n, *n, requirement, 0, vec![]);
            self.apply(&tx).unwrap();
        }
        voters
    }
}
