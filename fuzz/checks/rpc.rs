// The checks behind the sesh-rpc fuzz target. Included (not compiled on its own) by
// `fuzz_targets/rpc_request.rs` and by `crates/sesh-rpc/tests/fuzz_corpus.rs`.

use sesh_identity::{Identity, Seed};
use sesh_rpc::handler::{Body, Context, Node, Solo, handle_body, parse_body};
use sesh_rpc::request::parse;
use sesh_rpc::store::MemoryStore;

/// Any bytes as a `POST /storage_rpc/v1` body: an answer with a status, never a panic; a
/// rejected request stores nothing; a body or params refused by parsing is answered `400` with
/// exactly the typed error's text.
pub fn rpc_request(data: &[u8]) {
    let key = Identity::from_seed(&Seed::from_bytes([3; 32]));
    let node = Node { identity: &key, hf: [19, 4], swarm: &Solo };
    let mut store = MemoryStore::new();
    let response = handle_body(&node, &mut store, Context { now_ms: 1_735_689_600_000, forwarded: false }, data);
    assert!((200..600).contains(&response.status));
    if response.status >= 300 {
        assert!(store.messages().is_empty());
        assert!(matches!(response.body, Body::Text(_) | Body::Json(_)));
    }
    let refused = parse_body(data).and_then(|(method, params)| parse(&method, &params));
    if let Err(error) = refused {
        assert_eq!(response.status, 400);
        assert_eq!(response.body, Body::Text(error.response_text()));
        assert!(error.response_text().ends_with(&error.to_string()));
    }
}
