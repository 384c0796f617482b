//! The Debug component (CAP 2.2, `--debug`): names, source lines and local
//! variables of every class and method, for debuggers and disassemblers;
//! never loaded onto a card. Program counters count from each method's
//! first instruction, as the specification's `line_info` and
//! `variable_info` do.

use std::collections::HashMap;

use crate::cap::components::debug::{
    ClassDebugInfo, Debug, FieldContents, FieldDebugInfo, LineInfo, MethodDebugInfo, VariableInfo,
};

use super::error::{Error, Result};
use super::methods::{MethodLayout, Unit};
use super::model::{acc, Package};
use super::tokens::{ClassTokens, FieldToken};

/// The string table under construction.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: HashMap<String, u16>,
}

impl Strings {
    fn get(&mut self, s: &str) -> Result<u16> {
        if let Some(&i) = self.index.get(s) {
            return Ok(i);
        }
        let i = u16::try_from(self.list.len())
            .map_err(|_| Error::general("the Debug component has more than 65535 strings"))?;
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), i);
        Ok(i)
    }
}

const FLAGS: u16 = acc::PUBLIC
    | acc::PRIVATE
    | acc::PROTECTED
    | acc::STATIC
    | acc::FINAL
    | acc::INTERFACE
    | acc::ABSTRACT;

/// Builds the Debug component.
pub fn component(
    pkg: &Package<'_>,
    tokens: &[ClassTokens],
    units: &[Unit<'_>],
    layout: &MethodLayout,
    statics: &HashMap<(usize, usize), u16>,
    class_offsets: &[u16],
) -> Result<Debug> {
    let mut s = Strings::default();
    let package_name_index = s.get(&pkg.name)?;
    let units_by: HashMap<(usize, usize), &Unit<'_>> =
        units.iter().map(|u| ((u.class, u.index), u)).collect();
    let mut classes = Vec::new();
    for (i, c) in pkg.classes.iter().enumerate() {
        let name_index = s.get(c.name)?;
        let superclass_name_index =
            s.get(c.file.super_class.as_deref().unwrap_or("java/lang/Object"))?;
        let source_file_index = s.get(c.file.source_file.as_deref().unwrap_or(""))?;
        let interface_name_indexes = c
            .file
            .interfaces
            .iter()
            .map(|n| s.get(n))
            .collect::<Result<Vec<_>>>()?;
        // Instance fields by token, then the others in declaration order.
        let mut order: Vec<usize> = (0..c.file.fields.len()).collect();
        order.sort_by_key(|&k| match tokens[i].fields[k] {
            FieldToken::Instance(t) => (0, usize::from(t)),
            _ => (1, k),
        });
        let mut fields = Vec::new();
        for k in order {
            let f = &c.file.fields[k];
            let contents = match (tokens[i].fields[k], &f.constant_value) {
                (FieldToken::Instance(t), _) => FieldContents::InstanceToken(t),
                (FieldToken::Static(_), _) => {
                    FieldContents::StaticLocation(statics.get(&(i, k)).copied().unwrap_or(0))
                }
                (FieldToken::Constant, Some(crate::classfile::Constant::Integer(v))) => {
                    FieldContents::ConstValue(*v as u32)
                }
                (FieldToken::Constant, _) => continue,
            };
            fields.push(FieldDebugInfo {
                name_index: s.get(&f.name)?,
                descriptor_index: s.get(&f.descriptor)?,
                access_flags: f.access_flags & FLAGS,
                contents,
            });
        }
        let mut methods = Vec::new();
        for (k, m) in c.file.methods.iter().enumerate() {
            let Some(u) = units_by.get(&(i, k)) else {
                continue;
            };
            // Only compact files get a Debug component (see `chosen_format`).
            let location = layout.offsets[&(i, k)].offset;
            let mut info = MethodDebugInfo {
                name_index: s.get(&m.name)?,
                descriptor_index: s.get(&m.descriptor)?,
                access_flags: m.access_flags & FLAGS,
                location,
                header_size: 0,
                body_size: 0,
                variables: Vec::new(),
                lines: Vec::new(),
            };
            if let Some(b) = &u.body {
                let asm = b
                    .asm
                    .as_ref()
                    .ok_or_else(|| Error::general("internal: method not assembled"))?;
                info.header_size = if b.t.max_stack <= 15 && u.nargs <= 15 && b.t.max_locals <= 15 {
                    2
                } else {
                    4
                };
                info.body_size = asm.len as u16;
                let pc = |n: &usize| asm.labels.get(n).copied().unwrap_or(asm.len) as u16;
                // By slot, the latest scope first, as Oracle's converter lists them.
                let mut vars: Vec<_> = b.t.vars.iter().collect();
                vars.sort_by_key(|v| (v.0, std::cmp::Reverse(v.3)));
                for (slot, name, desc, start, end) in vars {
                    let Some(&index) = b.t.local_index.get(usize::from(*slot)) else {
                        continue;
                    };
                    let (from, to) = (pc(start), pc(end));
                    if to <= from {
                        continue;
                    }
                    info.variables.push(VariableInfo {
                        index: index as u8,
                        name_index: s.get(name)?,
                        descriptor_index: s.get(desc)?,
                        start_pc: from,
                        length: to - from,
                    });
                }
                let mut starts: Vec<(u16, u16)> =
                    b.t.lines.iter().map(|(n, line)| (pc(n), *line)).collect();
                starts.sort();
                for (j, &(from, line)) in starts.iter().enumerate() {
                    let next = starts.get(j + 1).map_or(asm.len as u16, |x| x.0);
                    if next > from {
                        info.lines.push(LineInfo {
                            start_pc: from,
                            end_pc: next - 1,
                            source_line: line,
                        });
                    }
                }
            } else {
                info.header_size = 2;
            }
            methods.push(info);
        }
        classes.push(ClassDebugInfo {
            name_index,
            access_flags: c.file.access_flags & FLAGS,
            location: class_offsets[i],
            superclass_name_index,
            source_file_index,
            interface_name_indexes,
            fields,
            methods,
        });
    }
    Ok(Debug {
        strings: s.list,
        package_name_index,
        classes,
    })
}
