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
//! gp-api = "1.2"                  # org.globalplatform to link: 1.0 to 1.7 (default: the target's)
//! int = false                     # allow the 32-bit int type
//! debug = false                   # write the Debug component (CAP 2.2 or later)
//! cap-format = "2.3"              # 2.1, 2.2, 2.3 or 2.3-extended; default: 2.3 for
//!                                 # target 3.2.0, else 2.1 (2.2 with debug), as
//!                                 # Oracle's converter; 2.3 is extended when the
//!                                 # package does not fit 64 KiB
//! private-packages = ["com.example.util"]  # more packages in the same
//!                                 # extended CAP file (2.3-extended), private:
//!                                 # used by its packages, exported to none
//! sources = "src"                 # Java sources (for compiling; default "src")
//! classes = "build/classes"       # javac output: a directory or a JAR
//! exportpath = ["../lib/build"]   # export files (.exp) of imported libraries
//! output = "build/hello.cap"      # default build/<last package name>.cap
//! ```
//!
//! Relative paths are relative to the directory holding `jct.toml`. Unknown
//! keys are errors, so a misspelt option is never silently ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::aid::Aid;
use crate::api::ApiVersion;
use crate::cap::Format;

use super::error::{Error, Result};
use super::Options;

/// The file as written; `deny_unknown_fields` makes a misspelt key an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    package: PackageSection,
    #[serde(default)]
    applet: Vec<AppletSection>,
    #[serde(default)]
    build: BuildSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageSection {
    name: String,
    aid: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppletSection {
    class: String,
    aid: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BuildSection {
    target: Option<String>,
    #[serde(rename = "gp-api")]
    gp_api: Option<String>,
    int: Option<bool>,
    debug: Option<bool>,
    #[serde(rename = "cap-format")]
    cap_format: Option<String>,
    #[serde(rename = "private-packages")]
    private_packages: Option<Vec<String>>,
    sources: Option<String>,
    classes: Option<String>,
    exportpath: Option<Vec<String>>,
    output: Option<String>,
}

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
    /// org.globalplatform's version to link against, when not the target's.
    pub gp_api: Option<(u8, u8)>,
    pub int_support: bool,
    pub debug: bool,
    /// `None`: the target's default (see [`super::default_format`]).
    pub cap_format: Option<Format>,
    /// Dotted names of the private packages that go into the same
    /// extended CAP file (see [`Options::private_packages`]).
    pub private_packages: Vec<String>,
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
        let file: ProjectFile = toml::from_str(text).map_err(|e| here(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let package = file.package.name;
        if package.is_empty()
            || !package
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(here(format!(
                "package name `{package}` is not a Java package name"
            )));
        }
        let aid = |text: &str, what: &str| {
            Aid::from_hex(text).map_err(|e| here(format!("{what} `aid`: {e}")))
        };
        let package_aid = aid(&file.package.aid, "[package]")?;
        let version = parse_version(&file.package.version).ok_or_else(|| {
            here(format!(
                "version `{}` is not major.minor (each 0..=255)",
                file.package.version
            ))
        })?;
        let applets = file
            .applet
            .iter()
            .map(|a| Ok((aid(&a.aid, "[[applet]]")?, a.class.clone())))
            .collect::<Result<Vec<_>>>()?;
        let b = file.build;
        let target = match &b.target {
            Some(t) => ApiVersion::parse(t).ok_or_else(|| {
                here(format!(
                    "target `{t}` is none of 2.2.2, 3.0.4, 3.0.5 and 3.2.0"
                ))
            })?,
            None => ApiVersion::V3_0_5,
        };
        let cap_format = match &b.cap_format {
            Some(f) => Some(Format::parse(f).ok_or_else(|| {
                here(format!(
                    "cap-format `{f}` is none of 2.1, 2.2, 2.3 and 2.3-extended"
                ))
            })?),
            None => None,
        };
        let gp_api = match &b.gp_api {
            Some(v) => Some(crate::api::gp::parse_version(v).ok_or_else(|| {
                here(format!(
                    "gp-api `{v}` is none of the org.globalplatform versions {}",
                    crate::api::gp::versions_text()
                ))
            })?),
            None => None,
        };
        let last = package.rsplit('.').next().unwrap_or(&package).to_string();
        let sources = base.join(b.sources.unwrap_or_else(|| "src".into()));
        let classes = base.join(b.classes.unwrap_or_else(|| "build/classes".into()));
        let output = base.join(b.output.unwrap_or_else(|| format!("build/{last}.cap")));
        let export_path = b
            .exportpath
            .unwrap_or_default()
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
            gp_api,
            int_support: b.int.unwrap_or(false),
            debug: b.debug.unwrap_or(false),
            cap_format,
            private_packages: b.private_packages.unwrap_or_default(),
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
            oracle_ushr: false,
            debug: self.debug,
            cap_format: self.cap_format,
            private_packages: self.private_packages.clone(),
            export_path: self.export_path.clone(),
            gp_api: self.gp_api,
        }
    }
}

/// `major.minor` with each part a u8.
pub fn parse_version(s: &str) -> Option<(u8, u8)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
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
    fn gp_api_key() {
        let base = "[package]\nname = \"a\"\naid = \"F000000001\"\nversion = \"1.0\"\n[build]\n";
        let p =
            Project::parse(&format!("{base}gp-api = \"1.2\"\n"), Path::new("jct.toml")).unwrap();
        assert_eq!(p.options().gp_api, Some((1, 2)));
        let p = Project::parse(base, Path::new("jct.toml")).unwrap();
        assert_eq!(p.options().gp_api, None);
        let e = Project::parse(&format!("{base}gp-api = \"1.9\"\n"), Path::new("jct.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("gp-api `1.9`") && e.contains("1.0, 1.1"), "{e}");
    }

    #[test]
    fn private_packages_key() {
        let base = "[package]\nname = \"a.b\"\naid = \"F000000001\"\nversion = \"1.0\"\n[build]\n";
        let p = Project::parse(
            &format!("{base}private-packages = [\"a.util\", \"a.more\"]\n"),
            Path::new("jct.toml"),
        )
        .unwrap();
        assert_eq!(p.options().private_packages, ["a.util", "a.more"]);
        let p = Project::parse(base, Path::new("jct.toml")).unwrap();
        assert!(p.options().private_packages.is_empty());
    }

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
            ("[package]\nname = \"a\"\naid = \"F000000001\"\nversion = \"1.0\"\nnmae = 1\n", "unknown field `nmae`"),
            ("[package]\nname = \"a\"\naid = \"F000000001\"\nversion = \"1.0\"\n[build]\ntarget = \"9\"\n", "target"),
            ("[package]\nname = \"a\"\naid = \"F000000001\"\nversion = \"1.0\"\n[build]\nint = \"yes\"\n", "invalid type"),
            ("[pkg]\n", "unknown field `pkg`"),
            ("x = 1\n", "unknown field `x`"),
        ];
        for (text, want) in cases {
            let e = Project::parse(text, Path::new("jct.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
