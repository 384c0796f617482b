//! `jct new`: the files of a new applet project, from the templates under
//! src/templates/ (compiled into jct), with the names and AIDs checked
//! first so that a project that is made also builds.
//!
//! Default AIDs are in the proprietary range: ISO/IEC 7816-4 gives AIDs
//! whose first nibble is F to anyone, without registration. The RID is
//! `F0 6A 63 74 00` ("jct" in ASCII after F0) and the PIX two bytes of the
//! SHA-256 of the package name, so two projects made with `jct new` do not
//! collide on one card: package `F06A637400 HHHH`, applet the package AID
//! followed by `01`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The RID of `jct new`'s default AIDs (category F: proprietary).
pub const DEFAULT_RID: [u8; 5] = [0xF0, 0x6A, 0x63, 0x74, 0x00];

/// RIDs of the platform's own packages: an applet package there would
/// clash with the API it imports.
const PLATFORM_RIDS: [(&str, [u8; 5]); 2] = [
    ("the Java Card API packages", [0xA0, 0x00, 0x00, 0x00, 0x62]),
    ("GlobalPlatform", [0xA0, 0x00, 0x00, 0x01, 0x51]),
];

/// Java's reserved words and literals, which cannot name a package part or
/// a class.
const JAVA_KEYWORDS: &[&str] = &[
    "abstract",
    "assert",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extends",
    "final",
    "finally",
    "float",
    "for",
    "goto",
    "if",
    "implements",
    "import",
    "instanceof",
    "int",
    "interface",
    "long",
    "native",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "strictfp",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "try",
    "void",
    "volatile",
    "while",
    "true",
    "false",
    "null",
    "_",
];

/// A project to create, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    /// The directory name, as given.
    pub name: String,
    /// Dotted Java package.
    pub package: String,
    /// The applet class's simple name.
    pub class: String,
    pub package_aid: Vec<u8>,
    pub applet_aid: Vec<u8>,
    /// Things the user should know (an AID in a registered range).
    pub notes: Vec<String>,
}

impl NewProject {
    /// Checks `name` and the options and derives the rest: package
    /// `com.example.<name>`, class `<Name>Applet`, AIDs as the module says.
    pub fn plan(name: &str, package: Option<&str>, aid: Option<&str>) -> Result<NewProject> {
        check_name(name)?;
        let package = match package {
            Some(p) => p.to_string(),
            None => format!("com.example.{}", identifier_from(name).to_lowercase()),
        };
        check_package(&package)?;
        let class = format!("{}Applet", class_from(name));
        let mut notes = Vec::new();
        let package_aid = match aid {
            Some(text) => check_aid(text, &mut notes)?,
            None => default_aid(&package),
        };
        let mut applet_aid = package_aid.clone();
        applet_aid.push(0x01);
        Ok(NewProject {
            name: name.to_string(),
            package,
            class,
            package_aid,
            applet_aid,
            notes,
        })
    }

    /// The last part of the package: the CAP is build/<last>.cap.
    pub fn last(&self) -> &str {
        self.package.rsplit('.').next().unwrap_or(&self.package)
    }

    /// Every file of the project: (path relative to the project, content).
    pub fn files(&self) -> Vec<(PathBuf, String)> {
        let fill = |t: &str| {
            t.replace("{{package}}", &self.package)
                .replace("{{class}}", &self.class)
                .replace("{{package_aid}}", &hex::encode_upper(&self.package_aid))
                .replace("{{applet_aid}}", &hex::encode_upper(&self.applet_aid))
                .replace("{{name}}", &self.name)
                .replace("{{last}}", self.last())
        };
        let source = Path::new("src")
            .join(self.package.replace('.', "/"))
            .join(format!("{}.java", self.class));
        vec![
            (
                PathBuf::from("jct.toml"),
                fill(include_str!("templates/jct.toml.tmpl")),
            ),
            (source, fill(include_str!("templates/Applet.java.tmpl"))),
            (
                Path::new("tests").join(format!("{}.apdu", self.name)),
                fill(include_str!("templates/test.apdu.tmpl")),
            ),
            (
                PathBuf::from(".gitignore"),
                fill(include_str!("templates/gitignore.tmpl")),
            ),
            (
                PathBuf::from("README.md"),
                fill(include_str!("templates/README.md.tmpl")),
            ),
        ]
    }

    /// Writes the project into `dir`, which must not exist or be empty
    /// (nothing of the user's is ever overwritten).
    pub fn create(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        if dir.exists() {
            let mut entries = std::fs::read_dir(dir)
                .with_context(|| format!("{} exists and cannot be read", dir.display()))?;
            if entries.next().is_some() {
                bail!(
                    "{} already exists and is not empty: choose another name, or remove it",
                    dir.display()
                );
            }
        }
        let mut written = Vec::new();
        for (rel, text) in self.files() {
            let path = dir.join(&rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            crate::fsutil::write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The project's directory name: something every file system and shell
/// takes as it is.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!(
            "project name `{name}`: use 1 to 64 letters, digits, '-' and '_', starting with a letter \
             (it names the directory, the package and the class)"
        );
    }
    Ok(())
}

/// `my-wallet` -> `mywallet` (a package part).
fn identifier_from(name: &str) -> String {
    let id: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if JAVA_KEYWORDS.contains(&id.to_lowercase().as_str()) {
        format!("{id}app")
    } else {
        id
    }
}

/// `my-wallet` -> `MyWallet` (a class name).
fn class_from(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A dotted Java package name of ASCII identifiers, none a keyword.
pub fn check_package(package: &str) -> Result<()> {
    for part in package.split('.') {
        let ok = part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !JAVA_KEYWORDS.contains(&part);
        if !ok {
            bail!(
                "--package `{package}`: `{part}` is not a Java identifier (letters, digits and '_', \
                 not starting with a digit, not a keyword); e.g. --package com.example.wallet"
            );
        }
    }
    Ok(())
}

/// The default package AID of `package`.
fn default_aid(package: &str) -> Vec<u8> {
    let digest = Sha256::digest(package.as_bytes());
    let mut aid = DEFAULT_RID.to_vec();
    aid.extend_from_slice(&digest[..2]);
    aid
}

/// A package AID given with --aid: hex, 5 to 15 bytes (the applet's AID
/// adds one), a category an application provider may use.
fn check_aid(text: &str, notes: &mut Vec<String>) -> Result<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let aid = hex::decode(&clean)
        .map_err(|e| anyhow::anyhow!("--aid {text}: not hex ({e}); e.g. --aid F000000001A5"))?;
    if !(5..=15).contains(&aid.len()) {
        bail!(
            "--aid {text}: the package AID is {} byte(s); it needs 5 to 15 (a 5-byte RID, \
             then up to 10 bytes of PIX: the applet's AID adds one byte, and an AID has at most 16)",
            aid.len()
        );
    }
    for (what, rid) in PLATFORM_RIDS {
        if aid[..5] == rid {
            bail!(
                "--aid {text}: RID {} is {what}'s; an applet package there would clash with it. \
                 Use your own RID, or leave --aid out for one in the proprietary range (F0 6A 63 74 00)",
                hex::encode_upper(rid)
            );
        }
    }
    match aid[0] >> 4 {
        0xF => {}
        0xA | 0xD => notes.push(format!(
            "AID {}: RID {} is in the {} registration range; use it only if it is registered to you",
            hex::encode_upper(&aid),
            hex::encode_upper(&aid[..5]),
            if aid[0] >> 4 == 0xA {
                "international"
            } else {
                "national"
            }
        )),
        n => bail!(
            "--aid {text}: an AID starting with {n:X} is {} (ISO/IEC 7816-4); use A or D with a RID \
             registered to you, or F (proprietary, no registration)",
            if n <= 9 {
                "reserved for ISO/IEC 7812 card numbers"
            } else if n == 0xE {
                "a standard's object identifier"
            } else {
                "reserved for future use"
            }
        ),
    }
    Ok(aid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_a_package_and_a_class() {
        let p = NewProject::plan("my-wallet", None, None).unwrap();
        assert_eq!(p.package, "com.example.mywallet");
        assert_eq!(p.class, "MyWalletApplet");
        assert_eq!(p.last(), "mywallet");
        assert_eq!(&p.package_aid[..5], &DEFAULT_RID);
        assert_eq!(p.package_aid.len(), 7);
        assert_eq!(p.applet_aid, [p.package_aid.as_slice(), &[1]].concat());
        // Another package, other AIDs.
        let q = NewProject::plan("my-wallet", Some("org.x.wallet"), None).unwrap();
        assert_ne!(q.package_aid, p.package_aid);
        // A keyword is not a package part.
        assert_eq!(
            NewProject::plan("new", None, None).unwrap().package,
            "com.example.newapp"
        );
    }

    #[test]
    fn bad_names_and_packages_are_refused() {
        for name in ["", "1x", "a b", "../x", "a/b", "é"] {
            assert!(NewProject::plan(name, None, None).is_err(), "{name}");
        }
        for pkg in ["com..x", "com.1x", "com.class", "com.x-y", ""] {
            assert!(NewProject::plan("x", Some(pkg), None).is_err(), "{pkg}");
        }
    }

    #[test]
    fn aids_are_checked() {
        let ok = NewProject::plan("x", None, Some("F0:01:02:03:04")).unwrap();
        assert_eq!(hex::encode_upper(&ok.applet_aid), "F00102030401");
        assert!(ok.notes.is_empty());
        let registered = NewProject::plan("x", None, Some("A00000055501")).unwrap();
        assert!(registered.notes[0].contains("international"));
        for (aid, why) in [
            ("F0010203", "needs 5 to 15"),
            ("F0010203040506070809101112131415", "needs 5 to 15"),
            ("F00102030", "hex"),
            ("A0000000620101", "Java Card API"),
            ("A000000151000000", "GlobalPlatform"),
            ("1000000000", "ISO/IEC 7812"),
            ("E000000000", "object identifier"),
            ("B000000000", "future use"),
        ] {
            let e = NewProject::plan("x", None, Some(aid))
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{aid}: {e}");
        }
    }

    #[test]
    fn templates_are_filled_completely() {
        let p = NewProject::plan("demo", None, None).unwrap();
        let files = p.files();
        assert_eq!(files.len(), 5);
        for (path, text) in &files {
            assert!(!text.contains("{{"), "{}: {text}", path.display());
        }
        assert!(files[1].0.ends_with("src/com/example/demo/DemoApplet.java"));
    }
}
