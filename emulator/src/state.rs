//! The card's persistent state: everything a real card keeps in EEPROM or
//! flash — life cycle, key sets with their counters, loaded packages with
//! their load file bytes, and applet instances. Volatile state (the open
//! secure channel, a LOAD in progress, the selected application) lives in
//! [`crate::card`] and is lost on reset, as on a card.

use gp::{ApplicationLifeCycle, CardLifeCycle, Privileges};
use serde::{Deserialize, Serialize};

use crate::hexser;
use crate::jcvm::heap::Heap;
use crate::keyset::KeySet;
use crate::profile::CardProfile;

/// Privileges of the Issuer Security Domain: Security Domain, Card Lock,
/// Card Terminate, Card Reset, CVM Management; Trusted Path, Authorized
/// Management, Token Verification, Global Delete, Global Lock, Global
/// Registry, Final Application; Receipt Generation.
pub const ISD_PRIVILEGES: [u8; 3] = [0x9E, 0xFE, 0x80];

/// The card's built-in Security Domain load file (in ROM, as on real
/// cards): supplementary security domains are instances of its module,
/// run by the card manager, not by the virtual machine.
pub const SD_LOAD_FILE: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50];
/// The Security Domain module of [`SD_LOAD_FILE`].
pub const SD_MODULE: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41];

/// A package imported by a load file: AID and the version it was built against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    #[serde(with = "hexser")]
    pub aid: Vec<u8>,
    pub major: u8,
    pub minor: u8,
}

/// An Executable Load File: a loaded CAP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The load file AID (the package AID of a compact CAP).
    #[serde(with = "hexser")]
    pub aid: Vec<u8>,
    pub major: u8,
    pub minor: u8,
    /// The security domain the load file is associated with.
    #[serde(with = "hexser")]
    pub security_domain: Vec<u8>,
    /// Executable modules: the applet classes it defines.
    #[serde(with = "hexser::list")]
    pub applets: Vec<Vec<u8>>,
    /// The packages other load files can import from it (the package
    /// itself, or every package of an extended CAP).
    pub exports: Vec<PackageRef>,
    /// What it imports.
    pub imports: Vec<PackageRef>,
    /// The Load File Data Block as received (the value of tag C4): what the
    /// virtual machine links and runs.
    #[serde(with = "hexser")]
    pub load_file: Vec<u8>,
}

/// An application instance created by INSTALL [for install].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    #[serde(with = "hexser")]
    pub aid: Vec<u8>,
    /// The load file and applet class it was created from.
    #[serde(with = "hexser")]
    pub load_file: Vec<u8>,
    #[serde(with = "hexser")]
    pub module: Vec<u8>,
    #[serde(with = "hexser")]
    pub privileges: Vec<u8>,
    /// Application life cycle byte (03 INSTALLED, 07 SELECTABLE, bit 80 locked).
    pub life_cycle: u8,
    /// The applet-specific install parameters (value of tag C9).
    #[serde(with = "hexser")]
    pub parameters: Vec<u8>,
    #[serde(with = "hexser")]
    pub security_domain: Vec<u8>,
    /// The memory quotas its install parameters set (EF: C8, C7), in
    /// bytes; absent in states written before quotas.
    #[serde(default, skip_serializing_if = "MemoryQuota::is_none")]
    pub quota: MemoryQuota,
    /// A supplementary security domain's own key sets (empty for
    /// applets; absent in states written before SSDs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_sets: Vec<KeySet>,
}

/// An instance's memory quotas (GP 2.3.1 table 11-49): what the card lets
/// it own, enforced on every allocation it makes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryQuota {
    /// C8: persistent (non-volatile) bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_volatile: Option<usize>,
    /// C7: transient (volatile) bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatile: Option<usize>,
}

impl MemoryQuota {
    pub fn is_none(&self) -> bool {
        self.non_volatile.is_none() && self.volatile.is_none()
    }
}

impl Instance {
    /// Selectable: SELECTABLE (or a later application-specific state) and
    /// not locked.
    pub fn is_selectable(&self) -> bool {
        let state = ApplicationLifeCycle(self.life_cycle);
        !state.is_locked() && self.life_cycle & ApplicationLifeCycle::SELECTABLE == 0x07
    }

    /// The privileges, decoded.
    pub fn privileges(&self) -> Privileges {
        Privileges::from_bytes(&self.privileges).unwrap_or_default()
    }

    /// A supplementary security domain: an instance with the Security
    /// Domain privilege (only the card manager's SD module makes them).
    pub fn is_security_domain(&self) -> bool {
        self.privileges().is_security_domain()
    }
}

/// Everything the card remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    pub profile: CardProfile,
    /// IC serial number: names this card in CPLC, CIN and the key
    /// diversification data.
    #[serde(with = "hexser")]
    pub serial: Vec<u8>,
    /// Card life cycle byte (01, 07, 0F, 7F, FF).
    pub life_cycle: u8,
    /// Key sets of the ISD; the first is the default one (KVN 0 asks for it).
    pub key_sets: Vec<KeySet>,
    /// Loaded packages, in load order.
    pub packages: Vec<Package>,
    /// Application instances, in installation order.
    pub instances: Vec<Instance>,
    /// The applets' persistent objects, static fields and registrations.
    #[serde(default)]
    pub heap: Heap,
    /// The global PIN (org.globalplatform CVM).
    #[serde(default)]
    pub cvm: crate::natives::globalplatform::cvm::GlobalCvm,
    /// SCP11 keys, certificates and OCE CA keys; none on older state files.
    #[serde(default, skip_serializing_if = "crate::scp11::Scp11Store::is_empty")]
    pub scp11: crate::scp11::Scp11Store,
    /// The DAP, token and receipt keys and the confirmation counter; none
    /// on older state files.
    #[serde(default, skip_serializing_if = "crate::dap::Authorities::is_empty")]
    pub authorities: crate::dap::Authorities,
}

impl CardState {
    /// A card fresh from the factory: OP_READY, one key set.
    pub fn fresh(profile: CardProfile, keys: KeySet, serial: [u8; 4]) -> CardState {
        CardState {
            profile,
            serial: serial.to_vec(),
            life_cycle: CardLifeCycle::OpReady.byte(),
            key_sets: vec![keys],
            packages: Vec::new(),
            instances: Vec::new(),
            heap: Heap::default(),
            cvm: Default::default(),
            scp11: Default::default(),
            authorities: Default::default(),
        }
    }

    /// Checks what serde cannot: values the rest of the card relies on.
    pub fn validate(&self) -> Result<(), String> {
        self.profile.validate()?;
        if CardLifeCycle::from_byte(self.life_cycle).is_none() {
            return Err(format!(
                "card life cycle {:02X} is not a GlobalPlatform state",
                self.life_cycle
            ));
        }
        if self.serial.len() != 4 {
            return Err(format!(
                "serial has {} bytes, 4 expected",
                self.serial.len()
            ));
        }
        if self.key_sets.is_empty() {
            return Err("no key set".into());
        }
        for (i, k) in self.key_sets.iter().enumerate() {
            if self.key_sets[..i]
                .iter()
                .any(|o| o.version() == k.version())
            {
                return Err(format!("two key sets with version {:02X}", k.version()));
            }
        }
        for p in &self.packages {
            if self.packages.iter().filter(|q| q.aid == p.aid).count() > 1 {
                return Err(format!(
                    "package {} appears twice",
                    hex::encode_upper(&p.aid)
                ));
            }
        }
        for i in &self.instances {
            if self.instances.iter().filter(|j| j.aid == i.aid).count() > 1 {
                return Err(format!(
                    "instance {} appears twice",
                    hex::encode_upper(&i.aid)
                ));
            }
            if i.privileges.len() != 3 {
                return Err(format!(
                    "instance {}: privileges must be 3 bytes",
                    hex::encode_upper(&i.aid)
                ));
            }
        }
        self.heap.validate().map_err(|e| format!("heap: {e}"))?;
        self.authorities.dap_policy()?;
        self.authorities.delegated_policy()?;
        Ok(())
    }

    /// The card life cycle.
    pub fn card_life_cycle(&self) -> CardLifeCycle {
        CardLifeCycle::from_byte(self.life_cycle).unwrap_or(CardLifeCycle::Terminated)
    }

    /// The ISD AID.
    pub fn isd_aid(&self) -> &[u8] {
        &self.profile.isd_aid
    }

    /// The key set with a version, or the default one for version 0.
    pub fn key_set(&self, version: u8) -> Option<&KeySet> {
        if version == 0 {
            self.key_sets.first()
        } else {
            self.key_sets.iter().find(|k| k.version() == version)
        }
    }

    pub fn key_set_mut(&mut self, version: u8) -> Option<&mut KeySet> {
        self.key_sets.iter_mut().find(|k| k.version() == version)
    }

    /// The key sets of a security domain: the ISD's for `None`, else the
    /// supplementary security domain's (empty when `sd` is none).
    pub fn keys_of(&self, sd: Option<&[u8]>) -> &[KeySet] {
        match sd {
            None => &self.key_sets,
            Some(aid) => self
                .security_domain(aid)
                .map_or(&[][..], |i| i.key_sets.as_slice()),
        }
    }

    /// [`CardState::keys_of`], for changes; `None` when `sd` is no SSD.
    pub fn keys_of_mut(&mut self, sd: Option<&[u8]>) -> Option<&mut Vec<KeySet>> {
        match sd {
            None => Some(&mut self.key_sets),
            Some(aid) => self
                .instances
                .iter_mut()
                .find(|i| i.aid == aid && i.is_security_domain())
                .map(|i| &mut i.key_sets),
        }
    }

    /// [`CardState::key_set`] of a security domain.
    pub fn sd_key_set(&self, sd: Option<&[u8]>, version: u8) -> Option<&KeySet> {
        let sets = self.keys_of(sd);
        if version == 0 {
            sets.first()
        } else {
            sets.iter().find(|k| k.version() == version)
        }
    }

    /// [`CardState::key_set_mut`] of a security domain.
    pub fn sd_key_set_mut(&mut self, sd: Option<&[u8]>, version: u8) -> Option<&mut KeySet> {
        self.keys_of_mut(sd)?
            .iter_mut()
            .find(|k| k.version() == version)
    }

    /// A supplementary security domain by AID.
    pub fn security_domain(&self, aid: &[u8]) -> Option<&Instance> {
        self.instance(aid).filter(|i| i.is_security_domain())
    }

    /// Whether `aid` names a security domain: the ISD or an SSD.
    pub fn is_any_security_domain(&self, aid: &[u8]) -> bool {
        aid == self.isd_aid() || self.security_domain(aid).is_some()
    }

    pub fn package(&self, aid: &[u8]) -> Option<&Package> {
        self.packages.iter().find(|p| p.aid == aid)
    }

    pub fn instance(&self, aid: &[u8]) -> Option<&Instance> {
        self.instances.iter().find(|i| i.aid == aid)
    }

    /// Whether an AID is taken by anything in the registry (ISD, package,
    /// instance); GlobalPlatform requires AIDs to be unique card-wide.
    pub fn aid_in_use(&self, aid: &[u8]) -> bool {
        aid == self.isd_aid()
            || aid == SD_LOAD_FILE
            || self.package(aid).is_some()
            || self.instance(aid).is_some()
    }

    /// Loaded packages that import one of `package`'s exports.
    pub fn dependents(&self, package: &Package) -> Vec<&Package> {
        self.packages
            .iter()
            .filter(|q| q.aid != package.aid)
            .filter(|q| {
                q.imports
                    .iter()
                    .any(|i| package.exports.iter().any(|e| e.aid == i.aid))
            })
            .collect()
    }

    /// Bytes of persistent memory taken by load files.
    pub fn memory_used(&self) -> usize {
        self.packages.iter().map(|p| p.load_file.len()).sum()
    }

    /// Bytes of persistent memory left for load files.
    pub fn memory_free(&self) -> usize {
        self.profile.memory.saturating_sub(self.memory_used())
    }
}
