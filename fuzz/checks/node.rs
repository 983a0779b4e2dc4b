// The checks behind the sesh-node fuzz targets. Included (not compiled on its own) by
// `fuzz_targets/{keeper_join,fetch_request,handover_messages,quorum_wire,uptime_proof}.rs` and
// by `crates/sesh-node/tests/fuzz_corpus.rs`, which replays the committed corpus through the
// same code on stable Rust.

use std::net::Ipv4Addr;
use std::sync::LazyLock;

use serde_json::Value;
use sesh_identity::{Identity, NodeId, Seed};
use sesh_network::{NetworkState, NodeRecord};
use sesh_node::handover::{
    self, FetchRequest, PAGE, accepted, from_wire, is_authorised, push_answer, push_body,
    read_page, read_push, to_wire,
};
use sesh_node::keeper::{JoinRequest, Keeper, params, register_tx};
use sesh_rpc::message_hash;
use sesh_rpc::store::Message;
use sesh_staking::journal::{Journal, record_bytes};
use sesh_staking::tx::Tx;
use sesh_swarm::{SwarmId, SwarmMap};

/// The receiver's clock (the corpus's messages expire around it).
const NOW_MS: i64 = 1_700_000_000_000;

/// Node `i` of the fixed network (the corpus is made with the same keys).
fn identity(i: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([i + 1; 32]))
}

/// The swarms of the fixed network: node `i` of the first nine is in `SWARMS[i % 3]`.
const SWARMS: [u64; 3] = [0x1000_0000_0000_0000, 0x8000_0000_0000_0000, 0xc000_0000_0000_0000];

/// Nine nodes in three swarms, and node 9 in none.
static STATE: LazyLock<NetworkState> = LazyLock::new(|| {
    let records: Vec<NodeRecord> = (0..10u8)
        .map(|i| NodeRecord {
            id: NodeId::from_identity(&identity(i)),
            x25519: *identity(i).x25519_public_key(),
            ip: Ipv4Addr::new(10, 0, 0, i + 1),
            port: 20_000 + u16::from(i),
            tls: true,
        })
        .collect();
    let map = SwarmMap::from_assignments(
        records
            .iter()
            .take(9)
            .zip(SWARMS.iter().cycle())
            .map(|(r, s)| (r.id, SwarmId::new(*s).expect("a swarm id"))),
    )
    .expect("distinct nodes");
    NetworkState::new(5, [21, 0], [7; 32], records, map).expect("a state")
});

fn node(i: u8) -> NodeId {
    NodeId::from_identity(&identity(i))
}

/// The log of a ledger where node 0 registered itself (with `register_tx`).
static REGISTERED: LazyLock<Vec<u8>> =
    LazyLock::new(|| record_bytes(&register_tx(&identity(0)).expect("a registration")));

/// A join request: the first byte says who signs it (bit 0: node 0, else node 1) and whether
/// node 0 is registered already (bit 1); the rest is the body. `JoinRequest::parse` never panics
/// and what it reads re-encodes (`to_body`) to the same request; `Keeper::join` either refuses
/// and changes nothing, or records where the signer is reached and changes the ledger only by a
/// valid registration of the signer itself, which it returns as the log record.
pub fn keeper_join(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else { return };
    let request = JoinRequest::parse(body);
    if let Ok(request) = &request {
        assert_eq!(JoinRequest::parse(&request.to_body()).as_ref(), Ok(request));
    }
    let signer = node(u8::from(selector & 1 == 0));
    let log: &[u8] = if selector & 2 == 0 { &[] } else { &REGISTERED };
    let mut keeper = Keeper::restore([21, 0], log, None).expect("a good log").keeper;
    let (ledger_before, state_before) = (keeper.chain().ledger().clone(), keeper.state());
    let was_registered = ledger_before.node(&signer).is_some();

    match keeper.join(signer, body) {
        Err(_) => {
            assert_eq!(keeper.chain().ledger().state_hash(), ledger_before.state_hash());
            assert_eq!(keeper.state(), state_before);
        }
        Ok(record) => {
            let request = request.expect("a join that parsed");
            match (record, &request.register) {
                (None, _) => {
                    assert!(was_registered);
                    assert_eq!(keeper.chain().ledger().state_hash(), ledger_before.state_hash());
                }
                (Some(record), Some(tx)) => {
                    assert!(!was_registered);
                    assert!(matches!(&tx.tx, Tx::Register(r) if r.node == signer));
                    assert!(tx.verify(&params()).is_ok(), "an unverified registration applied");
                    assert_eq!(record, record_bytes(tx));
                    let mut expected_log = log.to_vec();
                    expected_log.extend_from_slice(&record);
                    let expected = Journal::open(params(), None, &expected_log).expect("the log");
                    assert_eq!(
                        keeper.chain().ledger().state_hash(),
                        expected.journal.ledger().state_hash()
                    );
                }
                (Some(_), None) => panic!("a registration without a register field"),
            }
            let state = keeper.state().expect("a state");
            let listed = state.node(&signer).expect("the joined node is listed");
            assert_eq!(
                (listed.ip, listed.port, listed.tls),
                (request.ip, request.port, request.tls)
            );
        }
    }
}

/// A fetch request's body: `FetchRequest::parse` never panics; what it reads has a limit in
/// `1..=PAGE` and re-encodes (`to_body`) to the same request; only members of the swarm are
/// authorized; and the answer made from stored rows reads back (`read_page`) as exactly the
/// swarm's unexpired messages among them.
pub fn fetch_request(data: &[u8]) {
    let Ok(ask) = FetchRequest::parse(data) else { return };
    assert!((1..=PAGE).contains(&ask.limit));
    assert_eq!(FetchRequest::parse(&ask.to_body()), Ok(ask));
    for i in 0..10 {
        let member = STATE.members(ask.swarm).iter().any(|r| r.id == node(i));
        assert_eq!(ask.authorize(&STATE, &node(i)).is_ok(), member);
    }
    let rows: Vec<(i64, Message)> = (0u8..12)
        .take(ask.limit)
        .map(|i| {
            let row = ask.after.saturating_add(1 + i64::from(i));
            (row, message(i, NOW_MS - 1000 + 300 * i64::from(i)))
        })
        .collect();
    let answer = ask.answer(&STATE, &rows).to_string();
    let Some(member) = STATE.members(ask.swarm).first().map(|r| r.id) else { return };
    let (taken, next) = read_page(&STATE, &member, NOW_MS, answer.as_bytes(), ask.after)
        .expect("an answer is JSON");
    let expected: Vec<Message> = rows
        .iter()
        .map(|(_, m)| m.clone())
        .filter(|m| STATE.swarm_for(&m.pubkey.to_bytes()) == Some(ask.swarm))
        .filter(|m| m.expiry > NOW_MS)
        .collect();
    assert_eq!(taken.keep, expected);
    assert_eq!(taken.malformed, 0);
    assert!(next.is_none_or(|n| n > ask.after));
    assert_eq!(
        next.is_some(),
        rows.len() == ask.limit && rows.last().is_some_and(|r| r.0 > ask.after)
    );
}

/// A stored message of account `k` (prefix 05), expiring at `expiry`.
fn message(k: u8, expiry: i64) -> Message {
    // Accounts spread over swarm space (the space is the XOR of the key's four 8-byte words).
    let mut key = [0x5a; 32];
    key[..8].copy_from_slice(&u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    let pubkey = sesh_rpc::AccountId::new(0x05, key);
    let namespace = sesh_rpc::Namespace(0);
    let data = vec![k; usize::from(k) + 1];
    Message {
        hash: message_hash(&pubkey, namespace, &data),
        pubkey,
        namespace,
        timestamp: expiry - 86_400_000,
        expiry,
        data,
        proof: None,
    }
}

/// A push's body, a fetched page and a push's answer (`read_push`, `read_page`, `accepted`,
/// `from_wire`): never a panic; every entry is kept, or counted once as not ours, malformed, out
/// of bounds or unsigned; a kept message's hash is its content's, it carries its owner's store
/// signature where its namespace needs one, it has not expired and this node's swarm owns its
/// account, and it
/// survives the wire form; what was kept is kept again when pushed on; a node in no swarm keeps
/// nothing; the answer to a push names exactly what was kept.
pub fn handover_messages(data: &[u8]) {
    let me = node(0);
    let pushed = read_push(&STATE, &me, NOW_MS, data);
    let value = serde_json::from_slice::<Value>(data);
    assert_eq!(pushed.is_ok(), value.is_ok());
    let page = read_page(&STATE, &me, NOW_MS, data, 0);
    let (Ok(pushed), Ok(value)) = (pushed, value) else {
        assert!(page.is_err());
        assert!(accepted(data).is_empty());
        return;
    };
    let (page, next) = page.expect("JSON");
    assert_eq!(page, pushed);
    assert!(next.is_none_or(|n| n > 0));
    let entries = value.get("messages").and_then(Value::as_array).map_or(0, Vec::len);
    let refused: usize = pushed.refused().iter().map(|(_, n)| n).sum();
    assert_eq!(pushed.keep.len() + refused, entries);
    let mine = STATE.swarm_of(&me);
    for m in &pushed.keep {
        assert_eq!(m.hash, message_hash(&m.pubkey, m.namespace, &m.data));
        assert!(m.expiry > NOW_MS);
        assert!(is_authorised(m, NOW_MS));
        assert_eq!(STATE.swarm_for(&m.pubkey.to_bytes()), mine);
        assert_eq!(from_wire(&to_wire(m)).as_ref(), Some(m));
    }
    let again = read_push(&STATE, &me, NOW_MS, &push_body(&pushed.keep)).expect("a push body");
    assert_eq!(again.keep, pushed.keep);
    assert_eq!(again.refused().iter().map(|(_, n)| n).sum::<usize>(), 0);
    let outside = read_push(&STATE, &node(9), NOW_MS, data).expect("JSON");
    assert!(outside.keep.is_empty());
    assert_eq!(outside.not_ours, pushed.keep.len() + pushed.not_ours);
    assert_eq!(
        (outside.malformed, outside.out_of_bounds, outside.unsigned),
        (pushed.malformed, pushed.out_of_bounds, pushed.unsigned)
    );

    let named = accepted(data);
    let listed = value.get("accepted").and_then(Value::as_array);
    assert_eq!(named.len(), listed.map_or(0, |l| l.iter().filter(|h| h.is_string()).count()));
    let answer = push_answer(&pushed.keep, pushed.keep.len()).to_string();
    let hashes: Vec<String> = pushed.keep.iter().map(|m| m.hash.clone()).collect();
    assert_eq!(accepted(answer.as_bytes()), hashes);
    if let Some(m) = from_wire(&value) {
        assert_eq!(m.hash, message_hash(&m.pubkey, m.namespace, &m.data));
        assert_eq!(from_wire(&to_wire(&m)), Some(m));
    }
    let _ = handover::swarm_changed(&STATE, &STATE, &me);
}

/// What nodes send each other for the quorums: a ledger view, a votes body, a storage test.
/// None makes its reader panic; a view read re-encodes to itself and gives a quorum of its own
/// nodes; every vote read goes to a ballot keeping a quorum of the fixed network's nodes, from
/// each validator in turn, and (the fuzzer cannot sign) is refused without changing it.
pub fn quorum_wire(data: &[u8]) {
    use sesh_node::obligations::{
        Ballot, LedgerView, read_storage_test, read_votes, storage_test_passed,
    };
    use sesh_quorum::Quorum;

    if let Ok(hash) = read_storage_test(data) {
        assert_eq!(hash.len(), 43);
    }
    let _ = storage_test_passed(data, b"data");
    if let Ok(view) = LedgerView::from_json(data) {
        let again = LedgerView::from_json(view.to_json().to_string().as_bytes());
        assert_eq!(again.as_ref(), Ok(&view));
        let quorum = view.obligations_quorum();
        assert!(quorum.validators.iter().chain(&quorum.workers).all(|n| view.node(n).is_some()));
    }
    if let Ok(votes) = read_votes(data) {
        let params = params();
        let quorum =
            Quorum { validators: (0..7).map(node).collect(), workers: (7..10).map(node).collect() };
        let mut ballot = Ballot::new();
        ballot.close_block(10, quorum.clone(), &params);
        let before = ballot.pending();
        for vote in &votes {
            for from in quorum.validators.iter().chain(&quorum.workers) {
                assert!(ballot.vote(from, vote, 10, &params).is_err(), "an unsigned vote counted");
            }
        }
        assert_eq!(ballot.pending(), before);
    }
}

/// An uptime proof as `POST /network/v1/uptime` carries it: the first byte says the form (bit 0
/// clear: the rest is a submission's body, `UptimeSubmission::from_body`; set: a bencoded proof
/// and its 64-byte `ed_sig` after it, `SignedProof::from_parts`). Never a panic; a proof that
/// decodes re-encodes (`UptimeProof::encode`) to one that decodes equal, a signed proof keeps
/// the bytes it was read from, and a body re-encodes (`to_body`) to the same submission;
/// `accept` never panics on what was read, accepts only a proof whose signature verifies, and
/// refuses it again at once; a node's `ProofBook` refuses and holds nothing, or takes a proof
/// whose signature verifies, of a registered node, once (the same proof again is known).
pub fn uptime_proof(data: &[u8]) {
    use sesh_node::obligations::UptimeSubmission;
    use sesh_quorum::proof::{ProofRules, SignedProof, UptimeProof, accept};

    let Some((&selector, rest)) = data.split_first() else { return };
    let signed = if selector & 1 == 0 {
        let Ok(submission) = UptimeSubmission::from_body(rest) else { return };
        let again = UptimeSubmission::from_body(&submission.to_body());
        assert_eq!(again.as_ref(), Ok(&submission));
        book_receive(&submission);
        submission.proof
    } else {
        let (encoded, ed_sig) = rest.split_at(rest.len().saturating_sub(64));
        if let Ok(proof) = UptimeProof::decode(encoded) {
            assert_eq!(UptimeProof::decode(&proof.encode()).as_ref(), Ok(&proof));
        }
        let Ok(signed) = SignedProof::from_parts(encoded, ed_sig) else { return };
        assert_eq!((signed.encoded(), &signed.ed_sig()[..]), (encoded, ed_sig));
        signed
    };
    let proof = signed.proof();
    assert_eq!(UptimeProof::decode(&proof.encode()).as_ref(), Ok(proof));
    let stamped_ms = proof.timestamp.saturating_mul(1000);
    for rules in [ProofRules::mainnet(), ProofRules::local(500)] {
        for now_ms in [stamped_ms, NOW_MS.unsigned_abs()] {
            if accept(&signed, None, now_ms, &rules).is_ok() {
                assert!(signed.verify().is_ok(), "an unsigned proof accepted");
                assert!(accept(&signed, Some(now_ms), now_ms, &rules).is_err(), "accepted twice");
            }
        }
    }
}

/// A node's `ProofBook` on the ledger where node 0 is registered, its clock at the proof's
/// timestamp.
fn book_receive(submission: &sesh_node::obligations::UptimeSubmission) {
    use sesh_node::proofs::{ProofBook, Received};
    let mut keeper = Keeper::restore([21, 0], &REGISTERED, None).expect("a good log").keeper;
    keeper.block().expect("a block");
    let view = keeper.view().clone();
    let rules = sesh_quorum::proof::ProofRules::local(500);
    let mut book = ProofBook::new(node(1), rules);
    let now_ms = submission.proof.proof().timestamp.saturating_mul(1000);
    match book.receive(&submission.proof, &view, now_ms) {
        Err(_) => assert_eq!(book.iter().len(), 0, "a refused proof held"),
        Ok(got) => {
            assert_eq!(got, Received::New);
            assert!(submission.proof.verify().is_ok(), "an unsigned proof taken");
            let node = submission.proof.proof().pubkey_ed25519;
            assert!(view.node(&node).is_some(), "a proof of a node not registered taken");
            let again = book.receive(&submission.proof, &view, now_ms);
            assert_eq!(again, Ok(Received::Known));
        }
    }
}
