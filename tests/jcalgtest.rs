//! Issue 12 item 7: the JCAlgTest applet (../shared/cap-corpus, AlgTest
//! 1.8.2 for JC 3.0.5, built by Oracle's converter) installs in jct emu
//! and answers its algorithm-support queries with exactly the card
//! profile's set.
//!
//! Its host protocol (public, JCAlgTest's AlgSupportTest): CLA B0, INS 75
//! (TESTSUPPORTEDMODES_SINGLE), P1 the class (11 Cipher, 12 Signature,
//! 13 KeyAgreement, 15 MessageDigest, 16 RandomData, 17 Checksum, 19
//! KeyPair, 20 KeyBuilder, 23 AEADCipher, 2C InitializedMessageDigest),
//! data: the algorithm byte and a short parameter (the key length for
//! KeyBuilder and KeyPair). The answer starts with P1 again, then 00 for
//! "getInstance succeeded" or the CryptoException reason, then FF and
//! memory figures. INS E1 answers the applet's version string, INS E2
//! asks for object deletion.
//!
//! The expected answer of each query is "supported" exactly when the
//! profile lists the algorithm and the emulator implements it
//! (`support::implemented`), never a list written here; every API
//! constant of each class is asked. A class whose natives the emulator
//! does not have at all (KeyPair, KeyAgreement before the asymmetric
//! natives) stops the applet with 6F00: that is accepted only for such a
//! class.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use cap_tools::api::{self, ApiVersion};
use common::scripts::install_all;
use emulator::natives::crypto::support::{implemented, AlgClass, Algorithms};
use emulator::{Card, CardProfile};

const PACKAGE: &str = "4A43416C6754657374";
const APPLET: &str = "4A43416C675465737431";

fn cap() -> Option<std::path::PathBuf> {
    let cap = support::shared().join("cap-corpus/jcalgtest-AlgTest_v1.8.2_jc305.cap");
    let present = if cap.is_file() {
        Ok(())
    } else {
        Err(format!("no file at {}", cap.display()))
    };
    support::require::require("the JCAlgTest CAP", present).then_some(cap)
}

fn card(algorithms: Algorithms) -> Option<Card> {
    let cap = cap()?;
    let profile = CardProfile {
        api: "3.0.5".into(),
        algorithms,
        ..CardProfile::default()
    };
    let mut card = Card::new(profile, common::aes_keys(1)).unwrap();
    card.power_on();
    install_all(&mut card, &[(&cap, Some(APPLET))], &[]);
    let r = card.transmit(&hex::decode(format!("00A404000A{APPLET}")).unwrap());
    assert_eq!(r, [0x90, 0], "select: {:?}", card.last_note());
    assert!(PACKAGE.len() + 2 == APPLET.len());
    Some(card)
}

/// JCAlgTest's class codes (P1) for the algorithm classes.
fn p1(c: AlgClass) -> u8 {
    match c {
        AlgClass::Cipher => 0x11,
        AlgClass::Signature => 0x12,
        AlgClass::KeyAgreement => 0x13,
        AlgClass::MessageDigest => 0x15,
        AlgClass::RandomData => 0x16,
        AlgClass::Checksum => 0x17,
        AlgClass::KeyPair => 0x19,
        AlgClass::KeyBuilder => 0x20,
        AlgClass::AeadCipher => 0x23,
    }
}

/// CLASS_INITIALIZEDMESSAGEDIGEST: MessageDigest's constants again.
const P1_INITIALIZED_DIGEST: u8 = 0x2C;

/// The answer to a support query: Ok(result byte) or Err(status word).
fn query(card: &mut Card, class: u8, alg: i8, param: u16) -> Result<u8, u16> {
    let [hi, lo] = param.to_be_bytes();
    let r = card.transmit(&[0xB0, 0x75, class, 0, 3, alg as u8, hi, lo, 0]);
    let sw = u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
    if sw != 0x9000 {
        return Err(sw);
    }
    assert_eq!(r[0], class, "the answer names the class");
    assert_eq!(r[2], 0xFF, "the end marker");
    // INS E2 (CARD_RESET): requestObjectDeletion, as the JCAlgTest host
    // sends between queries, so the objects each query leaves behind do
    // not fill the card's memory.
    let reset = card.transmit(&[0xB0, 0xE2, 0, 0, 0]);
    assert_eq!(reset, [0x90, 0], "{:?}", card.last_note());
    Ok(r[1])
}

/// The API constants of a class (name, value), and the lengths asked
/// with them (KeyBuilder, KeyPair: every LENGTH_* constant).
fn constants(c: AlgClass) -> Vec<(String, i8)> {
    api::table(ApiVersion::V3_0_5)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .filter(|k| k.name == c.api_class())
        .flat_map(|k| k.fields.iter())
        .filter(|f| f.name.starts_with(c.prefix()) && !f.name.starts_with("ALG_TYPE_"))
        .filter_map(|f| Some((f.name.clone(), f.value? as i8)))
        .collect()
}

fn lengths() -> Vec<u16> {
    let mut l: Vec<u16> = api::table(ApiVersion::V3_0_5)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .filter(|k| k.name == "javacard/security/KeyBuilder")
        .flat_map(|k| k.fields.iter())
        .filter(|f| f.name.starts_with("LENGTH_"))
        .filter_map(|f| f.value.map(|v| v as u16))
        .collect();
    l.sort_unstable();
    l.dedup();
    l
}

/// Every query of every class against what the profile and the
/// emulator say; returns the number of queries.
fn check_all(card: &mut Card, algorithms: &Algorithms) -> usize {
    let resolved = algorithms.resolve(ApiVersion::V3_0_5).unwrap();
    let mut wrong = Vec::new();
    let mut asked = 0;
    let mut supported = 0;
    for c in AlgClass::ALL {
        let sized = matches!(c, AlgClass::KeyBuilder | AlgClass::KeyPair);
        let params: Vec<Option<u16>> = if sized {
            lengths().into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        let any_native = constants(c)
            .iter()
            .any(|(_, v)| params.iter().any(|b| implemented(c, *v, b.or(Some(128)))));
        let mut classes = vec![p1(c)];
        if c == AlgClass::MessageDigest {
            classes.push(P1_INITIALIZED_DIGEST);
        }
        for (name, v) in constants(c) {
            // MessageDigest.ALG_NULL is no algorithm.
            if c == AlgClass::MessageDigest && v == 0 {
                continue;
            }
            for bits in &params {
                for class in &classes {
                    let want = resolved.supports(c, v, *bits) && implemented(c, v, *bits);
                    let got = query(card, *class, v, bits.unwrap_or(0));
                    asked += 1;
                    let ok = match got {
                        Ok(0) => want,
                        // A CryptoException reason (NO_SUCH_ALGORITHM
                        // mostly; ILLEGAL_VALUE for a length).
                        Ok(r) => !want && (1..=5).contains(&r),
                        Err(0x6F00) => !want && !any_native,
                        Err(_) => false,
                    };
                    supported += usize::from(matches!(got, Ok(0)));
                    if !ok {
                        let len = bits.map(|b| format!("/{b}")).unwrap_or_default();
                        wrong.push(format!(
                            "{class:02X} {name}{len}: applet {got:02X?}, expected {} ({:?})",
                            if want { "supported" } else { "unsupported" },
                            card.last_note()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {asked} answers differ from the profile:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(supported > 50, "only {supported} algorithms supported");
    asked
}

#[test]
fn jcalgtest_answers_its_version() {
    let Some(mut card) = card(Algorithms::modern()) else {
        return;
    };
    let r = card.transmit(&[0xB0, 0xE1, 0, 0, 0]);
    assert_eq!(
        String::from_utf8_lossy(&r[..r.len() - 2]),
        "1.8.2_jc305",
        "{:?}",
        card.last_note()
    );
    assert_eq!(&r[r.len() - 2..], [0x90, 0]);
}

#[test]
fn jcalgtest_support_answers_equal_the_default_profile() {
    let Some(mut card) = card(Algorithms::modern()) else {
        return;
    };
    let n = check_all(&mut card, &Algorithms::modern());
    eprintln!("{n} support queries answered as the default profile says");
}

/// A smaller card: the applet sees exactly what the profile leaves. (It
/// needs AES-CBC and DES-CBC NOPAD, 3DES and AES-128 keys and
/// SECURE_RANDOM for its own setup, so those stay.)
#[test]
fn jcalgtest_support_answers_equal_a_reduced_profile() {
    let small = Algorithms::modern()
        .without(AlgClass::Cipher, "ALG_AES_BLOCK_128_ECB_NOPAD")
        .without(AlgClass::Cipher, "ALG_DES_ECB_PKCS5")
        .without(AlgClass::AeadCipher, "ALG_AES_CCM")
        .without(AlgClass::Signature, "ALG_HMAC_SHA_512")
        .without(AlgClass::Signature, "ALG_AES_CMAC_128")
        .without(AlgClass::MessageDigest, "ALG_SHA_384")
        .without(AlgClass::Checksum, "ALG_ISO3309_CRC16")
        .without(AlgClass::KeyBuilder, "TYPE_AES/256")
        .without(AlgClass::KeyBuilder, "TYPE_HMAC_TRANSIENT_RESET")
        .without(AlgClass::RandomData, "ALG_PSEUDO_RANDOM");
    let Some(mut card) = card(small.clone()) else {
        return;
    };
    check_all(&mut card, &small);
}
