//! Paths to the shared test data (../shared beside the project root).
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared data directory: `$JCT_SHARED` or `../shared` from the workspace root.
pub fn shared() -> PathBuf {
    if let Ok(p) = std::env::var("JCT_SHARED") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

fn files_in(dir: PathBuf, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .{ext} files in {}", dir.display());
    v
}

/// Every CAP of the corpus and of both converter-reference kits.
pub fn all_caps() -> Vec<PathBuf> {
    let s = shared();
    let mut v = files_in(s.join("cap-corpus"), "cap");
    v.extend(files_in(s.join("converter-reference/oracle-3.0.5"), "cap"));
    v.extend(files_in(s.join("converter-reference/oracle-3.2.0"), "cap"));
    v
}

/// Every export file of the exp corpus and of both converter-reference kits.
pub fn all_exps() -> Vec<PathBuf> {
    let s = shared();
    let mut v = files_in(s.join("exp-corpus"), "exp");
    v.extend(files_in(s.join("converter-reference/oracle-3.0.5"), "exp"));
    v.extend(files_in(s.join("converter-reference/oracle-3.2.0"), "exp"));
    v
}
