//! APDU round trips through the real PC/SC stack: this process (pcsc
//! crate, libpcsclite) -> pcscd -> vsmartcard's vpcd driver -> TCP ->
//! `jct emu --vpcd` (the card) and back. One iteration is one SELECT of the
//! ISD, so criterion's throughput line reads directly as APDUs per second.
//!
//! What it measures is mostly latency, not computation: each APDU crosses
//! two sockets twice. That is why the card side sets TCP_NODELAY and
//! TCP_QUICKACK: without them every round trip waits for a delayed ACK
//! (about 40 ms on Linux).
//!
//! Needs pcscd and the vpcd driver (scripts/setup-system.sh); starts its own
//! pcscd unless one with a vpcd reader is running, and stops what it started.
//!
//! Run: cargo bench --bench pcsc

#[path = "../tests/support/pcscd.rs"]
mod pcscd;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loader::transport::pcsc::PcscTransport;
use loader::transport::Transport;

/// SELECT by AID of the ISD (A000000151000000).
const SELECT_ISD: [u8; 13] = [
    0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00,
];

/// `jct emu --vpcd` as a child process, stopped by its own pid when dropped.
struct Emu(Child);

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        if pcscd::wait_for(Duration::from_secs(5), || self.0.try_wait().ok().flatten()).is_none() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn bench(c: &mut Criterion) {
    let daemon = match pcscd::ensure_pcscd() {
        Ok(d) => d,
        Err(reason) => panic!("the PC/SC benchmark needs pcscd with the vpcd driver: {reason}"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let emu = Command::new(env!("CARGO_BIN_EXE_jct"))
        .args(["emu", "--vpcd", "127.0.0.1:35963", "--state"])
        .arg(dir.path().join("card.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting jct emu");
    let emu = Emu(emu);
    pcscd::wait_for(Duration::from_secs(15), || {
        pcscd::vpcd_readers().into_iter().find(|r| r.card_present)
    })
    .expect("the emulator never appeared in the Virtual PCD reader");
    let mut reader = PcscTransport::connect(Some(pcscd::READER)).expect("connecting to the reader");

    let mut group = c.benchmark_group("pcsc");
    group.throughput(Throughput::Elements(1));
    group.bench_function("select_isd_round_trip", |b| {
        b.iter(|| {
            let r = reader.transmit(&SELECT_ISD).expect("SELECT");
            assert_eq!(r[r.len() - 2..], [0x90, 0x00]);
        })
    });
    group.finish();
    drop(reader);
    drop(emu);
    drop(daemon);
}

criterion_group!(benches, bench);
criterion_main!(benches);
