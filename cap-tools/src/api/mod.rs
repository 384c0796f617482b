//! The Java Card API export tables (tokens, AIDs, versions, descriptors and
//! constants of the public API packages) for API 2.2.2, 3.0.4, 3.0.5 and 3.2.0,
//! each with the GlobalPlatform Card API package `org.globalplatform` at the
//! version a card of that version typically carries (see
//! [`ApiVersion::globalplatform`]) and `org.globalplatform.securechannel`:
//! real applets import them, so the converter links against them and the
//! emulated card offers them like any other API package. Every other version
//! of org.globalplatform (1.0 to 1.7) is in [`gp`], for converting against
//! the version a particular card has ([`link_packages`]).
//!
//! They are embedded in the binary so that jct never needs an Oracle kit: the
//! converter links against them, the emulator resolves imports with them and
//! the dumpers name API classes and methods with them. The tables are parsed
//! once, on first use.
//!
//! The same tables also give the API to compile applets against: `javasrc`
//! writes its Java declarations and `jar` the class files javac reads (both
//! built on the declaration view in `decl`).

pub mod classwriter;
pub mod decl;
pub mod descriptor;
pub mod gp;
pub mod jar;
pub mod javasrc;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::aid::Aid;

/// The API versions jct carries tables for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ApiVersion {
    V2_2_2,
    V3_0_4,
    V3_0_5,
    V3_2_0,
}

impl ApiVersion {
    /// All versions, oldest first.
    pub const ALL: [ApiVersion; 4] = [
        ApiVersion::V2_2_2,
        ApiVersion::V3_0_4,
        ApiVersion::V3_0_5,
        ApiVersion::V3_2_0,
    ];

    /// The dotted name, e.g. `3.0.5`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ApiVersion::V2_2_2 => "2.2.2",
            ApiVersion::V3_0_4 => "3.0.4",
            ApiVersion::V3_0_5 => "3.0.5",
            ApiVersion::V3_2_0 => "3.2.0",
        }
    }

    /// Parses `2.2.2`, `3.0.4`, `3.0.5` or `3.2.0`.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.iter().copied().find(|v| v.as_str() == s)
    }

    fn json(&self) -> &'static str {
        match self {
            ApiVersion::V2_2_2 => include_str!("../../api/exports-2.2.2.json"),
            ApiVersion::V3_0_4 => include_str!("../../api/exports-3.0.4.json"),
            ApiVersion::V3_0_5 => include_str!("../../api/exports-3.0.5.json"),
            ApiVersion::V3_2_0 => include_str!("../../api/exports-3.2.0.json"),
        }
    }
}

impl ApiVersion {
    /// The version of `org.globalplatform` (AID A00000015100) a card of
    /// this Java Card version typically offers, by the GlobalPlatform Card
    /// Specification such cards implement: 1.0 (GP 2.1.1) for 2.2.2, 1.5
    /// (GP 2.2.1) for 3.0.4, 1.6 (GP 2.3) for 3.0.5, 1.7 (GP 2.3.1, the
    /// version the Java Card 3.2 kit supports) for 3.2.0. The emulated card
    /// offers it, and the converter links against it unless told another
    /// version (`jct build --gp-api`).
    pub fn globalplatform(&self) -> (u8, u8) {
        match self {
            ApiVersion::V2_2_2 => (1, 0),
            ApiVersion::V3_0_4 => (1, 5),
            ApiVersion::V3_0_5 => (1, 6),
            ApiVersion::V3_2_0 => (1, 7),
        }
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One API version's table.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ApiTable {
    pub api_version: String,
    pub packages: Vec<ApiPackage>,
}

/// An API package with its classes.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ApiPackage {
    /// Export file format the facts were taken from.
    pub format: String,
    /// Dotted name, e.g. `javacard.framework`.
    pub package: String,
    /// Hex AID.
    pub aid: String,
    /// `major.minor`.
    pub version: String,
    pub flags: u8,
    pub classes: Vec<ApiClass>,
}

/// A public class or interface of an API package.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ApiClass {
    /// Internal name with slashes, e.g. `javacard/framework/Applet`.
    pub name: String,
    pub token: u8,
    pub flags: u16,
    pub supers: Vec<String>,
    pub interfaces: Vec<String>,
    pub fields: Vec<ApiField>,
    pub methods: Vec<ApiMethod>,
    /// Export format 2.3 (API 3.1 and later): how many public virtual
    /// method tokens a subclass in a CAP 2.2 (or older) file inherits;
    /// methods added since have higher tokens. `None` for older APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap22_inheritable_public_method_token_count: Option<u8>,
}

/// A public or protected field.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ApiField {
    pub name: String,
    pub descriptor: String,
    pub token: u8,
    pub flags: u16,
    /// Compile-time constant value, for static final primitives.
    #[serde(default)]
    pub value: Option<i64>,
}

/// A public or protected method.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ApiMethod {
    pub name: String,
    pub descriptor: String,
    pub token: u8,
    pub flags: u16,
}

/// Access flag of exported classes and members: static.
pub const ACC_STATIC: u16 = 0x0008;
/// Access flag of exported classes: interface.
pub const ACC_INTERFACE: u16 = 0x0200;

impl ApiPackage {
    /// `(major, minor)` of the package version.
    pub fn version_pair(&self) -> Option<(u8, u8)> {
        let (a, b) = self.version.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    }

    /// The class with a token (classes and interfaces share the token space).
    pub fn class_by_token(&self, token: u8) -> Option<&ApiClass> {
        self.classes.iter().find(|c| c.token == token)
    }

    /// The package AID as bytes.
    pub fn aid_bytes(&self) -> Option<Aid> {
        Aid::from_hex(&self.aid).ok()
    }
}

impl ApiClass {
    /// The simple name, e.g. `Applet`.
    pub fn simple_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// A virtual method by token (static methods have their own token space).
    pub fn virtual_method(&self, token: u8) -> Option<&ApiMethod> {
        self.methods
            .iter()
            .find(|m| m.token == token && m.flags & ACC_STATIC == 0 && m.name != "<init>")
    }

    /// A static method or constructor by token.
    pub fn static_method(&self, token: u8) -> Option<&ApiMethod> {
        self.methods
            .iter()
            .find(|m| m.token == token && (m.flags & ACC_STATIC != 0 || m.name == "<init>"))
    }

    /// An instance field by token.
    pub fn instance_field(&self, token: u8) -> Option<&ApiField> {
        self.fields
            .iter()
            .find(|f| f.token == token && f.flags & ACC_STATIC == 0)
    }

    /// A static field by token.
    pub fn static_field(&self, token: u8) -> Option<&ApiField> {
        self.fields
            .iter()
            .find(|f| f.token == token && f.flags & ACC_STATIC != 0)
    }
}

impl ApiTable {
    /// The package with an AID.
    pub fn package_by_aid(&self, aid: &Aid) -> Option<&ApiPackage> {
        let hex = aid.to_hex();
        self.packages
            .iter()
            .find(|p| p.aid.eq_ignore_ascii_case(&hex))
    }

    /// The package with a dotted or slashed name.
    pub fn package_by_name(&self, name: &str) -> Option<&ApiPackage> {
        let dotted = name.replace('/', ".");
        self.packages.iter().find(|p| p.package == dotted)
    }
}

/// The entry of `version` in a cache with one slot per API version, made
/// by `make` on first use.
fn per_version(
    slots: &'static [OnceLock<ApiTable>; 4],
    version: ApiVersion,
    make: impl FnOnce() -> ApiTable,
) -> &'static ApiTable {
    let idx = ApiVersion::ALL
        .iter()
        .position(|v| *v == version)
        .unwrap_or(0);
    slots[idx].get_or_init(make)
}

/// The table of an API version, parsed on first use.
pub fn table(version: ApiVersion) -> &'static ApiTable {
    static TABLES: [OnceLock<ApiTable>; 4] = [const { OnceLock::new() }; 4];
    per_version(&TABLES, version, || {
        // The embedded tables are part of the build and checked by tests; a
        // parse failure is a build defect, not an input error.
        let mut t: ApiTable =
            serde_json::from_str(version.json()).expect("embedded API table is valid JSON");
        let gp = gp::package(version.globalplatform())
            .expect("every API version's GlobalPlatform version is embedded");
        t.packages.push(gp.clone());
        t.packages.push(gp::securechannel().clone());
        t
    })
}

/// The table to compile against (`jct api-jar`, `jct api-src`): the card's
/// table plus the packages jct can convert against that the emulated card
/// does not offer (org.globalplatform.securechannel.provider, whose
/// SecureChannelProvider would need the card's own protocol instances).
pub fn compile_table(version: ApiVersion) -> &'static ApiTable {
    static TABLES: [OnceLock<ApiTable>; 4] = [const { OnceLock::new() }; 4];
    per_version(&TABLES, version, || {
        let mut t = table(version).clone();
        t.packages.push(gp::provider().clone());
        t
    })
}

/// Parses the tables a conversion for `version` (with org.globalplatform
/// at `gp_version`) will link against, so that a caller can do it on a
/// thread of its own while it reads the class files: parsing the embedded
/// JSON is a fixed cost of every `jct build`. Later calls find them parsed
/// (or wait for this one to finish); unknown versions are left to the
/// converter to report.
pub fn preload(version: ApiVersion, gp_version: Option<(u8, u8)>) {
    let _ = table(version);
    if let Some(v) = gp_version {
        let _ = gp::package(v);
    }
}

/// The packages the converter links against for a target: those of
/// [`compile_table`], with org.globalplatform at `gp_version` when given
/// (a version jct carries, see [`gp::VERSIONS`]) instead of the target's.
pub fn link_packages(
    version: ApiVersion,
    gp_version: Option<(u8, u8)>,
) -> Result<Vec<&'static ApiPackage>, String> {
    let chosen = match gp_version {
        Some(v) => Some(gp::package(v).ok_or_else(|| {
            format!(
                "org.globalplatform {}.{} is not one jct carries ({})",
                v.0,
                v.1,
                gp::versions_text()
            )
        })?),
        None => None,
    };
    // compile_table's packages, without the copy of the whole table it
    // makes: every `jct build` links, and few need that table itself.
    Ok(table(version)
        .packages
        .iter()
        .chain(std::iter::once(gp::provider()))
        .map(|p| match chosen {
            Some(gp) if p.aid == gp::GP_AID => gp,
            _ => p,
        })
        .collect())
}

/// What jct knows about an imported package: its name and the API versions
/// whose table carries that exact package version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownPackage {
    pub name: String,
    pub api_versions: Vec<ApiVersion>,
}

/// Names an API package by AID, and says which API versions ship the given
/// package version (empty when none of the tables has exactly that version).
pub fn identify(aid: &Aid, major: u8, minor: u8) -> Option<KnownPackage> {
    let mut name = None;
    let mut api_versions = Vec::new();
    for v in ApiVersion::ALL {
        if let Some(p) = table(v).package_by_aid(aid) {
            name.get_or_insert_with(|| p.package.clone());
            if p.version_pair() == Some((major, minor)) {
                api_versions.push(v);
            }
        }
    }
    name.map(|name| KnownPackage { name, api_versions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_parses_and_names_itself() {
        for v in ApiVersion::ALL {
            let t = table(v);
            assert_eq!(t.api_version, v.as_str());
            assert!(t.package_by_name("javacard.framework").is_some(), "{v}");
        }
    }

    #[test]
    fn every_table_carries_its_globalplatform_version() {
        for v in ApiVersion::ALL {
            let gp = table(v).package_by_name("org.globalplatform").unwrap();
            assert_eq!(gp.aid, "A00000015100");
            assert_eq!(gp.version_pair(), Some(v.globalplatform()), "{v}");
            let system = gp
                .classes
                .iter()
                .find(|c| c.name == "org/globalplatform/GPSystem")
                .unwrap();
            let get_cvm = system.methods.iter().find(|m| m.name == "getCVM").unwrap();
            assert_eq!(
                (get_cvm.token, get_cvm.descriptor.as_str()),
                (3, "(B)Lorg/globalplatform/CVM;")
            );
        }
        let aid = Aid::from_hex("A00000015100").unwrap();
        let k = identify(&aid, 1, 6).unwrap();
        assert_eq!(k.name, "org.globalplatform");
        assert_eq!(k.api_versions, vec![ApiVersion::V3_0_5]);
        let sc = Aid::from_hex("A00000015103").unwrap();
        assert_eq!(identify(&sc, 1, 1).unwrap().api_versions, ApiVersion::ALL);
    }

    #[test]
    fn identifies_framework_versions() {
        let aid = Aid::from_hex("A0000000620101").unwrap();
        let k = identify(&aid, 1, 6).unwrap();
        assert_eq!(k.name, "javacard.framework");
        assert_eq!(k.api_versions, vec![ApiVersion::V3_0_5]);
        assert!(identify(&aid, 1, 0).unwrap().api_versions.is_empty());
        assert!(identify(&Aid::from_hex("F000000001").unwrap(), 1, 0).is_none());
    }

    #[test]
    fn applet_register_is_a_virtual_method() {
        let t = table(ApiVersion::V3_0_5);
        let fw = t.package_by_name("javacard/framework").unwrap();
        let applet = fw
            .classes
            .iter()
            .find(|c| c.simple_name() == "Applet")
            .unwrap();
        assert!(applet.methods.iter().any(|m| m.name == "register"));
        assert_eq!(fw.class_by_token(applet.token).unwrap().name, applet.name);
    }
}
