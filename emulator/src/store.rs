//! The state file: the card's persistent memory on disk.
//!
//! Written whole after every command that changes the state, atomically:
//! a temporary file in the same directory, flushed to the disk, then
//! renamed over the old one (and the directory synced), so a crash or
//! power cut at any moment leaves either the old state or the new one,
//! never a mix. A file that does not parse is an error: silently starting
//! a fresh card would throw away the packages and keys it held.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::CardState;

/// Identifies the file's content, so a stray JSON file is not taken for a card.
const FORMAT: &str = "jct-emu-state";
/// Bumped when the layout changes incompatibly.
const VERSION: u32 = 1;

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("state file {path} is corrupt: {detail}. It was left untouched; move it away to start a fresh card")]
    Corrupt { path: PathBuf, detail: String },
}

#[derive(Serialize)]
struct DocumentOut<'a> {
    format: &'static str,
    version: u32,
    card: &'a CardState,
}

#[derive(Deserialize)]
struct DocumentIn {
    format: String,
    version: u32,
    card: CardState,
}

/// A state file location.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the card; `Ok(None)` when there is no file yet (a fresh card).
    pub fn load(&self) -> Result<Option<CardState>, StoreError> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let corrupt = |detail: String| StoreError::Corrupt {
            path: self.path.clone(),
            detail,
        };
        let doc: DocumentIn = serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
        if doc.format != FORMAT {
            return Err(corrupt(format!(
                "format '{}' is not '{FORMAT}'",
                doc.format
            )));
        }
        if doc.version != VERSION {
            return Err(corrupt(format!(
                "layout version {} is not the supported {VERSION}",
                doc.version
            )));
        }
        doc.card.validate().map_err(corrupt)?;
        Ok(Some(doc.card))
    }

    /// Writes the card atomically.
    pub fn save(&self, card: &CardState) -> Result<(), StoreError> {
        let io_err = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let doc = DocumentOut {
            format: FORMAT,
            version: VERSION,
            card,
        };
        let bytes = serde_json::to_vec_pretty(&doc)
            .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        // One writer per state file is the rule; the pid keeps two
        // emulators pointed at one file by mistake from sharing a temp file.
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            // The file holds the card's keys: readable by its owner only.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            f.write_all(&bytes)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            // Make the rename itself durable. Directories cannot be opened
            // for syncing everywhere; where they cannot, there is nothing
            // more to do.
            if let Ok(d) = File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.map_err(io_err)
    }
}
