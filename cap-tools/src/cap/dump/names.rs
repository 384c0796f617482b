//! [`Names`]: what the dump calls classes and methods.
//!
//! A CAP file holds almost no names. They come, best first, from the Debug
//! component (source names), the API export tables (for imported API
//! packages), and the Descriptor component (tokens, flags and signatures);
//! failing all of those a thing is named by where it is (`class@0x0012`,
//! `method@0x0034`). Every lookup tolerates damage: an offset or token that
//! points nowhere gives a `<bad ...>` text, never a panic.

use std::collections::{HashMap, HashSet};

use super::api_link::{self, Linked};
use super::refs::{from_class, Cls};
use crate::cap::components::debug::MethodDebugInfo;
use crate::cap::components::descriptor::{
    ClassDescriptor, MethodDescriptor, ACC_STATIC, METHOD_ACC_INIT,
};
use crate::cap::components::method::MethodLocation;
use crate::cap::{
    Cap, ClassComponent, Component, ConstantPool, Debug, Descriptor, ImportComponent,
    MethodComponent,
};

/// A name, and whether it already carries a type or signature (so that a
/// caller knows whether the Descriptor's type would add anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub text: String,
    pub typed: bool,
}

impl Named {
    pub fn typed(text: String) -> Named {
        Named { text, typed: true }
    }

    pub fn untyped(text: String) -> Named {
        Named { text, typed: false }
    }
}

/// The components names come from, with indexes built once per dump so that
/// naming each instruction's operand is a lookup, not a search.
pub struct Names<'a> {
    pub extended: bool,
    pub imports: Option<&'a ImportComponent>,
    pub classes: Option<&'a ClassComponent>,
    pub descriptor: Option<&'a Descriptor>,
    pub debug: Option<&'a Debug>,
    pub methods: Option<&'a MethodComponent>,
    pub cp: Option<&'a ConstantPool>,
    /// The API package of each import, by package token.
    pub(super) linked: Vec<Option<Linked>>,
    /// Debug names of classes by Class component offset.
    debug_classes: HashMap<u16, &'a str>,
    /// Debug methods by Method component offset, with their class name.
    debug_methods: HashMap<u16, (&'a str, &'a MethodDebugInfo)>,
    /// Descriptor methods by location, with their class.
    desc_methods: HashMap<MethodLocation, (&'a ClassDescriptor, &'a MethodDescriptor)>,
    /// Descriptor classes by Class component offset.
    pub(super) desc_classes: HashMap<u16, &'a ClassDescriptor>,
    /// Offsets of the Class component's entries.
    class_offsets: HashSet<u16>,
    /// Where methods start, when a Method component is present.
    method_starts: Option<HashSet<MethodLocation>>,
    /// The applets' install methods: the one method name a CAP always implies.
    install: HashSet<MethodLocation>,
    /// Every constant pool entry, resolved once.
    cp_names: Vec<String>,
}

impl<'a> Names<'a> {
    /// Indexes the components of `cap`.
    pub fn new(cap: &'a Cap) -> Names<'a> {
        let mut n = Names {
            extended: cap.format.extended,
            imports: None,
            classes: None,
            descriptor: None,
            debug: None,
            methods: None,
            cp: None,
            linked: Vec::new(),
            debug_classes: HashMap::new(),
            debug_methods: HashMap::new(),
            desc_methods: HashMap::new(),
            desc_classes: HashMap::new(),
            class_offsets: HashSet::new(),
            method_starts: None,
            install: HashSet::new(),
            cp_names: Vec::new(),
        };
        for c in &cap.components {
            match c {
                Component::Import(i) => n.imports = Some(i),
                Component::Class(c) => n.classes = Some(c),
                Component::Descriptor(d) => n.descriptor = Some(d),
                Component::Debug(d) => n.debug = Some(d),
                Component::Method(m) => n.methods = Some(m),
                Component::ConstantPool(p) => n.cp = Some(p),
                Component::Applet(a) => {
                    n.install = a
                        .applets
                        .iter()
                        .map(|a| MethodLocation {
                            block_index: n.extended.then_some(a.install_method_block),
                            offset: u16::try_from(a.install_method_offset).unwrap_or(u16::MAX),
                        })
                        .collect();
                }
                _ => {}
            }
        }
        n.index();
        let cp_names =
            n.cp.map(|cp| {
                cp.entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| n.entry_at(i, e).text)
                    .collect()
            })
            .unwrap_or_default();
        n.cp_names = cp_names;
        n
    }

    fn index(&mut self) {
        if let Some(i) = self.imports {
            self.linked = i.packages.iter().map(api_link::link).collect();
        }
        if let Some(c) = self.classes {
            self.class_offsets = c.entries.iter().map(|e| e.offset()).collect();
        }
        if let Some(m) = self.methods {
            let starts = m
                .iter_blocks()
                .flat_map(|b| {
                    b.methods.iter().filter_map(move |m| {
                        Some(MethodLocation {
                            block_index: b.index,
                            offset: u16::try_from(m.offset).ok()?,
                        })
                    })
                })
                .collect();
            self.method_starts = Some(starts);
        }
        if let Some(d) = self.descriptor {
            for c in &d.classes {
                if let Cls::Internal(o) = from_class(c.this_class_ref) {
                    self.desc_classes.entry(o).or_insert(c);
                }
                if c.is_interface() {
                    continue;
                }
                for m in &c.methods {
                    self.desc_methods.entry(m.location()).or_insert((c, m));
                }
            }
        }
        if let Some(d) = self.debug {
            for c in &d.classes {
                let Some(name) = d.string(c.name_index) else {
                    continue;
                };
                self.debug_classes.entry(c.location).or_insert(name);
                for m in &c.methods {
                    self.debug_methods.entry(m.location).or_insert((name, m));
                }
            }
        }
    }

    /// The resolved text of constant pool entry `index`.
    pub fn cp_entry(&self, index: u16) -> String {
        match self.cp_names.get(usize::from(index)) {
            Some(s) => s.clone(),
            None => format!("<bad cp index {index}>"),
        }
    }

    /// A class's name: `javacard/framework/APDU`, `com/example/App` (Debug),
    /// or `class@0x0012`.
    pub fn class(&self, c: Cls) -> String {
        match c {
            Cls::Internal(o) => self.internal_class(o),
            Cls::External { package, class } => self.external_class(package, class),
        }
    }

    fn internal_class(&self, offset: u16) -> String {
        if let Some(name) = self.debug_classes.get(&offset) {
            return (*name).to_string();
        }
        if self.classes.is_some() && !self.class_offsets.contains(&offset) {
            return format!("<bad class offset {offset:#06x}>");
        }
        format!("class@{offset:#06x}")
    }

    /// The name of an imported package: its API name, or its AID.
    pub fn package(&self, token: u8) -> String {
        if let Some(Some(l)) = self.linked.get(usize::from(token)) {
            return api_link::slashed(l.package);
        }
        match self.imports.and_then(|i| i.get(token)) {
            Some(p) => format!("package#{token}({})", p.aid),
            None => format!("<bad package token {token}>"),
        }
    }

    fn external_class(&self, package: u8, class: u8) -> String {
        match self.api_class(package, class) {
            Some((_, c)) => c.name.clone(),
            None => format!("{}.class#{class}", self.package(package)),
        }
    }

    /// The API class an imported class token stands for.
    pub(super) fn api_class(
        &self,
        package: u8,
        class: u8,
    ) -> Option<(Linked, &'static crate::api::ApiClass)> {
        let l = (*self.linked.get(usize::from(package))?)?;
        Some((l, l.package.class_by_token(class)?))
    }

    /// A method signature from the Descriptor's type table, classes named.
    pub fn signature(&self, type_offset: u16) -> Option<String> {
        let t = self.descriptor?.type_at(type_offset)?;
        Some(t.render_method_with(&|c| self.class(from_class(c))))
    }

    /// A field type from the Descriptor's type table, classes named.
    pub fn field_type(&self, type_offset: u16) -> Option<String> {
        let t = self.descriptor?.type_at(type_offset)?;
        Some(t.render_field_with(&|c| self.class(from_class(c))))
    }

    /// The Descriptor entry of the method at `at`, with its class.
    pub fn descriptor_of(
        &self,
        at: MethodLocation,
    ) -> Option<(&'a ClassDescriptor, &'a MethodDescriptor)> {
        self.desc_methods.get(&at).copied()
    }

    /// The Debug entry of the method at `at`, with its class name.
    pub fn debug_of(&self, at: MethodLocation) -> Option<(&'a str, &'a MethodDebugInfo)> {
        if at.block_index.is_some() {
            return None;
        }
        self.debug_methods.get(&at.offset).copied()
    }

    /// The method at a location: `Class.name(sig)` from Debug, else
    /// `Class.method@0x0034(sig)` (or `.<init>`) from the Descriptor, else
    /// `method@0x0034`, flagged when no method starts there.
    pub fn method_at(&self, at: MethodLocation) -> Named {
        if let Some((class, m)) = self.debug_of(at) {
            let d = self
                .debug
                .and_then(|d| Some((d.string(m.name_index)?, d.string(m.descriptor_index)?)));
            if let Some((name, desc)) = d {
                return Named::typed(format!("{class}.{name}{desc}"));
            }
        }
        let place = location_text(at);
        if let Some((class, m)) = self.descriptor_of(at) {
            let this = from_class(class.this_class_ref);
            let owner = self.class(this);
            let name = self
                .implied_name(this, m, at)
                .unwrap_or_else(|| format!("method{place}"));
            return match self.signature(m.type_offset) {
                Some(sig) => Named::typed(format!("{owner}.{name}{sig}")),
                None => Named::untyped(format!("{owner}.{name}")),
            };
        }
        match &self.method_starts {
            Some(starts) if !starts.contains(&at) => {
                Named::untyped(format!("<no method at {}>", &place[1..]))
            }
            _ => Named::untyped(format!("method{place}")),
        }
    }
}

impl Names<'_> {
    /// The name a method must have whatever the source called it: `<init>`
    /// for constructors, `install` for an applet's install method, and for a
    /// public virtual method, the name of the API method it overrides (an
    /// override keeps the overridden method's token). The signatures must
    /// agree too: an API table newer than the import may give a token to a
    /// method the older API did not have, which the package may have reused.
    fn implied_name(&self, class: Cls, m: &MethodDescriptor, at: MethodLocation) -> Option<String> {
        if m.access_flags & METHOD_ACC_INIT != 0 {
            return Some("<init>".into());
        }
        if m.access_flags & ACC_STATIC != 0 {
            return self.install.contains(&at).then(|| "install".into());
        }
        if m.token & 0x80 != 0 {
            return None;
        }
        let api = self.overridden(class, m.token)?;
        (self.signature(m.type_offset)? == api.descriptor).then(|| api.name.clone())
    }
}

/// `@0x0034`, or `@1:0x0034` for block 1 of an extended Method component.
pub fn location_text(at: MethodLocation) -> String {
    match at.block_index {
        None => format!("@{:#06x}", at.offset),
        Some(b) => format!("@{b}:{:#06x}", at.offset),
    }
}
