//! Class file versions: which ones the reader understands (every layout up to
//! Java 25) and which ones `jct build` accepts (javac 8 to 21, the range the
//! converter's bytecode translation is written and tested for).

use super::ClassFile;
use crate::error::{Error, Result};

/// The oldest and newest major versions the reader parses (Java 1.1 to 25).
pub const READABLE: std::ops::RangeInclusive<u16> = 45..=69;

/// The major versions the converter accepts (Java 8 to 21).
pub const SUPPORTED: std::ops::RangeInclusive<u16> = 52..=65;

/// The minor version that marks a class compiled with `--enable-preview`.
pub const PREVIEW_MINOR: u16 = 0xFFFF;

/// The Java release that introduced a major version, as users know it.
pub fn java_release(major: u16) -> String {
    match major {
        0..=44 => "pre-1.0".into(),
        45 => "1.0/1.1".into(),
        46..=48 => format!("1.{}", major - 44),
        _ => (major - 44).to_string(),
    }
}

/// Checks the version read from the header: a major version this reader
/// knows the layout of, and (from Java 12 on) minor 0 or the preview marker.
pub(super) fn check_readable(major: u16, minor: u16) -> std::result::Result<(), String> {
    if !READABLE.contains(&major) {
        return Err(format!(
            "class file version {major}.{minor} (Java {}) is not supported; this reader reads versions {} to {} (Java {} to {})",
            java_release(major),
            READABLE.start(),
            READABLE.end(),
            java_release(*READABLE.start()),
            java_release(*READABLE.end()),
        ));
    }
    if major >= 56 && minor != 0 && minor != PREVIEW_MINOR {
        return Err(format!(
            "class file version {major}.{minor}: from version 56 on the minor version must be 0 or 65535"
        ));
    }
    Ok(())
}

/// Fails unless the class was compiled for Java 8 to 21 without preview
/// features, which is what `jct build` converts.
pub fn check_supported_version(class: &ClassFile) -> Result<()> {
    let (major, minor) = (class.major_version, class.minor_version);
    let problem = if !SUPPORTED.contains(&major) {
        format!(
            "has version {major}.{minor} (Java {}), but jct build converts versions {} to {} (Java {} to {}); compile with javac --release {} to {}",
            java_release(major),
            SUPPORTED.start(),
            SUPPORTED.end(),
            java_release(*SUPPORTED.start()),
            java_release(*SUPPORTED.end()),
            java_release(*SUPPORTED.start()),
            java_release(*SUPPORTED.end()),
        )
    } else if major >= 56 && minor == PREVIEW_MINOR {
        format!(
            "was compiled with preview features of Java {} (version {major}.{minor}), which jct build does not convert",
            java_release(major)
        )
    } else {
        return Ok(());
    };
    Err(Error::Container(format!(
        "class {} {problem}",
        class.this_class
    )))
}
