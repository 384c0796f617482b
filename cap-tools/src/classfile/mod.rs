//! Reading JVM class files (JVMS chapter 4) for the converter.
//!
//! [`ClassFile::parse`] reads one class file into owned, resolved values:
//! constant pool references become names and descriptors, and every index and
//! descriptor the converter may follow is checked while parsing, so that code
//! working on a parsed class never meets a dangling reference. It reads the
//! layout of every version up to Java 25; [`check_supported_version`] is the
//! separate, narrower policy of what `jct build` converts. [`insn`] decodes
//! method bytecode.
//!
//! Parsing never panics: all input goes through the bounds-checked
//! [`Reader`](crate::bytes::Reader), and errors name the class (once known),
//! the member and the byte offset in the file.

// Input parsers: every narrowing cast is checked (try_from with an error
// naming the field) or marked where it provably fits.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

mod code;
mod constant_pool;
mod descriptor;
pub mod insn;
mod members;
mod mutf8;
mod refs;
mod version;

use serde::Serialize;

pub use code::{Code, ExceptionEntry, LineNumber, LocalVariable};
pub use constant_pool::{Constant, ConstantPool, MemberRef};
pub use descriptor::{
    check_field_descriptor, check_method_descriptor, descriptor_arg_slots, descriptor_args,
    descriptor_return,
};
pub use members::{Field, Method, ACC_ABSTRACT, ACC_NATIVE, ACC_STATIC};
pub use version::{check_supported_version, java_release, READABLE, SUPPORTED};

use crate::bytes::Reader;
use crate::error::Result;
use refs::{attributes, once, with_location};

/// The class file magic number.
pub const MAGIC: u32 = 0xCAFE_BABE;

/// Access flag of interfaces (and annotation types).
pub const ACC_INTERFACE: u16 = 0x0200;

/// One parsed class file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFile {
    pub minor_version: u16,
    pub major_version: u16,
    pub constant_pool: ConstantPool,
    pub access_flags: u16,
    /// Internal form: `a/b/C`.
    pub this_class: String,
    /// `None` only for `java/lang/Object` (and `module-info`).
    pub super_class: Option<String>,
    pub interfaces: Vec<String>,
    pub fields: Vec<Field>,
    pub methods: Vec<Method>,
    /// The SourceFile attribute, e.g. `Hello.java`.
    pub source_file: Option<String>,
}

impl ClassFile {
    /// Parses a whole class file; trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<ClassFile> {
        let mut r = Reader::new(bytes, "class file");
        let magic = r.u4("magic")?;
        if magic != MAGIC {
            return Err(r.error_at(
                0,
                format!("not a class file: magic is {magic:#010x}, expected 0xcafebabe"),
            ));
        }
        let minor_version = r.u2("minor_version")?;
        let major_version = r.u2("major_version")?;
        version::check_readable(major_version, minor_version).map_err(|m| r.error_at(6, m))?;
        let constant_pool = constant_pool::read(&mut r, major_version)?;
        let access_flags = r.u2("access_flags")?;
        let this_class = refs::class(&mut r, &constant_pool, "this_class")?;
        let cp = &constant_pool;
        let location = format!("class file {this_class}");
        with_location(&mut r, location, |r| {
            let super_class = refs::optional_class(r, cp, "super_class")?;
            let count = usize::from(r.u2("interfaces_count")?);
            let mut interfaces = Vec::with_capacity(refs::capacity(r, count, 2));
            for _ in 0..count {
                interfaces.push(refs::class(r, cp, "interfaces")?);
            }
            let fields = members::read_fields(r, cp, &this_class)?;
            let methods = members::read_methods(r, cp, &this_class)?;
            let mut source_file = None;
            let mut seen = false;
            attributes(r, cp, |name, body| {
                if name != "SourceFile" {
                    return Ok(false);
                }
                once(body, &mut seen, name)?;
                source_file = Some(refs::utf8(body, cp, "sourcefile_index")?);
                Ok(true)
            })?;
            r.expect_end()?;
            Ok(ClassFile {
                minor_version,
                major_version,
                constant_pool: constant_pool.clone(),
                access_flags,
                this_class: this_class.clone(),
                super_class,
                interfaces,
                fields,
                methods,
                source_file,
            })
        })
    }

    /// Whether this is an interface (ACC_INTERFACE).
    pub fn is_interface(&self) -> bool {
        self.access_flags & ACC_INTERFACE != 0
    }

    /// The method with this name and descriptor.
    pub fn method(&self, name: &str, descriptor: &str) -> Option<&Method> {
        self.methods
            .iter()
            .find(|m| m.name == name && m.descriptor == descriptor)
    }

    /// The field with this name (a class cannot have two with one name and
    /// descriptor; javac never gives two the same name).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Decodes a method's bytecode, naming the class and method in errors;
    /// empty for abstract and native methods.
    pub fn instructions(&self, method: &Method) -> Result<Vec<insn::Insn>> {
        match &method.code {
            Some(code) => insn::decode_at(
                &code.bytecode,
                format!(
                    "class file {}, method {}{}, bytecode",
                    self.this_class, method.name, method.descriptor
                ),
            ),
            None => Ok(Vec::new()),
        }
    }
}
