//! The state file: the card's persistent memory on disk.
//!
//! Written whole after every command that changes the state, atomically
//! (`cap_tools::atomic`: an exclusively created temporary file in the same
//! directory, mode 0600 before the first byte, flushed to the disk, then
//! renamed over the old one and the directory synced), so a crash or
//! power cut at any moment leaves either the old state or the new one,
//! never a mix. A symlink at the state file's path is replaced by the new
//! file, never written through. A file that does not parse is an error: silently starting
//! a fresh card would throw away the packages and keys it held.

use std::fs;
use std::io;
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
        let mut bytes = serde_json::to_vec_pretty(&doc)
            .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        bytes.push(b'\n');
        // The file holds the card's keys: readable by its owner only, from
        // the temporary file's creation on.
        cap_tools::atomic::write_atomic_with_mode(&self.path, &bytes, 0o600).map_err(io_err)
    }
}
