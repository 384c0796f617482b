//! Finding a package's class files: in a directory tree (javac `-d`
//! output), in a JAR, or in a CAP file's `APPLET-INF/classes`.

// Input parsers: every narrowing cast is checked (try_from with an error
// naming the field) or marked where it provably fits.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

use std::io::{Cursor, Read};
use std::path::Path;

use crate::classfile::ClassFile;

use super::error::{Error, Result};

/// Largest class file read from a JAR (a bound against zip bombs).
const MAX_CLASS: u64 = 8 * 1024 * 1024;

/// Most bytes of class files inflated from one JAR, all together. Only the
/// package's own classes are inflated; a Java Card package has at most 255
/// classes and a Method component of at most 64 KiB, so real packages stay
/// far below this while a JAR of many entries at [`MAX_CLASS`] is refused
/// before it inflates gigabytes.
const MAX_CLASSES_INFLATED: u64 = 64 * 1024 * 1024;

/// Most entries a class JAR may have (the package's and any others): large
/// enough for a JAR of a whole application with its libraries, small
/// enough that listing the entries stays cheap.
const MAX_JAR_ENTRIES: usize = 16384;

/// The classes of `package` (dotted or internal name) under `path`: a
/// directory holding the package's directory (or the package's directory
/// itself), or a JAR whose entries end with `<package path>/<Name>.class`.
/// Sorted by name; `module-info` and `package-info` are skipped.
pub fn load_classes(path: &Path, package: &str) -> Result<Vec<ClassFile>> {
    let internal = package.replace('.', "/");
    let io = |e: std::io::Error| Error::general(format!("{}: {e}", path.display()));
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    if path.is_dir() {
        let nested = path.join(&internal);
        let dir = if nested.is_dir() {
            nested
        } else {
            path.to_path_buf()
        };
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let p = entry.map_err(io)?.path();
            let Some(name) = p.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            if p.is_file() && name.ends_with(".class") {
                found.push((name, std::fs::read(&p).map_err(io)?));
            }
        }
    } else {
        let bytes = std::fs::read(path).map_err(io)?;
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            Error::general(format!(
                "{}: neither a directory nor a readable JAR: {e}",
                path.display()
            ))
        })?;
        if zip.len() > MAX_JAR_ENTRIES {
            return Err(Error::general(format!(
                "{}: the JAR has {} entries, more than the limit of {MAX_JAR_ENTRIES}",
                path.display(),
                zip.len()
            )));
        }
        let prefix = format!("{internal}/");
        let mut inflated = 0u64;
        for i in 0..zip.len() {
            // Entries are chosen by name, so the others are never inflated.
            let Some(entry) = zip.name_for_index(i).map(str::to_string) else {
                continue;
            };
            let Some(at) = entry.rfind(&prefix) else {
                continue;
            };
            let name = &entry[at + prefix.len()..];
            if !name.ends_with(".class")
                || name.contains('/')
                || (at > 0 && !entry[..at].ends_with('/'))
            {
                continue;
            }
            let mut f = zip
                .by_index(i)
                .map_err(|e| Error::general(format!("{}: {entry}: {e}", path.display())))?;
            let room = MAX_CLASS.min(MAX_CLASSES_INFLATED.saturating_sub(inflated));
            let over = |what: String| {
                let limit = if room < MAX_CLASS {
                    format!("the {MAX_CLASSES_INFLATED}-byte budget for all class files of a JAR ({inflated} bytes already inflated)")
                } else {
                    format!("the {MAX_CLASS}-byte limit for one class file")
                };
                Error::general(format!("{}: {entry}: {what} {limit}", path.display()))
            };
            if f.size() > room {
                return Err(over(format!("{} bytes uncompressed exceed", f.size())));
            }
            let mut data = Vec::with_capacity(usize::try_from(f.size()).unwrap_or(0));
            (&mut f)
                .take(room.saturating_add(1))
                .read_to_end(&mut data)
                .map_err(io)?;
            let got = u64::try_from(data.len()).unwrap_or(u64::MAX);
            if got > room {
                return Err(over(format!(
                    "declares {} bytes but inflates beyond",
                    f.size()
                )));
            }
            inflated = inflated.saturating_add(got);
            found.push((name.to_string(), data));
        }
    }
    found.retain(|(n, _)| n != "module-info.class" && n != "package-info.class");
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    if found.is_empty() {
        return Err(Error::general(format!(
            "{}: no class files of package {} (compile with javac -d first)",
            path.display(),
            package.replace('/', ".")
        )));
    }
    found
        .into_iter()
        .map(|(name, bytes)| {
            ClassFile::parse(&bytes).map_err(|e| Error::general(format!("{name}: {e}")))
        })
        .collect()
}
