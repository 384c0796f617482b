//! What a commit of the card's persistent memory costs: one journal record
//! for a small change (the counter update of an applet inside a
//! transaction), with and without waiting for the disk, and a whole
//! registry save where one instance changed beside a 27 kB load file.

use criterion::{criterion_group, criterion_main, Criterion};
use emulator::journal::{Durability, Journal, Op};
use emulator::keyset::KeySet;
use emulator::profile::{test_keys, CardProfile};
use emulator::state::{CardState, Instance, Package};
use emulator::StateFile;

fn commits(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for (name, durability) in [
        (
            "journal commit, 2-byte field, buffered (no fsync)",
            Durability::Buffered,
        ),
        ("journal commit, 2-byte field, fsync", Durability::Sync),
    ] {
        let path = dir.path().join(name.replace([' ', ',', '(', ')'], "_"));
        let (mut j, _) = Journal::open(&path, durability).unwrap();
        for i in 0..200u32 {
            j.commit(vec![Op::Put(format!("obj/{i}").into_bytes(), vec![0; 64])])
                .unwrap();
        }
        let mut n = 0u16;
        c.bench_function(name, |b| {
            b.iter(|| {
                n = n.wrapping_add(1);
                j.commit(vec![Op::Put(b"obj/17".to_vec(), n.to_be_bytes().to_vec())])
                    .unwrap();
            })
        });
    }

    let path = dir.path().join("card");
    let store = StateFile::new(&path);
    let keys = test_keys(true, 1).unwrap();
    let mut card = CardState::fresh(CardProfile::default(), KeySet::new(keys), [1, 2, 3, 4]);
    let aid = vec![0xF0, 0, 0, 0, 1, 0xA1];
    card.packages.push(Package {
        aid: aid.clone(),
        major: 1,
        minor: 0,
        security_domain: emulator::DEFAULT_ISD_AID.to_vec(),
        applets: vec![[&aid[..], &[1]].concat()],
        exports: vec![],
        imports: vec![],
        load_file: (0..26_743u32).map(|i| i as u8).collect(),
    });
    card.instances.push(Instance {
        aid: [&aid[..], &[1]].concat(),
        load_file: aid.clone(),
        module: [&aid[..], &[1]].concat(),
        privileges: vec![0, 0, 0],
        life_cycle: 0x07,
        parameters: vec![],
        security_domain: emulator::DEFAULT_ISD_AID.to_vec(),
        quota: Default::default(),
        key_sets: Vec::new(),
    });
    store.save(&card).unwrap();
    c.bench_function("state save, one instance changed (fsync)", |b| {
        b.iter(|| {
            card.instances[0].life_cycle ^= 0x08;
            store.save(&card).unwrap();
        })
    });
}

criterion_group!(benches, commits);
criterion_main!(benches);
