//! The spec's fixed onion vectors (`onion-storage.md` §2.12): libsession-util's layer-parse
//! test, and the constructed 3-hop request to a node, built byte for byte and peeled.

// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use sesh_identity::{Identity, Seed, X25519PublicKey, X25519SecretKey};
use sesh_onion::hop::{EncType, HopKey, Role};
use sesh_onion::node::{self, Action, Layer, NodeKeys, ReplyBody};
use sesh_onion::{Destination, Hop, build};
use sesh_testkit::ReplayRng;
use sha2::{Digest, Sha256};

fn key(hex_key: &str) -> [u8; 32] {
    hex::decode(hex_key).unwrap().try_into().unwrap()
}

fn replay(draws: &[Vec<u8>]) -> ReplayRng {
    let draws: Vec<String> = draws.iter().map(hex::encode).collect();
    ReplayRng::from_record(&serde_json::json!({ "rng_draws": draws }), "rng_draws").unwrap()
}

/// libsession-util tests/test_onionreq.cpp, "Onion request parser" (spec §2.12.1).
#[test]
fn upstream_layer_parse() {
    let a = X25519SecretKey::from_bytes(key(
        "d2ee09e1a557a077d385fcb69a11ffb6909ecdcc8348def3e0e4172c8a1431c1",
    ));
    let b = X25519SecretKey::from_bytes(key(
        "2f4d1c0d28e137777ec0a316e9f4f763e3e66662a6c51994c6315c9ef34b6deb",
    ));
    let (a_pub, b_pub) = (a.public_key(), b.public_key());
    assert_eq!(
        a_pub.to_string(),
        "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652"
    );
    assert_eq!(
        b_pub.to_string(),
        "8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726"
    );
    let keys = NodeKeys { secret: &b, public: &b_pub };

    let enc_gcm = hex::decode("270000009525d587d188c92a966eef0e7162bef99a6171a124575b998072a8ee7eb265e0b6f0930ed965047b22656e635f74797065223a20226165732d67636d222c2022657068656d6572616c5f6b6579223a202238313637653937363732303035633636396134383835386336393839356633393563613233353231396163336637613432313030323262316639313065363532227d").unwrap();
    let enc_xchacha = hex::decode("33000000e440bc244ddcafd947b86fc5a964aa58de54a6d75cc0f0f3840db14b6c1176a8e2e0a04d5fbdf98f23adee1edc8362ab99b10b7b22656e635f74797065223a2022786368616368613230222c2022657068656d6572616c5f6b6579223a202238313637653937363732303035633636396134383835386336393839356633393563613233353231396163336637613432313030323262316639313065363532227d").unwrap();

    for (request, enc, reply_len, key_hex) in [
        (
            &enc_gcm,
            EncType::AesGcm,
            41,
            "6215038efa8c2735db1aa5a086f75b51e972b8bdcf6926480bdec488cd4db99d",
        ),
        (
            &enc_xchacha,
            EncType::XChaCha20,
            53,
            "539091d458c3ba5ec79e5d2784452698e7c5f44138cdfeafca72e19c322e8fe5",
        ),
    ] {
        let opened = node::open(&keys, request).unwrap();
        assert_eq!(opened.plaintext, b"Hello world");
        assert_eq!(opened.reply_key.enc_type(), enc);
        assert_eq!(hex::encode(opened.reply_key.as_bytes()), key_hex);
        let reply = opened.reply_key.encrypt(b"Goodbye world", &mut rand_core::OsRng).unwrap();
        assert_eq!(reply.len(), reply_len);
        let client = HopKey::derive(enc, &a, &a_pub, &b_pub, Role::Client).unwrap();
        assert_eq!(client.decrypt(&reply).unwrap(), b"Goodbye world");
    }
}

fn named(name: &str) -> Identity {
    Identity::from_seed(&Seed::from_bytes(Sha256::digest(name.as_bytes()).into()))
}

fn hop_of(id: &Identity) -> Hop {
    Hop::from_ed25519(*id.ed25519_public_key()).unwrap()
}

/// The constructed 3-hop XChaCha20 request of spec §2.12.3.
#[test]
fn constructed_three_hops() {
    let nodes: Vec<Identity> =
        ["guard", "middle", "exit", "dest"].iter().map(|n| named(n)).collect();
    let expected = [
        (
            "485cb45bb8551443017cbaad89ee860096931320281823549cb564e412660d54",
            "20141ef7dfe1e15de9e6511a70a7609718fdead75b49a6768bb4db607709af63",
            "8e39148669022d5c633fd90e276eed4e677fbf5e3c9e72cb397c4a89bc988121",
        ),
        (
            "7191f9d3b4ea9cd2aab80bcb0747f8d78eec502e7c8e0df3bd6e311b4f0933f3",
            "e0387e3c669249243fa9b5cd70c4c665765f72cc722c862542f9ccbcd762e372",
            "dfbde48e4ddae5d68a31aebd0cff10916153f236bfa3146d9381e7848c1ae03d",
        ),
        (
            "3eb867ebdfd7da5c21ec8d6be9a14576942e1e33d02e395ef64211a027b44b95",
            "60516a87c5671cfc2cfa7ec7818153375823164f649f5fee4eb94cc186ef1d5d",
            "6771dd2a7f0ea30167d1393a6c44af919f4eea192c0d574ca6e9a5190388032a",
        ),
        (
            "8d8c32322308bfb0ba8924c69cc940182483417e4b264a7783dfcc54f5e3d508",
            "c8c42a7c0955e95ad2be4c35ba17b3ba54aee12f757ca4ce1360d587bca96a46",
            "18eb0afc113e0141aa7e200e21c249a79391e26cfe864dc886fc8a72252de236",
        ),
    ];
    for (node, (ed, x_sk, x_pk)) in nodes.iter().zip(expected) {
        assert_eq!(node.ed25519_public_key().to_string(), ed);
        assert_eq!(hex::encode(node.x25519_secret_key().as_bytes()), x_sk);
        assert_eq!(node.x25519_public_key().to_string(), x_pk);
    }

    // Draws, in build order: destination layer first.
    let mut draws = Vec::new();
    for layer in ["final", "exit", "middle", "guard"] {
        draws.push(Sha256::digest(format!("eph-{layer}").as_bytes()).to_vec());
        draws.push(Sha256::digest(format!("nonce-{layer}").as_bytes())[..24].to_vec());
    }
    let path: Vec<Hop> = nodes[..3].iter().map(hop_of).collect();
    let destination = Destination::Node(hop_of(&nodes[3]));
    let payload = br#"{"method":"info","params":{}}"#;
    let mut rng = replay(&draws);
    let request = build(&path, &destination, payload, EncType::XChaCha20, &mut rng).unwrap();
    rng.finish().unwrap();
    assert_eq!(request.bytes.len(), 894);
    assert_eq!(
        hex::encode(Sha256::digest(&request.bytes)),
        "5558a3c6fd04ae27954bb54c2f5e817d2c139ea15504d152c5c7d32a7335e717"
    );
    assert_eq!(
        request.reply.final_public_key().to_string(),
        "356ba42eac5ed096eedbdec811be56075af1f8ad5074b17930a599e30d492b2c"
    );

    // Peel it: guard, middle, exit, destination.
    let mut scratch = rand_core::OsRng;
    let mut layer = Layer::from_client(&request.bytes).unwrap();
    for (i, node) in nodes.iter().enumerate() {
        let keys = NodeKeys { secret: node.x25519_secret_key(), public: node.x25519_public_key() };
        match node::peel(&keys, &layer, &mut scratch).unwrap() {
            Action::Forward { next, message } => {
                assert_eq!(next, *nodes[i + 1].ed25519_public_key().as_bytes());
                layer = Layer::from_node(&message).unwrap();
                assert_eq!(layer.hop_no, i as i64 + 1);
            }
            Action::Deliver { request: body, reply } => {
                assert_eq!(i, 3);
                assert_eq!(body, payload);
                // The reply of the spec, with its nonce.
                let nonce =
                    hex::decode("feff9d2a79a3c09ed7aac02421d039a3a6041aab8f38a79c").unwrap();
                let sealed = reply
                    .seal(
                        200,
                        ReplyBody::Json(serde_json::json!({"hf": [19, 3]})),
                        &mut replay(&[nonce]),
                    )
                    .unwrap();
                assert_eq!(
                    String::from_utf8(sealed.clone()).unwrap(),
                    "/v+dKnmjwJ7XqsAkIdA5o6YEGquPOKecRx8BxlVuCx5qBNdw2U+sjRfwhSAXeSjO733oCRf6o1hcqWyeMLkl+giuPRCAfnHrq934QEHGlA=="
                );
                let response = request.reply.read_v3(200, &sealed).unwrap();
                assert_eq!(
                    (response.status, response.body.as_slice()),
                    (200, &br#"{"hf":[19,3]}"#[..])
                );
            }
            other => panic!("hop {i}: {other:?}"),
        }
    }
}

#[test]
fn nodes_answer_as_the_storage_server_does() {
    let node = named("node");
    let keys = NodeKeys { secret: node.x25519_secret_key(), public: node.x25519_public_key() };
    let client = X25519SecretKey::from_bytes([5; 32]);
    let client_pub = client.public_key();
    let to_node = HopKey::derive(
        EncType::XChaCha20,
        &client,
        &client_pub,
        node.x25519_public_key(),
        Role::Client,
    )
    .unwrap();
    let layer_with = |plain: &[u8]| {
        let ciphertext = to_node.encrypt(plain, &mut rand_core::OsRng).unwrap();
        let meta = format!(r#"{{"enc_type":"xchacha20","ephemeral_key":"{client_pub}"}}"#);
        Layer::from_client(&sesh_onion::payload::encode(&ciphertext, meta.as_bytes())).unwrap()
    };
    let read = |body: &[u8]| -> serde_json::Value {
        let b64 = core::str::from_utf8(body).unwrap();
        use base64::Engine as _;
        let ct = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        serde_json::from_slice(&to_node.decrypt(&ct).unwrap()).unwrap()
    };
    let mut rng = rand_core::OsRng;

    // Routing that cannot be read: an encrypted 400 "Invalid json" (HTTP 200).
    let rejected =
        node::peel(&keys, &layer_with(b"\x02\x00\x00\x00ab{not json"), &mut rng).unwrap_err();
    assert_eq!(rejected.status, 200);
    assert_eq!(read(&rejected.body), serde_json::json!({"body": "Invalid json", "status": 400}));
    // A relay to a target nodes refuse: encrypted 400 "Invalid url".
    let bad_url = sesh_onion::payload::encode(b"", br#"{"host":"h","target":"/admin"}"#);
    let rejected = node::peel(&keys, &layer_with(&bad_url), &mut rng).unwrap_err();
    assert_eq!(read(&rejected.body), serde_json::json!({"body": "Invalid url", "status": 400}));
    // A layer that does not decrypt: plaintext 400 "Invalid ciphertext".
    let mut garbled = layer_with(b"x");
    garbled.ciphertext[30] ^= 1;
    let rejected = node::peel(&keys, &garbled, &mut rng).unwrap_err();
    assert_eq!((rejected.status, rejected.body.as_slice()), (400, &b"Invalid ciphertext"[..]));
    // A relay to an allowed target.
    let good_url = sesh_onion::payload::encode(
        b"",
        br#"{"host":"h","target":"/oxen/v4/lsrpc","port":8080,"protocol":"http"}"#,
    );
    match node::peel(&keys, &layer_with(&good_url), &mut rng).unwrap() {
        Action::Relay { target, body, .. } => {
            assert_eq!(target.url(), "http://h:8080/oxen/v4/lsrpc");
            assert_eq!(body, good_url);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        node::Rejection::next_node_not_found(&[0xab; 32]).body,
        format!("Next node not found: {}", "ab".repeat(32)).into_bytes()
    );
    let _: X25519PublicKey = client_pub;
}
