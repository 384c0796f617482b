//! jct emu's crypto natives in process, steady state (issue 12 item 9):
//! APDUs through `Card::transmit` to the crypto test applet
//! (tests/crypto/cryptotest), each one a whole operation: Cipher.init
//! with an IV and doFinal of 64 bytes with AES-128-CBC and three-key
//! 3DES-CBC, MessageDigest SHA-256 doFinal of 200 bytes. The same APDUs
//! in jCardSim: scripts/bench-crypto-vs-jcardsim.sh.

#[path = "../emulator/tests/common/mod.rs"]
mod common;
#[path = "../tests/support/java.rs"]
#[allow(dead_code)]
mod java;

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const AID: &str = "F000000001C101";

/// The benchmark APDUs, in hex: (name, key-setting APDU or "", APDU).
/// scripts/bench-crypto-vs-jcardsim.sh sends the same bytes.
fn workload() -> [(&'static str, &'static str, String); 3] {
    // SP 800-38A's 64-byte plaintext.
    let plain = "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51\
                 30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710";
    [
        (
            "AES-128-CBC of 64 bytes (init + doFinal)",
            "80100F00102B7E151628AED2A6ABF7158809CF4F3C",
            format!("80200D025210000102030405060708090A0B0C0D0E0F00{plain}00"),
        ),
        (
            "SHA-256 of 200 bytes (doFinal)",
            "",
            format!("80300400C900{}00", "A5".repeat(200)),
        ),
        (
            "3DES-CBC of 64 bytes (init + doFinal)",
            "80100300180123456789ABCDEFFEDCBA987654321089ABCDEF01234567",
            format!("802001024A08000102030405060700{plain}00"),
        ),
    ]
}

fn ok(r: &[u8]) {
    assert_eq!(r[r.len() - 2..], [0x90, 0x00], "{r:02X?}");
}

fn crypto(c: &mut Criterion) {
    let work = tempfile::tempdir().unwrap();
    let sources = java::java_files(Path::new("tests/crypto/cryptotest/src"));
    let classes = java::compile(work.path(), "cryptotest", &sources, None);
    let cap = java::build(
        work.path(),
        &classes,
        "com.jct.cryptotest",
        "F000000001C1",
        Some(&format!("{AID}=CryptoTestApplet")),
        &[],
    );
    let mut card = common::scripts::card_with(&[(&cap, Some(AID))], "3.0.5");
    ok(&card.transmit(&common::hex(&format!("00A4040007{AID}"))));
    let mut g = c.benchmark_group("crypto");
    g.throughput(Throughput::Elements(1));
    for (name, key, apdu) in workload() {
        if !key.is_empty() {
            ok(&card.transmit(&common::hex(key)));
        }
        let apdu = common::hex(&apdu);
        let r = card.transmit(&apdu);
        ok(&r);
        g.bench_function(name, |b| b.iter(|| ok(&card.transmit(&apdu))));
    }
    g.finish();
}

/// The engines alone (no JCVM): key schedule and 64 bytes of CBC, to
/// tell the crates' cost from the emulator's around it.
fn engines(c: &mut Criterion) {
    use emulator::natives::crypto::block::Engine;
    use emulator::natives::crypto::keys::Family;
    let mut g = c.benchmark_group("engine");
    for (name, fam, key) in [
        ("AES-128", Family::Aes, vec![0x2Bu8; 16]),
        (
            "3DES",
            Family::Des,
            [0x01u8, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF].repeat(3),
        ),
    ] {
        g.bench_function(format!("{name} key schedule"), |b| {
            b.iter(|| Engine::new(fam, std::hint::black_box(&key)))
        });
        let e = Engine::new(fam, &key).unwrap();
        let mut data = [0u8; 64];
        let mut iv = vec![0u8; e.block_size()];
        g.bench_function(format!("{name} CBC of 64 bytes"), |b| {
            b.iter(|| e.cbc(true, &mut iv, std::hint::black_box(&mut data)))
        });
    }
    g.finish();
}

criterion_group!(benches, crypto, engines);
criterion_main!(benches);
