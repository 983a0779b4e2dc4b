//! Every parse failure is the `Error` variant that names the field and the rule, its `Display`
//! the live server's exact text, and the handler answers it as the server does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Map, Value, json};
use sesh_identity::{Identity, Seed};
use sesh_rpc::Error;
use sesh_rpc::handler::{Body, Context, Node, Solo, handle_body, handle_params, parse_body};
use sesh_rpc::request::parse;
use sesh_rpc::store::MemoryStore;

const NOW: i64 = 1_735_689_600_000;

fn pk() -> String {
    format!("05{}", "11".repeat(32))
}

fn sig() -> String {
    "A".repeat(86)
}

fn token() -> String {
    "00".repeat(36)
}

fn hash() -> String {
    "B".repeat(43)
}

/// `(method, params, the error, the server's text after "invalid request: ")`.
fn cases() -> Vec<(&'static str, Value, Error, &'static str)> {
    let (pk, sig, t) = (pk(), sig(), NOW);
    let signed = json!({"pubkey": pk, "signature": sig});
    let with = |extra: Value| {
        let mut v = signed.clone();
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let subrequest = |method: &str| json!({"method": method, "params": {}});
    vec![
        (
            "store",
            json!({"data": 1}),
            Error::WrongType { field: "data", expected: "string" },
            "Invalid value given for 'data': expected string",
        ),
        (
            "retrieve",
            json!({"pubkey": pk, "max_count": "x"}),
            Error::WrongType { field: "max_count", expected: "integer" },
            "Invalid value given for 'max_count': expected integer",
        ),
        (
            "delete",
            json!({"required": 1}),
            Error::WrongType { field: "required", expected: "boolean" },
            "Invalid value given for 'required': expected boolean",
        ),
        (
            "retrieve",
            json!({"namespace": "x"}),
            Error::WrongType { field: "namespace", expected: "16-bit integer" },
            "Invalid value given for 'namespace': expected 16-bit integer",
        ),
        (
            "retrieve",
            json!({"namespace": 40000}),
            Error::OutOfRange { field: "namespace" },
            "Invalid value given for 'namespace': value out of range",
        ),
        (
            "delete_all",
            json!({"namespace": "some"}),
            Error::WrongType { field: "namespace", expected: "integer or \"all\"" },
            "Invalid value given for 'namespace': expected integer or \"all\"",
        ),
        (
            "delete_all",
            json!({"namespace": true}),
            Error::WrongType { field: "namespace", expected: "integer or \"all\"" },
            "Invalid value given for 'namespace': expected integer or \"all\"",
        ),
        (
            "delete_all",
            json!({"namespace": -99999}),
            Error::OutOfRange { field: "namespace" },
            "Invalid value given for 'namespace': value out of range",
        ),
        (
            "delete",
            json!({"messages": 5}),
            Error::WrongType { field: "messages", expected: "string array" },
            "Invalid value given for 'messages': expected string array",
        ),
        (
            "delete",
            json!({"messages": [1]}),
            Error::WrongType { field: "messages", expected: "string array" },
            "Invalid value given for 'messages': expected string array",
        ),
        (
            "expire",
            json!({"expiry": "x"}),
            Error::WrongType { field: "expiry", expected: "timestamp array" },
            "Invalid value given for 'expiry': expected timestamp array",
        ),
        (
            "expire",
            json!({"expiry": [-1]}),
            Error::WrongType { field: "expiry", expected: "timestamp array" },
            "Invalid value given for 'expiry': expected timestamp array",
        ),
        (
            "store",
            json!({"ttl": -1}),
            Error::WrongType { field: "ttl", expected: "positive integer" },
            "Invalid value given for 'ttl': expected positive integer",
        ),
        (
            "store",
            json!({"ttl": "abc"}),
            Error::NotAnInteger { field: "ttl", value: "abc".into() },
            "Invalid value given for 'ttl': \"abc\"",
        ),
        (
            "store",
            json!({"timestamp": "a\"b\\"}),
            Error::NotAnInteger { field: "timestamp", value: "a\"b\\".into() },
            "Invalid value given for 'timestamp': \"a\\\"b\\\\\"",
        ),
        (
            "store",
            json!({"expiry": 5}),
            Error::TimestampNotMilliseconds { field: "expiry", value: 5 },
            "Invalid timestamp for 'expiry': timestamp must be in milliseconds",
        ),
        (
            "store",
            json!({"expiry": "x"}),
            Error::WrongType { field: "expiry", expected: "integer timestamp (in milliseconds)" },
            "Invalid value given for 'expiry': expected integer timestamp (in milliseconds)",
        ),
        (
            "store",
            json!({}),
            Error::MissingField { field: "timestamp" },
            "Required field 'timestamp' missing",
        ),
        (
            "store",
            json!({"timestamp": t, "expiry": t, "ttl": 1}),
            Error::BothGiven { field: "expiry", other: "ttl" },
            "Cannot specify both 'expiry' and 'ttl'",
        ),
        (
            "store",
            json!({"timestamp": t}),
            Error::MissingExpiryOrTtl,
            "Required field 'expiry' or 'ttl' missing",
        ),
        (
            "store",
            json!({"timestamp": t, "ttl": 1, "pubkey": pk, "pubKey": pk}),
            Error::BothGiven { field: "pubkey", other: "pubKey" },
            "Cannot specify both 'pubkey' and 'pubKey'",
        ),
        (
            "store",
            json!({"timestamp": t, "ttl": 1}),
            Error::MissingField { field: "pubkey" },
            "Required field 'pubkey' missing",
        ),
        (
            "store",
            json!({"timestamp": t, "ttl": 1, "pubkey": "05ab"}),
            Error::BadPubkey,
            "Pubkey must be 66 hex digits (33 bytes) long",
        ),
        (
            "get_swarm",
            json!({"pubkey": "05ab"}),
            Error::BadSwarmPubkey,
            "Pubkey must be 66 hex digits/33 bytes long",
        ),
        (
            "get_swarm",
            json!({"pubkey": pk, "pubKey": pk}),
            Error::BothGiven { field: "pubkey", other: "pubKey" },
            "Cannot specify both 'pubkey' and 'pubKey'",
        ),
        (
            "get_swarm",
            json!({}),
            Error::MissingField { field: "pubkey" },
            "Required field 'pubkey' missing",
        ),
        (
            "store",
            json!({"timestamp": t, "ttl": 1, "pubkey": pk}),
            Error::MissingField { field: "data" },
            "Required field 'data' missing",
        ),
        (
            "store",
            json!({"timestamp": t, "ttl": 1, "pubkey": pk, "data": "!!!!"}),
            Error::DataNotBase64,
            "Invalid 'data' value: not base64 encoded",
        ),
        (
            "store",
            json!({"timestamp": t, "ttl": 1, "pubkey": pk, "data": "A".repeat(102_404)}),
            Error::DataTooLong { encoded_length: 102_404 },
            "Message body exceeds maximum allowed length of 76800 bytes",
        ),
        (
            "delete",
            json!({"pubkey": pk}),
            Error::MissingField { field: "signature" },
            "Required field 'signature' missing",
        ),
        (
            "delete",
            json!({"pubkey": format!("03{}", "11".repeat(32)), "signature": sig, "pubkey_ed25519": "x"}),
            Error::Ed25519KeyNotPermitted { prefix: 3 },
            "pubkey_ed25519 is only permitted for 05[...] pubkeys",
        ),
        (
            "delete",
            with(json!({"pubkey_ed25519": "z".repeat(64)})),
            Error::Ed25519KeyNotHex,
            "invalid pubkey_ed25519: value is not hex",
        ),
        (
            "delete",
            with(json!({"pubkey_ed25519": "abc"})),
            Error::Ed25519KeyLength { length: 3 },
            "Invalid pubkey_ed25519: expected 64 hex char or 32 byte pubkey",
        ),
        (
            "delete",
            json!({"pubkey": pk, "signature": "!!"}),
            Error::BadSignatureEncoding { what: "signature" },
            "invalid signature: expected base64 encoded Ed25519 signature",
        ),
        (
            "delete",
            json!({"pubkey": pk, "signature": format!("{}==", "A".repeat(85))}),
            Error::BadSignatureEncoding { what: "signature" },
            "invalid signature: expected base64 encoded Ed25519 signature",
        ),
        (
            "delete",
            with(json!({"subaccount": "x"})),
            Error::MissingSubaccountSignature,
            "invalid subaccount: subaccount_sig is required when using subaccount",
        ),
        (
            "delete",
            with(json!({"subaccount": "x", "subaccount_sig": sig})),
            Error::BadSubaccountToken,
            "invalid subaccount: expected base64 or hex-encoded subaccount token",
        ),
        (
            "delete",
            with(json!({"subaccount": token(), "subaccount_sig": "!!"})),
            Error::BadSignatureEncoding { what: "subaccount signature" },
            "invalid subaccount signature: expected base64 encoded Ed25519 signature",
        ),
        (
            "delete",
            signed.clone(),
            Error::MissingField { field: "messages" },
            "Required field 'messages' missing",
        ),
        (
            "delete",
            with(json!({"messages": []})),
            Error::NoMessages,
            "messages does not contain any message hashes",
        ),
        (
            "delete",
            with(json!({"messages": ["x"]})),
            Error::BadMessageHash { hash: "x".into() },
            "invalid message hash: x",
        ),
        (
            "retrieve",
            json!({"pubkey": pk, "last_hash": "a", "lastHash": "b"}),
            Error::BothGiven { field: "last_hash", other: "lastHash" },
            "Cannot specify both 'last_hash' and 'lastHash'",
        ),
        (
            "retrieve",
            json!({"pubkey": pk, "last_hash": "x"}),
            Error::LastHashLength { length: 1 },
            "Invalid last_hash: expected base64 (43 chars)",
        ),
        (
            "retrieve",
            json!({"pubkey": pk, "last_hash": "!".repeat(43)}),
            Error::LastHashNotBase64,
            "Invalid last_hash: not base64",
        ),
        (
            "retrieve",
            signed.clone(),
            Error::MissingField { field: "timestamp" },
            "Required field 'timestamp' missing",
        ),
        (
            "delete_all",
            signed.clone(),
            Error::MissingField { field: "timestamp" },
            "Required field 'timestamp' missing",
        ),
        (
            "delete_before",
            signed.clone(),
            Error::MissingField { field: "before" },
            "Required field 'before' missing",
        ),
        (
            "expire_all",
            signed.clone(),
            Error::MissingField { field: "expiry" },
            "Required field 'expiry' missing",
        ),
        (
            "expire",
            signed.clone(),
            Error::MissingField { field: "expiry" },
            "Required field 'expiry' missing",
        ),
        (
            "expire",
            with(json!({"expiry": []})),
            Error::NoExpiries,
            "'expiry' does not contain any expiration timestamps",
        ),
        (
            "expire",
            with(json!({"expiry": [t], "shorten": true, "extend": true})),
            Error::ShortenAndExtend,
            "cannot specify both 'shorten' and 'extend'",
        ),
        (
            "expire",
            with(json!({"expiry": [t]})),
            Error::MissingField { field: "messages" },
            "Required field 'messages' missing",
        ),
        (
            "expire",
            with(json!({"expiry": [t, t], "messages": [hash()]})),
            Error::ExpiryCountMismatch { expiries: 2, messages: 1 },
            "'expiry' must be a single expiry, or the same length as 'messages'",
        ),
        (
            "get_expiries",
            signed.clone(),
            Error::MissingField { field: "timestamp" },
            "Required field 'timestamp' missing",
        ),
        (
            "get_expiries",
            with(json!({"timestamp": t, "messages": []})),
            Error::NoMessages,
            "messages does not contain any message hashes",
        ),
        (
            "revoke_subaccount",
            signed.clone(),
            Error::MissingField { field: "revoke" },
            "Required field 'revoke' missing",
        ),
        (
            "revoke_subaccount",
            with(json!({"revoke": vec![token(); 51]})),
            Error::TooManyTokens { count: 51 },
            "invalid revoke: cannot revoke more than 50 subaccounts at once",
        ),
        (
            "revoke_subaccount",
            with(json!({"revoke": ["x"]})),
            Error::BadRevokeTag { field: "revoke", index: 0 },
            "invalid revoke: expected base64 or hex-encoded subaccount tag",
        ),
        (
            "unrevoke_subaccount",
            with(json!({"timestamp": t})),
            Error::MissingField { field: "unrevoke" },
            "Required field 'unrevoke' missing",
        ),
        (
            "unrevoke_subaccount",
            with(json!({"timestamp": t, "unrevoke": ["x"]})),
            Error::BadRevokeTag { field: "unrevoke", index: 0 },
            "invalid unrevoke: expected base64 or hex-encoded subaccount tag",
        ),
        (
            "batch",
            json!({}),
            Error::BatchNoRequests,
            "Invalid batch request: no valid \"requests\" field",
        ),
        (
            "sequence",
            json!({"requests": []}),
            Error::BatchNoRequests,
            "Invalid batch request: no valid \"requests\" field",
        ),
        (
            "batch",
            json!({"requests": vec![subrequest("info"); 21]}),
            Error::BatchTooLarge { count: 21 },
            "Invalid batch request: subrequest limit exceeded",
        ),
        (
            "batch",
            json!({"requests": [1]}),
            Error::BatchRequestNotObject { index: 0 },
            "Invalid batch request: requests must be objects",
        ),
        (
            "batch",
            json!({"requests": [{"method": "info"}]}),
            Error::BatchRequestMalformed { index: 0 },
            "Invalid batch request: subrequests must have method/params keys",
        ),
        (
            "batch",
            json!({"requests": [subrequest("nope")]}),
            Error::BatchUnknownMethod { index: 0, method: "nope".into() },
            "Invalid batch subrequest: invalid method \"nope\"",
        ),
        (
            "sequence",
            json!({"requests": [subrequest("sequence")]}),
            Error::BatchNested { index: 0 },
            "Invalid batch subrequest: subrequests may not contain meta-requests",
        ),
        (
            "batch",
            json!({"requests": [subrequest("store")]}),
            Error::Subrequest {
                index: 0,
                error: Box::new(Error::MissingField { field: "timestamp" }),
            },
            "Required field 'timestamp' missing",
        ),
    ]
}

fn answer(method: &str, params: &Map<String, Value>) -> (u16, String) {
    let key = Identity::from_seed(&Seed::from_bytes([3; 32]));
    let node = Node { identity: &key, hf: [19, 4], swarm: &Solo };
    let ctx = Context { now_ms: NOW, forwarded: false };
    let r = handle_params(&node, &mut MemoryStore::new(), ctx, method, params);
    let Body::Text(text) = r.body else { panic!("{method} {params:?}: {r:?}") };
    (r.status, text)
}

#[test]
fn parse_failures_are_typed_with_the_servers_texts() {
    for (method, params, error, text) in cases() {
        let params = params.as_object().unwrap();
        let got = parse(method, params).unwrap_err();
        assert_eq!(got, error, "{method} {params:?}");
        assert_eq!(got.to_string(), text, "{method} {params:?}");
        let answer_text = format!("invalid request: {text}");
        assert_eq!(got.response_text(), answer_text);
        assert_eq!(answer(method, params), (400, answer_text), "{method} {params:?}");
    }
}

#[test]
fn unknown_methods_answer_no_method() {
    for method in ["nope", "ifelse", "get_service_nodes", "get_n_service_nodes", ""] {
        let error = parse(method, &Map::new()).unwrap_err();
        assert_eq!(error, Error::UnknownMethod { method: method.into() });
        assert_eq!(error.to_string(), format!("no method {method}"));
        assert_eq!(error.response_text(), error.to_string());
        assert_eq!(answer(method, &Map::new()), (400, format!("no method {method}")));
    }
}

/// `oxend_request`: the storage server's endpoint list and texts; a node without an oxend (the
/// handler's `Solo`) answers as the live server does when oxend does not.
#[test]
fn oxend_request_is_checked_and_passed_on() {
    let with = |endpoint: Value| {
        let mut p = Map::new();
        p.insert("endpoint".into(), endpoint);
        p
    };
    assert_eq!(
        parse("oxend_request", &Map::new()).unwrap_err().response_text(),
        "invalid request: Required field 'endpoint' missing"
    );
    assert_eq!(
        parse("oxend_request", &with(json!(5))).unwrap_err().response_text(),
        "invalid request: Invalid value given for 'endpoint': expected string"
    );
    assert_eq!(
        parse("oxend_request", &with(json!("get_n_service_nodes"))).unwrap_err().response_text(),
        "invalid request: Invalid oxend endpoint 'get_n_service_nodes'"
    );
    for endpoint in ["get_service_nodes", "ons_resolve"] {
        assert!(parse("oxend_request", &with(json!(endpoint))).is_ok());
        assert_eq!(
            answer("oxend_request", &with(json!(endpoint))),
            (400, "Unknown oxend error".into())
        );
    }
}

#[test]
fn errors_are_std_errors() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    is_error(&Error::InvalidJson);
    let boxed: Box<dyn std::error::Error> = Box::new(Error::NoMessages);
    assert_eq!(boxed.to_string(), "messages does not contain any message hashes");
}

#[test]
fn body_failures_answer_the_servers_texts() {
    let key = Identity::from_seed(&Seed::from_bytes([3; 32]));
    let node = Node { identity: &key, hf: [19, 4], swarm: &Solo };
    let ctx = Context { now_ms: NOW, forwarded: false };
    let json = Some(Error::InvalidJson);
    let method = Some(Error::NoMethodField);
    let params = Some(Error::NoParamsField);
    for (body, error, text) in [
        (&b"not json"[..], json.clone(), "invalid json"),
        (b"", json, "invalid json"),
        (b"[1]", method.clone(), "invalid json: no `method` field"),
        (b"{\"params\": {}}", method.clone(), "invalid json: no `method` field"),
        (b"{\"method\": 1, \"params\": {}}", method, "invalid json: no `method` field"),
        (b"{\"method\": \"info\"}", params.clone(), "invalid json: no `params` field"),
        (b"{\"method\": \"info\", \"params\": []}", params, "invalid json: no `params` field"),
        // Split fine; refused by `parse`.
        (b"{\"method\": \"nope\", \"params\": {}}", None, "no method nope"),
        (
            b"{\"method\": \"store\", \"params\": {}}",
            None,
            "invalid request: Required field 'timestamp' missing",
        ),
    ] {
        let shown = String::from_utf8_lossy(body);
        match (parse_body(body), error) {
            (Err(got), Some(want)) => {
                assert_eq!(got, want, "{shown}");
                assert_eq!(got.to_string(), text);
                assert_eq!(got.response_text(), text);
            }
            (Ok(_), None) => {}
            (got, want) => panic!("{shown}: {got:?}, want {want:?}"),
        }
        let r = handle_body(&node, &mut MemoryStore::new(), ctx, body);
        assert_eq!((r.status, r.body), (400, Body::Text(text.into())), "{shown}");
    }
}
