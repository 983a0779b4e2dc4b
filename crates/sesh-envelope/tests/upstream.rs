//! The fixed vectors of the spec (`identity-envelopes.md` §3.4, §3.6, §4.6, §4.7), from
//! libsession-util's `test_session_encrypt.cpp` and the storage server's unit tests, and the
//! envelope layers against what the clients in the wild send.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use prost::Message as _;
use sesh_envelope::{Error, blinded, envelope, one_to_one, padding, proto, storage};
use sesh_identity::{Identity, Seed};
use sesh_testkit::ReplayRng;

fn identity(seed: &str) -> Identity {
    Identity::from_seed(&Seed::from_bytes(hex::decode(seed).unwrap().try_into().unwrap()))
}

fn one() -> Identity {
    identity("0123456789abcdef0123456789abcdef00000000000000000000000000000000")
}

fn two() -> Identity {
    identity("00112233445566778899aabbccddeeff00000000000000000000000000000000")
}

fn replay(draws: &[&str]) -> ReplayRng {
    let record = serde_json::json!({ "rng_draws": draws });
    ReplayRng::from_record(&record, "rng_draws").unwrap()
}

#[test]
fn deterministic_hello_d1() {
    let ct = one_to_one::encrypt_for_recipient_deterministic(&one(), &two().session_id(), b"hello")
        .unwrap();
    assert_eq!(
        hex::encode(&ct),
        "208f96785db92319bc7a14afecc01e17bde912d17bbb32834c03ea63b1862c2a1b730e0725ef75b2f1a276db584c59a0ed9b5497bcb9f4effa893b5cb8b04dbe7a6ab457ebf972f03b006dd4572980a725399616d40184b86aa3b7b218bdc6dd7c1adccda8ef4897f0f458492240b39079c27a6c791067ab26a03067a7602b50f0434639906f93e548f909d5286edde365ebddc146"
    );
    assert_eq!(ct.len(), 5 + one_to_one::OVERHEAD);
    let signed = one_to_one::sign_for_recipient(&one(), &two().session_id(), b"hello");
    assert_eq!(
        hex::encode(&signed[37..]),
        "636421cbdb1c0754612c57d210d7bd1daf2be3205f732bcf9130c47d35b2e5cdf3794b39f3d388358c6334153d33e580fcddfe70154108effe82d7db52ad4902"
    );
    let got = one_to_one::decrypt_incoming(&two(), &ct).unwrap();
    assert_eq!(got.plaintext(), b"hello");
    assert_eq!(got.sender_session_id().unwrap(), one().session_id());
}

#[test]
fn random_hello_d2_and_upstream_negatives() {
    let mut rng = replay(&["000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"]);
    let ct =
        one_to_one::encrypt_for_recipient(&one(), &two().session_id(), b"hello", &mut rng).unwrap();
    rng.finish().unwrap();
    assert_eq!(
        hex::encode(&ct),
        "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285fc624b68ba8d823f708e12cc5e866ad1820a50d6a85f80a882c8fffb14176ec32c9e3de1e0cc3d512f3fd2e0470bf3a88a1ccd1552679df591bd394dbe801b5f9caebc46eaa3d0a276619cdfae898307222fb1163cafd2840a7ad01d7211916a451888e52c59414a91f2cc1df5842a0bc8de5245178"
    );
    // The sender's own key does not open it; nor does a flipped bit at byte 2 or 14.
    assert_eq!(one_to_one::decrypt_incoming(&one(), &ct).unwrap_err(), Error::DecryptionFailed);
    for byte in [2, 14] {
        let mut bad = ct.clone();
        bad[byte] ^= 1;
        assert_eq!(
            one_to_one::decrypt_incoming(&two(), &bad).unwrap_err(),
            Error::DecryptionFailed
        );
    }
}

#[test]
fn blinded_hello_15_and_25() {
    let server: [u8; 32] =
        hex::decode("1d7e7f92b1ed3643855c98ecac02fc7274033a3467653f047d6e433540c03f17")
            .unwrap()
            .try_into()
            .unwrap();
    let nonce = "000102030405060708090a0b0c0d0e0f1011121314151617";
    let cases = [
        (
            true,
            "000449294bb842ef395bbefdc209909ed85b3a2516f438815a302f29a6b8bd2f2453bc64968fe927262e3db59fa814972fc8cf528f87000102030405060708090a0b0c0d0e0f1011121314151617",
        ),
        (
            false,
            "001fc6748a5e4aef59d666c57e0c8a4e1f299f9b32dffd1fb4602a20ac32a8907c5a43fea78f116bb1714fa9c4490eeb06ed90b23e92000102030405060708090a0b0c0d0e0f1011121314151617",
        ),
    ];
    for (fifteen, want) in cases {
        let (sender_kp, recipient_kp) = if fifteen {
            (one().blind15_keypair(&server).unwrap(), two().blind15_keypair(&server).unwrap())
        } else {
            (one().blind25_keypair(&server).unwrap(), two().blind25_keypair(&server).unwrap())
        };
        let mut rng = replay(&[nonce]);
        let ct = blinded::encrypt(&one(), &server, recipient_kp.id(), b"hello", &mut rng).unwrap();
        assert_eq!(hex::encode(&ct), want);
        let got =
            blinded::decrypt(&two(), &server, sender_kp.id(), recipient_kp.id(), &ct).unwrap();
        assert_eq!(got.plaintext(), b"hello");
        assert_eq!(*got.sender_session_id(), one().session_id());
        // A flipped nonce bit (index 23 of the nonce) fails.
        let mut bad = ct.clone();
        let at = bad.len() - 24 + 23;
        bad[at] ^= 1;
        assert_eq!(
            blinded::decrypt(&two(), &server, sender_kp.id(), recipient_kp.id(), &bad).unwrap_err(),
            Error::DecryptionFailed
        );
        let mut versioned = ct.clone();
        versioned[0] = 1;
        assert_eq!(
            blinded::decrypt(&two(), &server, sender_kp.id(), recipient_kp.id(), &versioned)
                .unwrap_err(),
            Error::UnsupportedBlindedVersion(1)
        );
    }
}

/// The stored message of the storage server's unit test (spec §4.6, §4.7): 347 bytes, from an
/// older desktop client.
const REAL_WORLD: &str = "CAES1gIKA1BVVBIPL2FwaS92MS9tZXNzYWdlGrsCCAYovfqZv4YvQq8CVwutUBbhRzZw80TvR6uTYMKg9DSagrtpeEpY31L7VxawfS8aSya0SiDa4J025SkjP13YX8g5pxgQ8Z6hgfNArMqr/tSijJ9miVKVDJ63YWE85O8kyWF8tdtZR5j0Vxb+JH5U8Rg1bp7ftKk3OSf7JJMcrUUrDnctQHe540zJ2OTDJ03DfubkX5NmKqEu5nhXGxeeDv3mTiL63fjtCvZYcikfjf6Nh1AX++HTgJ9SGoEIMastGUorFrmmXb2sbjHxNiJn0Radj/VzcA9VxYwBW5+AbGQ2d9+vvm7X+8vh+jIenJfjxf+8CWER+9adNfb4YUH07I+godNCV0O0J05gzqfKdT7J8MBZzFBtKrbk8oCagPpTsq/wZyYFKFKKD+q+zh704dYBILvs5yXUA96pIAA=";

#[test]
fn real_world_message_decodes_layer_by_layer() {
    let data = storage::decode_data(REAL_WORLD).unwrap();
    assert_eq!(data.len(), 347);
    assert!(hex::encode(&data).starts_with(
        "080112d6020a03505554120f2f6170692f76312f6d6573736167651abb02080628bdfa99bf862f42"
    ));
    let owner: [u8; 33] =
        hex::decode("05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48")
            .unwrap()
            .try_into()
            .unwrap();
    assert_eq!(
        storage::message_hash(&owner, storage::NAMESPACE_DEFAULT, &data),
        "4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs"
    );

    // WebSocketMessage { type: REQUEST, request: { verb: "PUT", path: "/api/v1/message", body } }
    let websocket = proto::WebSocketMessage::decode(data.as_slice()).unwrap();
    assert_eq!(websocket.r#type, Some(proto::web_socket_message::Type::Request as i32));
    let request = websocket.request.as_ref().unwrap();
    assert_eq!(request.verb.as_deref(), Some("PUT"));
    assert_eq!(request.path.as_deref(), Some("/api/v1/message"));
    assert_eq!(request.request_id, Some(0));
    assert_eq!(request.body.as_ref().unwrap().len(), 315);

    // Envelope { type: 6, timestamp: 1616650861885, content: 303 bytes }
    let body = envelope::unwrap_websocket(&data).unwrap();
    let (info, content) = envelope::parse_envelope(&body).unwrap();
    assert_eq!(info.kind, Some(proto::envelope::Type::SessionMessage as i32));
    assert_eq!(info.timestamp_ms, 1_616_650_861_885);
    assert_eq!((info.source, info.source_device, info.pro_sig), (None, None, None));
    // The sealed box: 48 + 159 (legacy padding of a Content) + 32 + 64.
    assert_eq!(content.len(), 303);
    assert_eq!(content.len() - one_to_one::OVERHEAD, 159);
    // Nobody but its recipient opens it.
    assert_eq!(
        one_to_one::decrypt_incoming(&one(), &content).unwrap_err(),
        Error::DecryptionFailed
    );
}

#[test]
fn layers_round_trip() {
    let alice = one();
    let bob = two();
    let mut rng = replay(&["1111111111111111111111111111111111111111111111111111111111111111"]);
    let content = envelope::text_content("hello", 1_700_000_000_123).encode_to_vec();
    let stored = envelope::encode_for_recipient(
        &alice,
        &bob.session_id(),
        &content,
        1_700_000_000_123,
        &mut rng,
    )
    .unwrap();

    // What libsession-util writes: type REQUEST, verb and path present and empty, request_id 0,
    // and an envelope with type 6, source_device 1.
    let websocket = proto::WebSocketMessage::decode(stored.as_slice()).unwrap();
    let request = websocket.request.unwrap();
    assert_eq!((request.verb.as_deref(), request.path.as_deref()), (Some(""), Some("")));
    let (info, ciphertext) = envelope::parse_envelope(&request.body.unwrap()).unwrap();
    assert_eq!(info.source_device, Some(1));
    assert_eq!(ciphertext.len(), padding::padded_len(content.len()) + one_to_one::OVERHEAD);

    let message = envelope::decode_for_recipient(&bob, &stored).unwrap();
    assert_eq!(message.content_bytes(), content.as_slice());
    assert_eq!(message.sender_session_id().unwrap(), alice.session_id());
    assert_eq!(message.envelope().timestamp_ms, 1_700_000_000_123);
    let parsed = message.content().unwrap();
    assert_eq!(parsed.sig_timestamp, Some(1_700_000_000_123));
    assert_eq!(parsed.data_message.unwrap().body.as_deref(), Some("hello"));
    assert_eq!(
        envelope::decode_for_recipient(&alice, &stored).unwrap_err(),
        Error::DecryptionFailed
    );
}

fn stored_with(envelope: proto::Envelope, verb: Option<&str>, path: Option<&str>) -> Vec<u8> {
    proto::WebSocketMessage {
        r#type: Some(1),
        request: Some(proto::WebSocketRequestMessage {
            verb: verb.map(str::to_owned),
            path: path.map(str::to_owned),
            body: Some(envelope.encode_to_vec()),
            headers: vec![],
            request_id: None,
        }),
    }
    .encode_to_vec()
}

#[test]
fn envelope_variants_of_the_clients_in_use() {
    let bob = two();
    let alice = one();
    let padded = padding::pad(&envelope::text_content("hi", 5).encode_to_vec());
    let ciphertext =
        one_to_one::encrypt_for_recipient_deterministic(&alice, &bob.session_id(), &padded)
            .unwrap();
    let base = proto::Envelope {
        r#type: Some(6),
        timestamp: Some(5),
        content: Some(ciphertext),
        ..Default::default()
    };
    let alice_hex = alice.session_id().to_string();
    let accepted = [
        // Older desktop: PUT /api/v1/message, no source_device.
        stored_with(base.clone(), Some("PUT"), Some("/api/v1/message")),
        // No verb or path at all.
        stored_with(base.clone(), None, None),
        // Older iOS and Android: source present but empty.
        stored_with(proto::Envelope { source: Some(String::new()), ..base.clone() }, None, None),
        // A 66-hex source, source_device 1, a Pro signature, a server timestamp.
        stored_with(
            proto::Envelope {
                source: Some(alice_hex),
                source_device: Some(1),
                pro_sig: Some(vec![7; 64]),
                server_timestamp: Some(9),
                ..base.clone()
            },
            Some(""),
            Some(""),
        ),
        // No envelope type (receivers go by the namespace).
        stored_with(proto::Envelope { r#type: None, ..base.clone() }, None, None),
    ];
    for stored in &accepted {
        let message = envelope::decode_for_recipient(&bob, stored).unwrap();
        assert_eq!(message.content().unwrap().data_message.unwrap().body.as_deref(), Some("hi"));
    }

    let refused = [
        (
            stored_with(proto::Envelope { pro_sig: Some(vec![7; 63]), ..base.clone() }, None, None),
            "pro_sig",
        ),
        (
            stored_with(
                proto::Envelope { source: Some("05ab".into()), ..base.clone() },
                None,
                None,
            ),
            "source",
        ),
    ];
    for (stored, field) in &refused {
        match envelope::decode_for_recipient(&bob, stored) {
            Err(Error::InvalidField { field: got, .. }) => assert_eq!(got, *field),
            other => panic!("expected an invalid {field}, got {other:?}"),
        }
    }
    assert!(matches!(
        envelope::decode_for_recipient(
            &bob,
            &stored_with(proto::Envelope { timestamp: None, ..base.clone() }, None, None)
        ),
        Err(Error::MissingField { field: "timestamp", .. })
    ));
    assert!(matches!(
        envelope::decode_for_recipient(
            &bob,
            &stored_with(proto::Envelope { content: None, ..base.clone() }, None, None)
        ),
        Err(Error::MissingField { field: "content", .. })
    ));
    // Protocol v2 starts with a 0 byte and is not read as protobuf.
    assert_eq!(
        envelope::decode_for_recipient(&bob, &[0x00, 0x02, 1, 2, 3]).unwrap_err(),
        Error::ProtocolV2
    );
    assert!(matches!(
        envelope::decode_for_recipient(&bob, &[0xff; 10]),
        Err(Error::Protobuf { what: "WebSocketMessage", .. })
    ));
    let no_request = proto::WebSocketMessage { r#type: Some(1), request: None }.encode_to_vec();
    assert!(matches!(
        envelope::decode_for_recipient(&bob, &no_request),
        Err(Error::MissingField { field: "request", .. })
    ));
}
