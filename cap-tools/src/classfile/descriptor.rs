//! Field and method descriptors (JVMS 4.3): splitting a method descriptor
//! into its parameter and return types, and checking descriptor syntax so that
//! the converter can rely on every descriptor of a parsed class being well
//! formed.

use crate::error::{Error, Result};

/// JVMS 4.3.2: an array type has at most 255 dimensions.
const MAX_ARRAY_DIMS: usize = 255;

/// The parameter types of a method descriptor, each as a field descriptor:
/// `"(I[BLjava/lang/Object;)V"` gives `["I", "[B", "Ljava/lang/Object;"]`.
pub fn descriptor_args(desc: &str) -> Result<Vec<String>> {
    Ok(split_method(desc)?
        .0
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// The return type of a method descriptor: a field descriptor or `"V"`.
pub fn descriptor_return(desc: &str) -> Result<String> {
    Ok(split_method(desc)?.1.to_string())
}

/// Checks that `desc` is one well-formed field descriptor.
pub fn check_field_descriptor(desc: &str) -> Result<()> {
    match field_type_len(desc.as_bytes()) {
        Some(n) if n == desc.len() => Ok(()),
        _ => Err(bad(desc, "is not a field descriptor")),
    }
}

/// Checks that `desc` is a well-formed method descriptor.
pub fn check_method_descriptor(desc: &str) -> Result<()> {
    split_method(desc).map(|_| ())
}

/// The number of local-variable slots the parameters of a method descriptor
/// take (longs and doubles take two), not counting `this`.
pub fn descriptor_arg_slots(desc: &str) -> Result<usize> {
    Ok(split_method(desc)?
        .0
        .iter()
        .map(|t| if *t == "J" || *t == "D" { 2 } else { 1 })
        .sum())
}

/// Splits a method descriptor into parameter types and return type.
fn split_method(desc: &str) -> Result<(Vec<&str>, &str)> {
    let b = desc.as_bytes();
    if b.first() != Some(&b'(') {
        return Err(bad(desc, "does not start with '('"));
    }
    let mut args = Vec::new();
    let mut i = 1;
    loop {
        match b.get(i) {
            Some(b')') => break,
            Some(_) => {
                let n = field_type_len(&b[i..])
                    .ok_or_else(|| bad(desc, &format!("has a bad parameter type at {i}")))?;
                // Field types are ASCII-delimited, so `i..i + n` is on char boundaries.
                args.push(&desc[i..i + n]);
                i += n;
            }
            None => return Err(bad(desc, "has no ')'")),
        }
    }
    let ret = &desc[i + 1..];
    if ret != "V" && field_type_len(ret.as_bytes()) != Some(ret.len()) {
        return Err(bad(desc, "has a bad return type"));
    }
    Ok((args, ret))
}

/// The length of the field type at the start of `b`, or `None` if there is
/// no well-formed one.
fn field_type_len(b: &[u8]) -> Option<usize> {
    let dims = b.iter().take_while(|&&c| c == b'[').count();
    if dims > MAX_ARRAY_DIMS {
        return None;
    }
    match b.get(dims)? {
        b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => Some(dims + 1),
        b'L' => {
            let name = &b[dims + 1..];
            let end = name.iter().position(|&c| c == b';')?;
            valid_class_name(&name[..end]).then_some(dims + 1 + end + 1)
        }
        _ => None,
    }
}

/// JVMS 4.2.1: a binary class name in internal form is non-empty slash-separated
/// segments, none empty and none containing `.`, `;` or `[`.
fn valid_class_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .split(|&c| c == b'/')
            .all(|seg| !seg.is_empty() && !seg.iter().any(|c| b".;[".contains(c)))
}

fn bad(desc: &str, what: &str) -> Error {
    Error::invalid("descriptor", 0, format!("descriptor {desc:?} {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(
            descriptor_args("(I[BLjava/lang/Object;)V").unwrap(),
            ["I", "[B", "Ljava/lang/Object;"]
        );
        assert_eq!(descriptor_return("(I[BLjava/lang/Object;)V").unwrap(), "V");
        assert_eq!(descriptor_args("()[[J").unwrap(), Vec::<String>::new());
        assert_eq!(descriptor_return("()[[J").unwrap(), "[[J");
        assert_eq!(descriptor_arg_slots("(JIDLa;)V").unwrap(), 6);
        assert_eq!(descriptor_args("(Lé/ü;S)Z").unwrap(), ["Lé/ü;", "S"]);
    }

    #[test]
    fn rejects() {
        for d in [
            "",
            "V",
            "I",
            "(",
            "(I",
            "()",
            "()X",
            "(V)V",
            "(L;)V",
            "(La)V",
            "(La//b;)V",
            "(La.b;)V",
            "()VV",
            "()[V",
            "(I)II",
            "([)V",
        ] {
            assert!(descriptor_args(d).is_err(), "{d}");
        }
        let deep = format!("({}I)V", "[".repeat(256));
        assert!(check_method_descriptor(&deep).is_err());
        let ok = format!("({}I)V", "[".repeat(255));
        assert!(check_method_descriptor(&ok).is_ok());
        assert!(check_field_descriptor("Ljava/lang/String;").is_ok());
        assert!(check_field_descriptor("II").is_err());
        assert!(check_field_descriptor("V").is_err());
        let e = descriptor_args("(X)V").unwrap_err().to_string();
        assert!(e.contains("\"(X)V\""), "{e}");
    }
}
