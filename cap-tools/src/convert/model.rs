//! The package being converted: its class files in the order the Class
//! component lists them, with the JVM access flags and the checks that apply
//! to a class or member as a whole (unsupported types, modifiers, forms).
//!
//! Order matters twice: internal class references are offsets into the
//! Class component, and a card links a class after its superclass, so
//! interfaces come first, then classes, each after its supertypes within the
//! package; otherwise nested classes first, then by name.

use rustc_hash::FxHashMap;
use std::collections::HashMap;

use crate::classfile::{ClassFile, Field, Method};

use super::error::{Error, Place, Result};
use super::link::{ExtClass, Linker};

/// JVM access flags (JVMS 4.1, 4.5, 4.6).
pub mod acc {
    pub const PUBLIC: u16 = 0x0001;
    pub const PRIVATE: u16 = 0x0002;
    pub const PROTECTED: u16 = 0x0004;
    pub const STATIC: u16 = 0x0008;
    pub const FINAL: u16 = 0x0010;
    pub const SYNCHRONIZED: u16 = 0x0020;
    pub const NATIVE: u16 = 0x0100;
    pub const INTERFACE: u16 = 0x0200;
    pub const ABSTRACT: u16 = 0x0400;
    pub const ANNOTATION: u16 = 0x2000;
    pub const ENUM: u16 = 0x4000;
}

/// A class or interface of the package.
#[derive(Debug)]
pub struct Class<'a> {
    pub file: &'a ClassFile,
    /// Internal name.
    pub name: &'a str,
}

impl<'a> Class<'a> {
    pub fn is_interface(&self) -> bool {
        self.file.access_flags & acc::INTERFACE != 0
    }

    pub fn is_public(&self) -> bool {
        self.file.access_flags & acc::PUBLIC != 0
    }

    pub fn place(&self) -> Place {
        Place::class(self.name)
    }

    /// The methods that get a method_info (all but `<clinit>`, whose
    /// effect goes into the static field image).
    pub fn code_methods(&self) -> impl Iterator<Item = (usize, &'a Method)> {
        self.file
            .methods
            .iter()
            .enumerate()
            .filter(|(_, m)| m.name != "<clinit>")
    }
}

/// A compile-time constant: static final with a ConstantValue. It has no
/// token and no storage; javac has already inlined its uses.
pub fn is_constant(f: &Field) -> bool {
    f.access_flags & acc::STATIC != 0
        && f.access_flags & acc::FINAL != 0
        && f.constant_value.is_some()
}

/// Where a class named in the program lives.
#[derive(Debug, Clone, Copy)]
pub enum ClassKey<'l> {
    /// Index into [`Package::classes`].
    Internal(usize),
    External(&'l ExtClass),
}

/// The package: its classes in Class component order. An extended CAP
/// file may hold several packages ([`Package::packages`]): their classes
/// share the Class, Method, StaticField and ConstantPool components, so
/// every reference between them is internal (JCVM 3.1 §6.1), and only
/// class tokens, the Descriptor and the Export component are per package.
#[derive(Debug)]
pub struct Package<'a> {
    /// Internal form, e.g. `com/example/hello`: the main package (the
    /// first of [`Package::packages`]).
    pub name: String,
    pub classes: Vec<Class<'a>>,
    /// Every package of the CAP file, internal form; the main one first,
    /// then the private packages in the order given.
    pub packages: Vec<String>,
    /// For each class, its index in [`Package::packages`].
    pub class_package: Vec<usize>,
    index: FxHashMap<&'a str, usize>,
}

/// The package part of an internal class name (`com/a/B` -> `com/a`).
pub fn package_of(class: &str) -> &str {
    class.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

impl<'a> Package<'a> {
    /// Orders and checks the classes of `package` and of the `private`
    /// packages that go into the same (extended) CAP file. Within the
    /// Class component a package's classes follow those of the packages
    /// given after it (so the main package, usually the one that uses the
    /// others, comes last), each class after its supertypes.
    pub fn with_private(
        package: &str,
        private: &[String],
        files: &'a [ClassFile],
    ) -> Result<Package<'a>> {
        let name = package.replace('.', "/");
        let mut packages = vec![name.clone()];
        for p in private {
            let p = p.replace('.', "/");
            if packages.contains(&p) {
                return Err(Error::general(format!(
                    "package {} is named twice for the CAP file",
                    p.replace('/', ".")
                )));
            }
            packages.push(p);
        }
        if files.is_empty() {
            return Err(Error::general(format!(
                "package {} has no classes to convert",
                name.replace('/', ".")
            )));
        }
        let mut by_name: HashMap<&'a str, &'a ClassFile> = HashMap::new();
        for f in files {
            let pkg = package_of(&f.this_class);
            if !packages.iter().any(|p| p == pkg) {
                let names: Vec<String> = packages.iter().map(|p| p.replace('/', ".")).collect();
                return Err(Error::at(
                    Place::class(&f.this_class),
                    if packages.len() == 1 {
                        format!(
                            "is not in package {} (a compact CAP file holds one package; an \
                             extended one more, named with --private-package)",
                            names[0]
                        )
                    } else {
                        format!("is in none of the CAP file's packages {}", names.join(", "))
                    },
                ));
            }
            if by_name.insert(&f.this_class, f).is_some() {
                return Err(Error::at(
                    Place::class(&f.this_class),
                    "appears twice among the input classes",
                ));
            }
            check_class(f)?;
        }
        // Nested classes (`Outer$Inner`) before top-level ones: the helpers
        // an applet uses come before it, as Oracle's converter orders them.
        for p in &packages {
            if !by_name.keys().any(|n| package_of(n) == p) {
                return Err(Error::general(format!(
                    "package {} has no classes to convert",
                    p.replace('/', ".")
                )));
            }
        }
        let rank = |n: &str| {
            let p = packages
                .iter()
                .position(|p| p == package_of(n))
                .unwrap_or(0);
            // The main package last, the private ones in the order given.
            if p == 0 {
                packages.len()
            } else {
                p
            }
        };
        let mut names: Vec<&'a str> = by_name.keys().copied().collect();
        names.sort_by_key(|n| (rank(n), !n.contains('$'), *n));
        let (interfaces, classes): (Vec<&str>, Vec<&str>) = names
            .into_iter()
            .partition(|n| by_name[n].access_flags & acc::INTERFACE != 0);
        let mut order = Vec::new();
        let mut placed = std::collections::HashSet::new();
        for group in [interfaces, classes] {
            for n in &group {
                place(n, &by_name, &mut placed, &mut order, 0)?;
            }
        }
        let classes: Vec<Class<'a>> = order
            .into_iter()
            .map(|n| Class {
                file: by_name[n],
                name: n,
            })
            .collect();
        let index = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name, i))
            .collect();
        let class_package = classes
            .iter()
            .map(|c| {
                packages
                    .iter()
                    .position(|p| p == package_of(c.name))
                    .unwrap_or(0)
            })
            .collect();
        Ok(Package {
            name,
            classes,
            packages,
            class_package,
            index,
        })
    }

    /// The index of an internal class.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Resolves a class name to this package or an imported one.
    pub fn resolve<'l>(&self, linker: &'l Linker, name: &str) -> Option<ClassKey<'l>> {
        match self.class_index(name) {
            Some(i) => Some(ClassKey::Internal(i)),
            None => linker.class(name).map(ClassKey::External),
        }
    }

    /// Like [`Package::resolve`], failing with a message at `place`.
    pub fn require<'l>(
        &self,
        linker: &'l Linker,
        name: &str,
        place: &Place,
    ) -> Result<ClassKey<'l>> {
        self.resolve(linker, name).ok_or_else(|| {
            let message = linker.missing_class_hint(name).unwrap_or_else(|| {
                format!(
                    "class {} is neither in this package nor in an imported one (is its export file on the export path?)",
                    name.replace('/', ".")
                )
            });
            Error::at(place.clone(), message)
        })
    }
}

/// Depth-first placement: supertypes in the package before their subtypes.
fn place<'a>(
    name: &'a str,
    by_name: &HashMap<&'a str, &'a ClassFile>,
    placed: &mut std::collections::HashSet<&'a str>,
    order: &mut Vec<&'a str>,
    depth: usize,
) -> Result<()> {
    if placed.contains(name) {
        return Ok(());
    }
    if depth > by_name.len() {
        return Err(Error::at(
            Place::class(name),
            "has a cyclic class hierarchy",
        ));
    }
    let f = by_name[name];
    let supers = f.super_class.iter().chain(&f.interfaces);
    for s in supers {
        if let Some((&s, _)) = by_name.get_key_value(s.as_str()) {
            place(s, by_name, placed, order, depth + 1)?;
        }
    }
    if placed.insert(name) {
        order.push(name);
    }
    Ok(())
}

/// Refuses what no Java Card package may contain, class by class.
fn check_class(f: &ClassFile) -> Result<()> {
    let here = || Place::class(&f.this_class);
    if f.access_flags & acc::ENUM != 0 {
        return Err(Error::at(here(), "enums are not supported by Java Card"));
    }
    if f.access_flags & acc::ANNOTATION != 0 {
        return Err(Error::at(here(), "annotation types are not supported"));
    }
    for field in &f.fields {
        let at = || Place::class(&f.this_class);
        check_type(&field.descriptor)
            .map_err(|m| Error::at(at(), format!("field {}: {m}", field.name)))?;
        if let Some(c) = &field.constant_value {
            if !matches!(c, crate::classfile::Constant::Integer(_)) {
                return Err(Error::at(
                    at(),
                    format!(
                        "field {}: constant of type {} is not supported",
                        field.name,
                        c.kind()
                    ),
                ));
            }
        }
    }
    for m in &f.methods {
        let at = || Place::method(&f.this_class, &m.name, &m.descriptor);
        check_method_type(&m.descriptor).map_err(|e| Error::at(at(), e))?;
        if m.access_flags & acc::SYNCHRONIZED != 0 {
            return Err(Error::at(
                at(),
                "synchronized methods are not supported (Java Card has no threads)",
            ));
        }
        if m.access_flags & acc::NATIVE != 0 {
            return Err(Error::at(at(), "native methods are not supported"));
        }
        if f.access_flags & acc::INTERFACE != 0
            && m.name != "<clinit>"
            && m.access_flags & acc::ABSTRACT == 0
        {
            return Err(Error::at(
                at(),
                "interfaces with static, default or private methods are not supported",
            ));
        }
        if m.access_flags & acc::ABSTRACT == 0 && m.code.is_none() {
            return Err(Error::at(at(), "has no Code attribute"));
        }
    }
    Ok(())
}

/// Checks a field descriptor names a Java Card type.
pub fn check_type(desc: &str) -> std::result::Result<(), String> {
    let elem = desc.trim_start_matches('[');
    let dims = desc.len() - elem.len();
    if dims > 1 {
        return Err(format!(
            "multi-dimensional arrays ({desc}) are not supported"
        ));
    }
    match elem.as_bytes().first() {
        Some(b'Z' | b'B' | b'S' | b'I') => Ok(()),
        Some(b'L') if elem == "Ljava/lang/String;" => {
            Err("String is not supported by Java Card".into())
        }
        Some(b'L') => Ok(()),
        Some(b'J') => Err("long is not supported by Java Card".into()),
        Some(b'F' | b'D') => Err("floating point is not supported by Java Card".into()),
        Some(b'C') => Err("char is not supported by Java Card".into()),
        _ => Err(format!("bad type descriptor {desc}")),
    }
}

/// Checks every parameter and the return type of a method descriptor.
pub fn check_method_type(desc: &str) -> std::result::Result<(), String> {
    let args = crate::classfile::descriptor_args(desc).map_err(|e| e.to_string())?;
    for a in &args {
        check_type(a)?;
    }
    let ret = crate::classfile::descriptor_return(desc).map_err(|e| e.to_string())?;
    if ret != "V" {
        check_type(&ret)?;
    }
    Ok(())
}

/// True for a descriptor of the 32-bit int type (`I`) or an int array.
pub fn uses_int(desc: &str) -> bool {
    desc.trim_start_matches('[') == "I"
}

/// True for a reference type (class or array).
pub fn is_reference(desc: &str) -> bool {
    desc.starts_with('L') || desc.starts_with('[')
}
