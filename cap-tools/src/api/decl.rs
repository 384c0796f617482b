//! The Java declarations behind an API table, shared by the source generator
//! (`javasrc`) and the class-file writer (`jar`).
//!
//! An export table is a linking view, not a declaration view: each class lists
//! every public method it has, inherited ones included (`equals` appears in
//! every class), its `supers` are all its ancestors from `java/lang/Object`
//! down (so the direct superclass is the *last* entry), its `interfaces` are all
//! superinterfaces, and its flags carry export-only bits (shareable, remote).
//! This module turns that into what javac needs to see: the direct superclass,
//! the methods a class itself declares, JVM access flags, member classes and
//! the checked exceptions a method must declare.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::descriptor::{self, JavaType, MethodType};
use super::{ApiClass, ApiField, ApiMethod, ApiTable};
use crate::error::{Error, Result};

/// JVM access flags the generated declarations use.
pub mod acc {
    pub const PUBLIC: u16 = 0x0001;
    pub const PRIVATE: u16 = 0x0002;
    pub const PROTECTED: u16 = 0x0004;
    pub const STATIC: u16 = 0x0008;
    pub const FINAL: u16 = 0x0010;
    pub const SUPER: u16 = 0x0020;
    pub const BRIDGE: u16 = 0x0040;
    pub const NATIVE: u16 = 0x0100;
    pub const INTERFACE: u16 = 0x0200;
    pub const ABSTRACT: u16 = 0x0400;
    pub const SYNTHETIC: u16 = 0x1000;
    pub const ANNOTATION: u16 = 0x2000;
}

/// The root of every class hierarchy.
pub const OBJECT: &str = "java/lang/Object";
const THROWABLE: &str = "java/lang/Throwable";
const RUNTIME_EXCEPTION: &str = "java/lang/RuntimeException";
const ERROR: &str = "java/lang/Error";
const ANNOTATION: &str = "java/lang/annotation/Annotation";
const NUMBER: &str = "java/lang/Number";
const BOOLEAN: &str = "java/lang/Boolean";

/// Export file class flags that are JVM flags too (the others, `ACC_SHAREABLE`
/// 0x0800 and `ACC_REMOTE` 0x1000, are Java Card linking facts).
const CLASS_FLAGS: u16 = acc::PUBLIC | acc::FINAL | acc::INTERFACE | acc::ABSTRACT;
const METHOD_FLAGS: u16 = acc::PUBLIC | acc::PROTECTED | acc::STATIC | acc::FINAL | acc::ABSTRACT;
const FIELD_FLAGS: u16 = acc::PUBLIC | acc::PROTECTED | acc::STATIC | acc::FINAL;

/// One class or interface as Java declares it.
#[derive(Debug, Clone)]
pub struct ClassDecl<'a> {
    pub class: &'a ApiClass,
    /// JVM access flags of the class (`ACC_SUPER` not included).
    pub access: u16,
    /// Direct superclass; `None` only for `java/lang/Object`. Interfaces have
    /// `java/lang/Object`, as in a class file.
    pub super_class: Option<&'a str>,
    pub interfaces: &'a [String],
    /// The enclosing class, for member classes (`MessageDigest$OneShot`).
    pub outer: Option<&'a str>,
    /// Member classes declared inside this one (internal names).
    pub members: Vec<&'a str>,
    pub fields: Vec<FieldDecl<'a>>,
    pub constructors: Vec<MethodDecl<'a>>,
    /// Methods the class declares itself (inherited ones left out).
    pub methods: Vec<MethodDecl<'a>>,
    /// Not in the API: a class javac needs to compile against it (see
    /// `compile_support`). An applet naming it compiles but cannot be
    /// converted, since no card exports it.
    pub compile_only: bool,
}

/// A field with JVM access flags, its type and its compile-time constant.
#[derive(Debug, Clone)]
pub struct FieldDecl<'a> {
    pub field: &'a ApiField,
    pub access: u16,
    pub ty: JavaType,
    /// The table's `value`, checked to fit the field's type.
    pub constant: Option<Constant>,
}

/// A compile-time constant as the class file stores it (`CONSTANT_Integer`
/// for boolean, byte, char, short and int; `CONSTANT_Long` for long), already
/// in range for the field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constant {
    Int(i32),
    Long(i64),
}

/// A method or constructor with JVM access flags, its types and its `throws`
/// clause.
#[derive(Debug, Clone)]
pub struct MethodDecl<'a> {
    pub method: &'a ApiMethod,
    pub access: u16,
    pub ty: MethodType,
    /// Checked exceptions (internal names) the method declares.
    pub throws: Vec<&'a str>,
    /// A bridge javac made for a covariant override (see `mark_bridges`).
    pub bridge: bool,
}

impl ClassDecl<'_> {
    /// The internal name, e.g. `javacard/framework/Applet`.
    pub fn name(&self) -> &str {
        &self.class.name
    }

    pub fn is_interface(&self) -> bool {
        self.access & acc::INTERFACE != 0
    }

    /// The name inside its package or enclosing class (`OneShot` for a member).
    pub fn simple_name(&self) -> &str {
        let name = self.class.simple_name();
        match self.outer {
            Some(_) => name.rsplit('$').next().unwrap_or(name),
            None => name,
        }
    }
}

/// Every class of a table as Java declares it, in table order.
#[derive(Debug)]
pub struct ApiDecls<'a> {
    classes: Vec<ClassDecl<'a>>,
    by_name: HashMap<&'a str, usize>,
}

impl<'a> ApiDecls<'a> {
    /// Builds the declarations and checks that every superclass and
    /// superinterface a class names is in the table (a generated API that
    /// refers to a missing class would not compile).
    pub fn new(table: &'a ApiTable) -> Result<Self> {
        let mut all: HashMap<&str, &ApiClass> = table
            .packages
            .iter()
            .flat_map(|p| &p.classes)
            .map(|c| (c.name.as_str(), c))
            .collect();
        // In list order, each one's supertypes among the table or the ones
        // added before it.
        let mut support: Vec<&(ApiClass, u16)> = Vec::new();
        for entry in compile_support() {
            let c = &entry.0;
            let known = |n: &String| all.contains_key(n.as_str());
            if !all.contains_key(c.name.as_str())
                && c.supers.iter().all(known)
                && c.interfaces.iter().all(known)
            {
                all.insert(c.name.as_str(), c);
                support.push(entry);
            }
        }
        let mut classes = Vec::new();
        for class in table.packages.iter().flat_map(|p| &p.classes) {
            classes.push(declare(class, &all)?);
        }
        for (class, access) in support {
            let mut decl = declare(class, &all)?;
            decl.access = *access;
            decl.compile_only = true;
            classes.push(decl);
        }
        let by_name: HashMap<&str, usize> = classes
            .iter()
            .enumerate()
            .map(|(i, d)| (d.class.name.as_str(), i))
            .collect();
        for i in 0..classes.len() {
            if let Some(outer) = classes[i].outer {
                let member = classes[i].class.name.as_str();
                if let Some(&o) = by_name.get(outer) {
                    classes[o].members.push(member);
                }
            }
        }
        Ok(ApiDecls { classes, by_name })
    }

    pub fn classes(&self) -> &[ClassDecl<'a>] {
        &self.classes
    }

    /// The class with an internal name.
    pub fn get(&self, name: &str) -> Option<&ClassDecl<'a>> {
        self.by_name.get(name).map(|&i| &self.classes[i])
    }

    /// The parameter types of the superclass constructor that `decl`'s
    /// constructors call in Java source; `None` for `java/lang/Object`, which
    /// calls none. A listed public or protected constructor is preferred (the
    /// fewest parameters, for short sources); a superclass without listed
    /// constructors gets a no-argument package-private one in the sources,
    /// which only a subclass in the same package can call.
    pub fn super_constructor(&self, decl: &ClassDecl<'a>) -> Result<Option<Vec<JavaType>>> {
        let Some(super_name) = decl.super_class else {
            return Ok(None);
        };
        let sup = self
            .get(super_name)
            .ok_or_else(|| missing(decl.name(), super_name))?;
        let listed = sup
            .constructors
            .iter()
            .filter(|c| c.access & (acc::PUBLIC | acc::PROTECTED) != 0)
            .min_by_key(|c| c.ty.params.len());
        if let Some(c) = listed {
            return Ok(Some(c.ty.params.clone()));
        }
        if sup.constructors.is_empty() && package_of(super_name) == package_of(decl.name()) {
            return Ok(Some(Vec::new()));
        }
        Err(Error::invalid(
            format!("API class {}", decl.name()),
            0,
            format!("its superclass {super_name} has no constructor it can call"),
        ))
    }
}

/// `javacard/framework` of `javacard/framework/Applet`.
fn package_of(name: &str) -> &str {
    name.rsplit_once('/').map_or("", |(p, _)| p)
}

fn declare<'a>(class: &'a ApiClass, all: &HashMap<&str, &'a ApiClass>) -> Result<ClassDecl<'a>> {
    for name in class.supers.iter().chain(&class.interfaces) {
        if !all.contains_key(name.as_str()) {
            return Err(missing(&class.name, name));
        }
    }
    let mut access = class.flags & CLASS_FLAGS;
    if access & acc::INTERFACE != 0 {
        access |= acc::ABSTRACT;
    }
    let is_interface = access & acc::INTERFACE != 0;
    let super_class = match class.supers.last() {
        Some(s) => Some(s.as_str()),
        None if class.name == OBJECT => None,
        None => Some(OBJECT),
    };
    let outer = class
        .name
        .rsplit_once('$')
        .map(|(outer, _)| outer)
        .filter(|outer| all.contains_key(outer));
    let fields = class
        .fields
        .iter()
        .map(|f| declare_field(class, f))
        .collect::<Result<_>>()?;
    let checked = is_checked_exception(class);
    let mut constructors = Vec::new();
    let mut methods = Vec::new();
    for m in &class.methods {
        let mut access = m.flags & METHOD_FLAGS;
        if is_interface {
            access |= acc::ABSTRACT;
        }
        // The one API idiom that throws a checked exception: the static
        // `throwIt` of a checked exception class throws an instance of it.
        let throws = if checked && m.name == "throwIt" && access & acc::STATIC != 0 {
            vec![class.name.as_str()]
        } else {
            Vec::new()
        };
        let decl = MethodDecl {
            method: m,
            access,
            ty: descriptor::parse_method(&m.descriptor)?,
            throws,
            bridge: false,
        };
        if m.name == "<init>" {
            constructors.push(decl);
        } else if !inherited(class, m, is_interface, all) {
            methods.push(decl);
        }
    }
    mark_bridges(class, &mut methods, all);
    Ok(ClassDecl {
        class,
        access,
        super_class,
        interfaces: &class.interfaces,
        outer,
        members: Vec::new(),
        fields,
        constructors,
        methods,
        compile_only: false,
    })
}

/// Classes javac needs that no Java Card API has, with their JVM access
/// flags. With the API as boot class path (`javac -source 8 -target 8
/// -bootclasspath api.jar`) javac looks up:
/// - `java.lang.Error` whenever it checks a `throws` clause or a `catch` of a
///   checked exception ("unchecked" means a RuntimeException or an Error), and
///   stops with "cannot access Error" without it;
/// - the annotation types applet code uses: `@Override`, `@Deprecated`,
///   `@SuppressWarnings` (whose element is a `String[]`, hence
///   `java.lang.String`), `@FunctionalInterface`, `@SafeVarargs`, with
///   `java.lang.annotation.Annotation`. Without `@Retention` they have class
///   retention, which the converter ignores;
/// - the box classes (`Byte`, `Short`, `Integer`, `Long`, `Float`, `Double`,
///   `Character`, `Boolean`, `Void`, with `Number`): javac types a
///   conditional expression such as `b ? key1 : key2` through them, and code
///   names their constants (`Short.MAX_VALUE`), which javac inlines.
///
/// Each is added only when the table lacks it; in order, so that a class
/// comes after its superclass.
fn compile_support() -> &'static [(ApiClass, u16)] {
    static SUPPORT: OnceLock<Vec<(ApiClass, u16)>> = OnceLock::new();
    SUPPORT.get_or_init(|| {
        const CONSTANT: u16 = acc::PUBLIC | acc::STATIC | acc::FINAL;
        let field = |name: &str, descriptor: &str, value: Option<i64>| ApiField {
            name: name.into(),
            descriptor: descriptor.into(),
            token: 0,
            flags: CONSTANT,
            value,
        };
        let method = |name: &str, descriptor: &str, flags: u16| ApiMethod {
            name: name.into(),
            descriptor: descriptor.into(),
            token: 0,
            flags,
        };
        let class = |name: &str, supers: &[&str], interfaces: &[&str], ctor: bool| ApiClass {
            name: name.into(),
            token: 0,
            flags: acc::PUBLIC,
            supers: supers.iter().map(|s| s.to_string()).collect(),
            interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
            fields: Vec::new(),
            methods: ctor
                .then(|| method("<init>", "()V", acc::PUBLIC))
                .into_iter()
                .collect(),
            cap22_inheritable_public_method_token_count: None,
        };
        // A box class: final, its MIN_VALUE and MAX_VALUE of type `t`, and
        // SIZE and BYTES (ints).
        let boxed = |name: &str, supers: &[&str], t: &str, range: (i64, i64), bits: i64| {
            let mut c = class(name, supers, &[], false);
            c.fields = vec![
                field("MIN_VALUE", t, Some(range.0)),
                field("MAX_VALUE", t, Some(range.1)),
                field("SIZE", "I", Some(bits)),
                field("BYTES", "I", Some(bits / 8)),
            ];
            c
        };
        let interface = acc::PUBLIC | acc::INTERFACE | acc::ABSTRACT;
        let annotation = interface | acc::ANNOTATION;
        let public_final = acc::PUBLIC | acc::FINAL;
        let mut boolean = class(BOOLEAN, &[OBJECT], &[], false);
        boolean.fields = vec![
            field("TRUE", "Ljava/lang/Boolean;", None),
            field("FALSE", "Ljava/lang/Boolean;", None),
        ];
        let mut suppress = class(
            "java/lang/SuppressWarnings",
            &[OBJECT],
            &[ANNOTATION],
            false,
        );
        suppress.methods = vec![method(
            "value",
            "()[Ljava/lang/String;",
            acc::PUBLIC | acc::ABSTRACT,
        )];
        vec![
            (class(ERROR, &[OBJECT, THROWABLE], &[], true), acc::PUBLIC),
            (class(ANNOTATION, &[OBJECT], &[], false), interface),
            (
                class("java/lang/Override", &[OBJECT], &[ANNOTATION], false),
                annotation,
            ),
            (
                class("java/lang/Deprecated", &[OBJECT], &[ANNOTATION], false),
                annotation,
            ),
            (
                class(
                    "java/lang/FunctionalInterface",
                    &[OBJECT],
                    &[ANNOTATION],
                    false,
                ),
                annotation,
            ),
            (
                class("java/lang/SafeVarargs", &[OBJECT], &[ANNOTATION], false),
                annotation,
            ),
            (
                class("java/lang/String", &[OBJECT], &[], false),
                public_final,
            ),
            (suppress, annotation),
            (
                class(NUMBER, &[OBJECT], &[], true),
                acc::PUBLIC | acc::ABSTRACT,
            ),
            (
                boxed("java/lang/Byte", &[OBJECT, NUMBER], "B", (-128, 127), 8),
                public_final,
            ),
            (
                boxed(
                    "java/lang/Short",
                    &[OBJECT, NUMBER],
                    "S",
                    (-32768, 32767),
                    16,
                ),
                public_final,
            ),
            (
                boxed(
                    "java/lang/Integer",
                    &[OBJECT, NUMBER],
                    "I",
                    (i32::MIN.into(), i32::MAX.into()),
                    32,
                ),
                public_final,
            ),
            (
                boxed(
                    "java/lang/Long",
                    &[OBJECT, NUMBER],
                    "J",
                    (i64::MIN, i64::MAX),
                    64,
                ),
                public_final,
            ),
            // No constants: Java Card has no floating point.
            (
                class("java/lang/Float", &[OBJECT, NUMBER], &[], false),
                public_final,
            ),
            (
                class("java/lang/Double", &[OBJECT, NUMBER], &[], false),
                public_final,
            ),
            (class("java/lang/Void", &[OBJECT], &[], false), public_final),
            (
                boxed("java/lang/Character", &[OBJECT], "C", (0, 0xFFFF), 16),
                public_final,
            ),
            (boolean, public_final),
        ]
    })
}

fn declare_field<'a>(class: &ApiClass, f: &'a ApiField) -> Result<FieldDecl<'a>> {
    let ty = descriptor::parse_field(&f.descriptor)?;
    let constant = match f.value {
        None => None,
        Some(v) => Some(constant(&ty, v).ok_or_else(|| {
            Error::invalid(
                format!("API field {}.{}", class.name, f.name),
                0,
                format!("value {v} does not fit its type {}", f.descriptor),
            )
        })?),
    };
    Ok(FieldDecl {
        field: f,
        access: f.flags & FIELD_FLAGS,
        ty,
        constant,
    })
}

/// The constant of a field type, if `v` is in that type's range.
fn constant(ty: &JavaType, v: i64) -> Option<Constant> {
    let (lo, hi) = match ty {
        JavaType::Boolean => (0, 1),
        JavaType::Byte => (i8::MIN.into(), i8::MAX.into()),
        JavaType::Char => (0, u16::MAX.into()),
        JavaType::Short => (i16::MIN.into(), i16::MAX.into()),
        JavaType::Int => (i32::MIN.into(), i32::MAX.into()),
        JavaType::Long => return Some(Constant::Long(v)),
        _ => return None,
    };
    if (lo..=hi).contains(&v) {
        i32::try_from(v).ok().map(Constant::Int)
    } else {
        None
    }
}

/// Marks bridge methods. A covariant override (3.2.0's `ByteBuffer.slice()`
/// returning `ByteBuffer` where `Buffer.slice()` returns `Buffer`) leaves two
/// methods with the same parameters in the class file, and the table lists
/// both; the bridge is the one with an ancestor's exact descriptor. Java
/// source cannot declare it (javac makes it again), and in a class file it
/// must carry `ACC_BRIDGE | ACC_SYNTHETIC` so that javac does not see two
/// candidates at every call.
fn mark_bridges(class: &ApiClass, methods: &mut [MethodDecl<'_>], all: &HashMap<&str, &ApiClass>) {
    let params = |d: &str| {
        d.split_once(')')
            .map_or(String::new(), |(p, _)| p.to_string())
    };
    let ancestor_has = |m: &ApiMethod| {
        class
            .supers
            .iter()
            .chain(&class.interfaces)
            .filter_map(|a| all.get(a.as_str()))
            .any(|a| {
                a.methods
                    .iter()
                    .any(|am| am.name == m.name && am.descriptor == m.descriptor)
            })
    };
    let bridges: Vec<bool> = methods
        .iter()
        .map(|m| {
            m.access & acc::STATIC == 0
                && ancestor_has(m.method)
                && methods.iter().any(|o| {
                    o.method.name == m.method.name
                        && o.method.descriptor != m.method.descriptor
                        && params(&o.method.descriptor) == params(&m.method.descriptor)
                        && !ancestor_has(o.method)
                })
        })
        .collect();
    for (m, bridge) in methods.iter_mut().zip(bridges) {
        m.bridge = bridge;
    }
}

/// Whether the table lists `m` in `class` only because an ancestor declares it
/// (same name, descriptor and flags): then redeclaring it would add nothing.
/// Static methods are never inherited in a table. Interfaces inherit from their
/// superinterfaces, classes from their superclasses; an abstract interface
/// method that a concrete class lists stays, since the class implements it.
fn inherited(
    class: &ApiClass,
    m: &ApiMethod,
    is_interface: bool,
    all: &HashMap<&str, &ApiClass>,
) -> bool {
    if m.flags & acc::STATIC != 0 {
        return false;
    }
    let ancestors = if is_interface {
        &class.interfaces
    } else {
        &class.supers
    };
    ancestors
        .iter()
        .filter_map(|a| all.get(a.as_str()))
        .any(|a| {
            a.methods
                .iter()
                .any(|am| am.name == m.name && am.descriptor == m.descriptor && am.flags == m.flags)
        })
}

/// A Throwable that is neither a RuntimeException nor an Error: javac makes
/// callers catch or declare it, so methods throwing it must say so.
fn is_checked_exception(class: &ApiClass) -> bool {
    let lineage = || {
        class
            .supers
            .iter()
            .map(String::as_str)
            .chain([class.name.as_str()])
    };
    lineage().any(|n| n == THROWABLE) && !lineage().any(|n| n == RUNTIME_EXCEPTION || n == ERROR)
}

fn missing(class: &str, refers_to: &str) -> Error {
    Error::invalid(
        format!("API class {class}"),
        0,
        format!("refers to {refers_to}, which is not in the table"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{table, ApiVersion};

    #[test]
    fn direct_superclass_is_the_last_ancestor() {
        let decls = ApiDecls::new(table(ApiVersion::V3_0_5)).unwrap();
        let iso = decls.get("javacard/framework/ISOException").unwrap();
        assert_eq!(
            iso.super_class,
            Some("javacard/framework/CardRuntimeException")
        );
        assert_eq!(decls.get(OBJECT).unwrap().super_class, None);
        let shareable = decls.get("javacard/framework/Shareable").unwrap();
        assert!(shareable.is_interface());
        assert_eq!(
            shareable.access,
            acc::PUBLIC | acc::INTERFACE | acc::ABSTRACT
        );
    }

    #[test]
    fn inherited_methods_are_left_out() {
        let decls = ApiDecls::new(table(ApiVersion::V3_0_5)).unwrap();
        let iso = decls.get("javacard/framework/ISOException").unwrap();
        let names: Vec<_> = iso.methods.iter().map(|m| m.method.name.as_str()).collect();
        assert_eq!(names, ["throwIt"]);
        // Overridden with other flags: declared again.
        let one_shot = decls.get("javacard/security/Signature$OneShot").unwrap();
        assert!(one_shot.methods.iter().any(|m| m.method.name == "update"));
        assert_eq!(one_shot.outer, Some("javacard/security/Signature"));
        assert_eq!(one_shot.simple_name(), "OneShot");
        let sig = decls.get("javacard/security/Signature").unwrap();
        assert_eq!(sig.members, ["javacard/security/Signature$OneShot"]);
    }

    #[test]
    fn covariant_overrides_leave_bridges() {
        let decls = ApiDecls::new(table(ApiVersion::V3_2_0)).unwrap();
        let bb = decls.get("javacardx/framework/nio/ByteBuffer").unwrap();
        let slices: Vec<_> = bb
            .methods
            .iter()
            .filter(|m| m.method.name == "slice")
            .map(|m| (m.method.descriptor.as_str(), m.bridge))
            .collect();
        assert_eq!(
            slices,
            [
                ("()Ljavacardx/framework/nio/Buffer;", true),
                ("()Ljavacardx/framework/nio/ByteBuffer;", false)
            ]
        );
        let decls = ApiDecls::new(table(ApiVersion::V3_0_5)).unwrap();
        assert!(decls
            .classes()
            .iter()
            .all(|c| c.methods.iter().all(|m| !m.bridge)));
    }

    #[test]
    fn checked_throw_it_declares_its_exception() {
        let decls = ApiDecls::new(table(ApiVersion::V3_0_5)).unwrap();
        let ue = decls.get("javacard/framework/UserException").unwrap();
        let throw_it = ue
            .methods
            .iter()
            .find(|m| m.method.name == "throwIt")
            .unwrap();
        assert_eq!(throw_it.throws, ["javacard/framework/UserException"]);
        let iso = decls.get("javacard/framework/ISOException").unwrap();
        assert!(iso.methods.iter().all(|m| m.throws.is_empty()));
    }
}
