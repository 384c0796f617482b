//! Errors of the converter.
//!
//! A converter error is about the user's program, so it names the place in
//! the program — class, method and source line (from the LineNumberTable) —
//! the way a compiler does, e.g.
//! `com.example.Foo.bar(S)S:42: needs int support (--int)`.

use std::fmt;

/// Result alias of the converter.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in the program a problem is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// Class name with dots, e.g. `com.example.Foo` (empty when not about a class).
    pub class: String,
    /// Method name and descriptor, e.g. `bar(S)S`.
    pub method: Option<String>,
    /// Source line, when the class file has a LineNumberTable.
    pub line: Option<u32>,
}

impl Place {
    /// A place naming a class (internal or dotted name).
    pub fn class(name: &str) -> Place {
        Place {
            class: name.replace('/', "."),
            ..Place::default()
        }
    }

    /// A place naming a method of a class.
    pub fn method(class: &str, name: &str, descriptor: &str) -> Place {
        Place {
            class: class.replace('/', "."),
            method: Some(format!("{name}{descriptor}")),
            line: None,
        }
    }

    /// The same place at a source line.
    pub fn at_line(mut self, line: Option<u32>) -> Place {
        self.line = line;
        self
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.class)?;
        if let Some(m) = &self.method {
            write!(f, ".{m}")?;
        }
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        Ok(())
    }
}

/// A conversion failure: what went wrong and, when it is about the program,
/// where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub place: Option<Place>,
    pub message: String,
}

impl Error {
    /// An error about the conversion as a whole (options, inputs).
    pub fn general(message: impl Into<String>) -> Error {
        Error {
            place: None,
            message: message.into(),
        }
    }

    /// An error at a place in the program.
    pub fn at(place: Place, message: impl Into<String>) -> Error {
        Error {
            place: Some(place),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::error::Error> for Error {
    /// A model error while encoding the output: a converter defect or a
    /// limit of the format (a component over 64 KiB), reported as is.
    fn from(e: crate::error::Error) -> Self {
        Error::general(e.to_string())
    }
}
