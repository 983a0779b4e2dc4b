//! Every record of `oxen/storage_rpc.jsonl` (the storage server's handlers on valid and mutated
//! requests) and `oxen/message_hash.jsonl` (see `testdata/vectors/oxen/README-rpc-staking.md`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation)]

use serde_json::Value;
use sesh_identity::{Identity, Seed};
use sesh_rpc::handler::{Body, Context, Node, Solo, handle_params};
use sesh_rpc::store::{MemoryStore, Message, Store};
use sesh_rpc::{AccountId, Namespace, SubaccountToken, message_hash};
use sesh_testkit::{
    Expect, Miss, Tally, expect_eq, field, hex_value, input, input_hex, input_str, records, settle,
    str_field,
};

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn node_identity() -> Identity {
    let seed: [u8; 32] = sesh_identity::hash::blake2b(b"", &[b"oxen-vectors2/rpc/node"]);
    Identity::from_seed(&Seed::from_bytes(seed))
}

fn account_id(value: &Value) -> Result<AccountId, String> {
    let text = value.as_str().ok_or_else(|| format!("not a string: {value}"))?;
    AccountId::load(text).ok_or_else(|| format!("{text:?} is not an account id"))
}

fn i64_value(value: &Value) -> Result<i64, String> {
    value.as_i64().ok_or_else(|| format!("not an integer: {value}"))
}

/// The message store a record starts from. Its messages and tokens are inputs: one the store's
/// types cannot hold is [`Miss::Unparsable`].
fn store_from(record: &Value) -> Result<MemoryStore, Miss> {
    let mut store = MemoryStore::new();
    let Some(db) = record.get("db_before") else { return Ok(store) };
    for m in db.get("messages").and_then(Value::as_array).into_iter().flatten() {
        let msg = Message {
            pubkey: input(m, "pubkey", account_id)?,
            hash: input_str(m, "hash")?.to_owned(),
            namespace: Namespace(input(m, "namespace", |v| {
                i16::try_from(i64_value(v)?).map_err(err)
            })?),
            timestamp: input(m, "timestamp", i64_value)?,
            expiry: input(m, "expiry", i64_value)?,
            data: input_hex(m, "data_hex")?,
            proof: None,
        };
        store.store(msg).map_err(err)?;
    }
    let account = input(record, "account.pubkey", account_id)?;
    let tokens: Vec<SubaccountToken> = db
        .get("revoked")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let bytes = hex_value(t)?;
            let len = bytes.len();
            bytes.try_into().map(SubaccountToken).map_err(|_| format!("{len} bytes, not 36"))
        })
        .collect::<Result<_, String>>()
        .map_err(|why| Miss::Unparsable(format!("db_before.revoked: {why}")))?;
    if !tokens.is_empty() {
        store.revoke(&account, &tokens).map_err(|e| Miss::Unparsable(e.to_string()))?;
    }
    Ok(store)
}

/// One `storage_rpc.jsonl` record: the request through the handlers, against the server's
/// status, body, verified bytes and response signatures.
fn check_storage_rpc(identity: &Identity, r: &Value) -> Result<(), Miss> {
    let mut store = store_from(r)?;
    let hf = input(r, "hf", |v| {
        let parts = v.as_array().ok_or("not a list")?;
        let part = |i: usize| -> Result<u16, String> {
            let n = parts.get(i).and_then(Value::as_u64).ok_or("not two integers")?;
            u16::try_from(n).map_err(err)
        };
        if parts.len() == 2 { Ok([part(0)?, part(1)?]) } else { Err("not two integers".into()) }
    })?;
    let node = Node { identity, hf, swarm: &Solo };
    let ctx = Context {
        now_ms: input(r, "now_ms", i64_value)?,
        forwarded: input_str(r, "transport")? == "omq_forwarded",
    };
    let params = input(r, "params", |v| v.as_object().ok_or_else(|| "not an object".to_owned()))?;
    let method = input_str(r, "method")?;
    let response = handle_params(&node, &mut store, ctx, method, params);

    expect_eq(
        "status",
        u64::from(response.status),
        field(r, "server.status")?.as_u64().ok_or("status")?,
    )?;
    let want_body = field(r, "server.body")?;
    match (&response.body, want_body) {
        (Body::Text(t), Value::String(w)) => expect_eq("body", t, w)?,
        (Body::Json(j), w @ Value::Object(_)) => expect_eq("body", j, w)?,
        (got, want) => return Err(format!("body: got {got:?}, want {want}").into()),
    }
    let want_message = field(r, "server.verified_message_hex")?.as_str().map(str::to_owned);
    let got_message = response.verification.as_ref().map(|v| hex::encode(&v.message));
    expect_eq("verified message", got_message, want_message)?;
    let got_key = response.verification.as_ref().map(|v| hex::encode(v.key));
    expect_eq(
        "verify pubkey",
        got_key,
        field(r, "server.verify_pubkey")?.as_str().map(str::to_owned),
    )?;
    expect_eq(
        "signature valid",
        response.verification.as_ref().map(|v| v.valid),
        field(r, "server.signature_valid")?.as_bool(),
    )?;
    if let Some(want) = r.get("server").and_then(|s| s.get("token_check")) {
        let got = response.token_check.map(|(t, k, ok)| (hex::encode(t), hex::encode(k), ok));
        let want = if want.is_null() {
            None
        } else {
            Some((
                str_field(want, "message_hex")?.to_owned(),
                str_field(want, "pubkey")?.to_owned(),
                field(want, "ok")?.as_bool().ok_or("ok")?,
            ))
        };
        expect_eq("token check", got, want)?;
    }
    for sig in field(r, "response_signatures")?.as_array().ok_or("response_signatures")? {
        let message = hex::decode(str_field(sig, "message_hex")?).map_err(err)?;
        let ours = hex::encode(identity.sign(&message).to_bytes());
        expect_eq("response signature", ours, str_field(sig, "signature_hex")?.to_owned())?;
    }
    Ok(())
}

/// A record whose status is an error (4xx) expects the server to refuse the request; an input
/// the handlers' types cannot hold is then that refusal.
fn expectation(r: &Value) -> Result<Expect, String> {
    let status = field(r, "server.status")?.as_u64().ok_or("server.status is not an integer")?;
    Ok(if status >= 400 { Expect::Refusal } else { Expect::Value })
}

fn check_record(identity: &Identity, r: &Value) -> Result<(), String> {
    settle(expectation(r)?, check_storage_rpc(identity, r))
}

#[test]
fn storage_rpc() {
    let identity = node_identity();
    assert_eq!(
        hex::encode(identity.ed25519_public_key().to_bytes()),
        "69a2fad4df78be3010a6473c17c60987c0945cf48f07e2155ff6ff538f99d452"
    );
    let mut tally = Tally::new("storage_rpc.jsonl");
    for record in records("oxen/storage_rpc.jsonl") {
        tally.check(&record, |r| check_record(&identity, r));
    }
    tally.finish();
}

/// A record whose input the handlers' types cannot hold (here `now_ms` beyond an i64) passes
/// where it expects an error status, and fails where it expects success.
#[test]
fn storage_rpc_unparsable_inputs() {
    let identity = node_identity();
    let record = |status: u64| {
        serde_json::json!({
            "method": "retrieve",
            "transport": "http",
            "now_ms": u64::MAX,
            "hf": [19, 4],
            "params": {},
            "server": { "status": status, "body": "invalid request" },
            "response_signatures": [],
        })
    };
    check_record(&identity, &record(400)).unwrap();
    let why = check_record(&identity, &record(200)).unwrap_err();
    assert!(why.contains("cannot be parsed"), "{why}");
}

/// Regenerates `keystream(label, n)`: BLAKE2b-512(label ‖ "/0") ‖ BLAKE2b-512(label ‖ "/1") ‖ …
fn keystream(label: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0;
    while out.len() < n {
        let block: [u8; 64] =
            sesh_identity::hash::blake2b(b"", &[label.as_bytes(), format!("/{i}").as_bytes()]);
        out.extend_from_slice(&block);
        i += 1;
    }
    out.truncate(n);
    out
}

#[test]
fn message_hashes() {
    let mut tally = Tally::new("message_hash.jsonl");
    for record in records("oxen/message_hash.jsonl") {
        tally.check(&record, |r| {
            let pubkey = AccountId::load(str_field(r, "pubkey")?).ok_or("bad pubkey")?;
            let namespace = Namespace(
                i16::try_from(field(r, "namespace")?.as_i64().ok_or("namespace")?).map_err(err)?,
            );
            let len =
                usize::try_from(field(r, "data_len")?.as_u64().ok_or("data_len")?).map_err(err)?;
            let data = match r.get("data_hex").and_then(Value::as_str) {
                Some(h) => hex::decode(h).map_err(err)?,
                None => keystream(str_field(r, "data_label")?, len),
            };
            expect_eq("data length", data.len(), len)?;
            expect_eq(
                "namespace bytes",
                hex::encode(namespace.signature_part()),
                str_field(r, "namespace_bytes_hex")?.to_owned(),
            )?;
            expect_eq(
                "hash",
                message_hash(&pubkey, namespace, &data),
                str_field(r, "hash")?.to_owned(),
            )
        });
    }
    tally.finish();
}
