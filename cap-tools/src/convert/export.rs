//! What the package shows other packages: the Export component (JCVM 6.12)
//! and the export file (JCVM chapter 5) that converters of client packages
//! read.
//!
//! A library exports every public class and interface; an applet package
//! exports only its public shareable interfaces (the only things another
//! package may use of it, through `getShareableInterfaceObject`), which have
//! the lowest class tokens so that the Export component, indexed by class
//! token, lists nothing else. An applet package without shareable
//! interfaces exports nothing.

use std::collections::HashMap;

use crate::cap::components::export::{ClassExport, PackageExport};
use crate::cap::components::method::MethodLocation;
use crate::cap::{ExportComponent, Format};
use crate::exp::class::{Attribute, ClassInfo, FieldInfo, MethodInfo, CONSTANT_VALUE};
use crate::exp::constant_pool::{Constant, ConstantPool, PackageConstant, Utf8};
use crate::exp::{flags, ExportFile};

use super::error::{Error, Result};
use super::link::Linker;
use super::model::{acc, ClassKey, Package};
use super::tokens::{ClassTokens, FieldToken, Impl, MethodToken};
use super::Options;

/// The classes exported, by class token: those of the main package (the
/// private packages of an extended CAP file export nothing).
pub fn exported(pkg: &Package<'_>, tokens: &[ClassTokens], library: bool) -> Vec<usize> {
    let mut out: Vec<(u8, usize)> = (0..pkg.classes.len())
        .filter(|&i| pkg.class_package[i] == 0)
        .filter_map(|i| {
            let t = tokens[i].token?;
            let c = &pkg.classes[i];
            (library || (c.is_interface() && tokens[i].shareable)).then_some((t, i))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, i)| i).collect()
}

/// The Export component; `None` when nothing is exported. In the extended
/// format the classes are those of the CAP file's one public package, and
/// each static method names its Method component block.
pub fn component(
    tokens: &[ClassTokens],
    classes: &[usize],
    class_offsets: &[u16],
    method_offsets: &HashMap<(usize, usize), MethodLocation>,
    static_offsets: &HashMap<(usize, usize), u16>,
    extended: bool,
) -> Result<Option<ExportComponent>> {
    if classes.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for &i in classes {
        let t = &tokens[i];
        let mut fields: Vec<(u8, u16)> = Vec::new();
        for (k, f) in t.fields.iter().enumerate() {
            if let FieldToken::Static(Some(tok)) = f {
                fields.push((*tok, static_offsets[&(i, k)]));
            }
        }
        let mut methods: Vec<(u8, MethodLocation)> = Vec::new();
        for (k, m) in t.methods.iter().enumerate() {
            if let MethodToken::Static(Some(tok)) = m {
                methods.push((*tok, method_offsets[&(i, k)]));
            }
        }
        fields.sort();
        methods.sort();
        out.push(ClassExport {
            class_offset: class_offsets[i],
            static_field_offsets: fields.into_iter().map(|f| f.1).collect(),
            static_method_offsets: methods.iter().map(|m| m.1.offset).collect(),
            static_method_blocks: if extended {
                methods
                    .iter()
                    .map(|m| m.1.block_index.unwrap_or(0))
                    .collect()
            } else {
                Vec::new()
            },
        });
    }
    Ok(Some(if extended {
        ExportComponent {
            classes: Vec::new(),
            packages: vec![PackageExport { classes: out }],
        }
    } else {
        ExportComponent {
            classes: out,
            packages: Vec::new(),
        }
    }))
}

/// The export file's constant pool under construction.
#[derive(Default)]
struct Pool {
    entries: Vec<Constant>,
    utf8: HashMap<String, u16>,
    classes: HashMap<String, u16>,
}

impl Pool {
    fn push(&mut self, c: Constant) -> Result<u16> {
        let i = u16::try_from(self.entries.len())
            .map_err(|_| Error::general("the export file's constant pool is full"))?;
        self.entries.push(c);
        Ok(i)
    }

    fn utf8(&mut self, s: &str) -> Result<u16> {
        if let Some(&i) = self.utf8.get(s) {
            return Ok(i);
        }
        let i = self.push(Constant::Utf8(Utf8::from(s)))?;
        self.utf8.insert(s.to_string(), i);
        Ok(i)
    }

    fn class(&mut self, name: &str) -> Result<u16> {
        if let Some(&i) = self.classes.get(name) {
            return Ok(i);
        }
        let name_index = self.utf8(name)?;
        let i = self.push(Constant::Classref { name_index })?;
        self.classes.insert(name.to_string(), i);
        Ok(i)
    }
}

/// Export file flags of a class of the package.
fn class_flags(f: u16, shareable: bool) -> u16 {
    let mut out =
        f & (flags::ACC_PUBLIC | flags::ACC_FINAL | flags::ACC_INTERFACE | flags::ACC_ABSTRACT);
    if shareable {
        out |= flags::ACC_SHAREABLE;
    }
    out
}

/// Export file flags of a member.
fn member_flags(f: u16) -> u16 {
    f & (flags::ACC_PUBLIC
        | flags::ACC_PROTECTED
        | flags::ACC_STATIC
        | flags::ACC_FINAL
        | flags::ACC_ABSTRACT)
}

/// All superclasses of an internal class: its chain in the package, then
/// the superclasses of the first imported one.
fn supers(pkg: &Package<'_>, linker: &Linker, i: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut at = pkg.classes[i].file.super_class.clone();
    while let Some(name) = at.take() {
        if out.contains(&name) {
            break;
        }
        match pkg.resolve(linker, &name) {
            Some(ClassKey::Internal(j)) => at = pkg.classes[j].file.super_class.clone(),
            Some(ClassKey::External(e)) => {
                out.push(name);
                out.extend(
                    e.supers
                        .iter()
                        .rev()
                        .filter(|s| !out.contains(s))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                break;
            }
            None => {}
        }
        out.push(name);
    }
    out
}

/// The export file describing `classes` of the package.
pub fn file(
    pkg: &Package<'_>,
    linker: &Linker,
    tokens: &[ClassTokens],
    classes: &[usize],
    opts: &Options,
    library: bool,
    format: Format,
) -> Result<ExportFile> {
    // Export format 2.3 goes with CAP 2.3 (Java Card 3.1+ converters read
    // it); older converters read only 2.1, so it goes with CAP 2.1 and 2.2.
    let v23 = format.at_least(2, 3);
    let mut p = Pool::default();
    let mut infos = Vec::new();
    for &i in classes {
        let c = &pkg.classes[i];
        let t = &tokens[i];
        let name_index = p.class(c.name)?;
        let super_names = if c.is_interface() {
            vec!["java/lang/Object".to_string()]
        } else {
            supers(pkg, linker, i)
        };
        let supers = super_names
            .iter()
            .map(|s| p.class(s))
            .collect::<Result<Vec<_>>>()?;
        let interface_names: Vec<String> = if c.is_interface() {
            super::classes::superinterfaces(pkg, linker, i)
        } else {
            let mut all: Vec<String> = t.interfaces.iter().map(|x| x.interface.clone()).collect();
            for s in &super_names {
                let more: Vec<String> = match pkg.resolve(linker, s) {
                    Some(ClassKey::Internal(j)) => tokens[j]
                        .interfaces
                        .iter()
                        .map(|x| x.interface.clone())
                        .collect(),
                    Some(ClassKey::External(e)) => e.interfaces.clone(),
                    None => Vec::new(),
                };
                for n in more {
                    if !all.contains(&n) {
                        all.push(n);
                    }
                }
            }
            all
        };
        let interfaces = interface_names
            .iter()
            .map(|s| p.class(s))
            .collect::<Result<Vec<_>>>()?;
        let visible = |f: u16| f & (acc::PUBLIC | acc::PROTECTED) != 0;
        let mut fields = Vec::new();
        for pass in 0..3 {
            for (k, f) in c.file.fields.iter().enumerate() {
                if !visible(f.access_flags) {
                    continue;
                }
                let (token, attributes) = match (pass, t.fields[k], &f.constant_value) {
                    (0, FieldToken::Instance(tok), _) => (tok, Vec::new()),
                    (1, FieldToken::Static(Some(tok)), _) => (tok, Vec::new()),
                    (2, FieldToken::Constant, Some(crate::classfile::Constant::Integer(v))) => {
                        let name_index = p.utf8(CONSTANT_VALUE)?;
                        let value = p.push(Constant::Integer(*v as u32))?;
                        (
                            0xFF,
                            vec![Attribute {
                                name_index,
                                info: value.to_be_bytes().to_vec(),
                            }],
                        )
                    }
                    _ => continue,
                };
                fields.push(FieldInfo {
                    token,
                    access_flags: member_flags(f.access_flags),
                    name_index: p.utf8(&f.name)?,
                    descriptor_index: p.utf8(&f.descriptor)?,
                    attributes,
                });
            }
        }
        let mut methods = Vec::new();
        // Static methods and constructors, then virtual (or interface)
        // methods by token, inherited ones included.
        for (k, m) in c.file.methods.iter().enumerate() {
            let token = match t.methods[k] {
                MethodToken::Static(Some(tok)) => tok,
                MethodToken::Interface(tok) => tok,
                _ => continue,
            };
            methods.push(MethodInfo {
                token,
                access_flags: member_flags(m.access_flags)
                    | if c.is_interface() {
                        flags::ACC_ABSTRACT
                    } else {
                        0
                    },
                name_index: p.utf8(&m.name)?,
                descriptor_index: p.utf8(&m.descriptor)?,
            });
        }
        if !c.is_interface() {
            let mut virtuals: Vec<_> = t.vtable.iter().filter(|e| e.is_public()).collect();
            virtuals.sort_by_key(|e| e.token);
            for e in virtuals {
                let flags = match e.imp {
                    Impl::Internal { class, method } => {
                        member_flags(pkg.classes[class].file.methods[method].access_flags)
                    }
                    Impl::External => external_flags(pkg, linker, i, &e.name, &e.descriptor),
                };
                methods.push(MethodInfo {
                    token: e.token,
                    access_flags: flags,
                    name_index: p.utf8(&e.name)?,
                    descriptor_index: p.utf8(&e.descriptor)?,
                });
            }
        }
        infos.push(ClassInfo {
            token: t.token.unwrap_or(0xFF),
            access_flags: class_flags(c.file.access_flags, t.shareable),
            name_index,
            supers,
            interfaces,
            fields,
            methods,
            // A 2.2-era subclass inherits every public virtual token of a
            // freshly converted class; an interface has none to inherit.
            cap22_inheritable_public_method_token_count: v23.then_some(if c.is_interface() {
                0
            } else {
                t.public_count
            }),
        });
    }
    let name_index = p.utf8(&pkg.name)?;
    let this_package = p.push(Constant::Package(PackageConstant {
        flags: if library { flags::ACC_LIBRARY } else { 0 },
        name_index,
        minor_version: opts.version.1,
        major_version: opts.version.0,
        aid: opts.package_aid.clone(),
    }))?;
    let referenced_packages = if v23 {
        Some(referenced(pkg, linker, &mut p)?)
    } else {
        None
    };
    let file = ExportFile {
        minor_version: if v23 { 3 } else { 1 },
        major_version: 2,
        constant_pool: ConstantPool(p.entries),
        this_package,
        referenced_packages,
        classes: infos,
    };
    // Checks the file is one jct (and so a client's conversion) can read.
    file.encode()?;
    Ok(file)
}

/// Export format 2.3's `referenced_packages`: a CONSTANT_Package for each
/// imported package the export file's classes name (superclasses and
/// superinterfaces), in the order their classes entered the pool — for the
/// reference packages Oracle's order too (java.lang, then
/// javacard.framework).
fn referenced(pkg: &Package<'_>, linker: &Linker, p: &mut Pool) -> Result<Vec<u16>> {
    let mut named: Vec<(u16, String)> = p
        .classes
        .iter()
        .map(|(name, &i)| (i, name.clone()))
        .collect();
    named.sort();
    let mut packages: Vec<usize> = Vec::new();
    for (_, name) in named {
        if let Some(ClassKey::External(e)) = pkg.resolve(linker, &name) {
            if !packages.contains(&e.package) {
                packages.push(e.package);
            }
        }
    }
    packages
        .into_iter()
        .map(|k| {
            let x = &linker.packages[k];
            let name_index = p.utf8(&x.name)?;
            p.push(Constant::Package(PackageConstant {
                flags: 0,
                name_index,
                minor_version: x.version.1,
                major_version: x.version.0,
                aid: x.aid.clone(),
            }))
        })
        .collect()
}

/// The flags an imported superclass gives an inherited method.
fn external_flags(pkg: &Package<'_>, linker: &Linker, i: usize, name: &str, desc: &str) -> u16 {
    let mut at = pkg.classes[i].file.super_class.clone();
    while let Some(s) = at.take() {
        match pkg.resolve(linker, &s) {
            Some(ClassKey::Internal(j)) => at = pkg.classes[j].file.super_class.clone(),
            Some(ClassKey::External(e)) => {
                return e
                    .virtual_method(name, desc)
                    .map_or(flags::ACC_PUBLIC, |m| member_flags(m.flags))
            }
            None => {}
        }
    }
    flags::ACC_PUBLIC
}
