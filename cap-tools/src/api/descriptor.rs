//! JVM type descriptors of the API tables (`(Ljavacard/framework/APDU;S)V`),
//! parsed into types that can be spelled as Java source or counted in local
//! variable slots. The tables only use `B S I Z V`, references and arrays, but
//! every JVM base type is accepted so that a future table cannot trip us.

use crate::error::{Error, Result};

/// A Java type named by a descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JavaType {
    Boolean,
    Byte,
    Char,
    Short,
    Int,
    Long,
    Float,
    Double,
    /// A class or interface, by internal name (`javacard/framework/APDU`).
    Class(String),
    /// An array of the element type.
    Array(Box<JavaType>),
}

/// The parameter and return types of a method descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodType {
    pub params: Vec<JavaType>,
    /// `None` for `void`.
    pub ret: Option<JavaType>,
}

impl JavaType {
    /// Local variable slots the type takes (2 for `long` and `double`).
    pub fn slots(&self) -> u16 {
        match self {
            JavaType::Long | JavaType::Double => 2,
            _ => 1,
        }
    }

    /// The type as written in Java source, with fully qualified class names
    /// (member classes `a/b/C$D` become `a.b.C.D`), so that generated sources
    /// need no imports and never depend on which simple names are in scope.
    pub fn source_name(&self) -> String {
        match self {
            JavaType::Boolean => "boolean".into(),
            JavaType::Byte => "byte".into(),
            JavaType::Char => "char".into(),
            JavaType::Short => "short".into(),
            JavaType::Int => "int".into(),
            JavaType::Long => "long".into(),
            JavaType::Float => "float".into(),
            JavaType::Double => "double".into(),
            JavaType::Class(name) => source_class_name(name),
            JavaType::Array(elem) => format!("{}[]", elem.source_name()),
        }
    }
}

/// `javacard/security/MessageDigest$OneShot` -> `javacard.security.MessageDigest.OneShot`.
pub fn source_class_name(internal: &str) -> String {
    internal.replace(['/', '$'], ".")
}

/// Parses a field descriptor such as `S` or `[B`.
pub fn parse_field(descriptor: &str) -> Result<JavaType> {
    let bytes = descriptor.as_bytes();
    match parse_type(bytes, 0) {
        Some((t, end)) if end == bytes.len() => Ok(t),
        _ => Err(bad(descriptor)),
    }
}

/// Parses a method descriptor such as `([BSB)V`.
pub fn parse_method(descriptor: &str) -> Result<MethodType> {
    let bytes = descriptor.as_bytes();
    if bytes.first() != Some(&b'(') {
        return Err(bad(descriptor));
    }
    let mut pos = 1;
    let mut params = Vec::new();
    while bytes.get(pos) != Some(&b')') {
        let (t, next) = parse_type(bytes, pos).ok_or_else(|| bad(descriptor))?;
        params.push(t);
        pos = next;
    }
    pos += 1;
    let ret = if bytes.get(pos) == Some(&b'V') && pos + 1 == bytes.len() {
        None
    } else {
        match parse_type(bytes, pos) {
            Some((t, end)) if end == bytes.len() => Some(t),
            _ => return Err(bad(descriptor)),
        }
    };
    Ok(MethodType { params, ret })
}

/// One type starting at `pos`; returns it and the position after it.
fn parse_type(bytes: &[u8], pos: usize) -> Option<(JavaType, usize)> {
    let t = match *bytes.get(pos)? {
        b'Z' => JavaType::Boolean,
        b'B' => JavaType::Byte,
        b'C' => JavaType::Char,
        b'S' => JavaType::Short,
        b'I' => JavaType::Int,
        b'J' => JavaType::Long,
        b'F' => JavaType::Float,
        b'D' => JavaType::Double,
        b'L' => {
            let len = bytes[pos + 1..].iter().position(|&b| b == b';')?;
            if len == 0 {
                return None;
            }
            let name = std::str::from_utf8(&bytes[pos + 1..pos + 1 + len]).ok()?;
            return Some((JavaType::Class(name.to_string()), pos + len + 2));
        }
        b'[' => {
            let (elem, next) = parse_type(bytes, pos + 1)?;
            return Some((JavaType::Array(Box::new(elem)), next));
        }
        _ => return None,
    };
    Some((t, pos + 1))
}

fn bad(descriptor: &str) -> Error {
    Error::invalid(
        format!("API table descriptor `{descriptor}`"),
        0,
        "not a valid JVM type descriptor",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_methods_and_fields() {
        let m = parse_method("(Ljavacard/framework/APDU;[BSZ)[S").unwrap();
        assert_eq!(
            m.params,
            vec![
                JavaType::Class("javacard/framework/APDU".into()),
                JavaType::Array(Box::new(JavaType::Byte)),
                JavaType::Short,
                JavaType::Boolean,
            ]
        );
        assert_eq!(m.ret, Some(JavaType::Array(Box::new(JavaType::Short))));
        assert_eq!(parse_method("()V").unwrap().ret, None);
        assert_eq!(parse_field("J").unwrap().slots(), 2);
        assert_eq!(
            JavaType::Class("javacard/security/Signature$OneShot".into()).source_name(),
            "javacard.security.Signature.OneShot"
        );
    }

    #[test]
    fn rejects_malformed_descriptors() {
        for d in [
            "", "(", "(S", "()", "()VV", "(L;)V", "(Lfoo)V", "(Q)V", "(V)V", "S",
        ] {
            assert!(parse_method(d).is_err(), "method {d}");
        }
        for d in ["", "V", "SS", "[", "L;", "Lfoo", "()V"] {
            assert!(parse_field(d).is_err(), "field {d}");
        }
    }
}
