//! Installing the largest CAP of the shared corpus into the emulator through
//! the loader: SELECT, SCP03 handshake at C-MAC+C-ENC, INSTALL [for load],
//! every LOAD block, INSTALL [for install and make selectable]. Measures
//! the whole round trip of both sides (host wrapping, card verification,
//! decryption, linking and state writes to a temporary state file).
//!
//! Run: cargo bench --bench install

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cap_tools::Cap;
use cardtest::InProcess;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emulator::{Card, CardProfile};
use loader::client::{ChannelOptions, GpClient};
use loader::plan::{InstallOptions, LoadOptions};
use loader::transport::CardChannel;
use scp::keys::{Key, StaticKeys};
use scp::SecurityLevel;

fn largest_corpus_cap() -> (String, Cap) {
    let shared = std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = std::fs::read_dir(shared.join("cap-corpus"))
        .expect("cap-corpus beside the project")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "cap"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a CAP");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, Cap::from_path(&path).unwrap())
}

fn keys() -> StaticKeys {
    StaticKeys::single(Key::aes(&emulator::TEST_KEY).unwrap(), 1)
}

/// One install into a fresh card persisted in `dir`; returns the APDU count.
fn install(cap: &Cap, dir: &std::path::Path) -> usize {
    let state = dir.join(format!("card-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&state);
    let card = Card::open(&state, CardProfile::default(), keys()).unwrap();
    let count = Arc::new(Mutex::new(0usize));
    let c = Arc::clone(&count);
    let channel =
        CardChannel::new(Box::new(InProcess::new(card)) as Box<dyn loader::transport::Transport>)
            .with_observer(Box::new(move |_| *c.lock().unwrap() += 1));
    let mut client = GpClient::new(channel);
    client.select_security_domain(None).unwrap();
    let mut options = ChannelOptions::new(keys());
    options.security_level = SecurityLevel::C_MAC_C_ENC;
    client.open_secure_channel(&options).unwrap();
    client
        .load(cap, &LoadOptions::default(), &mut |_| {})
        .unwrap();
    client
        .install_applets(cap, &InstallOptions::default())
        .unwrap();
    let n = *count.lock().unwrap();
    n
}

fn bench(c: &mut Criterion) {
    let (name, cap) = largest_corpus_cap();
    let dir = tempfile::tempdir().unwrap();
    let apdus = install(&cap, dir.path());
    let mut g = c.benchmark_group("emulator install");
    g.throughput(Throughput::Elements(apdus as u64));
    g.bench_function(format!("{name}, SCP03 C-MAC+C-ENC, {apdus} APDUs"), |b| {
        b.iter(|| install(&cap, dir.path()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
