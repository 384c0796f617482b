//! `jct.toml`: the project file `jct build` reads.
//!
//! ```toml
//! [package]
//! name = "com.example.hello"      # Java package, dotted
//! aid = "F00000000101"            # package AID, hex (':' and spaces allowed)
//! version = "1.0"                 # major.minor
//!
//! [[applet]]                      # one per applet; none for a library
//! class = "HelloApplet"           # simple name, or fully qualified (dots)
//! aid = "F0000000010101"
//!
//! [build]                         # every key optional
//! target = "3.0.5"                # Java Card API: 2.2.2, 3.0.4, 3.0.5 (default), 3.2.0
//! int = false                     # allow the 32-bit int type
//! debug = false                   # write the Debug component (CAP 2.2)
//! sources = "src"                 # Java sources (for compiling; default "src")
//! classes = "build/classes"       # javac output: a directory or a JAR
//! exportpath = ["../lib/build"]   # export files (.exp) of imported libraries
//! output = "build/hello.cap"      # default build/<last package name>.cap
//! ```
//!
//! Relative paths are relative to the directory holding `jct.toml`. Unknown
//! keys are errors, so a misspelt option is never silently ignored.

use std::path::{Path, PathBuf};

use crate::aid::Aid;
use crate::api::ApiVersion;

use super::error::{Error, Result};
use super::toml::{self, Table, Value};
use super::Options;

/// A loaded `jct.toml`, paths resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// The file it was read from.
    pub path: PathBuf,
    /// Dotted package name.
    pub package: String,
    pub package_aid: Aid,
    pub version: (u8, u8),
    /// (applet AID, class name as written).
    pub applets: Vec<(Aid, String)>,
    pub target: ApiVersion,
    pub int_support: bool,
    pub debug: bool,
    /// The Java source root (`jct build` does not compile; it names it
    /// when the classes are missing).
    pub sources: PathBuf,
    /// Where javac put the classes: a directory or a JAR.
    pub classes: PathBuf,
    pub export_path: Vec<PathBuf>,
    /// The CAP file to write.
    pub output: PathBuf,
}

impl Project {
    /// Reads and checks a `jct.toml`.
    pub fn load(path: impl AsRef<Path>) -> Result<Project> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::general(format!("{}: {e}", path.display())))?;
        Project::parse(&text, path)
    }

    /// Parses the text of a `jct.toml` found at `path` (paths in it are
    /// relative to `path`'s directory).
    pub fn parse(text: &str, path: &Path) -> Result<Project> {
        let here = |m: String| Error::general(format!("{}: {m}", path.display()));
        let doc = toml::parse(text).map_err(here)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        if let Some((k, _, line)) = doc.root.entries.first() {
            return Err(here(format!(
                "line {line}: key `{k}` outside a table ([package], [[applet]] or [build])"
            )));
        }
        for name in doc.tables.keys() {
            if name != "package" && name != "build" {
                return Err(here(format!("unknown table [{name}]")));
            }
        }
        for name in doc.arrays.keys() {
            if name != "applet" {
                return Err(here(format!("unknown array of tables [[{name}]]")));
            }
        }
        let package_table = doc
            .tables
            .get("package")
            .ok_or_else(|| here("a [package] table is required".into()))?;
        let pkg = Keys::new(package_table, "package", &["name", "aid", "version"]).map_err(here)?;
        let package = pkg
            .string("name")?
            .ok_or_else(|| here("[package] needs `name`".into()))?;
        if package.is_empty()
            || !package
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(here(format!(
                "package name `{package}` is not a Java package name"
            )));
        }
        let package_aid = pkg
            .aid("aid")?
            .ok_or_else(|| here("[package] needs `aid`".into()))?;
        let version = match pkg.string("version")? {
            Some(v) => parse_version(&v)
                .ok_or_else(|| here(format!("version `{v}` is not major.minor (each 0..=255)")))?,
            None => return Err(here("[package] needs `version`".into())),
        };
        let mut applets = Vec::new();
        for t in doc.arrays.get("applet").map(Vec::as_slice).unwrap_or(&[]) {
            let a = Keys::new(t, "applet", &["class", "aid"]).map_err(here)?;
            let class = a
                .string("class")?
                .ok_or_else(|| here(format!("line {}: [[applet]] needs `class`", t.line)))?;
            let aid = a
                .aid("aid")?
                .ok_or_else(|| here(format!("line {}: [[applet]] needs `aid`", t.line)))?;
            applets.push((aid, class));
        }
        let empty = Table::default();
        let build_table = doc.tables.get("build").unwrap_or(&empty);
        let b = Keys::new(
            build_table,
            "build",
            &[
                "target",
                "int",
                "debug",
                "sources",
                "classes",
                "exportpath",
                "output",
            ],
        )
        .map_err(here)?;
        let target = match b.string("target")? {
            Some(t) => ApiVersion::parse(&t).ok_or_else(|| {
                here(format!(
                    "target `{t}` is none of 2.2.2, 3.0.4, 3.0.5 and 3.2.0"
                ))
            })?,
            None => ApiVersion::V3_0_5,
        };
        let last = package.rsplit('.').next().unwrap_or(&package).to_string();
        let sources = base.join(b.string("sources")?.unwrap_or_else(|| "src".into()));
        let classes = base.join(
            b.string("classes")?
                .unwrap_or_else(|| "build/classes".into()),
        );
        let output = base.join(
            b.string("output")?
                .unwrap_or_else(|| format!("build/{last}.cap")),
        );
        let export_path = b
            .strings("exportpath")?
            .into_iter()
            .map(|p| base.join(p))
            .collect();
        Ok(Project {
            path: path.to_path_buf(),
            package,
            package_aid,
            version,
            applets,
            target,
            int_support: b.bool("int")?.unwrap_or(false),
            debug: b.bool("debug")?.unwrap_or(false),
            sources,
            classes,
            export_path,
            output,
        })
    }

    /// The converter options this project stands for.
    pub fn options(&self) -> Options {
        Options {
            package: self.package.clone(),
            package_aid: self.package_aid.clone(),
            version: self.version,
            applets: self.applets.clone(),
            target: self.target,
            int_support: self.int_support,
            debug: self.debug,
            export_path: self.export_path.clone(),
        }
    }
}

/// `major.minor` with each part a u8.
pub fn parse_version(s: &str) -> Option<(u8, u8)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Typed access to one table's keys, refusing unknown ones.
struct Keys<'a> {
    table: &'a Table,
    name: &'static str,
}

impl<'a> Keys<'a> {
    fn new(table: &'a Table, name: &'static str, known: &[&str]) -> Result<Keys<'a>, String> {
        if let Some((k, _, line)) = table
            .entries
            .iter()
            .find(|(k, _, _)| !known.contains(&k.as_str()))
        {
            return Err(format!(
                "line {line}: unknown key `{k}` in [{name}] (known: {})",
                known.join(", ")
            ));
        }
        Ok(Keys { table, name })
    }

    fn wrong(&self, key: &str, line: usize, want: &str, got: &Value) -> Error {
        Error::general(format!(
            "line {line}: [{}] `{key}` must be {want}, not {}",
            self.name,
            got.kind()
        ))
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.table.get(key) {
            None => Ok(None),
            Some((Value::Str(s), _)) => Ok(Some(s.clone())),
            Some((v, line)) => Err(self.wrong(key, line, "a string", v)),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.table.get(key) {
            None => Ok(None),
            Some((Value::Bool(b), _)) => Ok(Some(*b)),
            Some((v, line)) => Err(self.wrong(key, line, "true or false", v)),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>> {
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some((Value::Str(s), _)) => Ok(vec![s.clone()]),
            Some((Value::Array(items), line)) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    other => Err(self.wrong(key, line, "an array of strings", other)),
                })
                .collect(),
            Some((v, line)) => Err(self.wrong(key, line, "an array of strings", v)),
        }
    }

    fn aid(&self, key: &str) -> Result<Option<Aid>> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        let line = self.table.get(key).map(|(_, l)| l).unwrap_or(0);
        Aid::from_hex(&text)
            .map(Some)
            .map_err(|e| Error::general(format!("line {line}: [{}] `{key}`: {e}", self.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"
[package]
name = "com.example.hello"
aid = "F0:00:00:00:01:01"
version = "1.0"

[[applet]]
class = "HelloApplet"
aid = "F0000000010101"

[build]
target = "3.2.0"
exportpath = ["exp"]
"#;

    #[test]
    fn loads_a_project_and_resolves_paths() {
        let p = Project::parse(HELLO, Path::new("/proj/jct.toml")).unwrap();
        assert_eq!(p.package, "com.example.hello");
        assert_eq!(p.package_aid.to_hex(), "F00000000101");
        assert_eq!(p.version, (1, 0));
        assert_eq!(p.applets.len(), 1);
        assert_eq!(p.applets[0].1, "HelloApplet");
        assert_eq!(p.target, ApiVersion::V3_2_0);
        assert!(!p.int_support && !p.debug);
        assert_eq!(p.classes, Path::new("/proj/build/classes"));
        assert_eq!(p.sources, Path::new("/proj/src"));
        assert_eq!(p.output, Path::new("/proj/build/hello.cap"));
        assert_eq!(p.export_path, vec![PathBuf::from("/proj/exp")]);
        let o = p.options();
        assert_eq!(o.package, "com.example.hello");
        assert_eq!(o.target, ApiVersion::V3_2_0);
    }

    #[test]
    fn damaged_project_files_never_panic() {
        let bytes = HELLO.as_bytes();
        for at in 0..bytes.len() {
            for c in [b'"', b'[', b']', b'=', b'#', b'\\', b'\'', b'\n', 0xC3] {
                let mut bad = bytes.to_vec();
                bad[at] = c;
                let text = String::from_utf8_lossy(&bad);
                let _ = Project::parse(&text, Path::new("jct.toml"));
            }
        }
    }

    #[test]
    fn bad_projects_are_explained() {
        let cases = [
            ("[package]\nname = \"a\"\naid = \"F000000001\"\n", "version"),
            ("[package]\nname = \"a\"\naid = \"F0\"\nversion = \"1.0\"\n", "5 to 16"),
            ("[package]\nname = \"a\"\naid = \"F000000001\"\nversion = \"1.0\"\nnmae = 1\n", "unknown key"),
            ("[package]\nname = \"a\"\naid = \"F000000001\"\nversion = \"1.0\"\n[build]\ntarget = \"9\"\n", "target"),
            ("[package]\nname = \"a\"\naid = \"F000000001\"\nversion = \"1.0\"\n[build]\nint = \"yes\"\n", "true or false"),
            ("[pkg]\n", "unknown table"),
            ("x = 1\n", "outside a table"),
        ];
        for (text, want) in cases {
            let e = Project::parse(text, Path::new("jct.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
