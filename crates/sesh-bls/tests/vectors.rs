//! The BLS vectors (see `testdata/vectors/bls/README.md`), proven against the live
//! `ServiceNodeRewards` contract's own code in an EVM: every record of `bls_hash.jsonl`,
//! `bls_sign.jsonl` and `bls_aggregate.jsonl`.
//!
//! Each record is rebuilt from its typed fields: the tags from (base, chain id, contract), the
//! message bytes, hash to field and hash to G2, keys, signatures, the negative checks, and for
//! aggregates the contract's verdict, reproduced in Rust down to the revert bytes.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use blake2::Blake2bVar;
use blake2::digest::{Update as _, VariableOutput as _};
use serde_json::Value;
use sesh_bls::{
    Aggregate, Collector, Domain, Error, Message, NON_SIGNER_THRESHOLD_MAX, PublicKey, SecretKey,
    Signature, Tag, aggregate_key, hash_to_field, hash_to_g2, non_signer_threshold,
    verify_aggregate,
};
use sesh_testkit::{Tally, expect_eq, field, records, str_field, u64_field};
use sha3::{Digest as _, Keccak256};

/// The contract's `signatureExpiry` (10 minutes).
const SIGNATURE_EXPIRY: u64 = 600;
/// The contract's `minimumExitAge` (2 hours).
const MINIMUM_EXIT_AGE: u64 = 7200;
/// `addedTimestamp` of every node the vectors seed.
const ADDED_TIMESTAMP: u64 = 1;

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|e| format!("{text:?}: {e}"))
}

fn fixed<const N: usize>(value: &Value) -> Result<[u8; N], String> {
    let text = value.as_str().ok_or_else(|| format!("{value} is not a string"))?;
    let bytes = unhex(text)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| format!("{text}: {len} bytes, not {N}"))
}

fn at<const N: usize>(record: &Value, path: &str) -> Result<[u8; N], String> {
    fixed(field(record, path)?).map_err(|e| format!("{path}: {e}"))
}

fn bytes_at(record: &Value, path: &str) -> Result<Vec<u8>, String> {
    unhex(str_field(record, path)?)
}

fn word_u64(word: &[u8; 32]) -> Result<u64, String> {
    if word[..24].iter().any(|&b| b != 0) {
        return Err(format!("0x{} does not fit in a u64", hex::encode(word)));
    }
    Ok(u64::from_be_bytes(word[24..].try_into().unwrap()))
}

fn word_u128(word: &[u8; 32]) -> Result<u128, String> {
    if word[..16].iter().any(|&b| b != 0) {
        return Err(format!("0x{} does not fit in a u128", hex::encode(word)));
    }
    Ok(u128::from_be_bytes(word[16..].try_into().unwrap()))
}

fn uint(value: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&value.to_be_bytes());
    out
}

/// A record's check, its failure prefixed with the record's id.
fn named(record: &Value, check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    check().map_err(|e| format!("{}: {e}", record.get("id").and_then(Value::as_str).unwrap_or("?")))
}

fn err(e: Error) -> String {
    e.to_string()
}

fn domain(record: &Value) -> Result<Domain, String> {
    Ok(Domain {
        chain_id: u64_field(record, "domain.chain_id")?,
        contract: at(record, "domain.contract")?,
    })
}

/// `[X, Y]` words as a key.
fn public_key(value: &Value) -> Result<PublicKey, String> {
    let words = value.as_array().ok_or("a key is not [X, Y]")?;
    let [x, y] = words.as_slice() else { return Err("a key is not [X, Y]".into()) };
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&fixed::<32>(x)?);
    bytes[32..].copy_from_slice(&fixed::<32>(y)?);
    PublicKey::from_bytes(&bytes).map_err(err)
}

fn key_words(key: &PublicKey) -> [String; 2] {
    let bytes = key.to_bytes();
    [format!("0x{}", hex::encode(&bytes[..32])), format!("0x{}", hex::encode(&bytes[32..]))]
}

fn words4(value: &Value) -> Result<[[u8; 32]; 4], String> {
    let list = value.as_array().ok_or("not a list of 4 words")?;
    let words: Vec<[u8; 32]> = list.iter().map(fixed::<32>).collect::<Result<_, _>>()?;
    words.try_into().map_err(|_| "not 4 words".to_owned())
}

/// `{x_re, x_im, y_re, y_im}` as signature words.
fn point_words(record: &Value, path: &str) -> Result<[[u8; 32]; 4], String> {
    Ok([
        at(record, &format!("{path}.x_re"))?,
        at(record, &format!("{path}.x_im"))?,
        at(record, &format!("{path}.y_re"))?,
        at(record, &format!("{path}.y_im"))?,
    ])
}

/// The contract's `G2Point` words: `[x_im, x_re, y_im, y_re]`.
fn g2point_words(words: &[[u8; 32]; 4]) -> [[u8; 32]; 4] {
    [words[1], words[0], words[3], words[2]]
}

/// The synthetic key of a label: BLAKE2b-256(label) mod r.
fn key_of_label(label: &str) -> Result<SecretKey, String> {
    let mut hasher = Blake2bVar::new(32).unwrap();
    hasher.update(label.as_bytes());
    let mut out = [0u8; 32];
    hasher.finalize_variable(&mut out).unwrap();
    SecretKey::from_be_bytes_mod_order(&out).map_err(err)
}

/// A `{label, sk, pk}` signer: the key from its label equals `sk`, and `sk·G1` equals `pk`.
fn signer(value: &Value) -> Result<(SecretKey, PublicKey), String> {
    let label = str_field(value, "label")?;
    let sk = SecretKey::from_be_bytes(&at(value, "sk")?).map_err(err)?;
    expect_eq("sk from label", *key_of_label(label)?.to_be_bytes(), *sk.to_be_bytes())?;
    let pk = public_key(field(value, "pk")?)?;
    expect_eq("pk = sk·G1", sk.public_key(), pk)?;
    Ok((sk, pk))
}

/// The typed message of a record's `kind` (or `message_kind`) and `fields`.
fn message(record: &Value, kind: &str) -> Result<Message, String> {
    let fields = field(record, "fields")?;
    Ok(match kind {
        "reward" => Message::Reward {
            recipient: at(fields, "recipientAddress")?,
            amount: word_u128(&at(fields, "recipientRewards")?)?,
        },
        "exit" | "liquidate" => {
            let key = public_key(field(fields, "blsPubkey")?)?;
            let timestamp = word_u64(&at(fields, "timestamp")?)?;
            if kind == "exit" {
                Message::Exit { key, timestamp }
            } else {
                Message::Liquidate { key, timestamp }
            }
        }
        "pop" => Message::ProofOfPossession {
            key: public_key(field(fields, "blsPubkey")?)?,
            caller: at(fields, "caller")?,
            ed25519: at(fields, "serviceNodePubkey")?,
        },
        other => return Err(format!("unknown message kind {other:?}")),
    })
}

/// Checks the record's tags (`dst`, `message_tag` from its base string) and, for a typed kind,
/// that the message bytes come from the fields. Returns the message bytes and the DST.
fn tags_and_message(record: &Value, kind: &str) -> Result<(Vec<u8>, Tag), String> {
    let domain = domain(record)?;
    let dst = Tag(at(record, "dst")?);
    expect_eq("dst = hashToG2Tag", domain.hash_to_g2_tag(), dst)?;
    let bytes = bytes_at(record, "message")?;
    if kind == "raw" {
        return Ok((bytes, dst));
    }
    let base = str_field(record, "message_tag_name")?;
    let tag = Tag::build(base, domain.chain_id, domain.contract);
    expect_eq("message_tag", tag, Tag(at(record, "message_tag")?))?;
    let expected_tag = match kind {
        "reward" => domain.reward_tag(),
        "exit" => domain.exit_tag(),
        "liquidate" => domain.liquidate_tag(),
        _ => domain.proof_of_possession_tag(),
    };
    expect_eq("message_tag for the kind", expected_tag, tag)?;
    let built = message(record, kind)?.to_bytes(&domain);
    expect_eq("message from fields", hex::encode(&built), hex::encode(&bytes))?;
    Ok((bytes, dst))
}

/// hash to G2 of `message` equals the record's point and counter.
fn check_hash(record: &Value, message: &[u8], dst: &Tag, point: &str) -> Result<Signature, String> {
    let hash = hash_to_g2(message, dst).map_err(err)?;
    expect_eq("counter", u64::from(hash.counter), u64_field(record, "counter")?)?;
    expect_eq("hash point", hash.point.to_words(), point_words(record, point)?)?;
    Ok(hash.point)
}

#[test]
fn hash() {
    let mut tally = Tally::new("bls_hash.jsonl");
    for record in records("bls/bls_hash.jsonl") {
        tally.check(&record, |r| {
            named(r, || {
                let kind = str_field(r, "message_kind")?;
                let (message, dst) = tags_and_message(r, kind)?;
                expect_eq("message_len", message.len() as u64, u64_field(r, "message_len")?)?;
                let point = check_hash(r, &message, &dst, "hash_point")?;
                if let Ok(words) = field(r, "hash_point_g2point_words") {
                    expect_eq(
                        "hash_point_g2point_words",
                        g2point_words(&point.to_words()),
                        words4(words)?,
                    )?;
                }
                let counter = u8::try_from(u64_field(r, "counter")?).map_err(|e| e.to_string())?;
                let mut input = message.clone();
                input.push(counter);
                expect_eq(
                    "hash_to_field.input",
                    hex::encode(&input),
                    hex::encode(bytes_at(r, "hash_to_field.input")?),
                )?;
                let fields = hash_to_field(&input, &dst);
                expect_eq(
                    "u0",
                    hex::encode(fields.u0),
                    hex::encode(at::<32>(r, "hash_to_field.u0")?),
                )?;
                expect_eq(
                    "u1",
                    hex::encode(fields.u1),
                    hex::encode(at::<32>(r, "hash_to_field.u1")?),
                )?;
                expect_eq(
                    "sign_bit",
                    u64::from(fields.sign_bit),
                    u64_field(r, "hash_to_field.sign_bit")?,
                )?;
                Ok(())
            })
        });
    }
    tally.finish();
}

/// The number after `word` in `text` ("flip bit 7 (msb=0) of message byte 43").
fn number_after(text: &str, word: &str) -> Result<usize, String> {
    let rest = text.split(word).nth(1).ok_or_else(|| format!("{text:?}: no {word:?}"))?;
    let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().map_err(|e| format!("{text:?}: {e}"))
}

/// One negative check: the mutated input no longer verifies.
fn negative(
    check: &Value,
    sk: &SecretKey,
    pk: &PublicKey,
    domain: &Domain,
    typed: &Message,
    bytes: &[u8],
    signature: &Signature,
) -> Result<(), String> {
    let mutation = str_field(check, "mutation")?;
    let dst = domain.hash_to_g2_tag();
    let refused = |outcome: Result<(), Error>| match outcome {
        Err(Error::InvalidSignature) => Ok(()),
        Err(e) => Err(format!("{mutation}: refused with {e}, not as an invalid signature")),
        Ok(()) => Err(format!("{mutation}: the mutated input still verifies")),
    };
    if mutation.starts_with("flip bit") {
        let bit = number_after(mutation, "flip bit")?;
        let byte = number_after(mutation, "message byte")?;
        if byte < 32 {
            return Err(format!("{mutation}: the flip is in the tag"));
        }
        let mut mutated = bytes.to_vec();
        *mutated.get_mut(byte).ok_or("byte out of range")? ^= 0x80 >> bit;
        return refused(pk.verify_bytes(&dst, &mutated, signature));
    }
    if let Some(base) = mutation.strip_prefix("message tag replaced by ") {
        let mut mutated = bytes.to_vec();
        mutated[..32].copy_from_slice(&Tag::build(base, domain.chain_id, domain.contract).0);
        return refused(pk.verify_bytes(&dst, &mutated, signature));
    }
    let xor = |what: &str| number_after(mutation, what);
    let changed = match (*typed, mutation) {
        (Message::Reward { recipient, amount }, m) if m.starts_with("recipientRewards xor") => {
            Message::Reward { recipient, amount: amount ^ xor("xor")? as u128 }
        }
        (Message::Exit { key, timestamp }, m) if m.starts_with("timestamp xor") => {
            Message::Exit { key, timestamp: timestamp ^ xor("xor")? as u64 }
        }
        (Message::Liquidate { key, timestamp }, m) if m.starts_with("timestamp xor") => {
            Message::Liquidate { key, timestamp: timestamp ^ xor("xor")? as u64 }
        }
        (Message::Exit { key, timestamp }, m)
            if m.contains("to liquidateBLSPublicKeyWithSignature") =>
        {
            Message::Liquidate { key, timestamp }
        }
        (Message::Liquidate { key, timestamp }, m)
            if m.contains("to exitBLSPublicKeyWithSignature") =>
        {
            Message::Exit { key, timestamp }
        }
        (Message::ProofOfPossession { key, caller, mut ed25519 }, m)
            if m.starts_with("serviceNodePubkey xor") =>
        {
            let n = xor("xor")? as u64;
            for (b, x) in ed25519[24..].iter_mut().zip(n.to_be_bytes()) {
                *b ^= x;
            }
            Message::ProofOfPossession { key, caller, ed25519 }
        }
        _ => return Err(format!("mutation {mutation:?} not understood for this kind")),
    };
    // The signer's own signature of the changed message differs, and the original one does
    // not verify against it.
    if sk.sign(domain, &changed) == *signature {
        return Err(format!("{mutation}: the changed message has the same signature"));
    }
    refused(pk.verify(domain, &changed, signature))
}

#[test]
fn sign() {
    let mut tally = Tally::new("bls_sign.jsonl");
    for record in records("bls/bls_sign.jsonl") {
        tally.check(&record, |r| {
            named(r, || {
                let domain = domain(r)?;
                let kind = str_field(r, "kind")?;
                let (bytes, dst) = tags_and_message(r, kind)?;
                let (sk, pk) = signer(field(r, "signer")?)?;
                check_hash(r, &bytes, &dst, "hash_point")?;
                let typed = message(r, kind)?;
                let want = words4(field(r, "signature")?)?;
                let signature = sk.sign(&domain, &typed);
                expect_eq("signature", signature.to_words(), want)?;
                expect_eq("signature (bytes)", sk.sign_bytes(&dst, &bytes), signature)?;
                expect_eq(
                    "signature_g2point_words",
                    g2point_words(&want),
                    words4(field(r, "signature_g2point_words")?)?,
                )?;
                let parsed = Signature::from_words(&want).map_err(err)?;
                expect_eq("parsed signature", parsed, signature)?;
                expect_eq(
                    "signature from bytes",
                    Signature::from_bytes(&parsed.to_bytes()).map_err(err)?,
                    parsed,
                )?;
                if let Message::ProofOfPossession { key, caller, ed25519 } = typed {
                    expect_eq("pop key", key, pk)?;
                    expect_eq(
                        "proof_of_possession",
                        sk.proof_of_possession(&domain, caller, &ed25519),
                        signature,
                    )?;
                }
                pk.verify(&domain, &typed, &parsed).map_err(err)?;
                pk.verify_bytes(&dst, &bytes, &parsed).map_err(err)?;
                let checks = field(r, "negative_checks")?.as_array().ok_or("negative_checks")?;
                if checks.is_empty() {
                    return Err("no negative checks".into());
                }
                for check in checks {
                    negative(check, &sk, &pk, &domain, &typed, &bytes, &parsed)?;
                }
                Ok(())
            })
        });
    }
    tally.finish();
}

/// What an EVM call ends with: success, or the revert's error name and data.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    Revert { error: String, data: String },
}

fn revert(signature: &str, args: &[[u8; 32]]) -> Verdict {
    let mut data = Keccak256::digest(signature.as_bytes())[..4].to_vec();
    for arg in args {
        data.extend_from_slice(arg);
    }
    let error = signature.split('(').next().unwrap_or(signature).to_owned();
    Verdict::Revert { error, data: hex::encode(data) }
}

/// `Error(string)`, as `require(…, reason)` reverts.
fn revert_string(reason: &str) -> Verdict {
    let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
    data.extend_from_slice(&uint(32));
    data.extend_from_slice(&uint(reason.len() as u64));
    let mut padded = reason.as_bytes().to_vec();
    padded.resize(reason.len().div_ceil(32) * 32, 0);
    data.extend_from_slice(&padded);
    Verdict::Revert { error: "Error".into(), data: hex::encode(data) }
}

fn key_args(key: &PublicKey) -> [[u8; 32]; 2] {
    let bytes = key.to_bytes();
    [bytes[..32].try_into().unwrap(), bytes[32..].try_into().unwrap()]
}

/// The contract's verdict on a record's call, in the contract's order of checks:
/// `hasEnoughSigners`, the function's own state checks, then `validateSignatureOrRevert` (the
/// precompile refuses a point off the curve or outside the subgroup with `Invalid Signature`).
fn contract_verdict(
    r: &Value,
    kind: &str,
    set: &BTreeMap<u64, PublicKey>,
    ids: &[u64],
) -> Result<Verdict, String> {
    let domain = domain(r)?;
    let total = set.len() as u64;
    let threshold = non_signer_threshold(set.len(), NON_SIGNER_THRESHOLD_MAX) as u64;
    let listed = ids.len() as u64;
    if listed > threshold {
        if listed > total {
            // `totalNodes - ids.length` underflows: Panic(0x11).
            return Ok(revert("Panic(uint256)", &[uint(0x11)]));
        }
        return Ok(revert(
            "InsufficientBLSSignatures(uint256,uint256)",
            &[uint(total - listed), uint(total - threshold)],
        ));
    }
    let typed = message(r, kind)?;
    match typed {
        Message::Reward { recipient, amount } => {
            if recipient == [0u8; 20] {
                return Ok(revert("NullAddress()", &[]));
            }
            // Every record starts from a fresh contract: the recipient's balance is 0.
            if amount == 0 {
                return Ok(revert("RecipientRewardsTooLow()", &[]));
            }
        }
        Message::Exit { key, timestamp } | Message::Liquidate { key, timestamp } => {
            let Some((&id, _)) = set.iter().find(|(_, k)| **k == key) else {
                let [x, y] = key_args(&key);
                return Ok(revert("BLSPubkeyDoesNotExist((uint256,uint256))", &[x, y]));
            };
            let now = u64_field(r, "block_timestamp")?;
            if now > timestamp + SIGNATURE_EXPIRY {
                return Ok(revert(
                    "SignatureExpired(uint64,uint256,uint256)",
                    &[uint(id), uint(timestamp), uint(now)],
                ));
            }
            if now < ADDED_TIMESTAMP + MINIMUM_EXIT_AGE {
                return Ok(revert(
                    "ExitTooEarly(uint64,uint256,uint256)",
                    &[uint(id), uint(ADDED_TIMESTAMP), uint(now)],
                ));
            }
        }
        Message::ProofOfPossession { .. } => {
            return Err("no aggregate of a proof of possession".into());
        }
    }
    let bytes = typed.to_bytes(&domain);
    let Ok(signature) = Signature::from_words(&words4(field(r, "aggregate_signature")?)?) else {
        return Ok(revert_string("Invalid Signature"));
    };
    let aggregate = Aggregate { signature, non_signers: ids.to_vec() };
    match verify_aggregate(
        set,
        &domain.hash_to_g2_tag(),
        &bytes,
        &aggregate,
        NON_SIGNER_THRESHOLD_MAX,
    ) {
        Ok(()) => Ok(Verdict::Ok),
        Err(Error::InvalidSignature) => {
            let [x, y] = key_args(&aggregate_key(set, ids));
            Ok(revert("InvalidBLSSignature((uint256,uint256))", &[x, y]))
        }
        Err(e) => Err(format!("the contract check failed unexpectedly: {e}")),
    }
}

fn ids_at(r: &Value, path: &str) -> Result<Vec<u64>, String> {
    field(r, path)?
        .as_array()
        .ok_or_else(|| format!("{path} is not a list"))?
        .iter()
        .map(|v| v.as_u64().ok_or_else(|| format!("{path}: {v} is not an id")))
        .collect()
}

#[test]
fn aggregate() {
    let mut tally = Tally::new("bls_aggregate.jsonl");
    for record in records("bls/bls_aggregate.jsonl") {
        tally.check(&record, |r| {
            named(r, || {
                let kind = str_field(r, "kind")?;
                let case = str_field(r, "case")?;
                tags_and_message(r, kind)?;

                // The registered set, in seeding order, ids 1..N.
                let mut set = BTreeMap::new();
                let mut secrets = BTreeMap::new();
                for (n, node) in field(r, "set")?.as_array().ok_or("set")?.iter().enumerate() {
                    let id = u64_field(node, "id")?;
                    expect_eq("set ids are 1..N", id, n as u64 + 1)?;
                    let (sk, pk) = signer(node)?;
                    set.insert(id, pk);
                    secrets.insert(id, sk);
                }
                expect_eq("set_size", set.len() as u64, u64_field(r, "set_size")?)?;
                let all: PublicKey = set.values().sum();
                expect_eq(
                    "aggregate_pubkey_all",
                    key_words(&all),
                    key_words(&public_key(field(r, "aggregate_pubkey_all")?)?),
                )?;
                let ids = ids_at(r, "non_signer_ids")?;
                let checked = aggregate_key(&set, &ids);
                expect_eq(
                    "aggregate_pubkey_checked",
                    key_words(&checked),
                    key_words(&public_key(field(r, "aggregate_pubkey_checked")?)?),
                )?;
                expect_eq(
                    "non_signer_threshold",
                    non_signer_threshold(set.len(), NON_SIGNER_THRESHOLD_MAX) as u64,
                    u64_field(r, "non_signer_threshold")?,
                )?;

                // What the signers signed, and their aggregate.
                let signed = bytes_at(r, "signed_message")?;
                let signed_dst = Tag(at(r, "signed_dst")?);
                check_hash_only(r, &signed, &signed_dst)?;
                let signer_ids = ids_at(r, "signer_ids")?;
                expect_eq("n_signers", signer_ids.len() as u64, u64_field(r, "n_signers")?)?;
                let mut signatures = Vec::new();
                for id in &signer_ids {
                    let sk =
                        secrets.get(id).ok_or_else(|| format!("signer {id} is not in the set"))?;
                    signatures.push((*id, sk.sign_bytes(&signed_dst, &signed)));
                }
                let sum: Signature = signatures.iter().map(|(_, s)| *s).sum();
                let mut want = sum.to_words();
                match case {
                    "zero_signature" => want = [[0u8; 32]; 4],
                    "sig_not_on_curve" => {
                        // y_im + 1 (y_im is below p, so no carry out of the word).
                        for byte in want[3].iter_mut().rev() {
                            let (next, carry) = byte.overflowing_add(1);
                            *byte = next;
                            if !carry {
                                break;
                            }
                        }
                    }
                    _ => {}
                }
                expect_eq("aggregate_signature", want, words4(field(r, "aggregate_signature")?)?)?;
                expect_eq(
                    "aggregate_signature_g2point_words",
                    g2point_words(&want),
                    words4(field(r, "aggregate_signature_g2point_words")?)?,
                )?;

                // The Collector, fed the signers' signatures of what they signed, makes the same
                // aggregate, listing every other registered id.
                let mut collector = Collector::new(set.clone(), signed_dst, signed.clone());
                for (id, signature) in &signatures {
                    collector.add(*id, *signature).map_err(err)?;
                }
                let unsigned: Vec<u64> =
                    set.keys().copied().filter(|id| !signer_ids.contains(id)).collect();
                match collector.finish(NON_SIGNER_THRESHOLD_MAX) {
                    Ok(aggregate) => {
                        expect_eq("collector signature", aggregate.signature, sum)?;
                        expect_eq("collector non-signers", aggregate.non_signers, unsigned)?;
                    }
                    Err(Error::TooFewSigners { non_signers, .. }) => {
                        expect_eq("too few signers", non_signers, unsigned.len())?;
                        if unsigned.len()
                            <= non_signer_threshold(set.len(), NON_SIGNER_THRESHOLD_MAX)
                        {
                            return Err(
                                "the collector refused an aggregate within the threshold".into()
                            );
                        }
                    }
                    Err(e) => return Err(err(e)),
                }

                // The contract's verdict, reproduced.
                let got = contract_verdict(r, kind, &set, &ids)?;
                let verdict = field(r, "verdict")?;
                let want = match str_field(verdict, "result")? {
                    "ok" => Verdict::Ok,
                    "revert" => Verdict::Revert {
                        error: str_field(verdict, "error")?.to_owned(),
                        data: hex::encode(bytes_at(verdict, "revert_data")?),
                    },
                    other => return Err(format!("verdict {other:?}")),
                };
                match (&got, &want) {
                    // A `require` reason: the record may name it by its reason; the bytes decide.
                    (Verdict::Revert { error, data }, Verdict::Revert { data: want_data, .. })
                        if error == "Error" =>
                    {
                        expect_eq("revert_data", data, want_data)
                    }
                    _ => expect_eq("verdict", got, want),
                }?;
                Ok(())
            })
        });
    }
    tally.finish();
}

/// `signed_hash_point` is hash to G2 of `signed_message` under `signed_dst`.
fn check_hash_only(r: &Value, message: &[u8], dst: &Tag) -> Result<(), String> {
    let hash = hash_to_g2(message, dst).map_err(err)?;
    expect_eq("signed_hash_point", hash.point.to_words(), point_words(r, "signed_hash_point")?)
}
