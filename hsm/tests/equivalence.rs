//! The HSM provider against the software one: for the same master keys,
//! every diversification and both protocols, over many key
//! diversification data and challenges, the session keys, both
//! cryptograms, the SCP03 pseudo-random card challenge (S8 and S16 mode,
//! with the S16 session keys) and key data under
//! the static DEK must be the very bytes SoftwareKeys gives. Also the
//! known-answer KCVs of scp's diversification tests, computed in the token.

mod support;

use hsm::{ClearKeys, Component, Hsm, Pkcs11Keys};
use scp::keys::{Diversification, KeyContext, KeyProvider, KeyType, SoftwareKeys, StaticKeys};
use scp::Protocol;
use support::softhsm::{self, XorShift};

const MASTER: &str = "404142434445464748494A4B4C4D4E4F";
const ROUNDS: usize = 40;

/// A three-key master set in the token and the same keys in software.
fn pair(
    hsm: &Hsm,
    name: &str,
    kind: KeyType,
    len: usize,
    div: Diversification,
    rng: &mut XorShift,
) -> (Pkcs11Keys, SoftwareKeys) {
    let label = softhsm::label(name);
    let mut bytes = Vec::new();
    for c in [Component::Enc, Component::Mac, Component::Dek] {
        let mut k = vec![0u8; len];
        rng.fill(&mut k);
        hsm.import_key(&label, 0x21, c, kind, &k).unwrap();
        bytes.push(k);
    }
    let soft = StaticKeys::from_bytes(kind, &bytes[0], &bytes[1], &bytes[2], 0x21).unwrap();
    (
        hsm.keys(&label, 0x21, div).unwrap(),
        SoftwareKeys::new(soft).diversified(div),
    )
}

fn same_scp02(hsm_keys: &Pkcs11Keys, soft: &SoftwareKeys, rng: &mut XorShift) {
    for round in 0..ROUNDS {
        let i = if round % 2 == 0 { 0x15 } else { 0x55 };
        let ctx = KeyContext {
            protocol: Protocol::Scp02 { i },
            key_version: 0x21,
            kdd: rng.bytes(),
        };
        let counter = rng.bytes::<2>();
        let host = rng.bytes::<8>();
        let card = rng.bytes::<6>();
        let a = hsm_keys
            .scp02_session(&ctx, i, counter, &host, &card)
            .unwrap();
        let b = soft.scp02_session(&ctx, i, counter, &host, &card).unwrap();
        assert_eq!(a.keys, b.keys, "SCP02 session keys, round {round}");
        assert_eq!(
            (a.card, a.host),
            (b.card, b.host),
            "cryptograms, round {round}"
        );
        assert_eq!(
            hsm_keys.describe(&ctx).unwrap().split("ENC KCV").nth(1),
            soft.describe(&ctx).unwrap().split("ENC KCV").nth(1),
            "KCVs, round {round}"
        );
    }
}

fn same_scp03(hsm_keys: &Pkcs11Keys, soft: &SoftwareKeys, rng: &mut XorShift) {
    for round in 0..ROUNDS {
        let ctx = KeyContext {
            protocol: Protocol::Scp03 { i: 0x10 },
            key_version: 0x21,
            kdd: rng.bytes(),
        };
        let host = rng.bytes::<8>();
        let card = rng.bytes::<8>();
        let a = hsm_keys.scp03_session(&ctx, &host, &card).unwrap();
        let b = soft.scp03_session(&ctx, &host, &card).unwrap();
        assert_eq!(a.keys, b.keys, "SCP03 session keys, round {round}");
        assert_eq!(
            (a.card, a.host),
            (b.card, b.host),
            "cryptograms, round {round}"
        );
        let counter = rng.bytes::<3>();
        let aid = rng.bytes::<9>();
        assert_eq!(
            hsm_keys.scp03_card_challenge(&ctx, &counter, &aid).unwrap(),
            soft.scp03_card_challenge(&ctx, &counter, &aid).unwrap()
        );
        // S16 mode: 16-byte challenges in the KDF context, a 16-byte
        // pseudo-random card challenge (L = 0080).
        let host16 = rng.bytes::<16>();
        let card16 = rng.bytes::<16>();
        let s16 = scp::scp03::Mode::S16;
        assert_eq!(
            hsm_keys
                .scp03_session_keys_in(&ctx, s16, &host16, &card16)
                .unwrap(),
            soft.scp03_session_keys_in(&ctx, s16, &host16, &card16)
                .unwrap(),
            "S16 session keys, round {round}"
        );
        assert_eq!(
            hsm_keys
                .scp03_card_challenge_in(&ctx, s16, &counter, &aid)
                .unwrap(),
            soft.scp03_card_challenge_in(&ctx, s16, &counter, &aid)
                .unwrap()
        );
        assert!(
            hsm_keys
                .scp03_session_keys_in(&ctx, s16, &host, &card)
                .is_err(),
            "8-byte challenges are refused in S16 mode"
        );
        let data = rng.bytes::<32>();
        let sealed = hsm_keys.encrypt_key_data(&ctx, &data).unwrap();
        assert_eq!(sealed, soft.encrypt_key_data(&ctx, &data).unwrap());
        assert_eq!(hsm_keys.decrypt_key_data(&ctx, &sealed).unwrap(), data);
    }
}

#[test]
fn scp03_kdf3_and_undiversified_match_software() {
    let Some(hsm) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let mut rng = XorShift(0x5EED_0003);
    // KDF3 with AES-128 masters runs entirely in the token.
    let (h, s) = pair(
        &hsm,
        "kdf3",
        KeyType::Aes,
        16,
        Diversification::Kdf3,
        &mut rng,
    );
    same_scp03(&h, &s, &mut rng);
    // The card's own keys (no diversification), of every AES size.
    for len in [16, 24, 32] {
        let (h, s) = pair(
            &hsm,
            "aes",
            KeyType::Aes,
            len,
            Diversification::None,
            &mut rng,
        );
        same_scp03(&h, &s, &mut rng);
    }
}

#[test]
fn kdf3_with_long_masters_needs_leave_and_then_matches() {
    let Some(strict) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let mut rng = XorShift(0x5EED_0033);
    let (h, _) = pair(
        &strict,
        "kdf3-256",
        KeyType::Aes,
        32,
        Diversification::Kdf3,
        &mut rng,
    );
    let ctx = KeyContext {
        protocol: Protocol::Scp03 { i: 0 },
        key_version: 0x21,
        kdd: [7; 10],
    };
    let err = h
        .scp03_session_keys(&ctx, &[1; 8], &[2; 8])
        .unwrap_err()
        .to_string();
    assert!(err.contains("kdf3") && err.contains("AES-128"), "{err}");

    let lenient = softhsm::open(ClearKeys::AllowWhereTokenLacks).unwrap();
    for len in [24, 32] {
        let (h, s) = pair(
            &lenient,
            "kdf3-long",
            KeyType::Aes,
            len,
            Diversification::Kdf3,
            &mut rng,
        );
        same_scp03(&h, &s, &mut rng);
    }
}

#[test]
fn scp02_emv_visa2_and_undiversified_match_software() {
    let Some(strict) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let mut rng = XorShift(0x5EED_0002);
    // Undiversified 3DES keys: everything in the token.
    let (h, s) = pair(
        &strict,
        "des",
        KeyType::Des3,
        16,
        Diversification::None,
        &mut rng,
    );
    same_scp02(&h, &s, &mut rng);

    // EMV and VISA2 need CKM_DES3_ECB_ENCRYPT_DATA, which cryptoki lacks:
    // refused by default, naming the method...
    let (h, _) = pair(
        &strict,
        "emv-strict",
        KeyType::Des3,
        16,
        Diversification::EmvCps11,
        &mut rng,
    );
    let ctx = KeyContext {
        protocol: Protocol::Scp02 { i: 0x15 },
        key_version: 0x21,
        kdd: [3; 10],
    };
    let err = h
        .scp02_session_keys(&ctx, 0x15, [0, 1])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("emv") && err.contains("CKM_DES3_ECB_ENCRYPT_DATA"),
        "{err}"
    );

    // ...and equal to software when the card key may pass through.
    let lenient = softhsm::open(ClearKeys::AllowWhereTokenLacks).unwrap();
    for div in [Diversification::EmvCps11, Diversification::Visa2] {
        let (h, s) = pair(&lenient, div.name(), KeyType::Des3, 16, div, &mut rng);
        same_scp02(&h, &s, &mut rng);
    }
}

#[test]
fn kcvs_of_the_diversification_known_answers() {
    // scp's KATs (keys/diversify.rs): master 404142..4F, KDD 00..09.
    let Some(hsm) = softhsm::open(ClearKeys::AllowWhereTokenLacks) else {
        return;
    };
    let master = hex::decode(MASTER).unwrap();
    let kdd: [u8; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    let cases = [
        (
            KeyType::Des3,
            Diversification::EmvCps11,
            Protocol::Scp02 { i: 0x15 },
            ["C33013", "6F4CA6", "BB8179"],
        ),
        (
            KeyType::Des3,
            Diversification::Visa2,
            Protocol::Scp02 { i: 0x15 },
            ["2BE598", "58DA38", "3C328E"],
        ),
        (
            KeyType::Aes,
            Diversification::Kdf3,
            Protocol::Scp03 { i: 0 },
            ["E79C05", "D1BD77", "3FDE8C"],
        ),
    ];
    for (kind, div, protocol, kcvs) in cases {
        let label = softhsm::label("kat");
        hsm.import_key(&label, 1, Component::Single, kind, &master)
            .unwrap();
        let keys = hsm.keys(&label, 1, div).unwrap();
        let shown = keys
            .describe(&KeyContext {
                protocol,
                key_version: 1,
                kdd,
            })
            .unwrap();
        let expect = format!(
            "ENC KCV {}  MAC KCV {}  DEK KCV {}",
            kcvs[0], kcvs[1], kcvs[2]
        );
        assert!(shown.ends_with(&expect), "{}: {shown}", div.name());
    }
}

#[test]
fn many_threads_share_one_token() {
    let Some(hsm) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let mut rng = XorShift(0x5EED_0004);
    let (h, s) = pair(
        &hsm,
        "threads",
        KeyType::Aes,
        16,
        Diversification::Kdf3,
        &mut rng,
    );
    std::thread::scope(|scope| {
        for t in 0..6u64 {
            let (h, s) = (&h, &s);
            scope.spawn(move || {
                let mut rng = XorShift(0x1000 + t);
                same_scp03(h, s, &mut rng);
            });
        }
    });
}

#[test]
fn lookups_and_imports_fail_clearly() {
    let Some(hsm) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let label = softhsm::label("missing");
    let err = hsm
        .keys(&label, 1, Diversification::None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&label) && err.contains("not in token"),
        "{err}"
    );

    hsm.import_key(&label, 1, Component::Enc, KeyType::Aes, &[1; 16])
        .unwrap();
    let err = hsm
        .keys(&label, 1, Diversification::None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("only some of ENC, MAC and DEK"), "{err}");
    let err = hsm
        .import_key(&label, 1, Component::Enc, KeyType::Aes, &[2; 16])
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds a enc key already"), "{err}");
    let err = hsm
        .import_key(&label, 2, Component::Single, KeyType::Des3, &[2; 24])
        .unwrap_err()
        .to_string();
    assert!(err.contains("16") && err.contains("24"), "{err}");

    let listed = hsm.list().unwrap();
    let mine: Vec<_> = listed.iter().filter(|k| k.label == label).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].kcv, scp::keys::Key::aes(&[1; 16]).unwrap().kcv());

    let err = Hsm::open(
        std::path::Path::new(softhsm::MODULE),
        "no-such-token",
        &hsm::Pin::new(softhsm::PIN),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no-such-token") && err.contains("jct-test"),
        "{err}"
    );
}

#[test]
fn debug_shows_no_secrets() {
    let Some(hsm) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let label = softhsm::label("debug");
    hsm.import_key(&label, 1, Component::Single, KeyType::Aes, &[0x5A; 16])
        .unwrap();
    let keys = hsm.keys(&label, 1, Diversification::Kdf3).unwrap();
    for shown in [format!("{hsm:?}"), format!("{keys:?}")] {
        assert!(!shown.contains(softhsm::PIN), "{shown}");
        assert!(
            !shown.contains("5A5A") && !shown.contains("90, 90"),
            "{shown}"
        );
    }
}

#[test]
fn imports_from_many_threads_at_once() {
    let Some(hsm) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let hsm = &hsm;
            scope.spawn(move || {
                let mut rng = XorShift(0xA000 + t);
                for _ in 0..12 {
                    let label = softhsm::label("parallel");
                    let key = rng.bytes::<16>();
                    let kind = if rng.next() & 1 == 0 {
                        KeyType::Aes
                    } else {
                        KeyType::Des3
                    };
                    let info = hsm
                        .import_key(&label, 1, Component::Single, kind, &key)
                        .unwrap();
                    assert_eq!(info.kcv, scp::keys::Key::new(kind, &key).unwrap().kcv());
                }
            });
        }
    });
}
