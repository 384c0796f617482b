//! A small JVM class-file writer (JVMS chapter 4, version 52 = Java 8): just
//! what API stubs need — constant pool, fields with `ConstantValue`, methods
//! with a `Code` or `Exceptions` attribute, and `InnerClasses`.
//!
//! jct writes the API jar itself so that `jct api-jar` needs no JDK; javac
//! only reads these files, but they are also valid for a JVM verifier. Output
//! is deterministic: the constant pool is filled in the order items are first
//! used, with no timestamps or hashes.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Class-file major version written: 52, Java 8, the newest Java Card
/// converters read and the oldest `--release` current javac supports.
pub const MAJOR_VERSION: u16 = 52;

/// A class or interface to write.
#[derive(Debug, Clone, Default)]
pub struct ClassFile {
    /// JVM access flags (`ACC_SUPER` is the caller's choice).
    pub access: u16,
    /// Internal name (`javacard/framework/Applet`).
    pub this_class: String,
    /// `None` only for `java/lang/Object`.
    pub super_class: Option<String>,
    pub interfaces: Vec<String>,
    pub fields: Vec<Field>,
    pub methods: Vec<Method>,
    /// Entries of the `InnerClasses` attribute (none: no attribute).
    pub inner_classes: Vec<InnerClass>,
}

/// A field; `constant` becomes a `ConstantValue` attribute.
#[derive(Debug, Clone)]
pub struct Field {
    pub access: u16,
    pub name: String,
    pub descriptor: String,
    pub constant: Option<ConstantValue>,
}

/// The value of a `ConstantValue` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstantValue {
    Int(i32),
    Long(i64),
}

/// A method; abstract and native methods have no `code`.
#[derive(Debug, Clone)]
pub struct Method {
    pub access: u16,
    pub name: String,
    pub descriptor: String,
    pub code: Option<Code>,
    /// Checked exceptions (internal names) for the `Exceptions` attribute.
    pub exceptions: Vec<String>,
}

/// A `Code` attribute without exception table or nested attributes.
#[derive(Debug, Clone)]
pub struct Code {
    pub max_stack: u16,
    pub max_locals: u16,
    pub bytecode: Vec<Op>,
}

/// A piece of a method's bytecode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Instructions without constant pool operands, as bytes.
    Bytes(Vec<u8>),
    /// An invoke instruction (`opcode`) of a method, whose `Methodref` the
    /// writer adds to the constant pool.
    Invoke {
        opcode: u8,
        class: String,
        name: String,
        descriptor: String,
    },
}

/// One `InnerClasses` entry: a member class of `outer`.
#[derive(Debug, Clone)]
pub struct InnerClass {
    pub inner: String,
    pub outer: String,
    pub simple_name: String,
    pub access: u16,
}

impl ClassFile {
    /// The class file bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let at = |what: &str| format!("class file {}: {what}", self.this_class);
        let mut cp = ConstantPool::default();
        let mut body = Vec::new();
        put_u2(&mut body, self.access);
        put_u2(&mut body, cp.class(&self.this_class)?);
        put_u2(
            &mut body,
            match &self.super_class {
                Some(s) => cp.class(s)?,
                None => 0,
            },
        );
        put_u2(&mut body, count(self.interfaces.len(), &at("interfaces"))?);
        for i in &self.interfaces {
            put_u2(&mut body, cp.class(i)?);
        }
        put_u2(&mut body, count(self.fields.len(), &at("fields"))?);
        for f in &self.fields {
            put_u2(&mut body, f.access);
            put_u2(&mut body, cp.utf8(&f.name)?);
            put_u2(&mut body, cp.utf8(&f.descriptor)?);
            match f.constant {
                None => put_u2(&mut body, 0),
                Some(c) => {
                    put_u2(&mut body, 1);
                    let value = match c {
                        ConstantValue::Int(v) => cp.integer(v)?,
                        ConstantValue::Long(v) => cp.long(v)?,
                    };
                    attribute(&mut body, cp.utf8("ConstantValue")?, &value.to_be_bytes())?;
                }
            }
        }
        put_u2(&mut body, count(self.methods.len(), &at("methods"))?);
        for m in &self.methods {
            write_method(&mut cp, &mut body, m, &at(&m.name))?;
        }
        if self.inner_classes.is_empty() {
            put_u2(&mut body, 0);
        } else {
            put_u2(&mut body, 1);
            let mut attr = Vec::new();
            put_u2(
                &mut attr,
                count(self.inner_classes.len(), &at("InnerClasses"))?,
            );
            for ic in &self.inner_classes {
                put_u2(&mut attr, cp.class(&ic.inner)?);
                put_u2(&mut attr, cp.class(&ic.outer)?);
                put_u2(&mut attr, cp.utf8(&ic.simple_name)?);
                put_u2(&mut attr, ic.access);
            }
            attribute(&mut body, cp.utf8("InnerClasses")?, &attr)?;
        }

        let mut out = Vec::with_capacity(10 + cp.bytes.len() + body.len());
        out.extend_from_slice(&0xCAFE_BABEu32.to_be_bytes());
        put_u2(&mut out, 0);
        put_u2(&mut out, MAJOR_VERSION);
        put_u2(&mut out, cp.next);
        out.extend_from_slice(&cp.bytes);
        out.extend_from_slice(&body);
        Ok(out)
    }
}

fn write_method(cp: &mut ConstantPool, out: &mut Vec<u8>, m: &Method, at: &str) -> Result<()> {
    put_u2(out, m.access);
    put_u2(out, cp.utf8(&m.name)?);
    put_u2(out, cp.utf8(&m.descriptor)?);
    let attributes = usize::from(m.code.is_some()) + usize::from(!m.exceptions.is_empty());
    put_u2(out, count(attributes, at)?);
    if let Some(code) = &m.code {
        let mut bytecode = Vec::new();
        for op in &code.bytecode {
            match op {
                Op::Bytes(b) => bytecode.extend_from_slice(b),
                Op::Invoke {
                    opcode,
                    class,
                    name,
                    descriptor,
                } => {
                    bytecode.push(*opcode);
                    put_u2(&mut bytecode, cp.method_ref(class, name, descriptor)?);
                }
            }
        }
        let mut attr = Vec::new();
        put_u2(&mut attr, code.max_stack);
        put_u2(&mut attr, code.max_locals);
        let len = u32::try_from(bytecode.len())
            .map_err(|_| Error::encode(at.to_string(), "bytecode longer than 4 GiB"))?;
        attr.extend_from_slice(&len.to_be_bytes());
        attr.extend_from_slice(&bytecode);
        put_u2(&mut attr, 0); // exception_table_length
        put_u2(&mut attr, 0); // attributes_count
        attribute(out, cp.utf8("Code")?, &attr)?;
    }
    if !m.exceptions.is_empty() {
        let mut attr = Vec::new();
        put_u2(&mut attr, count(m.exceptions.len(), at)?);
        for e in &m.exceptions {
            put_u2(&mut attr, cp.class(e)?);
        }
        attribute(out, cp.utf8("Exceptions")?, &attr)?;
    }
    Ok(())
}

/// An attribute: name index, u4 length, bytes.
fn attribute(out: &mut Vec<u8>, name: u16, data: &[u8]) -> Result<()> {
    let len = u32::try_from(data.len())
        .map_err(|_| Error::encode("class file attribute", "longer than 4 GiB"))?;
    put_u2(out, name);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

fn put_u2(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn count(n: usize, at: &str) -> Result<u16> {
    u16::try_from(n)
        .map_err(|_| Error::encode(at.to_string(), format!("{n} items do not fit a u2 count")))
}

/// Constant pool items, deduplicated.
#[derive(Debug, Hash, PartialEq, Eq, Clone)]
enum Item {
    Utf8(String),
    Class(String),
    Integer(i32),
    Long(i64),
    NameAndType(String, String),
    Methodref(String, String, String),
}

/// The constant pool being built; `next` is the index the next item gets,
/// which is also `constant_pool_count` once writing is done.
#[derive(Debug)]
struct ConstantPool {
    bytes: Vec<u8>,
    next: u16,
    index: HashMap<Item, u16>,
}

impl Default for ConstantPool {
    fn default() -> Self {
        ConstantPool {
            bytes: Vec::new(),
            next: 1,
            index: HashMap::new(),
        }
    }
}

impl ConstantPool {
    fn utf8(&mut self, s: &str) -> Result<u16> {
        let encoded = modified_utf8(s);
        let len = u16::try_from(encoded.len()).map_err(|_| {
            Error::encode(
                "constant pool",
                format!("string of {} bytes", encoded.len()),
            )
        })?;
        self.add(Item::Utf8(s.to_string()), |b| {
            b.push(1);
            put_u2(b, len);
            b.extend_from_slice(&encoded);
        })
    }

    fn class(&mut self, name: &str) -> Result<u16> {
        let key = Item::Class(name.to_string());
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let name_index = self.utf8(name)?;
        self.add(key, |b| {
            b.push(7);
            put_u2(b, name_index);
        })
    }

    fn name_and_type(&mut self, name: &str, descriptor: &str) -> Result<u16> {
        let key = Item::NameAndType(name.to_string(), descriptor.to_string());
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let n = self.utf8(name)?;
        let d = self.utf8(descriptor)?;
        self.add(key, |b| {
            b.push(12);
            put_u2(b, n);
            put_u2(b, d);
        })
    }

    fn method_ref(&mut self, class: &str, name: &str, descriptor: &str) -> Result<u16> {
        let key = Item::Methodref(class.to_string(), name.to_string(), descriptor.to_string());
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let c = self.class(class)?;
        let nt = self.name_and_type(name, descriptor)?;
        self.add(key, |b| {
            b.push(10);
            put_u2(b, c);
            put_u2(b, nt);
        })
    }

    fn integer(&mut self, v: i32) -> Result<u16> {
        self.add(Item::Integer(v), |b| {
            b.push(3);
            b.extend_from_slice(&v.to_be_bytes());
        })
    }

    fn long(&mut self, v: i64) -> Result<u16> {
        let i = self.add(Item::Long(v), |b| {
            b.push(5);
            b.extend_from_slice(&v.to_be_bytes());
        })?;
        // A long takes two entries (JVMS 4.4.5).
        if self.next == i + 1 {
            self.next = self.next.checked_add(1).ok_or_else(full)?;
        }
        Ok(i)
    }

    fn add(&mut self, key: Item, write: impl FnOnce(&mut Vec<u8>)) -> Result<u16> {
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let i = self.next;
        if i == u16::MAX {
            return Err(full());
        }
        write(&mut self.bytes);
        self.index.insert(key, i);
        self.next = i + 1;
        Ok(i)
    }
}

fn full() -> Error {
    Error::encode("constant pool", "more than 65534 entries")
}

/// JVM "modified UTF-8" (JVMS 4.4.7): NUL as two bytes, characters beyond
/// the BMP as two 3-byte surrogates.
fn modified_utf8(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for unit in s.encode_utf16() {
        match unit {
            0x0001..=0x007F => out.push(unit as u8),
            0x0000 | 0x0080..=0x07FF => {
                out.push(0xC0 | (unit >> 6) as u8);
                out.push(0x80 | (unit & 0x3F) as u8);
            }
            _ => {
                out.push(0xE0 | (unit >> 12) as u8);
                out.push(0x80 | ((unit >> 6) & 0x3F) as u8);
                out.push(0x80 | (unit & 0x3F) as u8);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_interface_layout() {
        let cf = ClassFile {
            access: 0x0601,
            this_class: "a/I".into(),
            super_class: Some("java/lang/Object".into()),
            fields: vec![Field {
                access: 0x19,
                name: "X".into(),
                descriptor: "S".into(),
                constant: Some(ConstantValue::Int(-28672)),
            }],
            ..Default::default()
        };
        let b = cf.to_bytes().unwrap();
        assert_eq!(&b[..8], &[0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52]);
        // #1 "a/I", #2 Class a/I, #3 "java/lang/Object", #4 Class, #5 "X",
        // #6 "S", #7 Integer, #8 "ConstantValue".
        assert_eq!(u16::from_be_bytes([b[8], b[9]]), 9);
        let tail = &b[b.len() - 24..];
        assert_eq!(
            tail,
            &[
                0, 0, // interfaces
                0, 1, 0, 0x19, 0, 5, 0, 6, 0, 1, 0, 8, 0, 0, 0, 2, 0, 7, // field
                0, 0, // methods
                0, 0, // attributes
            ]
        );
    }

    #[test]
    fn longs_take_two_entries_and_strings_are_modified_utf8() {
        let mut cp = ConstantPool::default();
        assert_eq!(cp.long(1).unwrap(), 1);
        assert_eq!(cp.utf8("a\0é").unwrap(), 3);
        assert_eq!(cp.long(1).unwrap(), 1);
        assert_eq!(cp.next, 4);
        assert_eq!(modified_utf8("a\0é"), [b'a', 0xC0, 0x80, 0xC3, 0xA9]);
        assert_eq!(modified_utf8("\u{1F600}").len(), 6);
    }
}
