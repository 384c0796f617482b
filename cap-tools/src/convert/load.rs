//! Finding a package's class files: in a directory tree (javac `-d`
//! output), in a JAR, or in a CAP file's `APPLET-INF/classes`.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::classfile::ClassFile;

use super::error::{Error, Result};

/// Largest class file read from a JAR (a bound against zip bombs).
const MAX_CLASS: u64 = 8 * 1024 * 1024;

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
        let prefix = format!("{internal}/");
        for i in 0..zip.len() {
            let mut f = zip
                .by_index(i)
                .map_err(|e| Error::general(format!("{}: {e}", path.display())))?;
            let entry = f.name().to_string();
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
            let mut data = Vec::new();
            (&mut f)
                .take(MAX_CLASS + 1)
                .read_to_end(&mut data)
                .map_err(io)?;
            if data.len() as u64 > MAX_CLASS {
                return Err(Error::general(format!(
                    "{}: {entry} is larger than {MAX_CLASS} bytes",
                    path.display()
                )));
            }
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
