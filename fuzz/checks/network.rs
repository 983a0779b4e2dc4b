// The checks behind the sesh-network fuzz targets. Included (not compiled on its own) by
// `fuzz_targets/network_*.rs` and by `crates/sesh-network/tests/fuzz_corpus.rs`, which replays
// the committed corpus through the same code on stable Rust.

use std::sync::LazyLock;

use serde_json::Value;
use sesh_identity::{Identity, NodeId, Seed};
use sesh_network::auth::{self, SignatureHeaders};
use sesh_network::{Error, NetworkState, STATE_PATH};

/// The receiver's clock in the signature checks (the corpus is signed at this time).
const NOW_MS: i64 = 1_700_000_000_000;

/// The authority whose states the receiver trusts (the corpus signs with it, and with others).
static AUTHORITY: LazyLock<Identity> =
    LazyLock::new(|| Identity::from_seed(&Seed::from_bytes([5; 32])));

/// The network state's JSON (`from_json`, `from_value`): never a panic; the two agree; what
/// parses re-encodes with `to_json` to a state that parses back equal (and re-encodes to the
/// same JSON); every swarm member is a listed node; the lookups answer.
pub fn network_state(data: &[u8]) {
    let parsed = NetworkState::from_json(data);
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        assert_eq!(NetworkState::from_value(&value), parsed);
    } else {
        assert!(matches!(parsed, Err(Error::NotJson(_))), "{parsed:?}");
    }
    let Ok(state) = parsed else { return };
    let json = state.to_json();
    assert_eq!(NetworkState::from_value(&json).as_ref(), Ok(&state));
    let again = NetworkState::from_json(json.to_string().as_bytes()).expect("to_json parses");
    assert_eq!(again, state);
    assert_eq!(again.to_json(), json);
    for (swarm, members) in state.map().iter() {
        assert!(!members.is_empty());
        assert_eq!(state.members(swarm).len(), members.len(), "a member without a record");
        assert!(members.iter().all(|m| state.swarm_of(m) == Some(swarm)));
        let _ = state.swarm_json(Some(swarm));
    }
    for node in state.nodes() {
        assert_eq!(state.node(&node.id), Some(node));
        let _ = node.url("/storage_rpc/v1");
        let _ = node.swarm_entry();
    }
    let mut account = [0u8; 33];
    for (i, b) in data.iter().take(33).enumerate() {
        account[i] = *b;
    }
    let owner = state.swarm_for(&account);
    assert_eq!(owner.is_some(), state.map().swarm_count() > 0);
    assert_eq!(state.members_for(&account).len(), owner.map_or(0, |s| state.members(s).len()));
}

/// The signature headers and body of a node-to-node request or a published state, as
/// `node \n timestamp \n signature \n body` (a header is missing when its line is; the body is
/// everything after the third newline), checked at `NOW_MS` by `auth::verify` and
/// `NetworkState::from_signed` against `AUTHORITY`: never a panic; a signature verifies for one
/// path only and names the node of its header; `from_signed` accepts exactly what the authority
/// signed and parses; and signing the body verifies, but not for a changed body.
pub fn network_auth(data: &[u8]) {
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let mut header = || parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let (node, timestamp, signature) = (header(), header(), header());
    let body = parts.next().unwrap_or_default();
    let headers = SignatureHeaders { node, timestamp, signature, mac: None };
    let authority = NodeId::from_identity(&AUTHORITY);

    let verified = auth::verify(&headers, STATE_PATH, NOW_MS, body);
    if let Ok(signer) = &verified {
        assert_eq!(node.map(str::parse::<NodeId>), Some(Ok(*signer)));
        let ts: i64 = timestamp.and_then(|t| t.parse().ok()).expect("a verified timestamp");
        assert!(ts.abs_diff(NOW_MS) <= auth::TOLERANCE_MS.unsigned_abs());
        assert_eq!(
            auth::verify(&headers, "/swarm/v1/push", NOW_MS, body),
            Err(Error::BadSignature),
            "a signature for one path verified for another"
        );
    }
    let state = NetworkState::from_signed(body, &headers, &authority, NOW_MS);
    match (&verified, &state) {
        (Ok(signer), Ok(state)) => {
            assert_eq!(*signer, authority);
            assert_eq!(NetworkState::from_json(body).as_ref(), Ok(state));
        }
        (Ok(signer), Err(Error::WrongSigner { signer: named, expected })) => {
            assert_ne!(*signer, authority);
            assert_eq!((named, expected), (signer, &authority));
        }
        (Ok(_), Err(error)) => {
            assert_eq!(NetworkState::from_json(body).err().as_ref(), Some(error))
        }
        (Err(error), result) => assert_eq!(result.as_ref().err(), Some(error)),
    }

    let signed = auth::sign(&AUTHORITY, STATE_PATH, NOW_MS, body);
    let value = |name: &str| signed.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
    let own = SignatureHeaders::from_lookup(value);
    assert_eq!(auth::verify(&own, STATE_PATH, NOW_MS, body), Ok(authority));
    let mut changed = body.to_vec();
    changed.push(b' ');
    assert_eq!(auth::verify(&own, STATE_PATH, NOW_MS, &changed), Err(Error::BadSignature));
}

/// Both ends of one stream between two fixed nodes, with fixed nonces.
fn stream_pair() -> (sesh_network::stream::Session, sesh_network::stream::Session) {
    use rand_core::SeedableRng as _;
    use sesh_network::link::Links;
    use sesh_network::stream::{self, NONCE_HEADER};
    let (a, b) = (
        Identity::from_seed(&Seed::from_bytes([1; 32])),
        Identity::from_seed(&Seed::from_bytes([2; 32])),
    );
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let (at_a, at_b) = (Links::new(&a, 2), Links::new(&b, 2));
    let (opening, headers) =
        stream::open(&at_a, &NodeId::from_identity(&b), NOW_MS, &mut rng).expect("a node key");
    let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
    let (_, acceptor, nonce) = stream::accept(
        &at_b,
        &SignatureHeaders::from_lookup(lookup),
        lookup(NONCE_HEADER),
        NOW_MS,
        &mut rng,
    )
    .expect("its own opening");
    (opening.accepted(Some(&nonce)).expect("a nonce"), acceptor)
}

/// A node-to-node stream's frames (`sesh_network::stream`): the input read as received bytes
/// is never a panic and never a frame (no MAC under the stream's key); and a request and an
/// answer made of it (the first byte the path's length and the answer's id, the path as lossy
/// UTF-8 cut to 255 bytes, the rest the body) are read back whole and equal, at once or after
/// every shorter prefix was found incomplete.
pub fn network_stream(data: &[u8]) {
    use sesh_network::stream::Frame;
    let (mut opener, mut acceptor) = stream_pair();
    assert!(!matches!(acceptor.receiving.read(data), Ok(Some(_))), "an unkeyed frame was read");

    let (&n, rest) = data.split_first().unwrap_or((&0, &[]));
    let (path, body) = rest.split_at(usize::from(n).min(rest.len()));
    let mut path = String::from_utf8_lossy(path).into_owned();
    while path.len() > 255 {
        path.pop();
    }
    let mut wire = Vec::new();
    opener.sending.request(9, &path, body, &mut wire).expect("a frame under the limit");
    let (frame, used) = acceptor.receiving.read(&wire).expect("its own frame").expect("whole");
    assert_eq!(used, wire.len());
    assert_eq!(frame, Frame::Request { id: 9, path, body: body.to_vec() });

    let mut wire = Vec::new();
    acceptor.sending.answer(u64::from(n), 503, body, &mut wire).expect("under the limit");
    for end in 0..wire.len() {
        assert_eq!(opener.receiving.read(&wire[..end]), Ok(None));
    }
    let answer = Frame::Answer { id: u64::from(n), status: 503, body: body.to_vec() };
    assert_eq!(opener.receiving.read(&wire), Ok(Some((answer, wire.len()))));
}
