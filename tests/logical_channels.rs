//! Logical channels on the host side, against the emulator over TCP:
//! `jct --channel N` opens channel N with MANAGE CHANNEL, selects the
//! security domain and runs the secure channel there (its CLA carrying the
//! channel, its C-MACs covering it), and closes the channel; two clients on
//! two channels of one card keep two secure channels at once, their
//! commands interleaved; the card's refusals are named.

use predicates::prelude::*;

mod support;

use emulator::CardProfile;
use gp::apdu::{CommandApdu, LogicalChannel};
use loader::client::{ChannelOptions, GpClient};
use loader::transport::vpcd::VpcdClient;
use loader::transport::{Shared, Transport};
use scp::keys::SoftwareKeys;
use scp::SecurityLevel;
use support::{shared, Emu, TEST_KEY};

const HELLO_PACKAGE: &str = "F00000000101";
const HELLO_APPLET: &str = "F0000000010101";

fn hello() -> String {
    shared()
        .join("converter-reference/oracle-3.0.5/hello.cap")
        .display()
        .to_string()
}

/// A card with all 20 logical channels, SCP02 i=75 or SCP03 (both with R-MAC).
fn card(scp02: bool) -> Emu {
    let profile = CardProfile {
        api: "3.0.5".into(),
        scp02_i: 0x75,
        logical_channels: 20,
        ..CardProfile::default()
    };
    Emu::start_profile(scp02, profile)
}

/// The test key, typed for the protocol the card answers with.
fn keys() -> ChannelOptions {
    let key = hex::decode(TEST_KEY).unwrap();
    ChannelOptions::new(SoftwareKeys::from_bytes(&key, &key, &key, 0))
}

#[test]
fn install_list_delete_over_channels_1_and_19() {
    for scp02 in [true, false] {
        let emu = card(scp02);
        for (channel, mode) in [("1", "mac"), ("19", "enc"), ("any", "rmac")] {
            let what = format!(
                "SCP0{} --channel {channel} --mode {mode}",
                if scp02 { 2 } else { 3 }
            );
            let out = emu
                .jct(&[
                    "install",
                    &hello(),
                    "--channel",
                    channel,
                    "--mode",
                    mode,
                    "--trace",
                ])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{what}: {stderr}");
            assert!(
                stderr.contains("installed F0000000010101"),
                "{what}: {stderr}"
            );
            // The wire shows MANAGE CHANNEL, then every command on the channel.
            let wire: Vec<&str> = stderr
                .lines()
                .filter_map(|l| l.split("wire >> ").nth(1))
                .collect();
            let open = match channel {
                "any" => "0070000001".to_string(),
                n => format!("007000{:02X}", n.parse::<u8>().unwrap()),
            };
            assert!(wire.first().unwrap().starts_with(&open), "{what}: {wire:?}");
            assert!(
                wire.last().unwrap().starts_with("007080"),
                "{what}: {wire:?}"
            );
            let expected_channel = match channel {
                "any" => 1,
                n => n.parse().unwrap(),
            };
            for command in &wire[1..wire.len() - 1] {
                let cla = u8::from_str_radix(&command[..2], 16).unwrap();
                assert_eq!(
                    gp::apdu::channel_of(cla),
                    expected_channel,
                    "{what}: {command}"
                );
            }
            let out = emu
                .jct(&["list", "--channel", channel, "--mode", mode])
                .output()
                .unwrap();
            let list = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(list.contains(HELLO_APPLET), "{what}: {list}");
            emu.jct(&[
                "delete",
                HELLO_PACKAGE,
                "--related",
                "--channel",
                channel,
                "--mode",
                mode,
            ])
            .assert()
            .success();
            let list = emu.list();
            assert!(!list.contains(HELLO_PACKAGE), "{what}: {list}");
        }
    }
}

/// Two clients over one connection, on channels 2 and 7, each with its own
/// secure channel (different protocols' worth of state: levels, host
/// challenges, MAC chains), their commands interleaved; a load on one while
/// the other lists.
#[test]
fn two_interleaved_secure_channels_on_two_channels() {
    for scp02 in [true, false] {
        let emu = card(scp02);
        let link = Shared::new(Box::new(VpcdClient::connect(&emu.addr).unwrap()));
        let mut a = GpClient::over(Box::new(link.clone()));
        let mut b = GpClient::over(Box::new(link.clone()));
        assert_eq!(a.open_logical_channel(Some(2)).unwrap().number(), 2);
        assert_eq!(b.open_logical_channel(Some(7)).unwrap().number(), 7);
        a.select_security_domain(None).unwrap();
        b.select_security_domain(None).unwrap();
        let mut options_a = keys();
        options_a.security_level = SecurityLevel::C_MAC_C_ENC;
        let mut options_b = keys();
        options_b.security_level = SecurityLevel::C_MAC_R_MAC;
        let info_a = a.open_secure_channel(&options_a).unwrap();
        // b's handshake comes between a's handshake and a's commands.
        let info_b = b.open_secure_channel(&options_b).unwrap();
        assert_ne!(info_a.host_challenge, info_b.host_challenge);
        assert_ne!(info_a.card_challenge(), info_b.card_challenge());
        let cap = cap_tools::Cap::from_path(hello()).unwrap();
        let load = loader::plan::LoadOptions::default();
        for round in 0..3 {
            let ra = a.list().unwrap();
            let rb = b.list().unwrap();
            assert_eq!(ra, rb, "round {round}");
        }
        a.load(&cap, &load, &mut |_| {}).unwrap();
        let listed = b.list().unwrap();
        assert!(
            listed
                .load_files
                .iter()
                .any(|e| hex::encode_upper(&e.aid) == HELLO_PACKAGE),
            "{listed:?}"
        );
        // Interleave each step: a GET STATUS on b between a's commands.
        let package = hex::decode(HELLO_PACKAGE).unwrap();
        assert!(b.get_data(0x0066).unwrap().is_some());
        a.delete(&package, true).unwrap();
        assert!(b.get_data(0x0066).unwrap().is_some());
        assert!(!b
            .list()
            .unwrap()
            .load_files
            .iter()
            .any(|e| e.aid == package));
        // Closing a's channel ends a's session only.
        a.close_logical_channel().unwrap();
        assert!(b.list().is_ok());
        b.close_logical_channel().unwrap();
        assert_eq!(a.logical_channel(), LogicalChannel::BASIC);
    }
}

#[test]
fn closing_a_channel_ends_it_and_its_session() {
    let emu = card(false);
    let link = Shared::new(Box::new(VpcdClient::connect(&emu.addr).unwrap()));
    let mut client = GpClient::over(Box::new(link.clone()));
    client.open_logical_channel(Some(5)).unwrap();
    client.select_security_domain(None).unwrap();
    client.open_secure_channel(&keys()).unwrap();
    client.list().unwrap();
    client.close_logical_channel().unwrap();
    // Channel 5 is closed: a GET DATA there meets 6881.
    let mut raw = link.clone();
    let get_data = CommandApdu::new(0x80, 0xCA, 0x00, 0x66, vec![], Some(256))
        .unwrap()
        .on_channel(LogicalChannel::new(5).unwrap());
    let r = raw.transmit(&get_data.to_bytes()).unwrap();
    assert_eq!(&r[r.len() - 2..], [0x68, 0x81]);
    // Closing it again: the card's warning, named.
    client.use_logical_channel(LogicalChannel::new(5).unwrap());
    let err = client.close_logical_channel().unwrap_err().to_string();
    assert!(err.contains("6200") && err.contains("not open"), "{err}");
    // The basic channel cannot be closed.
    let err = client.close_logical_channel().unwrap_err().to_string();
    assert!(err.contains("basic logical channel"), "{err}");
    // And `jct list --channel 5` leaves the channel closed again (the
    // emulator serves one connection at a time: this one ends first).
    drop((client, raw, link));
    emu.jct(&["list", "--channel", "5"]).assert().success();
    let mut raw = VpcdClient::connect(&emu.addr).unwrap();
    let r = raw.transmit(&get_data.to_bytes()).unwrap();
    assert_eq!(&r[r.len() - 2..], [0x68, 0x81]);
}

#[test]
fn channels_beyond_the_card_are_refused_with_its_answer() {
    // The default profile has 4 channels: 0 to 3.
    let emu = Emu::start(false, "3.0.5");
    emu.jct(&["list", "--channel", "7"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "refused to open logical channel 7",
        ))
        .stderr(predicate::str::contains("6A86"));
    emu.jct(&["list", "--channel", "20"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "logical channels are 0 (the basic one) to 19",
        ));
    // All supplementary channels taken: the card has none to assign (6A81).
    let link = Shared::new(Box::new(VpcdClient::connect(&emu.addr).unwrap()));
    let mut held = Vec::new();
    for n in 1..=3 {
        let mut c = GpClient::over(Box::new(link.clone()));
        assert_eq!(c.open_logical_channel(None).unwrap().number(), n);
        held.push(c);
    }
    let mut extra = GpClient::over(Box::new(link.clone()));
    let err = extra.open_logical_channel(None).unwrap_err().to_string();
    assert!(
        err.contains("6A81") && err.contains("no free logical channel"),
        "{err}"
    );
    // A card with the basic channel only answers 6881.
    let profile = CardProfile {
        logical_channels: 1,
        ..CardProfile::default()
    };
    let basic_only = Emu::start_profile(false, profile);
    basic_only
        .jct(&["list", "--channel", "1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6881"))
        .stderr(predicate::str::contains("logical channel not supported"));
}
