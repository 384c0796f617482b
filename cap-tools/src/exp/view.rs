//! The resolved view of an export file: what a person or the converter wants
//! to know, with every constant pool index replaced by what it names.
//!
//! Names stay in the file's internal form (`javacard/framework/APDU`), the
//! form descriptors and the API JSON facts use; only package names get dots,
//! since packages are known by their Java name. Flags are given both as the
//! number and as words, constant values as the Java value of the field's type.
//!
//! A decoded file always resolves (the decoder checks every index). A file
//! built by hand may not; then the error names the structure, like the error
//! [`super::ExportFile::encode`] would give for it.

use serde::Serialize;

use crate::aid::Aid;
use crate::error::{Error, Result};

use super::class::{ClassInfo, FieldInfo, MethodInfo};
use super::constant_pool::{ConstantPool, LookupError};
use super::flags;
use super::{ExportFile, LOCATION};

/// An export file resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// Export file format, "2.1", "2.2" or "2.3".
    pub format: String,
    pub package: PackageView,
    /// Format 2.3 only: the packages this one refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referenced_packages: Option<Vec<PackageView>>,
    pub classes: Vec<ClassView>,
}

/// A package identity from a CONSTANT_Package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageView {
    /// Java name, with dots: `javacard.framework`.
    pub name: String,
    pub aid: Aid,
    /// "major.minor", e.g. "1.6".
    pub version: String,
    pub major_version: u8,
    pub minor_version: u8,
    pub flags: u8,
    /// "library" when the package has no applets.
    pub flag_words: Vec<String>,
}

/// A public class or interface.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassView {
    pub token: u8,
    /// Internal form: `javacard/framework/APDU`.
    pub name: String,
    pub flags: u16,
    pub flag_words: Vec<String>,
    /// All superclasses, in file order.
    pub supers: Vec<String>,
    /// All superinterfaces, direct and indirect.
    pub interfaces: Vec<String>,
    pub fields: Vec<FieldView>,
    pub methods: Vec<MethodView>,
    /// Format 2.3 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap22_inheritable_public_method_token_count: Option<u8>,
}

impl ClassView {
    /// True for interfaces.
    pub fn is_interface(&self) -> bool {
        self.flags & flags::ACC_INTERFACE != 0
    }

    /// The name with dots: `javacard.framework.APDU`.
    pub fn java_name(&self) -> String {
        self.name.replace('/', ".")
    }
}

/// How a field is linked, which decides what its token means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A static final field with a ConstantValue: inlined, token 0xFF.
    Constant,
    /// A static field: token in the class's static field namespace.
    Static,
    /// An instance field: token in the instance field namespace.
    Instance,
}

impl FieldKind {
    /// The word the JSON view uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            FieldKind::Constant => "constant",
            FieldKind::Static => "static",
            FieldKind::Instance => "instance",
        }
    }
}

/// An exported field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldView {
    pub token: u8,
    pub name: String,
    /// Field descriptor: `S`, `[B`, `Ljavacard/framework/APDU;`.
    pub descriptor: String,
    pub flags: u16,
    pub flag_words: Vec<String>,
    pub kind: FieldKind,
    /// The ConstantValue, as a value of the field's type (`S` -28672, not 0xFFFF9000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<i32>,
    /// Attributes other than ConstantValue, which the spec lets tools ignore.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_attributes: Vec<AttributeView>,
}

/// An attribute jct does not interpret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeView {
    pub name: String,
    /// The info bytes in upper-case hex.
    pub info: String,
}

/// How a method is linked, which decides what its token means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// `<init>`: a static method token.
    Constructor,
    /// A static method token.
    Static,
    /// A virtual method token (or an interface method token in an interface).
    Virtual,
}

impl MethodKind {
    /// The word the JSON view uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            MethodKind::Constructor => "constructor",
            MethodKind::Static => "static",
            MethodKind::Virtual => "virtual",
        }
    }
}

/// An exported method or constructor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodView {
    pub token: u8,
    pub name: String,
    /// Method descriptor: `(S)V`.
    pub descriptor: String,
    pub flags: u16,
    pub flag_words: Vec<String>,
    pub kind: MethodKind,
}

/// Turns a lookup failure into an error naming where the index was.
fn at(location: impl FnOnce() -> String, field: &'static str) -> impl FnOnce(LookupError) -> Error {
    move |e| Error::encode(location(), format!("{field}: {e}"))
}

impl View {
    /// Resolves every index of `file`.
    pub fn of(file: &ExportFile) -> Result<View> {
        let cp = &file.constant_pool;
        let this =
            package(cp, file.this_package).map_err(at(|| LOCATION.into(), "this_package"))?;
        let referenced_packages = match &file.referenced_packages {
            None => None,
            Some(refs) => Some(
                refs.iter()
                    .map(|&i| {
                        package(cp, i).map_err(at(|| LOCATION.into(), "referenced package index"))
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let classes = file
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| class(cp, c, &format!("{LOCATION}, class #{i}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(View {
            format: file.format(),
            package: this,
            referenced_packages,
            classes,
        })
    }

    /// The class with this internal name (`javacard/framework/APDU`).
    pub fn class(&self, name: &str) -> Option<&ClassView> {
        self.classes.iter().find(|c| c.name == name)
    }
}

/// The CONSTANT_Package at `index`, resolved.
pub(crate) fn package(
    cp: &ConstantPool,
    index: u16,
) -> std::result::Result<PackageView, LookupError> {
    let (p, name) = cp.package(index)?;
    Ok(PackageView {
        name: name.to_string_lossy().replace('/', "."),
        aid: p.aid.clone(),
        version: format!("{}.{}", p.major_version, p.minor_version),
        major_version: p.major_version,
        minor_version: p.minor_version,
        flags: p.flags,
        flag_words: flags::package_words(p.flags),
    })
}

fn utf8(cp: &ConstantPool, index: u16) -> std::result::Result<String, LookupError> {
    cp.utf8(index).map(|s| s.to_string_lossy().into_owned())
}

fn class_name(cp: &ConstantPool, index: u16) -> std::result::Result<String, LookupError> {
    cp.class_name(index)
        .map(|s| s.to_string_lossy().into_owned())
}

fn class(cp: &ConstantPool, c: &ClassInfo, location: &str) -> Result<ClassView> {
    let loc = || location.to_string();
    let names = |indices: &[u16], field: &'static str| -> Result<Vec<String>> {
        indices
            .iter()
            .map(|&i| class_name(cp, i).map_err(at(loc, field)))
            .collect()
    };
    Ok(ClassView {
        token: c.token,
        name: class_name(cp, c.name_index).map_err(at(loc, "name_index"))?,
        flags: c.access_flags,
        flag_words: flags::class_words(c.access_flags),
        supers: names(&c.supers, "supers entry")?,
        interfaces: names(&c.interfaces, "interfaces entry")?,
        fields: c
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| field(cp, f, &format!("{location} field #{i}")))
            .collect::<Result<Vec<_>>>()?,
        methods: c
            .methods
            .iter()
            .enumerate()
            .map(|(i, m)| method(cp, m, &format!("{location} method #{i}")))
            .collect::<Result<Vec<_>>>()?,
        cap22_inheritable_public_method_token_count: c.cap22_inheritable_public_method_token_count,
    })
}

fn field(cp: &ConstantPool, f: &FieldInfo, location: &str) -> Result<FieldView> {
    let loc = || location.to_string();
    let descriptor = utf8(cp, f.descriptor_index).map_err(at(loc, "descriptor_index"))?;
    let mut value = None;
    let mut other_attributes = Vec::new();
    for a in &f.attributes {
        if a.is_constant_value(cp) {
            let index = f.constant_value_index(cp).ok_or_else(|| {
                Error::encode(
                    loc(),
                    "ConstantValue attribute must hold exactly a u2 index",
                )
            })?;
            let raw = cp.integer(index).map_err(at(loc, "constantvalue_index"))?;
            value = Some(typed_value(&descriptor, raw));
        } else {
            other_attributes.push(AttributeView {
                name: utf8(cp, a.name_index).map_err(at(loc, "attribute_name_index"))?,
                info: hex::encode_upper(&a.info),
            });
        }
    }
    let kind = if f.access_flags & flags::ACC_STATIC == 0 {
        FieldKind::Instance
    } else if value.is_some() {
        FieldKind::Constant
    } else {
        FieldKind::Static
    };
    Ok(FieldView {
        token: f.token,
        name: utf8(cp, f.name_index).map_err(at(loc, "name_index"))?,
        descriptor,
        flags: f.access_flags,
        flag_words: flags::field_words(f.access_flags),
        kind,
        value,
        other_attributes,
    })
}

fn method(cp: &ConstantPool, m: &MethodInfo, location: &str) -> Result<MethodView> {
    let loc = || location.to_string();
    let name = utf8(cp, m.name_index).map_err(at(loc, "name_index"))?;
    let kind = if name == "<init>" {
        MethodKind::Constructor
    } else if m.access_flags & flags::ACC_STATIC != 0 {
        MethodKind::Static
    } else {
        MethodKind::Virtual
    };
    Ok(MethodView {
        token: m.token,
        descriptor: utf8(cp, m.descriptor_index).map_err(at(loc, "descriptor_index"))?,
        name,
        flags: m.access_flags,
        flag_words: flags::method_words(m.access_flags),
        kind,
    })
}

/// A CONSTANT_Integer read as the field's type: a `short` 0x9000 may be
/// stored as 0xFFFF9000 or 0x00009000, and is -28672 either way.
// Reading the low bits of the constant as the narrower type: truncation
// intended.
#[allow(clippy::cast_possible_truncation)]
pub fn typed_value(descriptor: &str, raw: u32) -> i32 {
    match descriptor {
        "B" => i32::from(raw as u8 as i8),
        "S" => i32::from(raw as u16 as i16),
        _ => raw as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_values_take_the_field_type() {
        assert_eq!(typed_value("S", 0xFFFF_9000), -28672);
        assert_eq!(typed_value("S", 0x0000_9000), -28672);
        assert_eq!(typed_value("B", 0xFF), -1);
        assert_eq!(typed_value("Z", 1), 1);
        assert_eq!(typed_value("I", 0x8000_0000), i32::MIN);
    }
}
