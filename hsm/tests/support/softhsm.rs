//! Test support: a SoftHSM2 token of this test process's own, in a
//! temporary directory named by SOFTHSM2_CONF.
//!
//! SoftHSM reads its configuration once, when the module is initialised,
//! and jct initialises a module once per process; so every test of a
//! process shares one token (made on first use) and keeps to key labels of
//! its own. Without SoftHSM2 a test skips with a message, and under CI
//! (`CI` set) fails, as tests/support/require.rs decides for every
//! component.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[path = "../../../tests/support/require.rs"]
mod require;

/// Where Debian installs the module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const TOKEN: &str = "jct-test";
pub const PIN: &str = "481516";
const SO_PIN: &str = "23424242";

/// A token ready for use: the module path and the configuration file.
pub struct SoftHsm {
    pub module: PathBuf,
    pub conf: PathBuf,
    _dir: tempfile::TempDir,
}

fn available() -> Result<(), String> {
    if !Path::new(MODULE).exists() {
        return Err(format!(
            "{MODULE} does not exist; install the softhsm2 package (scripts/setup-system.sh)"
        ));
    }
    match Command::new("softhsm2-util").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`softhsm2-util --version` failed with {}",
            o.status
        )),
        Err(e) => Err(format!("softhsm2-util cannot run ({e}); install softhsm2")),
    }
}

fn make() -> Result<SoftHsm, String> {
    available()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).map_err(|e| e.to_string())?;
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "softhsm2-util --init-token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Before the module is first initialised in this process.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    Ok(SoftHsm {
        module: PathBuf::from(MODULE),
        conf,
        _dir: dir,
    })
}

/// The process's token, or None (skip) when SoftHSM2 is missing outside CI.
pub fn softhsm() -> Option<&'static SoftHsm> {
    static TOKEN_DIR: OnceLock<Result<SoftHsm, String>> = OnceLock::new();
    let made = TOKEN_DIR.get_or_init(make);
    let status = made.as_ref().map(|_| ()).map_err(Clone::clone);
    if require::require("SoftHSM2", status) {
        made.as_ref().ok()
    } else {
        None
    }
}

/// The token opened through jct's hsm crate.
pub fn open(clear: hsm::ClearKeys) -> Option<hsm::Hsm> {
    let s = softhsm()?;
    Some(hsm::Hsm::open_with(&s.module, TOKEN, &hsm::Pin::new(PIN), clear).unwrap())
}

/// A fresh label for a test's keys (tests share the token).
pub fn label(test: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{test}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A small deterministic generator for KDDs, challenges and keys.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }
}
