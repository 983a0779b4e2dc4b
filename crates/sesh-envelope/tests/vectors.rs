//! Cross-implementation vectors from libsession-util (see `testdata/vectors/libsession/README.md`):
//! every record of `encrypt.jsonl`, `blinded_encrypt.jsonl`, `multi_encrypt.jsonl`, and the
//! `session_encrypt`, `blinded_encrypt` and `multi_encrypt` records of `negative.jsonl`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use sesh_envelope::{blinded, multi, one_to_one};
use sesh_identity::{BlindedId, Identity, Seed, SessionId, X25519PublicKey, X25519SecretKey, hash};
use sesh_testkit::{
    Expect, Miss, ReplayRng, Tally, expect_eq, field, hex_array, hex_field, input_hex,
    input_hex_array, input_str, judge, records, str_field, u64_field,
};

fn identity(record: &Value, path: &str) -> Result<Identity, String> {
    Ok(Identity::from_seed(&Seed::from_bytes(hex_array(record, path)?)))
}

fn session_id(record: &Value, path: &str) -> Result<SessionId, String> {
    str_field(record, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn blinded_id(record: &Value, path: &str) -> Result<BlindedId, String> {
    str_field(record, path)?.parse().map_err(|e| format!("{path}: {e}"))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[test]
fn encrypt() {
    let mut tally = Tally::new("encrypt.jsonl");
    for record in records("libsession/encrypt.jsonl") {
        tally.check(&record, |r| {
            let sender = identity(r, "sender_seed")?;
            expect_eq(
                "sender_session_id",
                sender.session_id(),
                session_id(r, "sender_session_id")?,
            )?;
            let recipient = identity(r, "recipient_seed")?;
            let recipient_id = session_id(r, "recipient_session_id")?;
            expect_eq("recipient_session_id", recipient.session_id(), recipient_id)?;
            expect_eq(
                "recipient_x25519_sk",
                *recipient.x25519_secret_key().as_bytes(),
                hex_array(r, "recipient_x25519_sk")?,
            )?;
            let plaintext = hex_field(r, "plaintext_hex")?;
            expect_eq("plaintext_len", plaintext.len() as u64, u64_field(r, "plaintext_len")?)?;

            let signed = one_to_one::sign_for_recipient(&sender, &recipient_id, &plaintext);
            expect_eq(
                "inner_signed",
                hex::encode(signed),
                hex::encode(hex_field(r, "inner_signed_hex")?),
            )?;

            let mut rng = ReplayRng::from_record(r, "rng_draws")?;
            let ciphertext =
                one_to_one::encrypt_for_recipient(&sender, &recipient_id, &plaintext, &mut rng)
                    .map_err(err)?;
            rng.finish()?;
            let want = hex_field(r, "ciphertext_hex")?;
            expect_eq("ciphertext", hex::encode(&ciphertext), hex::encode(&want))?;
            let deterministic =
                one_to_one::encrypt_for_recipient_deterministic(&sender, &recipient_id, &plaintext)
                    .map_err(err)?;
            let want_deterministic = hex_field(r, "ciphertext_deterministic_hex")?;
            expect_eq(
                "ciphertext_deterministic",
                hex::encode(&deterministic),
                hex::encode(&want_deterministic),
            )?;

            for (what, ct) in [("ciphertext", &want), ("deterministic", &want_deterministic)] {
                let got = one_to_one::decrypt_incoming(&recipient, ct)
                    .map_err(|e| format!("{what}: {e}"))?;
                expect_eq("decrypted", got.plaintext(), &plaintext[..])?;
                expect_eq("sender ed25519", *got.sender_ed25519(), *sender.ed25519_public_key())?;
                expect_eq(
                    "sender session id",
                    got.sender_session_id().map_err(err)?,
                    sender.session_id(),
                )?;
                // Nobody else can open it, the sender included.
                if one_to_one::decrypt_incoming(&sender, ct).is_ok() {
                    return Err(format!("{what}: the sender decrypted it"));
                }
            }
            Ok(())
        });
    }
    tally.finish();
}

#[test]
fn blinded_encrypt() {
    let mut tally = Tally::new("blinded_encrypt.jsonl");
    for record in records("libsession/blinded_encrypt.jsonl") {
        tally.check(&record, |r| {
            let server: [u8; 32] = hex_array(r, "server_pk")?;
            let sender = identity(r, "sender_seed")?;
            let recipient = identity(r, "recipient_seed")?;
            let sender_id = blinded_id(r, "sender_blinded_id")?;
            let recipient_id = blinded_id(r, "recipient_blinded_id")?;
            expect_eq(
                "sender_session_id",
                sender.session_id(),
                session_id(r, "sender_session_id")?,
            )?;
            expect_eq(
                "recipient_session_id",
                recipient.session_id(),
                session_id(r, "recipient_session_id")?,
            )?;
            let blinding = str_field(r, "blinding")?;
            expect_eq("blinding", format!("{:02x}", sender_id.to_bytes()[0]), blinding.to_owned())?;

            // The shared key, from either side.
            for (me, peer) in [(&sender, &recipient_id), (&recipient, &sender_id)] {
                let shared = me.blinded_key_exchange(&server, peer).map_err(err)?;
                let key: [u8; 32] = hash::blake2b(
                    b"",
                    &[
                        shared.as_bytes(),
                        sender_id.ed25519_public_key().as_bytes(),
                        recipient_id.ed25519_public_key().as_bytes(),
                    ],
                );
                expect_eq("shared_key", key, hex_array(r, "shared_key")?)?;
            }

            let plaintext = hex_field(r, "plaintext_hex")?;
            let mut rng = ReplayRng::from_record(r, "rng_draws")?;
            let ciphertext =
                blinded::encrypt(&sender, &server, &recipient_id, &plaintext, &mut rng)
                    .map_err(err)?;
            rng.finish()?;
            let want = hex_field(r, "ciphertext_hex")?;
            expect_eq("ciphertext", hex::encode(&ciphertext), hex::encode(&want))?;

            // The recipient reads it, and so does the sender (its own sent message).
            for (who, me) in [("recipient", &recipient), ("sender", &sender)] {
                let got = blinded::decrypt(me, &server, &sender_id, &recipient_id, &want)
                    .map_err(|e| format!("as {who}: {e}"))?;
                expect_eq("plaintext", got.plaintext(), &plaintext[..])?;
                expect_eq("sender", *got.sender_session_id(), sender.session_id())?;
            }
            Ok(())
        });
    }
    tally.finish();
}

#[test]
fn multi_encrypt() {
    let mut tally = Tally::new("multi_encrypt.jsonl");
    for record in records("libsession/multi_encrypt.jsonl") {
        tally.check(&record, |r| {
            let sender = X25519SecretKey::from_bytes(hex_array(r, "sender_x25519_sk")?);
            let sender_public = X25519PublicKey::from_bytes(hex_array(r, "sender_x25519_pk")?);
            expect_eq("sender_x25519_pk", sender.public_key(), sender_public)?;
            let domain = str_field(r, "domain")?.as_bytes().to_vec();
            let pad = usize::try_from(u64_field(r, "pad")?).map_err(err)?;
            let nonce = match field(r, "nonce_given")? {
                Value::Null => None,
                _ => Some(hex_array::<24>(r, "nonce_given")?),
            };
            let messages: Vec<Vec<u8>> = field(r, "messages_hex")?
                .as_array()
                .ok_or("messages_hex is not a list")?
                .iter()
                .map(|m| hex::decode(m.as_str().unwrap_or("?")).map_err(err))
                .collect::<Result<_, _>>()?;
            let recipients =
                field(r, "recipients")?.as_array().ok_or("recipients is not a list")?;
            let keys: Vec<X25519PublicKey> = recipients
                .iter()
                .map(|rc| hex_array(rc, "x25519_pk").map(X25519PublicKey::from_bytes))
                .collect::<Result<_, _>>()?;

            let mut rng = ReplayRng::from_record(r, "rng_draws")?;
            let encoded = multi::encrypt(&messages, &keys, &sender, &domain, nonce, pad, &mut rng)
                .map_err(err)?;
            rng.finish()?;
            let want = hex_field(r, "encoded_hex")?;
            expect_eq("encoded", hex::encode(&encoded), hex::encode(&want))?;

            for rc in recipients {
                let secret = X25519SecretKey::from_bytes(hex_array(rc, "x25519_sk")?);
                expect_eq(
                    "recipient key",
                    secret.public_key(),
                    X25519PublicKey::from_bytes(hex_array(rc, "x25519_pk")?),
                )?;
                let got = multi::decrypt(&want, &secret, &sender_public, &domain);
                expect_eq("plaintext", got, Some(hex_field(rc, "expected_plaintext_hex")?))?;
            }
            let outsider = X25519SecretKey::from_bytes(hex_array(r, "outsider_x25519_sk")?);
            expect_eq("outsider", multi::decrypt(&want, &outsider, &sender_public, &domain), None)?;
            Ok(())
        });
    }
    tally.finish();
}

/// What this crate says about one `negative.jsonl` call: `Ok(output)` if it accepted the input,
/// `Err(Miss::Refused)` if it refused it, `Err(Miss::Unparsable)` if the input cannot be put into
/// its types (a seed or key of the wrong length, text that is not hex), which the typed API
/// refuses before any call.
fn run_negative(function: &str, inputs: &Value) -> Result<String, Miss> {
    let identity = |path: &str| {
        input_hex_array(inputs, path).map(|seed| Identity::from_seed(&Seed::from_bytes(seed)))
    };
    let name = function.split('(').next().unwrap_or_default();
    match name {
        "session::decrypt_incoming_session_id" | "session::decrypt_incoming" => {
            let me = identity("recipient_seed")?;
            let ciphertext = input_hex(inputs, "ciphertext_hex")?;
            one_to_one::decrypt_incoming(&me, &ciphertext)
                .and_then(|m| {
                    let sender = m.sender_session_id()?;
                    Ok(format!("{sender}:{}", hex::encode(m.plaintext())))
                })
                .map_err(Miss::refused)
        }
        "session::encrypt_for_recipient_deterministic" | "session::encrypt_for_recipient" => {
            let sender = identity("sender_seed")?;
            let message = input_hex(inputs, "plaintext_hex")?;
            let key = input_hex(inputs, "recipient_pubkey_hex")?;
            // libsession takes the 32-byte key or the 33-byte 05-prefixed form.
            let recipient = match <[u8; 32]>::try_from(key.as_slice()) {
                Ok(key) => SessionId::from_x25519(X25519PublicKey::from_bytes(key)),
                Err(_) => SessionId::try_from(key.as_slice()),
            };
            recipient
                .map_err(sesh_envelope::Error::from)
                .and_then(|id| {
                    one_to_one::encrypt_for_recipient_deterministic(&sender, &id, &message)
                })
                .map(hex::encode)
                .map_err(Miss::refused)
        }
        "session::decrypt_from_blinded_recipient" => {
            let me = identity("recipient_seed")?;
            let server: [u8; 32] = input_hex_array(inputs, "server_pk")?;
            let ciphertext = input_hex(inputs, "ciphertext_hex")?;
            let sender = input_str(inputs, "sender_blinded_id")?;
            let recipient = input_str(inputs, "recipient_blinded_id")?;
            let (sender, recipient) = sender
                .parse::<BlindedId>()
                .and_then(|s| Ok((s, recipient.parse::<BlindedId>()?)))
                .map_err(Miss::refused)?;
            blinded::decrypt(&me, &server, &sender, &recipient, &ciphertext)
                .map(|m| format!("{}:{}", m.sender_session_id(), hex::encode(m.plaintext())))
                .map_err(Miss::refused)
        }
        "session::decrypt_for_multiple_simple" => {
            let encoded = input_hex(inputs, "encoded_hex")?;
            let secret =
                X25519SecretKey::from_bytes(input_hex_array(inputs, "recipient_x25519_sk")?);
            let sender = X25519PublicKey::from_bytes(input_hex_array(inputs, "sender_x25519_pk")?);
            let domain = input_str(inputs, "domain")?;
            multi::decrypt(&encoded, &secret, &sender, domain.as_bytes())
                .map(hex::encode)
                .ok_or_else(|| Miss::refused("nullopt"))
        }
        other => Err(Miss::from(format!("no check for function {other:?}"))),
    }
}

/// One `negative.jsonl` record of this crate's categories, checked: refused (an input the API's
/// types cannot hold counts as refused) where libsession-util refused, accepted where it
/// accepted.
fn check_negative(r: &Value) -> Result<(), String> {
    let case = str_field(r, "case")?;
    let expect = match str_field(r, "result")? {
        "ok" => Expect::Value,
        "error" | "false" | "nullopt" => Expect::Refusal,
        other => return Err(format!("{case}: unknown expected result {other:?}")),
    };
    let outcome = run_negative(str_field(r, "function")?, field(r, "inputs")?);
    judge(expect, outcome).map(|_| ()).map_err(|why| format!("{case}: {why}"))
}

#[test]
fn negative() {
    let mut tally = Tally::new("negative.jsonl");
    for record in records("libsession/negative.jsonl") {
        let category = record.get("category").and_then(Value::as_str).unwrap_or_default();
        if !["session_encrypt", "blinded_encrypt", "multi_encrypt"].contains(&category) {
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
    let record = |result: &str, server_pk: &str| {
        serde_json::json!({
            "category": "blinded_encrypt",
            "case": "server key of 31 bytes",
            "function": "session::decrypt_from_blinded_recipient(ed25519_sk, server_pk, sender_id, recipient_id, ciphertext)",
            "inputs": {
                "recipient_seed": "00".repeat(32),
                "server_pk": server_pk,
                "sender_blinded_id": format!("15{}", "00".repeat(32)),
                "recipient_blinded_id": format!("15{}", "00".repeat(32)),
                "ciphertext_hex": "00",
            },
            "result": result,
        })
    };
    let short = "42".repeat(31);
    check_negative(&record("error", &short)).unwrap();
    let why = check_negative(&record("ok", &short)).unwrap_err();
    assert!(why.contains("cannot be parsed"), "{why}");
    // Not hex at all, expecting an error: refused too.
    check_negative(&record("error", "zz")).unwrap();
    // A record missing an input is broken, whatever it expects.
    let mut broken = record("error", &"42".repeat(32));
    broken["inputs"].as_object_mut().unwrap().remove("ciphertext_hex");
    assert!(check_negative(&broken).is_err());
}
