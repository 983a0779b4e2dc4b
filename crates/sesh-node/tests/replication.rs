//! Recursive requests: what the entry node forwards after running a client's request (with the
//! real request handler on an in-memory store), how the peers' answers are recorded, and which
//! forwarded requests a peer refuses.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sesh_identity::{Identity, NodeId, Seed};
use sesh_node::replication::{
    Forward, PeerOutcome, PeerReply, Slot, fanout, merge, refuse_forwarded, swarm_entry,
};
use sesh_rpc::handler::{self, Body, Context, Node, Response, Solo};
use sesh_rpc::request::is_recursive_method;
use sesh_rpc::store::MemoryStore;
use sesh_rpc::{AccountId, Namespace, message_hash};

const NOW: i64 = 1_700_000_000_000;
const HF: [u16; 2] = [21, 0];
const REFUSAL: &str = "invalid request: received invalid forwarded non-forwardable request";

fn identity(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_bytes([n; 32]))
}

fn account() -> AccountId {
    AccountId::new(5, [0x42; 32])
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// Runs `method` with `params` on a node with key `me` (the entry node, or a peer when
/// `forwarded`).
fn run(
    me: &Identity,
    store: &mut MemoryStore,
    forwarded: bool,
    method: &str,
    params: &Map<String, Value>,
) -> Response {
    let node = Node { identity: me, hf: HF, swarm: &Solo };
    handler::handle_params(&node, store, Context { now_ms: NOW, forwarded }, method, params)
}

/// The kinds of sub-request a test batches, and how each goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sub {
    /// A store that succeeds (recursive).
    Store,
    /// A store with a TTL below the minimum: 403 (recursive).
    BadStore,
    /// A delete with a signature that does not verify: 401 (recursive).
    BadDelete,
    /// `info`: 200, not recursive.
    Info,
    /// `get_swarm`: 200, not recursive.
    GetSwarm,
}

impl Sub {
    fn request(self, n: usize) -> Value {
        let pubkey = account().prefixed_hex();
        let data = STANDARD.encode(format!("message {n}"));
        match self {
            Sub::Store => json!({"method": "store", "params": {
                "pubkey": pubkey, "namespace": 0, "data": data, "timestamp": NOW, "ttl": 86_400_000}}),
            Sub::BadStore => json!({"method": "store", "params": {
                "pubkey": pubkey, "namespace": 0, "data": data, "timestamp": NOW, "ttl": 5}}),
            Sub::BadDelete => json!({"method": "delete", "params": {
                "pubkey": pubkey,
                "messages": [message_hash(&account(), Namespace(0), b"x")],
                "signature": STANDARD.encode([7u8; 64])}}),
            Sub::Info => json!({"method": "info", "params": {}}),
            Sub::GetSwarm => json!({"method": "get_swarm", "params": {"pubkey": pubkey}}),
        }
    }

    fn recursive(self) -> bool {
        matches!(self, Sub::Store | Sub::BadStore | Sub::BadDelete)
    }

    fn succeeds(self) -> bool {
        matches!(self, Sub::Store | Sub::Info | Sub::GetSwarm)
    }

    fn strategy() -> impl Strategy<Value = Self> {
        prop_oneof![
            Just(Sub::Store),
            Just(Sub::BadStore),
            Just(Sub::BadDelete),
            Just(Sub::Info),
            Just(Sub::GetSwarm),
        ]
    }
}

fn method_params(request: &Value) -> (String, Map<String, Value>) {
    (request["method"].as_str().unwrap().to_owned(), params(request["params"].clone()))
}

fn forwarded_request(f: &Forward) -> Value {
    serde_json::from_slice(&f.body).unwrap()
}

fn json_body(r: &Response) -> &Value {
    match &r.body {
        Body::Json(v) => v,
        Body::Text(t) => panic!("a text body: {t}"),
    }
}

fn hex(id: &Identity) -> String {
    NodeId::from_identity(id).to_string()
}

#[test]
fn each_kind_of_sub_request_goes_as_expected() {
    let me = identity(1);
    for (n, sub) in [Sub::Store, Sub::BadStore, Sub::BadDelete, Sub::Info, Sub::GetSwarm]
        .into_iter()
        .enumerate()
    {
        let (method, p) = method_params(&sub.request(n));
        let r = run(&me, &mut MemoryStore::new(), false, &method, &p);
        assert_eq!(r.status == 200, sub.succeeds(), "{sub:?}: {r:?}");
        assert_eq!(is_recursive_method(&method), sub.recursive());
        // A request the handler says to forward is forwarded whole.
        let jobs = fanout(&method, &p, &r);
        if sub.recursive() && sub.succeeds() {
            assert!(r.forward);
            assert_eq!(jobs.len(), 1);
            assert_eq!(jobs[0].slot, Slot::Whole);
            assert_eq!(forwarded_request(&jobs[0]), sub.request(n));
        } else {
            assert!(jobs.is_empty(), "{sub:?}: {jobs:?}");
        }
    }
}

#[test]
fn a_forwarded_request_is_not_forwarded_again() {
    let (method, p) = method_params(&Sub::Store.request(0));
    let r = run(&identity(2), &mut MemoryStore::new(), true, &method, &p);
    assert_eq!(r.status, 200);
    assert!(!r.forward);
    assert!(fanout(&method, &p, &r).is_empty());
}

fn batch(method: &str, subs: &[Sub]) -> (Map<String, Value>, Response) {
    let requests: Vec<Value> = subs.iter().enumerate().map(|(n, s)| s.request(n)).collect();
    let p = params(json!({"requests": requests}));
    let r = run(&identity(1), &mut MemoryStore::new(), false, method, &p);
    (p, r)
}

proptest! {
    /// A batch forwards each recursive sub-request that succeeded, at its index; a sequence
    /// the same, up to its first failure.
    #[test]
    fn batches_forward_the_recursive_successes(
        subs in prop::collection::vec(Sub::strategy(), 1..10),
        sequence: bool,
    ) {
        let method = if sequence { "sequence" } else { "batch" };
        let (p, r) = batch(method, &subs);
        prop_assert_eq!(r.status, 200);
        prop_assert!(!r.forward);
        let ran = if sequence {
            subs.iter().position(|s| !s.succeeds()).map_or(subs.len(), |i| i + 1)
        } else {
            subs.len()
        };
        prop_assert_eq!(json_body(&r)["results"].as_array().unwrap().len(), ran);
        let expected: Vec<(Slot, Value)> = subs[..ran]
            .iter()
            .enumerate()
            .filter(|(_, s)| s.recursive() && s.succeeds())
            .map(|(n, s)| (Slot::Sub(n), s.request(n)))
            .collect();
        let jobs: Vec<(Slot, Value)> =
            fanout(method, &p, &r).iter().map(|f| (f.slot, forwarded_request(f))).collect();
        prop_assert_eq!(jobs, expected);
    }
}

#[test]
fn a_failed_or_odd_batch_forwards_nothing() {
    let (p, mut r) = batch("batch", &[Sub::Store, Sub::Store]);
    assert_eq!(fanout("batch", &p, &r).len(), 2);
    // Under another method's name, nothing (the handler would not have said so).
    assert!(fanout("retrieve", &p, &r).is_empty());
    // A batch that failed as a whole.
    let ok = r.clone();
    r.status = 500;
    assert!(fanout("batch", &p, &r).is_empty());
    // A text body, no results, results that are not a list.
    for body in [
        Body::Text("oops".into()),
        Body::Json(json!({})),
        Body::Json(json!({"results": {"0": {"code": 200}}})),
    ] {
        let r = Response { body, ..ok.clone() };
        assert!(fanout("batch", &p, &r).is_empty());
    }
    // Requests that are not a list, or sub-requests without a method or object params.
    for requests in [
        json!("x"),
        json!([{"params": {}}, {"method": "store"}]),
        json!([{"method": 5, "params": {}}, {"method": "store", "params": [1]}]),
    ] {
        assert!(fanout("batch", &params(json!({"requests": requests})), &ok).is_empty());
    }
    // A result without a code, or with one that is not a number, did not succeed.
    let r = Response {
        body: Body::Json(json!({"results": [{"body": {}}, {"code": "200", "body": {}}]})),
        ..ok
    };
    assert!(fanout("batch", &p, &r).is_empty());
}

// ---- answers of the peers ----

#[test]
fn peer_replies_as_swarm_entries() {
    let answered = |status, body: &[u8]| PeerReply::Answered { status, body: body.to_vec() };
    let (entry, outcome) = swarm_entry(answered(200, br#"{"hash": "h", "t": 5}"#));
    assert_eq!((entry, outcome), (json!({"hash": "h", "t": 5}), PeerOutcome::Ok));
    for body in [&b"[1, 2]"[..], b"\"text\"", b"5", b"null", b"not json", b""] {
        assert_eq!(
            swarm_entry(answered(200, body)),
            (json!({"failed": true, "bad_peer_response": true}), PeerOutcome::BadPeerResponse),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    for status in [201, 400, 401, 421, 500, 503] {
        assert_eq!(
            swarm_entry(answered(status, b"go away")),
            (json!({"failed": true, "code": status, "reason": "go away"}), PeerOutcome::Refused)
        );
    }
    let (entry, _) = swarm_entry(answered(403, &[0xff, b'a']));
    assert_eq!(entry["reason"], "\u{fffd}a");
    for reply in [PeerReply::TimedOut, PeerReply::Unreachable] {
        assert_eq!(
            swarm_entry(reply),
            (json!({"failed": true, "timeout": true}), PeerOutcome::Timeout)
        );
    }
    let labels: Vec<&str> =
        [PeerOutcome::Ok, PeerOutcome::BadPeerResponse, PeerOutcome::Refused, PeerOutcome::Timeout]
            .into_iter()
            .map(PeerOutcome::as_str)
            .collect();
    assert_eq!(labels, ["ok", "bad_peer_response", "refused", "timeout"]);
}

#[test]
fn a_whole_request_gathers_its_peers_answers() {
    let (me, b, c) = (identity(1), identity(2), identity(3));
    let (method, p) = method_params(&Sub::Store.request(0));
    let mut answer = run(&me, &mut MemoryStore::new(), false, &method, &p);
    let jobs = fanout(&method, &p, &answer);
    assert_eq!(jobs.len(), 1);

    // Peer b runs the forwarded request for real, and its answer lands under its key.
    let (fm, fp) = method_params(&forwarded_request(&jobs[0]));
    assert_eq!(refuse_forwarded(&fm), None);
    let peer = run(&b, &mut MemoryStore::new(), true, &fm, &fp);
    assert_eq!(peer.status, 200);
    let (entry, outcome) =
        swarm_entry(PeerReply::Answered { status: peer.status, body: peer.body.to_bytes() });
    assert_eq!(outcome, PeerOutcome::Ok);
    merge(&mut answer, &jobs[0].slot, &NodeId::from_identity(&b), entry.clone());
    let swarm = json_body(&answer)["swarm"].as_object().unwrap();
    assert_eq!(swarm.len(), 2);
    assert_eq!(swarm[&hex(&b)], entry);
    assert_eq!(swarm[&hex(&b)]["hash"], swarm[&hex(&me)]["hash"]);
    assert_eq!(answer.status, 200);

    // Peer c timed out: recorded as failed, the request still succeeded.
    let (entry, _) = swarm_entry(PeerReply::TimedOut);
    merge(&mut answer, &Slot::Whole, &NodeId::from_identity(&c), entry);
    let swarm = &json_body(&answer)["swarm"];
    assert_eq!(swarm[&hex(&c)], json!({"failed": true, "timeout": true}));
    assert_eq!(answer.status, 200);
    // A peer answering twice: the last answer counts.
    merge(&mut answer, &Slot::Whole, &NodeId::from_identity(&c), json!({"hash": "x"}));
    assert_eq!(json_body(&answer)["swarm"][&hex(&c)], json!({"hash": "x"}));
    assert_eq!(json_body(&answer)["swarm"].as_object().unwrap().len(), 3);
}

/// A response whose own swarm entry (node 1's) failed, with `status`.
fn own_failure(status: u16) -> Response {
    Response {
        status,
        body: Body::Json(
            json!({"swarm": {hex(&identity(1)): {"failed": true, "query_failure": true}}}),
        ),
        verification: None,
        token_check: None,
        forward: true,
    }
}

#[test]
fn all_failed_makes_a_500_and_a_mix_stays_200() {
    let peer = |n| NodeId::from_identity(&identity(n));
    let mut r = own_failure(500);
    merge(&mut r, &Slot::Whole, &peer(2), swarm_entry(PeerReply::Unreachable).0);
    assert_eq!(r.status, 500, "every entry failed");
    let refused = PeerReply::Answered { status: 401, body: b"no".to_vec() };
    merge(&mut r, &Slot::Whole, &peer(3), swarm_entry(refused).0);
    assert_eq!(r.status, 500);
    merge(&mut r, &Slot::Whole, &peer(4), json!({"hash": "h"}));
    assert_eq!(r.status, 200, "one entry succeeded");
    merge(&mut r, &Slot::Whole, &peer(5), swarm_entry(PeerReply::TimedOut).0);
    assert_eq!(r.status, 200);
    // The one success replaced by a failure: all failed again.
    merge(&mut r, &Slot::Whole, &peer(4), swarm_entry(PeerReply::TimedOut).0);
    assert_eq!(r.status, 500);

    // An entry node that succeeded, with every peer failing: still 200.
    let (method, p) = method_params(&Sub::Store.request(0));
    let mut ok = run(&identity(1), &mut MemoryStore::new(), false, &method, &p);
    for n in 2..6 {
        merge(&mut ok, &Slot::Whole, &peer(n), swarm_entry(PeerReply::TimedOut).0);
    }
    assert_eq!(ok.status, 200);

    // A response refused outright keeps its status; one without a swarm map is left alone.
    let mut refused = own_failure(401);
    merge(&mut refused, &Slot::Whole, &peer(2), json!({"hash": "h"}));
    assert_eq!(refused.status, 401);
    let mut text = Response { body: Body::Text("no".into()), ..own_failure(500) };
    merge(&mut text, &Slot::Whole, &peer(2), json!({"hash": "h"}));
    assert_eq!(text.body, Body::Text("no".into()));
}

#[test]
fn a_sub_request_gathers_its_peers_answers() {
    let subs = [Sub::Info, Sub::Store, Sub::BadStore, Sub::Store];
    let (p, mut r) = batch("batch", &subs);
    let jobs = fanout("batch", &p, &r);
    let slots: Vec<Slot> = jobs.iter().map(|f| f.slot).collect();
    assert_eq!(slots, [Slot::Sub(1), Slot::Sub(3)]);
    let peer = NodeId::from_identity(&identity(2));
    let before = r.clone();

    // Each forwarded sub-request, run for real by the peer, lands in its own result.
    for job in &jobs {
        let (m, fp) = method_params(&forwarded_request(job));
        let answer = run(&identity(2), &mut MemoryStore::new(), true, &m, &fp);
        let (entry, outcome) = swarm_entry(PeerReply::Answered {
            status: answer.status,
            body: answer.body.to_bytes(),
        });
        assert_eq!(outcome, PeerOutcome::Ok);
        merge(&mut r, &job.slot, &peer, entry);
    }
    let results = json_body(&r)["results"].as_array().unwrap().clone();
    let old = json_body(&before)["results"].as_array().unwrap().clone();
    for (n, (now, was)) in results.iter().zip(&old).enumerate() {
        if n == 1 || n == 3 {
            let swarm = now["body"]["swarm"].as_object().unwrap();
            assert_eq!(swarm.len(), 2);
            assert!(swarm[&peer.to_string()]["hash"].is_string());
            assert_eq!(now["code"], 200);
        } else {
            assert_eq!(now, was, "result {n} untouched");
        }
    }
    assert_eq!(r.status, 200);

    // Out of range, or a result without a swarm map: nothing changes.
    let snapshot = r.clone();
    merge(&mut r, &Slot::Sub(9), &peer, json!({"hash": "x"}));
    merge(&mut r, &Slot::Sub(0), &peer, json!({"hash": "x"}));
    assert_eq!(r, snapshot);
}

#[test]
fn a_sub_request_that_failed_everywhere_is_a_500() {
    let own = hex(&identity(1));
    let mut r = Response {
        status: 200,
        body: Body::Json(json!({"results": [
            {"code": 200, "body": {"swarm": {own.clone(): {"hash": "h"}}}},
            {"code": 500, "body": {"swarm": {own: {"failed": true}}}},
        ]})),
        verification: None,
        token_check: None,
        forward: false,
    };
    let peer = |n| NodeId::from_identity(&identity(n));
    let code = |r: &Response, n: usize| json_body(r)["results"][n]["code"].clone();
    merge(&mut r, &Slot::Sub(1), &peer(2), swarm_entry(PeerReply::TimedOut).0);
    assert_eq!(code(&r, 1), 500);
    merge(&mut r, &Slot::Sub(0), &peer(2), swarm_entry(PeerReply::TimedOut).0);
    assert_eq!(code(&r, 0), 200, "the entry node stored it");
    merge(&mut r, &Slot::Sub(1), &peer(3), json!({"hash": "h"}));
    assert_eq!(code(&r, 1), 200, "a peer stored it");
    assert_eq!(r.status, 200, "the batch itself stays 200");
    assert_eq!(json_body(&r)["results"][1]["body"]["swarm"].as_object().unwrap().len(), 3);
}

#[test]
fn only_recursive_requests_may_be_forwarded() {
    for method in [
        "store",
        "delete",
        "delete_all",
        "delete_before",
        "expire_all",
        "expire",
        "revoke_subaccount",
        "unrevoke_subaccount",
    ] {
        assert_eq!(refuse_forwarded(method), None, "{method}");
    }
    for method in
        ["retrieve", "batch", "sequence", "info", "get_swarm", "get_expiries", "", "STORE"]
    {
        assert_eq!(refuse_forwarded(method), Some(REFUSAL), "{method}");
    }
}
