//! The state file: a card restarted from it is the same card; a corrupt
//! one is an error, never silently replaced.

mod common;

use common::*;
use emulator::{Card, CardError, CardProfile};
use scp::SecurityLevel;

fn open_card(path: &std::path::Path) -> Card {
    let mut card = Card::open(path, CardProfile::default(), aes_keys(1)).unwrap();
    card.power_on();
    card
}

#[test]
fn a_restarted_card_keeps_packages_instances_keys_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    assert!(!path.exists());
    let mut card = open_card(&path);
    assert!(path.exists(), "a fresh card is written at once");
    let serial = card.state().serial.clone();
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
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xF0, 0x80, 0x0F, vec![])).sw,
        0x9000
    );
    let state = card.state().clone();
    drop(card);

    // Other settings on the command line do not change an existing card.
    let other = CardProfile {
        api: "2.2.2".into(),
        ..CardProfile::default()
    };
    let mut card = Card::open(&path, other, des_keys(9)).unwrap();
    card.power_on();
    assert_eq!(card.state(), &state);
    assert_eq!(card.state().serial, serial);
    assert_eq!(card.state().life_cycle, 0x0F);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(
        card.state().key_sets[0].sequence_counter,
        state.key_sets[0].sequence_counter + 1
    );
    assert_eq!(
        get_status(&mut card, &mut sc, 0x40),
        vec![HELLO_APPLET.to_vec()]
    );
    assert_eq!(select(&mut card, &HELLO_APPLET).sw, 0x9000);
    // No temporary files are left beside the state file.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn a_load_broken_off_by_a_restart_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let mut card = open_card(&path);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let (_, c4) = load_file(&hello_cap());
    assert_eq!(
        send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
        0x9000
    );
    let blocks = load_blocks(&c4);
    assert_eq!(send(&mut card, &mut sc, &blocks[0]).sw, 0x9000);
    drop(card); // the process dies mid-load
    let card = open_card(&path);
    assert!(card.state().packages.is_empty());
}

#[test]
fn a_corrupt_state_file_is_an_error_and_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    drop(open_card(&path));
    let good = std::fs::read_to_string(&path).unwrap();
    for (what, text) in [
        ("truncated", good[..good.len() / 2].to_string()),
        ("not JSON", "hello".to_string()),
        (
            "foreign format",
            good.replace("jct-emu-state", "something-else"),
        ),
        (
            "bad life cycle",
            good.replace("\"life_cycle\": 1", "\"life_cycle\": 2"),
        ),
        (
            "bad key",
            good.replace("404142434445464748494A4B4C4D4E4F", "4041"),
        ),
        ("bad hex", good.replace("A000000151000000", "ZZ")),
    ] {
        assert_ne!(text, good, "{what}: the edit must change the file");
        std::fs::write(&path, &text).unwrap();
        match Card::open(&path, CardProfile::default(), aes_keys(1)) {
            Err(CardError::Store(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("corrupt") && msg.contains("card.json"),
                    "{what}: {msg}"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{what}: left untouched"
        );
    }
}

#[test]
fn state_write_failure_is_a_memory_failure_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("card.json");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let mut card = open_card(&path);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let before = card.state().clone();
    // Make the directory disappear under the card.
    std::fs::remove_dir_all(dir.path().join("sub")).unwrap();
    let r = send(&mut card, &mut sc, &gp(0xF0, 0x80, 0x07, vec![]));
    assert_eq!(r.sw, 0x6581);
    assert_eq!(card.state(), &before);
}

/// The state file holds the card's keys: owner-only after every write, the
/// first one and those after card content changes alike.
#[cfg(unix)]
#[test]
fn the_state_file_stays_owner_only_after_writes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let mode = || std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    let mut card = open_card(&path);
    assert_eq!(mode(), 0o600, "after the first write");
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    assert_eq!(mode(), 0o600, "after a load");
    // Even a state file someone made world-readable is 0600 after the next write.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &install_for_install(&HELLO_PKG, &HELLO_APPLET, &HELLO_APPLET, true)
        )
        .sw,
        0x9000
    );
    assert_eq!(mode(), 0o600, "after an install");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "card.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// A symlink planted at the state file's path is replaced by the state
/// file, never written through (the keys would land wherever it points).
#[cfg(unix)]
#[test]
fn a_symlink_at_the_state_file_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let is_link = |p: &std::path::Path| {
        std::fs::symlink_metadata(p)
            .unwrap()
            .file_type()
            .is_symlink()
    };
    // A dangling link: the fresh card's first write must not create its target.
    let nowhere = dir.path().join("nowhere.json");
    let path = dir.path().join("card.json");
    std::os::unix::fs::symlink(&nowhere, &path).unwrap();
    drop(open_card(&path));
    assert!(!nowhere.exists(), "the first write went through the link");
    assert!(!is_link(&path));

    // A link to another card's state file: reading follows it (the card
    // starts as that card), writing replaces the link and leaves the
    // other file as it was.
    let other = dir.path().join("other.json");
    std::fs::rename(&path, &other).unwrap();
    let before = std::fs::read(&other).unwrap();
    std::os::unix::fs::symlink(&other, &path).unwrap();
    let mut card = open_card(&path);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    assert_eq!(std::fs::read(&other).unwrap(), before);
    assert!(!is_link(&path));
    assert_ne!(std::fs::read(&path).unwrap(), before);
}
