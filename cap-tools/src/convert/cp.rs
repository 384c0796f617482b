//! The constant pool: which entries exist, their order, and what each one
//! resolves to once classes, methods and static fields have their offsets.
//!
//! Instance field references come first (in order of first use), so that
//! `getfield_<t>` and `putfield_<t>` can use their one-byte index forms;
//! the other entries follow in order of first use. The imports are kept
//! here too: a package gets its token the first time anything needs it.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::cap::components::class::ClassRef;
use crate::cap::components::constant_pool::{CpEntry, StaticRef};
use crate::cap::components::method::MethodLocation;

use super::error::{Error, Result};
use super::jc::CpKey;
use super::link::{ExtClass, Linker};
use super::model::{acc, ClassKey, Package};
use super::tokens::{ClassTokens, FieldToken, MethodToken};

/// The ordered, deduplicated constant pool keys.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    pub keys: Vec<CpKey>,
    index: FxHashMap<CpKey, u16>,
}

impl Pool {
    /// Orders keys given in first-use order. `canonical` names the member
    /// through the class that declares it, so that `Sub.f` and `Base.f`
    /// share one entry. A package's code names the same few hundred keys
    /// thousands of times: each distinct key is canonicalized and copied
    /// once, repeats are only looked up.
    pub fn new<'k>(
        uses: impl IntoIterator<Item = &'k CpKey>,
        canonical: &dyn Fn(&CpKey) -> CpKey,
    ) -> Result<Pool> {
        // Each distinct key as used -> its entry's slot (first-use order).
        let mut used: FxHashMap<&'k CpKey, usize> = FxHashMap::default();
        // Each entry's canonical key -> its slot.
        let mut slot_of: FxHashMap<CpKey, usize> = FxHashMap::default();
        let mut slots: Vec<CpKey> = Vec::new();
        for k in uses {
            if used.contains_key(k) {
                continue;
            }
            let c = canonical(k);
            let slot = match slot_of.get(&c) {
                Some(&s) => s,
                None => {
                    slots.push(c.clone());
                    slot_of.insert(c, slots.len() - 1);
                    slots.len() - 1
                }
            };
            used.insert(k, slot);
        }
        if slots.len() > 0xFFFF {
            return Err(Error::general(
                "the constant pool would exceed 65535 entries",
            ));
        }
        // Instance fields first, each group in first-use order.
        let mut order: Vec<usize> = (0..slots.len()).collect();
        order.sort_by_key(|&s| !slots[s].is_instance_field());
        let mut final_index = vec![0u16; slots.len()];
        for (i, &s) in order.iter().enumerate() {
            final_index[s] = i as u16;
        }
        let mut index: FxHashMap<CpKey, u16> = FxHashMap::default();
        index.reserve(slot_of.len() + used.len());
        for (k, s) in used {
            if !slot_of.contains_key(k) {
                index.insert(k.clone(), final_index[s]);
            }
        }
        for (c, s) in slot_of {
            index.insert(c, final_index[s]);
        }
        let mut keys: Vec<Option<CpKey>> = slots.into_iter().map(Some).collect();
        let keys = order.iter().filter_map(|&s| keys[s].take()).collect();
        Ok(Pool { keys, index })
    }

    pub fn index(&self, key: &CpKey) -> Option<u16> {
        self.index.get(key).copied()
    }
}

/// The imported packages, numbered in order of first use.
#[derive(Debug, Clone, Default)]
pub struct Imports {
    /// Indices into the linker's packages, in token order.
    pub packages: Vec<usize>,
}

impl Imports {
    /// The package token of a linker package, importing it if new.
    pub fn token(&mut self, package: usize) -> Result<u8> {
        if let Some(i) = self.packages.iter().position(|&p| p == package) {
            return Ok(i as u8);
        }
        if self.packages.len() >= 128 {
            return Err(Error::general("more than 128 imported packages"));
        }
        self.packages.push(package);
        Ok((self.packages.len() - 1) as u8)
    }
}

/// A key with its member named through the class that declares it (the
/// key unchanged when that class cannot be found; resolution reports it).
pub fn canonical(pkg: &Package<'_>, linker: &Linker, tokens: &[ClassTokens], key: &CpKey) -> CpKey {
    let owner = |class: &str, found: &dyn Fn(ClassKey<'_>) -> Option<String>| -> Option<String> {
        let mut at = class.to_string();
        for _ in 0..256 {
            let k = pkg.resolve(linker, &at)?;
            if let Some(o) = found(k) {
                return Some(o);
            }
            match k {
                ClassKey::Internal(i) => at = pkg.classes[i].file.super_class.clone()?,
                ClassKey::External(_) => return None,
            }
        }
        None
    };
    let internal_field = |i: usize, name: &str, desc: &str, stat: bool| {
        pkg.classes[i].file.fields.iter().any(|f| {
            f.name == name && f.descriptor == desc && (f.access_flags & acc::STATIC != 0) == stat
        })
    };
    let found = match key {
        CpKey::InstanceField { class, name, desc } | CpKey::StaticField { class, name, desc } => {
            let stat = matches!(key, CpKey::StaticField { .. });
            owner(class, &|k| match k {
                ClassKey::Internal(i) => {
                    internal_field(i, name, desc, stat).then(|| pkg.classes[i].name.to_string())
                }
                ClassKey::External(e) => linker.field_owner(e, name, desc).map(|o| o.name.clone()),
            })
        }
        CpKey::VirtualMethod { class, name, desc } => owner(class, &|k| match k {
            ClassKey::Internal(i) => pkg.classes[i]
                .file
                .methods
                .iter()
                .zip(&tokens[i].methods)
                .any(|(m, t)| {
                    matches!(t, MethodToken::Virtual(_)) && m.name == *name && m.descriptor == *desc
                })
                .then(|| pkg.classes[i].name.to_string()),
            ClassKey::External(e) => Some(e.name.clone()),
        }),
        CpKey::StaticMethod { class, name, desc } if name != "<init>" => {
            owner(class, &|k| match k {
                ClassKey::Internal(i) => pkg.classes[i]
                    .file
                    .method(name, desc)
                    .map(|_| pkg.classes[i].name.to_string()),
                ClassKey::External(e) => e.static_method(name, desc).map(|_| e.name.clone()),
            })
        }
        _ => None,
    };
    let Some(owner) = found else {
        return key.clone();
    };
    match key.clone() {
        CpKey::InstanceField { name, desc, .. } => CpKey::InstanceField {
            class: owner,
            name,
            desc,
        },
        CpKey::StaticField { name, desc, .. } => CpKey::StaticField {
            class: owner,
            name,
            desc,
        },
        CpKey::VirtualMethod { name, desc, .. } => CpKey::VirtualMethod {
            class: owner,
            name,
            desc,
        },
        CpKey::StaticMethod { name, desc, .. } => CpKey::StaticMethod {
            class: owner,
            name,
            desc,
        },
        other => other,
    }
}

/// Where internal things are, once laid out.
pub struct Offsets<'o> {
    /// Class component offset of each class.
    pub classes: &'o [u16],
    /// Where the method_info of each (class, method index) is: an offset
    /// in the Method component, and its block in the extended format.
    pub methods: &'o HashMap<(usize, usize), MethodLocation>,
    /// Static field image offset of each (class, field index).
    pub statics: &'o HashMap<(usize, usize), u16>,
}

/// Resolves names to CAP references.
pub struct Resolver<'r, 'a> {
    pub pkg: &'r Package<'a>,
    pub linker: &'r Linker,
    pub tokens: &'r [ClassTokens],
    pub imports: &'r mut Imports,
}

impl Resolver<'_, '_> {
    fn unknown(&self, name: &str) -> Error {
        Error::general(format!(
            "class {} is neither in package {} nor in an imported one (is its export file on the export path?)",
            name.replace('/', "."),
            self.pkg.name.replace('/', ".")
        ))
    }

    fn key(&self, name: &str) -> Result<ClassKey<'_>> {
        self.pkg
            .resolve(self.linker, name)
            .ok_or_else(|| self.unknown(name))
    }

    /// An external class reference, importing its package.
    pub fn external(&mut self, e: &ExtClass) -> Result<ClassRef> {
        Ok(ClassRef::External {
            package_token: self.imports.token(e.package)?,
            class_token: e.token,
        })
    }

    /// The class_ref of a class by name.
    pub fn class_ref(&mut self, name: &str, offsets: Option<&Offsets<'_>>) -> Result<ClassRef> {
        match self.key(name)? {
            ClassKey::Internal(i) => Ok(ClassRef::Internal(offsets.map_or(0, |o| o.classes[i]))),
            ClassKey::External(e) => {
                // The two numbers only: the class itself stays borrowed
                // from the linker while the import table is updated.
                let (package, class_token) = (e.package, e.token);
                Ok(ClassRef::External {
                    package_token: self.imports.token(package)?,
                    class_token,
                })
            }
        }
    }

    /// Registers the package of a class (for import order) without a reference.
    pub fn touch(&mut self, name: &str) -> Result<()> {
        if let Some(ClassKey::External(e)) = self.pkg.resolve(self.linker, name) {
            self.imports.token(e.package)?;
        }
        Ok(())
    }

    /// The superclass of an internal class.
    fn super_of(&self, i: usize) -> Option<&str> {
        self.pkg.classes[i].file.super_class.as_deref()
    }

    /// Resolves one constant pool key.
    pub fn entry(&mut self, key: &CpKey, o: &Offsets<'_>) -> Result<CpEntry> {
        Ok(match key {
            CpKey::Class(name) => CpEntry::ClassRef(self.class_ref(name, Some(o))?),
            CpKey::InstanceField { class, name, desc } => {
                let (class, token) = self.instance_field(class, name, desc, o)?;
                CpEntry::InstanceFieldRef { class, token }
            }
            CpKey::VirtualMethod { class, name, desc } => {
                let (class, token) = self.virtual_method(class, name, desc, o)?;
                CpEntry::VirtualMethodRef { class, token }
            }
            CpKey::SuperMethod { class, name, desc } => {
                let i = self
                    .pkg
                    .class_index(class)
                    .ok_or_else(|| self.unknown(class))?;
                let token = self.tokens[i]
                    .virtual_method(name, desc)
                    .map(|e| e.token)
                    .ok_or_else(|| missing("method", class, name, desc))?;
                CpEntry::SuperMethodRef {
                    class: ClassRef::Internal(o.classes[i]),
                    token,
                }
            }
            CpKey::StaticField { class, name, desc } => {
                CpEntry::StaticFieldRef(self.static_field(class, name, desc, o)?)
            }
            CpKey::StaticMethod { class, name, desc } => {
                CpEntry::StaticMethodRef(self.static_method(class, name, desc, o)?)
            }
        })
    }

    fn instance_field(
        &mut self,
        class: &str,
        name: &str,
        desc: &str,
        o: &Offsets<'_>,
    ) -> Result<(ClassRef, u8)> {
        let mut at = class.to_string();
        for _ in 0..256 {
            match self.key(&at)? {
                ClassKey::Internal(i) => {
                    let file = self.pkg.classes[i].file;
                    if let Some(k) = file.fields.iter().position(|f| {
                        f.name == name && f.descriptor == desc && f.access_flags & acc::STATIC == 0
                    }) {
                        if let FieldToken::Instance(t) = self.tokens[i].fields[k] {
                            return Ok((ClassRef::Internal(o.classes[i]), t));
                        }
                    }
                    at = self
                        .super_of(i)
                        .ok_or_else(|| missing("field", class, name, desc))?
                        .to_string();
                }
                ClassKey::External(e) => {
                    let owner = self
                        .linker
                        .field_owner(e, name, desc)
                        .ok_or_else(|| missing("field", class, name, desc))?
                        .clone();
                    let token = owner.field(name, desc).map(|f| f.token).unwrap_or(0xFF);
                    return Ok((self.external(&owner)?, token));
                }
            }
        }
        Err(missing("field", class, name, desc))
    }

    fn virtual_method(
        &mut self,
        class: &str,
        name: &str,
        desc: &str,
        o: &Offsets<'_>,
    ) -> Result<(ClassRef, u8)> {
        let mut at = class.to_string();
        for _ in 0..256 {
            match self.key(&at)? {
                ClassKey::Internal(i) => {
                    let declares = self.pkg.classes[i]
                        .file
                        .methods
                        .iter()
                        .zip(&self.tokens[i].methods)
                        .find_map(|(m, t)| match t {
                            MethodToken::Virtual(tok) if m.name == name && m.descriptor == desc => {
                                Some(*tok)
                            }
                            _ => None,
                        });
                    if let Some(token) = declares {
                        return Ok((ClassRef::Internal(o.classes[i]), token));
                    }
                    at = self
                        .super_of(i)
                        .ok_or_else(|| missing("method", class, name, desc))?
                        .to_string();
                }
                ClassKey::External(e) => {
                    let token = e
                        .virtual_method(name, desc)
                        .map(|m| m.token)
                        .ok_or_else(|| missing("method", class, name, desc))?;
                    let e = e.clone();
                    return Ok((self.external(&e)?, token));
                }
            }
        }
        Err(missing("method", class, name, desc))
    }

    fn static_field(
        &mut self,
        class: &str,
        name: &str,
        desc: &str,
        o: &Offsets<'_>,
    ) -> Result<StaticRef> {
        let mut at = class.to_string();
        for _ in 0..256 {
            match self.key(&at)? {
                ClassKey::Internal(i) => {
                    if let Some(&offset) = self.pkg.classes[i]
                        .file
                        .fields
                        .iter()
                        .position(|f| {
                            f.name == name
                                && f.descriptor == desc
                                && f.access_flags & acc::STATIC != 0
                        })
                        .and_then(|k| o.statics.get(&(i, k)))
                    {
                        return Ok(StaticRef::Internal { block: 0, offset });
                    }
                    at = self
                        .super_of(i)
                        .ok_or_else(|| missing("field", class, name, desc))?
                        .to_string();
                }
                ClassKey::External(e) => {
                    let owner = self
                        .linker
                        .field_owner(e, name, desc)
                        .ok_or_else(|| missing("field", class, name, desc))?
                        .clone();
                    let token = owner.field(name, desc).map(|f| f.token).unwrap_or(0xFF);
                    return Ok(StaticRef::External {
                        package_token: self.imports.token(owner.package)?,
                        class_token: owner.token,
                        token,
                    });
                }
            }
        }
        Err(missing("field", class, name, desc))
    }

    fn static_method(
        &mut self,
        class: &str,
        name: &str,
        desc: &str,
        o: &Offsets<'_>,
    ) -> Result<StaticRef> {
        let mut at = class.to_string();
        for _ in 0..256 {
            match self.key(&at)? {
                ClassKey::Internal(i) => {
                    if let Some(&at) = self.pkg.classes[i]
                        .file
                        .methods
                        .iter()
                        .position(|m| m.name == name && m.descriptor == desc)
                        .and_then(|k| o.methods.get(&(i, k)))
                    {
                        // The padding byte of a compact file is the block
                        // index of an extended one.
                        return Ok(StaticRef::Internal {
                            block: at.block_index.unwrap_or(0),
                            offset: at.offset,
                        });
                    }
                    if name == "<init>" {
                        break;
                    }
                    at = self
                        .super_of(i)
                        .ok_or_else(|| missing("method", class, name, desc))?
                        .to_string();
                }
                ClassKey::External(e) => {
                    let mut owner = e.static_method(name, desc).map(|m| (e.clone(), m.token));
                    if owner.is_none() && name != "<init>" {
                        owner = e
                            .supers
                            .iter()
                            .filter_map(|s| self.linker.class(s))
                            .find_map(|c| {
                                c.static_method(name, desc).map(|m| (c.clone(), m.token))
                            });
                    }
                    let (owner, token) =
                        owner.ok_or_else(|| missing("method", class, name, desc))?;
                    return Ok(StaticRef::External {
                        package_token: self.imports.token(owner.package)?,
                        class_token: owner.token,
                        token,
                    });
                }
            }
        }
        Err(missing("method", class, name, desc))
    }
}

fn missing(what: &str, class: &str, name: &str, desc: &str) -> Error {
    // A member of a later org.globalplatform than the one linked: say
    // which version has it.
    let hint = crate::api::gp::first_version_with(class, name, desc)
        .map(|(a, b)| {
            format!(
                "; org.globalplatform has it from version {a}.{b}: build with --gp-api {a}.{b} \
                 (jct.toml: gp-api) for cards that offer it"
            )
        })
        .unwrap_or_default();
    Error::general(format!(
        "{what} {}.{name}{} not found (or not accessible) in the package or its imports{hint}",
        class.replace('/', "."),
        if what == "field" {
            format!(":{desc}")
        } else {
            desc.to_string()
        }
    ))
}
