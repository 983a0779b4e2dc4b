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
    ReplayRng, Tally, expect_eq, field, hex_array, hex_field, records, str_field, u64_field,
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
/// `Ok(None)` for a `false` answer, `Err` for a refusal.
type Outcome = Result<Option<String>, String>;

fn run_negative(function: &str, inputs: &Value) -> Result<Outcome, String> {
    let text = |name: &str| str_field(inputs, name).map(str::to_owned);
    let err = |e: sesh_identity::Error| e.to_string();
    let server = |name: &str| -> Result<[u8; 32], String> {
        let s = text(name)?;
        let bytes = hex::decode(&s).map_err(|e| format!("server key: {e}"))?;
        bytes.try_into().map_err(|_| "server key is not 32 bytes".to_owned())
    };
    let name = function.split('(').next().unwrap_or_default();
    Ok(match name {
        "session::blind15_id" => {
            let server = server("server_pk")?;
            text("session_id")?
                .parse::<SessionId>()
                .and_then(|id| blinding::blind15_ids(&id, &server))
                .map(|ids| Some(format!("{},{}", ids[0], ids[1])))
                .map_err(err)
        }
        "session::blind25_id" => {
            let server = server("server_pk")?;
            text("session_id")?
                .parse::<SessionId>()
                .and_then(|id| blinding::blind25_id(&id, &server))
                .map(|id| Some(id.to_string()))
                .map_err(err)
        }
        "session::blinded15_id_from_ed" | "session::blinded25_id_from_ed" => {
            let server = server("server_pk")?;
            let key: [u8; 32] = hex_array(inputs, "ed25519_pk")?;
            Ed25519PublicKey::from_bytes(&key)
                .and_then(|key| {
                    if name.contains("15") {
                        blinding::blinded15_id_from_ed(&key, &server)
                    } else {
                        blinding::blinded25_id_from_ed(&key, &server)
                    }
                })
                .map(|id| Some(id.to_string()))
                .map_err(err)
        }
        "session::curve25519::to_curve25519_pubkey" => {
            let key: [u8; 32] = hex_array(inputs, "ed25519_pk")?;
            Ed25519PublicKey::from_bytes(&key)
                .and_then(|key| SessionId::from_ed25519(&key))
                .map(|id| Some(id.to_string()))
                .map_err(err)
        }
        "session::session_id_matches_blinded_id" => {
            let server = server("server_pk")?;
            let blinded = text("blinded_id")?;
            let outcome = text("session_id")?.parse::<SessionId>().and_then(|sid| {
                let blinded: BlindedId = blinded.parse()?;
                blinding::session_id_matches_blinded_id(&sid, &blinded, &server)
            });
            outcome.map(|matches| matches.then(|| "true".to_owned())).map_err(err)
        }
        "session::xed25519::verify" => {
            let key = X25519PublicKey::from_bytes(hex_array(inputs, "x25519_pk")?);
            let sig = signature(hex_array(inputs, "signature")?);
            let msg = hex_field(inputs, "msg")?;
            xed25519::verify(&key, &msg, &sig).map(|()| Some("true".to_owned())).map_err(err)
        }
        other => return Err(format!("no check for function {other:?}")),
    })
}

#[test]
fn negative() {
    let mut tally = Tally::new("negative.jsonl");
    for record in records("libsession/negative.jsonl") {
        let category = record.get("category").and_then(Value::as_str).unwrap_or_default();
        if category != "session_id" && category != "xed25519" {
            continue; // left to the crate that owns the category
        }
        tally.check(&record, |r| {
            let outcome = run_negative(str_field(r, "function")?, field(r, "inputs")?)?;
            let case = str_field(r, "case")?;
            match (str_field(r, "result")?, outcome) {
                ("ok", Ok(Some(got))) => match r.get("output") {
                    Some(Value::String(want)) => expect_eq(case, got.as_str(), want.as_str()),
                    Some(Value::Array(items)) => {
                        let want: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                        expect_eq(case, got, want.join(","))
                    }
                    _ => Err(format!("{case}: the record has no output to compare")),
                },
                ("ok", Ok(None)) => Err(format!("{case}: refused what the library accepts")),
                ("ok", Err(why)) => Err(format!("{case}: refused what the library accepts: {why}")),
                // The library refused: an error, or a `false` where the call answers yes or no.
                ("error" | "false", Err(_)) | ("false" | "error", Ok(None)) => Ok(()),
                (want, Ok(got)) => Err(format!("{case}: accepted ({got:?}), library said {want}")),
                (want, Err(_)) => Err(format!("{case}: unknown expected result {want:?}")),
            }
        });
    }
    tally.finish();
}
