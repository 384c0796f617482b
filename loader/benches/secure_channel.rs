//! Secure messaging speed: wrapping one APDU (SCP02 and SCP03, C-MAC and
//! C-MAC+C-ENC), and producing the whole secured LOAD sequence (INSTALL [for
//! load] and every LOAD block) of the largest CAP of the shared corpus.
//!
//! Run: cargo bench -p loader --bench secure_channel

use std::path::PathBuf;

use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gp::apdu::CommandApdu;
use gp::commands;
use gp::install::{InstallForLoad, LoadBlocks};
use scp::keys::{Key, KeyType, StaticKeys};
use scp::{self, CardConfig, HostConfig, OsRng, Protocol, SecureChannel, SecurityLevel};

fn keys(kind: KeyType) -> StaticKeys {
    let k = Key::new(
        kind,
        &hex::decode("404142434445464748494A4B4C4D4E4F").unwrap(),
    )
    .unwrap();
    StaticKeys::single(k, 0x01)
}

/// A host channel opened against the card side of the same crate.
fn open(protocol: Protocol, level: SecurityLevel) -> SecureChannel {
    let kind = match protocol {
        Protocol::Scp02 { .. } => KeyType::Des3,
        _ => KeyType::Aes,
    };
    let card = CardConfig {
        keys: keys(kind).into(),
        protocol,
        kdd: [0; 10],
        sequence_counter: 1,
        aid: vec![0xA0, 0, 0, 1, 0x51, 0, 0, 0],
    };
    let mut config = HostConfig::new(keys(kind));
    config.security_level = level;
    if let Protocol::Scp02 { i } = protocol {
        config.scp02_i = i;
    }
    let host = scp::danger::begin_with_challenge(config, [1, 2, 3, 4, 5, 6, 7, 8]);
    let (card_auth, answer) = scp::initialize_update(&card, host.command(), &mut OsRng).unwrap();
    let auth = host.on_init_update_response(&answer).unwrap();
    let (_card, ok) = card_auth.external_authenticate(auth.command()).unwrap();
    auth.on_external_authenticate_response(&ok).unwrap()
}

fn largest_corpus_cap() -> (String, Cap) {
    let shared = std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("cap-corpus");
    let path = std::fs::read_dir(&dir)
        .expect("cap-corpus beside the project")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "cap"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a CAP in the corpus");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, Cap::from_path(&path).unwrap())
}

const CASES: [(&str, Protocol, SecurityLevel); 4] = [
    (
        "SCP02 i=15 C-MAC",
        Protocol::Scp02 { i: 0x15 },
        SecurityLevel::C_MAC,
    ),
    (
        "SCP02 i=15 C-MAC+C-ENC",
        Protocol::Scp02 { i: 0x15 },
        SecurityLevel::C_MAC_C_ENC,
    ),
    (
        "SCP03 i=70 C-MAC",
        Protocol::Scp03 { i: 0x70 },
        SecurityLevel::C_MAC,
    ),
    (
        "SCP03 i=70 C-MAC+C-ENC",
        Protocol::Scp03 { i: 0x70 },
        SecurityLevel::C_MAC_C_ENC,
    ),
];

fn wrap_one(c: &mut Criterion) {
    let apdu = CommandApdu::new(0x80, 0xE8, 0x00, 0x00, vec![0xA5; 200], None).unwrap();
    let mut g = c.benchmark_group("wrap one 200-byte LOAD APDU");
    g.throughput(Throughput::Elements(1));
    for (name, protocol, level) in CASES {
        let mut sc = open(protocol, level);
        g.bench_function(name, |b| {
            b.iter(|| std::hint::black_box(sc.wrap_apdu(&apdu).unwrap()))
        });
    }
    g.finish();
}

fn load_sequence(c: &mut Criterion) {
    let (name, cap) = largest_corpus_cap();
    let lf = LoadFile::build(&cap, false).unwrap();
    let c4 = lf.with_c4_tag();
    let ifl = InstallForLoad {
        load_file_aid: cap.header().unwrap().load_file_aid().as_bytes().to_vec(),
        ..Default::default()
    };
    let mut g = c.benchmark_group(format!("secured LOAD sequence of {name}"));
    g.throughput(Throughput::Bytes(c4.len() as u64));
    for (case, protocol, level) in CASES {
        let block = if level == SecurityLevel::C_MAC {
            247
        } else {
            239
        };
        let blocks = LoadBlocks::split(&c4, block).unwrap();
        g.bench_function(case, |b| {
            b.iter(|| {
                let mut sc = open(protocol, level);
                let mut out = Vec::with_capacity(blocks.blocks.len() + 1);
                out.push(
                    sc.wrap_apdu(&commands::install_for_load(&ifl).unwrap())
                        .unwrap(),
                );
                for (i, data) in blocks.blocks.iter().enumerate() {
                    let (p1, p2) = blocks.p1p2(i);
                    out.push(
                        sc.wrap_apdu(&commands::load(p1, p2, data).unwrap())
                            .unwrap(),
                    );
                }
                std::hint::black_box(out)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, wrap_one, load_sequence);
criterion_main!(benches);
