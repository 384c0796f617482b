//! PUT KEY, DELETE of key sets, key information, and SET STATUS: card life
//! cycle transitions and application locking.

mod common;

use common::*;
use scp::keys::{Key, KeyType, StaticKeys};
use scp::{SecureChannel, SecurityLevel};

/// PUT KEY data for `keys`: each key encrypted under the session DEK.
fn put_key_data(sc: &SecureChannel, keys: &StaticKeys, kcv_ok: bool) -> Vec<u8> {
    let mut data = vec![keys.version];
    for key in [&keys.enc, &keys.mac, &keys.dek] {
        let enc = sc.encrypt_key_data(key.expose_secret()).unwrap();
        match key.kind() {
            KeyType::Des3 => data.extend_from_slice(&[0x80, enc.len() as u8]),
            KeyType::Aes => data.extend_from_slice(&[0x88, enc.len() as u8 + 1, key.len() as u8]),
        }
        data.extend_from_slice(&enc);
        let mut kcv = key.kcv();
        if !kcv_ok {
            kcv[0] ^= 1;
        }
        data.push(3);
        data.extend_from_slice(&kcv);
    }
    data
}

fn put_key(
    card: &mut emulator::Card,
    sc: &mut SecureChannel,
    p1: u8,
    keys: &StaticKeys,
    kcv_ok: bool,
) -> gp::apdu::ResponseApdu {
    let data = put_key_data(sc, keys, kcv_ok);
    send(card, sc, &gp(0xD8, p1, 0x81, data))
}

fn new_keys(kind: KeyType, version: u8) -> StaticKeys {
    let k = |seed: u8| Key::new(kind, &[seed; 16]).unwrap();
    StaticKeys::new(k(0x21), k(0x22), k(0x23), version).unwrap()
}

#[test]
fn put_key_adds_and_replaces_key_sets() {
    for (scp02, i) in [(true, 0x15), (false, 0x70)] {
        let mut card = card(scp02, i);
        let mut sc = open(&mut card, SecurityLevel::C_MAC_C_ENC);
        let kind = if scp02 { KeyType::Des3 } else { KeyType::Aes };
        // Add key set 02.
        let keys2 = new_keys(kind, 2);
        let r = put_key(&mut card, &mut sc, 0x00, &keys2, true);
        assert_eq!(r.sw, 0x9000);
        let mut expected = vec![2];
        for k in [&keys2.enc, &keys2.mac, &keys2.dek] {
            expected.extend_from_slice(&k.kcv());
        }
        assert_eq!(r.data, expected);
        // A wrong KCV is refused and changes nothing.
        let keys3 = new_keys(kind, 3);
        let r = put_key(&mut card, &mut sc, 0x00, &keys3, false);
        assert_eq!(r.sw, 0x9485);
        assert_eq!(card.state().key_sets.len(), 2);
        // Replacing a key set that does not exist; adding one that does.
        assert_eq!(put_key(&mut card, &mut sc, 0x05, &keys3, true).sw, 0x6A88);
        assert_eq!(put_key(&mut card, &mut sc, 0x00, &keys2, true).sw, 0x6A80);
        // Key information lists both sets.
        let r = send(&mut card, &mut sc, &gp(0xCA, 0x00, 0xE0, vec![]));
        assert_eq!(r.sw, 0x9000);
        let e0 = gp::tlv::Tlv::parse(&r.data).unwrap();
        assert_eq!(e0.children().len(), 6);
        assert_eq!(e0.children()[3].bytes().unwrap()[..2], [0x01, 0x02]);
        // Authenticate with the new set, then replace it by version 04.
        let mut sc2 = open_with(&mut card, config(keys2.clone(), SecurityLevel::C_MAC, i)).unwrap();
        let keys4 = new_keys(kind, 4);
        let r = put_key(&mut card, &mut sc2, 0x02, &keys4, true);
        assert_eq!(r.sw, 0x9000);
        select(&mut card, &ISD);
        assert!(open_with(&mut card, config(keys2, SecurityLevel::C_MAC, i)).is_err());
        select(&mut card, &ISD);
        assert!(open_with(&mut card, config(keys4, SecurityLevel::C_MAC, i)).is_ok());
        // Delete key set 04 (tag D2); the default set still works.
        let mut sc = open(&mut card, SecurityLevel::C_MAC);
        assert_eq!(
            send(
                &mut card,
                &mut sc,
                &gp(0xE4, 0x00, 0x00, vec![0xD2, 0x01, 0x04])
            )
            .sw,
            0x9000
        );
        assert_eq!(card.state().key_sets.len(), 1);
        assert_eq!(
            send(
                &mut card,
                &mut sc,
                &gp(0xE4, 0x00, 0x00, vec![0xD2, 0x01, 0x01])
            )
            .sw,
            0x6985
        );
    }
}

#[test]
fn put_key_refuses_garbage() {
    let mut card = card(false, 0x70);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    for (what, data, sw) in [
        ("empty", vec![], 0x6A80),
        ("no keys", vec![0x02], 0x6A80),
        ("RSA", vec![0x02, 0xA1, 0x01, 0x00, 0x00], 0x9484),
        ("truncated", vec![0x02, 0x88, 0x11, 0x10, 1, 2], 0x6A80),
        (
            "not whole blocks",
            vec![0x02, 0x88, 0x04, 0x10, 1, 2, 3, 0x00],
            0x6A80,
        ),
    ] {
        assert_eq!(
            send(&mut card, &mut sc, &gp(0xD8, 0x00, 0x81, data)).sw,
            sw,
            "{what}"
        );
    }
    assert_eq!(card.state().key_sets.len(), 1);
    // Without a session: security status not satisfied.
    select(&mut card, &ISD);
    assert_eq!(sw(&card.transmit(&hex("80D800810102"))), 0x6982);
}

#[test]
fn card_life_cycle_and_locking() {
    let mut card = card(false, 0x70);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &install_for_install(&HELLO_PKG, &HELLO_APPLET, &HELLO_APPLET, true)
        )
        .sw,
        0x9000
    );
    let set = |card: &mut emulator::Card, sc: &mut SecureChannel, p1: u8, p2: u8, aid: &[u8]| {
        send(
            card,
            sc,
            &gp::apdu::CommandApdu::new(0x80, 0xF0, p1, p2, aid.to_vec(), None).unwrap(),
        )
        .sw
    };
    // Lock and unlock the application.
    assert_eq!(set(&mut card, &mut sc, 0x40, 0x80, &HELLO_APPLET), 0x9000);
    assert_eq!(
        card.state().instance(&HELLO_APPLET).unwrap().life_cycle,
        0x87
    );
    assert_eq!(set(&mut card, &mut sc, 0x40, 0x80, &HELLO_APPLET), 0x6985);
    assert_eq!(
        select(&mut card, &HELLO_APPLET).sw,
        0x6A82,
        "a locked application is not selectable"
    );
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(set(&mut card, &mut sc, 0x40, 0x00, &HELLO_APPLET), 0x9000);
    assert_eq!(
        card.state().instance(&HELLO_APPLET).unwrap().life_cycle,
        0x07
    );
    assert_eq!(
        set(&mut card, &mut sc, 0x40, 0x80, &hex("0102030405")),
        0x6A88
    );
    // Card life cycle: forward only, lock and unlock from SECURED.
    assert_eq!(
        set(&mut card, &mut sc, 0x80, 0x7F, &[]),
        0x6985,
        "OP_READY cannot lock"
    );
    assert_eq!(set(&mut card, &mut sc, 0x80, 0x07, &[]), 0x9000);
    assert_eq!(
        set(&mut card, &mut sc, 0x80, 0x01, &[]),
        0x6985,
        "no way back"
    );
    assert_eq!(set(&mut card, &mut sc, 0x80, 0x0F, &ISD), 0x9000);
    assert_eq!(set(&mut card, &mut sc, 0x80, 0x7F, &[]), 0x9000);
    // CARD_LOCKED: only the ISD is selectable, content management is closed.
    assert_eq!(
        send(&mut card, &mut sc, &delete(&HELLO_APPLET, false)).sw,
        0x6985
    );
    assert_eq!(select(&mut card, &HELLO_APPLET).sw, 0x6A82);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let r = send(&mut card, &mut sc, &gp(0xF2, 0x80, 0x02, vec![0x4F, 0x00]));
    assert!(r.data.windows(4).any(|w| w == [0x9F, 0x70, 0x01, 0x7F]));
    assert_eq!(set(&mut card, &mut sc, 0x80, 0x0F, &[]), 0x9000);
    assert_eq!(select(&mut card, &HELLO_APPLET).sw, 0x9000);
    // TERMINATED: GET DATA only, for good.
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(set(&mut card, &mut sc, 0x80, 0xFF, &[]), 0x9000);
    select(&mut card, &ISD);
    assert_eq!(sw(&card.transmit(&[0x80, 0xCA, 0x9F, 0x7F, 0x00])), 0x9000);
    assert_eq!(
        sw(&card.transmit(&hex("8050000008 0000000000000000 00"))),
        0x6985
    );
    assert_eq!(select(&mut card, &HELLO_APPLET).sw, 0x6A82);
}
