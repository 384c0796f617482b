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
//! the dumpers name API classes and methods with them. Each package is
//! embedded as its own JSON text (build.rs splits the tables), known by name,
//! AID and version without parsing ([`EmbeddedPackage`]), and parsed once,
//! when something asks for its classes.
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

    /// The packages of this version's table (without org.globalplatform).
    fn embedded(&self) -> &'static [EmbeddedPackage] {
        match self {
            ApiVersion::V2_2_2 => &TABLE_2_2_2,
            ApiVersion::V3_0_4 => &TABLE_3_0_4,
            ApiVersion::V3_0_5 => &TABLE_3_0_5,
            ApiVersion::V3_2_0 => &TABLE_3_2_0,
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

/// A package of an embedded table: the facts that name it, and its classes,
/// parsed on first use. A conversion links against a few of a table's
/// packages; parsing every package of the table was most of a small
/// `jct build`'s work.
#[derive(Debug)]
pub struct EmbeddedPackage {
    /// Dotted name, e.g. `javacard.framework`.
    pub package: &'static str,
    /// Hex AID.
    pub aid: &'static str,
    /// `major.minor`.
    pub version: &'static str,
    json: &'static str,
    parsed: OnceLock<ApiPackage>,
}

impl EmbeddedPackage {
    const fn new(
        package: &'static str,
        aid: &'static str,
        version: &'static str,
        json: &'static str,
    ) -> EmbeddedPackage {
        EmbeddedPackage {
            package,
            aid,
            version,
            json,
            parsed: OnceLock::new(),
        }
    }

    /// The whole package, parsed on the first call.
    pub fn get(&'static self) -> &'static ApiPackage {
        self.parsed.get_or_init(|| {
            // The embedded tables are part of the build and checked by
            // tests; a parse failure is a build defect, not an input error.
            serde_json::from_str(self.json).expect("embedded API package is valid JSON")
        })
    }

    /// `(major, minor)` from the version string.
    pub fn version_pair(&self) -> Option<(u8, u8)> {
        parse_version_pair(self.version)
    }

    /// The AID as bytes.
    pub fn aid_bytes(&self) -> Option<Aid> {
        Aid::from_hex(self.aid).ok()
    }
}

include!(concat!(env!("OUT_DIR"), "/api_packages.rs"));

fn parse_version_pair(v: &str) -> Option<(u8, u8)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Access flag of exported classes and members: static.
pub const ACC_STATIC: u16 = 0x0008;
/// Access flag of exported classes: interface.
pub const ACC_INTERFACE: u16 = 0x0200;

impl ApiPackage {
    /// `(major, minor)` of the package version.
    pub fn version_pair(&self) -> Option<(u8, u8)> {
        parse_version_pair(&self.version)
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

/// The table of an API version (every package parsed), made on first use.
/// The converter does not need it: it links against [`link_packages`],
/// which parses only the packages a conversion looks into.
pub fn table(version: ApiVersion) -> &'static ApiTable {
    static TABLES: [OnceLock<ApiTable>; 4] = [const { OnceLock::new() }; 4];
    per_version(&TABLES, version, || ApiTable {
        api_version: version.as_str().to_string(),
        packages: card_packages(version).map(|p| p.get().clone()).collect(),
    })
}

/// The packages a card of `version` offers: the version's table, its
/// org.globalplatform and org.globalplatform.securechannel.
fn card_packages(version: ApiVersion) -> impl Iterator<Item = &'static EmbeddedPackage> {
    let gp = gp::embedded(version.globalplatform())
        .expect("every API version's GlobalPlatform version is embedded");
    version
        .embedded()
        .iter()
        .chain([gp, gp::embedded_securechannel()])
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

/// The packages the converter links against for a target: those of
/// [`compile_table`], with org.globalplatform at `gp_version` when given
/// (a version jct carries, see [`gp::VERSIONS`]) instead of the target's.
/// Nothing is parsed here: each package's classes are parsed when asked for.
pub fn link_packages(
    version: ApiVersion,
    gp_version: Option<(u8, u8)>,
) -> Result<Vec<&'static EmbeddedPackage>, String> {
    let chosen = match gp_version {
        Some(v) => Some(gp::embedded(v).ok_or_else(|| {
            format!(
                "org.globalplatform {}.{} is not one jct carries ({})",
                v.0,
                v.1,
                gp::versions_text()
            )
        })?),
        None => None,
    };
    Ok(card_packages(version)
        .chain([gp::embedded_provider()])
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
    let hex = aid.to_hex();
    for v in ApiVersion::ALL {
        if let Some(p) = card_packages(v).find(|p| p.aid.eq_ignore_ascii_case(&hex)) {
            name.get_or_insert_with(|| p.package.to_string());
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

    /// The facts build.rs copied out of each package (what a linker knows
    /// it by before parsing) are those of the parsed package.
    #[test]
    fn embedded_facts_are_the_parsed_ones() {
        let singles = gp::VERSIONS
            .iter()
            .filter_map(|v| gp::embedded(*v))
            .chain([gp::embedded_securechannel(), gp::embedded_provider()]);
        let all: Vec<&'static EmbeddedPackage> = ApiVersion::ALL
            .iter()
            .flat_map(|v| v.embedded())
            .chain(singles)
            .collect();
        assert_eq!(all.len(), 14 + 15 + 18 + 24 + 8 + 2, "packages embedded");
        for p in all {
            let parsed = p.get();
            assert_eq!(
                (p.package, p.aid, p.version),
                (
                    parsed.package.as_str(),
                    parsed.aid.as_str(),
                    parsed.version.as_str()
                )
            );
            assert!(!parsed.classes.is_empty(), "{}", p.package);
        }
    }

    #[test]
    fn link_packages_put_the_chosen_globalplatform_in_place() {
        let linked = link_packages(ApiVersion::V3_0_5, Some((1, 2))).unwrap();
        let gps: Vec<_> = linked.iter().filter(|p| p.aid == gp::GP_AID).collect();
        assert_eq!(gps.len(), 1);
        assert_eq!(gps[0].version, "1.2");
        assert!(linked.iter().any(|p| p.aid == "A00000015104"), "provider");
        let table = table(ApiVersion::V3_0_5);
        assert_eq!(linked.len(), table.packages.len() + 1);
        assert!(link_packages(ApiVersion::V3_0_5, Some((1, 9))).is_err());
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
