//! The state directory (journal + load file blobs): a card restarted from
//! it is the same card; a corrupt one is an error, never silently replaced.

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
    let path = dir.path().join("card");
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
    // Nothing but the journal and the one load file, no temporary files.
    let mut names: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["blobs", "journal"]);
    assert_eq!(std::fs::read_dir(path.join("blobs")).unwrap().count(), 1);
}

#[test]
fn a_load_broken_off_by_a_restart_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
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

/// Writes one more record into a card's journal, as damage or an edit by
/// someone else would.
fn overwrite_entry(path: &std::path::Path, key: &str, edit: impl Fn(&str) -> String) {
    use emulator::journal::{Durability, Journal, Op};
    let (mut j, _) = Journal::open(&path.join("journal"), Durability::Sync).unwrap();
    let old = String::from_utf8(j.get(key.as_bytes()).unwrap().to_vec()).unwrap();
    let new = edit(&old);
    assert_ne!(new, old, "{key}: the edit must change the entry");
    j.commit(vec![Op::Put(key.as_bytes().to_vec(), new.into_bytes())])
        .unwrap();
}

#[test]
fn a_corrupt_state_is_an_error_and_stays() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine");
    {
        let mut card = open_card(&pristine);
        let mut sc = open(&mut card, SecurityLevel::C_MAC);
        assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    }
    let copy = |name: &str| {
        let to = dir.path().join(name);
        std::fs::create_dir_all(to.join("blobs")).unwrap();
        for entry in walk(&pristine) {
            let rel = entry.strip_prefix(&pristine).unwrap();
            std::fs::copy(&entry, to.join(rel)).unwrap();
        }
        to
    };
    type Damage = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "not a journal",
            Box::new(|p| std::fs::write(p.join("journal"), b"hello").unwrap()),
        ),
        (
            "a flipped bit before the end",
            Box::new(|p| {
                let mut b = std::fs::read(p.join("journal")).unwrap();
                b[30] ^= 0x10;
                std::fs::write(p.join("journal"), b).unwrap();
            }),
        ),
        (
            "foreign format",
            Box::new(|p| overwrite_entry(p, "format", |_| "something-else".into())),
        ),
        (
            "bad life cycle",
            Box::new(|p| {
                overwrite_entry(p, "card", |c| {
                    c.replace("\"life_cycle\":1", "\"life_cycle\":2")
                })
            }),
        ),
        (
            "bad key",
            Box::new(|p| {
                overwrite_entry(p, "card", |c| {
                    c.replace("404142434445464748494A4B4C4D4E4F", "4041")
                })
            }),
        ),
        (
            "bad hex",
            Box::new(|p| overwrite_entry(p, "card", |c| c.replace("A000000151000000", "ZZ"))),
        ),
        (
            "a load file changed on disk",
            Box::new(|p| {
                let blob = std::fs::read_dir(p.join("blobs")).unwrap().next().unwrap();
                std::fs::write(blob.unwrap().path(), b"other bytes").unwrap();
            }),
        ),
        (
            "a load file gone",
            Box::new(|p| {
                let blob = std::fs::read_dir(p.join("blobs")).unwrap().next().unwrap();
                std::fs::remove_file(blob.unwrap().path()).unwrap();
            }),
        ),
    ];
    for (i, (what, damage)) in cases.iter().enumerate() {
        let path = copy(&format!("case{i}"));
        damage(&path);
        let before: Vec<_> = walk(&path).map(|f| std::fs::read(f).unwrap()).collect();
        match Card::open(&path, CardProfile::default(), aes_keys(1)) {
            Err(CardError::Store(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("corrupt") && msg.contains(&format!("case{i}")),
                    "{what}: {msg}"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
        let after: Vec<_> = walk(&path).map(|f| std::fs::read(f).unwrap()).collect();
        assert_eq!(before, after, "{what}: left untouched");
    }
}

/// Every file under `dir`, in a stable order.
fn walk(dir: &std::path::Path) -> impl Iterator<Item = std::path::PathBuf> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out.into_iter()
}

#[test]
fn a_second_emulator_on_the_same_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let card = open_card(&path);
    match Card::open(&path, CardProfile::default(), aes_keys(1)) {
        Err(CardError::Store(e)) => assert!(e.to_string().contains("in use"), "{e}"),
        other => panic!("{other:?}"),
    }
    drop(card);
    drop(open_card(&path));
}

#[test]
fn state_write_failure_is_a_memory_failure_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let mut card = open_card(&path);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let before = card.state().clone();
    // The load file cannot be stored: its blob directory is gone.
    std::fs::remove_dir_all(path.join("blobs")).unwrap();
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x6581);
    assert_eq!(card.state(), &before);
}

/// The state holds the card's keys: the directory owner-only and the
/// journal 0600 from the first write, and again at the next start even if
/// someone opened them up.
#[cfg(unix)]
#[test]
fn the_state_stays_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut card = open_card(&path);
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(&path.join("journal")), 0o600);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    for blob in std::fs::read_dir(path.join("blobs")).unwrap() {
        assert_eq!(mode(&blob.unwrap().path()), 0o600);
    }
    drop(card);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(path.join("journal"), std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(open_card(&path));
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(&path.join("journal")), 0o600);
}

/// A symlink planted at the journal's place is refused, never written
/// through (the keys would land wherever it points).
#[cfg(unix)]
#[test]
fn a_symlink_at_the_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    drop(open_card(&path));
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(path.join("journal"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, path.join("journal")).unwrap();
    let before = std::fs::read(&elsewhere).unwrap();
    match Card::open(&path, CardProfile::default(), aes_keys(1)) {
        Err(CardError::Store(e)) => assert!(e.to_string().contains("symbolic link"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&elsewhere).unwrap(), before);
}

#[test]
fn an_old_json_state_file_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    std::fs::write(&path, b"{\"format\":\"jct-emu-state\",\"version\":1}").unwrap();
    match Card::open(&path, CardProfile::default(), aes_keys(1)) {
        Err(CardError::Store(e)) => assert!(e.to_string().contains("older jct"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(path.is_file());
}
