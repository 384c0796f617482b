//! Secured scripts (issue 14) on the largest CAP of the shared corpus, SCP03
//! i=70 at C-MAC+C-ENC:
//!
//! - `script build`: the key holder's offline build of one card's script
//!   (predicted INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, INSTALL [for
//!   load], every LOAD block encrypted and MACed in chain, INSTALL [for
//!   install], the rollback's session and DELETE), signed with ECDSA P-256
//!   and written as the packet file's bytes: scripts per second;
//! - `script play` beside `install`: the thin client's play of such a
//!   script into a fresh card (state persisted to a temporary file, as in
//!   benches/install.rs), and the loader's own install into the same kind
//!   of card.
//!
//! Run: cargo bench --bench scripts

use std::sync::Arc;

use cap_tools::Cap;
use cardtest::InProcess;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use emulator::{Card, CardProfile};
use loader::client::{ChannelOptions, GpClient};
use loader::plan::{InstallOptions, LoadOptions};
use loader::script::build::{Builder, CardRecord, Operation};
use loader::script::packet::{CardIdentity, Hex};
use loader::script::{play, ScriptSigner};
use loader::transport::CardChannel;
use scp::keys::SoftwareKeys;
use scp::SecurityLevel;

#[path = "support/corpus.rs"]
mod corpus;
use corpus::{keys, largest_corpus_cap};

/// A fresh card persisted in `dir`, its serial fixed (so its KDD is known)
/// and its sequence counter at 0.
fn fresh_card(dir: &std::path::Path) -> Card {
    // The state is a directory (its journal): a fresh card needs it gone.
    let state = dir.join(format!("card-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let rng = Box::new(Serial(false));
    Card::open_with_rng(&state, CardProfile::default(), keys(), rng).unwrap()
}

/// The card's first four random bytes (its serial number) fixed, the rest
/// from the operating system.
struct Serial(bool);

impl scp::ChallengeSource for Serial {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), scp::ScpError> {
        if !self.0 && out.len() == 4 {
            out.copy_from_slice(&[0x5C, 0, 0, 1]);
            self.0 = true;
            return Ok(());
        }
        scp::OsRng.fill(out)
    }
}

fn record(card: &Card) -> CardRecord {
    let kdd = emulator::recognition::kdd(card.state());
    CardRecord {
        identity: CardIdentity {
            cin: Some(Hex(kdd.to_vec())),
            iin: None,
            cplc_serial: None,
            kdd: Hex(kdd.to_vec()),
        },
        security_domain: Hex(emulator::DEFAULT_ISD_AID.to_vec()),
        key_version: 1,
        scp: 3,
        i: 0x70,
        sequence_counter: Some(0),
        max_command_data: Some(255),
    }
}

fn channel(card: Card) -> CardChannel {
    CardChannel::new(Box::new(InProcess::new(card)) as Box<dyn loader::transport::Transport>)
}

fn install(cap: &Cap, card: Card) {
    let mut client = GpClient::new(channel(card));
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
}

fn bench(c: &mut Criterion) {
    let (name, cap) = largest_corpus_cap();
    let cap = Arc::new(cap);
    let dir = tempfile::tempdir().unwrap();
    let builder = Builder::new(
        Arc::new(SoftwareKeys::new(keys())),
        SecurityLevel::C_MAC_C_ENC,
        3600,
        vec![Operation::Install {
            cap: Arc::clone(&cap),
            load: Box::default(),
            install: Some(InstallOptions::default()),
        }],
    );
    let signer = ScriptSigner::generate().unwrap();
    let verifier = signer.verifier();
    let card_record = record(&fresh_card(dir.path()));
    let build = || {
        let body = builder
            .build_offline(&card_record, 0, &mut scp::OsRng)
            .unwrap();
        signer.sign(body).unwrap().to_bytes().unwrap()
    };
    let sample = build();
    let commands = play::open(&sample, &verifier, 0)
        .unwrap()
        .body
        .commands
        .len();

    let mut g = c.benchmark_group("script build");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        format!(
            "{name}, SCP03 C-MAC+C-ENC, {commands} commands, {} KiB packet",
            sample.len() / 1024
        ),
        |b| b.iter(build),
    );
    g.finish();

    let mut g = c.benchmark_group("script play vs install");
    g.sample_size(20);
    g.bench_function(format!("jct install {name}"), |b| {
        b.iter_batched(
            || fresh_card(dir.path()),
            |card| install(&cap, card),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(format!("jct script play {name}"), |b| {
        b.iter_batched(
            || fresh_card(dir.path()),
            |card| {
                let packet = play::open(&sample, &verifier, 0).unwrap();
                let report = play::play_offline(&mut channel(card), &packet.body);
                assert!(report.completed, "{}", report.to_text());
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
