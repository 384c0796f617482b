//! What the converter knows about classes outside the package: the Java Card
//! API tables of the target (`crate::api`) and the export files on the
//! export path, merged into one view of packages, classes and tokens.
//!
//! Both sources describe the same facts (JCVM chapter 5): a package's AID and
//! version, and per public class its token, flags, superclasses,
//! superinterfaces, and the tokens of its public and protected members,
//! inherited virtual methods included. Export files on the path win over the
//! API table, so a user can link against exact vendor exports.

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::aid::Aid;
use crate::api::{self, ApiVersion};
use crate::exp::{ExportFile, View};

use super::error::{Error, Result};

/// Export file flag: the class is an interface.
pub const ACC_INTERFACE: u16 = 0x0200;
/// Export file flag: the class or interface is (or implements) Shareable.
pub const ACC_SHAREABLE: u16 = 0x0800;
/// Export file flag: static member.
pub const ACC_STATIC: u16 = 0x0008;

/// An importable package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtPackage {
    /// Internal form, e.g. `javacard/framework`.
    pub name: String,
    pub aid: Aid,
    /// (major, minor).
    pub version: (u8, u8),
    /// Where the facts came from, for messages.
    pub source: String,
}

/// A public class or interface of an imported package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtClass {
    /// Index into [`Linker::packages`].
    pub package: usize,
    /// Internal form.
    pub name: String,
    pub token: u8,
    /// Export file flags (ACC_PUBLIC, ACC_INTERFACE, ACC_SHAREABLE, ...).
    pub flags: u16,
    /// All superclasses, in any order.
    pub supers: Vec<String>,
    /// All superinterfaces.
    pub interfaces: Vec<String>,
    pub fields: Vec<ExtField>,
    pub methods: Vec<ExtMethod>,
    /// From export format 2.3: how many public virtual method tokens a
    /// subclass inherits under the CAP 2.2 numbering (`None`: all of them).
    pub cap22_inheritable: Option<u8>,
}

/// A public or protected field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtField {
    pub name: String,
    pub descriptor: String,
    pub token: u8,
    pub flags: u16,
    /// The value of a compile-time constant (which has no usable token).
    pub value: Option<i32>,
}

/// A public or protected method or constructor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtMethod {
    pub name: String,
    pub descriptor: String,
    pub token: u8,
    pub flags: u16,
}

impl ExtMethod {
    /// Constructors and static methods share the static token space.
    pub fn is_static_token(&self) -> bool {
        self.flags & ACC_STATIC != 0 || self.name == "<init>"
    }
}

impl ExtClass {
    pub fn is_interface(&self) -> bool {
        self.flags & ACC_INTERFACE != 0
    }

    /// A virtual (or interface) method by name and descriptor.
    pub fn virtual_method(&self, name: &str, descriptor: &str) -> Option<&ExtMethod> {
        self.methods
            .iter()
            .find(|m| !m.is_static_token() && m.name == name && m.descriptor == descriptor)
    }

    /// A static method or constructor by name and descriptor.
    pub fn static_method(&self, name: &str, descriptor: &str) -> Option<&ExtMethod> {
        self.methods
            .iter()
            .find(|m| m.is_static_token() && m.name == name && m.descriptor == descriptor)
    }

    /// A field declared (listed) by this class.
    pub fn field(&self, name: &str, descriptor: &str) -> Option<&ExtField> {
        self.fields
            .iter()
            .find(|f| f.name == name && f.descriptor == descriptor)
    }

    /// The public virtual method tokens this class has, inherited included.
    pub fn virtual_methods(&self) -> impl Iterator<Item = &ExtMethod> {
        self.methods.iter().filter(|m| !m.is_static_token())
    }
}

/// All importable packages and their classes.
#[derive(Debug, Clone, Default)]
pub struct Linker {
    pub packages: Vec<ExtPackage>,
    classes: FxHashMap<String, ExtClass>,
    /// The packages of the embedded API tables by internal name: a package's
    /// classes are parsed on the first lookup of one of them, and a class is
    /// made into an [`ExtClass`] when it is looked up. A table holds hundreds
    /// of classes in twenty packages, a conversion looks up a few dozen in
    /// two to five, and reading them all was a fixed cost of every build.
    api_packages: FxHashMap<String, ApiPackageEntry>,
    /// Things worth telling the user (export files skipped, overrides).
    pub notes: Vec<String>,
}

/// An API package of the linker, with its classes once one was asked for.
#[derive(Debug, Clone)]
struct ApiPackageEntry {
    index: usize,
    embedded: &'static api::EmbeddedPackage,
    classes: OnceLock<FxHashMap<&'static str, ApiEntry>>,
}

impl ApiPackageEntry {
    fn class(&self, name: &str) -> Option<&ExtClass> {
        let classes = self.classes.get_or_init(|| {
            self.embedded
                .get()
                .classes
                .iter()
                .map(|c| {
                    let entry = ApiEntry {
                        package: self.index,
                        class: c,
                        ext: OnceLock::new(),
                    };
                    (c.name.as_str(), entry)
                })
                .collect()
        });
        classes.get(name).map(ApiEntry::ext)
    }
}

/// An API class, with its [`ExtClass`] once someone asked for it.
#[derive(Debug, Clone)]
struct ApiEntry {
    package: usize,
    class: &'static api::ApiClass,
    ext: OnceLock<ExtClass>,
}

impl ApiEntry {
    fn ext(&self) -> &ExtClass {
        self.ext.get_or_init(|| {
            let c = self.class;
            ExtClass {
                package: self.package,
                name: c.name.clone(),
                token: c.token,
                flags: c.flags,
                supers: c.supers.clone(),
                interfaces: c.interfaces.clone(),
                cap22_inheritable: c.cap22_inheritable_public_method_token_count,
                fields: c
                    .fields
                    .iter()
                    .map(|f| ExtField {
                        name: f.name.clone(),
                        descriptor: f.descriptor.clone(),
                        token: f.token,
                        flags: f.flags,
                        value: f.value.and_then(|v| i32::try_from(v).ok()),
                    })
                    .collect(),
                methods: c
                    .methods
                    .iter()
                    .map(|m| ExtMethod {
                        name: m.name.clone(),
                        descriptor: m.descriptor.clone(),
                        token: m.token,
                        flags: m.flags,
                    })
                    .collect(),
            }
        })
    }
}

impl Linker {
    /// The API table of `target` (with org.globalplatform at `gp_api` when
    /// given, else at the target's version) plus the export files found on
    /// `export_path` (files, or directories searched recursively for `*.exp`).
    pub fn new(
        target: ApiVersion,
        gp_api: Option<(u8, u8)>,
        export_path: &[PathBuf],
    ) -> Result<Linker> {
        let mut linker = Linker::default();
        let mut files = Vec::new();
        for p in export_path {
            if p.is_dir() {
                collect_exp_files(p, &mut files);
            } else if p.is_file() {
                files.push((p.clone(), true));
            } else {
                return Err(Error::general(format!(
                    "export path entry {} does not exist",
                    p.display()
                )));
            }
        }
        for (path, explicit) in files {
            match ExportFile::read(&path).and_then(|f| f.view()) {
                Ok(view) => linker.add_export(&view, &path)?,
                Err(e) if explicit => {
                    return Err(Error::general(format!(
                        "export file {}: {e}",
                        path.display()
                    )))
                }
                Err(e) => linker
                    .notes
                    .push(format!("skipped {}: {e}", path.display())),
            }
        }
        linker.add_api(target, gp_api)?;
        Ok(linker)
    }

    /// Adds the packages of an API table that no export file provided.
    fn add_api(&mut self, target: ApiVersion, gp_api: Option<(u8, u8)>) -> Result<()> {
        for p in api::link_packages(target, gp_api).map_err(Error::general)? {
            let name = p.package.replace('.', "/");
            if self.package_index(&name).is_some() {
                continue;
            }
            let (Some(aid), Some(version)) = (p.aid_bytes(), p.version_pair()) else {
                continue;
            };
            let index = self.packages.len();
            let source = if name.starts_with("org/globalplatform") {
                format!(
                    "jct's GlobalPlatform API table, {} {}",
                    p.package, p.version
                )
            } else {
                format!("Java Card {target} API")
            };
            self.packages.push(ExtPackage {
                name: name.clone(),
                aid,
                version,
                source,
            });
            self.api_packages.insert(
                name,
                ApiPackageEntry {
                    index,
                    embedded: p,
                    classes: OnceLock::new(),
                },
            );
        }
        Ok(())
    }

    /// Adds the package an export file describes.
    fn add_export(&mut self, view: &View, path: &Path) -> Result<()> {
        let name = view.package.name.replace('.', "/");
        if let Some(i) = self.package_index(&name) {
            self.notes.push(format!(
                "{}: package {} already read from {}; this file is ignored",
                path.display(),
                view.package.name,
                self.packages[i].source
            ));
            return Ok(());
        }
        let index = self.packages.len();
        self.packages.push(ExtPackage {
            name,
            aid: view.package.aid.clone(),
            version: (view.package.major_version, view.package.minor_version),
            source: path.display().to_string(),
        });
        for c in &view.classes {
            self.classes.insert(
                c.name.clone(),
                ExtClass {
                    package: index,
                    name: c.name.clone(),
                    token: c.token,
                    flags: c.flags,
                    supers: c.supers.clone(),
                    interfaces: c.interfaces.clone(),
                    cap22_inheritable: c.cap22_inheritable_public_method_token_count,
                    fields: c
                        .fields
                        .iter()
                        .map(|f| ExtField {
                            name: f.name.clone(),
                            descriptor: f.descriptor.clone(),
                            token: f.token,
                            flags: f.flags,
                            value: f.value,
                        })
                        .collect(),
                    methods: c
                        .methods
                        .iter()
                        .map(|m| ExtMethod {
                            name: m.name.clone(),
                            descriptor: m.descriptor.clone(),
                            token: m.token,
                            flags: m.flags,
                        })
                        .collect(),
                },
            );
        }
        Ok(())
    }

    fn package_index(&self, name: &str) -> Option<usize> {
        self.packages.iter().position(|p| p.name == name)
    }

    /// A class by internal name.
    pub fn class(&self, name: &str) -> Option<&ExtClass> {
        match self.classes.get(name) {
            Some(c) => Some(c),
            None => {
                let (package, _) = name.rsplit_once('/')?;
                self.api_packages.get(package)?.class(name)
            }
        }
    }

    /// Why a class of org.globalplatform is missing, when the version linked
    /// lacks it but a later one jct carries has it: which version to ask for.
    pub fn missing_class_hint(&self, name: &str) -> Option<String> {
        let (package, _) = name.rsplit_once('/')?;
        if package != "org/globalplatform" {
            return None;
        }
        let linked = &self.packages[self.package_index(package)?];
        let first = api::gp::VERSIONS.iter().copied().find(|v| {
            api::gp::package(*v).is_some_and(|p| p.classes.iter().any(|c| c.name == name))
        })?;
        (first > linked.version).then(|| {
            format!(
                "org.globalplatform {}.{} (from {}) has no {}; it is in {}.{} and later: \
                 build with --gp-api {}.{} (jct.toml: gp-api) for cards that offer it",
                linked.version.0,
                linked.version.1,
                linked.source,
                name.replace('/', "."),
                first.0,
                first.1,
                first.0,
                first.1
            )
        })
    }

    /// Is `name` the class or one of its superclasses/superinterfaces?
    pub fn is_subtype(&self, class: &ExtClass, name: &str) -> bool {
        class.name == name
            || class.supers.iter().any(|s| s == name)
            || class.interfaces.iter().any(|s| s == name)
    }

    /// Finds the class among `start` and its superclasses that declares an
    /// instance or static field (the nearest one listing it).
    pub fn field_owner<'a>(
        &'a self,
        start: &'a ExtClass,
        name: &str,
        descriptor: &str,
    ) -> Option<&'a ExtClass> {
        if start.field(name, descriptor).is_some() {
            return Some(start);
        }
        let mut chain: Vec<&ExtClass> = start.supers.iter().filter_map(|s| self.class(s)).collect();
        // Nearest superclass first: the one with the most superclasses.
        chain.sort_by_key(|c| std::cmp::Reverse(c.supers.len()));
        chain
            .into_iter()
            .find(|c| c.field(name, descriptor).is_some())
    }
}

/// Every `*.exp` under `dir`, sorted, marked as found by search.
fn collect_exp_files(dir: &Path, out: &mut Vec<(PathBuf, bool)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_exp_files(&p, out);
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("exp")) {
            out.push((p, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_classes_resolve_with_tokens() {
        let l = Linker::new(ApiVersion::V3_0_5, None, &[]).unwrap();
        let applet = l.class("javacard/framework/Applet").unwrap();
        assert_eq!(applet.token, 3);
        assert_eq!(l.packages[applet.package].version, (1, 6));
        assert_eq!(
            applet
                .virtual_method("process", "(Ljavacard/framework/APDU;)V")
                .unwrap()
                .token,
            7
        );
        assert_eq!(applet.static_method("<init>", "()V").unwrap().token, 0);
        let cre = l.class("javacard/framework/CardRuntimeException").unwrap();
        assert!(l.is_subtype(cre, "java/lang/RuntimeException"));
        let iso = l.class("javacard/framework/ISO7816").unwrap();
        let owner = l.field_owner(iso, "SW_NO_ERROR", "S").unwrap();
        assert_eq!(owner.name, "javacard/framework/ISO7816");
        assert_eq!(owner.field("SW_NO_ERROR", "S").unwrap().value, Some(-28672));
    }

    #[test]
    fn missing_export_path_is_an_error() {
        let e =
            Linker::new(ApiVersion::V3_0_5, None, &[PathBuf::from("/no/such/dir")]).unwrap_err();
        assert!(e.to_string().contains("does not exist"));
    }
}
