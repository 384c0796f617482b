//! SCP11a/b/c host against card, both from the `scp` crate, through the
//! wire bytes only; the key schedule against the cross-computed reference
//! in tests/vectors/scp11_reference.py; and the refusals.

use gp::apdu::{CommandApdu, LogicalChannel};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::SecretKey;
use scp::scp11::card::{self, CardKey, OceChain};
use scp::scp11::cert::{USAGE_KEY_AGREEMENT, USAGE_SIGNATURE};
use scp::scp11::host::{self, OceCredentials, Scp11Config};
use scp::scp11::kdf::{ecka, Scp11Keys};
use scp::scp11::{CertificateTemplate, Date, Variant};
use scp::{FixedChallenges, OsRng, ScpError};

fn scalar(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn today() -> Date {
    Date::new(2026, 12, 3).unwrap()
}

fn cert(ca: &SigningKey, serial: u8, usage: u16, key: &SecretKey, exp: Date) -> Vec<u8> {
    CertificateTemplate {
        serial: vec![serial],
        issuer: b"CA".to_vec(),
        subject: vec![serial, 0xAA],
        key_usage: usage,
        effective: Some(Date::new(2020, 1, 1).unwrap()),
        expiration: exp,
        public_key: VerifyingKey::from(key.public_key()),
    }
    .sign(ca)
}

struct World {
    ca: SigningKey,
    sk_sd: SecretKey,
    sd_chain: Vec<u8>,
    sk_oce: SecretKey,
    oce_chain: Vec<Vec<u8>>,
}

fn world() -> World {
    let ca = SigningKey::from(scalar(0x11));
    let sk_sd = scalar(0x04);
    let sk_oce = scalar(0x02);
    let far = Date::new(2040, 1, 1).unwrap();
    let sd_chain = cert(&ca, 1, USAGE_KEY_AGREEMENT, &sk_sd, far);
    let oce_chain = vec![cert(&ca, 2, USAGE_KEY_AGREEMENT, &sk_oce, far)];
    World {
        ca,
        sk_sd,
        sd_chain,
        sk_oce,
        oce_chain,
    }
}

fn config(w: &World, variant: Variant, ca: VerifyingKey) -> Scp11Config {
    Scp11Config {
        variant,
        kvn: 0x01,
        ca,
        oce: Some(OceCredentials {
            key: w.sk_oce.clone(),
            chain: w.oce_chain.clone(),
            kloc_kvn: 0x01,
        }),
        logical_channel: LogicalChannel::BASIC,
        today: today(),
    }
}

fn ok(data: Vec<u8>) -> Vec<u8> {
    let mut r = data;
    r.extend([0x90, 0x00]);
    r
}

/// Runs the handshake; returns the host channel, the card channel and the
/// authenticate command sent.
fn handshake(
    w: &World,
    cfg: Scp11Config,
    host_rng: &mut FixedChallenges,
    card_rng: &mut FixedChallenges,
) -> Result<(scp::SecureChannel, scp::CardChannel, Vec<u8>), ScpError> {
    let variant = cfg.variant;
    let reading = host::begin(cfg)?;
    let store = scp::scp11::encode_certificate_store([&w.sd_chain]);
    let mut upload = reading.on_response(&ok(store))?;
    let kloc = VerifyingKey::from(&w.ca);
    let mut chain = OceChain::default();
    while let Some(cmd) = upload.command() {
        let cmd = CommandApdu::parse(cmd)?;
        chain.accept(&cmd, &kloc, today())?;
        upload = upload.on_response(&[0x90, 0x00])?;
    }
    let auth = upload.authenticate(host_rng)?;
    let cmd_bytes = auth.command().to_vec();
    let cmd = CommandApdu::parse(&cmd_bytes)?;
    let sd = CardKey {
        variant,
        kvn: 1,
        key: &w.sk_sd,
    };
    let (card_channel, response) = card::authenticate(&sd, chain.oce_key(), &cmd, card_rng)?;
    let host_channel = auth.on_response(&ok(response))?;
    Ok((host_channel, card_channel, cmd_bytes))
}

fn fixed(b: u8) -> FixedChallenges {
    FixedChallenges::new(vec![b; 32])
}

fn exchange(host: &mut scp::SecureChannel, card: &mut scp::CardChannel, apdu: &[u8]) {
    let wire = host.wrap(apdu).unwrap();
    let plain = card.verify_and_unwrap(&wire).unwrap();
    assert_eq!(plain.to_bytes(), apdu);
    let resp = card.wrap_response(b"answer", 0x9000).unwrap();
    assert_eq!(host.unwrap(&resp).unwrap(), b"answer\x90\x00");
}

#[test]
fn every_variant_opens_and_secures_commands() {
    let w = world();
    for variant in [Variant::A, Variant::B, Variant::C] {
        let cfg = config(&w, variant, VerifyingKey::from(&w.ca));
        let (mut h, mut c, cmd) = handshake(&w, cfg, &mut fixed(1), &mut fixed(3)).unwrap();
        assert_eq!(cmd[1], variant.ins(), "{variant}");
        assert_eq!(cmd[3], variant.kid(), "{variant}");
        for _ in 0..3 {
            exchange(
                &mut h,
                &mut c,
                &[0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00],
            );
        }
    }
}

/// The receipt and the keys against tests/vectors/scp11_reference.py
/// (Python `cryptography`: ECDH, X963KDF/SHA-256, AES-CMAC).
#[test]
fn scp11a_matches_the_cross_computed_reference() {
    let w = world();
    let cfg = config(&w, Variant::A, VerifyingKey::from(&w.ca));
    let reading = host::begin(cfg).unwrap();
    let store = scp::scp11::encode_certificate_store([&w.sd_chain]);
    let mut upload = reading.on_response(&ok(store)).unwrap();
    while upload.command().is_some() {
        upload = upload.on_response(&[0x90, 0x00]).unwrap();
    }
    let auth = upload.authenticate(&mut fixed(1)).unwrap();
    let expected_data = hex::decode(
        "a60d9002110195013c8001888101105f4941046ff03b949241ce1dadd43519e6960e0a85b41a69a05c328103aa2bce1594ca163c4f753a55bf01dc53f6c0b0c7eee78b40c6ff7d25a96e2282b989cef71c144a",
    )
    .unwrap();
    assert_eq!(
        &auth.command()[5..5 + expected_data.len()],
        expected_data.as_slice()
    );
    let keys = Scp11Keys::derive(
        &ecka(&scalar(1), &scalar(3).public_key()),
        &ecka(&scalar(2), &scalar(4).public_key()),
    )
    .unwrap();
    let hexkey = |k: &scp::keys::Key| hex::encode(k.expose_secret());
    assert_eq!(
        hexkey(keys.receipt_key()),
        "c8d39df4ce1401c3c22a448ad83f4310"
    );
    assert_eq!(
        hexkey(keys.session().enc()),
        "5654679625466f12bafc0518991a39c1"
    );
    assert_eq!(
        hexkey(keys.session().mac()),
        "ec9619eceada296d953eeb7c57848cda"
    );
    assert_eq!(
        hexkey(keys.session().rmac()),
        "e06fd245a0b0f23f5bb841139e0d7c1c"
    );
    assert_eq!(hexkey(keys.dek()), "5443c530e998c47d6f8558aafd33e10c");
    let mut epk_sd = vec![0x5F, 0x49, 0x41];
    epk_sd.extend(
        p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&scalar(3).public_key(), false)
            .as_bytes(),
    );
    let receipt = keys.receipt(&expected_data, &epk_sd).unwrap();
    assert_eq!(hex::encode(receipt), "94dffbdfedc8c6e7c00b028ba54d6d5a");
    // The card side answers with the same receipt for the same keys.
    let cmd = CommandApdu::parse(auth.command()).unwrap();
    let mut chain = OceChain::default();
    let pso = CommandApdu::new(0x80, 0x2A, 1, 0x10, w.oce_chain[0].clone(), None).unwrap();
    chain
        .accept(&pso, &VerifyingKey::from(&w.ca), today())
        .unwrap();
    let sd = CardKey {
        variant: Variant::A,
        kvn: 1,
        key: &w.sk_sd,
    };
    let (_, resp) = card::authenticate(&sd, chain.oce_key(), &cmd, &mut fixed(3)).unwrap();
    assert_eq!(&resp[resp.len() - 16..], receipt);
}

#[test]
fn a_wrong_ca_is_refused() {
    let w = world();
    let other = SigningKey::from(scalar(0x22));
    let cfg = config(&w, Variant::B, VerifyingKey::from(&other));
    let err = handshake(&w, cfg, &mut fixed(1), &mut fixed(3))
        .err()
        .unwrap();
    assert!(matches!(err, ScpError::Certificate(_)), "{err}");
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );
}

#[test]
fn expired_and_mis_signed_certificates_are_refused() {
    let mut w = world();
    w.sd_chain = cert(
        &w.ca,
        1,
        USAGE_KEY_AGREEMENT,
        &w.sk_sd,
        Date::new(2025, 1, 1).unwrap(),
    );
    let cfg = config(&w, Variant::B, VerifyingKey::from(&w.ca));
    let err = handshake(&w, cfg, &mut fixed(1), &mut fixed(3))
        .err()
        .unwrap();
    assert!(err.to_string().contains("expired on 2025-01-01"), "{err}");

    // An OCE certificate signed by someone else: the card refuses the PSO.
    let mut w = world();
    let rogue = SigningKey::from(scalar(0x33));
    w.oce_chain = vec![cert(
        &rogue,
        2,
        USAGE_KEY_AGREEMENT,
        &w.sk_oce,
        Date::new(2040, 1, 1).unwrap(),
    )];
    let cfg = config(&w, Variant::A, VerifyingKey::from(&w.ca));
    let err = handshake(&w, cfg, &mut fixed(1), &mut fixed(3))
        .err()
        .unwrap();
    assert!(err.to_string().contains("the OCE CA key (KLOC)"), "{err}");

    // A flipped bit in the signed part of a certificate.
    let mut w = world();
    let at = w.sd_chain.len() - 70;
    w.sd_chain[at] ^= 1;
    let cfg = config(&w, Variant::B, VerifyingKey::from(&w.ca));
    assert!(handshake(&w, cfg, &mut fixed(1), &mut fixed(3)).is_err());

    // An intermediate without signing usage.
    let w = world();
    let leaf = scp::scp11::cert::parse_chain(&w.sd_chain).unwrap();
    let both = [leaf[0].clone(), leaf[0].clone()];
    let err =
        scp::scp11::cert::verify_chain(&both, &VerifyingKey::from(&w.ca), today()).unwrap_err();
    assert!(err.to_string().contains("key usage"), "{err}");
    let _ = USAGE_SIGNATURE;
}

#[test]
fn scp11a_without_oce_certificate_is_refused_by_the_card() {
    let w = world();
    let cfg = config(&w, Variant::B, VerifyingKey::from(&w.ca));
    let reading = host::begin(cfg).unwrap();
    let upload = reading
        .on_response(&ok(scp::scp11::encode_certificate_store([&w.sd_chain])))
        .unwrap();
    let auth = upload.authenticate(&mut OsRng).unwrap();
    // 11b's INTERNAL AUTHENTICATE presented to an 11a key.
    let cmd = CommandApdu::parse(auth.command()).unwrap();
    let sd = CardKey {
        variant: Variant::A,
        kvn: 1,
        key: &w.sk_sd,
    };
    assert!(card::authenticate(&sd, None, &cmd, &mut OsRng).is_err());
}

#[test]
fn tampered_and_replayed_commands_are_refused() {
    let w = world();
    let cfg = config(&w, Variant::A, VerifyingKey::from(&w.ca));
    let (mut h, mut c, auth_cmd) =
        handshake(&w, cfg.clone(), &mut fixed(1), &mut fixed(3)).unwrap();
    let apdu = [0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00];
    let mut wire = h.wrap(&apdu).unwrap();
    let recorded = wire.clone();
    wire[2] ^= 0x01;
    let err = c.verify_and_unwrap(&wire).unwrap_err();
    assert!(matches!(err, ScpError::Mac { .. }), "{err}");
    assert_eq!(err.status_word(), 0x6982);

    // Replay: the recorded MUTUAL AUTHENTICATE gets a fresh ePK.SD, so the
    // recorded command that followed it no longer verifies.
    let mut chain = OceChain::default();
    let pso = CommandApdu::new(0x80, 0x2A, 1, 0x10, w.oce_chain[0].clone(), None).unwrap();
    chain
        .accept(&pso, &VerifyingKey::from(&w.ca), today())
        .unwrap();
    let sd = CardKey {
        variant: Variant::A,
        kvn: 1,
        key: &w.sk_sd,
    };
    let (mut c2, _) = card::authenticate(
        &sd,
        chain.oce_key(),
        &CommandApdu::parse(&auth_cmd).unwrap(),
        &mut OsRng,
    )
    .unwrap();
    assert!(matches!(
        c2.verify_and_unwrap(&recorded),
        Err(ScpError::Mac { .. })
    ));

    // A tampered receipt is refused by the host.
    let reading = host::begin(cfg).unwrap();
    let mut upload = reading
        .on_response(&ok(scp::scp11::encode_certificate_store([&w.sd_chain])))
        .unwrap();
    while upload.command().is_some() {
        upload = upload.on_response(&[0x90, 0x00]).unwrap();
    }
    let auth = upload.authenticate(&mut OsRng).unwrap();
    let (_, mut resp) = card::authenticate(
        &sd,
        chain.oce_key(),
        &CommandApdu::parse(auth.command()).unwrap(),
        &mut OsRng,
    )
    .unwrap();
    let last = resp.len() - 1;
    resp[last] ^= 1;
    assert_eq!(auth.on_response(&ok(resp)).unwrap_err(), ScpError::Receipt);
}

#[test]
fn malformed_certificates_name_the_field() {
    let w = world();
    let good = &w.sd_chain;
    assert!(scp::scp11::Certificate::parse(good).is_ok());
    let err = scp::scp11::Certificate::parse(&good[..good.len() - 3]).unwrap_err();
    assert!(err.to_string().contains("7F21"), "{err}");
    let err = scp::scp11::Certificate::parse(&[0x7F, 0x21, 0x03, 0x93, 0x01, 0x01]).unwrap_err();
    assert!(err.to_string().contains("5F37"), "{err}");
    assert_eq!(
        Date::from_unix(1_764_720_000),
        Date::new(2025, 12, 3).unwrap()
    );
}
