//! The emulator's state (a journal and its load file blobs): any journal
//! bytes (beside a blob store holding the hello load file) give a card
//! state or an error, never a panic. A state that loads
//! saves and loads back the same, and a card opened on it answers commands
//! (SELECT, GET DATA, GET STATUS, INITIALIZE UPDATE) with a status word,
//! keeping a state it would load.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use emulator::{Card, CardProfile, StateFile};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(jct_fuzz::scratch_dir)
}

/// A fresh, empty directory under the scratch directory.
fn fresh(name: &str) -> PathBuf {
    let path = dir().join(name);
    let _ = std::fs::remove_dir_all(&path);
    path
}

fuzz_target!(|data: &[u8]| {
    let input = fresh("input");
    std::fs::create_dir(&input).expect("making the input state");
    std::fs::write(input.join("journal"), data).expect("writing the input journal");
    // The load file the seeds' packages name, so inputs with a package get
    // past the blob lookup.
    emulator::journal::BlobStore::open(&input.join("blobs"))
        .and_then(|b| b.put(&jct_fuzz::emu::hello().data_block))
        .expect("the hello load file blob");
    let loaded = {
        let Ok(loaded) = StateFile::new(&input).load() else {
            return;
        };
        loaded
    };
    let Some(state) = loaded else {
        return;
    };
    state.validate().expect("a loaded state is valid");

    let copy = fresh("copy");
    {
        let store = StateFile::new(&copy);
        store.save(&state).expect("saving a loaded state");
        let again = store.load().expect("re-loading a saved state");
        assert_eq!(again.as_ref(), Some(&state), "load(save(s)) == s");
    }

    // The card keeps the state's profile and keys; these are ignored.
    let keys = emulator::profile::test_keys(true, 1).expect("test keys");
    let mut card = Card::open(&copy, CardProfile::default(), keys).expect("a card on the state");
    assert_eq!(card.state(), &state);
    card.power_on();
    let isd = state.isd_aid().to_vec();
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, isd.len() as u8];
    select.extend_from_slice(&isd);
    select.push(0x00);
    let commands: [&[u8]; 6] = [
        &select,
        &[0x80, 0xCA, 0x9F, 0x7F, 0x00],
        &[0x80, 0xCA, 0x00, 0xE0, 0x00],
        &[0x80, 0xCA, 0x00, 0x66, 0x00],
        &[0x80, 0xF2, 0x40, 0x02, 0x02, 0x4F, 0x00, 0x00],
        &[0x80, 0x50, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00],
    ];
    for command in commands {
        let answer = card.transmit(command);
        assert!(answer.len() >= 2, "no status word for {command:02X?}");
    }
    card.state()
        .validate()
        .expect("the card keeps a valid state");
    let on_disk = emulator::read_state(&copy).expect("the card's state reloads");
    assert_eq!(on_disk.as_ref(), Some(card.state()));
});
