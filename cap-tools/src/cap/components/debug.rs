//! Debug component (tag 12, CAP 2.2+): names, source lines and local variables
//! for a debugger; never loaded onto a card (JCVM 2.2.2 §6.14, the layout the
//! 3.2.0 converter still writes).
//!
//! Every name in the component is an index into one string table:
//!
//! ```text
//! u2 string_count; utf8_info strings_table[string_count]   // utf8_info = u2 length, bytes
//! u2 package_name_index
//! u2 class_count; class_debug_info classes[class_count]
//! class_debug_info  { u2 name_index, access_flags, location, superclass_name_index,
//!                     source_file_index; u1 interface_count; u2 field_count, method_count;
//!                     u2 interface_names_indexes[]; field_debug_info fields[];
//!                     method_debug_info methods[] }
//! field_debug_info  { u2 name_index, descriptor_index, access_flags; u4 contents }
//! method_debug_info { u2 name_index, descriptor_index, access_flags, location;
//!                     u1 header_size; u2 body_size, variable_count, line_count;
//!                     variable_info variable_table[]; line_info line_table[] }
//! variable_info     { u1 index; u2 name_index, descriptor_index, start_pc, length }
//! line_info         { u2 start_pc, end_pc, source_line }
//! ```
//!
//! The layout of the Debug component in extended CAP files is not covered by
//! the sources this decoder was written from, so decoding one is refused with
//! an explicit error instead of being guessed.

use serde::Serialize;

use crate::bytes::{to_u16, to_u8, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

const LOCATION: &str = "Debug component";

/// Field and method flag: static.
pub const ACC_STATIC: u16 = 0x0008;
/// Field and method flag: final.
pub const ACC_FINAL: u16 = 0x0010;

/// What the 4-byte `contents` of a field holds, told apart by the field's
/// access flags and descriptor as the specification prescribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FieldContents {
    /// An instance field: its instance field token (`token_var`: three zero
    /// pad bytes, then the token).
    InstanceToken(u8),
    /// A static field: its offset in the static field image (`location_var`:
    /// two zero pad bytes, then the u2 location).
    StaticLocation(u16),
    /// A primitive `static final` constant: its value (`const_value`).
    ConstValue(u32),
}

/// A `field_debug_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDebugInfo {
    pub name_index: u16,
    pub descriptor_index: u16,
    pub access_flags: u16,
    pub contents: FieldContents,
}

/// A `variable_info`: a local variable's slot, name, type and live range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VariableInfo {
    pub index: u8,
    pub name_index: u16,
    pub descriptor_index: u16,
    pub start_pc: u16,
    pub length: u16,
}

/// A `line_info`: the bytecode range `start_pc..=end_pc` of a source line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineInfo {
    pub start_pc: u16,
    pub end_pc: u16,
    pub source_line: u16,
}

/// A `method_debug_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodDebugInfo {
    pub name_index: u16,
    pub descriptor_index: u16,
    pub access_flags: u16,
    /// Offset of the `method_info` in the Method component info (0 if abstract).
    pub location: u16,
    pub header_size: u8,
    pub body_size: u16,
    pub variables: Vec<VariableInfo>,
    pub lines: Vec<LineInfo>,
}

/// A `class_debug_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassDebugInfo {
    pub name_index: u16,
    pub access_flags: u16,
    /// Offset of the `class_info`/`interface_info` in the Class component info.
    pub location: u16,
    pub superclass_name_index: u16,
    pub source_file_index: u16,
    pub interface_name_indexes: Vec<u16>,
    pub fields: Vec<FieldDebugInfo>,
    pub methods: Vec<MethodDebugInfo>,
}

/// The decoded Debug component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Debug {
    /// The string table every `*_index` refers to.
    pub strings: Vec<String>,
    pub package_name_index: u16,
    pub classes: Vec<ClassDebugInfo>,
}

impl Debug {
    /// The string at a table index.
    pub fn string(&self, index: u16) -> Option<&str> {
        self.strings.get(index as usize).map(String::as_str)
    }

    /// The package name (`com/example/app`), if its index is valid.
    pub fn package_name(&self) -> Option<&str> {
        self.string(self.package_name_index)
    }

    /// The dotted name of the class that holds the method at `offset` in the
    /// Method component (e.g. to name an applet by its install method).
    pub fn class_name_of_method_offset(&self, offset: u32) -> Option<String> {
        self.classes
            .iter()
            .find(|c| c.methods.iter().any(|m| u32::from(m.location) == offset))
            .and_then(|c| self.string(c.name_index))
            .map(|n| n.replace('/', "."))
    }
}

/// True for a descriptor of a primitive type (`Z`, `B`, `S`, `I`, and the JVM
/// types a converter would not let through but a file may still name).
fn is_primitive_descriptor(d: &str) -> bool {
    matches!(
        d.as_bytes().first(),
        Some(b'Z' | b'B' | b'S' | b'I' | b'C' | b'J' | b'F' | b'D')
    )
}

impl FieldDebugInfo {
    fn decode(r: &mut Reader<'_>, strings: &[String]) -> Result<FieldDebugInfo> {
        let name_index = r.u2("field name_index")?;
        let at = r.offset();
        let descriptor_index = r.u2("field descriptor_index")?;
        let access_flags = r.u2("field access_flags")?;
        let contents_at = r.offset();
        let raw = r.u4("field contents")?;
        let contents = if access_flags & ACC_STATIC == 0 {
            let token = u8::try_from(raw).map_err(|_| {
                r.error_at(
                    contents_at,
                    format!("instance field contents {raw:#010x}: the three pad bytes before the token must be 0"),
                )
            })?;
            FieldContents::InstanceToken(token)
        } else {
            let descriptor = strings.get(descriptor_index as usize).ok_or_else(|| {
                r.error_at(
                    at,
                    format!(
                        "field descriptor_index {descriptor_index} is outside the string table of {} string(s)",
                        strings.len()
                    ),
                )
            })?;
            if access_flags & ACC_FINAL != 0 && is_primitive_descriptor(descriptor) {
                FieldContents::ConstValue(raw)
            } else {
                let location = u16::try_from(raw).map_err(|_| {
                    r.error_at(
                        contents_at,
                        format!("static field contents {raw:#010x}: the two pad bytes before the location must be 0"),
                    )
                })?;
                FieldContents::StaticLocation(location)
            }
        };
        Ok(FieldDebugInfo {
            name_index,
            descriptor_index,
            access_flags,
            contents,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u2(self.name_index);
        out.put_u2(self.descriptor_index);
        out.put_u2(self.access_flags);
        out.put_u4(match self.contents {
            FieldContents::InstanceToken(t) => u32::from(t),
            FieldContents::StaticLocation(l) => u32::from(l),
            FieldContents::ConstValue(v) => v,
        });
    }
}

impl MethodDebugInfo {
    fn decode(r: &mut Reader<'_>) -> Result<MethodDebugInfo> {
        let name_index = r.u2("method name_index")?;
        let descriptor_index = r.u2("method descriptor_index")?;
        let access_flags = r.u2("method access_flags")?;
        let location = r.u2("method location")?;
        let header_size = r.u1("method header_size")?;
        let body_size = r.u2("method body_size")?;
        let variable_count = r.u2("variable_count")? as usize;
        let line_count = r.u2("line_count")? as usize;
        let variable_count = r.bounded_count(variable_count, 9, "variable_count")?;
        let variables = (0..variable_count)
            .map(|_| {
                Ok(VariableInfo {
                    index: r.u1("variable index")?,
                    name_index: r.u2("variable name_index")?,
                    descriptor_index: r.u2("variable descriptor_index")?,
                    start_pc: r.u2("variable start_pc")?,
                    length: r.u2("variable length")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let line_count = r.bounded_count(line_count, 6, "line_count")?;
        let lines = (0..line_count)
            .map(|_| {
                Ok(LineInfo {
                    start_pc: r.u2("line start_pc")?,
                    end_pc: r.u2("line end_pc")?,
                    source_line: r.u2("source_line")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MethodDebugInfo {
            name_index,
            descriptor_index,
            access_flags,
            location,
            header_size,
            body_size,
            variables,
            lines,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(self.name_index);
        out.put_u2(self.descriptor_index);
        out.put_u2(self.access_flags);
        out.put_u2(self.location);
        out.put_u1(self.header_size);
        out.put_u2(self.body_size);
        out.put_u2(to_u16(self.variables.len(), LOCATION, "variable_count")?);
        out.put_u2(to_u16(self.lines.len(), LOCATION, "line_count")?);
        for v in &self.variables {
            out.put_u1(v.index);
            out.put_u2(v.name_index);
            out.put_u2(v.descriptor_index);
            out.put_u2(v.start_pc);
            out.put_u2(v.length);
        }
        for l in &self.lines {
            out.put_u2(l.start_pc);
            out.put_u2(l.end_pc);
            out.put_u2(l.source_line);
        }
        Ok(())
    }
}

impl ClassDebugInfo {
    fn decode(r: &mut Reader<'_>, strings: &[String]) -> Result<ClassDebugInfo> {
        let name_index = r.u2("class name_index")?;
        let access_flags = r.u2("class access_flags")?;
        let location = r.u2("class location")?;
        let superclass_name_index = r.u2("superclass_name_index")?;
        let source_file_index = r.u2("source_file_index")?;
        let interface_count = r.u1("interface_count")? as usize;
        let field_count = r.u2("field_count")? as usize;
        let method_count = r.u2("method_count")? as usize;
        let interface_count = r.bounded_count(interface_count, 2, "interface_count")?;
        let interface_name_indexes = (0..interface_count)
            .map(|_| r.u2("interface_names_indexes"))
            .collect::<Result<Vec<_>>>()?;
        let field_count = r.bounded_count(field_count, 10, "field_count")?;
        let fields = (0..field_count)
            .map(|_| FieldDebugInfo::decode(r, strings))
            .collect::<Result<Vec<_>>>()?;
        let method_count = r.bounded_count(method_count, 15, "method_count")?;
        let methods = (0..method_count)
            .map(|_| MethodDebugInfo::decode(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(ClassDebugInfo {
            name_index,
            access_flags,
            location,
            superclass_name_index,
            source_file_index,
            interface_name_indexes,
            fields,
            methods,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(self.name_index);
        out.put_u2(self.access_flags);
        out.put_u2(self.location);
        out.put_u2(self.superclass_name_index);
        out.put_u2(self.source_file_index);
        out.put_u1(to_u8(
            self.interface_name_indexes.len(),
            LOCATION,
            "interface_count",
        )?);
        out.put_u2(to_u16(self.fields.len(), LOCATION, "field_count")?);
        out.put_u2(to_u16(self.methods.len(), LOCATION, "method_count")?);
        for &i in &self.interface_name_indexes {
            out.put_u2(i);
        }
        for f in &self.fields {
            f.encode(out);
        }
        for m in &self.methods {
            m.encode(out)?;
        }
        Ok(())
    }
}

/// Reads a `utf8_info`.
fn decode_string(r: &mut Reader<'_>, index: usize) -> Result<String> {
    let at = r.offset();
    let len = r.u2("utf8_info length")? as usize;
    let bytes = r.bytes(len, "utf8_info bytes")?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| r.error_at(at, format!("string {index} is not valid UTF-8: {e}")))
}

impl ComponentBody for Debug {
    const TAG: Tag = Tag::Debug;

    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        if ctx.format.extended {
            return Err(
                r.error("the Debug component layout of extended CAP files is not supported")
            );
        }
        let count = r.u2("string_count")? as usize;
        let count = r.bounded_count(count, 2, "string_count")?;
        let strings = (0..count)
            .map(|i| decode_string(r, i))
            .collect::<Result<Vec<_>>>()?;
        let package_name_index = r.u2("package_name_index")?;
        let class_count = r.u2("class_count")? as usize;
        let class_count = r.bounded_count(class_count, 15, "class_count")?;
        let classes = (0..class_count)
            .map(|_| ClassDebugInfo::decode(r, &strings))
            .collect::<Result<Vec<_>>>()?;
        Ok(Debug {
            strings,
            package_name_index,
            classes,
        })
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        if ctx.format.extended {
            return Err(Error::encode(
                LOCATION,
                "the Debug component layout of extended CAP files is not supported",
            ));
        }
        out.put_u2(to_u16(self.strings.len(), LOCATION, "string_count")?);
        for s in &self.strings {
            out.put_u2(to_u16(s.len(), LOCATION, "utf8_info length")?);
            out.put_bytes(s.as_bytes());
        }
        out.put_u2(self.package_name_index);
        out.put_u2(to_u16(self.classes.len(), LOCATION, "class_count")?);
        for c in &self.classes {
            c.encode(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.put_u2(s.len() as u16);
        out.put_bytes(s.as_bytes());
    }

    /// A package with one class holding an instance field, a static field, a
    /// constant and one method with a variable and a line.
    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        v.put_u2(8);
        for s in [
            "p/q",
            "p/q/C",
            "java/lang/Object",
            "C.java",
            "f",
            "S",
            "m",
            "()V",
        ] {
            put_str(&mut v, s);
        }
        v.put_u2(0); // package_name_index
        v.put_u2(1); // class_count
        v.put_bytes(&[0, 1, 0, 1, 0, 2, 0, 2, 0, 3]); // name, flags, location, super, source
        v.put_u1(1); // interface_count
        v.put_u2(3); // field_count
        v.put_u2(1); // method_count
        v.put_u2(2); // interface name index
        v.put_bytes(&[0, 4, 0, 5, 0, 0x02, 0, 0, 0, 7]); // instance field, token 7
        v.put_bytes(&[0, 4, 0, 5, 0, 0x08, 0, 0, 0x01, 0x02]); // static at 0x102
        v.put_bytes(&[0, 4, 0, 5, 0, 0x18, 0xFF, 0xFF, 0xFF, 0xFE]); // constant -2
        v.put_bytes(&[0, 6, 0, 7, 0, 1, 0, 0x10, 2, 0, 5, 0, 1, 0, 1]); // method header
        v.put_bytes(&[0, 0, 4, 0, 5, 0, 0, 0, 5]); // variable
        v.put_bytes(&[0, 0, 0, 4, 0, 42]); // line
        v
    }

    fn decode(bytes: &[u8], format: Format) -> Result<Debug> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = Debug::decode(&mut r, &Context { format })?;
        r.expect_end()?;
        Ok(c)
    }

    #[test]
    fn sample_decodes_typed_and_round_trips() {
        let bytes = sample();
        let d = decode(&bytes, Format::V2_2).unwrap();
        assert_eq!(d.package_name(), Some("p/q"));
        let c = &d.classes[0];
        assert_eq!(d.string(c.name_index), Some("p/q/C"));
        assert_eq!(c.location, 2);
        assert_eq!(c.interface_name_indexes, [2]);
        let contents: Vec<_> = c.fields.iter().map(|f| f.contents).collect();
        assert_eq!(
            contents,
            [
                FieldContents::InstanceToken(7),
                FieldContents::StaticLocation(0x102),
                FieldContents::ConstValue(0xFFFF_FFFE)
            ]
        );
        let m = &c.methods[0];
        assert_eq!((m.location, m.header_size, m.body_size), (0x10, 2, 5));
        assert_eq!(d.string(m.descriptor_index), Some("()V"));
        assert_eq!(m.variables[0].length, 5);
        assert_eq!(m.lines[0].source_line, 42);
        let mut out = Vec::new();
        d.encode(
            &Context {
                format: Format::V2_2,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn malformed_debug_components_are_errors() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], Format::V2_2).is_err(), "prefix {n}");
        }
        // Nonzero pad bytes in an instance field.
        let at = bytes.len() - 15 - 9 - 6 - 30 + 6;
        let mut pad = bytes.clone();
        pad[at] = 1;
        let e = decode(&pad, Format::V2_2).unwrap_err().to_string();
        assert!(e.contains("pad bytes"), "{e}");
        // A string that is not UTF-8.
        let mut utf = bytes.clone();
        utf[2 + 2] = 0xFF;
        let e = decode(&utf, Format::V2_2).unwrap_err().to_string();
        assert!(e.contains("UTF-8"), "{e}");
        let e = decode(&[0xFF, 0xFF, 0, 0], Format::V2_2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("string_count"), "{e}");
    }

    #[test]
    fn extended_debug_is_refused_explicitly() {
        let e = decode(&sample(), Format::V2_3_EXTENDED)
            .unwrap_err()
            .to_string();
        assert!(e.contains("extended"), "{e}");
    }
    /// The shared test data: `$JCT_SHARED` or `../shared` beside the project root.
    fn shared() -> std::path::PathBuf {
        std::env::var_os("JCT_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
            })
    }

    #[test]
    fn oracle_debug_sample_decodes_as_its_source_says() {
        let path = shared().join("converter-reference/oracle-3.2.0/arith.cap");
        let cap = crate::cap::Cap::from_path(&path).unwrap();
        let Some(crate::cap::Component::Debug(d)) = cap.component(Tag::Debug) else {
            panic!("arith.cap has no Debug component");
        };
        assert_eq!(d.package_name(), Some("com/example/arith"));
        assert_eq!(d.classes.len(), 1);
        let c = &d.classes[0];
        assert_eq!(
            d.string(c.name_index),
            Some("com/example/arith/ArithApplet")
        );
        assert_eq!(
            d.string(c.superclass_name_index),
            Some("javacard/framework/Applet")
        );
        assert_eq!(d.string(c.source_file_index), Some("ArithApplet.java"));
        let field = |name: &str| {
            c.fields
                .iter()
                .find(|f| d.string(f.name_index) == Some(name))
                .unwrap()
        };
        assert_eq!(field("words").contents, FieldContents::InstanceToken(1));
        assert_eq!(field("WORDS").contents, FieldContents::StaticLocation(2));
        let methods: Vec<_> = c
            .methods
            .iter()
            .map(|m| d.string(m.name_index).unwrap())
            .collect();
        assert!(
            methods.contains(&"process") && methods.contains(&"install"),
            "{methods:?}"
        );
        let init = &c.methods[0];
        assert_eq!(d.string(init.descriptor_index), Some("([BSB)V"));
        assert_eq!(d.string(init.variables[0].name_index), Some("this"));
        assert!(!init.lines.is_empty());
    }
}
