//! The ISD's SCP11 against the `scp` crate's host side: each variant opens
//! a session on a card provisioned from a CA key, GET STATUS runs in it,
//! and a wrong CA, a mis-signed OCE certificate and a replayed
//! authentication are refused.

mod common;

use common::*;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::SecretKey;
use scp::scp11::cert::USAGE_KEY_AGREEMENT;
use scp::scp11::host::{self, OceCredentials, Scp11Config};
use scp::scp11::{CertificateTemplate, Date, Variant};
use scp::{OsRng, ScpError, SecureChannel};

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).unwrap()
}

fn oce_cert(signer: &SigningKey) -> Vec<u8> {
    CertificateTemplate {
        serial: vec![0x0C],
        issuer: b"CA".to_vec(),
        subject: b"OCE".to_vec(),
        key_usage: USAGE_KEY_AGREEMENT,
        effective: None,
        expiration: Date::new(2090, 1, 1).unwrap(),
        public_key: VerifyingKey::from(key(0x0C).public_key()),
    }
    .sign(signer)
}

fn open(
    card: &mut emulator::Card,
    variant: Variant,
    ca: VerifyingKey,
    oce_signer: &SigningKey,
) -> Result<(SecureChannel, Vec<u8>), ScpError> {
    assert_eq!(select(card, &ISD).sw, 0x9000);
    let cfg = Scp11Config {
        variant,
        kvn: 1,
        ca,
        oce: Some(OceCredentials {
            key: key(0x0C),
            chain: vec![oce_cert(oce_signer)],
            kloc_kvn: 1,
        }),
        logical_channel: gp::apdu::LogicalChannel::BASIC,
        today: Date::today(),
    };
    let reading = host::begin(cfg)?;
    let answer = card.transmit(reading.command());
    let mut upload = reading.on_response(&answer)?;
    while let Some(cmd) = upload.command() {
        let answer = card.transmit(cmd);
        upload = upload.on_response(&answer)?;
    }
    let auth = upload.authenticate(&mut OsRng)?;
    let command = auth.command().to_vec();
    Ok((auth.on_response(&card.transmit(&command))?, command))
}

fn provisioned(ca: &SigningKey) -> emulator::Card {
    let mut card = card(false, 0x70);
    card.provision_scp11(ca, b"test CA").unwrap();
    card
}

#[test]
fn each_variant_opens_and_manages_the_card() {
    let ca = SigningKey::from(key(0xCA));
    let mut card = provisioned(&ca);
    for variant in [Variant::A, Variant::B, Variant::C] {
        let (mut sc, _) = open(&mut card, variant, VerifyingKey::from(&ca), &ca).unwrap();
        let r = send(&mut card, &mut sc, &gp(0xF2, 0x80, 0x02, vec![0x4F, 0x00]));
        assert_eq!(r.sw, 0x9000, "{variant}");
        assert!(r.data.windows(ISD.len()).any(|w| w == ISD), "{variant}");
    }
}

#[test]
fn refusals() {
    let ca = SigningKey::from(key(0xCA));
    let mut card = provisioned(&ca);
    // The card's certificate does not lead to the CA the host trusts.
    let other = SigningKey::from(key(0x0B));
    let err = open(&mut card, Variant::B, VerifyingKey::from(&other), &ca).unwrap_err();
    assert!(matches!(err, ScpError::Certificate(_)), "{err}");
    // The OCE certificate is not signed by the card's KLOC.
    let err = open(&mut card, Variant::A, VerifyingKey::from(&ca), &other).unwrap_err();
    assert!(matches!(err, ScpError::Status { sw: 0x6A80, .. }), "{err}");
    // 11a without PSO: refused.
    assert_eq!(select(&mut card, &ISD).sw, 0x9000);
    let (_, auth) = open(&mut card, Variant::A, VerifyingKey::from(&ca), &ca).unwrap();
    assert_eq!(select(&mut card, &ISD).sw, 0x9000);
    let answer = card.transmit(&auth);
    assert_eq!(&answer[answer.len() - 2..], [0x69, 0x85]);
    // A replayed authentication opens a session with other keys: the
    // recorded command that followed it fails its C-MAC.
    let (mut sc, auth) = open(&mut card, Variant::B, VerifyingKey::from(&ca), &ca).unwrap();
    let wire = sc
        .wrap_apdu(&gp(0xF2, 0x80, 0x02, vec![0x4F, 0x00]))
        .unwrap();
    assert_eq!(select(&mut card, &ISD).sw, 0x9000);
    let answer = card.transmit(&auth);
    assert_eq!(&answer[answer.len() - 2..], [0x90, 0x00]);
    let answer = card.transmit(&wire);
    assert_eq!(answer, [0x69, 0x82]);
}

#[test]
fn state_survives_without_scp11_and_keeps_it() {
    let ca = SigningKey::from(key(0xCA));
    let mut card = provisioned(&ca);
    let before = card.state().scp11.clone();
    card.provision_scp11(&ca, b"test CA").unwrap();
    assert_eq!(card.state().scp11, before, "same CA: nothing changes");
    let json = serde_json::to_string(card.state()).unwrap();
    let back: emulator::state::CardState = serde_json::from_str(&json).unwrap();
    assert_eq!(back.scp11, before);
    // A state file from before SCP11 has no field and still loads.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.as_object_mut().unwrap().remove("scp11");
    let old: emulator::state::CardState = serde_json::from_value(v).unwrap();
    assert!(old.scp11.is_empty());
}
