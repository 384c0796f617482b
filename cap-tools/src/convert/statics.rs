//! The static field image (JCVM 6.11): where each static field lives and
//! what it starts with.
//!
//! A card does not run `<clinit>`; what the static initializers of a Java
//! Card package may do is what the Static Field component can express:
//! give primitive fields constant values and create primitive arrays with
//! constant contents (`static final byte[] T = {1, 2, 3};`). Each `<clinit>`
//! is read as a sequence of such assignments and folded into the image; any
//! other code in it is refused, naming the line.
//!
//! The image has four segments: arrays initialised by `<clinit>`, other
//! references, primitives left at zero, primitives with initial values.

use std::collections::HashMap;

use crate::cap::components::static_field::{
    ArrayInit, StaticFieldComponent, TYPE_BOOLEAN, TYPE_BYTE, TYPE_INT, TYPE_SHORT,
};
use crate::classfile::insn::{op, Insn, Operands};
use crate::classfile::{Constant, Method};

use super::error::{Error, Place, Result};
use super::model::{acc, is_constant, is_reference, Class, Package};

/// An initial value found in a `<clinit>`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Init {
    Value(i32),
    /// Element type (array_init type) and contents, big-endian.
    Array(u8, Vec<u8>),
}

/// The laid-out image.
#[derive(Debug, Clone)]
pub struct Image {
    /// Offset of each (class, field index) in the image.
    pub offsets: HashMap<(usize, usize), u16>,
    pub component: StaticFieldComponent,
}

/// Folds every `<clinit>` and lays out the image.
pub fn build(pkg: &Package<'_>) -> Result<Image> {
    let mut inits: HashMap<(usize, usize), Init> = HashMap::new();
    for (ci, class) in pkg.classes.iter().enumerate() {
        if let Some(m) = class.file.methods.iter().find(|m| m.name == "<clinit>") {
            for (k, v) in fold(class, m)? {
                inits.insert((ci, k), v);
            }
        }
    }
    // Segments, each in class then declaration order.
    let mut segments: [Vec<(usize, usize, u16)>; 4] = Default::default();
    let mut array_init = Vec::new();
    let mut values = Vec::new();
    for (ci, class) in pkg.classes.iter().enumerate() {
        for (k, f) in class.file.fields.iter().enumerate() {
            if f.access_flags & acc::STATIC == 0 || is_constant(f) {
                continue;
            }
            let size = field_size(&f.descriptor);
            let seg = match inits.get(&(ci, k)) {
                Some(Init::Array(..)) => 0,
                _ if is_reference(&f.descriptor) => 1,
                Some(Init::Value(v)) if *v != 0 => 3,
                _ => 2,
            };
            segments[seg].push((ci, k, size));
        }
    }
    let mut offsets = HashMap::new();
    let mut at = 0u32;
    for (seg, fields) in segments.iter().enumerate() {
        for &(ci, k, size) in fields {
            let offset = u16::try_from(at)
                .map_err(|_| Error::general("the static field image exceeds 64 KiB"))?;
            offsets.insert((ci, k), offset);
            at += u32::from(size);
            match (seg, inits.get(&(ci, k))) {
                (0, Some(Init::Array(t, bytes))) => array_init.push(ArrayInit {
                    type_: *t,
                    values: bytes.clone(),
                }),
                (3, Some(Init::Value(v))) => {
                    let be = v.to_be_bytes();
                    values.extend_from_slice(&be[4 - usize::from(size)..]);
                }
                _ => {}
            }
        }
    }
    let refs = segments[0].len() + segments[1].len();
    let defaults: u32 = segments[2].iter().map(|f| u32::from(f.2)).sum();
    let image_size =
        u16::try_from(at).map_err(|_| Error::general("the static field image exceeds 64 KiB"))?;
    Ok(Image {
        offsets,
        component: StaticFieldComponent {
            image_size,
            reference_count: refs as u16,
            array_init,
            default_value_count: defaults as u16,
            non_default_values: values,
        },
    })
}

/// Bytes a static field takes in the image.
fn field_size(desc: &str) -> u16 {
    match desc.as_bytes().first() {
        Some(b'Z' | b'B') => 1,
        Some(b'I') => 4,
        _ => 2,
    }
}

/// Reads a `<clinit>` as assignments of constants and array literals.
fn fold(class: &Class<'_>, m: &Method) -> Result<Vec<(usize, Init)>> {
    let insns = class.file.instructions(m).map_err(|e| {
        Error::at(
            Place::method(class.name, &m.name, &m.descriptor),
            e.to_string(),
        )
    })?;
    let code = m.code.as_ref();
    let line = |pc: u32| {
        code.and_then(|c| {
            c.line_numbers
                .iter()
                .filter(|l| u32::from(l.start_pc) <= pc)
                .max_by_key(|l| l.start_pc)
                .map(|l| u32::from(l.line))
        })
    };
    let err = |pc: u32, msg: &str| {
        Error::at(
            Place::method(class.name, "<clinit>", "()V").at_line(line(pc)),
            format!("{msg}; a Java Card static initializer may only assign constants and primitive array literals"),
        )
    };
    if code.is_some_and(|c| !c.exception_table.is_empty()) {
        return Err(err(0, "has exception handlers"));
    }
    let mut out = Vec::new();
    let mut i = 0;
    let constant = |x: &Insn| -> Option<i32> {
        match (x.opcode, &x.operands) {
            (op::ICONST_M1..=op::ICONST_5, _) => {
                Some(i32::from(x.opcode) - i32::from(op::ICONST_0))
            }
            (op::BIPUSH, Operands::Byte(b)) => Some(i32::from(*b)),
            (op::SIPUSH, Operands::Short(s)) => Some(i32::from(*s)),
            (op::LDC | op::LDC_W, Operands::Cp(c)) => match class.file.constant_pool.get(*c) {
                Some(Constant::Integer(v)) => Some(*v),
                _ => None,
            },
            _ => None,
        }
    };
    let at = |i: usize| insns.get(i);
    while let Some(x) = at(i) {
        if x.opcode == op::RETURN {
            if i + 1 != insns.len() {
                return Err(err(x.pc, "returns before its end"));
            }
            return Ok(out);
        }
        // aconst_null; putstatic: the default already.
        let (init, next) = if x.opcode == op::ACONST_NULL {
            (None, i + 1)
        } else if let Some(c) = constant(x) {
            if at(i + 1).map(|n| n.opcode) == Some(op::NEWARRAY) {
                let (t, size) = match at(i + 1).map(|n| &n.operands) {
                    Some(Operands::NewArray(4)) => (TYPE_BOOLEAN, 1),
                    Some(Operands::NewArray(8)) => (TYPE_BYTE, 1),
                    Some(Operands::NewArray(9)) => (TYPE_SHORT, 2),
                    Some(Operands::NewArray(10)) => (TYPE_INT, 4),
                    _ => return Err(err(x.pc, "creates an array of a type Java Card lacks")),
                };
                let len = usize::try_from(c)
                    .ok()
                    .filter(|&n| n <= 0x7FFF)
                    .ok_or_else(|| err(x.pc, "has a bad array size"))?;
                let mut bytes = vec![0u8; len * size];
                let mut j = i + 2;
                // (dup; index; value; Tastore)*
                while at(j).map(|n| n.opcode) == Some(op::DUP) {
                    let (Some(ix), Some(v), Some(st)) = (at(j + 1), at(j + 2), at(j + 3)) else {
                        return Err(err(x.pc, "ends inside an array literal"));
                    };
                    let (Some(ix), Some(v)) = (constant(ix), constant(v)) else {
                        return Err(err(st.pc, "computes an array element"));
                    };
                    if !matches!(st.opcode, op::BASTORE | op::SASTORE | op::IASTORE) {
                        return Err(err(st.pc, "stores something else into an array"));
                    }
                    let ix = usize::try_from(ix)
                        .ok()
                        .filter(|&n| n < len)
                        .ok_or_else(|| err(st.pc, "has an array index out of bounds"))?;
                    let be = v.to_be_bytes();
                    bytes[ix * size..(ix + 1) * size].copy_from_slice(&be[4 - size..]);
                    j += 4;
                }
                (Some(Init::Array(t, bytes)), j)
            } else {
                (Some(Init::Value(c)), i + 1)
            }
        } else {
            return Err(err(x.pc, &format!("executes {}", x.mnemonic())));
        };
        let Some(put) = at(next).filter(|n| n.opcode == op::PUTSTATIC) else {
            return Err(err(
                at(next).map_or(x.pc, |n| n.pc),
                "computes a value it does not store into a static field",
            ));
        };
        let Operands::Cp(index) = put.operands else {
            return Err(err(put.pc, "has a malformed putstatic"));
        };
        let target = class
            .file
            .constant_pool
            .member_ref(index)
            .map_err(|e| err(put.pc, &e.to_string()))?;
        let field = (target.class == class.name)
            .then(|| {
                class
                    .file
                    .fields
                    .iter()
                    .position(|f| f.name == target.name && f.descriptor == target.descriptor)
            })
            .flatten()
            .ok_or_else(|| {
                err(
                    put.pc,
                    &format!(
                        "assigns {}.{}, a field of another class",
                        target.class.replace('/', "."),
                        target.name
                    ),
                )
            })?;
        let fdesc = &class.file.fields[field].descriptor;
        match &init {
            Some(Init::Array(t, _)) if array_type(fdesc) != Some(*t) => {
                return Err(err(
                    put.pc,
                    &format!(
                        "assigns an array literal of another type to {}",
                        target.name
                    ),
                ))
            }
            Some(Init::Value(_)) if is_reference(fdesc) => {
                return Err(err(put.pc, &format!("assigns a number to {}", target.name)))
            }
            None if !is_reference(fdesc) => {
                return Err(err(put.pc, &format!("assigns null to {}", target.name)))
            }
            _ => {}
        }
        if let Some(init) = init {
            out.retain(|(k, _)| *k != field);
            out.push((field, init));
        }
        i = next + 1;
    }
    Err(err(0, "does not end with return"))
}

/// The array_init type of a primitive array descriptor.
fn array_type(desc: &str) -> Option<u8> {
    match desc {
        "[Z" => Some(TYPE_BOOLEAN),
        "[B" => Some(TYPE_BYTE),
        "[S" => Some(TYPE_SHORT),
        "[I" => Some(TYPE_INT),
        _ => None,
    }
}
