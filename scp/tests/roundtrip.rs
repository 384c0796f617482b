//! Host against card: every protocol, "i" and security level, both
//! directions, plus tampering, wrong keys and garbage input.

use gp::apdu::CommandApdu;
use std::sync::Arc;

use scp::keys::{Diversification, Key, KeyProvider, KeyType, SoftwareKeys, StaticKeys};
use scp::{
    self, CardChannel, CardConfig, FixedChallenges, HostConfig, OsRng, Protocol, ScpError,
    SecureChannel, SecurityLevel,
};

const AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];
const KDD: [u8; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

fn keys(kind: KeyType, len: usize) -> StaticKeys {
    let k =
        |seed: u8| Key::new(kind, &(0..len as u8).map(|b| b ^ seed).collect::<Vec<_>>()).unwrap();
    StaticKeys::new(k(0x40), k(0x50), k(0x60), 0x20).unwrap()
}

fn card_config(keys: StaticKeys, protocol: Protocol) -> CardConfig {
    CardConfig {
        keys: keys.into(),
        protocol,
        kdd: KDD,
        sequence_counter: 0x2A,
        aid: AID.to_vec(),
    }
}

/// Runs the whole handshake; returns both ends of the channel.
fn open(
    host_keys: impl Into<Arc<dyn KeyProvider>>,
    card: &CardConfig,
    level: SecurityLevel,
) -> Result<(SecureChannel, CardChannel), ScpError> {
    let mut config = HostConfig::new(host_keys);
    config.security_level = level;
    config.check_challenge_aid = Some(AID.to_vec());
    match card.protocol {
        Protocol::Scp02 { i } => config.scp02_i = i,
        Protocol::Scp03 { i } => config.scp03_mode = scp::scp03::Mode::from_i(i),
    }
    let host = scp::danger::begin_with_source(config, &mut OsRng)?;
    let (card_auth, answer) = scp::initialize_update(card, host.command(), &mut OsRng)?;
    let host_auth = host.on_init_update_response(&answer)?;
    let (card_channel, ok) = card_auth.external_authenticate(host_auth.command())?;
    let host_channel = host_auth.on_external_authenticate_response(&ok)?;
    Ok((host_channel, card_channel))
}

fn commands() -> Vec<CommandApdu> {
    let mut out = vec![
        CommandApdu::new(0x80, 0xF2, 0x80, 0x02, vec![], None).unwrap(),
        CommandApdu::new(0x80, 0xCA, 0x00, 0x66, vec![], Some(256)).unwrap(),
        CommandApdu::new(0x81, 0xCA, 0x9F, 0x7F, vec![], Some(3)).unwrap(),
    ];
    for len in [
        1usize, 7, 8, 9, 15, 16, 17, 200, 239, 240, 247, 248, 255, 300,
    ] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        out.push(CommandApdu::new(0x80, 0xE8, 0x00, 0x01, data.clone(), None).unwrap());
        out.push(CommandApdu::new(0x80, 0xE6, 0x02, 0x00, data, Some(256)).unwrap());
    }
    out.push(CommandApdu::new(0x80, 0xE2, 0, 0, vec![1, 2, 3], Some(1000)).unwrap());
    out.push(
        CommandApdu::new(0x80, 0xE2, 0, 0, vec![1, 2, 3], None)
            .unwrap()
            .with_extended(true),
    );
    out
}

fn responses() -> Vec<(Vec<u8>, u16)> {
    vec![
        (vec![], 0x9000),
        (vec![0x42], 0x9000),
        ((0..16).collect(), 0x9000),
        ((0..100).collect(), 0x6310),
        (vec![], 0x6A82),
        ((0..200).collect(), 0x9000),
    ]
}

/// Host wraps, card unwraps to the same command; card wraps, host
/// unwraps to the same response.
fn exchange_all(host: &mut SecureChannel, card: &mut CardChannel, what: &str) {
    for (n, command) in commands().into_iter().enumerate() {
        let wire = host
            .wrap_apdu(&command)
            .unwrap_or_else(|e| panic!("{what} #{n}: {e}"));
        let seen = card
            .verify_and_unwrap(&wire)
            .unwrap_or_else(|e| panic!("{what} #{n} {command:?}: {e}"));
        assert_eq!(seen.header(), command.header(), "{what} #{n}");
        assert_eq!(seen.data(), command.data(), "{what} #{n}");
        assert_eq!(seen.ne(), command.ne(), "{what} #{n}");
        let responses = responses();
        let (data, sw) = &responses[n % responses.len()];
        let back = card.wrap_response(data, *sw).unwrap();
        let plain = host
            .unwrap_response(&back)
            .unwrap_or_else(|e| panic!("{what} #{n}: {e}"));
        assert_eq!(plain.sw, *sw, "{what} #{n}");
        let error_without_data = !(*sw == 0x9000 || sw >> 8 == 0x63);
        if !(error_without_data
            && card.info().protocol().id() == 3
            && card.info().security_level.r_mac())
        {
            assert_eq!(&plain.data, data, "{what} #{n}");
        }
    }
}

fn scp02_cases() -> Vec<(u8, Vec<SecurityLevel>)> {
    let basic = vec![
        SecurityLevel::NONE,
        SecurityLevel::C_MAC,
        SecurityLevel::C_MAC_C_ENC,
    ];
    let mut with_r_mac = basic.clone();
    with_r_mac.extend([SecurityLevel::C_MAC_R_MAC, SecurityLevel::C_MAC_C_ENC_R_MAC]);
    vec![
        (0x15, basic.clone()),
        (0x55, basic.clone()),
        (0x05, basic.clone()),
        (0x14, basic.clone()),
        (0x17, basic),
        (0x35, with_r_mac.clone()),
        (0x75, with_r_mac.clone()),
        (0x37, with_r_mac),
    ]
}

#[test]
fn scp02_every_i_and_level() {
    for (i, levels) in scp02_cases() {
        for level in levels {
            let card = card_config(keys(KeyType::Des3, 16), Protocol::Scp02 { i });
            let (mut host, mut card) = open(card.keys.clone(), &card, level).unwrap();
            assert_eq!(card.info().security_level, level);
            exchange_all(
                &mut host,
                &mut card,
                &format!("SCP02 i={i:02X} level {level}"),
            );
        }
    }
}

#[test]
fn scp03_every_i_level_and_key_size() {
    for len in [16, 24, 32] {
        // 01, 11, 31 and 71 are S16 mode: 16-byte challenges and MACs.
        for i in [0x00u8, 0x10, 0x20, 0x30, 0x60, 0x70, 0x01, 0x11, 0x31, 0x71] {
            for level in SecurityLevel::ALL {
                let card = card_config(keys(KeyType::Aes, len), Protocol::Scp03 { i });
                let allowed =
                    (!level.r_mac() || i & 0x20 != 0) && (!level.r_enc() || i & 0x40 != 0);
                let result = open(card.keys.clone(), &card, level);
                let what = format!("SCP03 AES-{} i={i:02X} level {level}", len * 8);
                match result {
                    Ok((mut host, mut card)) => {
                        assert!(allowed, "{what} should have been refused");
                        exchange_all(&mut host, &mut card, &what);
                    }
                    Err(e) => {
                        assert!(!allowed, "{what}: {e}");
                        assert!(matches!(e, ScpError::SecurityLevel { .. }), "{what}: {e}");
                    }
                }
            }
        }
    }
}

#[test]
fn scp03_s16_handshake_has_16_byte_fields_and_modes_must_agree() {
    let card = card_config(keys(KeyType::Aes, 16), Protocol::Scp03 { i: 0x71 });
    let mut config = HostConfig::new(card.keys.clone());
    config.scp03_mode = scp::scp03::Mode::S16;
    let host = scp::danger::begin_with_source(config, &mut OsRng).unwrap();
    // 80 50 KVN 00 10 <16-byte host challenge> 00
    assert_eq!(host.command().len(), 5 + 16 + 1);
    assert_eq!(host.command()[4], 0x10);
    let (_, answer) = scp::initialize_update(&card, host.command(), &mut OsRng).unwrap();
    // kdd 10, key information 3, challenge 16, cryptogram 16, counter 3, SW.
    assert_eq!(answer.len(), 48 + 2);
    let auth = host.on_init_update_response(&answer).unwrap();
    assert_eq!(
        auth.command()[4],
        0x20,
        "host cryptogram and C-MAC, 16 each"
    );

    // A host in S8 mode sends 8 bytes; an S16 card refuses them.
    let s8 =
        scp::danger::begin_with_source(HostConfig::new(card.keys.clone()), &mut OsRng).unwrap();
    let err = scp::initialize_update(&card, s8.command(), &mut OsRng).unwrap_err();
    assert!(err.to_string().contains("16 bytes"), "{err}");
}

#[test]
fn scp02_levels_the_card_does_not_offer_are_refused() {
    let card = card_config(keys(KeyType::Des3, 16), Protocol::Scp02 { i: 0x15 });
    for level in [
        SecurityLevel::C_MAC_R_MAC,
        SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC,
    ] {
        let err = open(card.keys.clone(), &card, level).unwrap_err();
        assert!(matches!(err, ScpError::SecurityLevel { .. }), "{err}");
    }
}

#[test]
fn diversified_card_keys() {
    for (kind, method, protocol) in [
        (
            KeyType::Des3,
            Diversification::EmvCps11,
            Protocol::Scp02 { i: 0x55 },
        ),
        (
            KeyType::Des3,
            Diversification::Visa2,
            Protocol::Scp02 { i: 0x15 },
        ),
        (
            KeyType::Aes,
            Diversification::Kdf3,
            Protocol::Scp03 { i: 0x70 },
        ),
    ] {
        let master = keys(kind, 16);
        let card = card_config(master.diversify(method, &KDD).unwrap(), protocol);
        let (mut host, mut card_channel) = open(
            SoftwareKeys::new(master.clone()).diversified(method),
            &card,
            SecurityLevel::C_MAC_C_ENC,
        )
        .unwrap();
        exchange_all(&mut host, &mut card_channel, method.name());
        // Forgetting the diversification is a cryptogram mismatch.
        let err = open(master, &card, SecurityLevel::C_MAC).unwrap_err();
        assert_eq!(err, ScpError::CardCryptogram);
    }
}

fn all_protocols() -> Vec<(KeyType, Protocol, SecurityLevel)> {
    vec![
        (
            KeyType::Des3,
            Protocol::Scp02 { i: 0x15 },
            SecurityLevel::C_MAC,
        ),
        (
            KeyType::Des3,
            Protocol::Scp02 { i: 0x55 },
            SecurityLevel::C_MAC_C_ENC,
        ),
        (
            KeyType::Des3,
            Protocol::Scp02 { i: 0x75 },
            SecurityLevel::C_MAC_C_ENC_R_MAC,
        ),
        (
            KeyType::Aes,
            Protocol::Scp03 { i: 0x00 },
            SecurityLevel::C_MAC,
        ),
        (
            KeyType::Aes,
            Protocol::Scp03 { i: 0x10 },
            SecurityLevel::C_MAC_C_ENC,
        ),
        (
            KeyType::Aes,
            Protocol::Scp03 { i: 0x30 },
            SecurityLevel::C_MAC_R_MAC,
        ),
        (
            KeyType::Aes,
            Protocol::Scp03 { i: 0x70 },
            SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC,
        ),
    ]
}

#[test]
fn wrong_keys_fail_with_the_cryptogram_error() {
    for (kind, protocol, level) in all_protocols() {
        let card = card_config(keys(kind, 16), protocol);
        let wrong = StaticKeys::single(Key::new(kind, &[0x11; 16]).unwrap(), 0x20);
        let err = open(wrong, &card, level).unwrap_err();
        assert_eq!(
            err.to_string(),
            "card cryptogram mismatch: wrong keys or wrong diversification",
            "{protocol}"
        );
    }
}

#[test]
fn scp02_wrong_mac_key_alone_fails_at_external_authenticate() {
    // SCP02 cryptograms use S-ENC only, so a wrong Key-MAC passes the card
    // cryptogram and is caught by the card on EXTERNAL AUTHENTICATE's C-MAC.
    let card = card_config(keys(KeyType::Des3, 16), Protocol::Scp02 { i: 0x15 });
    let mut wrong = keys(KeyType::Des3, 16);
    wrong.mac = wrong.dek.clone();
    let err = open(wrong, &card, SecurityLevel::C_MAC).unwrap_err();
    assert_eq!(err.status_word(), 0x6982, "{err}");
}

#[test]
fn flipped_command_mac_byte_is_detected_and_closes() {
    for (kind, protocol, level) in all_protocols() {
        for byte in [0usize, 7] {
            let card = card_config(keys(kind, 16), protocol);
            let (mut host, mut card) = open(card.keys.clone(), &card, level).unwrap();
            let mut wire = host
                .wrap(&[0x80, 0xE4, 0x00, 0x80, 0x02, 0x4F, 0x00])
                .unwrap();
            let at = wire.len() - 8 + byte;
            wire[at] ^= 0x01;
            let err = card.verify_and_unwrap(&wire).unwrap_err();
            assert!(
                matches!(err, ScpError::Mac { which: "C-MAC", .. }),
                "{protocol}: {err}"
            );
            assert_eq!(err.status_word(), 0x6982);
            assert!(card.is_closed());
            // Even the genuine next command is refused once closed.
            let next = host.wrap(&[0x80, 0xF2, 0x80, 0x02]).unwrap();
            assert_eq!(card.verify_and_unwrap(&next).unwrap_err(), ScpError::Closed);
        }
    }
}

#[test]
fn flipped_data_byte_is_detected() {
    for (kind, protocol, level) in all_protocols() {
        let card = card_config(keys(kind, 16), protocol);
        let (mut host, mut card) = open(card.keys.clone(), &card, level).unwrap();
        let mut wire = host
            .wrap(&[0x80, 0xE4, 0x00, 0x80, 0x02, 0x4F, 0x00])
            .unwrap();
        wire[5] ^= 0x80;
        let err = card.verify_and_unwrap(&wire).unwrap_err();
        assert_eq!(err.status_word(), 0x6982, "{protocol}: {err}");
    }
}

#[test]
fn replayed_command_is_rejected() {
    for (kind, protocol, level) in all_protocols() {
        let card = card_config(keys(kind, 16), protocol);
        let (mut host, mut card) = open(card.keys.clone(), &card, level).unwrap();
        let wire = host.wrap(&[0x80, 0xF2, 0x80, 0x02]).unwrap();
        card.verify_and_unwrap(&wire).unwrap();
        card.wrap_response(&[], 0x9000).unwrap();
        assert!(card.verify_and_unwrap(&wire).is_err(), "{protocol}");
    }
}

#[test]
fn flipped_response_mac_byte_is_detected_and_closes() {
    for (kind, protocol, level) in all_protocols().into_iter().filter(|c| c.2.r_mac()) {
        let card = card_config(keys(kind, 16), protocol);
        let (mut host, mut card) = open(card.keys.clone(), &card, level).unwrap();
        let wire = host.wrap(&[0x80, 0xCA, 0x00, 0x66, 0x00]).unwrap();
        card.verify_and_unwrap(&wire).unwrap();
        let mut back = card.wrap_response(&[1, 2, 3, 4], 0x9000).unwrap();
        let at = back.len() - 3;
        back[at] ^= 0x10;
        let err = host.unwrap(&back).unwrap_err();
        assert!(
            matches!(err, ScpError::Mac { which: "R-MAC", .. }),
            "{protocol}: {err}"
        );
        assert!(host.is_closed());
        assert_eq!(
            host.wrap(&[0x80, 0xF2, 0x80, 0x02]).unwrap_err(),
            ScpError::Closed
        );
    }
}

#[test]
fn tampered_handshake() {
    for (kind, protocol, level) in all_protocols() {
        let card_cfg = card_config(keys(kind, 16), protocol);
        let mut config = HostConfig::new(card_cfg.keys.clone());
        config.security_level = level;
        if let Protocol::Scp02 { i } = protocol {
            config.scp02_i = i;
        }
        // A flipped card cryptogram byte.
        let host = scp::danger::begin_with_challenge(config.clone(), [7; 8]);
        let (_, mut answer) =
            scp::initialize_update(&card_cfg, host.command(), &mut OsRng).unwrap();
        let at = if protocol.id() == 2 { 20 } else { 21 };
        answer[at] ^= 1;
        assert_eq!(
            host.on_init_update_response(&answer).unwrap_err(),
            ScpError::CardCryptogram
        );

        // A flipped host cryptogram byte, then a flipped EXTERNAL AUTHENTICATE MAC byte.
        for (offset, expected_sw) in [(5usize, 0x6300u16), (13, 0x6982)] {
            let host = scp::danger::begin_with_challenge(config.clone(), [7; 8]);
            let (card_auth, answer) =
                scp::initialize_update(&card_cfg, host.command(), &mut OsRng).unwrap();
            let host_auth = host.on_init_update_response(&answer).unwrap();
            let mut ext = host_auth.command().to_vec();
            ext[offset] ^= 1;
            let err = card_auth.external_authenticate(&ext).unwrap_err();
            assert_eq!(err.status_word(), expected_sw, "{protocol}: {err}");
        }
    }
}

#[test]
fn pseudo_random_challenges_are_checked() {
    for protocol in [Protocol::Scp02 { i: 0x55 }, Protocol::Scp03 { i: 0x70 }] {
        let kind = if protocol.id() == 2 {
            KeyType::Des3
        } else {
            KeyType::Aes
        };
        let card_cfg = card_config(keys(kind, 16), protocol);
        let mut config = HostConfig::new(card_cfg.keys.clone());
        config.scp02_i = protocol.i();
        config.check_challenge_aid = Some(vec![0xA0, 0x00, 0x00, 0x00, 0x03]);
        // No randomness needed: an empty source proves the challenge is derived.
        let mut no_rng = FixedChallenges::new(vec![]);
        let host = scp::danger::begin_with_challenge(config, [9; 8]);
        let (_, answer) = scp::initialize_update(&card_cfg, host.command(), &mut no_rng).unwrap();
        let err = host.on_init_update_response(&answer).unwrap_err();
        assert_eq!(err, ScpError::CardChallenge, "{protocol}");
    }
}

#[test]
fn card_side_command_checks() {
    let cfg = card_config(keys(KeyType::Aes, 16), Protocol::Scp03 { i: 0x00 });
    let sw = |cmd: &[u8]| {
        scp::initialize_update(&cfg, cmd, &mut OsRng)
            .unwrap_err()
            .status_word()
    };
    assert_eq!(
        sw(&[0x80, 0x50, 0x00, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7]),
        0x6700
    );
    assert_eq!(
        sw(&[0x80, 0x50, 0x21, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]),
        0x6A88
    );
    assert_eq!(
        sw(&[0x80, 0x50, 0x00, 0x01, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]),
        0x6A86
    );
    assert_eq!(sw(&[0x80, 0x50, 0x00]), 0x6700);
    // A level the card does not know.
    let host = scp::danger::begin_with_challenge(HostConfig::new(cfg.keys.clone()), [1; 8]);
    let (auth, answer) = scp::initialize_update(&cfg, host.command(), &mut OsRng).unwrap();
    let mut ext = host
        .on_init_update_response(&answer)
        .unwrap()
        .command()
        .to_vec();
    ext[2] = 0x02;
    assert_eq!(
        auth.external_authenticate(&ext).unwrap_err().status_word(),
        0x6A86
    );
}

#[test]
fn unsecured_command_is_refused_in_a_mac_session() {
    let cfg = card_config(keys(KeyType::Des3, 16), Protocol::Scp02 { i: 0x15 });
    let (_, mut card) = open(cfg.keys.clone(), &cfg, SecurityLevel::C_MAC).unwrap();
    let err = card
        .verify_and_unwrap(&[0x80, 0xF2, 0x80, 0x02])
        .unwrap_err();
    assert_eq!(err.status_word(), 0x6982);
}

#[test]
fn key_data_round_trip() {
    for (kind, protocol, level) in all_protocols() {
        let cfg = card_config(keys(kind, 16), protocol);
        let (host, card) = open(cfg.keys.clone(), &cfg, level).unwrap();
        let secret = [0x5Au8; 16];
        let sealed = host.encrypt_key_data(&secret).unwrap();
        assert_ne!(sealed, secret);
        assert_eq!(card.decrypt_key_data(&sealed).unwrap(), secret);
        assert!(host.encrypt_key_data(&[1; 5]).is_err());
    }
}

/// A small deterministic generator, so the garbage test needs no extra crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() as usize) % max;
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for (kind, protocol, level) in all_protocols() {
        let cfg = card_config(keys(kind, 16), protocol);
        for round in 0..300 {
            let junk = rng.bytes(300);
            let mut config = HostConfig::new(cfg.keys.clone());
            config.security_level = level;
            let _ =
                scp::danger::begin_with_challenge(config, [0; 8]).on_init_update_response(&junk);
            let _ = scp::initialize_update(&cfg, &junk, &mut OsRng);
            let host = scp::danger::begin_with_challenge(HostConfig::new(cfg.keys.clone()), [0; 8]);
            if let Ok((auth, _)) = scp::initialize_update(&cfg, host.command(), &mut OsRng) {
                let _ = auth.external_authenticate(&junk);
            }
            let (mut host, mut card) = open(cfg.keys.clone(), &cfg, level).unwrap();
            // Junk that looks like a secured APDU gets past the parser.
            let mut secured = vec![0x84, 0xE8, 0x00, 0x00];
            let body = rng.bytes(270);
            secured.extend_from_slice(
                &gp::apdu::CommandApdu::new(0, 0, 0, 0, body, None)
                    .unwrap()
                    .to_bytes()[4..],
            );
            let _ = card.verify_and_unwrap(if round % 2 == 0 { &junk } else { &secured });
            let _ = card.wrap_response(&junk, 0x9000);
            let _ = host.wrap(&junk);
            let _ = host.unwrap(&junk);
            let _ = host.unwrap(&junk);
        }
    }
}

#[test]
fn refused_command_leaves_the_chain_in_step() {
    for (kind, protocol, level) in all_protocols() {
        let cfg = card_config(keys(kind, 16), protocol);
        let (mut host, mut card) = open(cfg.keys.clone(), &cfg, level).unwrap();
        // Too long to carry a MAC: refused before any state changes.
        let huge = CommandApdu::new(0x80, 0xE8, 0, 0, vec![0; 65535], None).unwrap();
        assert!(host.wrap_apdu(&huge).is_err(), "{protocol}");
        assert!(host.wrap(&[0x80]).is_err());
        let wire = host.wrap(&[0x80, 0xE8, 0x00, 0x00, 0x01, 0xAA]).unwrap();
        assert_eq!(
            card.verify_and_unwrap(&wire).unwrap().data(),
            [0xAA],
            "{protocol}"
        );
    }
}

/// A provider that is not `SoftwareKeys` (as an HSM would be): it delegates
/// and counts, so the test sees the protocols ask it, and only it.
struct Delegating {
    inner: SoftwareKeys,
    calls: std::sync::atomic::AtomicUsize,
}

impl Delegating {
    fn count(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl KeyProvider for Delegating {
    fn key_version(&self) -> u8 {
        self.inner.key_version()
    }
    fn scp02_session_keys(
        &self,
        key: &scp::keys::KeyContext,
        i: u8,
        counter: [u8; 2],
    ) -> Result<scp::scp02::SessionKeys, ScpError> {
        self.count();
        self.inner.scp02_session_keys(key, i, counter)
    }
    fn scp03_session_keys(
        &self,
        key: &scp::keys::KeyContext,
        host: &[u8; 8],
        card: &[u8; 8],
    ) -> Result<scp::scp03::SessionKeys, ScpError> {
        self.count();
        self.inner.scp03_session_keys(key, host, card)
    }
    fn scp03_card_challenge(
        &self,
        key: &scp::keys::KeyContext,
        counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<[u8; 8], ScpError> {
        self.count();
        self.inner.scp03_card_challenge(key, counter, aid)
    }
    fn encrypt_key_data(
        &self,
        key: &scp::keys::KeyContext,
        data: &[u8],
    ) -> Result<Vec<u8>, ScpError> {
        self.count();
        self.inner.encrypt_key_data(key, data)
    }
    fn decrypt_key_data(
        &self,
        key: &scp::keys::KeyContext,
        data: &[u8],
    ) -> Result<Vec<u8>, ScpError> {
        self.count();
        self.inner.decrypt_key_data(key, data)
    }
    fn describe(&self, key: &scp::keys::KeyContext) -> Result<String, ScpError> {
        self.inner.describe(key)
    }
}

#[test]
fn another_key_provider_stands_in_without_protocol_changes() {
    for (kind, protocol) in [
        (KeyType::Des3, Protocol::Scp02 { i: 0x55 }),
        (KeyType::Aes, Protocol::Scp03 { i: 0x70 }),
    ] {
        let card = card_config(keys(kind, 16), protocol);
        let provider = Arc::new(Delegating {
            inner: SoftwareKeys::new(keys(kind, 16)),
            calls: Default::default(),
        });
        let (host, card_channel) = open(
            Arc::clone(&provider) as Arc<dyn KeyProvider>,
            &card,
            SecurityLevel::C_MAC,
        )
        .unwrap();
        let sealed = host.encrypt_key_data(&[0x5A; 16]).unwrap();
        assert_eq!(card_channel.decrypt_key_data(&sealed).unwrap(), [0x5A; 16]);
        let calls = provider.calls.load(std::sync::atomic::Ordering::Relaxed);
        let expected = match protocol {
            // SCP02: the session keys; key data under the session DEK.
            Protocol::Scp02 { .. } => 1,
            // SCP03: session keys, the pseudo-random challenge check, key data.
            Protocol::Scp03 { .. } => 3,
        };
        assert_eq!(calls, expected, "{protocol}");
    }
}

/// SCP02 with R-MAC: the card MACs error responses like any other, the
/// host verifies them, and a bare error status word (no R-MAC) is refused
/// and closes the channel: it could be anyone's.
#[test]
fn scp02_requires_the_r_mac_on_error_responses() {
    for level in [SecurityLevel::C_MAC_R_MAC, SecurityLevel::C_MAC_C_ENC_R_MAC] {
        let card = card_config(keys(KeyType::Des3, 16), Protocol::Scp02 { i: 0x35 });
        let (mut host, mut card) = open(card.keys.clone(), &card, level).unwrap();
        // A genuine error response carries its R-MAC and verifies.
        let wire = host
            .wrap(&[0x80, 0xE4, 0x00, 0x80, 0x02, 0x4F, 0x00])
            .unwrap();
        card.verify_and_unwrap(&wire).unwrap();
        let back = card.wrap_response(&[], 0x6A88).unwrap();
        assert_eq!(
            back.len(),
            8 + 2,
            "{level}: the error response has an R-MAC"
        );
        let plain = host.unwrap_response(&back).unwrap();
        assert_eq!((plain.sw, plain.data.len()), (0x6A88, 0), "{level}");
        // The same error without its R-MAC is refused.
        let wire = host
            .wrap(&[0x80, 0xE4, 0x00, 0x80, 0x02, 0x4F, 0x00])
            .unwrap();
        card.verify_and_unwrap(&wire).unwrap();
        card.wrap_response(&[], 0x6A88).unwrap();
        let err = host.unwrap(&[0x6A, 0x88]).unwrap_err();
        assert!(
            matches!(err, ScpError::Mac { which: "R-MAC", .. }),
            "{level}: {err}"
        );
        assert!(err.to_string().contains("6A88"), "{err}");
        assert!(host.is_closed(), "{level}");
    }
}

/// SCP03 with R-MAC follows Amendment D 6.2.5: a response with an error
/// status word is the status word alone, without R-MAC; the host accepts
/// exactly that, and refuses an error status word with data beside it
/// (which nothing authenticates) as well as a success without its R-MAC.
#[test]
fn scp03_error_responses_are_the_bare_status_word() {
    for (i, level) in [
        (0x30, SecurityLevel::C_MAC_R_MAC),
        (0x70, SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC),
    ] {
        let cfg = card_config(keys(KeyType::Aes, 16), Protocol::Scp03 { i });
        let (mut host, mut card) = open(cfg.keys.clone(), &cfg, level).unwrap();
        let mut exchange = |host: &mut SecureChannel, data: &[u8], sw: u16| {
            let wire = host.wrap(&[0x80, 0xCA, 0x00, 0x66, 0x00]).unwrap();
            card.verify_and_unwrap(&wire).unwrap();
            card.wrap_response(data, sw).unwrap()
        };
        let back = exchange(&mut host, &[1, 2, 3], 0x6A88);
        assert_eq!(
            back,
            [0x6A, 0x88],
            "{level}: the card sends the status word only"
        );
        let plain = host.unwrap_response(&back).unwrap();
        assert_eq!((plain.sw, plain.data.len()), (0x6A88, 0), "{level}");
        // Data beside an error status word is refused.
        exchange(&mut host, &[], 0x6A88);
        let err = host.unwrap(&[0xDE, 0xAD, 0x6A, 0x88]).unwrap_err();
        assert!(
            matches!(err, ScpError::Mac { which: "R-MAC", .. }),
            "{level}: {err}"
        );
        assert!(host.is_closed(), "{level}");

        // A success status word without its R-MAC is refused.
        let (mut host, mut card) = open(cfg.keys.clone(), &cfg, level).unwrap();
        let wire = host.wrap(&[0x80, 0xCA, 0x00, 0x66, 0x00]).unwrap();
        card.verify_and_unwrap(&wire).unwrap();
        card.wrap_response(&[], 0x9000).unwrap();
        let err = host.unwrap(&[0x90, 0x00]).unwrap_err();
        assert!(
            matches!(err, ScpError::Mac { which: "R-MAC", .. }),
            "{level}: {err}"
        );
    }
}

/// A session on a supplementary logical channel: INITIALIZE UPDATE and
/// EXTERNAL AUTHENTICATE carry the channel in their CLA, every wrapped
/// command keeps it, and the C-MAC covers it: the same bytes moved to
/// another channel fail the card's check.
#[test]
fn sessions_on_logical_channels_mac_the_channel() {
    use gp::apdu::{channel_of, is_secure_messaging, LogicalChannel};
    for (kind, protocol, level) in all_protocols() {
        for n in [1u8, 3, 4, 12, 19] {
            let what = format!("{protocol} {level} on channel {n}");
            let channel = LogicalChannel::new(n).unwrap();
            let card = card_config(keys(kind, 16), protocol);
            let handshake = || {
                let mut config = HostConfig::new(keys(kind, 16));
                config.security_level = level;
                config.logical_channel = channel;
                match protocol {
                    Protocol::Scp02 { i } => config.scp02_i = i,
                    Protocol::Scp03 { i } => config.scp03_mode = scp::scp03::Mode::from_i(i),
                }
                let host = scp::danger::begin_with_source(config, &mut OsRng).unwrap();
                assert_eq!(
                    channel_of(host.command()[0]),
                    n,
                    "{what}: INITIALIZE UPDATE"
                );
                let (card_auth, answer) =
                    scp::initialize_update(&card, host.command(), &mut OsRng).unwrap();
                (host.on_init_update_response(&answer).unwrap(), card_auth)
            };
            // The EXTERNAL AUTHENTICATE C-MAC covers the channel: on the
            // basic channel the same bytes do not verify.
            let (host_auth, card_auth) = handshake();
            let mut moved = host_auth.command().to_vec();
            assert_eq!(channel_of(moved[0]), n, "{what}: EXTERNAL AUTHENTICATE");
            assert!(is_secure_messaging(moved[0]), "{what}");
            moved[0] = LogicalChannel::BASIC.cla(moved[0]);
            assert!(
                card_auth.external_authenticate(&moved).is_err(),
                "{what}: EXTERNAL AUTHENTICATE moved to channel 0"
            );

            let (host_auth, card_auth) = handshake();
            let (mut card_channel, ok) = card_auth
                .external_authenticate(host_auth.command())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut host_channel = host_auth.on_external_authenticate_response(&ok).unwrap();
            for command in commands() {
                let command = command.on_channel(channel);
                let wire = host_channel.wrap_apdu(&command).unwrap();
                assert_eq!(channel_of(wire[0]), n, "{what}: {command:?}");
                let seen = card_channel
                    .verify_and_unwrap(&wire)
                    .unwrap_or_else(|e| panic!("{what} {command:?}: {e}"));
                assert_eq!(seen.header(), command.header(), "{what}");
                assert_eq!(seen.data(), command.data(), "{what}");
                let back = card_channel.wrap_response(&[1, 2, 3], 0x9000).unwrap();
                let plain = host_channel.unwrap_response(&back).unwrap();
                assert_eq!(plain.data, [1, 2, 3], "{what}");
            }
            // A wrapped command recoded for another channel is refused.
            let get_data = CommandApdu::new(0x80, 0xCA, 0x00, 0x66, vec![], Some(256))
                .unwrap()
                .on_channel(channel);
            let mut wire = host_channel.wrap_apdu(&get_data).unwrap();
            let other = LogicalChannel::new(if n == 19 { 18 } else { n + 1 }).unwrap();
            wire[0] = other.cla(wire[0]);
            assert!(card_channel.verify_and_unwrap(&wire).is_err(), "{what}");
        }
    }
}
