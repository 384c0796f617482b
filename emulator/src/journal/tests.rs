use super::*;

fn put(k: &str, v: &str) -> Op {
    Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn del(k: &str) -> Op {
    Op::Delete(k.as_bytes().to_vec())
}

fn snapshot(j: &Journal) -> Vec<(String, String)> {
    j.scan(b"")
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// The batches the tests commit, and the state after each prefix of them.
fn batches() -> Vec<Vec<Op>> {
    vec![
        vec![put("card", "v1"), put("obj/1", "a")],
        vec![put("obj/2", "b"), put("obj/1", "a2")],
        vec![del("obj/2")],
        vec![put("card", "v2"), put("obj/3", "c"), del("missing")],
    ]
}

fn expected_after(n: usize) -> Vec<(String, String)> {
    let mut m = std::collections::BTreeMap::new();
    for batch in batches().into_iter().take(n) {
        for op in batch {
            match op {
                Op::Put(k, v) => {
                    m.insert(String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap());
                }
                Op::Delete(k) => {
                    m.remove(&String::from_utf8(k).unwrap());
                }
            }
        }
    }
    m.into_iter().collect()
}

#[test]
fn commits_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let (mut j, rec) = Journal::open(&path, Durability::Sync).unwrap();
    assert!(rec.created);
    for b in batches() {
        j.commit(b).unwrap();
    }
    assert_eq!(snapshot(&j), expected_after(4));
    drop(j);
    let (j, rec) = Journal::open(&path, Durability::Sync).unwrap();
    assert_eq!(rec.records, 4);
    assert_eq!(rec.torn_bytes, 0);
    assert_eq!(snapshot(&j), expected_after(4));
    assert_eq!(j.scan(b"obj/").count(), 2);
    assert_eq!(j.get(b"card"), Some(&b"v2"[..]));
}

/// A crash can cut the file anywhere in the last append: every cut gives
/// back exactly the commits that were whole, and the next commit after
/// recovery lands cleanly.
#[test]
fn every_cut_recovers_the_whole_commits() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let mut ends = vec![];
    {
        let (mut j, _) = Journal::open(&full, Durability::Buffered).unwrap();
        ends.push(j.file_len());
        for b in batches() {
            j.commit(b).unwrap();
            ends.push(j.file_len());
        }
    }
    let bytes = std::fs::read(&full).unwrap();
    let cut_path = dir.path().join("cut");
    for cut in MAGIC.len()..=bytes.len() {
        std::fs::write(&cut_path, &bytes[..cut]).unwrap();
        let whole = ends.iter().filter(|&&e| e as usize <= cut).count() - 1;
        let (mut j, rec) = Journal::open(&cut_path, Durability::Buffered).unwrap();
        assert_eq!(snapshot(&j), expected_after(whole), "cut at {cut}");
        assert_eq!(rec.torn_bytes as usize, cut - ends[whole] as usize);
        j.commit(vec![put("after", "crash")]).unwrap();
        drop(j);
        let (j, rec) = Journal::open(&cut_path, Durability::Buffered).unwrap();
        assert_eq!(rec.torn_bytes, 0, "cut at {cut}");
        assert_eq!(j.get(b"after"), Some(&b"crash"[..]));
    }
}

#[test]
fn damage_before_the_end_is_an_error_not_a_silent_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    {
        let (mut j, _) = Journal::open(&path, Durability::Buffered).unwrap();
        for b in batches() {
            j.commit(b).unwrap();
        }
    }
    let mut bytes = std::fs::read(&path).unwrap();
    // Inside the first record's payload.
    bytes[MAGIC.len() + 20] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Journal::open(&path, Durability::Buffered).unwrap_err();
    assert!(
        matches!(&err, JournalError::Corrupt { offset: 8, .. }),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "left untouched");
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    std::fs::write(&path, b"{\"format\":\"jct-emu-state\"}").unwrap();
    let err = Journal::open(&path, Durability::Buffered).unwrap_err();
    assert!(err.to_string().contains("wrong magic"), "{err}");
}

#[test]
fn out_of_sequence_records_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let mut bytes = MAGIC.to_vec();
    record::encode(1, &[put("a", "1")], &mut bytes).unwrap();
    record::encode(3, &[put("b", "2")], &mut bytes).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let err = Journal::open(&path, Durability::Buffered).unwrap_err();
    assert!(
        err.to_string().contains("record 3 where 2 was due"),
        "{err}"
    );
}

#[test]
fn compaction_keeps_the_state_and_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let (mut j, _) = Journal::open(&path, Durability::Buffered).unwrap();
    let value = "x".repeat(1000);
    // ~3 MB of overwrites of ten keys: automatic compaction must kick in.
    for i in 0..3000 {
        j.commit(vec![put(&format!("k{}", i % 10), &value)])
            .unwrap();
    }
    assert!(j.compaction_error().is_none());
    assert!(j.file_len() < 3 << 20, "file is {} bytes", j.file_len());
    j.commit(vec![del("k0")]).unwrap();
    j.compact().unwrap();
    assert!(j.file_len() < 10_000, "file is {} bytes", j.file_len());
    let before = snapshot(&j);
    assert_eq!(before.len(), 9);
    j.commit(vec![put("new", "after compaction")]).unwrap();
    drop(j);
    let (j, _) = Journal::open(&path, Durability::Buffered).unwrap();
    assert_eq!(snapshot(&j).len(), 10);
    assert_eq!(j.get(b"new"), Some(&b"after compaction"[..]));
}

#[test]
fn a_refused_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let (mut j, _) = Journal::open(&path, Durability::Buffered).unwrap();
    j.commit(vec![put("a", "1")]).unwrap();
    let len = j.file_len();
    let err = j
        .commit(vec![
            put("b", "2"),
            Op::Delete(vec![0; record::MAX_KEY + 1]),
        ])
        .unwrap_err();
    assert!(matches!(err, JournalError::Refused { .. }), "{err}");
    assert_eq!(j.file_len(), len);
    assert_eq!(j.get(b"b"), None);
}
