//! Damaged input gives errors, never panics: every corpus CAP is truncated at
//! many points and has bytes flipped, as a JAR and as a raw load file, and
//! whatever still decodes goes through verification, info and re-encoding.

mod common;

use cap_tools::cap::info::CapInfo;
use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;

/// About `n` evenly spread positions in `0..len` (all of them when `len <= n`).
fn positions(len: usize, n: usize) -> impl Iterator<Item = usize> {
    let step = (len / n).max(1);
    (0..len).step_by(step)
}

fn exercise(bytes: &[u8], reader: fn(&[u8]) -> cap_tools::Result<Cap>) -> bool {
    match reader(bytes) {
        Ok(cap) => {
            let _ = cap_tools::verify::verify(&cap);
            let _ = CapInfo::of(&cap);
            let _ = cap_tools::cap::dump::render_text(&cap);
            let _ = cap.to_jar();
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn truncated_and_flipped_load_files_give_errors_not_panics() {
    let mut errors = 0usize;
    for path in common::all_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let lf = LoadFile::build(&cap, true).unwrap().bytes;
        for cut in positions(lf.len(), 300) {
            if !exercise(&lf[..cut], Cap::from_load_file) {
                errors += 1;
            }
        }
        for pos in positions(lf.len(), 400) {
            for mask in [0xFFu8, 0x80, 0x01] {
                let mut m = lf.clone();
                m[pos] ^= mask;
                if !exercise(&m, Cap::from_load_file) {
                    errors += 1;
                }
            }
        }
        // Oversized length fields: every component size set to its maximum.
        let mut m = lf.clone();
        m[1] = 0xFF;
        m[2] = 0xFF;
        assert!(!exercise(&m, Cap::from_load_file), "{}", path.display());
    }
    assert!(
        errors > 1000,
        "damage must be detected, only {errors} errors"
    );
}

#[test]
fn damaged_jars_give_errors_not_panics() {
    for path in common::all_caps() {
        let jar = std::fs::read(&path).unwrap();
        for cut in positions(jar.len(), 60) {
            exercise(&jar[..cut], Cap::from_bytes);
        }
        for pos in positions(jar.len(), 120) {
            let mut m = jar.clone();
            m[pos] ^= 0xFF;
            exercise(&m, Cap::from_bytes);
        }
    }
}

#[test]
fn empty_and_tiny_inputs_are_errors() {
    for input in [
        &b""[..],
        b"\x01",
        b"\x01\x00",
        b"PK\x03\x04",
        b"\xC4\x05\x01",
    ] {
        let e = Cap::from_bytes(input).unwrap_err().to_string();
        assert!(!e.is_empty());
    }
    let e = Cap::from_bytes(b"").unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
}
