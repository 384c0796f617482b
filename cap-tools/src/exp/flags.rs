//! Access flags of export file items (JCVM chapter 5) and the words the dump
//! and the JSON view show for them.
//!
//! The decoder keeps flags as the raw numbers it read, so that reserved bits
//! survive a round trip and the verifier can report them; only the views turn
//! them into words. A bit without a name is shown as hex rather than dropped,
//! so a reader of the dump sees that something unusual is set.

/// Class, field, method: accessible from outside the package.
pub const ACC_PUBLIC: u16 = 0x0001;
/// Field, method: accessible from subclasses.
pub const ACC_PROTECTED: u16 = 0x0004;
/// Field, method: belongs to the class, not to instances.
pub const ACC_STATIC: u16 = 0x0008;
/// Class, field, method: cannot be subclassed, assigned or overridden.
pub const ACC_FINAL: u16 = 0x0010;
/// Class: is an interface.
pub const ACC_INTERFACE: u16 = 0x0200;
/// Class, method: has no implementation.
pub const ACC_ABSTRACT: u16 = 0x0400;
/// Class: implements or extends `javacard.framework.Shareable`.
pub const ACC_SHAREABLE: u16 = 0x0800;
/// Class: may be accessed by Java Card RMI.
pub const ACC_REMOTE: u16 = 0x1000;

/// CONSTANT_Package flag: the package is a library (it has no applets).
pub const ACC_LIBRARY: u8 = 0x01;

const CLASS_WORDS: &[(u16, &str)] = &[
    (ACC_PUBLIC, "public"),
    (ACC_FINAL, "final"),
    (ACC_ABSTRACT, "abstract"),
    (ACC_INTERFACE, "interface"),
    (ACC_SHAREABLE, "shareable"),
    (ACC_REMOTE, "remote"),
];

const FIELD_WORDS: &[(u16, &str)] = &[
    (ACC_PUBLIC, "public"),
    (ACC_PROTECTED, "protected"),
    (ACC_STATIC, "static"),
    (ACC_FINAL, "final"),
];

const METHOD_WORDS: &[(u16, &str)] = &[
    (ACC_PUBLIC, "public"),
    (ACC_PROTECTED, "protected"),
    (ACC_ABSTRACT, "abstract"),
    (ACC_STATIC, "static"),
    (ACC_FINAL, "final"),
];

const PACKAGE_WORDS: &[(u16, &str)] = &[(ACC_LIBRARY as u16, "library")];

/// Words for a class_info's access_flags, in Java modifier order.
pub fn class_words(flags: u16) -> Vec<String> {
    words(flags, CLASS_WORDS)
}

/// Words for a field_info's access_flags.
pub fn field_words(flags: u16) -> Vec<String> {
    words(flags, FIELD_WORDS)
}

/// Words for a method_info's access_flags.
pub fn method_words(flags: u16) -> Vec<String> {
    words(flags, METHOD_WORDS)
}

/// Words for a CONSTANT_Package's flags.
pub fn package_words(flags: u8) -> Vec<String> {
    words(u16::from(flags), PACKAGE_WORDS)
}

/// Named bits first (in table order), then any unnamed rest as one hex word.
fn words(flags: u16, table: &[(u16, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = flags;
    for &(bit, word) in table {
        if flags & bit != 0 {
            out.push(word.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        out.push(format!("{rest:#06x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bits_become_words_and_unknown_bits_stay_visible() {
        assert_eq!(
            class_words(0x0e01),
            ["public", "abstract", "interface", "shareable"]
        );
        assert_eq!(field_words(0x0019), ["public", "static", "final"]);
        assert_eq!(method_words(0x000c), ["protected", "static"]);
        assert_eq!(method_words(0x8001), ["public", "0x8000"]);
        assert_eq!(package_words(0x01), ["library"]);
        assert!(package_words(0).is_empty());
    }
}
