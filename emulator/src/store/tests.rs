use super::*;
use crate::keyset::KeySet;
use crate::profile::{test_keys, CardProfile};

fn card() -> CardState {
    let keys = test_keys(true, 1).unwrap();
    CardState::fresh(CardProfile::default(), KeySet::new(keys), [1, 2, 3, 4])
}

fn package(aid: &[u8], size: usize) -> Package {
    Package {
        aid: aid.to_vec(),
        major: 1,
        minor: 0,
        security_domain: vec![0xA0, 0, 0, 1, 0x51, 0, 0, 0],
        applets: vec![[aid, &[1]].concat()],
        exports: vec![],
        imports: vec![],
        load_file: (0..size).map(|i| i as u8).collect(),
    }
}

fn instance(aid: &[u8], package: &[u8]) -> Instance {
    Instance {
        aid: aid.to_vec(),
        load_file: package.to_vec(),
        module: [package, &[1]].concat(),
        privileges: vec![0, 0, 0],
        life_cycle: 0x07,
        parameters: vec![],
        security_domain: vec![0xA0, 0, 0, 1, 0x51, 0, 0, 0],
        quota: Default::default(),
        key_sets: Vec::new(),
    }
}

#[test]
fn a_card_round_trips_through_a_new_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let store = StateFile::new(&path);
    assert_eq!(store.load().unwrap(), None);
    let mut state = card();
    state
        .packages
        .push(package(b"\xF0\x00\x00\x00\x01\xA1", 3000));
    state
        .packages
        .push(package(b"\xF0\x00\x00\x00\x01\xA2", 10));
    state.instances.push(instance(
        b"\xF0\x00\x00\x00\x01\xA1\x01",
        b"\xF0\x00\x00\x00\x01\xA1",
    ));
    store.save(&state).unwrap();
    drop(store);
    let again = StateFile::new(&path).load().unwrap();
    assert_eq!(again, Some(state));
}

/// A commit writes what changed: an instance's life cycle, not the load
/// file beside it.
#[test]
fn a_commit_costs_what_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let store = StateFile::new(&path);
    let mut state = card();
    state
        .packages
        .push(package(b"\xF0\x00\x00\x00\x01\xA1", 200_000));
    state.instances.push(instance(
        b"\xF0\x00\x00\x00\x01\xA1\x01",
        b"\xF0\x00\x00\x00\x01\xA1",
    ));
    store.save(&state).unwrap();
    let journal = path.join("journal");
    let before = fs::metadata(&journal).unwrap().len();
    // The load file is a blob, not in the journal.
    assert!(before < 10_000, "journal is {before} bytes");
    state.instances[0].life_cycle = 0x0F;
    store.save(&state).unwrap();
    let grew = fs::metadata(&journal).unwrap().len() - before;
    assert!(grew < 1_000, "one life-cycle change wrote {grew} bytes");
    // Saving the same state again writes nothing at all.
    let len = fs::metadata(&journal).unwrap().len();
    store.save(&state).unwrap();
    assert_eq!(fs::metadata(&journal).unwrap().len(), len);
    assert_eq!(read_state(&path).unwrap(), Some(state));
}

#[test]
fn deleted_packages_leave_no_blob_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let store = StateFile::new(&path);
    let mut state = card();
    state
        .packages
        .push(package(b"\xF0\x00\x00\x00\x01\xA1", 100));
    state
        .packages
        .push(package(b"\xF0\x00\x00\x00\x01\xA2", 200));
    store.save(&state).unwrap();
    state.packages.remove(0);
    store.save(&state).unwrap();
    drop(store);
    assert_eq!(StateFile::new(&path).load().unwrap(), Some(state));
    assert_eq!(fs::read_dir(path.join("blobs")).unwrap().count(), 1);
}

#[test]
fn two_emulators_cannot_share_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let first = StateFile::new(&path);
    first.save(&card()).unwrap();
    let err = StateFile::new(&path).load().unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err}");
    // Looking is allowed.
    assert_eq!(read_state(&path).unwrap(), Some(card()));
    drop(first);
    assert_eq!(StateFile::new(&path).load().unwrap(), Some(card()));
}

#[test]
fn an_old_state_file_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    fs::write(&path, b"{\"format\":\"jct-emu-state\",\"version\":1}").unwrap();
    let err = StateFile::new(&path).load().unwrap_err();
    assert!(err.to_string().contains("older jct"), "{err}");
    assert!(path.is_file(), "left untouched");
}

#[test]
fn a_tampered_load_file_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let store = StateFile::new(&path);
    let mut state = card();
    state
        .packages
        .push(package(b"\xF0\x00\x00\x00\x01\xA1", 100));
    store.save(&state).unwrap();
    drop(store);
    let blob = fs::read_dir(path.join("blobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    fs::write(blob.path(), b"not the load file").unwrap();
    let err = StateFile::new(&path).load().unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

/// The power cut during a save: every cut of the last record gives the
/// state before it or after it.
#[test]
fn a_cut_save_leaves_the_old_state_or_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let store = StateFile::new(&path);
    let mut old = card();
    old.packages.push(package(b"\xF0\x00\x00\x00\x01\xA1", 100));
    store.save(&old).unwrap();
    let journal = path.join("journal");
    let cut_from = fs::metadata(&journal).unwrap().len() as usize;
    let mut new = old.clone();
    new.instances.push(instance(
        b"\xF0\x00\x00\x00\x01\xA1\x01",
        b"\xF0\x00\x00\x00\x01\xA1",
    ));
    new.life_cycle = 0x0F;
    store.save(&new).unwrap();
    drop(store);
    let bytes = fs::read(&journal).unwrap();
    for cut in cut_from..=bytes.len() {
        fs::write(&journal, &bytes[..cut]).unwrap();
        let got = StateFile::new(&path).load().unwrap().unwrap();
        let want = if cut == bytes.len() { &new } else { &old };
        assert_eq!(&got, want, "cut at {cut}");
    }
}

/// A heap of many objects: a commit after one field write writes that
/// object, not the heap; a fresh handle reads the same heap back.
#[test]
fn a_heap_write_commits_one_object() {
    use crate::jcvm::heap::{ArrayData, ClassKey, NativeData, Obj};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let store = StateFile::new(&path);
    let mut state = card();
    let class = state.heap.class_index(&ClassKey {
        package: b"\xF0\x00\x00\x00\x01\xA2".to_vec(),
        id: 0,
        api: false,
    });
    let owner = state.heap.context_index(b"\xF0\x00\x00\x00\x01\xA2");
    let limits = (usize::MAX, usize::MAX);
    let mut ids = vec![];
    for _ in 0..300 {
        let o = Obj::Array {
            data: ArrayData::Byte(vec![7; 200]),
            transient: 0,
            owner,
            global: false,
        };
        ids.push(state.heap.alloc(o, limits).unwrap());
    }
    let counter = state
        .heap
        .alloc(
            Obj::Instance {
                class,
                fields: vec![0, 0],
                native: NativeData::None,
                owner,
            },
            limits,
        )
        .unwrap();
    store.save(&state).unwrap();
    state.heap.clear_changes();
    let journal = path.join("journal");
    let before = fs::metadata(&journal).unwrap().len();
    assert!(before > 300 * 200, "every object written once");

    state.heap.set_field(counter, 1, 1234).unwrap();
    store.save(&state).unwrap();
    state.heap.clear_changes();
    let grew = fs::metadata(&journal).unwrap().len() - before;
    assert!(grew < 300, "one field write committed {grew} bytes");

    state.heap.free(ids[5]);
    store.save(&state).unwrap();
    state.heap.clear_changes();
    drop(store);
    let mut again = StateFile::new(&path).load().unwrap().unwrap();
    again.heap.after_load();
    assert_eq!(again.heap.objects, state.heap.objects);
    assert_eq!(again.heap.get(ids[5]), None);
    assert!(matches!(
        again.heap.get(counter),
        Some(Obj::Instance { fields, .. }) if fields[1] == 1234
    ));
}

/// A journal written by another version of the heap (here: objects the
/// card no longer has) is brought in step at the first save.
#[test]
fn the_first_save_after_opening_reconciles_every_object() {
    use crate::jcvm::heap::{ArrayData, Obj};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card");
    let mut state = card();
    let owner = state.heap.context_index(b"\xF0\x00\x00\x00\x01\xA2");
    let a = state
        .heap
        .alloc(
            Obj::Array {
                data: ArrayData::Short(vec![1, 2, 3]),
                transient: 0,
                owner,
                global: false,
            },
            (usize::MAX, usize::MAX),
        )
        .unwrap();
    StateFile::new(&path).save(&state).unwrap();
    // The same card without the object, saved by a new handle with no
    // change recorded.
    let mut without = state.clone();
    without.heap.objects.remove(&a);
    without.heap.clear_changes();
    StateFile::new(&path).save(&without).unwrap();
    let back = StateFile::new(&path).load().unwrap().unwrap();
    assert!(back.heap.objects.is_empty());
}
