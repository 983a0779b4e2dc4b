//! The fixed vectors of libsession-util's own unit tests, as quoted in the spec
//! (`identity-envelopes.md` §1.4 and §2.7): `test_ed25519.cpp`, `test_curve25519.cpp`,
//! `test_xed25519.cpp`, `test_session_encrypt.cpp` and `test_blinding.cpp`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use sesh_identity::{
    BlindedId, Ed25519PublicKey, Identity, Platform, Seed, SessionId, blinding, xed25519,
};

fn seed(hex_seed: &str) -> Identity {
    Identity::from_seed(&Seed::from_bytes(hex::decode(hex_seed).unwrap().try_into().unwrap()))
}

fn sk64(hex_sk: &str) -> Identity {
    Identity::from_libsodium_secret_key(&hex::decode(hex_sk).unwrap().try_into().unwrap()).unwrap()
}

fn bytes32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

#[test]
fn key_conversion() {
    // test_ed25519.cpp / test_curve25519.cpp use these hex strings as seeds.
    let a = seed("4cb76fdc6d32278e3f83dbf608360ecc6b65727934b85d2fb86862ff98c46ab7");
    assert_eq!(
        a.ed25519_public_key().to_string(),
        "8862834829a87e0afadfed763fa8785e893dbde7f2c001ff1071aa55005c347f"
    );
    assert_eq!(
        hex::encode(a.x25519_secret_key().as_bytes()),
        "207e5d97e761300f96c10adc11efdd6d5c15188a9a7682ec05b30ca017e9b447"
    );
    assert_eq!(
        hex::encode(a.sign(b"hello").to_bytes()),
        "e03b6e87a53d83f202f2501e9b52193dbe4a64c6503f88244948dee5327185011574589aa7b59bc9757f9b9c31b7be9c9212b92ac7c81e029ee21c338ee12405"
    );

    let b = seed("5ea34e72bb044654a6a23675690ef5ffaaf1656b02f93fb76655f9cbdbe89876");
    assert_eq!(
        b.ed25519_public_key().to_string(),
        "cd83ca3d13ad8a954d5011aa7861abe3a29ac25b70c4ed5234aff74d34ef5786"
    );
    assert_eq!(
        hex::encode(b.x25519_secret_key().as_bytes()),
        "904943eff27142a8e5cd37c84e2437c9979a560b044bf9a65a8d644b325fe56a"
    );

    // Ed25519 public key -> X25519 public key.
    for (ed, x) in [
        (
            "4cb76fdc6d32278e3f83dbf608360ecc6b65727934b85d2fb86862ff98c46ab7",
            "d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72",
        ),
        (
            "5ea34e72bb044654a6a23675690ef5ffaaf1656b02f93fb76655f9cbdbe89876",
            "aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74",
        ),
    ] {
        let key: Ed25519PublicKey = ed.parse().unwrap();
        assert_eq!(key.to_x25519().unwrap().to_string(), x);
    }
}

#[test]
fn session_encrypt_identities() {
    // test_session_encrypt.cpp: the two seeds of the 1:1 tests.
    let one = seed("0123456789abcdef0123456789abcdef00000000000000000000000000000000");
    assert_eq!(
        one.ed25519_public_key().to_string(),
        "4cb76fdc6d32278e3f83dbf608360ecc6b65727934b85d2fb86862ff98c46ab7"
    );
    assert_eq!(
        one.session_id().to_string(),
        "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
    );
    let two = seed("00112233445566778899aabbccddeeff00000000000000000000000000000000");
    assert_eq!(
        two.ed25519_public_key().to_string(),
        "5ea34e72bb044654a6a23675690ef5ffaaf1656b02f93fb76655f9cbdbe89876"
    );
    assert_eq!(
        two.session_id().to_string(),
        "05aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74"
    );

    // Spec §2.7: their blinded key pairs on the server of the blinded-DM tests.
    let server = bytes32("1d7e7f92b1ed3643855c98ecac02fc7274033a3467653f047d6e433540c03f17");
    let kp15 = one.blind15_keypair(&server).unwrap();
    assert_eq!(
        kp15.public_key().to_string(),
        "5678ab7f648665b1e90e3c19e56bbaa9d5890f367d1000101aebe265c46ae8c4"
    );
    assert_eq!(
        hex::encode(*kp15.secret_scalar()),
        "2feb4f43d4f8d7f1743c92aebc844309428519e2b7f6cfc48f3ff279447c6505"
    );
    let kp25 = one.blind25_keypair(&server).unwrap();
    assert_eq!(
        kp25.public_key().to_string(),
        "8ce2ed7e357093056e9c4a72a1cba4718647134f2c23b76dedcc9c79b7a1f53a"
    );
    assert_eq!(
        hex::encode(*kp25.secret_scalar()),
        "32eeca0da4b8baad485cb7cc962f301634f307a91addfd05c11efdc43ec7aa0e"
    );
    assert_eq!(
        two.blind15_keypair(&server).unwrap().public_key().to_string(),
        "9ee46909a9656e978e9555fbbf62db8bf4629790fbc556ced2f363a0ae272aeb"
    );
    assert_eq!(
        two.blind25_keypair(&server).unwrap().public_key().to_string(),
        "4a9f0487029641ea81a674ee06cbcf05fe1e53bcd1e6447d1cbf14ccfdabd78b"
    );
}

const SK1: &str = "fecd9a6034bc9aba273925dee7062b123334587c3c6257341afae2d7fe85e122f4ef873908f6a5377ba3853f0e2fa326eed9e741edf9f7d0311a3ecc66a57b32";
const SK2: &str = "8659efdcbe0949e0f81141e6d397e8be75f45d09262f209d5950e97989eb43c73570b69a47dc094544c1c5089c40414bbda1ffdde8aab2617fe937ee74a5ee81";
const SA: &str = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const SB: &str = "00cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const SC: &str = "999def0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const SD: &str = "888def0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const SE: &str = "777def0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

#[test]
fn blinding_keys_and_ids() {
    let one = sk64(SK1);
    let two = sk64(SK2);
    let sid1 = one.session_id();
    let sid2 = two.session_id();
    assert_eq!(
        sid1.to_string(),
        "05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f"
    );
    assert_eq!(
        sid2.to_string(),
        "0505c9a9bf178fa644d44bebf628716dc7f2df3d0842e97881962c723699152073"
    );
    assert!(two.ed25519_public_key().is_negative());
    assert_eq!(
        xed25519::public_key(sid2.x25519_public_key()).unwrap().to_string(),
        "3570b69a47dc094544c1c5089c40414bbda1ffdde8aab2617fe937ee74a5ee01"
    );

    let b25 = |sid: &SessionId, server: &str| {
        blinding::blind25_id(sid, &bytes32(server)).unwrap().to_string()
    };
    assert_eq!(
        b25(&sid1, SA),
        "253b991dcbba44cfdb45d5b38880d95cff723309e3ece6fd01415ad5fa1dccc7ac"
    );
    assert_eq!(
        b25(&sid1, SB),
        "2598589c7885b56cbeae6ab7b4224f202815520a54995872cb1833b44db6401c8d"
    );
    assert_eq!(
        b25(&sid2, SA),
        "25a69cc6884530bf8498d22892e563716c4742f2845a7eb608de2aecbe7b6b5996"
    );

    let sa = bytes32(SA);
    let [first, second] = blinding::blind15_ids(&sid1, &sa).unwrap();
    assert_eq!(
        first.to_string(),
        "15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844"
    );
    assert_eq!(
        second.to_string(),
        "15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c078c4"
    );
    let [first, second] = blinding::blind15_ids(&sid2, &sa).unwrap();
    assert_eq!(
        first.to_string(),
        "1561e070286ff7a71f167e92b18c709882b148d8238c8872caf414b301ba0564fd"
    );
    // The second account's key is negative, so its own key pair is the flipped candidate.
    assert_eq!(
        second.to_string(),
        "1561e070286ff7a71f167e92b18c709882b148d8238c8872caf414b301ba05647d"
    );
    assert_eq!(*two.blind15_keypair(&sa).unwrap().id(), second);

    // Key pairs agree with the IDs anyone derives from the Session ID.
    for (me, sid) in [(&one, sid1), (&two, sid2)] {
        for server in [SA, SB, SC, SD, SE] {
            let server = bytes32(server);
            let kp25 = me.blind25_keypair(&server).unwrap();
            assert_eq!(*kp25.id(), blinding::blind25_id(&sid, &server).unwrap());
            assert!(blinding::session_id_matches_blinded_id(&sid, kp25.id(), &server).unwrap());
            let kp15 = me.blind15_keypair(&server).unwrap();
            assert!(blinding::blind15_ids(&sid, &server).unwrap().contains(kp15.id()));
            assert!(blinding::session_id_matches_blinded_id(&sid, kp15.id(), &server).unwrap());
        }
    }
    let other_server = bytes32(SB);
    let kp = one.blind25_keypair(&sa).unwrap();
    assert!(!blinding::session_id_matches_blinded_id(&sid1, kp.id(), &other_server).unwrap());
    assert!(!blinding::session_id_matches_blinded_id(&sid2, kp.id(), &sa).unwrap());
}

#[test]
fn blinded_signatures() {
    let one = sk64(SK1);
    let two = sk64(SK2);
    let cases: [(&Identity, &str, &str, &str, &str); 6] = [
        (
            &one,
            SA,
            "hello",
            "e6c57de4ac0cd278abbeef815bd88b163a037085deae789ecaaf4805884c4c3d3db25f3afa856241366cb341a3a4c9bbaa2cda81d028079c956fab16a7fe6206",
            "1a5ade20b43af0e16b3e591d6f86303938d7557c0ac54469dd4f5aea759f82d22cafa42587251756e133acdddd8cbec2f707a9ce09a49f2193f46a91502c5006",
        ),
        (
            &one,
            SB,
            "world",
            "4460b606e9f55a7cba0bbe24207fe2859c3422783373788b6b070b2fa62ceba4f2a50749a6cee68e095747a369927f9f4afa86edaf055cad68110e35e8b06607",
            "d357f74c5ec5536840aec575051f71fdb22d70f35ef31db1715f5f694842de3b39aa647c84aa8e28ec56eb762d237c9e030639c83f429826d419ac719cd4df03",
        ),
        (
            &two,
            SA,
            "this",
            "57bb2f80c88ce2f677902ee58e02cbd83e4e1ec9e06e1c72a34b4ab76d0f5219cfd141ac5ce7016c73c8382db99df9f317f2bc0af6ca68edac2a9a7670938902",
            "dacf91dfb411e99cd8ef4cb07b195b49289cf1a724fef122c73462818560bc29832a98d870ec4feb79dedca5b59aba6a466d3ce8f3e35adf25a1813f6989fd0a",
        ),
        (
            &two,
            SC,
            "is",
            "ecce032b27b09d2d3d6df4ebab8cae86656c64fd1e3e70d6f020cd7e1a8058c57e3df7b6b01e90ccd592ac4a845dde7a2fdceb1a328a6690686851583133ea0c",
            "8339ea9887d3e44131e33403df160539cdc7a0a8107772172c311e95773660a0d39ed0a6c2b2c794dde1fdc640943e403497aa02c4d1a21a7d9030742beabb05",
        ),
        (
            &two,
            SD,
            "",
            "bf2fb9a511adbf5827e2e3bcf09f0a1cff80f85556fb76d8001aa8483b5f22e14539b170eaa0dbfa1489d1b8618ce8b48d7512cb5602c7eb8a05ce330a68350b",
            "8b0d6447decff3a21ec1809141580139c4a51e24977b0605fe7984439993f5377ebc9681e4962593108d03cc8b6873c5c5ba8c30287188137d2dee9ab10afd0f",
        ),
        (
            &one,
            SE,
            "omg!",
            "322e280fbc3547c6b6512dbea4d60563d32acaa2df10d665c40a336c99fc3b8e4b13a7109dfdeadab2ab58b2cb314eb0510b947f43e5dfb6e0ce5bf1499d240f",
            "946725055399376ecebb605c79f845fbf689a47f98507c2a1f239516fd9c9104e19fe533631c27ba4e7444574f0e4f0f0d422b7256ed63681a3ab2fe7e040601",
        ),
    ];
    for (me, server, message, sig25, sig15) in cases {
        let server = bytes32(server);
        let kp25 = me.blind25_keypair(&server).unwrap();
        let sig = kp25.sign(message.as_bytes());
        assert_eq!(hex::encode(sig.to_bytes()), sig25, "blind25 {message:?}");
        kp25.id().verify(message.as_bytes(), &sig).unwrap();
        let kp15 = me.blind15_keypair(&server).unwrap();
        let sig = kp15.sign(message.as_bytes());
        assert_eq!(hex::encode(sig.to_bytes()), sig15, "blind15 {message:?}");
        kp15.id().verify(message.as_bytes(), &sig).unwrap();
        // A blinded signature does not verify under the other blinding or another message.
        assert!(kp25.id().verify(message.as_bytes(), &sig).is_err());
        assert!(kp15.id().verify(b"something else", &sig).is_err());
    }
}

#[test]
fn version_blinding() {
    let one = sk64(SK1);
    let key = one.version_blinded_key();
    assert_eq!(
        hex::encode(*key.to_libsodium_secret_key()),
        "91faddc2c36da4f7bcf24fd977d9ca5346ae7489cfd43c58cad9eaaa6ed60f6988e8adb27e7b8ce776fcc25bc1501fb2888fcac0308e52fb10044f789ae1a8fa"
    );
    assert_eq!(
        key.public_key().to_string(),
        "88e8adb27e7b8ce776fcc25bc1501fb2888fcac0308e52fb10044f789ae1a8fa"
    );
    assert_eq!(
        key.id().to_string(),
        "0788e8adb27e7b8ce776fcc25bc1501fb2888fcac0308e52fb10044f789ae1a8fa"
    );
    let sig = key.sign_version_check(Platform::Desktop, 1_234_567_890);
    assert_eq!(
        hex::encode(sig.to_bytes()),
        "143c2c9828f7680ee81e6247bc7aa4777c4991add87cd724149b00452bed4e920fa57daf4627c68f43fcbddb2d465d5ea11def523f3befb2bbee39c769676305"
    );
    key.public_key().verify(b"1234567890GET/session_version?platform=desktop", &sig).unwrap();
}

#[test]
fn xed25519_pubkey_sign_bits() {
    // test_xed25519.cpp: the positive key of the second account is its key with bit 255 cleared.
    let two = sk64(SK2);
    let positive = xed25519::public_key(two.x25519_public_key()).unwrap();
    let mut real = *two.ed25519_public_key().as_bytes();
    assert_ne!(*positive.as_bytes(), real);
    real[31] &= 0x7f;
    assert_eq!(*positive.as_bytes(), real);
}

#[test]
fn blinded_ids_parse_and_print() {
    let id: BlindedId =
        "1561E070286FF7A71F167E92B18C709882B148D8238C8872CAF414B301BA0564FD".parse().unwrap();
    assert_eq!(
        id.to_string(),
        "1561e070286ff7a71f167e92b18c709882b148d8238c8872caf414b301ba0564fd"
    );
    assert_eq!(BlindedId::from_bytes(&id.to_bytes()).unwrap(), id);
}
