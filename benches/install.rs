//! Installing the largest CAP of the shared corpus into the emulator through
//! the loader: SELECT, SCP03 handshake at C-MAC+C-ENC, INSTALL [for load],
//! every LOAD block, INSTALL [for install and make selectable]. Measures
//! the whole round trip of both sides (host wrapping, card verification,
//! decryption, linking and state writes to a temporary state file).
//!
//! Run: cargo bench --bench install

use std::sync::{Arc, Mutex};

use cap_tools::Cap;
use cardtest::InProcess;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emulator::{Card, CardProfile};
use loader::client::{ChannelOptions, GpClient};
use loader::plan::{InstallOptions, LoadOptions};
use loader::transport::CardChannel;
use scp::SecurityLevel;

#[path = "support/corpus.rs"]
mod corpus;
use corpus::{keys, largest_corpus_cap};

/// One install into a fresh card persisted in `dir`; returns the APDU count.
fn install(cap: &Cap, dir: &std::path::Path) -> usize {
    // A fresh card each time: the state (a journal, not one file) in its
    // own directory.
    let fresh = tempfile::tempdir_in(dir).unwrap();
    let card = Card::open(
        fresh.path().join("card.json"),
        CardProfile::default(),
        keys(),
    )
    .unwrap();
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
