//! Writing output files so that a failure never leaves a half-written file.
//! The mechanics (exclusive temporary file, fsync, rename, directory fsync)
//! are `cap_tools::atomic`'s, shared with the emulator's state file; this
//! only names the file in the error.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically; a symlink at `path` is replaced by
/// the new file, not written through.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    cap_tools::atomic::write_atomic(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes all of `files` or none of them (see
/// `cap_tools::atomic::write_all_or_none`): a CAP and its export file from
/// two different builds must never sit side by side.
pub fn write_all_or_none(files: &[(&Path, &[u8])]) -> Result<()> {
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    cap_tools::atomic::write_all_or_none(files)
        .with_context(|| format!("writing {} (none of them was changed)", names.join(" and ")))
}

/// Every file under `dir` (any depth) whose extension is `ext`, sorted,
/// so that command lines and build states are the same from run to run.
/// Directories are followed as `read_dir` reports them: a symbolic link to
/// a directory is not entered, so a link cycle cannot loop.
pub fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("reading {}", d.display()))?;
            let p = e.path();
            let kind = e
                .file_type()
                .with_context(|| format!("reading {}", p.display()))?;
            if kind.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
