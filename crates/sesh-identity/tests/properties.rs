//! Properties: phrases and IDs round-trip, no input makes a parser panic, each rule a parser
//! enforces is reported as itself, and secrets never show in `Debug`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use sesh_identity::{
    AccountSeed, AnyId, BlindedId, Ed25519PublicKey, Error, GroupId, Identity, RecoveryPhrase,
    Seed, SessionId, X25519PublicKey, X25519SecretKey, blinding, mnemonic,
};

/// Strings a person might paste where an ID is wanted: hex of about the right length with a
/// random prefix, hex of random length, and anything at all.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "(00|03|05|07|15|25|[0-9a-fA-F]{2})[0-9a-fA-F]{64}",
        "[0-9a-fA-F]{0,70}",
        "\\PC{0,80}",
        ".{0,80}",
    ]
}

/// Phrase-like strings: list words (some mangled) and arbitrary text.
fn phrase_like() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        (0usize..1626).prop_map(|i| mnemonic::english_words()[i].to_owned()),
        (0usize..1626).prop_map(|i| mnemonic::english_words()[i].to_uppercase()),
        (0usize..1626).prop_map(|i| mnemonic::english_words()[i][..3].to_owned() + "x"),
        "\\PC{0,6}",
    ];
    prop_oneof![proptest::collection::vec(word, 0..30).prop_map(|w| w.join(" ")), "\\PC{0,200}",]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn account_phrase_round_trips(bytes in any::<[u8; 16]>()) {
        let seed = AccountSeed::from_bytes(bytes);
        let phrase = seed.recovery_phrase();
        prop_assert_eq!(phrase.words().count(), 13);
        let back: RecoveryPhrase = phrase.as_str().parse().unwrap();
        prop_assert_eq!(back.account_seed(), Some(seed));
        // Only the first three letters of each word count, in any case.
        let short: Vec<String> = phrase.words().map(|w| w[..3].to_uppercase()).collect();
        prop_assert_eq!(short.join(" ").parse::<RecoveryPhrase>().unwrap(), back);
    }

    #[test]
    fn legacy_phrase_round_trips(bytes in any::<[u8; 32]>()) {
        let seed = Seed::from_bytes(bytes);
        let phrase = RecoveryPhrase::from_seed(&seed);
        let back: RecoveryPhrase = phrase.as_str().parse().unwrap();
        prop_assert_eq!(back.seed(), &seed);
    }

    #[test]
    fn words_round_trip(groups in proptest::collection::vec(any::<[u8; 4]>(), 0..20), checksum: bool) {
        let bytes: Vec<u8> = groups.concat();
        let words = mnemonic::encode(&bytes, checksum).unwrap();
        prop_assert_eq!(&*mnemonic::decode(&words).unwrap(), &bytes);
    }

    #[test]
    fn a_changed_word_is_caught(bytes in any::<[u8; 16]>(), position in 0usize..13, replacement in 0usize..1626) {
        let phrase = AccountSeed::from_bytes(bytes).recovery_phrase();
        let mut words: Vec<&str> = phrase.words().collect();
        let new = mnemonic::english_words()[replacement];
        prop_assume!(new[..3] != words[position][..3]);
        words[position] = new;
        // Changing a word either fails the checksum or the group decode, or (rarely) picks a
        // different seed whose checksum word happens to match; it never decodes silently to
        // the same seed.
        if let Ok(other) = words.join(" ").parse::<RecoveryPhrase>() {
            prop_assert_ne!(other.account_seed(), Some(AccountSeed::from_bytes(bytes)));
        }
    }

    #[test]
    fn ids_round_trip(bytes in any::<[u8; 16]>(), server in any::<[u8; 32]>()) {
        let me = Identity::from_account_seed(&AccountSeed::from_bytes(bytes));
        let id = me.session_id();
        prop_assert_eq!(id.to_string().parse::<SessionId>().unwrap(), id);
        prop_assert_eq!(id.to_string().to_uppercase().parse::<SessionId>().unwrap(), id);
        prop_assert_eq!(SessionId::from_bytes(&id.to_bytes()).unwrap(), id);
        prop_assert_eq!(id.to_string().parse::<AnyId>().unwrap(), AnyId::Session(id));

        let blinded = blinding::blind25_id(&id, &server).unwrap();
        prop_assert_eq!(blinded.to_string().parse::<BlindedId>().unwrap(), blinded);
        prop_assert_eq!(blinded.to_string().parse::<AnyId>().unwrap(), AnyId::Blinded(blinded));
        for candidate in blinding::blind15_ids(&id, &server).unwrap() {
            prop_assert_eq!(candidate.to_string().parse::<BlindedId>().unwrap(), candidate);
        }

        let group = GroupId::from_ed25519(*me.ed25519_public_key());
        prop_assert_eq!(group.to_string().parse::<GroupId>().unwrap(), group);
        prop_assert_eq!(group.to_string().parse::<AnyId>().unwrap(), AnyId::Group(group));
        let key = *me.ed25519_public_key();
        prop_assert_eq!(key.to_string().parse::<Ed25519PublicKey>().unwrap(), key);
        prop_assert_eq!(SessionId::from_ed25519(&key).unwrap(), id);
    }

    #[test]
    fn what_parses_prints_back(bytes in any::<[u8; 33]>()) {
        // Most random keys are refused; those accepted must print as they were read.
        if let Ok(id) = AnyId::from_bytes(&bytes) {
            prop_assert_eq!(id.to_bytes(), bytes);
            prop_assert_eq!(id.to_string(), hex::encode(bytes));
            prop_assert_eq!(id.to_string().parse::<AnyId>().unwrap(), id);
        }
    }

    #[test]
    fn no_id_string_makes_a_parser_panic(s in id_like()) {
        let _ = s.parse::<SessionId>();
        let _ = s.parse::<GroupId>();
        let _ = s.parse::<BlindedId>();
        let _ = s.parse::<AnyId>();
        let _ = s.parse::<Ed25519PublicKey>();
        let _ = s.parse::<X25519PublicKey>();
        let _ = AnyId::try_from(s.as_bytes());
        let _ = SessionId::try_from(s.as_bytes());
        if let Ok(key) = Ed25519PublicKey::try_from(s.as_bytes()) {
            let _ = key.to_x25519();
        }
    }

    #[test]
    fn no_phrase_makes_a_parser_panic(s in phrase_like()) {
        let _ = s.parse::<RecoveryPhrase>();
        let words: Vec<&str> = s.split_whitespace().collect();
        let _ = mnemonic::decode(&words);
    }

    #[test]
    fn random_x25519_keys_are_sorted_out_without_panicking(key in any::<[u8; 32]>()) {
        match SessionId::from_x25519(X25519PublicKey::from_bytes(key)) {
            // A key that passed can be blinded: it is in the prime-order subgroup.
            Ok(id) => { blinding::blind25_id(&id, &[1; 32]).unwrap(); }
            Err(Error::NonCanonical { .. } | Error::NotOnCurve { .. } | Error::LowOrderPoint { .. }
                | Error::NotInPrimeOrderSubgroup { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

#[test]
fn id_errors_name_the_rule() {
    let good = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72";
    assert_eq!(
        good[..65].parse::<SessionId>(),
        Err(Error::InvalidLength { what: "Session ID", expected: 66, actual: 65 })
    );
    assert_eq!(
        format!("{}g", &good[..65]).parse::<SessionId>(),
        Err(Error::InvalidHex { what: "Session ID", character: 'g', position: 65 })
    );
    assert_eq!(
        format!("{}é", &good[..65]).parse::<SessionId>(),
        Err(Error::InvalidHex { what: "Session ID", character: 'é', position: 65 })
    );
    assert_eq!(
        format!("15{}", &good[2..]).parse::<SessionId>(),
        Err(Error::WrongPrefix { what: "Session ID", expected: "05", found: 0x15 })
    );
    let check = |key: &str| format!("05{key}").parse::<SessionId>();
    // u = 0, u = 1 and an order-8 point: low order.
    for key in [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ] {
        assert_eq!(check(key), Err(Error::LowOrderPoint { what: "Session ID" }), "{key}");
    }
    // A point of the twist: the first small u whose Edwards image does not decode.
    let twist = (2u8..)
        .map(|u| {
            let mut key = [0u8; 32];
            key[0] = u;
            key
        })
        .find(|key| curve25519_dalek::MontgomeryPoint(*key).to_edwards(0).is_none())
        .unwrap();
    assert_eq!(check(&hex::encode(twist)), Err(Error::NotOnCurve { what: "Session ID" }));
    // negative.jsonl calls this key a twist point; it is on the curve, with a torsion part, and
    // libsession refuses it for that ("not on main subgroup").
    assert_eq!(
        check("925ab2a98f753fc94ba37465c7b96f520d3f6f475e4f793241108142d4577d29"),
        Err(Error::NotInPrimeOrderSubgroup { what: "Session ID" })
    );
    // u >= p, and the top bit set.
    assert_eq!(
        check("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        Err(Error::NonCanonical { what: "Session ID" })
    );
    assert_eq!(
        check("d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3af2"),
        Err(Error::NonCanonical { what: "Session ID" })
    );
    // A valid point plus a point of order 2 (u ↦ 1/u): on the curve, but with a torsion part.
    let torsioned = {
        let id: SessionId = good.parse().unwrap();
        let p = xed_point(&id);
        let t = curve25519_dalek::constants::EIGHT_TORSION[4];
        hex::encode((p + t).to_montgomery().to_bytes())
    };
    assert_eq!(check(&torsioned), Err(Error::NotInPrimeOrderSubgroup { what: "Session ID" }));

    assert_eq!(
        "ff".repeat(33).parse::<AnyId>(),
        Err(Error::WrongPrefix {
            what: "ID",
            expected: "one of 00, 03, 05, 07, 15 or 25",
            found: 0xff
        })
    );
    assert!(matches!(
        format!("05{}", &good[2..]).parse::<BlindedId>(),
        Err(Error::WrongPrefix { found: 0x05, .. })
    ));
    // Ed25519 keys: y = 2 is off the curve; y = p is non-canonical.
    assert_eq!(
        format!("03{}", "02".to_owned() + &"00".repeat(31)).parse::<GroupId>(),
        Err(Error::NotOnCurve { what: "group ID" })
    );
    assert_eq!(
        format!("03ed{}7f", "ff".repeat(30)).parse::<GroupId>(),
        Err(Error::NonCanonical { what: "group ID" })
    );
}

fn xed_point(id: &SessionId) -> curve25519_dalek::EdwardsPoint {
    curve25519_dalek::edwards::CompressedEdwardsY(
        *sesh_identity::xed25519::public_key(id.x25519_public_key()).unwrap().as_bytes(),
    )
    .decompress()
    .unwrap()
}

#[test]
fn debug_never_prints_secrets() {
    let seed_bytes = [0x5au8; 16];
    let seed = AccountSeed::from_bytes(seed_bytes);
    let me = Identity::from_account_seed(&seed);
    let phrase = me.recovery_phrase();
    let secrets = [
        hex::encode(seed_bytes),
        hex::encode(me.seed().as_bytes()),
        hex::encode(me.x25519_secret_key().as_bytes()),
        phrase.words().next().unwrap().to_owned(),
    ];
    let kp = me.blind25_keypair(&[1; 32]).unwrap();
    let printed = [
        format!("{seed:?}"),
        format!("{:?}", me.seed()),
        format!("{me:?}"),
        format!("{me:#?}"),
        format!("{phrase:?}"),
        format!("{:?}", me.x25519_secret_key()),
        format!("{kp:?}"),
        format!("{:?}", me.version_blinded_key()),
        format!("{:?}", X25519SecretKey::from_bytes([0x5a; 32])),
    ];
    for text in &printed {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{text} shows a secret");
        }
        assert!(!text.contains("5a5a"), "{text} shows secret bytes");
    }
    assert!(format!("{me:?}").contains(&me.session_id().to_string()));
}

#[cfg(feature = "serde")]
#[test]
fn serde_hex_in_json() {
    let me = Identity::from_account_seed(&AccountSeed::from_bytes([1; 16]));
    let id = me.session_id();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("\"{id}\""));
    assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
    let any: AnyId = serde_json::from_str(&json).unwrap();
    assert_eq!(any, AnyId::Session(id));
    let key = *me.ed25519_public_key();
    assert_eq!(
        serde_json::from_str::<Ed25519PublicKey>(&serde_json::to_string(&key).unwrap()).unwrap(),
        key
    );
    // A bad ID is a deserialisation error that says why.
    let err = serde_json::from_str::<SessionId>("\"15ab\"").unwrap_err().to_string();
    assert!(err.contains("66 hex characters"), "{err}");
}
