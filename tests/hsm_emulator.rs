//! Keys in an HSM against a real emulated card (SoftHSM2, `jct emu`'s card
//! over TCP): the card's current keys in the token authenticate a session,
//! an applet is installed, new keys diversified from a master in the token
//! are put (sealed in the token), and a new session opens with them — as
//! the HSM provider and as software keys from the same master bytes. A
//! wrong master fails on the card cryptogram, before EXTERNAL AUTHENTICATE.

// tests/support and the SoftHSM support both include require.rs, the one
// place that decides skip-or-fail for a missing component.
#![allow(clippy::duplicate_mod)]

mod support;

#[path = "../hsm/tests/support/softhsm.rs"]
mod softhsm;

use cap_tools::Cap;
use hsm::{ClearKeys, Component, Hsm};
use loader::client::{ChannelOptions, GpClient, GpError};
use loader::plan::{InstallOptions, LoadOptions};
use scp::keys::{Diversification, KeyType, SoftwareKeys, StaticKeys};
use scp::ScpError;
use support::{shared, Emu, TEST_KEY};

fn client(emu: &Emu) -> GpClient {
    let transport = loader::transport::vpcd::VpcdClient::connect(&emu.addr).unwrap();
    let mut c = GpClient::over(Box::new(transport));
    c.select_security_domain(None).unwrap();
    c
}

fn hello() -> Cap {
    let bytes = std::fs::read(shared().join("converter-reference/oracle-3.0.5/hello.cap")).unwrap();
    Cap::from_bytes(&bytes).unwrap()
}

/// The whole personalization round on one card type.
fn personalize(scp02: bool, kind: KeyType, div: Diversification, clear: ClearKeys) {
    let Some(hsm) = softhsm::open(clear) else {
        return;
    };
    let emu = Emu::start(scp02, "3.0.5");
    let test_key = hex::decode(TEST_KEY).unwrap();
    // The card's transport keys and the issuer master, both in the token.
    let transport = softhsm::label("transport");
    hsm.import_key(&transport, 1, Component::Single, kind, &test_key)
        .unwrap();
    let issuer = softhsm::label("issuer");
    let master: Vec<Vec<u8>> = (1..=3u8)
        .map(|b| {
            (0..16u8)
                .map(|i| b.wrapping_mul(0x35) ^ i.wrapping_mul(0x1D))
                .collect()
        })
        .collect();
    for (c, k) in [Component::Enc, Component::Mac, Component::Dek]
        .into_iter()
        .zip(&master)
    {
        hsm.import_key(&issuer, 2, c, kind, k).unwrap();
    }
    let current = hsm.keys(&transport, 1, Diversification::None).unwrap();
    let new = hsm.keys(&issuer, 2, div).unwrap();

    let mut c = client(&emu);
    c.open_secure_channel(&ChannelOptions::new(current.clone()))
        .unwrap();
    let created = c
        .install(
            &hello(),
            Some(&LoadOptions::default()),
            &InstallOptions::default(),
            false,
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(created.len(), 1);
    c.put_sealed_key(&new, Some(1)).unwrap();
    drop(c);

    // The new keys: from the HSM master...
    let mut c = client(&emu);
    let info = c.open_secure_channel(&ChannelOptions::new(new)).unwrap();
    assert_eq!(info.key_version, 2);
    let apps = c.list().unwrap();
    assert!(
        apps.applications.iter().any(|a| a.aid == created[0]),
        "the applet installed under the old keys is listed: {apps:?}"
    );
    drop(c);
    // ...and the same master bytes in software agree with the card.
    let soft = SoftwareKeys::new(
        StaticKeys::from_bytes(kind, &master[0], &master[1], &master[2], 2).unwrap(),
    )
    .diversified(div);
    let mut c = client(&emu);
    c.open_secure_channel(&ChannelOptions::new(soft)).unwrap();
    drop(c);
    // The transport keys are gone.
    let mut c = client(&emu);
    assert!(c
        .open_secure_channel(&ChannelOptions::new(current))
        .is_err());
    drop(c);

    // A wrong master of the same version: the card cryptogram does not
    // verify, so EXTERNAL AUTHENTICATE is never sent.
    let wrong = softhsm::label("wrong");
    hsm.import_key(
        &wrong,
        2,
        Component::Single,
        kind,
        &(0..16u8)
            .map(|i| 0x66 ^ i.wrapping_mul(7))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut c = client(&emu);
    let err = c
        .open_secure_channel(&ChannelOptions::new(hsm.keys(&wrong, 2, div).unwrap()))
        .unwrap_err();
    assert!(
        matches!(&err, GpError::Scp(ScpError::CardCryptogram)),
        "{err:?}"
    );
    drop(c);
    // The failed try cost the card nothing: the right keys still open.
    let mut c = client(&emu);
    c.open_secure_channel(&ChannelOptions::new(hsm.keys(&issuer, 2, div).unwrap()))
        .unwrap();
    let _: &Hsm = &hsm;
}

#[test]
fn scp03_card_personalized_from_a_kdf3_master_in_the_hsm() {
    personalize(
        false,
        KeyType::Aes,
        Diversification::Kdf3,
        ClearKeys::Refuse,
    );
}

#[test]
fn scp02_card_personalized_from_an_emv_master_in_the_hsm() {
    // SoftHSM has neither CKM_DES3_ECB_ENCRYPT_DATA (through cryptoki) nor
    // 3DES wrapping: the card keys pass through the process, by permission.
    personalize(
        true,
        KeyType::Des3,
        Diversification::EmvCps11,
        ClearKeys::AllowWhereTokenLacks,
    );
}

#[test]
fn scp02_put_key_is_refused_when_card_keys_may_not_leave_the_token() {
    let Some(hsm) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let emu = Emu::start(true, "3.0.5");
    let transport = softhsm::label("transport02");
    hsm.import_key(
        &transport,
        1,
        Component::Single,
        KeyType::Des3,
        &hex::decode(TEST_KEY).unwrap(),
    )
    .unwrap();
    // The undiversified transport keys work inside the token...
    let mut c = client(&emu);
    c.open_secure_channel(&ChannelOptions::new(
        hsm.keys(&transport, 1, Diversification::None).unwrap(),
    ))
    .unwrap();
    // ...but SCP02 PUT KEY needs 3DES wrapping, which SoftHSM lacks.
    let issuer = softhsm::label("issuer02");
    hsm.import_key(
        &issuer,
        2,
        Component::Single,
        KeyType::Des3,
        &(0..16u8)
            .map(|i| 0x42 ^ i.wrapping_mul(5))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let err = c
        .put_sealed_key(
            &hsm.keys(&issuer, 2, Diversification::Visa2).unwrap(),
            Some(1),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("CKM_DES3_ECB") || err.contains("visa2"),
        "{err}"
    );
}

/// SCP03 S16 mode (i=71) with the card's keys in the token: the 16-byte
/// challenges, cryptograms and MACs of a whole session, an applet loaded,
/// listed and deleted through it.
#[test]
fn scp03_s16_session_with_keys_in_the_hsm() {
    let Some(hsm) = softhsm::open(ClearKeys::Refuse) else {
        return;
    };
    let emu = Emu::start_profile(
        false,
        emulator::CardProfile {
            scp03_i: 0x71,
            ..emulator::CardProfile::default()
        },
    );
    let label = softhsm::label("s16");
    hsm.import_key(
        &label,
        1,
        Component::Single,
        KeyType::Aes,
        &hex::decode(TEST_KEY).unwrap(),
    )
    .unwrap();
    let keys = hsm.keys(&label, 1, Diversification::None).unwrap();
    let mut options = ChannelOptions::new(keys);
    options.scp03_mode = scp::scp03::Mode::S16;
    options.security_level = scp::SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC;
    let mut c = client(&emu);
    let info = c.open_secure_channel(&options).unwrap();
    assert_eq!(info.host_challenge.len(), 16);
    let created = c
        .install(
            &hello(),
            Some(&LoadOptions::default()),
            &InstallOptions::default(),
            false,
            &mut |_| {},
        )
        .unwrap();
    assert!(c
        .list()
        .unwrap()
        .applications
        .iter()
        .any(|a| a.aid == created[0]));
    c.delete(&hex::decode("F00000000101").unwrap(), true)
        .unwrap();
    drop(c);
    // The same keys in S8 mode: the S16 card refuses the 8-byte challenge.
    let mut s8 = options.clone();
    s8.scp03_mode = scp::scp03::Mode::S8;
    assert!(client(&emu).open_secure_channel(&s8).is_err());
}
