//! The emulator's journal: any bytes open as a journal or give an error,
//! never a panic or an allocation the file's size does not bound. A journal
//! that opens keeps its entries through a commit, a reopen and a
//! compaction, and whatever was cut off as torn stays cut off.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use emulator::journal::{Durability, Journal, Op};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(jct_fuzz::scratch_dir)
}

fn entries(j: &Journal) -> Vec<(Vec<u8>, Vec<u8>)> {
    j.scan(b"").map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
}

fuzz_target!(|data: &[u8]| {
    let path = dir().join("journal");
    std::fs::write(&path, data).expect("writing the input journal");
    let Ok((mut journal, recovery)) = Journal::open(&path, Durability::Buffered) else {
        return;
    };
    assert!(!recovery.created);
    let kept = std::fs::metadata(&path).expect("journal is there").len();
    assert_eq!(kept + recovery.torn_bytes, data.len() as u64);

    let mut expected = entries(&journal);
    journal
        .commit(vec![Op::Put(
            b"fuzz".to_vec(),
            data.get(..16).unwrap_or(data).to_vec(),
        )])
        .expect("a commit after recovery");
    expected.retain(|(k, _)| k != b"fuzz");
    expected.push((b"fuzz".to_vec(), data.get(..16).unwrap_or(data).to_vec()));
    expected.sort();
    drop(journal);

    let (mut journal, recovery) =
        Journal::open(&path, Durability::Buffered).expect("reopening a written journal");
    assert_eq!(recovery.torn_bytes, 0);
    assert_eq!(entries(&journal), expected);
    journal.compact().expect("compaction");
    drop(journal);
    let (journal, _) =
        Journal::open(&path, Durability::Buffered).expect("reopening after compaction");
    assert_eq!(entries(&journal), expected);
});
