//! The card's persistent memory on disk: a directory holding a write-ahead
//! [`Journal`] (the registry, key sets, life cycles) and a [`BlobStore`]
//! (load files, written once).
//!
//! ```text
//! STATE/journal        keys: format, card, packages, package/<AID>, instances, instance/<AID>,
//!                      heap (classes, contexts, static images, registrations),
//!                      heap/obj/<id> (one entry per object)
//! STATE/blobs/<sha256> each Load File Data Block as received
//! ```
//!
//! A save commits only the entries that changed since the last one, as one
//! atomic journal record: a crash or power cut at any moment leaves the
//! state of the last whole commit, never a mix, and the cost of a commit is
//! what it changed, not everything the card holds. Load file blobs are
//! written and synced before the record that names them. The journal is
//! locked while a card has it open, so two emulators cannot share one
//! state. Anything that does not parse is an error: silently starting a
//! fresh card would throw away the packages and keys it held.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::jcvm::heap::{Heap, Obj, ObjId};
use crate::journal::{BlobStore, Durability, Journal, JournalError, Op};
use crate::state::{CardState, Instance, Package};

/// Where the heap's objects live in the journal, one entry each.
const OBJECT_PREFIX: &str = "heap/obj/";

/// Identifies the content, so a stray journal is not taken for a card.
const FORMAT: &str = "jct-emu-state 2";

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("state {path} is corrupt: {detail}. It was left untouched; move it away to start a fresh card")]
    Corrupt { path: PathBuf, detail: String },
    #[error("state {path} is in use by another emulator (its journal is locked)")]
    InUse { path: PathBuf },
}

/// A state directory, opened (and locked) on first use.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    open: Mutex<Option<Opened>>,
    durability: Durability,
}

#[derive(Debug, Clone)]
struct CachedPackage {
    package: Package,
    entry: Vec<u8>,
    blob: String,
}

#[derive(Debug)]
struct Opened {
    journal: Journal,
    blobs: BlobStore,
    /// The committed packages with their entry and blob name, by AID, so
    /// an unchanged package is neither serialised nor hashed again.
    packages: BTreeMap<Vec<u8>, CachedPackage>,
    /// Whether the journal's object entries are known to match the heap
    /// except for what the heap lists as changed. False until the first
    /// save after opening, which compares every object id.
    objects_in_step: bool,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile {
            path: path.into(),
            open: Mutex::new(None),
            durability: Durability::Sync,
        }
    }

    /// A state whose commits do not wait for the disk (no fsync): they
    /// survive the process being killed, not a power cut of the machine.
    /// For benchmarks and tests that measure the card, not the disk.
    pub fn buffered(path: impl Into<PathBuf>) -> StateFile {
        StateFile {
            durability: Durability::Buffered,
            ..StateFile::new(path)
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the state and reads the card; `Ok(None)` when there is none yet
    /// (a fresh card). From here on the state is locked to this handle.
    pub fn load(&self) -> Result<Option<CardState>, StoreError> {
        let mut guard = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.open_dir()?);
        }
        let opened = guard.as_mut().expect("opened above");
        let state = read(&self.path, &opened.journal, &opened.blobs)?;
        if let Some(card) = &state {
            opened.packages = cache(card, &opened.journal)?;
        }
        // Orphans: blobs of loads whose record never committed, or of
        // packages deleted since.
        let live: HashSet<String> = opened.packages.values().map(|c| c.blob.clone()).collect();
        opened
            .blobs
            .retain(&live)
            .map_err(|e| io_error(&self.path, e.to_string()))?;
        Ok(state)
    }

    /// Commits the card's state: the entries that changed, atomically.
    pub fn save(&self, card: &CardState) -> Result<(), StoreError> {
        let mut guard = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let mut opened = self.open_dir()?;
            if let Some(old) = read(&self.path, &opened.journal, &opened.blobs)? {
                opened.packages = cache(&old, &opened.journal)?;
            }
            *guard = Some(opened);
        }
        let opened = guard.as_mut().expect("opened above");
        let mut packages = BTreeMap::new();
        for p in &card.packages {
            let cached = match opened.packages.get(&p.aid) {
                Some(c) if c.package == *p => c.clone(),
                _ => {
                    let blob = opened
                        .blobs
                        .put(&p.load_file)
                        .map_err(|e| io_error(&self.path, e.to_string()))?;
                    CachedPackage {
                        entry: package_entry(p, &blob)?,
                        package: p.clone(),
                        blob,
                    }
                }
            };
            packages.insert(p.aid.clone(), cached);
        }
        let entries = entries(card, &packages)?;
        let mut ops = Vec::new();
        for (key, value) in &entries {
            if opened.journal.get(key.as_bytes()) != Some(value.as_slice()) {
                ops.push(Op::Put(key.as_bytes().to_vec(), value.clone()));
            }
        }
        let gone: Vec<Vec<u8>> = opened
            .journal
            .scan(b"")
            .filter(|(k, _)| !k.starts_with(OBJECT_PREFIX.as_bytes()))
            .filter(|(k, _)| !entries.contains_key(String::from_utf8_lossy(k).as_ref()))
            .map(|(k, _)| k.to_vec())
            .collect();
        ops.extend(gone.into_iter().map(Op::Delete));
        object_ops(
            &card.heap,
            &opened.journal,
            opened.objects_in_step,
            &mut ops,
        )?;
        opened
            .journal
            .commit(ops)
            .map_err(|e| journal_error(&self.path, e))?;
        opened.packages = packages;
        opened.objects_in_step = true;
        Ok(())
    }

    fn open_dir(&self) -> Result<Opened, StoreError> {
        match fs::metadata(&self.path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(corrupt(
                    &self.path,
                    "a file where a state directory (journal + blobs) belongs; a state \
                     file of an older jct cannot be read by this one"
                        .into(),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_private_dir(&self.path)
                .map_err(|source| StoreError::Io {
                    path: self.path.clone(),
                    source,
                })?,
            Err(source) => {
                return Err(StoreError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        }
        let io_err = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        // The directory holds the card's keys: owner-only, whatever someone
        // did to it since the last run.
        set_mode(&self.path, 0o700).map_err(io_err)?;
        let blobs = BlobStore::open(&self.path.join("blobs"))
            .map_err(|e| io_error(&self.path, e.to_string()))?;
        let journal_path = self.path.join("journal");
        // A link planted at the journal's place would have the keys
        // written wherever it points.
        if fs::symlink_metadata(&journal_path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(corrupt(
                &self.path,
                "its journal is a symbolic link; refusing to write through it".into(),
            ));
        }
        let (journal, _) = Journal::open(&journal_path, self.durability)
            .map_err(|e| journal_error(&self.path, e))?;
        set_mode(&journal_path, 0o600).map_err(io_err)?;
        journal.try_lock().map_err(|e| match e {
            None => StoreError::InUse {
                path: self.path.clone(),
            },
            Some(source) => StoreError::Io {
                path: self.path.clone(),
                source,
            },
        })?;
        Ok(Opened {
            journal,
            blobs,
            packages: BTreeMap::new(),
            objects_in_step: false,
        })
    }
}

/// Reads the card kept at `path` without locking it or changing anything:
/// for inspecting the state of a card another handle has open.
pub fn read_state(path: &Path) -> Result<Option<CardState>, StoreError> {
    let blobs = BlobStore::open(&path.join("blobs")).map_err(|e| io_error(path, e.to_string()))?;
    let journal = Journal::read(&path.join("journal")).map_err(|e| journal_error(path, e))?;
    read(path, &journal, &blobs)
}

/// The packages of a card just read, with the entries the journal holds
/// for them.
fn cache(
    card: &CardState,
    journal: &Journal,
) -> Result<BTreeMap<Vec<u8>, CachedPackage>, StoreError> {
    let mut out = BTreeMap::new();
    for p in &card.packages {
        let key = format!("package/{}", hex::encode_upper(&p.aid));
        let entry = journal.get(key.as_bytes()).unwrap_or_default().to_vec();
        let blob = serde_json::from_slice::<Value>(&entry)
            .ok()
            .and_then(|v| {
                v.get("load_file_blob")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        out.insert(
            p.aid.clone(),
            CachedPackage {
                package: p.clone(),
                entry,
                blob,
            },
        );
    }
    Ok(out)
}

/// A package's entry: its fields, the load file replaced by its blob name.
fn package_entry(p: &Package, blob: &str) -> Result<Vec<u8>, StoreError> {
    let mut v = serde_json::to_value(Package {
        load_file: Vec::new(),
        ..p.clone()
    })
    .map_err(|e| io_error(Path::new("package"), e.to_string()))?;
    if let Value::Object(m) = &mut v {
        m.remove("load_file");
        m.insert("load_file_blob".into(), Value::String(blob.to_string()));
    }
    Ok(v.to_string().into_bytes())
}

fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| io_error(Path::new(what), e.to_string()))
}

/// The journal entries that hold `card`, given its packages' entries.
fn entries(
    card: &CardState,
    packages: &BTreeMap<Vec<u8>, CachedPackage>,
) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
    let mut out = BTreeMap::new();
    out.insert("format".to_string(), FORMAT.as_bytes().to_vec());
    // Every field but the two lists, each list element an entry of its own.
    // Written as a full struct literal so that a new CardState field cannot
    // be forgotten here: it fails to compile until it is stored.
    let rest = CardState {
        profile: card.profile.clone(),
        serial: card.serial.clone(),
        life_cycle: card.life_cycle,
        key_sets: card.key_sets.clone(),
        packages: Vec::new(),
        instances: Vec::new(),
        heap: Heap::default(),
        cvm: card.cvm.clone(),
        scp11: card.scp11.clone(),
        authorities: card.authorities.clone(),
    };
    out.insert("card".to_string(), to_json("card", &rest)?);
    out.insert(
        "heap".to_string(),
        to_json("heap", &card.heap.without_objects())?,
    );
    let mut order = Vec::new();
    for p in &card.packages {
        let aid = hex::encode_upper(&p.aid);
        if let Some(c) = packages.get(&p.aid) {
            out.insert(format!("package/{aid}"), c.entry.clone());
        }
        order.push(aid);
    }
    out.insert("packages".to_string(), to_json("packages", &order)?);
    let mut order = Vec::new();
    for i in &card.instances {
        let aid = hex::encode_upper(&i.aid);
        out.insert(format!("instance/{aid}"), to_json("instance", i)?);
        order.push(aid);
    }
    out.insert("instances".to_string(), to_json("instances", &order)?);
    Ok(out)
}

fn object_key(id: ObjId) -> Vec<u8> {
    format!("{OBJECT_PREFIX}{id:08X}").into_bytes()
}

/// The object entries to write: those the heap changed since the last
/// commit point, or — on the first save after opening, when the journal
/// may hold another version of the heap — every difference.
fn object_ops(
    heap: &Heap,
    journal: &Journal,
    in_step: bool,
    ops: &mut Vec<Op>,
) -> Result<(), StoreError> {
    let put =
        |id: ObjId, o: &Obj| Ok::<_, StoreError>(Op::Put(object_key(id), to_json("object", o)?));
    if in_step {
        for &id in heap.changed_objects() {
            ops.push(match heap.objects.get(&id) {
                Some(o) => put(id, o)?,
                None => Op::Delete(object_key(id)),
            });
        }
        return Ok(());
    }
    for (&id, o) in &heap.objects {
        let op = put(id, o)?;
        if let Op::Put(k, v) = &op {
            if journal.get(k) == Some(v.as_slice()) {
                continue;
            }
        }
        ops.push(op);
    }
    let stale: Vec<Vec<u8>> = journal
        .scan(OBJECT_PREFIX.as_bytes())
        .filter(|(k, _)| parse_object_key(k).is_none_or(|id| !heap.objects.contains_key(&id)))
        .map(|(k, _)| k.to_vec())
        .collect();
    ops.extend(stale.into_iter().map(Op::Delete));
    Ok(())
}

fn parse_object_key(key: &[u8]) -> Option<ObjId> {
    let hex = std::str::from_utf8(key.strip_prefix(OBJECT_PREFIX.as_bytes())?).ok()?;
    if hex.len() != 8 {
        return None;
    }
    ObjId::from_str_radix(hex, 16).ok()
}

/// The card the journal holds, `None` when it holds none.
fn read(
    path: &Path,
    journal: &Journal,
    blobs: &BlobStore,
) -> Result<Option<CardState>, StoreError> {
    if journal.is_empty() {
        return Ok(None);
    }
    let bad = |detail: String| corrupt(path, detail);
    let entry = |key: &str| {
        journal
            .get(key.as_bytes())
            .ok_or_else(|| bad(format!("no '{key}' entry")))
    };
    let format = entry("format")?;
    if format != FORMAT.as_bytes() {
        return Err(bad(format!(
            "format '{}' is not '{FORMAT}'",
            String::from_utf8_lossy(format)
        )));
    }
    let mut card: CardState =
        serde_json::from_slice(entry("card")?).map_err(|e| bad(format!("card: {e}")))?;
    let order: Vec<String> =
        serde_json::from_slice(entry("packages")?).map_err(|e| bad(format!("packages: {e}")))?;
    for aid in order {
        let key = format!("package/{aid}");
        let mut v: Value =
            serde_json::from_slice(entry(&key)?).map_err(|e| bad(format!("{key}: {e}")))?;
        let name = v
            .get("load_file_blob")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("{key}: no load file")))?
            .to_string();
        let bytes = blobs.get(&name).map_err(|e| bad(e.to_string()))?;
        if let Value::Object(m) = &mut v {
            m.remove("load_file_blob");
            m.insert("load_file".into(), Value::String(hex::encode(&bytes)));
        }
        let p: Package = serde_json::from_value(v).map_err(|e| bad(format!("{key}: {e}")))?;
        card.packages.push(p);
    }
    let order: Vec<String> =
        serde_json::from_slice(entry("instances")?).map_err(|e| bad(format!("instances: {e}")))?;
    for aid in order {
        let key = format!("instance/{aid}");
        let i: Instance =
            serde_json::from_slice(entry(&key)?).map_err(|e| bad(format!("{key}: {e}")))?;
        card.instances.push(i);
    }
    if let Some(heap) = journal.get(b"heap") {
        card.heap = serde_json::from_slice(heap).map_err(|e| bad(format!("heap: {e}")))?;
    }
    for (key, value) in journal.scan(OBJECT_PREFIX.as_bytes()) {
        let name = String::from_utf8_lossy(key);
        let id = parse_object_key(key).ok_or_else(|| bad(format!("'{name}': not an object id")))?;
        let o: Obj = serde_json::from_slice(value).map_err(|e| bad(format!("{name}: {e}")))?;
        card.heap.objects.insert(id, o);
    }
    card.validate().map_err(bad)?;
    Ok(Some(card))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

fn corrupt(path: &Path, detail: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail,
    }
}

fn io_error(path: &Path, detail: String) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source: io::Error::other(detail),
    }
}

fn journal_error(path: &Path, e: JournalError) -> StoreError {
    match e {
        JournalError::Io { source, .. } => StoreError::Io {
            path: path.to_path_buf(),
            source,
        },
        JournalError::Corrupt { offset, detail, .. } => {
            corrupt(path, format!("journal byte {offset}: {detail}"))
        }
        JournalError::Refused { detail, .. } => io_error(path, detail),
    }
}

#[cfg(test)]
mod tests;
