//! Cross-implementation vectors from libsession-util (see `testdata/vectors/libsession/README.md`):
//! every record of `hop.jsonl` and `onion.jsonl`, and the `hop` and `onion` records of
//! `negative.jsonl`.

// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use serde_json::Value;
use sesh_identity::{Ed25519PublicKey, X25519PublicKey, X25519SecretKey};
use sesh_onion::hop::{HopKey, Role};
use sesh_onion::node::{self, Action, Layer, NodeKeys};
use sesh_onion::{Destination, EncType, Hop, Server, build, payload};
use sesh_testkit::{
    Expect, Miss, ReplayRng, Tally, expect_eq, field, hex_array, hex_field, input_hex,
    input_hex_array, input_str, judge, records, str_field,
};

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn keypair(v: &Value, sk: &str, pk: &str) -> Result<(X25519SecretKey, X25519PublicKey), String> {
    let secret = X25519SecretKey::from_bytes(hex_array(v, sk)?);
    let public = X25519PublicKey::from_bytes(hex_array(v, pk)?);
    expect_eq(pk, secret.public_key(), public)?;
    Ok((secret, public))
}

#[test]
fn hop() {
    let mut tally = Tally::new("hop.jsonl");
    for record in records("libsession/hop.jsonl") {
        tally.check(&record, |r| {
            let enc = EncType::parse(str_field(r, "enc_type")?).map_err(err)?;
            let (client, client_pub) = keypair(r, "client_x25519_sk", "client_x25519_pk")?;
            let (node, node_pub) = keypair(r, "node_x25519_sk", "node_x25519_pk")?;
            let at_client =
                HopKey::derive(enc, &client, &client_pub, &node_pub, Role::Client).map_err(err)?;
            let at_node =
                HopKey::derive(enc, &node, &node_pub, &client_pub, Role::Server).map_err(err)?;
            let key: [u8; 32] = hex_array(r, "symmetric_key")?;
            expect_eq("client key", *at_client.as_bytes(), key)?;
            expect_eq("node key", *at_node.as_bytes(), key)?;

            let plaintext = hex_field(r, "plaintext_hex")?;
            let (sender, receiver) = match str_field(r, "direction")? {
                "client_to_node" => (&at_client, &at_node),
                "node_to_client" => (&at_node, &at_client),
                other => return Err(format!("unknown direction {other:?}")),
            };
            let mut rng = ReplayRng::from_record(r, "rng_draws")?;
            let ciphertext = sender.encrypt(&plaintext, &mut rng).map_err(err)?;
            rng.finish()?;
            let want = hex_field(r, "ciphertext_hex")?;
            expect_eq("ciphertext", hex::encode(&ciphertext), hex::encode(&want))?;
            expect_eq("decrypted", receiver.decrypt(&want).map_err(err)?, plaintext)?;
            Ok(())
        });
    }
    tally.finish();
}

struct NodeRecord {
    hop: Hop,
    secret: X25519SecretKey,
    public: X25519PublicKey,
}

fn node_record(v: &Value) -> Result<NodeRecord, String> {
    let (secret, public) = keypair(v, "x25519_sk", "x25519_pk")?;
    let ed = Ed25519PublicKey::from_bytes(&hex_array(v, "ed25519_pk")?).map_err(err)?;
    let hop = Hop::from_ed25519(ed).map_err(err)?;
    expect_eq("x25519 from ed25519", hop.x25519, public)?;
    Ok(NodeRecord { hop, secret, public })
}

fn check_onion(r: &Value) -> Result<(), String> {
    // Randomness for the peeler's own answers, which the vectors do not cover.
    let mut scratch = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(0);
    let enc = EncType::parse(str_field(r, "enc_type")?).map_err(err)?;
    let hops: Vec<NodeRecord> = field(r, "hops")?
        .as_array()
        .ok_or("hops is not a list")?
        .iter()
        .map(node_record)
        .collect::<Result<_, _>>()?;
    let dest = field(r, "destination")?;
    let kind = str_field(r, "destination_type")?;
    let (dest_secret, dest_public) = keypair(dest, "x25519_sk", "x25519_pk")?;
    let destination = match kind {
        "snode" => Destination::Node(node_record(dest)?.hop),
        "server" => Destination::Server({
            let mut server = Server::https_v4(str_field(dest, "host")?, dest_public);
            server.target = str_field(dest, "target")?.to_owned();
            server.protocol = str_field(dest, "protocol")?.to_owned();
            server.port = match field(dest, "port")? {
                Value::Null => None,
                port => Some(port.as_u64().and_then(|p| u16::try_from(p).ok()).ok_or("bad port")?),
            };
            server
        }),
        other => return Err(format!("unknown destination type {other:?}")),
    };
    let payload = hex_field(r, "payload_hex")?;
    let with_nul = field(r, "payload_contains_nul")?.as_bool().ok_or("payload_contains_nul")?;

    // Build, replaying libsession-util's random draws.
    let path: Vec<Hop> = hops.iter().map(|h| h.hop).collect();
    let mut rng = ReplayRng::from_record(r, "rng_draws")?;
    let request = build(&path, &destination, &payload, enc, &mut rng).map_err(err)?;
    rng.finish()?;
    let want = hex_field(r, "onion_request_hex")?;
    let truncated = kind == "server" && with_nul;
    if truncated {
        // libsession-util cuts a server payload at its first 0 byte; this builder does not (a
        // documented decision), so the bytes differ, and only from the destination layer on.
        if request.bytes == want {
            return Err("a server payload with a 0 byte was cut, as libsession-util cuts it".into());
        }
    } else {
        expect_eq("onion request", hex::encode(&request.bytes), hex::encode(&want))?;
    }
    expect_eq(
        "final key",
        *request.reply.final_public_key(),
        X25519PublicKey::from_bytes(hex_array(r, "final_hop_x25519_pk")?),
    )?;
    expect_eq(
        "final secret",
        *request.reply.final_secret_key().as_bytes(),
        hex_array(r, "final_hop_x25519_sk")?,
    )?;

    // Peel libsession-util's request, layer by layer, with each node's keys.
    let layers = field(r, "layers")?.as_array().ok_or("layers is not a list")?;
    expect_eq("layer count", layers.len(), hops.len())?;
    let mut next_ciphertext: Option<Vec<u8>> = None;
    for (h, (layer_record, node)) in layers.iter().zip(&hops).enumerate() {
        let keys = NodeKeys { secret: &node.secret, public: &node.public };
        let incoming = hex_field(layer_record, "request_hex")?;
        let layer = Layer::from_client(&incoming).map_err(err)?;
        if let Some(expected) = next_ciphertext.take() {
            expect_eq("relayed ciphertext", &layer.ciphertext, &expected)?;
        }
        expect_eq(
            "ephemeral key",
            layer.ephemeral_key,
            X25519PublicKey::from_bytes(hex_array(layer_record, "ephemeral_key_used")?),
        )?;
        let opened = node::open(&keys, &incoming).map_err(err)?;
        expect_eq(
            "decrypted",
            hex::encode(&opened.plaintext),
            hex::encode(hex_field(layer_record, "decrypted_hex")?),
        )?;
        let inner = payload::parse(&opened.plaintext).map_err(err)?;
        let routing: Value = serde_json::from_slice(inner.json).map_err(err)?;
        let want_routing: Value =
            serde_json::from_str(str_field(layer_record, "routing_json")?).map_err(err)?;
        expect_eq("routing json", routing, want_routing)?;

        let action = node::peel(&keys, &layer, &mut scratch).map_err(err)?;
        match (action, hops.get(h + 1), &destination) {
            (Action::Forward { next, message }, Some(next_hop), _) => {
                expect_eq("next node", next, *next_hop.hop.ed25519.as_bytes())?;
                let relayed = Layer::from_node(&message).map_err(err)?;
                expect_eq("hop count", relayed.hop_no, 1)?;
                next_ciphertext = Some(relayed.ciphertext);
            }
            (Action::Forward { next, .. }, None, Destination::Node(dest_hop)) => {
                expect_eq("destination node", next, *dest_hop.ed25519.as_bytes())?;
            }
            (Action::Relay { target, body, .. }, None, Destination::Server(server)) => {
                expect_eq("host", target.host.as_str(), server.host.as_str())?;
                expect_eq("target", target.target.as_str(), server.target.as_str())?;
                expect_eq("protocol", target.protocol.as_str(), server.protocol.as_str())?;
                let default = if server.protocol == "https" { 443 } else { 80 };
                expect_eq("port", target.port, server.port.unwrap_or(default))?;
                expect_eq("relayed body", body, opened.plaintext.clone())?;
            }
            (other, _, _) => return Err(format!("hop {h}: unexpected action {other:?}")),
        }
    }

    // The destination opens its layer.
    let dest_keys = NodeKeys { secret: &dest_secret, public: &dest_public };
    let dest_request = hex_field(r, "destination_request_hex")?;
    let opened = node::open(&dest_keys, &dest_request).map_err(err)?;
    let dest_plain = hex_field(r, "destination_decrypted_hex")?;
    expect_eq("destination decrypted", hex::encode(&opened.plaintext), hex::encode(&dest_plain))?;
    if kind == "snode" {
        let layer = Layer::from_client(&dest_request).map_err(err)?;
        match node::peel(&dest_keys, &layer, &mut scratch).map_err(err)? {
            Action::Deliver { request, .. } => {
                expect_eq("delivered request", request, payload.clone())?
            }
            other => return Err(format!("destination: unexpected action {other:?}")),
        }
    } else if truncated {
        let cut = payload.iter().position(|b| *b == 0).unwrap_or(payload.len());
        expect_eq("libsession-util cut the payload", &dest_plain[..], &payload[..cut])?;
    }

    // The reply, encrypted by the destination and read by the client.
    let response = hex_field(r, "response_plaintext_hex")?;
    let mut rng = ReplayRng::from_record(r, "response_rng_draws")?;
    let sealed = opened.reply_key.encrypt(&response, &mut rng).map_err(err)?;
    rng.finish()?;
    let want_sealed = hex_field(r, "response_ciphertext_hex")?;
    expect_eq("response ciphertext", hex::encode(&sealed), hex::encode(&want_sealed))?;
    expect_eq("response decrypted", request.reply.decrypt(&want_sealed).map_err(err)?, response)?;
    Ok(())
}

#[test]
fn onion() {
    let mut tally = Tally::new("onion.jsonl");
    for record in records("libsession/onion.jsonl") {
        tally.check(&record, check_onion);
    }
    tally.finish();
}

/// What this crate says about one `hop` or `onion` record of `negative.jsonl`: the plaintext if
/// it accepted the input, `Err(Miss::Refused)` if it refused it, `Err(Miss::Unparsable)` if the
/// input cannot be put into its types (a key of the wrong length, text that is not hex, an
/// unknown `enc_type`), which the typed API refuses before any call.
fn run_negative(function: &str, inputs: &Value) -> Result<Vec<u8>, Miss> {
    // The node's keys as given: libsession-util takes both, as `NodeKeys` does.
    let secret = X25519SecretKey::from_bytes(input_hex_array(inputs, "node_x25519_sk")?);
    let public = X25519PublicKey::from_bytes(input_hex_array(inputs, "node_x25519_pk")?);
    if function.starts_with("session::onionreq::HopEncryption") {
        let enc = EncType::parse(input_str(inputs, "enc_type")?).map_err(Miss::unparsable)?;
        let client = X25519PublicKey::from_bytes(input_hex_array(inputs, "client_x25519_pk")?);
        let ciphertext = input_hex(inputs, "ciphertext_hex")?;
        HopKey::derive(enc, &secret, &public, &client, Role::Server)
            .and_then(|key| key.decrypt(&ciphertext))
            .map_err(|e| Miss::Refused(err(e)))
    } else if function.starts_with("session::onionreq::OnionReqParser") {
        let keys = NodeKeys { secret: &secret, public: &public };
        node::open(&keys, &input_hex(inputs, "request_hex")?)
            .map(|o| o.plaintext)
            .map_err(|e| Miss::Refused(err(e)))
    } else {
        Err(Miss::from(format!("no check for function {function:?}")))
    }
}

/// One `hop` or `onion` record of `negative.jsonl`, checked: refused (an input the API's types
/// cannot hold counts as refused) where libsession-util refused, accepted where it accepted.
fn check_negative(r: &Value) -> Result<(), String> {
    let case = str_field(r, "case")?;
    let expect = match str_field(r, "result")? {
        "ok" => Expect::Value,
        "error" | "false" => Expect::Refusal,
        other => return Err(format!("{case}: unknown expected result {other:?}")),
    };
    let outcome = run_negative(str_field(r, "function")?, field(r, "inputs")?);
    judge(expect, outcome.map(hex::encode)).map(|_| ()).map_err(|why| format!("{case}: {why}"))
}

#[test]
fn negative() {
    let mut tally = Tally::new("negative.jsonl");
    for record in records("libsession/negative.jsonl") {
        let category = record.get("category").and_then(Value::as_str).unwrap_or_default();
        if category != "hop" && category != "onion" {
            continue; // left to the crate that owns the category
        }
        tally.check(&record, check_negative);
    }
    tally.finish();
}

/// Inputs the typed API cannot hold are refusals where the record expects one, and failures
/// where it expects success.
#[test]
fn negative_unparsable_inputs() {
    let node = X25519SecretKey::from_bytes([9; 32]);
    let record = |result: &str, client_pk: &str, enc_type: &str| {
        serde_json::json!({
            "category": "hop",
            "case": "client key of 31 bytes",
            "function": "session::onionreq::HopEncryption{node_sk, node_pk, server=true}.decrypt(enc_type, ciphertext, client_pk)",
            "inputs": {
                "node_x25519_sk": hex::encode(node.as_bytes()),
                "node_x25519_pk": hex::encode(node.public_key().as_bytes()),
                "client_x25519_pk": client_pk,
                "enc_type": enc_type,
                "ciphertext_hex": "00".repeat(40),
            },
            "result": result,
        })
    };
    let short = "42".repeat(31);
    check_negative(&record("error", &short, "xchacha20")).unwrap();
    let why = check_negative(&record("ok", &short, "xchacha20")).unwrap_err();
    assert!(why.contains("cannot be parsed"), "{why}");
    // An enc_type the API has no value for, expecting an error: refused.
    check_negative(&record("error", &"42".repeat(32), "rot13")).unwrap();
    assert!(check_negative(&record("ok", &"42".repeat(32), "rot13")).is_err());
}
