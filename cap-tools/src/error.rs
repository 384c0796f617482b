//! Errors of cap-tools.
//!
//! Every decoding error says *where* (the structure being read, e.g. "Method component"
//! or "export file") and *at which byte offset* (relative to the start of that structure),
//! so a user can find the bad byte with a hex viewer.

use std::fmt;

/// Result alias used across cap-tools.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while reading, writing or checking a Java Card file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input ended before a field could be read.
    #[error("{location}: truncated at offset {offset:#x}: reading {field} needs {needed} byte(s), only {available} left")]
    Truncated {
        location: Location,
        offset: usize,
        field: &'static str,
        needed: usize,
        available: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("{location}: at offset {offset:#x}: {message}")]
    Invalid {
        location: Location,
        offset: usize,
        message: String,
    },
    /// Bytes were left over after a structure that must fill its container exactly.
    #[error("{location}: {extra} unexpected trailing byte(s) at offset {offset:#x}")]
    TrailingBytes {
        location: Location,
        offset: usize,
        extra: usize,
    },
    /// The CAP/JAR container itself is unusable (bad zip, missing component, ...).
    #[error("{0}")]
    Container(String),
    /// A value cannot be encoded (e.g. a count that does not fit its u1/u2 field).
    #[error("cannot encode {location}: {message}")]
    Encode { location: Location, message: String },
    /// I/O while reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Builds an [`Error::Invalid`].
    pub fn invalid(
        location: impl Into<Location>,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            location: location.into(),
            offset,
            message: message.into(),
        }
    }

    /// Builds an [`Error::Encode`].
    pub fn encode(location: impl Into<Location>, message: impl Into<String>) -> Self {
        Error::Encode {
            location: location.into(),
            message: message.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// Names the structure an error is about, e.g. "Method component" or
/// "Class component, class at offset 0x12". Cheap to build from a `&'static str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location(pub std::borrow::Cow<'static, str>);

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&'static str> for Location {
    fn from(s: &'static str) -> Self {
        Location(std::borrow::Cow::Borrowed(s))
    }
}

impl From<String> for Location {
    fn from(s: String) -> Self {
        Location(std::borrow::Cow::Owned(s))
    }
}
