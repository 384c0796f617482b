//! What the install and secured-script benchmarks share: the largest CAP of
//! ../shared/cap-corpus (the heaviest real load) and the emulator's test
//! key set.

use std::path::PathBuf;

use cap_tools::Cap;
use scp::keys::{Key, StaticKeys};

/// The largest corpus CAP, by file size, with its file name.
pub fn largest_corpus_cap() -> (String, Cap) {
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

/// The emulator's default AES key set (version 1).
pub fn keys() -> StaticKeys {
    StaticKeys::single(Key::aes(&emulator::TEST_KEY).unwrap(), 1)
}
