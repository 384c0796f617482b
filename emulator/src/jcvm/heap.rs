//! The persistent heap: every object the applets create, the static field
//! images of the packages and the applet registrations, as one serializable
//! structure (object id -> object) saved with the card state.
//!
//! Why its own structure: the store only sees [`Heap`] as a value to write
//! at commit points (the end of each APDU), so replacing the store with a
//! journal later touches nothing here. Transactions are implemented in
//! memory by an undo log ([`Heap::begin`], [`Heap::commit`], [`Heap::abort`]);
//! every write goes through one method per kind, which logs the old value
//! when a transaction is open and the target is persistent.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::objects::ObjectTable;
use crate::hexser;

/// A reference as the interpreter holds it: 0 is null.
pub type ObjId = u32;

/// Transient kinds (JCSystem.CLEAR_ON_RESET / CLEAR_ON_DESELECT).
pub const NOT_TRANSIENT: u8 = 0;
pub const CLEAR_ON_RESET: u8 = 1;
pub const CLEAR_ON_DESELECT: u8 = 2;

/// Bytes an object costs besides its payload (header, class, owner), for
/// the memory accounting that JCSystem.getAvailableMemory reports.
pub const OBJECT_OVERHEAD: usize = 8;

/// The owner of the JCRE's permanent entry point objects (the AID
/// objects): any context may invoke their methods and keep references to
/// them (JCRE 6.2.1).
pub const JCRE: u32 = u32::MAX;
/// The owner of the JCRE's temporary entry point objects (the APDU object,
/// the exception singletons) and of its global arrays (the APDU buffer,
/// install()'s parameters): any context may use them, none may store a
/// reference to them in a field, a static or an array (JCRE 6.2.1, 6.2.2).
pub const JCRE_TEMP: u32 = u32::MAX - 1;

/// Whether an owner is the JCRE (permanent or temporary).
#[inline]
pub fn is_jcre(owner: u32) -> bool {
    owner >= JCRE_TEMP
}

/// A class as the heap names it, stable across restarts: the package AID
/// and the class's offset in its Class component (a package class) or its
/// token (an API class).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClassKey {
    #[serde(with = "hexser")]
    pub package: Vec<u8>,
    pub id: u16,
    pub api: bool,
}

/// State the natives keep in API objects (what Oracle's classes keep in
/// private fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum NativeData {
    #[default]
    None,
    /// Throwable subclasses of the framework: the reason code.
    Reason(i16),
    /// An AID object: its bytes.
    Aid(#[serde(with = "hexser")] Vec<u8>),
    /// OwnerPIN: the PIN, the try limit and counter, the validated flag
    /// (a transient CLEAR_ON_RESET flag on a card: cleared at power up).
    Pin {
        #[serde(with = "hexser")]
        pin: Vec<u8>,
        max_len: u8,
        limit: u8,
        tries: u8,
        validated: bool,
    },
    /// javacard.security and javacardx.crypto objects: keys, ciphers,
    /// random generators (see natives::crypto::State).
    Crypto(crate::natives::crypto::State),
}

/// Array element storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArrayData {
    Boolean(#[serde(with = "hexser")] Vec<u8>),
    Byte(#[serde(with = "hexser")] Vec<u8>),
    Short(Vec<i16>),
    Int(Vec<i32>),
    /// Elements are references; `class` names the element class (an
    /// index into [`Heap::classes`]).
    Ref {
        class: u32,
        data: Vec<ObjId>,
    },
}

impl ArrayData {
    pub fn len(&self) -> usize {
        match self {
            ArrayData::Boolean(v) | ArrayData::Byte(v) => v.len(),
            ArrayData::Short(v) => v.len(),
            ArrayData::Int(v) => v.len(),
            ArrayData::Ref { data, .. } => data.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of storage per element.
    pub fn element_size(&self) -> usize {
        match self {
            ArrayData::Boolean(_) | ArrayData::Byte(_) => 1,
            ArrayData::Short(_) | ArrayData::Ref { .. } => 2,
            ArrayData::Int(_) => 4,
        }
    }

    fn clear(&mut self) {
        match self {
            ArrayData::Boolean(v) | ArrayData::Byte(v) => v.fill(0),
            ArrayData::Short(v) => v.fill(0),
            ArrayData::Int(v) => v.fill(0),
            ArrayData::Ref { data, .. } => data.fill(0),
        }
    }
}

/// One object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Obj {
    /// A class instance: its class (index into [`Heap::classes`]), its
    /// field words (references stored as ids), native state, and its
    /// owner: the context that was active when it was created (an index
    /// into [`Heap::contexts`], or [`JCRE`] / [`JCRE_TEMP`]), which the
    /// firewall compares with the running context on every access.
    Instance {
        class: u32,
        fields: Vec<i32>,
        #[serde(default)]
        native: NativeData,
        owner: u32,
    },
    /// An array; `transient` is 0, CLEAR_ON_RESET or CLEAR_ON_DESELECT;
    /// `owner` the context (package AID index into [`Heap::contexts`], or
    /// [`JCRE_TEMP`] for the JCRE's global arrays).
    Array {
        data: ArrayData,
        transient: u8,
        owner: u32,
        /// JCRE-owned global arrays (the APDU buffer).
        #[serde(default)]
        global: bool,
    },
}

impl Obj {
    /// The owning context.
    #[inline]
    pub fn owner(&self) -> u32 {
        match self {
            Obj::Instance { owner, .. } | Obj::Array { owner, .. } => *owner,
        }
    }

    /// A temporary JCRE entry point object or a global array: usable from
    /// any context, never to be stored (JCRE 6.2.8.1-3).
    #[inline]
    pub fn is_temporary(&self) -> bool {
        match self {
            Obj::Instance { owner, .. } => *owner == JCRE_TEMP,
            Obj::Array { global, .. } => *global,
        }
    }

    pub(crate) fn size(&self) -> usize {
        OBJECT_OVERHEAD
            + match self {
                Obj::Instance { fields, .. } => 2 * fields.len(),
                Obj::Array { data, .. } => data.len() * data.element_size(),
            }
    }

    fn transient_kind(&self) -> u8 {
        match self {
            Obj::Array { transient, .. } => *transient,
            Obj::Instance { .. } => NOT_TRANSIENT,
        }
    }
}

/// A package's static field image (JCVM 6.11): reference fields first, as
/// ids, then the primitive fields as big-endian bytes at their offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticImage {
    #[serde(with = "hexser")]
    pub package: Vec<u8>,
    pub refs: Vec<ObjId>,
    /// The whole image (the reference part unused here).
    #[serde(with = "hexser")]
    pub bytes: Vec<u8>,
    /// Filled from the StaticField component (once, at the first link).
    #[serde(default)]
    pub initialised: bool,
}

/// One undo record of an open transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Undo {
    Field(ObjId, usize, i32),
    Elem(ObjId, usize, i32),
    StaticBytes(usize, usize, [u8; 4], usize),
    StaticRef(usize, usize, ObjId),
}

/// The memory quotas of the applet instance running (GP install
/// parameters, tag EF: C8 non-volatile, C7 volatile), on the bytes its
/// context owns. Java Card attributes objects to contexts (one per
/// package), not to instances, so with several instances of one package
/// the running instance's quota bounds what their shared context owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub context: u32,
    pub persistent: Option<usize>,
    pub transient: Option<usize>,
}

/// A quota in force and what its context owns (persistent, transient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ActiveQuota {
    quota: Quota,
    used: (usize, usize),
}

/// Memory ran out (SystemException.NO_RESOURCE / NO_TRANSIENT_SPACE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// Why a transaction operation failed (TransactionException reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxError {
    InProgress = 1,
    NotInProgress = 2,
    BufferFull = 3,
}

/// Everything applets keep in persistent memory.
#[derive(Debug, Clone, Eq, Serialize, Deserialize, Default)]
pub struct Heap {
    /// Class names used by objects (interned: objects store the index).
    pub classes: Vec<ClassKey>,
    /// Contexts (package AIDs) owning objects.
    #[serde(with = "hexser::list")]
    pub contexts: Vec<Vec<u8>>,
    pub objects: ObjectTable,
    pub next_id: ObjId,
    pub statics: Vec<StaticImage>,
    /// Registered applet instances: instance AID (hex) -> applet object.
    pub applets: BTreeMap<String, ObjId>,
    /// JCRE-owned objects (the APDU object and buffer, exception
    /// singletons), by name, created once per card.
    pub system: BTreeMap<String, ObjId>,
    /// Bytes used by persistent and by transient objects.
    #[serde(skip)]
    used_persistent: usize,
    #[serde(skip)]
    used_transient: usize,
    /// The quota of the instance whose call runs, if it has one.
    #[serde(skip)]
    quota: Option<ActiveQuota>,
    #[serde(skip)]
    tx: Option<Vec<Undo>>,
    #[serde(skip)]
    tx_bytes: usize,
    #[serde(skip)]
    tx_capacity: usize,
    /// Set by every persistent change since the last commit point.
    #[serde(skip)]
    pub dirty: bool,
    /// Objects allocated, freed or written (persistently) since the last
    /// commit point: what the journal must write, so a commit costs what
    /// the APDU changed rather than the whole heap.
    #[serde(skip)]
    changed: BTreeSet<ObjId>,
}

/// Two heaps are the same card memory when what persists is the same: the
/// tables, and every object — transient arrays by their kind, owner and
/// size, since their contents are lost at power-up anyway. The accounting,
/// the open transaction and the pending changes are working state, not
/// memory.
impl PartialEq for Heap {
    fn eq(&self, other: &Heap) -> bool {
        self.classes == other.classes
            && self.contexts == other.contexts
            && self.next_id == other.next_id
            && self.statics == other.statics
            && self.applets == other.applets
            && self.system == other.system
            && self.objects.len() == other.objects.len()
            && self
                .objects
                .iter()
                .zip(&other.objects)
                .all(|((ia, a), (ib, b))| ia == ib && same_memory(a, b))
    }
}

fn same_memory(a: &Obj, b: &Obj) -> bool {
    match (a, b) {
        (
            Obj::Array {
                data: da,
                transient: ta,
                owner: oa,
                global: ga,
            },
            Obj::Array {
                data: db,
                transient: tb,
                owner: ob,
                global: gb,
            },
        ) if *ta != NOT_TRANSIENT => {
            ta == tb
                && oa == ob
                && ga == gb
                && da.len() == db.len()
                && std::mem::discriminant(da) == std::mem::discriminant(db)
        }
        _ => a == b,
    }
}

impl Heap {
    /// Recomputes what serde skips, after loading; clears transients (a
    /// restart is a power up).
    pub fn after_load(&mut self) {
        self.used_persistent = 0;
        self.used_transient = 0;
        for o in self.objects.values_mut() {
            if o.transient_kind() == NOT_TRANSIENT {
                self.used_persistent += o.size();
            } else {
                self.used_transient += o.size();
                if let Obj::Array { data, .. } = o {
                    data.clear();
                }
            }
        }
        self.tx = None;
        self.dirty = false;
    }

    /// Checks what serde cannot: references point at objects, classes and
    /// contexts exist.
    pub fn validate(&self) -> Result<(), String> {
        let ok_ref = |r: ObjId| r == 0 || self.objects.contains_key(&r);
        for (id, o) in &self.objects {
            if *id == 0 || *id >= self.next_id {
                return Err(format!("object id {id} out of range"));
            }
            let owner = o.owner();
            if !is_jcre(owner) && owner as usize >= self.contexts.len() {
                return Err(format!("object {id}: context {owner} unknown"));
            }
            match o {
                Obj::Instance { class, .. } if *class as usize >= self.classes.len() => {
                    return Err(format!("object {id}: class {class} unknown"))
                }
                Obj::Array {
                    data: ArrayData::Ref { class, .. },
                    ..
                } if *class as usize >= self.classes.len() => {
                    return Err(format!("array {id}: element class {class} unknown"))
                }
                _ => {}
            }
        }
        let all = self
            .applets
            .values()
            .chain(self.system.values())
            .copied()
            .chain(self.statics.iter().flat_map(|s| s.refs.iter().copied()));
        for r in all {
            if !ok_ref(r) {
                return Err(format!("reference to missing object {r}"));
            }
        }
        Ok(())
    }

    pub fn class_index(&mut self, key: &ClassKey) -> u32 {
        match self.classes.iter().position(|k| k == key) {
            Some(i) => i as u32,
            None => {
                self.classes.push(key.clone());
                self.dirty = true;
                (self.classes.len() - 1) as u32
            }
        }
    }

    pub fn context_index(&mut self, aid: &[u8]) -> u32 {
        match self.contexts.iter().position(|k| k == aid) {
            Some(i) => i as u32,
            None => {
                self.contexts.push(aid.to_vec());
                self.dirty = true;
                (self.contexts.len() - 1) as u32
            }
        }
    }

    /// The objects to write at the next commit point.
    pub fn changed_objects(&self) -> &BTreeSet<ObjId> {
        &self.changed
    }

    /// A commit point was written: nothing is pending any more.
    pub fn clear_changes(&mut self) {
        self.changed.clear();
        self.dirty = false;
    }

    /// Everything but the objects (classes, contexts, static images,
    /// registrations): the small part the store keeps as one entry.
    pub fn without_objects(&self) -> Heap {
        Heap {
            classes: self.classes.clone(),
            contexts: self.contexts.clone(),
            objects: ObjectTable::new(),
            next_id: self.next_id,
            statics: self.statics.clone(),
            applets: self.applets.clone(),
            system: self.system.clone(),
            ..Heap::default()
        }
    }

    pub fn used(&self) -> (usize, usize) {
        (self.used_persistent, self.used_transient)
    }

    /// Puts `quota` in force for the calls that follow (or none): what its
    /// context owns is counted now, then kept up to date by
    /// [`Heap::alloc`] and [`Heap::free`].
    pub fn set_quota(&mut self, quota: Option<Quota>) {
        self.quota = quota.map(|quota| {
            let mut used = (0, 0);
            for o in self.objects.values() {
                if o.owner() == quota.context {
                    if o.transient_kind() == NOT_TRANSIENT {
                        used.0 += o.size();
                    } else {
                        used.1 += o.size();
                    }
                }
            }
            ActiveQuota { quota, used }
        });
    }

    /// What the context of the quota in force owns (persistent,
    /// transient), if one is.
    pub fn quota_used(&self) -> Option<(usize, usize)> {
        self.quota.map(|q| q.used)
    }

    /// Allocates an object within the limits, and within the quota in
    /// force when the quota's context owns it.
    pub fn alloc(&mut self, obj: Obj, limits: (usize, usize)) -> Result<ObjId, OutOfMemory> {
        let size = obj.size();
        let persistent = obj.transient_kind() == NOT_TRANSIENT;
        let quoted = self
            .quota
            .filter(|a| a.quota.context == obj.owner())
            .is_some();
        if let Some(a) = self.quota.filter(|_| quoted) {
            let (used, limit) = if persistent {
                (a.used.0, a.quota.persistent)
            } else {
                (a.used.1, a.quota.transient)
            };
            if limit.is_some_and(|l| used + size > l) {
                return Err(OutOfMemory);
            }
        }
        if persistent {
            if self.used_persistent + size > limits.0 {
                return Err(OutOfMemory);
            }
            self.used_persistent += size;
            self.dirty = true;
        } else {
            if self.used_transient + size > limits.1 {
                return Err(OutOfMemory);
            }
            self.used_transient += size;
        }
        if self.next_id == 0 {
            self.next_id = 1;
        }
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).ok_or(OutOfMemory)?;
        if let Some(a) = self.quota.as_mut().filter(|_| quoted) {
            if persistent {
                a.used.0 += size;
            } else {
                a.used.1 += size;
            }
        }
        self.objects.insert(id, obj);
        self.changed.insert(id);
        Ok(id)
    }

    /// Frees an object nothing refers to any more (the JCRE's own
    /// temporaries, such as install()'s parameter array).
    pub fn free(&mut self, id: ObjId) {
        if let Some(mut o) = self.objects.remove(&id) {
            self.changed.insert(id);
            if let Some(a) = self.quota.as_mut().filter(|a| a.quota.context == o.owner()) {
                let used = if o.transient_kind() == NOT_TRANSIENT {
                    &mut a.used.0
                } else {
                    &mut a.used.1
                };
                *used = used.saturating_sub(o.size());
            }
            if o.transient_kind() == NOT_TRANSIENT {
                self.used_persistent -= o.size();
                self.dirty = true;
            } else {
                self.used_transient -= o.size();
            }
            // Byte arrays may hold key material (the stores of crypto
            // objects): wiped before the memory goes back.
            if let Obj::Array {
                data: ArrayData::Byte(b),
                ..
            } = &mut o
            {
                zeroize::Zeroize::zeroize(b.as_mut_slice());
            }
        }
    }

    pub fn get(&self, id: ObjId) -> Option<&Obj> {
        self.objects.get(&id)
    }

    /// Mutable access for natives that write without the transaction
    /// (non-atomic copies, native state); marks persistent objects dirty.
    pub fn get_mut_untracked(&mut self, id: ObjId) -> Option<&mut Obj> {
        let o = self.objects.get_mut(&id)?;
        if o.transient_kind() == NOT_TRANSIENT {
            self.dirty = true;
            self.changed.insert(id);
        }
        Some(o)
    }

    /// Writes an instance field word.
    pub fn set_field(&mut self, id: ObjId, idx: usize, value: i32) -> Result<(), TxError> {
        let old = match self.objects.get(&id) {
            Some(Obj::Instance { fields, .. }) => match fields.get(idx) {
                Some(v) => *v,
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        self.log(Undo::Field(id, idx, old), 2)?;
        if let Some(Obj::Instance { fields, .. }) = self.objects.get_mut(&id) {
            fields[idx] = value;
        }
        self.dirty = true;
        self.changed.insert(id);
        Ok(())
    }

    /// Writes an array element (already bounds checked by the caller).
    pub fn set_elem(&mut self, id: ObjId, idx: usize, value: i32) -> Result<(), TxError> {
        let (old, persistent, size) = match self.objects.get(&id) {
            Some(Obj::Array {
                data, transient, ..
            }) => (
                read_elem(data, idx),
                *transient == NOT_TRANSIENT,
                data.element_size(),
            ),
            _ => return Ok(()),
        };
        if persistent {
            self.log(Undo::Elem(id, idx, old), size)?;
            self.dirty = true;
            self.changed.insert(id);
        }
        if let Some(Obj::Array { data, .. }) = self.objects.get_mut(&id) {
            write_elem(data, idx, value);
        }
        Ok(())
    }

    /// Writes `len` (1, 2 or 4) big-endian bytes of a static image.
    pub fn set_static(
        &mut self,
        image: usize,
        off: usize,
        len: usize,
        value: i32,
    ) -> Result<(), TxError> {
        let Some(img) = self.statics.get(image) else {
            return Ok(());
        };
        let Some(cur) = img.bytes.get(off..off + len) else {
            return Ok(());
        };
        let mut old = [0u8; 4];
        old[..len].copy_from_slice(cur);
        self.log(Undo::StaticBytes(image, off, old, len), len)?;
        let be = value.to_be_bytes();
        self.statics[image].bytes[off..off + len].copy_from_slice(&be[4 - len..]);
        self.dirty = true;
        Ok(())
    }

    pub fn set_static_ref(
        &mut self,
        image: usize,
        slot: usize,
        value: ObjId,
    ) -> Result<(), TxError> {
        let Some(old) = self
            .statics
            .get(image)
            .and_then(|i| i.refs.get(slot))
            .copied()
        else {
            return Ok(());
        };
        self.log(Undo::StaticRef(image, slot, old), 2)?;
        self.statics[image].refs[slot] = value;
        self.dirty = true;
        Ok(())
    }

    fn log(&mut self, undo: Undo, bytes: usize) -> Result<(), TxError> {
        if let Some(tx) = &mut self.tx {
            // Each record costs its value and a 4-byte location.
            let cost = bytes + 4;
            if self.tx_bytes + cost > self.tx_capacity {
                return Err(TxError::BufferFull);
            }
            self.tx_bytes += cost;
            tx.push(undo);
        }
        Ok(())
    }

    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    pub fn tx_used(&self) -> usize {
        self.tx_bytes
    }

    pub fn begin(&mut self, capacity: usize) -> Result<(), TxError> {
        if self.tx.is_some() {
            return Err(TxError::InProgress);
        }
        self.tx = Some(Vec::new());
        self.tx_bytes = 0;
        self.tx_capacity = capacity;
        Ok(())
    }

    /// Makes the transaction's writes permanent: a commit point.
    pub fn commit(&mut self) -> Result<(), TxError> {
        self.tx.take().ok_or(TxError::NotInProgress)?;
        self.tx_bytes = 0;
        Ok(())
    }

    /// Undoes every write of the transaction, newest first.
    pub fn abort(&mut self) -> Result<(), TxError> {
        let log = self.tx.take().ok_or(TxError::NotInProgress)?;
        self.tx_bytes = 0;
        for u in log.into_iter().rev() {
            match u {
                Undo::Field(id, idx, old) => {
                    if let Some(Obj::Instance { fields, .. }) = self.objects.get_mut(&id) {
                        fields[idx] = old;
                    }
                }
                Undo::Elem(id, idx, old) => {
                    if let Some(Obj::Array { data, .. }) = self.objects.get_mut(&id) {
                        write_elem(data, idx, old);
                    }
                }
                Undo::StaticBytes(img, off, old, len) => {
                    self.statics[img].bytes[off..off + len].copy_from_slice(&old[..len]);
                }
                Undo::StaticRef(img, slot, old) => self.statics[img].refs[slot] = old,
            }
        }
        Ok(())
    }

    /// Clears transient arrays of `kind` (all of CLEAR_ON_RESET at power
    /// up; CLEAR_ON_DESELECT ones of a context at deselect, or all).
    pub fn clear_transients(&mut self, kind: u8, context: Option<u32>) {
        for o in self.objects.values_mut() {
            if let Obj::Array {
                data,
                transient,
                owner,
                ..
            } = o
            {
                if *transient == kind && context.is_none_or(|c| c == *owner) {
                    data.clear();
                }
            }
        }
    }

    /// Object deletion (JCSystem.requestObjectDeletion): frees every object
    /// no root reaches. Roots are the registered applets, the JCRE's
    /// objects and the static reference fields; `refs` gives the word
    /// offsets of an instance class's reference fields. Runs between
    /// APDUs, never inside a transaction. Returns the objects freed.
    pub fn collect(&mut self, refs: &dyn Fn(u32) -> Option<Vec<u16>>) -> usize {
        if self.tx.is_some() {
            return 0;
        }
        let mut marked = std::collections::BTreeSet::new();
        let mut todo: Vec<ObjId> = self
            .applets
            .values()
            .chain(self.system.values())
            .copied()
            .chain(self.statics.iter().flat_map(|s| s.refs.iter().copied()))
            .collect();
        while let Some(id) = todo.pop() {
            if id == 0 || !marked.insert(id) {
                continue;
            }
            match self.objects.get(&id) {
                Some(Obj::Instance {
                    class,
                    fields,
                    native,
                    ..
                }) => {
                    // The byte arrays a key or cipher keeps its state in.
                    if let NativeData::Crypto(c) = native {
                        todo.extend(c.refs());
                    }
                    let Some(slots) = refs(*class) else {
                        return 0;
                    };
                    for slot in slots {
                        if let Some(r) = fields.get(usize::from(slot)) {
                            todo.push(*r as ObjId);
                        }
                    }
                }
                Some(Obj::Array {
                    data: ArrayData::Ref { data, .. },
                    ..
                }) => todo.extend(data.iter().copied()),
                _ => {}
            }
        }
        let dead: Vec<ObjId> = self
            .objects
            .keys()
            .filter(|id| !marked.contains(id))
            .copied()
            .collect();
        for id in &dead {
            self.free(*id);
        }
        dead.len()
    }

    /// Forgets a deleted package's static image and an instance's registration.
    pub fn forget_package(&mut self, aid: &[u8]) {
        self.statics.retain(|s| s.package != aid);
        self.dirty = true;
    }

    pub fn forget_applet(&mut self, aid: &[u8]) {
        self.applets.remove(&hex::encode_upper(aid));
        self.dirty = true;
    }
}

pub fn read_elem(data: &ArrayData, idx: usize) -> i32 {
    match data {
        ArrayData::Boolean(v) | ArrayData::Byte(v) => i32::from(v[idx] as i8),
        ArrayData::Short(v) => i32::from(v[idx]),
        ArrayData::Int(v) => v[idx],
        ArrayData::Ref { data, .. } => data[idx] as i32,
    }
}

#[allow(clippy::cast_possible_truncation)]
pub fn write_elem(data: &mut ArrayData, idx: usize, value: i32) {
    match data {
        ArrayData::Boolean(v) | ArrayData::Byte(v) => v[idx] = value as u8,
        ArrayData::Short(v) => v[idx] = value as i16,
        ArrayData::Int(v) => v[idx] = value,
        ArrayData::Ref { data, .. } => data[idx] = value as ObjId,
    }
}

/// One context's share of the heap, from [`Heap::usage_by_context`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ContextUsage {
    /// Bytes of persistent objects (overhead included).
    pub persistent: usize,
    /// Bytes of CLEAR_ON_RESET and of CLEAR_ON_DESELECT arrays.
    pub clear_on_reset: usize,
    pub clear_on_deselect: usize,
    /// Objects, persistent and transient.
    pub objects: usize,
    /// Bytes of the package's static field image.
    pub statics: usize,
}

impl Heap {
    /// Memory use by owner, for stats and logs: arrays count for the
    /// context that owns them, instances of a package's classes for that
    /// package's context. Instances of API classes (keys, PINs, AIDs)
    /// carry no owner in the heap and are left out; they are the
    /// difference between the sum and [`Heap::used`]. A walk over every
    /// object: for stats, not for every bytecode.
    pub fn usage_by_context(&self) -> BTreeMap<Vec<u8>, ContextUsage> {
        let mut out: BTreeMap<Vec<u8>, ContextUsage> = BTreeMap::new();
        for o in self.objects.values() {
            // The owning context (the JCRE's objects and the global arrays
            // belong to no package): API objects an applet made (keys,
            // PINs) count for its package too.
            let owner = match o {
                Obj::Array { owner, global, .. } if !*global => {
                    self.contexts.get(*owner as usize).cloned()
                }
                Obj::Instance { owner, .. } => self.contexts.get(*owner as usize).cloned(),
                Obj::Array { .. } => None,
            };
            let Some(owner) = owner else { continue };
            let u = out.entry(owner).or_default();
            u.objects += 1;
            match o.transient_kind() {
                NOT_TRANSIENT => u.persistent += o.size(),
                CLEAR_ON_RESET => u.clear_on_reset += o.size(),
                _ => u.clear_on_deselect += o.size(),
            }
        }
        for s in &self.statics {
            out.entry(s.package.clone()).or_default().statics += s.bytes.len();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: (usize, usize) = (1 << 20, 1 << 16);

    fn bytes(n: usize, transient: u8) -> Obj {
        Obj::Array {
            data: ArrayData::Byte(vec![0; n]),
            transient,
            owner: 0,
            global: false,
        }
    }

    fn elem(h: &Heap, id: ObjId, i: usize) -> i32 {
        match h.get(id) {
            Some(Obj::Array { data, .. }) => read_elem(data, i),
            _ => panic!("no array"),
        }
    }

    fn heap_with_instance() -> (Heap, ObjId, ObjId) {
        let mut h = Heap::default();
        h.contexts.push(vec![1, 2, 3, 4, 5]);
        h.classes.push(ClassKey {
            package: vec![1, 2, 3, 4, 5],
            id: 0,
            api: false,
        });
        let inst = h
            .alloc(
                Obj::Instance {
                    class: 0,
                    fields: vec![0; 2],
                    native: NativeData::None,
                    owner: 0,
                },
                ROOMY,
            )
            .unwrap();
        let arr = h.alloc(bytes(4, NOT_TRANSIENT), ROOMY).unwrap();
        (h, inst, arr)
    }

    #[test]
    fn commit_keeps_and_abort_undoes_every_write() {
        let (mut h, inst, arr) = heap_with_instance();
        h.set_field(inst, 0, 7).unwrap();
        h.begin(256).unwrap();
        h.set_field(inst, 0, 8).unwrap();
        h.set_elem(arr, 1, -1).unwrap();
        h.commit().unwrap();
        assert_eq!(elem(&h, arr, 1), -1);
        h.begin(256).unwrap();
        h.set_field(inst, 0, 9).unwrap();
        h.set_field(inst, 0, 10).unwrap();
        h.set_elem(arr, 1, 5).unwrap();
        h.abort().unwrap();
        match h.get(inst) {
            Some(Obj::Instance { fields, .. }) => assert_eq!(fields[0], 8),
            _ => panic!(),
        }
        assert_eq!(elem(&h, arr, 1), -1);
    }

    #[test]
    fn transaction_errors() {
        let (mut h, _, arr) = heap_with_instance();
        assert_eq!(h.commit(), Err(TxError::NotInProgress));
        assert_eq!(h.abort(), Err(TxError::NotInProgress));
        h.begin(12).unwrap();
        assert_eq!(h.begin(12), Err(TxError::InProgress));
        // Each byte write costs 5 bytes of the 12: the third overflows.
        h.set_elem(arr, 0, 1).unwrap();
        h.set_elem(arr, 1, 1).unwrap();
        assert_eq!(h.set_elem(arr, 2, 1), Err(TxError::BufferFull));
        assert_eq!(elem(&h, arr, 2), 0, "a refused write writes nothing");
        h.abort().unwrap();
        assert_eq!((elem(&h, arr, 0), elem(&h, arr, 1)), (0, 0));
    }

    #[test]
    fn a_quota_bounds_what_its_context_owns() {
        let mut h = Heap::default();
        h.alloc(bytes(10, NOT_TRANSIENT), ROOMY).unwrap();
        h.set_quota(Some(Quota {
            context: 0,
            persistent: Some(OBJECT_OVERHEAD * 2 + 30),
            transient: Some(OBJECT_OVERHEAD + 8),
        }));
        assert_eq!(h.quota_used(), Some((OBJECT_OVERHEAD + 10, 0)));
        let a = h.alloc(bytes(20, NOT_TRANSIENT), ROOMY).unwrap();
        assert_eq!(h.alloc(bytes(1, NOT_TRANSIENT), ROOMY), Err(OutOfMemory));
        assert!(h.alloc(bytes(8, CLEAR_ON_RESET), ROOMY).is_ok());
        assert_eq!(
            h.alloc(bytes(1, CLEAR_ON_DESELECT), ROOMY),
            Err(OutOfMemory)
        );
        // Another context's objects are not counted; freeing gives room back.
        let other = Obj::Array {
            data: ArrayData::Byte(vec![0; 100]),
            transient: NOT_TRANSIENT,
            owner: 7,
            global: false,
        };
        assert!(h.alloc(other, ROOMY).is_ok());
        h.free(a);
        assert!(h.alloc(bytes(1, NOT_TRANSIENT), ROOMY).is_ok());
        h.set_quota(None);
        assert!(h.alloc(bytes(100, NOT_TRANSIENT), ROOMY).is_ok());
    }

    #[test]
    fn transient_writes_are_not_logged_and_clear_by_kind() {
        let (mut h, _, _) = heap_with_instance();
        let reset = h.alloc(bytes(2, CLEAR_ON_RESET), ROOMY).unwrap();
        let desel = h.alloc(bytes(2, CLEAR_ON_DESELECT), ROOMY).unwrap();
        h.dirty = false;
        h.begin(4).unwrap();
        for _ in 0..10 {
            h.set_elem(reset, 0, 3).unwrap();
        }
        h.set_elem(desel, 0, 4).unwrap();
        h.abort().unwrap();
        assert_eq!((elem(&h, reset, 0), elem(&h, desel, 0)), (3, 4));
        assert!(!h.dirty, "transient writes change nothing persistent");
        h.clear_transients(CLEAR_ON_DESELECT, Some(0));
        assert_eq!((elem(&h, reset, 0), elem(&h, desel, 0)), (3, 0));
        h.clear_transients(CLEAR_ON_RESET, None);
        assert_eq!(elem(&h, reset, 0), 0);
    }

    #[test]
    fn memory_limits_and_accounting() {
        let mut h = Heap::default();
        h.contexts.push(vec![1; 5]);
        let limits = (100, 50);
        let a = h.alloc(bytes(60, NOT_TRANSIENT), limits).unwrap();
        assert_eq!(h.alloc(bytes(60, NOT_TRANSIENT), limits), Err(OutOfMemory));
        assert!(h.alloc(bytes(40, CLEAR_ON_RESET), limits).is_ok());
        assert_eq!(h.alloc(bytes(40, CLEAR_ON_RESET), limits), Err(OutOfMemory));
        assert_eq!(h.used(), (68, 48));
        h.free(a);
        assert_eq!(h.used(), (0, 48));
    }

    #[test]
    fn owners_name_a_context_or_the_jcre_and_temporaries_are_marked() {
        let (mut h, inst, arr) = heap_with_instance();
        let instance = |owner| Obj::Instance {
            class: 0,
            fields: Vec::new(),
            native: NativeData::None,
            owner,
        };
        let apdu = h.alloc(instance(JCRE_TEMP), ROOMY).unwrap();
        let aid = h.alloc(instance(JCRE), ROOMY).unwrap();
        let buffer = h
            .alloc(
                Obj::Array {
                    data: ArrayData::Byte(vec![0; 4]),
                    transient: CLEAR_ON_RESET,
                    owner: JCRE_TEMP,
                    global: true,
                },
                ROOMY,
            )
            .unwrap();
        h.validate().unwrap();
        let temporary = |id| h.get(id).unwrap().is_temporary();
        assert!(temporary(apdu) && temporary(buffer));
        assert!(!temporary(aid) && !temporary(inst) && !temporary(arr));
        assert!(is_jcre(h.get(aid).unwrap().owner()));
        assert_eq!(h.get(inst).unwrap().owner(), 0);
        // An owner that is neither a context nor the JCRE is refused.
        h.alloc(instance(7), ROOMY).unwrap();
        assert!(h.validate().unwrap_err().contains("context 7 unknown"));
    }

    #[test]
    fn a_saved_heap_loads_equal_with_transients_cleared() {
        let (mut h, inst, arr) = heap_with_instance();
        let t = h.alloc(bytes(2, CLEAR_ON_RESET), ROOMY).unwrap();
        h.set_elem(t, 0, 9).unwrap();
        h.set_field(inst, 1, -5).unwrap();
        h.set_elem(arr, 3, 42).unwrap();
        let json = serde_json::to_string(&h).unwrap();
        let mut back: Heap = serde_json::from_str(&json).unwrap();
        back.after_load();
        back.validate().unwrap();
        assert_eq!(elem(&back, arr, 3), 42);
        assert_eq!(elem(&back, t, 0), 0);
        assert_eq!(back.used(), h.used());
        // A dangling reference is refused.
        back.applets.insert("AA".into(), 999);
        assert!(back.validate().is_err());
    }
}
