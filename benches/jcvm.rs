//! The JCVM in process, steady state: APDUs through `Card::transmit` to an
//! installed applet. Echo (converter-reference hello, INS 01: five bytes
//! copied into the APDU buffer and sent), and a counter update inside a
//! transaction with its commit to the journal (tests/jcvm/tearing, INS 10:
//! beginTransaction, two persistent writes, commitTransaction, then the
//! card's commit point writes the changed object), buffered and fsynced.
//! The same commands in jCardSim, in its own process: scripts/bench-vs-jcardsim.sh.

#[path = "../emulator/tests/common/mod.rs"]
mod common;
#[path = "../tests/support/java.rs"]
#[allow(dead_code)]
mod java;

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emulator::{Card, CardProfile, StateFile};

fn shared(rel: &str) -> PathBuf {
    std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join(rel)
}

fn ok(r: &[u8]) {
    assert_eq!(r[r.len() - 2..], [0x90, 0x00], "{r:02X?}");
}

fn echo(c: &mut Criterion) {
    let cap = shared("converter-reference/oracle-3.0.5/hello.cap");
    let mut card = common::scripts::card_with(&[(&cap, Some("F0000000010101"))], "3.0.5");
    ok(&card.transmit(&common::hex("00A4040007F0000000010101")));
    let apdu = common::hex("8001000000");
    let mut g = c.benchmark_group("jcvm");
    g.throughput(Throughput::Elements(1));
    g.bench_function("echo (hello INS 01), in memory", |b| {
        b.iter(|| ok(&card.transmit(&apdu)))
    });
    g.finish();
}

fn transaction(c: &mut Criterion) {
    let work = tempfile::tempdir().unwrap();
    let sources = java::java_files(Path::new("tests/jcvm/tearing/src"));
    let classes = java::compile(work.path(), "tearing", &sources, None);
    let cap = java::build(
        work.path(),
        &classes,
        "com.jct.tearing",
        "F000000001F1",
        Some("F000000001F101=TearingApplet"),
        &[],
    );
    let mut g = c.benchmark_group("jcvm");
    g.throughput(Throughput::Elements(1));
    for (name, store) in [
        (
            "counter update in a transaction + journal commit, no fsync",
            StateFile::buffered(work.path().join("buffered")),
        ),
        (
            "counter update in a transaction + journal commit, fsync",
            StateFile::new(work.path().join("synced")),
        ),
    ] {
        let mut card = Card::open_store(
            store,
            CardProfile::default(),
            common::aes_keys(1),
            Box::new(scp::OsRng),
        )
        .unwrap();
        card.power_on();
        common::scripts::install_all(&mut card, &[(&cap, Some("F000000001F101"))], &[]);
        ok(&card.transmit(&common::hex("00A4040007F000000001F101")));
        let apdu = common::hex("8010000000");
        g.bench_function(name, |b| b.iter(|| ok(&card.transmit(&apdu))));
    }
    g.finish();
}

criterion_group!(benches, echo, transaction);
criterion_main!(benches);
