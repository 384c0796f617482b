//! The Code attribute of a method (JVMS 4.7.3) and the debugging tables
//! inside it. Program counters in the tables are checked against the code
//! length here, so the converter can index the bytecode with them.

use serde::Serialize;

use super::constant_pool::ConstantPool;
use super::descriptor::check_field_descriptor;
use super::refs::{self, attributes, capacity, once};
use crate::bytes::Reader;
use crate::error::Result;

/// A method's code with its limits, exception handlers and debug tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Code {
    pub max_stack: u16,
    pub max_locals: u16,
    pub bytecode: Vec<u8>,
    pub exception_table: Vec<ExceptionEntry>,
    /// All LineNumberTable attributes, concatenated in file order.
    pub line_numbers: Vec<LineNumber>,
    /// All LocalVariableTable attributes, concatenated (present with `javac -g`).
    pub local_variables: Vec<LocalVariable>,
    /// Whether the code has a StackMapTable (classes of version 50 and later
    /// with branches do); its frames are not decoded.
    pub stack_map_present: bool,
}

/// A handler covering `start_pc..end_pc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionEntry {
    pub start_pc: u16,
    pub end_pc: u16,
    pub handler_pc: u16,
    /// The caught class; `None` catches everything (`finally`).
    pub catch_type: Option<String>,
}

/// The source line that the code from `start_pc` on comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineNumber {
    pub start_pc: u16,
    pub line: u16,
}

/// A named local variable live in `start_pc..start_pc + length`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalVariable {
    pub start_pc: u16,
    pub length: u16,
    pub name: String,
    pub descriptor: String,
    pub index: u16,
}

/// JVMS 4.7.3: code_length is greater than zero and less than 65536.
const MAX_CODE: usize = 65535;

/// Reads the body of a Code attribute.
pub(super) fn read(r: &mut Reader<'_>, cp: &ConstantPool) -> Result<Code> {
    let max_stack = r.u2("max_stack")?;
    let max_locals = r.u2("max_locals")?;
    let at = r.offset();
    let len = r.u4("code_length")? as usize;
    if len == 0 || len > MAX_CODE {
        return Err(r.error_at(at, format!("code_length {len} is not 1..={MAX_CODE}")));
    }
    let bytecode = r.bytes(len, "code")?.to_vec();
    let count = usize::from(r.u2("exception_table_length")?);
    let mut exception_table = Vec::with_capacity(capacity(r, count, 8));
    for _ in 0..count {
        exception_table.push(exception_entry(r, cp, len)?);
    }
    let mut code = Code {
        max_stack,
        max_locals,
        bytecode,
        exception_table,
        line_numbers: Vec::new(),
        local_variables: Vec::new(),
        stack_map_present: false,
    };
    attributes(r, cp, |name, body| {
        match name {
            "LineNumberTable" => line_numbers(body, len, &mut code.line_numbers)?,
            "LocalVariableTable" => {
                local_variables(body, cp, len, max_locals, &mut code.local_variables)?
            }
            "StackMapTable" => {
                once(body, &mut code.stack_map_present, name)?;
                return Ok(false);
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(code)
}

fn exception_entry(r: &mut Reader<'_>, cp: &ConstantPool, len: usize) -> Result<ExceptionEntry> {
    let at = r.offset();
    let start_pc = r.u2("start_pc")?;
    let end_pc = r.u2("end_pc")?;
    let handler_pc = r.u2("handler_pc")?;
    if start_pc >= end_pc || usize::from(end_pc) > len || usize::from(handler_pc) >= len {
        return Err(r.error_at(
            at,
            format!(
                "exception table entry {start_pc}..{end_pc} -> {handler_pc} does not fit the {len} byte(s) of code"
            ),
        ));
    }
    Ok(ExceptionEntry {
        start_pc,
        end_pc,
        handler_pc,
        catch_type: refs::optional_class(r, cp, "catch_type")?,
    })
}

fn line_numbers(r: &mut Reader<'_>, len: usize, out: &mut Vec<LineNumber>) -> Result<()> {
    let count = usize::from(r.u2("line_number_table_length")?);
    out.reserve(capacity(r, count, 4));
    for _ in 0..count {
        let at = r.offset();
        let start_pc = r.u2("line start_pc")?;
        if usize::from(start_pc) >= len {
            return Err(r.error_at(
                at,
                format!("LineNumberTable: start_pc {start_pc} is past the code ({len} bytes)"),
            ));
        }
        let line = r.u2("line_number")?;
        out.push(LineNumber { start_pc, line });
    }
    Ok(())
}

fn local_variables(
    r: &mut Reader<'_>,
    cp: &ConstantPool,
    len: usize,
    max_locals: u16,
    out: &mut Vec<LocalVariable>,
) -> Result<()> {
    let count = usize::from(r.u2("local_variable_table_length")?);
    out.reserve(capacity(r, count, 10));
    for _ in 0..count {
        let at = r.offset();
        let start_pc = r.u2("local start_pc")?;
        let length = r.u2("local length")?;
        let name = refs::utf8(r, cp, "local name_index")?;
        let descriptor = refs::utf8(r, cp, "local descriptor_index")?;
        let index = r.u2("local index")?;
        if usize::from(start_pc) + usize::from(length) > len {
            return Err(r.error_at(
                at,
                format!("LocalVariableTable: {name} at {start_pc}+{length} runs past the code ({len} bytes)"),
            ));
        }
        check_field_descriptor(&descriptor).map_err(|_| {
            r.error_at(
                at,
                format!("LocalVariableTable: {name} has a bad descriptor {descriptor:?}"),
            )
        })?;
        let slots = if descriptor == "J" || descriptor == "D" {
            2
        } else {
            1
        };
        if u32::from(index) + slots > u32::from(max_locals) {
            return Err(r.error_at(
                at,
                format!(
                    "LocalVariableTable: {name} in slot {index} is beyond max_locals {max_locals}"
                ),
            ));
        }
        out.push(LocalVariable {
            start_pc,
            length,
            name,
            descriptor,
            index,
        });
    }
    Ok(())
}
