//! Immutable blobs beside the journal, named by their SHA-256.
//!
//! Load files are large and never change once loaded: writing them into
//! the journal would copy them again at every compaction. Stored once in a
//! file of their own, they are written (atomically, synced) before the
//! journal record that names them commits, so a committed name always
//! points to a whole blob; a blob whose record never committed is an
//! orphan that [`BlobStore::retain`] removes.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A blob larger than this is refused on both write and read.
pub const MAX_BLOB: u64 = 64 << 20;

/// Why a blob could not be stored or read back.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("blob {path}: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

/// A directory of content-addressed files.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// The store in `dir`, created (mode 0700) if missing.
    pub fn open(dir: &Path) -> Result<BlobStore, BlobError> {
        let io_err = |source| BlobError::Io {
            path: dir.to_path_buf(),
            source,
        };
        match fs::create_dir(dir) {
            Ok(()) => set_private(dir).map_err(io_err)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(e)),
        }
        Ok(BlobStore {
            dir: dir.to_path_buf(),
        })
    }

    /// Stores `bytes` durably and returns its name (lowercase hex SHA-256).
    /// A blob that is already there is not written again.
    pub fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let name = hex::encode(Sha256::digest(bytes));
        let path = self.dir.join(&name);
        if bytes.len() as u64 > MAX_BLOB {
            return Err(BlobError::Corrupt {
                path,
                detail: format!("{} bytes, more than {MAX_BLOB}", bytes.len()),
            });
        }
        // Already there and intact: immutable, so never written twice.
        if self.get(&name).is_ok() {
            return Ok(name);
        }
        cap_tools::atomic::write_atomic_with_mode(&path, bytes, 0o600)
            .map_err(|source| BlobError::Io { path, source })?;
        Ok(name)
    }

    /// Reads the blob `name`, checking that its content still has that hash.
    pub fn get(&self, name: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(name)?;
        let io_err = |source| BlobError::Io {
            path: path.clone(),
            source,
        };
        let file = fs::File::open(&path).map_err(io_err)?;
        let mut bytes = Vec::new();
        file.take(MAX_BLOB + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        if bytes.len() as u64 > MAX_BLOB {
            return Err(BlobError::Corrupt {
                path,
                detail: format!("more than {MAX_BLOB} bytes"),
            });
        }
        if hex::encode(Sha256::digest(&bytes)) != name {
            return Err(BlobError::Corrupt {
                path,
                detail: "content does not match its hash".to_string(),
            });
        }
        Ok(bytes)
    }

    /// Removes every blob not named in `live` (orphans of loads that never
    /// committed, load files since deleted). Files that are not blob names
    /// (a temporary file of an interrupted write) go too.
    pub fn retain(&self, live: &HashSet<String>) -> Result<usize, BlobError> {
        let io_err = |source| BlobError::Io {
            path: self.dir.clone(),
            source,
        };
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !live.contains(&name) {
                fs::remove_file(entry.path()).map_err(io_err)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// A name is 64 lowercase hex digits; anything else could name a path
    /// outside the store.
    fn path_of(&self, name: &str) -> Result<PathBuf, BlobError> {
        if name.len() != 64 || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(BlobError::Corrupt {
                path: self.dir.clone(),
                detail: format!("'{name}' is not a blob name"),
            });
        }
        Ok(self.dir.join(name))
    }
}

#[cfg(unix)]
fn set_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn set_private(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_retain() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(&dir.path().join("blobs")).unwrap();
        let a = store.put(b"load file A").unwrap();
        let b = store.put(b"load file B").unwrap();
        assert_eq!(store.put(b"load file A").unwrap(), a);
        assert_eq!(store.get(&a).unwrap(), b"load file A");
        let live: HashSet<String> = [a.clone()].into_iter().collect();
        assert_eq!(store.retain(&live).unwrap(), 1);
        assert!(store.get(&b).is_err());
        assert_eq!(store.get(&a).unwrap(), b"load file A");
    }

    #[test]
    fn tampered_or_foreign_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let a = store.put(b"content").unwrap();
        fs::write(dir.path().join(&a), b"changed").unwrap();
        assert!(matches!(store.get(&a), Err(BlobError::Corrupt { .. })));
        assert!(matches!(
            store.get("../etc/passwd"),
            Err(BlobError::Corrupt { .. })
        ));
    }
}
