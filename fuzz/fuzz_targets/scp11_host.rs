//! The SCP11 host's response handlers (scp::scp11::host): whatever a card
//! answers to GET DATA BF21, PERFORM SECURITY OPERATION and MUTUAL
//! AUTHENTICATE is refused or accepted without a panic, and a forged
//! authenticate answer never opens a channel (it cannot carry the receipt).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::SecretKey;
use scp::scp11::cert::USAGE_KEY_AGREEMENT;
use scp::scp11::host::{self, OceCredentials, Scp11Config};
use scp::scp11::{encode_certificate_store, CertificateTemplate, Date, Variant};

struct Setup {
    config: Scp11Config,
    store: Vec<u8>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let ca = SigningKey::from(SecretKey::from_slice(&[0xCA; 32]).unwrap());
        let sd = SecretKey::from_slice(&[0x5D; 32]).unwrap();
        let oce = SecretKey::from_slice(&[0x0C; 32]).unwrap();
        let cert = |k: &SecretKey| {
            CertificateTemplate {
                serial: vec![1],
                issuer: b"CA".to_vec(),
                subject: b"S".to_vec(),
                key_usage: USAGE_KEY_AGREEMENT,
                effective: None,
                expiration: Date::new(2090, 1, 1).unwrap(),
                public_key: VerifyingKey::from(k.public_key()),
            }
            .sign(&ca)
        };
        Setup {
            store: encode_certificate_store([cert(&sd)]),
            config: Scp11Config {
                variant: Variant::A,
                kvn: 1,
                ca: VerifyingKey::from(&ca),
                oce: Some(OceCredentials {
                    key: oce.clone(),
                    chain: vec![cert(&oce)],
                    kloc_kvn: 1,
                }),
                logical_channel: gp::apdu::LogicalChannel::BASIC,
                today: Date::new(2030, 1, 1).unwrap(),
            },
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(reading) = host::begin(s.config.clone()) else {
        return;
    };
    if mode & 1 == 0 {
        // Any answer to GET DATA BF21.
        let _ = reading.on_response(rest);
        return;
    }
    let mut ok = s.store.clone();
    ok.extend([0x90, 0x00]);
    let Ok(mut upload) = reading.on_response(&ok) else {
        panic!("the genuine store was refused");
    };
    while upload.command().is_some() {
        match upload.on_response(&[0x90, 0x00]) {
            Ok(u) => upload = u,
            Err(_) => return,
        }
    }
    let mut rng = scp::FixedChallenges::new(vec![0x42; 32]);
    let Ok(auth) = upload.authenticate(&mut rng) else {
        return;
    };
    assert!(auth.on_response(rest).is_err(), "a forged answer opened a channel");
});
