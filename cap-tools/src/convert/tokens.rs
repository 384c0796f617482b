//! Token assignment (JCVM 4.3.7): the numbers other packages and the card's
//! linker use instead of names.
//!
//! - Classes and interfaces: public ones only; shareable interfaces first
//!   (an applet package's Export component lists exactly those, indexed by
//!   token), then other interfaces, then classes, in Class component order.
//! - Static fields and static methods (constructors included): externally
//!   visible ones (public or protected, whatever the class's visibility), in
//!   declaration order. Compile-time constants get none.
//! - Instance fields: every field; public and protected ones first
//!   (primitives, then references), then package and private ones
//!   (references, then primitives); an int takes two tokens. References end
//!   up contiguous, as `first_reference_token`/`reference_count` require.
//! - Virtual methods: an override keeps the token of the method it
//!   overrides (an Applet's `process` keeps Applet's token 7); new public or
//!   protected methods are numbered after the superclass's highest public
//!   token; package-visible ones get private tokens (high bit set), numbered
//!   after those of a superclass in the same package, from 0 otherwise.
//! - Interface methods: the methods an interface declares, from 0.

use super::error::{Error, Place, Result};
use super::link::{ExtClass, Linker, ACC_SHAREABLE};
use super::model::{acc, is_constant, is_reference, uses_int, ClassKey, Package};

/// Flag of private (package-visible) virtual method tokens.
pub const PRIVATE_TOKEN: u8 = 0x80;

/// Who implements a virtual method slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// A method of a class of this package: (class index, method index).
    Internal { class: usize, method: usize },
    /// A method of a class of an imported package.
    External,
}

/// One virtual method a class has, declared or inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VEntry {
    pub name: String,
    pub descriptor: String,
    /// With [`PRIVATE_TOKEN`] set for package-visible methods.
    pub token: u8,
    pub imp: Impl,
}

impl VEntry {
    pub fn is_public(&self) -> bool {
        self.token & PRIVATE_TOKEN == 0
    }
}

/// The token of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldToken {
    Instance(u8),
    /// A static field; `None` when it is not externally visible.
    Static(Option<u8>),
    /// A compile-time constant: no token, no storage.
    Constant,
}

/// The token of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodToken {
    /// A static method or constructor; `None` when not externally visible.
    Static(Option<u8>),
    /// A virtual method (private token when the high bit is set).
    Virtual(u8),
    /// A private instance method: called statically, no token.
    Private,
    /// An interface method.
    Interface(u8),
    /// `<clinit>`, folded into the static field image.
    Clinit,
}

impl MethodToken {
    /// The token byte a descriptor shows (0xFF: none).
    pub fn byte(&self) -> u8 {
        match *self {
            MethodToken::Static(Some(t)) | MethodToken::Virtual(t) | MethodToken::Interface(t) => t,
            _ => 0xFF,
        }
    }
}

/// An interface a class implements and, per interface method token, the
/// class's virtual method token implementing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implemented {
    /// Internal name of the interface.
    pub interface: String,
    pub index: Vec<u8>,
}

/// The tokens and tables of one class or interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassTokens {
    pub token: Option<u8>,
    /// Parallel to the class file's fields.
    pub fields: Vec<FieldToken>,
    /// Parallel to the class file's methods.
    pub methods: Vec<MethodToken>,
    /// 16-bit cells of the instance fields this class declares.
    pub instance_size: u8,
    pub first_reference_token: u8,
    pub reference_count: u8,
    /// Every virtual method of the class, inherited ones included.
    pub vtable: Vec<VEntry>,
    /// Number of public virtual method tokens (highest + 1).
    pub public_count: u8,
    /// How many of the superclass's public virtual method tokens a subclass
    /// inherits under the CAP 2.2 numbering: all of an internal superclass's,
    /// an imported one's `CAP22_inheritable_public_method_token_count`
    /// (export format 2.3) or, before 2.3, all of them. CAP 2.3's token
    /// mapping keeps these tokens and marks the others 0xFF.
    pub cap22_inherited: u8,
    /// Number of private virtual method tokens (highest + 1, high bit clear).
    pub package_count: u8,
    /// All interfaces implemented (superinterfaces first); classes only.
    pub interfaces: Vec<Implemented>,
    /// Is, extends or implements javacard.framework.Shareable.
    pub shareable: bool,
}

impl ClassTokens {
    /// The entry holding a token.
    pub fn slot(&self, token: u8) -> Option<&VEntry> {
        self.vtable.iter().find(|e| e.token == token)
    }

    /// The virtual method with a name and descriptor.
    pub fn virtual_method(&self, name: &str, descriptor: &str) -> Option<&VEntry> {
        self.vtable
            .iter()
            .find(|e| e.name == name && e.descriptor == descriptor)
    }
}

const SHAREABLE: &str = "javacard/framework/Shareable";

/// Assigns every token of the package.
pub fn assign(pkg: &Package<'_>, linker: &Linker) -> Result<Vec<ClassTokens>> {
    let mut out: Vec<ClassTokens> = Vec::with_capacity(pkg.classes.len());
    for (i, class) in pkg.classes.iter().enumerate() {
        let mut t = ClassTokens {
            shareable: is_shareable(pkg, linker, &out, i)?,
            ..ClassTokens::default()
        };
        members(pkg, i, &mut t)?;
        if class.is_interface() {
            let mut n = 0u8;
            for (k, m) in class.file.methods.iter().enumerate() {
                if m.name == "<clinit>" {
                    t.methods[k] = MethodToken::Clinit;
                } else {
                    t.methods[k] = MethodToken::Interface(n);
                    n = next(n, 127, &class.place(), "interface methods")?;
                }
            }
        } else {
            virtuals(pkg, linker, &out, i, &mut t)?;
            t.interfaces = implemented(pkg, linker, &out, i, &t)?;
        }
        out.push(t);
    }
    class_tokens(pkg, &mut out)?;
    Ok(out)
}

/// Increments a token counter, refusing to pass `max`.
fn next(n: u8, max: u8, place: &Place, what: &str) -> Result<u8> {
    if n >= max {
        return Err(Error::at(
            place.clone(),
            format!(
                "has more {what} than the {} tokens Java Card allows",
                u16::from(max) + 1
            ),
        ));
    }
    Ok(n + 1)
}

/// Public class tokens: shareable interfaces, other interfaces, classes;
/// numbered within each package (an extended CAP file's packages each
/// have their own class tokens, JCVM 3.1 §4.3.7.2).
fn class_tokens(pkg: &Package<'_>, out: &mut [ClassTokens]) -> Result<()> {
    for p in 0..pkg.packages.len() {
        let public: Vec<usize> = (0..pkg.classes.len())
            .filter(|&i| pkg.class_package[i] == p && pkg.classes[i].is_public())
            .collect();
        let mut order: Vec<usize> = Vec::new();
        order.extend(
            public
                .iter()
                .filter(|&&i| pkg.classes[i].is_interface() && out[i].shareable),
        );
        order.extend(
            public
                .iter()
                .filter(|&&i| pkg.classes[i].is_interface() && !out[i].shareable),
        );
        order.extend(public.iter().filter(|&&i| !pkg.classes[i].is_interface()));
        if order.len() > 255 {
            return Err(Error::general(format!(
                "package {}: more than 255 public classes and interfaces",
                pkg.packages[p].replace('/', ".")
            )));
        }
        for (token, i) in order.into_iter().enumerate() {
            out[i].token = Some(token as u8);
        }
    }
    Ok(())
}

/// Shareable: the interface extends, or the class implements, Shareable
/// (directly or through a supertype).
fn is_shareable(
    pkg: &Package<'_>,
    linker: &Linker,
    done: &[ClassTokens],
    i: usize,
) -> Result<bool> {
    let class = &pkg.classes[i];
    let supers = class.file.super_class.iter().chain(&class.file.interfaces);
    for s in supers {
        if s == SHAREABLE {
            return Ok(true);
        }
        match pkg.require(linker, s, &class.place())? {
            ClassKey::Internal(j) if j < done.len() && done[j].shareable => return Ok(true),
            ClassKey::Internal(_) => {}
            ClassKey::External(e) => {
                if e.flags & ACC_SHAREABLE != 0 || linker.is_subtype(e, SHAREABLE) {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// Field tokens, static method tokens and the instance layout.
fn members(pkg: &Package<'_>, i: usize, t: &mut ClassTokens) -> Result<()> {
    let class = &pkg.classes[i];
    // Externally visible (JCVM 4.3.1): public or protected members, in any
    // class — a package-visible class's public static methods are numbered
    // too (its Descriptor component shows them; 0xFF is only for private
    // and package-visible members, JCVM 6.13).
    let visible = |flags: u16| flags & (acc::PUBLIC | acc::PROTECTED) != 0;
    t.fields = vec![FieldToken::Constant; class.file.fields.len()];
    let mut static_token = 0u8;
    let mut instance: [Vec<usize>; 4] = Default::default();
    for (k, f) in class.file.fields.iter().enumerate() {
        if is_constant(f) {
            continue;
        }
        if f.access_flags & acc::STATIC != 0 {
            t.fields[k] = FieldToken::Static(if visible(f.access_flags) {
                let tok = static_token;
                static_token = next(static_token, 255, &class.place(), "static fields")?;
                Some(tok)
            } else {
                None
            });
            continue;
        }
        let public = f.access_flags & (acc::PUBLIC | acc::PROTECTED) != 0;
        let group = match (public, is_reference(&f.descriptor)) {
            (true, false) => 0,
            (true, true) => 1,
            (false, true) => 2,
            (false, false) => 3,
        };
        instance[group].push(k);
    }
    let mut token = 0u16;
    for (group, fields) in instance.iter().enumerate() {
        for &k in fields {
            let f = &class.file.fields[k];
            if token > 255 {
                return Err(Error::at(
                    class.place(),
                    "has more instance fields than 256 tokens allow",
                ));
            }
            t.fields[k] = FieldToken::Instance(token as u8);
            if group == 1 || group == 2 {
                if t.reference_count == 0 {
                    t.first_reference_token = token as u8;
                }
                t.reference_count = t.reference_count.checked_add(1).ok_or_else(|| {
                    Error::at(class.place(), "has more than 255 reference fields")
                })?;
            }
            token += if uses_int(&f.descriptor) && !f.descriptor.starts_with('[') {
                2
            } else {
                1
            };
        }
    }
    if t.reference_count == 0 {
        t.first_reference_token = 0xFF;
    }
    t.instance_size = u8::try_from(token)
        .map_err(|_| Error::at(class.place(), "instance fields need more than 255 cells"))?;
    let mut static_method = 0u8;
    t.methods = vec![MethodToken::Private; class.file.methods.len()];
    for (k, m) in class.file.methods.iter().enumerate() {
        t.methods[k] = if m.name == "<clinit>" {
            MethodToken::Clinit
        } else if m.access_flags & acc::STATIC != 0 || m.name == "<init>" {
            MethodToken::Static(if visible(m.access_flags) {
                let tok = static_method;
                static_method = next(static_method, 255, &class.place(), "static methods")?;
                Some(tok)
            } else {
                None
            })
        } else {
            // Virtual tokens are set by `virtuals`; private methods stay Private.
            MethodToken::Private
        };
    }
    Ok(())
}

/// The virtual method table: inherited entries, overrides, new methods.
fn virtuals(
    pkg: &Package<'_>,
    linker: &Linker,
    done: &[ClassTokens],
    i: usize,
    t: &mut ClassTokens,
) -> Result<()> {
    let class = &pkg.classes[i];
    let place = class.place();
    let super_name = class.file.super_class.as_deref().ok_or_else(|| {
        Error::at(
            place.clone(),
            "has no superclass (only java.lang.Object may)",
        )
    })?;
    match pkg.require(linker, super_name, &place)? {
        ClassKey::Internal(j) => {
            let s = done.get(j).ok_or_else(|| {
                Error::at(
                    place.clone(),
                    "superclass is not placed before its subclass",
                )
            })?;
            if pkg.classes[j].is_interface() {
                return Err(Error::at(place.clone(), "extends an interface"));
            }
            if pkg.class_package[j] != pkg.class_package[i] && s.package_count > 0 {
                return Err(Error::at(
                    place.clone(),
                    format!(
                        "extends {}, of another package of this CAP file, which has \
                         package-visible virtual methods: jct does not lay out such a \
                         class (make those methods public or protected, or the classes \
                         one package)",
                        pkg.classes[j].name.replace('/', ".")
                    ),
                ));
            }
            t.vtable = s.vtable.clone();
            t.public_count = s.public_count;
            t.package_count = s.package_count;
            t.cap22_inherited = s.public_count;
        }
        ClassKey::External(e) => {
            if e.is_interface() {
                return Err(Error::at(place.clone(), "extends an interface"));
            }
            inherit_external(e, t)?;
            t.cap22_inherited = e
                .cap22_inheritable
                .map_or(t.public_count, |n| n.min(t.public_count));
        }
    }
    for (k, m) in class.file.methods.iter().enumerate() {
        if m.access_flags & (acc::STATIC | acc::PRIVATE) != 0 || m.name.starts_with('<') {
            continue;
        }
        let mplace = || Place::method(class.name, &m.name, &m.descriptor);
        let here = Impl::Internal {
            class: i,
            method: k,
        };
        let public = m.access_flags & (acc::PUBLIC | acc::PROTECTED) != 0;
        let existing = t
            .vtable
            .iter()
            .position(|e| e.name == m.name && e.descriptor == m.descriptor);
        let token = match existing {
            Some(p) if t.vtable[p].is_public() == public => {
                t.vtable[p].imp = here;
                t.vtable[p].token
            }
            Some(p) if public => {
                return Err(Error::at(
                    mplace(),
                    format!(
                        "makes the package-visible method {} public; declare it public in the superclass too",
                        t.vtable[p].name
                    ),
                ))
            }
            Some(_) => {
                return Err(Error::at(mplace(), "reduces the visibility of an inherited method"))
            }
            None if public => {
                let tok = t.public_count;
                t.public_count = next(t.public_count, 127, &mplace(), "public virtual methods")?;
                t.vtable.push(VEntry {
                    name: m.name.clone(),
                    descriptor: m.descriptor.clone(),
                    token: tok,
                    imp: here,
                });
                tok
            }
            None => {
                let tok = t.package_count | PRIVATE_TOKEN;
                t.package_count = next(t.package_count, 127, &mplace(), "package-visible virtual methods")?;
                t.vtable.push(VEntry {
                    name: m.name.clone(),
                    descriptor: m.descriptor.clone(),
                    token: tok,
                    imp: here,
                });
                tok
            }
        };
        t.methods[k] = MethodToken::Virtual(token);
    }
    Ok(())
}

/// The public virtual methods of an imported superclass.
fn inherit_external(e: &ExtClass, t: &mut ClassTokens) -> Result<()> {
    for m in e.virtual_methods() {
        if m.token >= PRIVATE_TOKEN {
            continue;
        }
        t.vtable.push(VEntry {
            name: m.name.clone(),
            descriptor: m.descriptor.clone(),
            token: m.token,
            imp: Impl::External,
        });
        t.public_count = t.public_count.max(m.token + 1);
    }
    Ok(())
}

/// The interfaces a class implements, each with its method token map.
fn implemented(
    pkg: &Package<'_>,
    linker: &Linker,
    done: &[ClassTokens],
    i: usize,
    t: &ClassTokens,
) -> Result<Vec<Implemented>> {
    let class = &pkg.classes[i];
    let place = class.place();
    // All interfaces: each declared one after its superinterfaces.
    let mut names: Vec<String> = Vec::new();
    for direct in &class.file.interfaces {
        add_interface(pkg, linker, direct, &place, &mut names, 0)?;
    }
    if names.len() > 15 {
        return Err(Error::at(
            place,
            "implements more than 15 interfaces (with their superinterfaces)",
        ));
    }
    let mut out = Vec::new();
    for name in names {
        // (interface method token, name, descriptor) of the methods it declares.
        let methods: Vec<(u8, String, String)> = match pkg.require(linker, &name, &place)? {
            ClassKey::Internal(j) => {
                let itf = &pkg.classes[j];
                let toks = &done[j];
                itf.file
                    .methods
                    .iter()
                    .zip(&toks.methods)
                    .filter_map(|(m, tok)| match tok {
                        MethodToken::Interface(n) => {
                            Some((*n, m.name.clone(), m.descriptor.clone()))
                        }
                        _ => None,
                    })
                    .collect()
            }
            ClassKey::External(e) => e
                .virtual_methods()
                .map(|m| (m.token, m.name.clone(), m.descriptor.clone()))
                .collect(),
        };
        let count = methods
            .iter()
            .map(|m| usize::from(m.0) + 1)
            .max()
            .unwrap_or(0);
        let mut index = vec![0u8; count];
        for (tok, mname, mdesc) in methods {
            let entry = t.virtual_method(&mname, &mdesc).filter(|e| e.is_public()).ok_or_else(|| {
                Error::at(
                    place.clone(),
                    format!(
                        "does not implement {}.{mname}{mdesc}; an abstract class must declare the interface's methods (abstract if need be)",
                        name.replace('/', ".")
                    ),
                )
            })?;
            index[usize::from(tok)] = entry.token;
        }
        out.push(Implemented {
            interface: name,
            index,
        });
    }
    Ok(out)
}

/// Adds an interface after its superinterfaces, once.
fn add_interface(
    pkg: &Package<'_>,
    linker: &Linker,
    name: &str,
    place: &Place,
    out: &mut Vec<String>,
    depth: usize,
) -> Result<()> {
    if out.iter().any(|n| n == name) {
        return Ok(());
    }
    if depth > 64 {
        return Err(Error::at(place.clone(), "has a cyclic interface hierarchy"));
    }
    match pkg.require(linker, name, place)? {
        ClassKey::Internal(j) => {
            let itf = &pkg.classes[j];
            if !itf.is_interface() {
                return Err(Error::at(
                    place.clone(),
                    format!("implements the class {name}"),
                ));
            }
            for s in &itf.file.interfaces {
                add_interface(pkg, linker, s, place, out, depth + 1)?;
            }
        }
        ClassKey::External(e) => {
            if !e.is_interface() {
                return Err(Error::at(
                    place.clone(),
                    format!("implements the class {name}"),
                ));
            }
            for s in &e.interfaces {
                if !out.iter().any(|n| n == s) {
                    out.push(s.clone());
                }
            }
        }
    }
    if !out.iter().any(|n| n == name) {
        out.push(name.to_string());
    }
    Ok(())
}
