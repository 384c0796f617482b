//! One PKCS#11 token: the module loaded once per process, a logged-in
//! user, a pool of sessions for many threads, and the master key objects
//! jct keeps there.
//!
//! Key objects are found by label and key version: every object of a key
//! set has `CKA_LABEL` = the set's name and `CKA_ID` = `[version,
//! component]`, component 01 ENC, 02 MAC, 03 DEK, or 00 for a single key
//! that serves as all three.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use scp::keys::{Diversification, KeyType};
use zeroize::Zeroizing;

use crate::{HsmError, Pin, Pkcs11Keys};

/// Which key of a set an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// One key serving as ENC, MAC and DEK.
    Single,
    /// Key-ENC.
    Enc,
    /// Key-MAC.
    Mac,
    /// Key-DEK.
    Dek,
}

impl Component {
    /// The byte in `CKA_ID` after the key version.
    pub fn id_byte(self) -> u8 {
        match self {
            Component::Single => 0x00,
            Component::Enc => 0x01,
            Component::Mac => 0x02,
            Component::Dek => 0x03,
        }
    }

    fn from_id_byte(b: u8) -> Option<Component> {
        Some(match b {
            0x00 => Component::Single,
            0x01 => Component::Enc,
            0x02 => Component::Mac,
            0x03 => Component::Dek,
            _ => return None,
        })
    }

    /// Lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Component::Single => "single",
            Component::Enc => "enc",
            Component::Mac => "mac",
            Component::Dek => "dek",
        }
    }
}

/// What `jct hsm list` shows of a key object: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub label: String,
    pub version: u8,
    pub component: Component,
    pub kind: KeyType,
    pub len: usize,
    /// The GlobalPlatform KCV, computed in the token.
    pub kcv: [u8; 3],
}

/// A master key object found in the token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MasterKey {
    pub handle: ObjectHandle,
    pub kind: KeyType,
    pub len: usize,
}

/// How far the provider may go when the token (or cryptoki) lacks a
/// mechanism to keep a card key inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClearKeys {
    /// Refuse: every card key stays in the token, and what cannot be done
    /// there fails with an error naming the missing mechanism.
    #[default]
    Refuse,
    /// Where the token cannot derive or wrap a card key itself, compute it
    /// with the master in the token (C_Encrypt, C_Sign) and let it pass
    /// through this process (zeroized after use). Needed with SoftHSM for
    /// EMV/VISA2 diversification and SCP02 PUT KEY; master keys still never
    /// leave the token.
    AllowWhereTokenLacks,
}

pub(crate) struct Inner {
    pub module: PathBuf,
    pub label: String,
    pkcs11: Pkcs11,
    slot: Slot,
    sessions: Mutex<Vec<Session>>,
    pub clear_keys: ClearKeys,
}

/// An open, logged-in token. Cheap to clone; thread-safe (each operation
/// takes a session of its own from a pool).
#[derive(Clone)]
pub struct Hsm {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Hsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hsm")
            .field("module", &self.inner.module)
            .field("token", &self.inner.label)
            .field("clear_keys", &self.inner.clear_keys)
            .finish_non_exhaustive()
    }
}

/// The module contexts of this process: C_Initialize may run only once per
/// module, however many tokens are opened through it.
fn context(module: &Path) -> Result<Pkcs11, HsmError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = contexts.get(module) {
        return Ok(p.clone());
    }
    let fail = |detail: String| HsmError::Module {
        module: module.display().to_string(),
        detail,
    };
    if !module.exists() {
        return Err(fail("no such file".into()));
    }
    let pkcs11 = Pkcs11::new(module).map_err(|e| fail(format!("cannot load it: {e}")))?;
    match pkcs11.initialize(CInitializeArgs::OsThreads) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(fail(format!("C_Initialize failed: {e}"))),
    }
    contexts.insert(module.to_path_buf(), pkcs11.clone());
    Ok(pkcs11)
}

/// Writers of token objects take this lock alone, everything else that
/// uses a session takes it shared. SoftHSM2's file store fails a
/// C_CreateObject of a token object with CKR_GENERAL_ERROR while another
/// thread of the process reads or derives from the same token (seen with
/// tests running in parallel); imports are rare (setting up keys), so
/// making them wait for the token to be idle costs nothing in a session.
static TOKEN_WRITES: RwLock<()> = RwLock::new(());

/// The token objects of the key set `label`, version `version`.
fn find_in(s: &Session, label: &str, version: u8) -> Result<Vec<(Component, MasterKey)>, HsmError> {
    let handles = s
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| HsmError::call(format!("looking up key {label:?}"), e))?;
    let mut out = Vec::new();
    for h in handles {
        if let Some((_, v, component, key)) = describe_object(s, h)? {
            if v == version {
                out.push((component, key));
            }
        }
    }
    Ok(out)
}

impl Hsm {
    /// Opens the token labelled `token` in the PKCS#11 module at `module`
    /// and logs the user in with `pin`.
    pub fn open(module: &Path, token: &str, pin: &Pin) -> Result<Hsm, HsmError> {
        Hsm::open_with(module, token, pin, ClearKeys::Refuse)
    }

    /// As [`Hsm::open`], with a policy for card keys the token cannot keep.
    pub fn open_with(
        module: &Path,
        token: &str,
        pin: &Pin,
        clear_keys: ClearKeys,
    ) -> Result<Hsm, HsmError> {
        let pkcs11 = context(module)?;
        let slots = pkcs11
            .get_slots_with_token()
            .map_err(|e| HsmError::call("listing the token slots", e))?;
        let mut found = Vec::new();
        let mut slot = None;
        for s in slots {
            let info = pkcs11
                .get_token_info(s)
                .map_err(|e| HsmError::call("reading token information", e))?;
            let label = info.label().trim_end().to_string();
            if label == token {
                slot = Some(s);
                break;
            }
            found.push(format!("{label:?}"));
        }
        let slot = slot.ok_or_else(|| HsmError::NoToken {
            label: token.to_string(),
            module: module.display().to_string(),
            found: if found.is_empty() {
                "none".into()
            } else {
                found.join(", ")
            },
        })?;
        let session = pkcs11
            .open_rw_session(slot)
            .map_err(|e| HsmError::call(format!("opening a session on token {token:?}"), e))?;
        match session.login(UserType::User, Some(&pin.auth())) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(HsmError::call(format!("logging in to token {token:?}"), e)),
        }
        Ok(Hsm {
            inner: Arc::new(Inner {
                module: module.to_path_buf(),
                label: token.to_string(),
                pkcs11,
                slot,
                // This first session stays open as long as the Hsm: closing
                // an application's last session logs it out.
                sessions: Mutex::new(vec![session]),
                clear_keys,
            }),
        })
    }

    /// The policy for card keys the token cannot keep.
    pub fn clear_keys(&self) -> ClearKeys {
        self.inner.clear_keys
    }

    /// Runs `f` with a session of the pool (or a new one when all are busy),
    /// alongside other readers of the token but never during a write
    /// ([`TOKEN_WRITES`]).
    pub(crate) fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        let _reading = TOKEN_WRITES.read().unwrap_or_else(|e| e.into_inner());
        self.pooled_session(f)
    }

    /// [`Hsm::with_session`] for a caller that holds [`TOKEN_WRITES`].
    fn pooled_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        let taken = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let session = match taken {
            Some(s) => s,
            None => self
                .inner
                .pkcs11
                .open_rw_session(self.inner.slot)
                .map_err(|e| HsmError::call("opening another session", e))?,
        };
        let result = f(&session);
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(session);
        result
    }

    /// Whether two handles are the same open token (so that keys of one can
    /// wrap keys of the other).
    pub fn same_token(&self, other: &Hsm) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Stores a key as a token object: sensitive, never extractable, usable
    /// for the operations jct needs (derive, encrypt, decrypt, sign for
    /// CMAC, wrap). Refuses to overwrite: a label, version and component
    /// already present is an error.
    pub fn import_key(
        &self,
        label: &str,
        version: u8,
        component: Component,
        kind: KeyType,
        value: &[u8],
    ) -> Result<KeyInfo, HsmError> {
        if label.is_empty() || label.len() > 64 {
            return Err(HsmError::Invalid(format!(
                "a key label must be 1 to 64 bytes long, got {}",
                label.len()
            )));
        }
        // Checks the length for the type, with the same rules as scp.
        scp::keys::Key::new(kind, value)
            .map_err(|e| HsmError::Invalid(format!("key {label:?} {}: {e}", component.name())))?;
        // The token to ourselves for the whole import: the duplicate check
        // must see the objects of a concurrent import, and SoftHSM2 fails
        // the C_CreateObject of a token object beside other work on it.
        let _writing = TOKEN_WRITES.write().unwrap_or_else(|e| e.into_inner());
        let existing = self.pooled_session(|s| find_in(s, label, version))?;
        if existing.iter().any(|(c, _)| *c == component) {
            return Err(HsmError::KeySet {
                label: label.into(),
                version,
                detail: format!("the token holds a {} key already", component.name()),
            });
        }
        let value = Zeroizing::new(value.to_vec());
        let ck_kind = match kind {
            KeyType::Des3 => CkKeyType::DES2,
            KeyType::Aes => CkKeyType::AES,
        };
        let template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(ck_kind),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Derive(true),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Sign(true),
            Attribute::Verify(true),
            Attribute::Wrap(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(vec![version, component.id_byte()]),
            Attribute::Value(value.to_vec()),
        ];
        let handle = self.pooled_session(|s| {
            let made = s.create_object(&template);
            made.map_err(|e| HsmError::call(format!("storing key {label:?}"), e))
        });
        // The template's copy of the value is dropped here; Attribute does
        // not zeroize, so overwrite what we can reach.
        drop(template);
        let handle = handle?;
        let master = MasterKey {
            handle,
            kind,
            len: value.len(),
        };
        Ok(KeyInfo {
            label: label.into(),
            version,
            component,
            kind,
            len: value.len(),
            kcv: self.pooled_session(|s| crate::ops::kcv(s, master.handle, kind))?,
        })
    }

    /// Every key object jct can use, sorted by label, version, component.
    pub fn list(&self) -> Result<Vec<KeyInfo>, HsmError> {
        let mut out = self.with_session(|s| {
            let handles = s
                // Token objects only: the derived card keys other sessions
                // make and destroy meanwhile are session objects, and a
                // handle found here could be gone by the time it is read.
                .find_objects(&[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::Token(true),
                ])
                .map_err(|e| HsmError::call("listing the key objects", e))?;
            let mut out = Vec::new();
            for h in handles {
                if let Some((label, version, component, key)) = describe_object(s, h)? {
                    out.push(KeyInfo {
                        label,
                        version,
                        component,
                        kind: key.kind,
                        len: key.len,
                        kcv: crate::ops::kcv(s, h, key.kind)?,
                    });
                }
            }
            Ok(out)
        })?;
        out.sort_by(|a, b| {
            (&a.label, a.version, a.component).cmp(&(&b.label, b.version, b.component))
        });
        Ok(out)
    }

    /// The objects of the key set `label`, version `version`.
    pub(crate) fn find(
        &self,
        label: &str,
        version: u8,
    ) -> Result<Vec<(Component, MasterKey)>, HsmError> {
        self.with_session(|s| find_in(s, label, version))
    }

    /// A key provider for the master key set `label`, version `version`:
    /// either three objects (ENC, MAC, DEK) or one single key. With
    /// `diversification` other than None, the card's keys derive from it.
    pub fn keys(
        &self,
        label: &str,
        version: u8,
        diversification: Diversification,
    ) -> Result<Pkcs11Keys, HsmError> {
        let objects = self.find(label, version)?;
        let err = |detail: String| HsmError::KeySet {
            label: label.into(),
            version,
            detail,
        };
        let get = |c: Component| objects.iter().find(|(oc, _)| *oc == c).map(|(_, k)| *k);
        let set = match (
            get(Component::Enc),
            get(Component::Mac),
            get(Component::Dek),
        ) {
            (Some(enc), Some(mac), Some(dek)) => [enc, mac, dek],
            (None, None, None) => match get(Component::Single) {
                Some(k) => [k, k, k],
                None => return Err(err(format!("not in token {:?}", self.inner.label))),
            },
            _ => return Err(err("the token holds only some of ENC, MAC and DEK".into())),
        };
        if set.iter().any(|k| k.kind != set[0].kind) {
            return Err(err("ENC, MAC and DEK are of different algorithms".into()));
        }
        Ok(Pkcs11Keys::new(
            self.clone(),
            label.to_string(),
            version,
            set,
            diversification,
        ))
    }
}

/// Label, version, component and type of a jct key object; None for other
/// objects (an ID that is not `[version, component]`, another key type).
fn describe_object(
    s: &Session,
    h: ObjectHandle,
) -> Result<Option<(String, u8, Component, MasterKey)>, HsmError> {
    let attrs = s
        .get_attributes(
            h,
            &[
                AttributeType::Label,
                AttributeType::Id,
                AttributeType::KeyType,
                AttributeType::ValueLen,
            ],
        )
        .map_err(|e| HsmError::call("reading key attributes", e))?;
    let (mut label, mut id, mut kind, mut len) = (None, None, None, None);
    for a in attrs {
        match a {
            Attribute::Label(l) => label = Some(String::from_utf8_lossy(&l).into_owned()),
            Attribute::Id(i) => id = Some(i),
            Attribute::KeyType(k) => kind = Some(k),
            Attribute::ValueLen(n) => len = Some(usize::from(n)),
            _ => {}
        }
    }
    let (Some(label), Some(id), Some(kind)) = (label, id, kind) else {
        return Ok(None);
    };
    let [version, c] = id[..] else {
        return Ok(None);
    };
    let Some(component) = Component::from_id_byte(c) else {
        return Ok(None);
    };
    let (kind, len) = if kind == CkKeyType::AES {
        (KeyType::Aes, len.unwrap_or(0))
    } else if kind == CkKeyType::DES2 {
        (KeyType::Des3, 16)
    } else {
        return Ok(None);
    };
    Ok(Some((
        label,
        version,
        component,
        MasterKey {
            handle: h,
            kind,
            len,
        },
    )))
}

/// A mechanism for messages: `Mechanism` is not `Debug`-friendly in every
/// version; this names the ones jct uses.
pub(crate) fn mechanism_name(m: &Mechanism<'_>) -> &'static str {
    match m {
        Mechanism::AesEcb => "CKM_AES_ECB",
        Mechanism::AesCbc(_) => "CKM_AES_CBC",
        Mechanism::AesCMac => "CKM_AES_CMAC",
        Mechanism::AesCbcEncryptData(_) => "CKM_AES_CBC_ENCRYPT_DATA",
        Mechanism::Des3Ecb => "CKM_DES3_ECB",
        Mechanism::Des3Cbc(_) => "CKM_DES3_CBC",
        _ => "a mechanism",
    }
}
