//! Atomic file writes, the one implementation the workspace uses (CAP,
//! export and load files written by `jct`, the emulator's state file).
//!
//! A crash or power cut at any moment must leave either the old file or the
//! new one, never a truncated mix, and nothing another user planted in the
//! directory may redirect the write. So the bytes go to a temporary file in
//! the target's directory (so the rename stays on one file system), created
//! exclusively (`O_EXCL`, random name: a file or symlink planted under a
//! guessable name cannot be opened instead), with its final permissions
//! before any byte is written; the file is synced, renamed over the target
//! and the directory is synced so the rename itself is durable.
//!
//! A symlink at the target is *replaced*, not followed: `rename(2)` swaps
//! the directory entry, so the link itself gives way to the new file and
//! whatever it pointed to is left untouched. Writing through a link would
//! let anyone who can create one in the directory aim the write elsewhere.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempPath};

/// Writes `bytes` to `path` atomically, with the permissions a new file
/// gets by default (0666 minus the umask on Unix).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    Staged::new(path, bytes, None)?.commit()
}

/// [`write_atomic`] for files that hold secrets: the file has `mode`
/// (e.g. 0o600) from its creation on, so no byte is ever readable by others.
/// Where the platform has no Unix modes, `mode` is ignored.
pub fn write_atomic_with_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    Staged::new(path, bytes, Some(mode))?.commit()
}

/// Writes every `(path, bytes)` pair or none of them: the files that belong
/// together (a CAP and its export file) never end up from two different runs.
///
/// All contents are first written and synced to temporary files; only then
/// are they renamed over their targets, in order. If a rename fails, the
/// targets already replaced get their previous file back (or are removed
/// when there was none), so the set is left as it was before the call.
pub fn write_all_or_none(files: &[(&Path, &[u8])]) -> io::Result<()> {
    let staged = files
        .iter()
        .map(|(path, bytes)| Staged::new(path, bytes, None))
        .collect::<io::Result<Vec<_>>>()?;
    let mut done: Vec<Previous> = Vec::with_capacity(staged.len());
    for file in staged {
        let outcome = Previous::keep(&file.target).and_then(|previous| {
            file.commit()?;
            Ok(previous)
        });
        match outcome {
            Ok(previous) => done.push(previous),
            Err(e) => {
                // Newest first, so a path listed twice ends as it started.
                for previous in done.into_iter().rev() {
                    let _ = previous.restore();
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The content of one target, written and synced to a temporary file in
/// its directory, not yet renamed into place. Dropping it removes the
/// temporary file.
struct Staged {
    temp: NamedTempFile,
    target: PathBuf,
    dir: PathBuf,
}

impl Staged {
    fn new(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<Staged> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file path", path.display()),
            )
        })?;
        let dir = parent_dir(path);
        let mut builder = tempfile::Builder::new();
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        builder.prefix(&prefix).suffix(".tmp");
        // tempfile creates 0600 files; an ordinary output file gets what
        // `File::create` would give it (0666 less the umask).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(mode.unwrap_or(0o666)));
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut temp = builder.tempfile_in(&dir)?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        Ok(Staged {
            temp,
            target: path.to_path_buf(),
            dir,
        })
    }

    /// Renames the temporary file over the target and syncs the directory.
    fn commit(self) -> io::Result<()> {
        self.temp.persist(&self.target).map_err(|e| e.error)?;
        sync_dir(&self.dir);
        Ok(())
    }
}

/// What was at a target before [`write_all_or_none`] replaced it: a hard
/// link to the old file (which keeps its content and inode), or nothing.
struct Previous {
    target: PathBuf,
    saved: Option<TempPath>,
}

impl Previous {
    fn keep(target: &Path) -> io::Result<Previous> {
        let saved = match fs::symlink_metadata(target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
            Ok(_) => {
                // A fresh unique name beside the target, then the old file
                // linked under it (`hard_link` links a symlink itself, it
                // does not follow it).
                let slot = tempfile::Builder::new()
                    .prefix(".jct-previous.")
                    .tempfile_in(parent_dir(target))?
                    .into_temp_path();
                fs::remove_file(&slot)?;
                fs::hard_link(target, &slot)?;
                Some(slot)
            }
        };
        Ok(Previous {
            target: target.to_path_buf(),
            saved,
        })
    }

    /// Puts the old file back (atomically, by rename), or removes the new
    /// one when there was no old file.
    fn restore(self) -> io::Result<()> {
        match self.saved {
            Some(slot) => {
                let result = fs::rename(&slot, &self.target);
                // The name no longer exists after the rename; dropping
                // the TempPath would only try to remove it again.
                let _ = slot.keep();
                result
            }
            None => fs::remove_file(&self.target),
        }?;
        sync_dir(&parent_dir(&self.target));
        Ok(())
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename in `dir` durable. Directories cannot be opened for
/// syncing on every platform; where they cannot, there is nothing more to do.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.cap");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[cfg(unix)]
    #[test]
    fn mode_is_applied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic_with_mode(&path, b"{}", 0o600).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let link = dir.path().join("out.cap");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&link).unwrap(), b"new");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.cap");
        assert!(write_atomic(&path, b"x").is_err());
        assert!(!path.exists());
    }

    #[test]
    fn all_or_none_restores_the_first_file_when_the_second_fails() {
        let dir = tempfile::tempdir().unwrap();
        let cap = dir.path().join("a.cap");
        let fresh = dir.path().join("fresh.cap");
        fs::write(&cap, b"old cap").unwrap();
        // A non-empty directory where the second file should go: staging
        // succeeds, the rename over it fails.
        let exp = dir.path().join("a.exp");
        fs::create_dir(&exp).unwrap();
        fs::write(exp.join("inside"), b"x").unwrap();
        let err = write_all_or_none(&[(&cap, b"new cap"), (&fresh, b"new"), (&exp, b"new exp")])
            .unwrap_err();
        assert_ne!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert_eq!(fs::read(&cap).unwrap(), b"old cap");
        assert!(!fresh.exists());
        assert!(exp.is_dir());
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn all_or_none_writes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.cap");
        let b = dir.path().join("a.exp");
        fs::write(&a, b"old").unwrap();
        write_all_or_none(&[(&a, b"cap"), (&b, b"exp")]).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"cap");
        assert_eq!(fs::read(&b).unwrap(), b"exp");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }
}
