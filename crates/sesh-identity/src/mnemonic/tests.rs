//! The upstream mnemonic vectors (libsession-util `tests/test_mnemonics.cpp`, session-desktop)
//! quoted in the spec, §1.4.

use super::*;
use crate::{AccountSeed, Identity};

fn words(phrase: &str) -> Vec<&str> {
    phrase.split(' ').collect()
}

#[test]
fn upstream_encodings() {
    let cases: [(&str, &str); 3] = [
        (
            "000102030405060708090a0b0c0d0e0f",
            "amaze buffet cake entrance symptoms tiger lamb maze nestle python dusted faxed faxed",
        ),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "amaze buffet cake entrance symptoms tiger lamb maze nestle python dusted faxed update \
             vague zinger boxes ornament renting glass gained island nabbing afield calamity boxes",
        ),
        (
            "00000000000000000000000000000000",
            "abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey abbey",
        ),
    ];
    for (entropy, phrase) in cases {
        let entropy = hex::decode(entropy).unwrap();
        assert_eq!(encode(&entropy, true).unwrap().join(" "), phrase);
        assert_eq!(*decode(&words(phrase)).unwrap(), entropy);
    }
}

#[test]
fn upstream_word_list_vector() {
    // SHA-512("libsession-util mnemonic test vector"), 48 words, no checksum: pins the list.
    let seed = hex::decode(
        "0dd5d9bc3d68c25a396f4aacd922a4d620a19cf3c9054cb825dd8a2c5420f4f3\
         ca314c582ffef5388df36e2546cc9103dd1776a634f676e1e631289b8d280b2e",
    )
    .unwrap();
    let expected = "threaten efficient wives skirting repent ashtray rural ammo reunion yoyo already \
        tucks attire waxing uphill template ghetto anxiety utensils newt safety paper quote \
        pebbles album gnaw puppy tidy foxes menu evenings spying wallets plotting fuselage \
        geometry toilet cylinder swagger eels when tether cowl saga gossip vats bias federal";
    let got = encode(&seed, false).unwrap();
    assert_eq!(got.len(), 48);
    assert_eq!(got.join(" "), expected.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(*decode(&got).unwrap(), seed);
}

#[test]
fn upstream_prefix_and_case_rules() {
    // 01 02 03 04 encodes as three words (no checksum); upper case, bare prefixes and typos
    // after the prefix all decode to the same bytes.
    let data = [1u8, 2, 3, 4];
    let got = encode(&data, false).unwrap();
    assert_eq!(got, ["object", "anxiety", "asked"]);
    for variant in [
        vec!["OBJECT", "ANXIETY", "ASKED"],
        vec!["obj", "anx", "ask"],
        vec!["objxyz", "anxxyz", "askxyz"],
    ] {
        assert_eq!(*decode(&variant).unwrap(), data);
    }
    let with_checksum = encode(&data, true).unwrap();
    assert_eq!(with_checksum.len(), 4);
    assert!(got.contains(&with_checksum[3]));
    assert_eq!(*decode(&with_checksum).unwrap(), data);
}

#[test]
fn upstream_rejections() {
    // An overflowing group: libsession rejects {"abbey", "abbey", "zoom"}.
    assert_eq!(decode(&["abbey", "abbey", "zoom"]), Err(Error::InvalidWordGroup { position: 1 }));
    assert_eq!(encode(&[0; 15], true), Err(Error::UnencodableLength(15)));
    assert!(matches!(decode(&["abbey", "abducts"]), Err(Error::WrongWordCount { actual: 2, .. })));
    assert_eq!(
        decode(&["object", "anxiety", "asked", "ZZZunknown"]),
        Err(Error::UnknownWord { position: 4, word: "ZZZunknown".into() })
    );
    // A known word that is none of the seed words cannot be the checksum word.
    assert_eq!(
        decode(&["object", "anxiety", "asked", "zoom"]),
        Err(Error::ChecksumMismatch { word: "zoom".into() })
    );
}

#[test]
fn spec_full_chain_vectors() {
    let cases = [
        (
            "vexed enjoy pigment films adept voted vexed enjoy pigment films adept voted adept",
            "0123456789abcdef0123456789abcdef",
            "4cb76fdc6d32278e3f83dbf608360ecc6b65727934b85d2fb86862ff98c46ab7",
            "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72",
        ),
        (
            "python costume hamburger heels amnesty lukewarm antics value picked roped sowed southern amnesty",
            "00112233445566778899aabbccddeeff",
            "5ea34e72bb044654a6a23675690ef5ffaaf1656b02f93fb76655f9cbdbe89876",
            "05aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74",
        ),
        (
            "amaze buffet cake entrance symptoms tiger lamb maze nestle python dusted faxed faxed",
            "000102030405060708090a0b0c0d0e0f",
            "65adc5bfb14b5363f1b50e63a431f6fe08ff5d4e8d362c1e3d4c56c9d044bfb0",
            "05ca03b8e369aeeb69fd260c2957d37b232db17a60db7a39bca9f0c0a6be135c1a",
        ),
    ];
    for (phrase, entropy, ed_pk, session_id) in cases {
        let parsed: RecoveryPhrase = phrase.parse().unwrap();
        assert_eq!(parsed.as_str(), phrase);
        let account = parsed.account_seed().unwrap();
        assert_eq!(hex::encode(account.as_bytes()), entropy);
        let id = Identity::from_recovery_phrase(&parsed);
        assert_eq!(id.ed25519_public_key().to_string(), ed_pk);
        assert_eq!(id.session_id().to_string(), session_id);
        assert_eq!(id.recovery_phrase().as_str(), phrase);
        assert_eq!(AccountSeed::from_bytes(*account.as_bytes()).recovery_phrase(), parsed);
    }
}

#[test]
fn recovery_phrase_errors_name_the_word() {
    let good = "vexed enjoy pigment films adept voted vexed enjoy pigment films adept voted adept";
    assert!(matches!(
        good.replacen("pigment", "qqqment", 1).parse::<RecoveryPhrase>(),
        Err(Error::UnknownWord { position: 3, ref word }) if word == "qqqment"
    ));
    assert!(matches!(
        "vexed enjoy pigment films adept voted vexed enjoy pigment films adept voted vexed"
            .parse::<RecoveryPhrase>(),
        Err(Error::ChecksumMismatch { ref word }) if word == "vexed"
    ));
    let twelve = good.rsplit_once(' ').unwrap().0;
    assert!(matches!(
        twelve.parse::<RecoveryPhrase>(),
        Err(Error::WrongWordCount { actual: 12, .. })
    ));
    // Whitespace and case are forgiven; the canonical form comes back.
    let sloppy = format!("  {}\n", good.to_uppercase().replace(' ', "\t "));
    assert_eq!(sloppy.parse::<RecoveryPhrase>().unwrap().as_str(), good);
}

#[test]
fn legacy_25_word_phrase() {
    let seed = crate::Seed::from_bytes(core::array::from_fn(|i| u8::try_from(i).unwrap()));
    let phrase = RecoveryPhrase::from_seed(&seed);
    assert_eq!(phrase.words().count(), 25);
    let back: RecoveryPhrase = phrase.as_str().parse().unwrap();
    assert_eq!(back.seed(), &seed);
    assert!(back.account_seed().is_none());
    assert_eq!(format!("{back:?}"), "RecoveryPhrase(<25 secret words>)");
}
