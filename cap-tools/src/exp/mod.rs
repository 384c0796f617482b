//! Export files (JCVM chapter 5): the public API of a package, names mapped
//! to tokens, which the converter links other packages against.
//!
//! [`ExportFile`] is the file as written, index for index, so that decoding
//! then encoding gives back the same bytes (formats 2.1, 2.2 and 2.3). The
//! [`view`] module resolves it into names, descriptors, flag words and
//! constant values for people and for the converter, and [`dump`] renders
//! that as text.
//!
//! Layout, all big-endian:
//!
//! ```text
//! u4 magic 0x00FACADE, u1 minor_version, u1 major_version
//! u2 constant_pool_count, cp_info constant_pool[]
//! u2 this_package                          (a CONSTANT_Package)
//! 2.3 only: u1 count, u2 referenced_packages[]  (CONSTANT_Package each)
//! u1 export_class_count, class_info classes[]
//!     2.3 only: each class ends with u1 CAP22_inheritable_public_method_token_count
//! ```
//!
//! Format 2.2 has the 2.1 layout (kit 2.2.2 wrote it for java.rmi and
//! javacard.framework.service, the packages with remote interfaces).

// Input parsers: every narrowing cast is checked (try_from with an error
// naming the field) or marked where it provably fits.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

pub mod class;
pub mod constant_pool;
pub mod dump;
pub mod flags;
pub mod view;

use std::path::Path;

use serde::Serialize;

use crate::bytes::{to_u8, Reader, WriteExt};
use crate::error::{Error, Location, Result};

pub use class::{Attribute, ClassInfo, FieldInfo, MethodInfo};
pub use constant_pool::{Constant, ConstantPool, LookupError, PackageConstant, Utf8};
pub use view::{ClassView, FieldKind, FieldView, MethodKind, MethodView, PackageView, View};

/// The magic number every export file starts with.
pub const MAGIC: u32 = 0x00FA_CADE;

/// The structure named in errors; nested structures append to it.
pub(crate) const LOCATION: &str = "export file";

/// Each referenced package is a u2 constant pool index.
const INDEX_SIZE: usize = 2;

/// An export file, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportFile {
    pub minor_version: u8,
    /// Always 2 for the formats jct reads.
    pub major_version: u8,
    pub constant_pool: ConstantPool,
    /// Index of the CONSTANT_Package describing this package.
    pub this_package: u16,
    /// Format 2.3 only (`None` before): CONSTANT_Package indices of the
    /// packages this package's classes refer to (java.lang, javacard.framework, ...).
    pub referenced_packages: Option<Vec<u16>>,
    pub classes: Vec<ClassInfo>,
}

impl ExportFile {
    /// Reads an export file, checking its structure and that every index
    /// names a constant of the right kind.
    pub fn decode(bytes: &[u8]) -> Result<ExportFile> {
        let mut r = Reader::new(bytes, LOCATION);
        let magic = r.u4("magic")?;
        if magic != MAGIC {
            return Err(r.error_at(
                0,
                format!("magic is {magic:#010x}, an export file starts with 0x00FACADE"),
            ));
        }
        let minor_version = r.u1("minor_version")?;
        let major_version = r.u1("major_version")?;
        check_format(major_version, minor_version).map_err(|m| r.error_at(4, m))?;
        let extended = has_2_3_layout(minor_version);

        let constant_pool = ConstantPool::decode(&mut r)?;
        let this_package = package_index(&mut r, &constant_pool, "this_package")?;
        let referenced_packages = if extended {
            let n = usize::from(r.u1("referenced package count")?);
            let n = r.bounded_count(n, INDEX_SIZE, "referenced packages")?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(package_index(
                    &mut r,
                    &constant_pool,
                    "referenced package index",
                )?);
            }
            Some(v)
        } else {
            None
        };

        let n = usize::from(r.u1("export_class_count")?);
        let n = r.bounded_count(n, ClassInfo::min_size(extended), "classes")?;
        let mut classes = Vec::with_capacity(n);
        for i in 0..n {
            classes.push(ClassInfo::decode(&mut r, &constant_pool, i, extended)?);
        }
        r.expect_end()?;
        Ok(ExportFile {
            minor_version,
            major_version,
            constant_pool,
            this_package,
            referenced_packages,
            classes,
        })
    }

    /// Reads and decodes the export file at `path`.
    pub fn read(path: impl AsRef<Path>) -> Result<ExportFile> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        ExportFile::decode(&bytes).map_err(|e| with_path(e, path))
    }

    /// Writes the file. The format-2.3 items must be present exactly when the
    /// version is 2.3. The result is decoded again before it is returned, so
    /// jct never writes an export file it would refuse to read (a dangling
    /// index is reported with the offset it would have had).
    pub fn encode(&self) -> Result<Vec<u8>> {
        check_format(self.major_version, self.minor_version)
            .map_err(|m| Error::encode(LOCATION, m))?;
        let extended = has_2_3_layout(self.minor_version);
        if self.referenced_packages.is_some() != extended {
            return Err(Error::encode(
                LOCATION,
                format!(
                    "referenced_packages must be {} for format {}",
                    if extended { "present" } else { "absent" },
                    self.format()
                ),
            ));
        }
        if let Some((i, _)) = self
            .classes
            .iter()
            .enumerate()
            .find(|(_, c)| c.cap22_inheritable_public_method_token_count.is_some() != extended)
        {
            return Err(Error::encode(
                format!("{LOCATION}, class #{i}"),
                format!(
                    "CAP22_inheritable_public_method_token_count must be {} for format {}",
                    if extended { "present" } else { "absent" },
                    self.format()
                ),
            ));
        }

        let mut out = Vec::new();
        out.put_u4(MAGIC);
        out.put_u1(self.minor_version);
        out.put_u1(self.major_version);
        self.constant_pool.encode(&mut out)?;
        out.put_u2(self.this_package);
        if let Some(refs) = &self.referenced_packages {
            out.put_u1(to_u8(refs.len(), LOCATION, "referenced package count")?);
            for &i in refs {
                out.put_u2(i);
            }
        }
        out.put_u1(to_u8(self.classes.len(), LOCATION, "export_class_count")?);
        for c in &self.classes {
            c.encode(&mut out)?;
        }
        ExportFile::decode(&out)?;
        Ok(out)
    }

    /// The export file format as "major.minor", e.g. "2.1".
    pub fn format(&self) -> String {
        format!("{}.{}", self.major_version, self.minor_version)
    }

    /// This package's name (with dots), AID, version and flags.
    pub fn package(&self) -> Result<PackageView> {
        view::package(&self.constant_pool, self.this_package)
            .map_err(|e| Error::encode(LOCATION, format!("this_package: {e}")))
    }

    /// Everything resolved from the constant pool: see [`View`].
    pub fn view(&self) -> Result<View> {
        View::of(self)
    }

    /// The resolved view as pretty-printed JSON (`jct exp dump --json`).
    pub fn to_json_view(&self) -> Result<String> {
        let view = self.view()?;
        serde_json::to_string_pretty(&view)
            .map_err(|e| Error::encode(LOCATION, format!("JSON view: {e}")))
    }
}

/// Formats 2.1, 2.2 and 2.3 are the ones Oracle's converters have written.
fn check_format(major: u8, minor: u8) -> std::result::Result<(), String> {
    if major == 2 && (1..=3).contains(&minor) {
        Ok(())
    } else {
        Err(format!(
            "export file format {major}.{minor} is not supported (jct reads 2.1, 2.2 and 2.3)"
        ))
    }
}

/// Format 2.3 (Java Card 3.1) added the referenced packages and the per-class
/// CAP22_inheritable_public_method_token_count.
fn has_2_3_layout(minor: u8) -> bool {
    minor >= 3
}

fn package_index(r: &mut Reader<'_>, cp: &ConstantPool, field: &'static str) -> Result<u16> {
    let offset = r.offset();
    let index = r.u2(field)?;
    cp.package(index)
        .map_err(|e| r.error_at(offset, format!("{field}: {e}")))?;
    Ok(index)
}

/// Gives an error from the top-level reader the name of the nested structure
/// it happened in; errors already naming a nested structure keep their name.
pub(crate) fn relabel(err: Error, location: impl FnOnce() -> String) -> Error {
    map_location(err, |l| {
        if l.0 == LOCATION {
            location().into()
        } else {
            l
        }
    })
}

/// Prefixes the file name to a decoding error's location.
fn with_path(err: Error, path: &Path) -> Error {
    map_location(err, |l| format!("{}: {l}", path.display()).into())
}

/// Rewrites the location of a decoding error, keeping offset and message.
fn map_location(err: Error, f: impl FnOnce(Location) -> Location) -> Error {
    match err {
        Error::Truncated {
            location,
            offset,
            field,
            needed,
            available,
        } => Error::Truncated {
            location: f(location),
            offset,
            field,
            needed,
            available,
        },
        Error::Invalid {
            location,
            offset,
            message,
        } => Error::Invalid {
            location: f(location),
            offset,
            message,
        },
        Error::TrailingBytes {
            location,
            offset,
            extra,
        } => Error::TrailingBytes {
            location: f(location),
            offset,
            extra,
        },
        other => other,
    }
}
