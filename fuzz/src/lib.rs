//! Helpers shared by the fuzz targets and by the seed writer
//! (`cargo run --example write_seeds`): the framing of APDU sequences and
//! the emulated card that `emulator_apdu` starts from.

pub mod emu;

/// Splits `data` into frames, each a 2-byte big-endian length then that
/// many bytes; a last frame shorter than its length keeps what is there.
pub fn frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let take = len.min(rest.len());
        out.push(&rest[..take]);
        data = &rest[take..];
    }
    out
}

/// The inverse of [`frames`]: appends `frame` with its length prefix.
pub fn push_frame(out: &mut Vec<u8>, frame: &[u8]) {
    let len = u16::try_from(frame.len()).expect("frame longer than 65535 bytes");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(frame);
}

/// The shared data directory: `$JCT_SHARED`, or `../shared` beside the
/// project (as CI and the tests have it).
pub fn shared(rel: &str) -> std::path::PathBuf {
    std::env::var_os("JCT_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join(rel)
}

/// A directory for files the targets must write (state files), one per
/// process: under `$JCT_FUZZ_SCRATCH` (run.sh makes one and removes it
/// afterwards), else on a tmpfs when there is one, so executions do not
/// wait on a disk.
pub fn scratch_dir() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let base = match std::env::var_os("JCT_FUZZ_SCRATCH") {
        Some(dir) => std::path::PathBuf::from(dir),
        None if shm.is_dir() => shm.to_path_buf(),
        None => std::env::temp_dir(),
    };
    let dir = base.join(format!("jct-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the scratch directory");
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut data = Vec::new();
        push_frame(&mut data, b"abc");
        push_frame(&mut data, b"");
        push_frame(&mut data, b"de");
        assert_eq!(frames(&data), vec![&b"abc"[..], b"", b"de"]);
        assert_eq!(frames(&[0, 5, 1, 2]), vec![&[1u8, 2][..]]);
        assert!(frames(&[7]).is_empty());
    }
}
