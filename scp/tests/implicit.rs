//! SCP02 implicit initiation (i = 0A, 1A): known answers computed
//! independently in Python with the `cryptography` package
//! (tests/vectors/scp02_implicit.py, its output pasted below; no public
//! vectors for implicit initiation were found), host against card, and
//! what an implicit session refuses.

use gp::apdu::CommandApdu;
use scp::keys::{Key, SoftwareKeys, StaticKeys};
use scp::{CardConfig, HostConfig, OsRng, Protocol, ScpError, SecurityLevel};

const AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn keys() -> StaticKeys {
    StaticKeys::single(
        Key::des3(&h("404142434445464748494A4B4C4D4E4F")).unwrap(),
        1,
    )
}

fn host(i: u8) -> HostConfig {
    let mut config = HostConfig::new(SoftwareKeys::new(keys()));
    config.scp02_i = i;
    config
}

fn card(i: u8) -> CardConfig {
    CardConfig {
        keys: keys().into(),
        protocol: Protocol::Scp02 { i },
        kdd: [0; 10],
        sequence_counter: 0x2A,
        aid: AID.to_vec(),
    }
}

fn get_status() -> CommandApdu {
    CommandApdu::new(0x80, 0xF2, 0x40, 0x02, h("4F00"), Some(256)).unwrap()
}

fn get_data() -> CommandApdu {
    CommandApdu::new(0x80, 0xCA, 0x00, 0x66, vec![], Some(256)).unwrap()
}

#[test]
fn known_answers_from_an_independent_computation() {
    // scp02_implicit.py: session C-MAC key 2983BA77D709C2DAA1E6000ABCCAC951,
    // ICV (MAC of the AID) 63E6015E5612FFE7.
    let session = scp::scp02::SessionKeys::derive(&keys(), 0x0A, [0x00, 0x2A]).unwrap();
    assert_eq!(
        hex::encode_upper(session.c_mac().expose_secret()),
        "2983BA77D709C2DAA1E6000ABCCAC951"
    );
    assert_eq!(
        hex::encode_upper(scp::scp02::aid_icv(&session, &AID).unwrap()),
        "63E6015E5612FFE7"
    );
    for (i, first, second) in [
        (0x0A, "952299B3DBD4DE45", "DA5A6BEB78A2179E"),
        (0x1A, "952299B3DBD4DE45", "3299100D0886091D"),
    ] {
        let mut sc = scp::implicit::open_host(&host(i), [0x00, 0x2A], &AID).unwrap();
        let wire = sc.wrap_apdu(&get_status()).unwrap();
        // C-MAC on the unmodified APDU; the wire CLA says secure messaging.
        assert_eq!(
            hex::encode_upper(&wire),
            format!("84F240020A4F00{first}00"),
            "i={i:02X}"
        );
        let wire = sc.wrap_apdu(&get_data()).unwrap();
        assert_eq!(
            hex::encode_upper(&wire),
            format!("84CA006608{second}00"),
            "i={i:02X}"
        );
    }
}

#[test]
fn host_against_card_and_what_implicit_sessions_refuse() {
    for i in [0x0A, 0x1A, 0x0B, 0x1B] {
        let mut sc = scp::implicit::open_host(&host(i), [0x00, 0x2A], &AID).unwrap();
        let first = sc.wrap_apdu(&get_status()).unwrap();
        let (mut card_channel, plain) = scp::implicit::open_card(&card(i), &first).unwrap();
        assert_eq!(plain.data(), &h("4F00")[..]);
        assert_eq!(card_channel.info().protocol(), Protocol::Scp02 { i });
        for _ in 0..5 {
            let back = card_channel.wrap_response(&[0x61, 0x00], 0x9000).unwrap();
            assert_eq!(sc.unwrap(&back).unwrap(), h("61009000"));
            let wire = sc.wrap_apdu(&get_data()).unwrap();
            let seen = card_channel.verify_and_unwrap(&wire).unwrap();
            assert_eq!(seen.header(), get_data().header());
        }
        // Another counter, another AID: the first C-MAC does not verify.
        let mut other = card(i);
        other.sequence_counter = 0x2B;
        let first = scp::implicit::open_host(&host(i), [0x00, 0x2A], &AID)
            .unwrap()
            .wrap_apdu(&get_status())
            .unwrap();
        assert!(matches!(
            scp::implicit::open_card(&other, &first),
            Err(ScpError::Mac { .. })
        ));
        let mut other = card(i);
        other.aid = h("A0000000030000");
        if i & 0x08 != 0 {
            assert!(scp::implicit::open_card(&other, &first).is_err());
        }
    }
    // Only C-MAC, only implicit "i", and no INITIALIZE UPDATE.
    let mut config = host(0x0A);
    config.security_level = SecurityLevel::C_MAC_C_ENC;
    let err = scp::implicit::open_host(&config, [0, 1], &AID).unwrap_err();
    assert!(err.to_string().contains("C-MAC only"), "{err}");
    let err = scp::implicit::open_host(&host(0x15), [0, 1], &AID).unwrap_err();
    assert!(err.to_string().contains("explicit initiation"), "{err}");
    let iu = scp::initialize_update_command(0, &[0; 8]).to_bytes();
    let err = scp::initialize_update(&card(0x1A), &iu, &mut OsRng).unwrap_err();
    assert!(err.to_string().contains("implicit initiation"), "{err}");
}
