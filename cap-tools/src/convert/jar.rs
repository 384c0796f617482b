//! The CAP JAR: the components under `<package>/javacard/` and a manifest
//! with the `Java-Card-*` attributes Oracle's converter writes (without the
//! creation time, so that the same input always gives the same bytes).

use crate::aid::Aid;
use crate::cap::container::entry_name;
use crate::cap::{Cap, Component, Container, Format, JarEntry};

/// `0xf0:0x00:...`, the manifest's AID notation.
fn aid_text(aid: &Aid) -> String {
    aid.as_bytes()
        .iter()
        .map(|b| format!("0x{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One manifest attribute, folded at 72 bytes as the JAR format requires.
fn attribute(out: &mut String, name: &str, value: &str) {
    let line = format!("{name}: {value}");
    let bytes = line.as_bytes();
    let mut at = 0;
    let mut first = true;
    while at < bytes.len() {
        let room = if first { 72 } else { 71 };
        let mut end = (at + room).min(bytes.len());
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        if !first {
            out.push(' ');
        }
        out.push_str(&line[at..end]);
        out.push_str("\r\n");
        at = end;
        first = false;
    }
}

/// What the manifest describes.
pub struct ManifestInfo<'m> {
    pub package: &'m str,
    pub aid: &'m Aid,
    pub version: (u8, u8),
    pub format: Format,
    /// (simple class name, AID).
    pub applets: Vec<(String, Aid)>,
    /// (AID, version) in token order.
    pub imports: Vec<(Aid, (u8, u8))>,
    pub int: bool,
    /// Extended format: whether the package is public (listed in the
    /// Header, exported); a private one shows `private` for its AID and
    /// version, as Oracle's converter writes it.
    pub public: bool,
    /// Extended format: the CAP file's other packages (dotted), all
    /// private, numbered after the main one.
    pub private_packages: Vec<String>,
}

/// The manifest text.
pub fn manifest(m: &ManifestInfo<'_>) -> String {
    let mut s = String::new();
    attribute(&mut s, "Manifest-Version", "1.0");
    attribute(
        &mut s,
        "Created-By",
        concat!("jct ", env!("CARGO_PKG_VERSION")),
    );
    s.push_str("\r\n");
    attribute(&mut s, "Name", &m.package.replace('.', "/"));
    attribute(&mut s, "Java-Card-Converter-Provider", "jct");
    attribute(
        &mut s,
        "Java-Card-CAP-File-Version",
        &format!("{}.{}", m.format.major, m.format.minor),
    );
    if m.format.extended {
        extended_identity(&mut s, m);
    } else {
        attribute(
            &mut s,
            "Java-Card-Package-Version",
            &format!("{}.{}", m.version.0, m.version.1),
        );
        attribute(
            &mut s,
            "Java-Card-Package-Name",
            &m.package.replace('/', "."),
        );
        attribute(&mut s, "Java-Card-Package-AID", &aid_text(m.aid));
        for (i, (name, aid)) in m.applets.iter().enumerate() {
            attribute(&mut s, &format!("Java-Card-Applet-{}-Name", i + 1), name);
            attribute(
                &mut s,
                &format!("Java-Card-Applet-{}-AID", i + 1),
                &aid_text(aid),
            );
        }
    }
    for (i, (aid, v)) in m.imports.iter().enumerate() {
        attribute(
            &mut s,
            &format!("Java-Card-Imported-Package-{}-AID", i + 1),
            &aid_text(aid),
        );
        attribute(
            &mut s,
            &format!("Java-Card-Imported-Package-{}-Version", i + 1),
            &format!("{}.{}", v.0, v.1),
        );
    }
    attribute(
        &mut s,
        "Java-Card-Integer-Support-Required",
        if m.int { "TRUE" } else { "FALSE" },
    );
    s.push_str("\r\n");
    s
}

/// The identity attributes of an extended CAP file (Java Card 3.1 user
/// guide, "Extended CAP File Manifest File Syntax"): the CAP file's name,
/// AID and version, then the package as package 1, its applets numbered
/// within it.
fn extended_identity(s: &mut String, m: &ManifestInfo<'_>) {
    let dotted = m.package.replace('/', ".");
    let cap_name = dotted.rsplit('.').next().unwrap_or(&dotted);
    let version = format!("{}.{}", m.version.0, m.version.1);
    attribute(s, "Java-Card-CAP-Name", cap_name);
    attribute(s, "Java-Card-CAP-AID", &aid_text(m.aid));
    attribute(s, "Java-Card-CAP-Version", &version);
    attribute(s, "Java-Card-Package-1-Name", &dotted);
    if m.public {
        attribute(s, "Java-Card-Package-1-AID", &aid_text(m.aid));
        attribute(s, "Java-Card-Package-1-Version", &version);
    } else {
        attribute(s, "Java-Card-Package-1-AID", "private");
        attribute(s, "Java-Card-Package-1-Version", "private");
    }
    for (i, (name, aid)) in m.applets.iter().enumerate() {
        let key = format!("Java-Card-Package-1-Java-Card-Applet-{}", i + 1);
        attribute(s, &format!("{key}-Name"), name);
        attribute(s, &format!("{key}-AID"), &aid_text(aid));
    }
    for (i, name) in m.private_packages.iter().enumerate() {
        let n = i + 2;
        attribute(s, &format!("Java-Card-Package-{n}-Name"), name);
        attribute(s, &format!("Java-Card-Package-{n}-AID"), "private");
        attribute(s, &format!("Java-Card-Package-{n}-Version"), "private");
    }
}

/// The CAP with its JAR layout.
pub fn cap(format: Format, package: &str, components: Vec<Component>, manifest: String) -> Cap {
    let dir = format!("{}/javacard/", package.replace('.', "/"));
    let mut entries = vec![JarEntry::Other {
        path: "META-INF/MANIFEST.MF".into(),
        data: manifest.into_bytes().into(),
    }];
    for c in &components {
        entries.push(JarEntry::Component {
            path: format!("{dir}{}", entry_name(format, c.tag_byte())),
            tag: c.tag_byte(),
        });
    }
    Cap {
        format,
        components,
        container: Container::Jar { entries },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_attributes_fold_at_72_bytes() {
        let mut s = String::new();
        attribute(&mut s, "Java-Card-Applet-1-AID", &"0x00:".repeat(20));
        for line in s.split("\r\n") {
            assert!(line.len() <= 72, "{line}");
        }
        let joined: String = s
            .split("\r\n")
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    l
                } else {
                    l.strip_prefix(' ').unwrap_or(l)
                }
            })
            .collect();
        assert_eq!(
            joined,
            format!("Java-Card-Applet-1-AID: {}", "0x00:".repeat(20))
        );
    }
}
