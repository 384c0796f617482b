//! The facts `jct cap info` reports about a CAP: identity, applets, imports,
//! component sizes and the load file's size and hashes.

use serde::Serialize;

use crate::aid::Aid;
use crate::api::{self, ApiVersion};
use crate::cap::container::JarEntry;
use crate::cap::header::{ACC_APPLET, ACC_EXPORT, ACC_EXTENDED, ACC_INT};
use crate::cap::load_file::{LoadFile, LoadFileDigest};
use crate::cap::{Cap, Component, Container};
use crate::error::Result;

/// Everything `jct cap info` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapInfo {
    /// `2.1`, `2.2`, `2.3`.
    pub cap_format: String,
    pub extended: bool,
    pub flags: u8,
    pub flag_names: Vec<&'static str>,
    /// The Header's package name: absent in CAP 2.1, possibly empty in 2.2+.
    pub package_name: Option<String>,
    pub package_aid: Option<Aid>,
    pub package_version: Option<String>,
    /// Extended format: the CAP file's own identity, its public packages
    /// and its Method component blocks. `None` for compact files.
    pub extended_cap: Option<ExtendedInfo>,
    pub applets: Vec<AppletInfo>,
    pub imports: Vec<ImportInfo>,
    pub components: Vec<ComponentSize>,
    /// The load file as `jct load` sends it (Descriptor left out).
    pub load_file: LoadFileDigest,
    /// Size of the load file with the Descriptor included.
    pub load_file_size_with_descriptor: usize,
}

/// What an extended CAP file says of itself (its Header), beside the
/// packages of a compact one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtendedInfo {
    /// The CAP file's AID: the load file AID a card knows it by.
    pub cap_aid: Aid,
    pub cap_version: String,
    /// The public packages, in Header order (private ones are only in the
    /// Descriptor).
    pub packages: Vec<PackageEntry>,
    /// Packages the Descriptor describes, public and private.
    pub described_packages: Option<usize>,
    /// How many method_component_blocks the Method component has.
    pub method_blocks: usize,
}

/// A public package of an extended CAP file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageEntry {
    /// Internal form (`com/example/app`); may be empty.
    pub name: String,
    pub aid: Aid,
    pub version: String,
}

/// An applet of the package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppletInfo {
    pub aid: Aid,
    pub install_method_offset: u32,
    /// Class name, from the Debug component or the JAR manifest.
    pub class_name: Option<String>,
}

/// An imported package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportInfo {
    pub aid: Aid,
    pub version: String,
    /// API package name, for AIDs of the Java Card API.
    pub name: Option<String>,
    /// API versions whose table has exactly this package version.
    pub api_versions: Vec<ApiVersion>,
}

/// A component and its encoded size (tag, size field and body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentSize {
    pub name: String,
    pub tag: u8,
    pub size: usize,
}

/// Names of the Header flags that are set.
pub fn flag_names(flags: u8) -> Vec<&'static str> {
    [
        (ACC_INT, "ACC_INT"),
        (ACC_EXPORT, "ACC_EXPORT"),
        (ACC_APPLET, "ACC_APPLET"),
        (ACC_EXTENDED, "ACC_EXTENDED"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, name)| *name)
    .collect()
}

impl CapInfo {
    /// Gathers the facts of a decoded CAP.
    pub fn of(cap: &Cap) -> Result<CapInfo> {
        let header = cap.header();
        let ctx = cap.context();
        let flags = header.map(|h| h.flags).unwrap_or(0);
        let manifest = manifest_applet_names(cap);
        let mut applets = Vec::new();
        if let Some(Component::Applet(a)) = cap.component(crate::cap::Tag::Applet) {
            for entry in &a.applets {
                let class_name = debug_class_name(cap, entry.install_method_offset).or_else(|| {
                    manifest
                        .iter()
                        .find(|(aid, _)| *aid == entry.aid)
                        .map(|(_, n)| n.clone())
                });
                applets.push(AppletInfo {
                    aid: entry.aid.clone(),
                    install_method_offset: entry.install_method_offset,
                    class_name,
                });
            }
        }
        let mut imports = Vec::new();
        if let Some(Component::Import(i)) = cap.component(crate::cap::Tag::Import) {
            for p in &i.packages {
                let known = api::identify(&p.aid, p.major_version, p.minor_version);
                imports.push(ImportInfo {
                    aid: p.aid.clone(),
                    version: format!("{}.{}", p.major_version, p.minor_version),
                    name: known.as_ref().map(|k| k.name.clone()),
                    api_versions: known.map(|k| k.api_versions).unwrap_or_default(),
                });
            }
        }
        let components = cap
            .components
            .iter()
            .map(|c| {
                Ok(ComponentSize {
                    name: c.name(),
                    tag: c.tag_byte(),
                    size: c.encode(&ctx)?.len(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let extended_cap = header.filter(|h| h.is_extended()).map(|h| ExtendedInfo {
            cap_aid: h.load_file_aid().clone(),
            cap_version: format!("{}.{}", h.package.major_version, h.package.minor_version),
            packages: h
                .packages
                .iter()
                .map(|p| PackageEntry {
                    name: p.name.clone(),
                    aid: p.package.aid.clone(),
                    version: format!("{}.{}", p.package.major_version, p.package.minor_version),
                })
                .collect(),
            described_packages: match cap.component(crate::cap::Tag::Descriptor) {
                Some(Component::Descriptor(d)) => d.package_class_counts.as_ref().map(Vec::len),
                _ => None,
            },
            method_blocks: match cap.component(crate::cap::Tag::Method) {
                Some(Component::Method(m)) => m.blocks.len(),
                _ => 0,
            },
        });
        Ok(CapInfo {
            cap_format: format!("{}.{}", cap.format.major, cap.format.minor),
            extended: cap.format.extended,
            flags,
            flag_names: flag_names(flags),
            package_name: header.and_then(|h| h.package_name.clone()),
            package_aid: header.and_then(|h| h.package_aid()),
            package_version: header
                .and_then(|h| h.package_version())
                .map(|(maj, min)| format!("{maj}.{min}")),
            extended_cap,
            applets,
            imports,
            components,
            load_file: LoadFile::build(cap, false)?.digest(),
            load_file_size_with_descriptor: LoadFile::build(cap, true)?.bytes.len(),
        })
    }
}

/// The class whose methods include the applet's install method, named by the Debug component.
fn debug_class_name(cap: &Cap, install_offset: u32) -> Option<String> {
    match cap.component(crate::cap::Tag::Debug) {
        Some(Component::Debug(d)) => d.class_name_of_method_offset(install_offset),
        _ => None,
    }
}

/// `(applet AID, class name)` pairs from the JAR manifest's
/// `Java-Card-Applet-<n>-AID` / `-Name` attributes (continuation lines joined).
fn manifest_applet_names(cap: &Cap) -> Vec<(Aid, String)> {
    let Container::Jar { entries } = &cap.container else {
        return Vec::new();
    };
    let Some(text) = entries.iter().find_map(|e| match e {
        JarEntry::Other { path, data } if path.eq_ignore_ascii_case("META-INF/MANIFEST.MF") => {
            Some(String::from_utf8_lossy(data.inflated()?).into_owned())
        }
        _ => None,
    }) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = Vec::new();
    for raw in text.lines() {
        match (raw.strip_prefix(' '), lines.last_mut()) {
            (Some(cont), Some(last)) => last.push_str(cont),
            _ => lines.push(raw.to_string()),
        }
    }
    let attr = |key: &str| {
        lines.iter().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let mut out = Vec::new();
    // Compact files number applets alone; extended ones within their
    // package (`Java-Card-Package-<m>-Java-Card-Applet-<n>-AID`).
    let prefixes = std::iter::once(String::new())
        .chain((1..=255).map(|m| format!("Java-Card-Package-{m}-")))
        .take_while(|p| p.is_empty() || attr(&format!("{p}Name")).is_some());
    for prefix in prefixes {
        for n in 1..=255 {
            let (Some(aid), Some(name)) = (
                attr(&format!("{prefix}Java-Card-Applet-{n}-AID")),
                attr(&format!("{prefix}Java-Card-Applet-{n}-Name")),
            ) else {
                break;
            };
            let bytes: Option<Vec<u8>> = aid
                .split(':')
                .map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).ok())
                .collect();
            if let Some(bytes) = bytes {
                out.push((Aid(bytes), name));
            }
        }
    }
    out
}
