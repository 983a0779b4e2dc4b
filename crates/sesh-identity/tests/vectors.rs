//! Cross-implementation vectors from libsession-util (see `testdata/vectors/libsession/README.md`):
//! every record of `identity.jsonl`, `blinding.jsonl`, `xed25519.jsonl`, and the `session_id`
//! and `xed25519` records of `negative.jsonl`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use blake2::digest::{Update, VariableOutput};
use serde_json::Value;
use sesh_identity::{
    BlindedId, Ed25519PublicKey, Identity, Platform, Seed, SessionId, Signature, X25519PublicKey,
    X25519SecretKey, blinding, xed25519,
};
use sesh_testkit::{
    Expect, Miss, ReplayRng, Tally, expect_eq, field, hex_array, hex_field, input_hex,
    input_hex_array, input_str, judge, records, str_field, u64_field,
};

fn identity_of(record: &Value, path: &str) -> Result<Identity, String> {
    Ok(Identity::from_seed(&Seed::from_bytes(hex_array(record, path)?)))
}

fn signature(bytes: [u8; 64]) -> Signature {
    Signature::from_bytes(&bytes)
}

#[test]
fn identity() {
    let mut tally = Tally::new("identity.jsonl");
    for record in records("libsession/identity.jsonl") {
        tally.check(&record, |r| {
            let label = str_field(r, "seed_label")?;
            let mut hasher = blake2::Blake2bVar::new(32).map_err(|e| e.to_string())?;
            hasher.update(label.as_bytes());
            let mut from_label = [0u8; 32];
            hasher.finalize_variable(&mut from_label).map_err(|e| e.to_string())?;
            expect_eq("seed from label", from_label, hex_array(r, "seed")?)?;

            let me = identity_of(r, "seed")?;
            expect_eq(
                "ed25519_pk",
                *me.ed25519_public_key().as_bytes(),
                hex_array(r, "ed25519_pk")?,
            )?;
            expect_eq("ed25519_sk", *me.to_libsodium_secret_key(), hex_array(r, "ed25519_sk")?)?;
            expect_eq("x25519_pk", *me.x25519_public_key().as_bytes(), hex_array(r, "x25519_pk")?)?;
            expect_eq("x25519_sk", *me.x25519_secret_key().as_bytes(), hex_array(r, "x25519_sk")?)?;
            expect_eq(
                "session_id",
                me.session_id().to_string().as_str(),
                str_field(r, "session_id")?,
            )?;
            expect_eq(
                "ed25519_pk_sign_bit",
                u64::from(me.ed25519_public_key().is_negative()),
                u64_field(r, "ed25519_pk_sign_bit")?,
            )?;

            // The other derivations of the same keys agree.
            let x_pk = X25519PublicKey::from_bytes(hex_array(r, "x25519_pk")?);
            expect_eq("x25519 sk -> pk", me.x25519_secret_key().public_key(), x_pk)?;
            let ed = Ed25519PublicKey::from_bytes(&hex_array(r, "ed25519_pk")?)
                .map_err(|e| e.to_string())?;
            expect_eq("ed -> x25519", ed.to_x25519().map_err(|e| e.to_string())?, x_pk)?;
            expect_eq(
                "session id parse",
                str_field(r, "session_id")?.parse::<SessionId>().map_err(|e| e.to_string())?,
                me.session_id(),
            )?;
            let from_sk = Identity::from_libsodium_secret_key(&hex_array(r, "ed25519_sk")?)
                .map_err(|e| e.to_string())?;
            expect_eq("from libsodium sk", from_sk.session_id(), me.session_id())?;
            expect_eq(
                "xed25519_pubkey",
                *xed25519::public_key(&x_pk).map_err(|e| e.to_string())?.as_bytes(),
                hex_array(r, "xed25519_pubkey")?,
            )?;

            let msg = hex_field(r, "msg")?;
            let sig = me.sign(&msg);
            expect_eq("ed25519_sig", sig.to_bytes(), hex_array(r, "ed25519_sig")?)?;
            me.ed25519_public_key().verify(&msg, &sig).map_err(|e| e.to_string())?;
            Ok(())
        });
    }
    tally.finish();
}

#[test]
fn blinding() {
    let mut tally = Tally::new("blinding.jsonl");
    for record in records("libsession/blinding.jsonl") {
        tally.check(&record, check_blinding);
    }
    tally.finish();
}

fn check_blinding(r: &Value) -> Result<(), String> {
    let e = |e: sesh_identity::Error| e.to_string();
    let me = identity_of(r, "seed")?;
    expect_eq("ed25519_pk", *me.ed25519_public_key().as_bytes(), hex_array(r, "ed25519_pk")?)?;
    let session_id: SessionId = str_field(r, "session_id")?.parse().map_err(e)?;
    expect_eq("session_id", session_id, me.session_id())?;
    let server: [u8; 32] = hex_array(r, "server_pk")?;

    expect_eq(
        "blind15_factor",
        blinding::blind15_factor(&server).to_bytes(),
        hex_array(r, "blind15_factor")?,
    )?;
    expect_eq(
        "blind25_factor",
        blinding::blind25_factor(&session_id, &server).to_bytes(),
        hex_array(r, "blind25_factor")?,
    )?;

    let parse_blinded = |path: &str| -> Result<BlindedId, String> {
        str_field(r, path)?.parse::<BlindedId>().map_err(|err| format!("{path}: {err}"))
    };
    let blinded15 = parse_blinded("blinded15_id")?;
    let blinded25 = parse_blinded("blinded25_id")?;
    expect_eq(
        "blinded15_id_from_ed",
        blinding::blinded15_id_from_ed(me.ed25519_public_key(), &server).map_err(e)?,
        blinded15,
    )?;
    let candidates = blinding::blind15_ids(&session_id, &server).map_err(e)?;
    let want: Vec<String> = field(r, "blind15_id_candidates")?
        .as_array()
        .ok_or("blind15_id_candidates is not a list")?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    expect_eq("blind15_id candidates", candidates.map(|c| c.to_string()).to_vec(), want)?;
    expect_eq("blinded15 is a candidate", candidates.contains(&blinded15), true)?;
    expect_eq("blind25_id", blinding::blind25_id(&session_id, &server).map_err(e)?, blinded25)?;
    expect_eq(
        "blinded25_id_from_ed",
        blinding::blinded25_id_from_ed(me.ed25519_public_key(), &server).map_err(e)?,
        blinded25,
    )?;

    let kp15 = me.blind15_keypair(&server).map_err(e)?;
    expect_eq(
        "blind15_keypair.pk",
        *kp15.public_key().as_bytes(),
        hex_array(r, "blind15_keypair.pk")?,
    )?;
    expect_eq(
        "blind15_keypair.sk_scalar",
        *kp15.secret_scalar(),
        hex_array(r, "blind15_keypair.sk_scalar")?,
    )?;
    expect_eq("blind15 keypair id", *kp15.id(), blinded15)?;
    let kp25 = me.blind25_keypair(&server).map_err(e)?;
    expect_eq(
        "blind25_keypair.pk",
        *kp25.public_key().as_bytes(),
        hex_array(r, "blind25_keypair.pk")?,
    )?;
    expect_eq(
        "blind25_keypair.sk_scalar",
        *kp25.secret_scalar(),
        hex_array(r, "blind25_keypair.sk_scalar")?,
    )?;
    expect_eq(
        "blind25_keypair.k_prime",
        kp25.blinding_factor().to_bytes(),
        hex_array(r, "blind25_keypair.k_prime")?,
    )?;
    expect_eq("blind25 keypair id", *kp25.id(), blinded25)?;

    let message = hex_field(r, "message")?;
    let sig15 = kp15.sign(&message);
    expect_eq("blind15_sig", sig15.to_bytes(), hex_array(r, "blind15_sig")?)?;
    blinded15.verify(&message, &sig15).map_err(e)?;
    let sig25 = kp25.sign(&message);
    expect_eq("blind25_sig", sig25.to_bytes(), hex_array(r, "blind25_sig")?)?;
    blinded25.verify(&message, &sig25).map_err(e)?;

    let version = me.version_blinded_key();
    expect_eq(
        "version_blind_pk",
        *version.public_key().as_bytes(),
        hex_array(r, "version_blind_pk")?,
    )?;
    expect_eq(
        "version_blind_sk",
        *version.to_libsodium_secret_key(),
        hex_array(r, "version_blind_sk")?,
    )?;
    let platform = match str_field(r, "version_sign.platform")? {
        "android" => Platform::Android,
        "desktop" => Platform::Desktop,
        "ios" => Platform::Ios,
        other => return Err(format!("unknown platform {other:?}")),
    };
    expect_eq(
        "version_sign.sig",
        version.sign_version_check(platform, u64_field(r, "version_sign.timestamp")?).to_bytes(),
        hex_array(r, "version_sign.sig")?,
    )?;
    let body = match field(r, "version_sign_request.body")? {
        Value::Null => None,
        _ => Some(hex_field(r, "version_sign_request.body")?),
    };
    let request_sig = version.sign_request(
        u64_field(r, "version_sign_request.timestamp")?,
        str_field(r, "version_sign_request.method")?,
        str_field(r, "version_sign_request.path")?,
        body.as_deref(),
    );
    expect_eq(
        "version_sign_request.sig",
        request_sig.to_bytes(),
        hex_array(r, "version_sign_request.sig")?,
    )?;

    let other: SessionId = str_field(r, "other_session_id")?.parse().map_err(e)?;
    let matches = field(r, "matches")?.as_object().ok_or("matches is not an object")?;
    if matches.is_empty() {
        return Err("matches is empty".into());
    }
    for (pair, want) in matches {
        let (left, right) = pair.split_once('~').ok_or_else(|| format!("matches key {pair:?}"))?;
        let sid = match left {
            "session_id" => session_id,
            "other_session_id" => other,
            _ => return Err(format!("matches key {pair:?}: unknown left side")),
        };
        let blinded = match right {
            "blind15_candidate0" => candidates[0],
            "blind15_candidate1" => candidates[1],
            "blinded15_id" => blinded15,
            "blinded25_id" => blinded25,
            _ => return Err(format!("matches key {pair:?}: unknown right side")),
        };
        let got = blinding::session_id_matches_blinded_id(&sid, &blinded, &server).map_err(e)?;
        expect_eq(pair, Value::Bool(got), want.clone())?;
    }
    Ok(())
}

#[test]
fn xed25519() {
    let mut tally = Tally::new("xed25519.jsonl");
    for record in records("libsession/xed25519.jsonl") {
        tally.check(&record, |r| {
            let e = |e: sesh_identity::Error| e.to_string();
            let secret = X25519SecretKey::from_bytes(hex_array(r, "x25519_sk")?);
            let public = X25519PublicKey::from_bytes(hex_array(r, "x25519_pk")?);
            expect_eq("x25519_pk", secret.public_key(), public)?;
            let xed = xed25519::public_key(&public).map_err(e)?;
            expect_eq("xed25519_pubkey", *xed.as_bytes(), hex_array(r, "xed25519_pubkey")?)?;

            let msg = hex_field(r, "msg")?;
            let mut rng = ReplayRng::from_record(r, "rng_draws")?;
            let sig = xed25519::sign(&secret, &msg, &mut rng);
            rng.finish()?;
            expect_eq("signature", sig.to_bytes(), hex_array(r, "signature")?)?;
            let want = signature(hex_array(r, "signature")?);
            xed25519::verify(&public, &msg, &want).map_err(e)?;
            xed.verify(&msg, &want).map_err(e)?;
            Ok(())
        });
    }
    tally.finish();
}

/// What this crate says about one `negative.jsonl` call: `Ok(Some(output))` for a value,
/// `Ok(None)` for a `false` answer, `Err(Miss::Refused)` for an error, and
/// `Err(Miss::Unparsable)` for an input its types cannot hold (a server key that is not 32
/// bytes, an Ed25519 key or signature of the wrong length, text that is not hex), which the typed
/// API refuses before any call.
type Outcome = Result<Option<String>, Miss>;

fn run_negative(function: &str, inputs: &Value) -> Outcome {
    let text = |name: &str| input_str(inputs, name);
    let refused = Miss::refused;
    let server = || input_hex_array::<32>(inputs, "server_pk");
    let name = function.split('(').next().unwrap_or_default();
    match name {
        "session::blind15_id" => {
            let server = server()?;
            text("session_id")?
                .parse::<SessionId>()
                .and_then(|id| blinding::blind15_ids(&id, &server))
                .map(|ids| Some(format!("{},{}", ids[0], ids[1])))
                .map_err(refused)
        }
        "session::blind25_id" => {
            let server = server()?;
            text("session_id")?
                .parse::<SessionId>()
                .and_then(|id| blinding::blind25_id(&id, &server))
                .map(|id| Some(id.to_string()))
                .map_err(refused)
        }
        "session::blinded15_id_from_ed" | "session::blinded25_id_from_ed" => {
            let server = server()?;
            let key: [u8; 32] = input_hex_array(inputs, "ed25519_pk")?;
            Ed25519PublicKey::from_bytes(&key)
                .and_then(|key| {
                    if name.contains("15") {
                        blinding::blinded15_id_from_ed(&key, &server)
                    } else {
                        blinding::blinded25_id_from_ed(&key, &server)
                    }
                })
                .map(|id| Some(id.to_string()))
                .map_err(refused)
        }
        "session::curve25519::to_curve25519_pubkey" => {
            let key: [u8; 32] = input_hex_array(inputs, "ed25519_pk")?;
            Ed25519PublicKey::from_bytes(&key)
                .and_then(|key| SessionId::from_ed25519(&key))
                .map(|id| Some(id.to_string()))
                .map_err(refused)
        }
        "session::session_id_matches_blinded_id" => {
            let server = server()?;
            let session_id = text("session_id")?;
            let blinded = text("blinded_id")?;
            session_id
                .parse::<SessionId>()
                .and_then(|sid| {
                    let blinded: BlindedId = blinded.parse()?;
                    blinding::session_id_matches_blinded_id(&sid, &blinded, &server)
                })
                .map(|matches| matches.then(|| "true".to_owned()))
                .map_err(refused)
        }
        "session::xed25519::verify" => {
            let key = X25519PublicKey::from_bytes(input_hex_array(inputs, "x25519_pk")?);
            let sig = signature(input_hex_array(inputs, "signature")?);
            let msg = input_hex(inputs, "msg")?;
            match xed25519::verify(&key, &msg, &sig) {
                Ok(()) => Ok(Some("true".to_owned())),
                Err(_) => Ok(None), // libsession's verify answers false
            }
        }
        other => Err(Miss::from(format!("no check for function {other:?}"))),
    }
}

/// One `negative.jsonl` record of this crate's categories, checked: the library refuses what
/// libsession-util refused (an error, or `false` where the call answers yes or no; an input the
/// API's types cannot hold counts as refused), and accepts, with the same output, what it
/// accepted.
fn check_negative(r: &Value) -> Result<(), String> {
    let case = str_field(r, "case")?;
    let expect = match str_field(r, "result")? {
        "ok" => Expect::Value,
        "error" | "false" => Expect::Refusal,
        other => return Err(format!("{case}: unknown expected result {other:?}")),
    };
    let outcome = run_negative(str_field(r, "function")?, field(r, "inputs")?);
    // A `false` answer is a refusal; a yes or a value is an acceptance.
    let outcome = outcome.and_then(|answer| answer.ok_or_else(|| Miss::refused("false")));
    let Some(got) = judge(expect, outcome).map_err(|why| format!("{case}: {why}"))? else {
        return Ok(());
    };
    match r.get("output") {
        Some(Value::String(want)) => expect_eq(case, got.as_str(), want.as_str()),
        Some(Value::Bool(true)) => expect_eq(case, got.as_str(), "true"),
        Some(Value::Array(items)) => {
            let want: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            expect_eq(case, got, want.join(","))
        }
        _ => Err(format!("{case}: the record has no output to compare")),
    }
}

#[test]
fn negative() {
    let mut tally = Tally::new("negative.jsonl");
    for record in records("libsession/negative.jsonl") {
        let category = record.get("category").and_then(Value::as_str).unwrap_or_default();
        if category != "session_id" && category != "xed25519" {
            continue; // left to the crate that owns the category
        }
        tally.check(&record, check_negative);
    }
    tally.finish();
}

/// A `session_id_matches_blinded_id` record with a 31-byte server key: the typed API
/// (`&[u8; 32]`) cannot even be called with it, which is the library refusing. So a record that
/// expects "no match" passes, and one that expects a match fails.
#[test]
fn negative_server_key_of_31_bytes() {
    let me = Identity::from_seed(&Seed::from_bytes([7; 32]));
    let server = [0x42u8; 32];
    let blinded = blinding::blind25_id(&me.session_id(), &server).unwrap();
    let record = |result: &str, server_pk: &[u8]| {
        let mut record = serde_json::json!({
            "index": 0,
            "category": "session_id",
            "case": "session_id_matches_blinded_id: server key of 31 bytes",
            "function": "session::session_id_matches_blinded_id(session_id, blinded_id, server_pk)",
            "inputs": {
                "session_id": me.session_id().to_string(),
                "blinded_id": blinded.to_string(),
                "server_pk": hex::encode(server_pk),
            },
            "result": result,
        });
        if result == "ok" {
            record["output"] = Value::Bool(true);
        }
        record
    };
    // With the full 32-byte key, the pair matches: the control.
    check_negative(&record("ok", &server)).unwrap();
    assert!(check_negative(&record("false", &server)).is_err());

    let short = &server[..31];
    check_negative(&record("false", short)).unwrap();
    check_negative(&record("error", short)).unwrap();
    let why = check_negative(&record("ok", short)).unwrap_err();
    assert!(why.contains("cannot be parsed"), "{why}");
}
