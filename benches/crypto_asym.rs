//! Asymmetric signatures in process, steady state: APDUs through
//! `Card::transmit` to tests/crypto/asymtest, each signing a 32-byte
//! message: ECDSA P-256 with SHA-256 and RSA-2048 (CRT) PKCS#1 v1.5 with
//! SHA-256, the keys generated on the card by KeyPair.genKeyPair. The same
//! commands in jCardSim: scripts/bench-asym-vs-jcardsim.sh (its `APDUS`
//! lines are these setups).

#[path = "../emulator/tests/common/mod.rs"]
mod common;
#[path = "../tests/support/java.rs"]
#[allow(dead_code)]
mod java;

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Setup commands (KeyPair, domain parameters, genKeyPair) and the
/// benchmarked command, for each row; shared with the jCardSim script.
pub const ROWS: [(&str, &[&str], &str); 2] = [
    (
        "ECDSA P-256 SHA-256 sign (32-byte message)",
        &[
            "8040050002 0100",
            "8011000A20 FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
            "8011000B20 FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
            "8011000C20 5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B",
            "8011000D41 046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296\
                        4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
            "8011000E20 FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
            "8011000F02 0001",
            "8041000000",
        ],
        "8020210120 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00",
    ),
    (
        "RSA-2048 CRT PKCS#1 v1.5 SHA-256 sign (32-byte message)",
        &["8040020002 0800", "8041000000"],
        "8020280120 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00",
    ),
];

fn ok(r: &[u8]) {
    assert_eq!(r[r.len() - 2..], [0x90, 0x00], "{r:02X?}");
}

fn hex(s: &str) -> Vec<u8> {
    common::hex(&s.split_whitespace().collect::<String>())
}

fn sign(c: &mut Criterion) {
    let work = tempfile::tempdir().unwrap();
    let sources = java::java_files(Path::new("tests/crypto/asymtest/src"));
    let classes = java::compile(work.path(), "asymtest", &sources, None);
    let cap = java::build(
        work.path(),
        &classes,
        "com.jct.asymtest",
        "F000000001C2",
        Some("F000000001C201=com.jct.asymtest.AsymTestApplet"),
        &[],
    );
    let mut card = common::scripts::card_with(&[(&cap, Some("F000000001C201"))], "3.0.5");
    ok(&card.transmit(&hex("00A4040007F000000001C201")));
    let mut g = c.benchmark_group("crypto");
    g.throughput(Throughput::Elements(1));
    for (name, setup, apdu) in ROWS {
        for s in setup {
            ok(&card.transmit(&hex(s)));
        }
        let apdu = hex(apdu);
        g.bench_function(name, |b| b.iter(|| ok(&card.transmit(&apdu))));
    }
    g.finish();
}

criterion_group!(benches, sign);
criterion_main!(benches);
