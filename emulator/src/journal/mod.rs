//! The card's persistent memory as a write-ahead journal.
//!
//! A real card writes EEPROM a few bytes at a time and keeps a commit
//! buffer so that a transaction, or a single field update, is either whole
//! or absent after the power is cut. Rewriting the entire state after every
//! APDU (what a JSON state file does) costs time proportional to everything
//! the card holds; the journal instead appends one record per commit — the
//! keys that changed — and syncs it, so a commit costs what it changed.
//!
//! [`Journal`] is a key-value map whose every [`Journal::commit`] is atomic
//! and durable: after a crash at any instant, [`Journal::open`] gives back
//! exactly the state after the last commit whose record reached the disk
//! whole. A torn last record (the append the crash interrupted) is
//! recognised by its length and checksum and cut off. When the file has
//! grown well past what it holds, it is compacted into a fresh file that is
//! swapped in atomically. Large immutable values (load files) belong in the
//! [`BlobStore`] beside it, written once and named by their hash.

mod blobs;
pub mod record;

pub use blobs::BlobStore;
pub use record::Op;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use record::{Decoded, EncodeError, MAGIC};

/// A journal file larger than this is refused at open: the whole file is
/// replayed into memory, so its size bounds what opening it may take.
pub const MAX_FILE: u64 = 1 << 30;
/// Compaction starts once the file is this large and more than twice what
/// the live entries need.
const COMPACT_FLOOR: u64 = 1 << 20;
/// A compacted file holds the live entries in records of about this size.
const SNAPSHOT_CHUNK: usize = 8 << 20;

/// Whether a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fdatasync` after every record: what survives a power cut.
    Sync,
    /// Written to the operating system only: survives the process being
    /// killed, not the machine losing power. For tests and benchmarks.
    Buffered,
}

/// What [`Journal::open`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recovery {
    /// Intact records replayed.
    pub records: u64,
    /// Bytes of an interrupted append cut off the end of the file.
    pub torn_bytes: u64,
    /// True when there was no journal yet.
    pub created: bool,
}

/// Why the journal could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("journal {path} is corrupt at byte {offset}: {detail}. It was left untouched")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    #[error("journal {path}: cannot commit {detail}")]
    Refused { path: PathBuf, detail: String },
}

/// An open journal: the live entries in memory, the file open for appends.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Bytes the live entries would take in a compacted file.
    live_bytes: u64,
    file_len: u64,
    next_seq: u64,
    durability: Durability,
    /// Reused for every record, so a commit allocates nothing once warm.
    scratch: Vec<u8>,
    compaction_error: Option<String>,
}

impl Journal {
    /// Opens the journal at `path`, creating an empty one if there is none,
    /// and replays it. A torn last record is removed from the file.
    pub fn open(path: &Path, durability: Durability) -> Result<(Journal, Recovery), JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut created = false;
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                cap_tools::atomic::write_atomic_with_mode(path, MAGIC, 0o600).map_err(io_err)?;
                created = true;
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(io_err)?
            }
            Err(e) => return Err(io_err(e)),
        };
        let (mut journal, mut recovery) = Journal::replay(path, file, durability)?;
        recovery.created = created;
        if recovery.torn_bytes > 0 {
            journal.file.set_len(journal.file_len).map_err(io_err)?;
            journal.file.sync_all().map_err(io_err)?;
        }
        journal
            .file
            .seek(SeekFrom::Start(journal.file_len))
            .map_err(io_err)?;
        Ok((journal, recovery))
    }

    /// Replays the journal at `path` without changing it (a torn tail is
    /// ignored, not cut): for looking at a journal another process has
    /// open. Commits to it fail.
    pub fn read(path: &Path) -> Result<Journal, JournalError> {
        let file = File::open(path).map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Journal::replay(path, file, Durability::Buffered)?.0)
    }

    /// Takes the advisory lock that keeps a second writer off the file, or
    /// `Err(None)` when another holder has it.
    pub fn try_lock(&self) -> Result<(), Option<io::Error>> {
        match self.file.try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => Err(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Some(e)),
        }
    }

    /// Reads the whole file and applies every intact record.
    fn replay(
        path: &Path,
        mut file: File,
        durability: Durability,
    ) -> Result<(Journal, Recovery), JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let corrupt = |offset: u64, detail: String| JournalError::Corrupt {
            path: path.to_path_buf(),
            offset,
            detail,
        };
        let len = file.metadata().map_err(io_err)?.len();
        if len > MAX_FILE {
            return Err(corrupt(
                0,
                format!("{len} bytes, more than the {MAX_FILE} a journal may hold"),
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        (&mut file)
            .take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt(0, "not a jct journal (wrong magic)".to_string()));
        }
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
            entries: BTreeMap::new(),
            live_bytes: 0,
            file_len: 0,
            next_seq: 1,
            durability,
            scratch: Vec::new(),
            compaction_error: None,
        };
        let mut recovery = Recovery::default();
        let mut at = MAGIC.len();
        loop {
            match record::decode(&bytes[at..]) {
                Decoded::Record { seq, ops, len } => {
                    if seq != journal.next_seq {
                        return Err(corrupt(
                            at as u64,
                            format!("record {seq} where {} was due", journal.next_seq),
                        ));
                    }
                    journal.apply(ops);
                    journal.next_seq += 1;
                    recovery.records += 1;
                    at += len;
                }
                Decoded::Torn => break,
                Decoded::Corrupt(detail) => return Err(corrupt(at as u64, detail)),
            }
        }
        journal.file_len = at as u64;
        recovery.torn_bytes = bytes.len() as u64 - journal.file_len;
        Ok((journal, recovery))
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The committed value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Committed entries whose key starts with `prefix`, in key order.
    pub fn scan<'a>(&'a self, prefix: &'a [u8]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        self.entries
            .range(prefix.to_vec()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Current size of the file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Why the last automatic compaction failed, if it did (the journal
    /// stays correct, only longer).
    pub fn compaction_error(&self) -> Option<&str> {
        self.compaction_error.as_deref()
    }

    /// Makes every update in `ops` durable together, then visible. On an
    /// error nothing of the batch is applied and the file is cut back to
    /// the previous commit.
    pub fn commit(&mut self, ops: Vec<Op>) -> Result<(), JournalError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.scratch.clear();
        record::encode(self.next_seq, &ops, &mut self.scratch).map_err(|e: EncodeError| {
            JournalError::Refused {
                path: self.path.clone(),
                detail: e.to_string(),
            }
        })?;
        let len = self.scratch.len() as u64;
        if self.file_len + len > MAX_FILE {
            self.compact()?;
            if self.file_len + len > MAX_FILE {
                return Err(JournalError::Refused {
                    path: self.path.clone(),
                    detail: format!("{len} bytes: the journal would pass {MAX_FILE} bytes"),
                });
            }
        }
        if let Err(source) = self.append() {
            // Best effort: leave no partial record for the next append to
            // follow; open() would cut it anyway.
            let _ = self.file.set_len(self.file_len);
            let _ = self.file.seek(SeekFrom::Start(self.file_len));
            return Err(JournalError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.file_len += len;
        self.next_seq += 1;
        self.apply(ops);
        if self.file_len > COMPACT_FLOOR && self.file_len > 2 * self.live_bytes + COMPACT_FLOOR {
            // The commit is durable already; a failed compaction only
            // leaves the file longer, and is tried again at the next one.
            self.compaction_error = self.compact().err().map(|e| e.to_string());
        }
        Ok(())
    }

    fn append(&mut self) -> io::Result<()> {
        self.file.write_all(&self.scratch)?;
        if self.durability == Durability::Sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Rewrites the file with only the live entries and swaps it in
    /// atomically: a crash during compaction leaves the old file.
    pub fn compact(&mut self) -> Result<(), JournalError> {
        let io_err = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut out = MAGIC.to_vec();
        let mut seq = 1;
        let mut chunk = Vec::new();
        let mut chunk_bytes = 0;
        let refused = |e: EncodeError| JournalError::Refused {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        for (k, v) in &self.entries {
            chunk_bytes += k.len() + v.len() + 7;
            chunk.push(Op::Put(k.clone(), v.clone()));
            if chunk_bytes >= SNAPSHOT_CHUNK {
                record::encode(seq, &chunk, &mut out).map_err(refused)?;
                seq += 1;
                chunk.clear();
                chunk_bytes = 0;
            }
        }
        if !chunk.is_empty() {
            record::encode(seq, &chunk, &mut out).map_err(refused)?;
            seq += 1;
        }
        cap_tools::atomic::write_atomic_with_mode(&self.path, &out, 0o600).map_err(io_err)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(io_err)?;
        file.seek(SeekFrom::End(0)).map_err(io_err)?;
        self.file = file;
        self.file_len = out.len() as u64;
        self.next_seq = seq;
        Ok(())
    }

    fn apply(&mut self, ops: Vec<Op>) {
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    let added = (k.len() + v.len() + 7) as u64;
                    if let Some(old) = self.entries.insert(k.clone(), v) {
                        self.live_bytes -= (k.len() + old.len() + 7) as u64;
                    }
                    self.live_bytes += added;
                }
                Op::Delete(k) => {
                    if let Some(old) = self.entries.remove(&k) {
                        self.live_bytes -= (k.len() + old.len() + 7) as u64;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
