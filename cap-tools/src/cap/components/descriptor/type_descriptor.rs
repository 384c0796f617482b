//! `type_descriptor` (JCVM §6.8.1): field types and method signatures packed
//! in nibbles, used by the Descriptor component's type table and the Class
//! component's signature pool.
//!
//! Decoding checks every nibble, so the typed form re-encodes to the same bytes.

use serde::Serialize;

use crate::bytes::{to_u8, Reader, WriteExt};
use crate::cap::components::class::ClassRef;
use crate::error::Result;

/// One type in a descriptor (JCVM table "Type descriptor values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum JcType {
    Void,
    Boolean,
    Byte,
    Short,
    Int,
    Reference(ClassRef),
    BooleanArray,
    ByteArray,
    ShortArray,
    IntArray,
    ReferenceArray(ClassRef),
}

impl JcType {
    /// Number of nibbles this type takes.
    fn nibble_len(&self) -> usize {
        match self {
            JcType::Reference(_) | JcType::ReferenceArray(_) => 5,
            _ => 1,
        }
    }

    /// Java notation; class references go through `name`.
    pub fn render_with(&self, name: &dyn Fn(ClassRef) -> String) -> String {
        match self {
            JcType::Void => "V".into(),
            JcType::Boolean => "Z".into(),
            JcType::Byte => "B".into(),
            JcType::Short => "S".into(),
            JcType::Int => "I".into(),
            JcType::Reference(c) => format!("L{};", name(*c)),
            JcType::BooleanArray => "[Z".into(),
            JcType::ByteArray => "[B".into(),
            JcType::ShortArray => "[S".into(),
            JcType::IntArray => "[I".into(),
            JcType::ReferenceArray(c) => format!("[L{};", name(*c)),
        }
    }
}

/// One type_descriptor: the types in nibble order (a method signature lists
/// its parameters then its return type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeDescriptor {
    /// Offset of this descriptor within its table (the type_descriptor_info
    /// structure, or the signature pool), which is how other items refer to it.
    pub offset: u16,
    pub types: Vec<JcType>,
}

impl TypeDescriptor {
    /// Reads one type_descriptor at `offset` within its table.
    pub fn decode(r: &mut Reader<'_>, offset: u16) -> Result<TypeDescriptor> {
        let start = r.offset();
        let nibble_count = usize::from(r.u1("type_descriptor nibble_count")?);
        if nibble_count == 0 {
            return Err(r.error_at(start, "type_descriptor with nibble_count 0 names no type"));
        }
        let bytes = r.bytes(nibble_count.div_ceil(2), "type_descriptor type")?;
        let nibble = |i: usize| {
            let b = bytes[i / 2];
            if i & 1 == 0 {
                b >> 4
            } else {
                b & 0x0F
            }
        };
        if nibble_count % 2 == 1 && nibble(nibble_count) != 0 {
            return Err(r.error_at(
                start,
                format!(
                    "type_descriptor padding nibble is {:#x}, must be 0",
                    nibble(nibble_count)
                ),
            ));
        }
        let mut types = Vec::new();
        let mut i = 0;
        while i < nibble_count {
            let n = nibble(i);
            let class_ref = |i: usize| -> Result<ClassRef> {
                if i + 5 > nibble_count {
                    return Err(r.error_at(
                        start,
                        format!("type_descriptor: class reference at nibble {i} runs past nibble_count {nibble_count}"),
                    ));
                }
                let v = (1..5).fold(0u16, |acc, k| (acc << 4) | u16::from(nibble(i + k)));
                Ok(ClassRef::from_u16(v))
            };
            let t = match n {
                0x1 => JcType::Void,
                0x2 => JcType::Boolean,
                0x3 => JcType::Byte,
                0x4 => JcType::Short,
                0x5 => JcType::Int,
                0x6 => JcType::Reference(class_ref(i)?),
                0xA => JcType::BooleanArray,
                0xB => JcType::ByteArray,
                0xC => JcType::ShortArray,
                0xD => JcType::IntArray,
                0xE => JcType::ReferenceArray(class_ref(i)?),
                other => {
                    return Err(r.error_at(
                        start,
                        format!("type_descriptor nibble {i} is {other:#x}, not a type code"),
                    ))
                }
            };
            i += t.nibble_len();
            types.push(t);
        }
        Ok(TypeDescriptor { offset, types })
    }

    /// Encoded size in bytes.
    pub fn byte_len(&self) -> usize {
        1 + self.nibbles().len().div_ceil(2)
    }

    fn nibbles(&self) -> Vec<u8> {
        let mut n = Vec::new();
        for t in &self.types {
            let (code, class) = match t {
                JcType::Void => (0x1, None),
                JcType::Boolean => (0x2, None),
                JcType::Byte => (0x3, None),
                JcType::Short => (0x4, None),
                JcType::Int => (0x5, None),
                JcType::Reference(c) => (0x6, Some(*c)),
                JcType::BooleanArray => (0xA, None),
                JcType::ByteArray => (0xB, None),
                JcType::ShortArray => (0xC, None),
                JcType::IntArray => (0xD, None),
                JcType::ReferenceArray(c) => (0xE, Some(*c)),
            };
            n.push(code);
            if let Some(c) = class {
                // Encoding errors surface in `encode`; here an invalid ref
                // contributes its nibble count only.
                let [hi, lo] = c.to_u16().unwrap_or(0).to_be_bytes();
                n.extend([hi >> 4, hi & 0xF, lo >> 4, lo & 0xF]);
            }
        }
        n
    }

    /// Appends nibble_count and the packed nibbles.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        for t in &self.types {
            if let JcType::Reference(c) | JcType::ReferenceArray(c) = t {
                c.to_u16()?;
            }
        }
        let n = self.nibbles();
        out.put_u1(to_u8(n.len(), "type_descriptor", "nibble_count")?);
        for pair in n.chunks(2) {
            let hi = pair[0];
            let lo = pair.get(1).copied().unwrap_or(0);
            out.put_u1((hi << 4) | lo);
        }
        Ok(())
    }

    /// Java notation of a field type (`S`, `[B`, `L1.3;`); class references
    /// are rendered by `name`. Meaningful for single-type descriptors.
    pub fn render_field_with(&self, name: &dyn Fn(ClassRef) -> String) -> String {
        self.types.iter().map(|t| t.render_with(name)).collect()
    }

    /// Java notation of a method signature, e.g. `(SB[B)V`: every type but
    /// the last is a parameter, the last is the return type.
    pub fn render_method_with(&self, name: &dyn Fn(ClassRef) -> String) -> String {
        let (ret, params) = match self.types.split_last() {
            Some((ret, params)) => (ret.render_with(name), params),
            None => (String::new(), &[][..]),
        };
        let params: String = params.iter().map(|t| t.render_with(name)).collect();
        format!("({params}){ret}")
    }

    /// [`Self::render_method_with`] with class references shown by [`ClassRef`]'s `Display`.
    pub fn render_method(&self) -> String {
        self.render_method_with(&|c| c.to_string())
    }

    /// [`Self::render_field_with`] with class references shown by [`ClassRef`]'s `Display`.
    pub fn render_field(&self) -> String {
        self.render_field_with(&|c| c.to_string())
    }
}

/// Reads type_descriptors until `r` is empty; offsets are relative to
/// `table_start` (the reader offset where the enclosing table begins).
pub fn decode_type_table(r: &mut Reader<'_>, table_start: usize) -> Result<Vec<TypeDescriptor>> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let rel = r.offset() - table_start;
        let offset = u16::try_from(rel)
            .map_err(|_| r.error(format!("type_descriptor offset {rel:#x} exceeds 0xFFFF")))?;
        out.push(TypeDescriptor::decode(r, offset)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<TypeDescriptor> {
        let mut r = Reader::new(bytes, "types");
        let t = TypeDescriptor::decode(&mut r, 0)?;
        r.expect_end()?;
        Ok(t)
    }

    fn round_trip(bytes: &[u8]) -> TypeDescriptor {
        let t = decode(bytes).unwrap();
        let mut out = Vec::new();
        t.encode(&mut out).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(t.byte_len(), bytes.len());
        t
    }

    #[test]
    fn method_signatures_render_in_java_notation() {
        // (S B [B) V : nibbles 4 3 B 1
        let t = round_trip(&[0x04, 0x43, 0xB1]);
        assert_eq!(t.render_method(), "(SB[B)V");
        // ()V is a single nibble with padding.
        assert_eq!(round_trip(&[0x01, 0x10]).render_method(), "()V");
        // (Lp2.c1;)S : 6 8 2 0 1 4
        let t = round_trip(&[0x06, 0x68, 0x20, 0x14]);
        assert_eq!(t.render_method(), "(L2.1;)S");
        assert_eq!(
            t.render_method_with(&|_| "com/example/lib/Counter".into()),
            "(Lcom/example/lib/Counter;)S"
        );
    }

    #[test]
    fn field_types_render() {
        assert_eq!(round_trip(&[0x01, 0x40]).render_field(), "S");
        // [L2.0; with padding nibble.
        assert_eq!(
            round_trip(&[0x05, 0xE8, 0x20, 0x00]).render_field(),
            "[L2.0;"
        );
        // Internal class reference.
        assert_eq!(
            round_trip(&[0x05, 0x60, 0x04, 0x20]).render_field(),
            "L@0x0042;"
        );
    }

    #[test]
    fn malformed_descriptors_are_errors() {
        assert!(decode(&[0x00]).is_err(), "empty descriptor");
        assert!(decode(&[0x01, 0x41]).is_err(), "non-zero padding");
        assert!(decode(&[0x01, 0x70]).is_err(), "nibble 7 is no type");
        assert!(decode(&[0x03, 0x68, 0x20]).is_err(), "class ref cut short");
        assert!(decode(&[0x04, 0x43]).is_err(), "truncated bytes");
    }

    #[test]
    fn table_offsets_count_from_the_table_start() {
        let bytes = [0xAA, 0x01, 0x40, 0x02, 0x41];
        let mut r = Reader::new(&bytes, "types");
        r.u1("skip").unwrap();
        let table = decode_type_table(&mut r, 0).unwrap();
        assert_eq!(table.iter().map(|t| t.offset).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(table[1].render_method(), "(S)V");
    }
}
