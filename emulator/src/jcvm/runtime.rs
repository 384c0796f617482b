//! The linked program: classes, methods and resolved constant pools of the
//! API and of every loaded package, built once from the CAP bytes the card
//! received and kept in memory (never saved: a restart links again).
//!
//! Linking (JCVM 4.x tokens, 6.x components) resolves, per package, each
//! Constant Pool entry into a [`Cp`] the interpreter uses directly: class
//! references into class indices, instance fields into word offsets,
//! static fields into static image positions, static and super methods
//! into call targets, virtual methods into (token, argument words) for
//! dispatch through the flattened method tables of [`RtClass`].

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

use std::collections::HashMap;

use cap_tools::api::{self, ApiClass, ApiVersion, ACC_INTERFACE, ACC_STATIC};
use cap_tools::cap::class::{ClassEntry, ClassRef};
use cap_tools::cap::components::header::ACC_INT;
use cap_tools::cap::constant_pool::{CpEntry, StaticRef};
use cap_tools::cap::method::MethodLocation;
use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;

use super::code::Code;
use super::heap::{ArrayData, ClassKey, Heap, Obj, StaticImage, NOT_TRANSIENT};
use crate::natives::{self, Native, Sys};

/// A call target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A method with bytecode: index into [`Runtime::methods`].
    Code(u32),
    Native(Native),
    /// Declared abstract (or an interface method): calling it is a bug.
    Abstract,
    /// An API method the emulator does not implement (index into
    /// [`Runtime::missing`], its name).
    Missing(u32),
    /// No method with this token.
    None,
}

/// A resolved constant pool entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cp {
    Class(u32),
    /// Instance field: word offset in the object.
    Field(u16),
    /// Virtual method: token (public, or package-private with bit 0x80)
    /// and the argument words including `this`.
    Virtual {
        token: u8,
        nargs: u8,
    },
    /// Static method, constructor, private or super method.
    Direct {
        target: Target,
        nargs: u8,
    },
    /// Static primitive field: image index and byte offset.
    Static {
        image: u32,
        offset: u16,
    },
    /// Static reference field: image index and slot.
    StaticRef {
        image: u32,
        slot: u16,
    },
    /// A static final field of the API: its value.
    Constant(i32),
}

/// An exception handler, in op indices.
#[derive(Debug, Clone, Copy)]
pub struct Handler {
    pub start: u32,
    pub end: u32,
    pub target: u32,
    pub catch: Option<u32>,
}

/// A method with bytecode.
#[derive(Debug, Clone)]
pub struct RtMethod {
    pub code: Code,
    pub handlers: Vec<Handler>,
    pub nargs: u8,
    pub max_locals: u8,
    pub max_stack: u8,
    /// Runtime package index (its constant pool).
    pub package: u32,
    pub is_abstract: bool,
}

/// A class or interface.
#[derive(Debug, Clone, Default)]
pub struct RtClass {
    pub name: String,
    pub super_class: Option<u32>,
    pub interface: bool,
    /// Instance words of this class and its superclasses.
    pub words: u16,
    /// Flattened public virtual method table, by token.
    pub public: Vec<Target>,
    /// Flattened package-private table, by token & 0x7F.
    pub package: Vec<Target>,
    /// Implemented interfaces with their method-token maps (interface
    /// token -> public virtual token); superinterfaces for an interface.
    pub interfaces: Vec<(u32, Vec<u8>)>,
    /// Runtime package of a package class.
    pub package_index: Option<u32>,
    /// Word offsets of the reference fields (this class's and its
    /// superclasses'), for object deletion.
    pub refs: Vec<u16>,
}

/// A linked package.
#[derive(Debug, Clone)]
pub struct RtPackage {
    pub aid: Vec<u8>,
    pub int_support: bool,
    pub cp: Vec<Cp>,
    /// Applet AID -> install method.
    pub applets: Vec<(Vec<u8>, u32)>,
    pub classes_by_offset: HashMap<u16, u32>,
    pub methods_by_location: HashMap<MethodLocation, u32>,
    pub export: Option<cap_tools::cap::ExportComponent>,
    pub image: u32,
    pub context: u32,
}

/// Why a package does not link.
pub type LinkError = String;

/// Classes the VM itself needs: Object, the exceptions it throws, APDU...
#[derive(Debug, Clone, Default)]
pub struct SysClasses {
    pub object: u32,
    pub exceptions: Vec<u32>,
    pub apdu: u32,
    pub aid: u32,
    pub iso_exception: u32,
    /// Token of Applet.getShareableInterfaceObject.
    pub shareable_token: u8,
    /// javacard.framework.Shareable, which the firewall lets through.
    pub shareable: u32,
    /// javacard.framework.AppletEvent, whose uninstall() DELETE calls.
    pub applet_event: u32,
}

/// Everything linked.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub api: ApiVersion,
    pub packages: Vec<RtPackage>,
    pub classes: Vec<Option<RtClass>>,
    pub methods: Vec<RtMethod>,
    pub missing: Vec<String>,
    pub sys: SysClasses,
}

const JAVA_LANG: &str = "java.lang";
const FRAMEWORK: &str = "javacard.framework";

impl Runtime {
    /// The API of `api`, with the classes the VM needs resolved (interned
    /// in `heap`).
    pub fn new(api: ApiVersion, heap: &mut Heap) -> Result<Runtime, LinkError> {
        let mut rt = Runtime {
            api,
            packages: Vec::new(),
            classes: Vec::new(),
            methods: Vec::new(),
            missing: Vec::new(),
            sys: SysClasses::default(),
        };
        rt.sys.object = rt.api_class_by_name(heap, "java/lang/Object")?;
        for s in Sys::ALL {
            let c = rt.api_class_by_name(heap, s.class_name())?;
            rt.sys.exceptions.push(c);
        }
        rt.sys.apdu = rt.api_class_by_name(heap, "javacard/framework/APDU")?;
        rt.sys.aid = rt.api_class_by_name(heap, "javacard/framework/AID")?;
        rt.sys.iso_exception = rt.sys.exceptions[Sys::Iso.index()];
        rt.sys.shareable = rt.api_class_by_name(heap, "javacard/framework/Shareable")?;
        rt.sys.applet_event = rt.api_class_by_name(heap, "javacard/framework/AppletEvent")?;
        rt.sys.shareable_token = api_class_named(api, "javacard/framework/Applet")
            .and_then(|c| {
                c.methods
                    .iter()
                    .find(|m| m.name == "getShareableInterfaceObject")
            })
            .map(|m| m.token)
            .ok_or("the API has no Applet.getShareableInterfaceObject")?;
        natives::crypto::classes::install(&mut rt, heap)?;
        natives::globalplatform::classes::install(&mut rt, heap)?;
        Ok(rt)
    }

    pub fn class(&self, idx: u32) -> Option<&RtClass> {
        self.classes.get(idx as usize).and_then(Option::as_ref)
    }

    pub fn package_index(&self, aid: &[u8]) -> Option<u32> {
        self.packages
            .iter()
            .position(|p| p.aid == aid)
            .map(|i| i as u32)
    }

    pub(crate) fn put_class(&mut self, idx: u32, class: RtClass) {
        let i = idx as usize;
        if self.classes.len() <= i {
            self.classes.resize(i + 1, None);
        }
        self.classes[i] = Some(class);
    }

    pub(crate) fn api_class_by_name(
        &mut self,
        heap: &mut Heap,
        name: &str,
    ) -> Result<u32, LinkError> {
        let table = api::table(self.api);
        for p in &table.packages {
            if let Some(c) = p.classes.iter().find(|c| c.name == name) {
                let aid = hex::decode(&p.aid).map_err(|e| e.to_string())?;
                return self.api_class(heap, &aid, c.token);
            }
        }
        let _ = (JAVA_LANG, FRAMEWORK);
        Err(format!("the API {} has no class {name}", self.api.as_str()))
    }

    /// The class of an API package by token, built on first use.
    pub fn api_class(&mut self, heap: &mut Heap, aid: &[u8], token: u8) -> Result<u32, LinkError> {
        let key = ClassKey {
            package: aid.to_vec(),
            id: u16::from(token),
            api: true,
        };
        let idx = heap.class_index(&key);
        if self.class(idx).is_some() {
            return Ok(idx);
        }
        let table = api::table(self.api);
        let aid_hex = hex::encode_upper(aid);
        let pkg = table
            .packages
            .iter()
            .find(|p| p.aid.eq_ignore_ascii_case(&aid_hex))
            .ok_or_else(|| format!("no API package {aid_hex}"))?;
        let class: &ApiClass = pkg
            .class_by_token(token)
            .ok_or_else(|| format!("API package {} has no class token {token}", pkg.package))?;
        // Placeholder against cycles while the supers are built.
        self.put_class(idx, RtClass::default());
        let super_class = match class.supers.last() {
            Some(s) => Some(self.api_class_by_name(heap, s)?),
            None => None,
        };
        let mut public = super_class
            .and_then(|s| self.class(s))
            .map(|s| s.public.clone())
            .unwrap_or_default();
        for m in class
            .methods
            .iter()
            .filter(|m| m.flags & ACC_STATIC == 0 && m.name != "<init>")
        {
            let t = usize::from(m.token);
            if public.len() <= t {
                public.resize(t + 1, Target::None);
            }
            public[t] = self.api_target(class, &m.name, &m.descriptor, m.flags);
        }
        let mut interfaces = Vec::new();
        for iname in &class.interfaces {
            let iidx = self.api_class_by_name(heap, iname)?;
            let iface = api_class_named(self.api, iname)
                .ok_or_else(|| format!("no API interface {iname}"))?;
            let mut map = Vec::new();
            for im in &iface.methods {
                let t = usize::from(im.token);
                if map.len() <= t {
                    map.resize(t + 1, 0xFF);
                }
                if let Some(cm) = class.methods.iter().find(|cm| {
                    cm.name == im.name
                        && cm.descriptor == im.descriptor
                        && cm.flags & ACC_STATIC == 0
                }) {
                    map[t] = cm.token;
                }
            }
            interfaces.push((iidx, map));
        }
        let rt = RtClass {
            name: class.name.clone(),
            super_class,
            interface: class.flags & ACC_INTERFACE != 0,
            words: 0,
            public,
            package: Vec::new(),
            interfaces,
            package_index: None,
            refs: Vec::new(),
        };
        self.put_class(idx, rt);
        Ok(idx)
    }

    fn api_target(&mut self, class: &ApiClass, name: &str, desc: &str, flags: u16) -> Target {
        if flags & 0x0400 != 0 {
            return Target::Abstract;
        }
        match natives::lookup(&class.name, name, desc) {
            Some(n) => Target::Native(n),
            None => {
                self.missing.push(format!("{}.{name}{desc}", class.name));
                Target::Missing((self.missing.len() - 1) as u32)
            }
        }
    }

    /// Links a package from its CAP; `loaded` gives the load files of
    /// the packages already on the card, for its imports. Idempotent.
    pub fn link(
        &mut self,
        heap: &mut Heap,
        cap: &Cap,
        loaded: &dyn Fn(&[u8]) -> Option<Cap>,
    ) -> Result<u32, LinkError> {
        let header = cap.header().ok_or("no Header component")?;
        let aid = header.load_file_aid().as_bytes().to_vec();
        if let Some(i) = self.package_index(&aid) {
            return Ok(i);
        }
        let mut linker = Linker {
            rt: self,
            heap,
            cap,
            aid: aid.clone(),
            loaded,
            depth: 0,
        };
        linker.run(header.flags & ACC_INT != 0)
    }
}

fn api_class_named(api: ApiVersion, name: &str) -> Option<&'static ApiClass> {
    api::table(api)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .find(|c| c.name == name)
}

/// Linking one package.
struct Linker<'a> {
    rt: &'a mut Runtime,
    heap: &'a mut Heap,
    cap: &'a Cap,
    aid: Vec<u8>,
    loaded: &'a dyn Fn(&[u8]) -> Option<Cap>,
    depth: usize,
}

/// An import: an API package or a linked package.
enum Import {
    Api(Vec<u8>),
    Package(u32),
}

/// The Export component of the package `aid` of `cap`, in the compact
/// shape (its classes in `classes`): an extended file lists the classes of
/// each public package in Header order, each static method with its block.
fn package_export(cap: &Cap, aid: &[u8]) -> Option<cap_tools::cap::ExportComponent> {
    let Some(Component::Export(e)) = cap.component(Tag::Export) else {
        return None;
    };
    if !cap.format.extended {
        return Some(e.clone());
    }
    let packages = &cap.header()?.packages;
    let index = packages
        .iter()
        .position(|p| p.package.aid.as_bytes() == aid)
        .or_else(|| (packages.len() == 1).then_some(0))?;
    Some(cap_tools::cap::ExportComponent {
        classes: e.packages.get(index)?.classes.clone(),
        packages: Vec::new(),
    })
}

impl Linker<'_> {
    fn run(&mut self, int_support: bool) -> Result<u32, LinkError> {
        let cap = self.cap;
        let imports: Vec<Import> = match cap.component(Tag::Import) {
            Some(Component::Import(i)) => i
                .packages
                .iter()
                .map(|p| self.import(p.aid.as_bytes()))
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let cp_entries: &[CpEntry] = match cap.component(Tag::ConstantPool) {
            Some(Component::ConstantPool(c)) => &c.entries,
            _ => &[],
        };
        let context = self.heap.context_index(&self.aid);
        let pkg_index = self.rt.packages.len() as u32;
        let mut pkg = RtPackage {
            aid: self.aid.clone(),
            int_support,
            cp: Vec::new(),
            applets: Vec::new(),
            classes_by_offset: HashMap::new(),
            methods_by_location: HashMap::new(),
            export: package_export(cap, &self.aid),
            image: 0,
            context,
        };
        // 1. Class indices.
        let classes: &[ClassEntry] = match cap.component(Tag::Class) {
            Some(Component::Class(c)) => &c.entries,
            _ => &[],
        };
        for entry in classes {
            let key = ClassKey {
                package: self.aid.clone(),
                id: entry.offset(),
                api: false,
            };
            pkg.classes_by_offset
                .insert(entry.offset(), self.heap.class_index(&key));
        }
        // 2. Methods. Each block's methods are a run of indices, so that a
        // handler (whose offsets count from its block) finds its method
        // among them.
        let mut block_methods: Vec<std::ops::Range<usize>> = Vec::new();
        if let Some(Component::Method(m)) = cap.component(Tag::Method) {
            for block in m.iter_blocks() {
                let first = self.rt.methods.len();
                for info in block.methods {
                    let code = Code::decode(&info.code, cp_entries.len())
                        .map_err(|e| format!("method at {}: {e}", info.offset))?;
                    let words =
                        usize::from(info.header.nargs) + usize::from(info.header.max_locals);
                    super::code::check_locals(&code, words)
                        .map_err(|e| format!("method at {}: {e}", info.offset))?;
                    if !int_support {
                        if let Some(i) = code.ops.iter().position(super::code::uses_int) {
                            return Err(format!(
                                "method at {}: int instruction at offset {} in a package without ACC_INT",
                                info.offset, code.offsets[i]
                            ));
                        }
                    }
                    let loc = MethodLocation {
                        block_index: block.index.filter(|_| !m.blocks.is_empty()),
                        offset: u16::try_from(info.offset)
                            .map_err(|_| format!("method offset {} too large", info.offset))?,
                    };
                    pkg.methods_by_location
                        .insert(loc, self.rt.methods.len() as u32);
                    self.rt.methods.push(RtMethod {
                        code,
                        handlers: Vec::new(),
                        nargs: info.header.nargs,
                        max_locals: info.header.max_locals,
                        max_stack: info.header.max_stack,
                        package: pkg_index,
                        is_abstract: info.header.is_abstract(),
                    });
                }
                block_methods.push(first..self.rt.methods.len());
            }
        }
        // 3. Classes, superclasses first.
        for entry in classes {
            self.build_class(&mut pkg, &imports, classes, entry.offset(), 0)?;
        }
        // 4. Constant pool.
        for (i, e) in cp_entries.iter().enumerate() {
            let r = self
                .resolve(&pkg, &imports, e)
                .map_err(|why| format!("constant pool entry {i}: {why}"))?;
            pkg.cp.push(r);
        }
        // 5. Handlers.
        if let Some(Component::Method(m)) = cap.component(Tag::Method) {
            for (block, methods) in m.iter_blocks().zip(&block_methods) {
                for h in block.handlers {
                    let start = u32::from(h.start_offset);
                    let end = start + u32::from(h.active_length);
                    let owner = methods.clone().find(|&mi| {
                        let c = &self.rt.methods[mi].code;
                        c.offsets.first().is_some_and(|f| *f <= start)
                            && c.offsets.last().is_some_and(|l| *l >= start)
                    });
                    let Some(mi) = owner else {
                        return Err(format!("exception handler at {start} is in no method"));
                    };
                    let code = &self.rt.methods[mi].code;
                    let idx = |o: u32| code.offsets.partition_point(|x| *x < o) as u32;
                    let target = code.index_at(u32::from(h.handler_offset)).ok_or_else(|| {
                        format!("handler target {} is no instruction", h.handler_offset)
                    })?;
                    let catch = match h.catch_type_index {
                        0 => None,
                        c => match pkg.cp.get(usize::from(c)) {
                            Some(Cp::Class(k)) => Some(*k),
                            _ => return Err(format!("catch type {c} is not a class reference")),
                        },
                    };
                    let handler = Handler {
                        start: idx(start),
                        end: idx(end),
                        target,
                        catch,
                    };
                    self.rt.methods[mi].handlers.push(handler);
                }
            }
        }
        // 6. Static fields.
        pkg.image = self.static_image()?;
        // 7. Applets.
        if let Some(Component::Applet(a)) = cap.component(Tag::Applet) {
            for e in &a.applets {
                let loc = MethodLocation {
                    block_index: if self.cap.format.extended {
                        Some(e.install_method_block)
                    } else {
                        None
                    },
                    offset: u16::try_from(e.install_method_offset)
                        .map_err(|_| "install method offset too large".to_string())?,
                };
                let m = *pkg.methods_by_location.get(&loc).ok_or_else(|| {
                    format!("applet {}: no install method at {}", e.aid, loc.offset)
                })?;
                pkg.applets.push((e.aid.as_bytes().to_vec(), m));
            }
        }
        self.rt.packages.push(pkg);
        Ok(pkg_index)
    }

    fn import(&mut self, aid: &[u8]) -> Result<Import, LinkError> {
        let hexaid = hex::encode_upper(aid);
        if api::table(self.rt.api)
            .packages
            .iter()
            .any(|p| p.aid.eq_ignore_ascii_case(&hexaid))
        {
            return Ok(Import::Api(aid.to_vec()));
        }
        if let Some(i) = self.rt.package_index(aid) {
            return Ok(Import::Package(i));
        }
        if self.depth > 32 {
            return Err("imports nest too deeply".into());
        }
        let cap = (self.loaded)(aid)
            .ok_or_else(|| format!("imported package {hexaid} is not on the card"))?;
        let header = cap.header().ok_or("no Header component")?;
        let mut sub = Linker {
            rt: self.rt,
            heap: self.heap,
            cap: &cap,
            aid: aid.to_vec(),
            loaded: self.loaded,
            depth: self.depth + 1,
        };
        let i = sub.run(header.flags & ACC_INT != 0)?;
        Ok(Import::Package(i))
    }

    fn class_ref(
        &mut self,
        pkg: &RtPackage,
        imports: &[Import],
        r: ClassRef,
    ) -> Result<u32, LinkError> {
        match r {
            ClassRef::Internal(off) => pkg
                .classes_by_offset
                .get(&off)
                .copied()
                .ok_or_else(|| format!("no class at offset {off}")),
            ClassRef::External {
                package_token,
                class_token,
            } => match imports.get(usize::from(package_token)) {
                Some(Import::Api(aid)) => self.rt.api_class(self.heap, aid, class_token),
                Some(Import::Package(p)) => {
                    let p = &self.rt.packages[*p as usize];
                    let off = p
                        .export
                        .as_ref()
                        .and_then(|e| e.classes.get(usize::from(class_token)))
                        .map(|c| c.class_offset)
                        .ok_or_else(|| {
                            format!(
                                "package {} exports no class token {class_token}",
                                hex::encode_upper(&p.aid)
                            )
                        })?;
                    p.classes_by_offset
                        .get(&off)
                        .copied()
                        .ok_or_else(|| format!("exported class offset {off} is no class"))
                }
                None => Err(format!("no imported package token {package_token}")),
            },
        }
    }

    fn build_class(
        &mut self,
        pkg: &mut RtPackage,
        imports: &[Import],
        classes: &[ClassEntry],
        offset: u16,
        depth: usize,
    ) -> Result<u32, LinkError> {
        let idx = *pkg
            .classes_by_offset
            .get(&offset)
            .ok_or_else(|| format!("no class at offset {offset}"))?;
        if self.rt.class(idx).is_some() {
            return Ok(idx);
        }
        if depth > 64 {
            return Err("class hierarchy too deep or cyclic".into());
        }
        let entry = classes
            .iter()
            .find(|e| e.offset() == offset)
            .ok_or_else(|| format!("no class at {offset}"))?;
        let loc = |pkg: &RtPackage, l: &MethodLocation| -> Result<Target, LinkError> {
            if !l.is_defined() {
                return Ok(Target::None);
            }
            pkg.methods_by_location
                .get(l)
                .map(|m| Target::Code(*m))
                .ok_or_else(|| format!("no method at {}", l.offset))
        };
        let class = match entry {
            ClassEntry::Interface(i) => {
                let mut supers = Vec::new();
                for s in &i.superinterfaces {
                    if let ClassRef::Internal(o) = s {
                        self.build_class(pkg, imports, classes, *o, depth + 1)?;
                    }
                    supers.push((self.class_ref(pkg, imports, *s)?, Vec::new()));
                }
                RtClass {
                    name: format!("{}@{offset}", hex::encode_upper(&self.aid)),
                    interface: true,
                    interfaces: supers,
                    package_index: Some(self.rt.packages.len() as u32),
                    ..RtClass::default()
                }
            }
            ClassEntry::Class(c) => {
                let super_class = match c.super_class_ref {
                    Some(ClassRef::Internal(o)) => {
                        Some(self.build_class(pkg, imports, classes, o, depth + 1)?)
                    }
                    Some(r) => Some(self.class_ref(pkg, imports, r)?),
                    None => None,
                };
                let sup = super_class
                    .and_then(|s| self.rt.class(s))
                    .cloned()
                    .unwrap_or_default();
                let same_package = sup.package_index == Some(self.rt.packages.len() as u32);
                let mut public = sup.public.clone();
                for (i, l) in c.public_virtual_method_table.iter().enumerate() {
                    let t = usize::from(c.public_method_table_base) + i;
                    if public.len() <= t {
                        public.resize(t + 1, Target::None);
                    }
                    let target = loc(pkg, l)?;
                    if target != Target::None {
                        public[t] = target;
                    }
                }
                let mut package = if same_package {
                    sup.package.clone()
                } else {
                    Vec::new()
                };
                for (i, l) in c.package_virtual_method_table.iter().enumerate() {
                    let t = usize::from(c.package_method_table_base) + i;
                    if package.len() <= t {
                        package.resize(t + 1, Target::None);
                    }
                    let target = loc(pkg, l)?;
                    if target != Target::None {
                        package[t] = target;
                    }
                }
                let mut interfaces = Vec::new();
                for ii in &c.interfaces {
                    if let ClassRef::Internal(o) = ii.interface {
                        self.build_class(pkg, imports, classes, o, depth + 1)?;
                    }
                    interfaces.push((
                        self.class_ref(pkg, imports, ii.interface)?,
                        ii.index.clone(),
                    ));
                }
                let words = sup
                    .words
                    .checked_add(u16::from(c.declared_instance_size))
                    .ok_or("instance too large")?;
                let mut refs = sup.refs.clone();
                if c.first_reference_token != 0xFF {
                    let first = sup.words + u16::from(c.first_reference_token);
                    for k in 0..u16::from(c.reference_count) {
                        if first + k >= words {
                            return Err("reference fields beyond the instance".into());
                        }
                        refs.push(first + k);
                    }
                }
                RtClass {
                    name: format!("{}@{offset}", hex::encode_upper(&self.aid)),
                    super_class,
                    interface: false,
                    words,
                    public,
                    package,
                    interfaces,
                    package_index: Some(self.rt.packages.len() as u32),
                    refs,
                }
            }
        };
        self.rt.put_class(idx, class);
        Ok(idx)
    }

    /// Argument words of a virtual method of `class` with `token`.
    fn virtual_nargs(&self, class: u32, token: u8) -> Result<u8, LinkError> {
        let c = self.rt.class(class).ok_or("unresolved class")?;
        let table = if token & 0x80 != 0 {
            &c.package
        } else {
            &c.public
        };
        match table.get(usize::from(token & 0x7F)) {
            Some(Target::Code(m)) => Ok(self.rt.methods[*m as usize].nargs),
            Some(Target::Native(_) | Target::Missing(_) | Target::Abstract) => {
                self.api_nargs(c, token)
            }
            _ => Err(format!(
                "class {} has no virtual method token {token}",
                c.name
            )),
        }
    }

    /// Argument words of an API virtual method, from its descriptor, found
    /// in the class or its API superclasses.
    fn api_nargs(&self, c: &RtClass, token: u8) -> Result<u8, LinkError> {
        let mut cur = Some(c);
        while let Some(k) = cur {
            if let Some(a) = api_class_named(self.rt.api, &k.name) {
                if let Some(m) = a.virtual_method(token) {
                    return natives::param_words(&m.descriptor)
                        .map(|w| w + 1)
                        .ok_or_else(|| format!("bad descriptor {}", m.descriptor));
                }
            }
            cur = k.super_class.and_then(|s| self.rt.class(s));
        }
        Err(format!("no API virtual method token {token} in {}", c.name))
    }

    fn resolve(
        &mut self,
        pkg: &RtPackage,
        imports: &[Import],
        e: &CpEntry,
    ) -> Result<Cp, LinkError> {
        Ok(match e {
            CpEntry::ClassRef(r) => Cp::Class(self.class_ref(pkg, imports, *r)?),
            CpEntry::InstanceFieldRef { class, token } => {
                let c = self.class_ref(pkg, imports, *class)?;
                let k = self.rt.class(c).ok_or("unresolved class")?;
                let sup_words = k
                    .super_class
                    .and_then(|s| self.rt.class(s))
                    .map_or(0, |s| s.words);
                let slot = sup_words + u16::from(*token);
                if slot >= k.words {
                    return Err(format!(
                        "field token {token} beyond the {} words of {}",
                        k.words, k.name
                    ));
                }
                Cp::Field(slot)
            }
            CpEntry::VirtualMethodRef { class, token } => {
                let c = self.class_ref(pkg, imports, *class)?;
                Cp::Virtual {
                    token: *token,
                    nargs: self.virtual_nargs(c, *token)?,
                }
            }
            CpEntry::SuperMethodRef { class, token } => {
                let c = self.class_ref(pkg, imports, *class)?;
                let sup = self
                    .rt
                    .class(c)
                    .and_then(|k| k.super_class)
                    .ok_or("super call in a class without a superclass")?;
                let k = self.rt.class(sup).ok_or("unresolved class")?;
                let table = if token & 0x80 != 0 {
                    &k.package
                } else {
                    &k.public
                };
                let target = table
                    .get(usize::from(token & 0x7F))
                    .copied()
                    .unwrap_or(Target::None);
                Cp::Direct {
                    target,
                    nargs: self.virtual_nargs(sup, *token)?,
                }
            }
            CpEntry::StaticFieldRef(r) => self.static_field(pkg, imports, *r)?,
            CpEntry::StaticMethodRef(r) => self.static_method(pkg, imports, *r)?,
        })
    }

    fn static_field(
        &mut self,
        pkg: &RtPackage,
        imports: &[Import],
        r: StaticRef,
    ) -> Result<Cp, LinkError> {
        let (image, offset, refs) = match r {
            StaticRef::Internal { offset, .. } => (None, offset, self.reference_count(self.cap)),
            StaticRef::External {
                package_token,
                class_token,
                token,
            } => match imports.get(usize::from(package_token)) {
                Some(Import::Api(aid)) => {
                    let table = api::table(self.rt.api);
                    let hexaid = hex::encode_upper(aid);
                    let f = table
                        .packages
                        .iter()
                        .find(|p| p.aid.eq_ignore_ascii_case(&hexaid))
                        .and_then(|p| p.class_by_token(class_token))
                        .and_then(|c| c.static_field(token))
                        .ok_or_else(|| format!("no API static field {class_token}.{token}"))?;
                    let v = f
                        .value
                        .ok_or_else(|| format!("API field {} has no value", f.name))?;
                    return Ok(Cp::Constant(v as i32));
                }
                Some(Import::Package(p)) => {
                    let p = &self.rt.packages[*p as usize];
                    let off = p
                        .export
                        .as_ref()
                        .and_then(|e| e.classes.get(usize::from(class_token)))
                        .and_then(|c| c.static_field_offsets.get(usize::from(token)))
                        .copied()
                        .ok_or("no such exported static field")?;
                    let refs = self
                        .heap
                        .statics
                        .get(p.image as usize)
                        .map_or(0, |i| i.refs.len());
                    (Some(p.image), off, refs)
                }
                None => return Err(format!("no imported package token {package_token}")),
            },
        };
        let _ = pkg;
        // Internal images get their index once built: the image of this
        // package is always at the index `static_image` returns, which is
        // found (or appended) by AID; resolve it now.
        let image = match image {
            Some(i) => i,
            None => self.image_index(),
        };
        if usize::from(offset) < 2 * refs {
            Ok(Cp::StaticRef {
                image,
                slot: offset / 2,
            })
        } else {
            Ok(Cp::Static { image, offset })
        }
    }

    fn reference_count(&self, cap: &Cap) -> usize {
        match cap.component(Tag::StaticField) {
            Some(Component::StaticField(s)) => usize::from(s.reference_count),
            _ => 0,
        }
    }

    /// Index of this package's static image (created empty if new; filled
    /// by [`Self::static_image`]).
    fn image_index(&mut self) -> u32 {
        match self.heap.statics.iter().position(|s| s.package == self.aid) {
            Some(i) => i as u32,
            None => {
                self.heap.statics.push(StaticImage {
                    package: self.aid.clone(),
                    refs: Vec::new(),
                    bytes: Vec::new(),
                    initialised: false,
                });
                self.heap.dirty = true;
                (self.heap.statics.len() - 1) as u32
            }
        }
    }

    fn static_method(
        &mut self,
        pkg: &RtPackage,
        imports: &[Import],
        r: StaticRef,
    ) -> Result<Cp, LinkError> {
        match r {
            StaticRef::Internal { block, offset } => {
                let loc = MethodLocation {
                    block_index: self.cap.format.extended.then_some(block),
                    offset,
                };
                let m = *pkg
                    .methods_by_location
                    .get(&loc)
                    .ok_or_else(|| format!("no method at {offset}"))?;
                Ok(Cp::Direct {
                    target: Target::Code(m),
                    nargs: self.rt.methods[m as usize].nargs,
                })
            }
            StaticRef::External {
                package_token,
                class_token,
                token,
            } => match imports.get(usize::from(package_token)) {
                Some(Import::Api(aid)) => {
                    let table = api::table(self.rt.api);
                    let hexaid = hex::encode_upper(aid);
                    let c = table
                        .packages
                        .iter()
                        .find(|p| p.aid.eq_ignore_ascii_case(&hexaid))
                        .and_then(|p| p.class_by_token(class_token))
                        .ok_or_else(|| format!("no API class {class_token} in {hexaid}"))?;
                    let m = c
                        .static_method(token)
                        .ok_or_else(|| format!("no API static method {}.{token}", c.name))?;
                    let words = natives::param_words(&m.descriptor)
                        .ok_or_else(|| format!("bad descriptor {}", m.descriptor))?;
                    let nargs = words + u8::from(m.name == "<init>");
                    let target = self.rt.api_target(c, &m.name, &m.descriptor, m.flags);
                    Ok(Cp::Direct { target, nargs })
                }
                Some(Import::Package(p)) => {
                    let p = &self.rt.packages[*p as usize];
                    let e = p
                        .export
                        .as_ref()
                        .and_then(|e| e.classes.get(usize::from(class_token)))
                        .ok_or("no such exported class")?;
                    let off = *e
                        .static_method_offsets
                        .get(usize::from(token))
                        .ok_or("no such exported static method")?;
                    let loc = MethodLocation {
                        block_index: e.static_method_blocks.get(usize::from(token)).copied(),
                        offset: off,
                    };
                    let m = *p
                        .methods_by_location
                        .get(&loc)
                        .ok_or_else(|| format!("exported method offset {off} is no method"))?;
                    Ok(Cp::Direct {
                        target: Target::Code(m),
                        nargs: self.rt.methods[m as usize].nargs,
                    })
                }
                None => Err(format!("no imported package token {package_token}")),
            },
        }
    }

    /// The package's static field image: created and initialised from the
    /// StaticField component the first time, kept in the heap afterwards.
    fn static_image(&mut self) -> Result<u32, LinkError> {
        let idx = self.image_index();
        if self.heap.statics[idx as usize].initialised {
            return Ok(idx);
        }
        let Some(Component::StaticField(sf)) = self.cap.component(Tag::StaticField) else {
            self.heap.statics[idx as usize].initialised = true;
            return Ok(idx);
        };
        let size = usize::from(sf.image_size);
        let refs = usize::from(sf.reference_count);
        let defaults = usize::from(sf.default_value_count);
        if 2 * refs + defaults + sf.non_default_values.len() > size || sf.array_init.len() > refs {
            return Err("the StaticField component's segments exceed its image".into());
        }
        let mut bytes = vec![0u8; size];
        bytes[2 * refs + defaults..2 * refs + defaults + sf.non_default_values.len()]
            .copy_from_slice(&sf.non_default_values);
        let mut slots = vec![0u32; refs];
        let context = self.heap.context_index(&self.aid);
        for (i, init) in sf.array_init.iter().enumerate() {
            let v = &init.values;
            let data = match init.type_ {
                2 => ArrayData::Boolean(v.clone()),
                3 => ArrayData::Byte(v.clone()),
                4 => ArrayData::Short(
                    v.chunks_exact(2)
                        .map(|c| i16::from_be_bytes([c[0], c[1]]))
                        .collect(),
                ),
                5 => ArrayData::Int(
                    v.chunks_exact(4)
                        .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                ),
                t => return Err(format!("array initialiser of type {t}")),
            };
            let obj = Obj::Array {
                data,
                transient: NOT_TRANSIENT,
                owner: context,
                global: false,
            };
            slots[i] = self
                .heap
                .alloc(obj, (usize::MAX, usize::MAX))
                .map_err(|_| "no memory for static arrays".to_string())?;
        }
        let img = &mut self.heap.statics[idx as usize];
        img.bytes = bytes;
        img.refs = slots;
        img.initialised = true;
        self.heap.dirty = true;
        Ok(idx)
    }
}
