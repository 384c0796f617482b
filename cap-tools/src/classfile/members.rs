//! Fields and methods (JVMS 4.5, 4.6) with the attributes the converter
//! needs: a field's ConstantValue and a method's Code. Each member's errors
//! name the class and the member.

use serde::Serialize;

use super::code::{self, Code};
use super::constant_pool::{Constant, ConstantPool};
use super::descriptor::{check_field_descriptor, check_method_descriptor};
use super::refs::{self, attributes, capacity, once, with_location};
use crate::bytes::Reader;
use crate::error::Result;

/// A field of a class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub access_flags: u16,
    pub name: String,
    pub descriptor: String,
    /// The ConstantValue attribute's value (Integer, Float, Long, Double or
    /// String, matching the descriptor); javac gives one to `static final`
    /// fields initialised with a compile-time constant.
    pub constant_value: Option<Constant>,
}

/// A method of a class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Method {
    pub access_flags: u16,
    pub name: String,
    pub descriptor: String,
    /// `None` exactly for abstract and native methods.
    pub code: Option<Code>,
}

pub const ACC_STATIC: u16 = 0x0008;
pub const ACC_NATIVE: u16 = 0x0100;
pub const ACC_ABSTRACT: u16 = 0x0400;

impl Field {
    /// Whether the field is static.
    pub fn is_static(&self) -> bool {
        self.access_flags & ACC_STATIC != 0
    }
}

impl Method {
    /// Whether the method is static.
    pub fn is_static(&self) -> bool {
        self.access_flags & ACC_STATIC != 0
    }
}

/// Reads `fields_count` and the fields of class `class`.
pub(super) fn read_fields(
    r: &mut Reader<'_>,
    cp: &ConstantPool,
    class: &str,
) -> Result<Vec<Field>> {
    let count = usize::from(r.u2("fields_count")?);
    // access, name, descriptor, attributes_count: eight bytes at least.
    let mut fields = Vec::with_capacity(capacity(r, count, 8));
    for i in 0..count {
        let (access_flags, name, descriptor) = header(r, cp, class, &format!("field #{i}"))?;
        let location = format!("class file {class}, field {name}");
        let constant_value = with_location(r, location, |r| {
            check_field_descriptor(&descriptor)
                .map_err(|_| r.error(format!("bad field descriptor {descriptor:?}")))?;
            constant_value(r, cp, &descriptor)
        })?;
        fields.push(Field {
            access_flags,
            name,
            descriptor,
            constant_value,
        });
    }
    Ok(fields)
}

/// Reads `methods_count` and the methods of class `class`.
pub(super) fn read_methods(
    r: &mut Reader<'_>,
    cp: &ConstantPool,
    class: &str,
) -> Result<Vec<Method>> {
    let count = usize::from(r.u2("methods_count")?);
    let mut methods = Vec::with_capacity(capacity(r, count, 8));
    for i in 0..count {
        let (access_flags, name, descriptor) = header(r, cp, class, &format!("method #{i}"))?;
        let location = format!("class file {class}, method {name}{descriptor}");
        let code = with_location(r, location, |r| {
            check_method_descriptor(&descriptor)
                .map_err(|_| r.error(format!("bad method descriptor {descriptor:?}")))?;
            method_code(r, cp, access_flags)
        })?;
        methods.push(Method {
            access_flags,
            name,
            descriptor,
            code,
        });
    }
    Ok(methods)
}

/// access_flags, name and descriptor; errors name the member by position
/// (`what`), as its name is not known yet.
fn header(
    r: &mut Reader<'_>,
    cp: &ConstantPool,
    class: &str,
    what: &str,
) -> Result<(u16, String, String)> {
    with_location(r, format!("class file {class}, {what}"), |r| {
        let access = r.u2("access_flags")?;
        let name = refs::utf8(r, cp, "name_index")?;
        let descriptor = refs::utf8(r, cp, "descriptor_index")?;
        Ok((access, name, descriptor))
    })
}

fn constant_value(
    r: &mut Reader<'_>,
    cp: &ConstantPool,
    descriptor: &str,
) -> Result<Option<Constant>> {
    let mut value = None;
    let mut seen = false;
    attributes(r, cp, |name, body| {
        if name != "ConstantValue" {
            return Ok(false);
        }
        once(body, &mut seen, name)?;
        let at = body.offset();
        let (i, c) = refs::entry(body, cp, "constantvalue_index")?;
        let fits = match c {
            Constant::Integer(_) => matches!(descriptor, "I" | "S" | "C" | "B" | "Z"),
            Constant::Float(_) => descriptor == "F",
            Constant::Long(_) => descriptor == "J",
            Constant::Double(_) => descriptor == "D",
            Constant::String(_) => descriptor == "Ljava/lang/String;",
            _ => false,
        };
        if !fits {
            return Err(body.error_at(
                at,
                format!(
                    "ConstantValue: entry #{i} is a {}, which cannot initialise a field of type {descriptor}",
                    c.kind()
                ),
            ));
        }
        value = Some(c.clone());
        Ok(true)
    })?;
    Ok(value)
}

fn method_code(r: &mut Reader<'_>, cp: &ConstantPool, access_flags: u16) -> Result<Option<Code>> {
    let start = r.offset();
    let mut code = None;
    let mut seen = false;
    attributes(r, cp, |name, body| {
        if name != "Code" {
            return Ok(false);
        }
        once(body, &mut seen, name)?;
        code = Some(code::read(body, cp)?);
        Ok(true)
    })?;
    let bodiless = access_flags & (ACC_ABSTRACT | ACC_NATIVE) != 0;
    match (&code, bodiless) {
        (Some(_), true) => {
            Err(r.error_at(start, "an abstract or native method has a Code attribute"))
        }
        (None, false) => Err(r.error_at(
            start,
            "no Code attribute, but the method is neither abstract nor native",
        )),
        _ => Ok(code),
    }
}
