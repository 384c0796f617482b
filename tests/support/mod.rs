//! Test support: an emulated card served on a loopback port for the `jct`
//! binary to reach with `--emu`, stopped when dropped.
#![allow(dead_code)]

#[path = "emu_process.rs"]
pub mod emu_process;
#[path = "java.rs"]
pub mod java;
#[path = "jcardsim.rs"]
pub mod jcardsim;
#[path = "postgres.rs"]
pub mod postgres;
#[path = "require.rs"]
pub mod require;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use assert_cmd::Command;
use emulator::{Card, CardProfile};
use scp::keys::{Key, StaticKeys};

/// The shared data beside the repository (or `$JCT_SHARED`).
pub fn shared() -> PathBuf {
    std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

pub const TEST_KEY: &str = "404142434445464748494A4B4C4D4E4F";

/// An emulator serving one card on a loopback port, stopped when dropped.
pub struct Emu {
    pub addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Emu {
    pub fn start(scp02: bool, api: &str) -> Emu {
        Emu::start_with(scp02, 0x55, api)
    }

    pub fn start_with(scp02: bool, scp02_i: u8, api: &str) -> Emu {
        let profile = CardProfile {
            api: api.to_string(),
            scp02_i,
            ..CardProfile::default()
        };
        Emu::start_profile(scp02, profile)
    }

    /// A card of the given profile (SCP02 or SCP03 test keys).
    pub fn start_profile(scp02: bool, profile: CardProfile) -> Emu {
        let dir = tempfile::tempdir().unwrap();
        let key = hex::decode(TEST_KEY).unwrap();
        let keys = if scp02 {
            StaticKeys::single(Key::des3(&key).unwrap(), 1)
        } else {
            StaticKeys::single(Key::aes(&key).unwrap(), 1)
        };
        let card = Card::open(dir.path().join("card.json"), profile, keys).unwrap();
        Emu::serve(card, dir)
    }

    /// Serves a card made by the caller (its state kept in `dir`).
    pub fn serve(mut card: Card, dir: tempfile::TempDir) -> Emu {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            emulator::server::serve_tcp(listener, &mut card, &s).unwrap();
        });
        Emu {
            addr,
            stop,
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// `jct` with `--emu` pointing here.
    pub fn jct(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("jct").unwrap();
        c.args(args).args(["--emu", &self.addr, "--key", TEST_KEY]);
        c.env_remove("JCT_KEY").env_remove("JCT_EMU");
        c
    }

    pub fn list(&self) -> String {
        let out = self.jct(&["list"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A small deterministic generator (xorshift64) for the tests' random
/// command sequences and timings: the same seed gives the same run, so a
/// failure can be replayed. Never for keys.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
