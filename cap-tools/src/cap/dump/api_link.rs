//! Linking imported packages to the embedded API export tables, so that
//! external references read as `javacard/framework/APDU.getBuffer()[B`
//! instead of bare tokens.

use crate::api::{self, ApiClass, ApiField, ApiPackage, ApiVersion};
use crate::cap::header::PackageInfo;

/// How deep a superclass chain is followed before giving up (API chains are
/// short; the bound only protects against tables naming themselves).
const MAX_SUPER_DEPTH: usize = 16;

/// The API package an import resolves to.
#[derive(Debug, Clone, Copy)]
pub struct Linked {
    pub package: &'static ApiPackage,
    /// The API version whose table it comes from.
    pub api: ApiVersion,
    /// True when that table carries exactly the imported package version.
    pub exact: bool,
}

/// Finds the table entry for an imported package: the exact version if a
/// table has it; otherwise the closest newer version (Java Card keeps tokens
/// binary compatible from one minor version to the next, so a newer table
/// names everything an older import can reference); otherwise the newest
/// older one, whose names are right for everything it has.
pub fn link(import: &PackageInfo) -> Option<Linked> {
    let want = import.version();
    let mut exact = None;
    let mut newer: Option<(ApiVersion, &'static ApiPackage, (u8, u8))> = None;
    let mut older: Option<(ApiVersion, &'static ApiPackage, (u8, u8))> = None;
    for v in ApiVersion::ALL {
        let Some(p) = api::table(v).package_by_aid(&import.aid) else {
            continue;
        };
        let Some(have) = p.version_pair() else {
            continue;
        };
        if have == want {
            exact = Some((v, p));
        } else if have > want {
            if !matches!(newer, Some((_, _, n)) if n <= have) {
                newer = Some((v, p, have));
            }
        } else if !matches!(older, Some((_, _, o)) if o > have) {
            older = Some((v, p, have));
        }
    }
    if let Some((api, package)) = exact {
        return Some(Linked {
            package,
            api,
            exact: true,
        });
    }
    newer.or(older).map(|(api, package, _)| Linked {
        package,
        api,
        exact: false,
    })
}

/// The dotted package name in internal (slashed) form.
pub fn slashed(p: &ApiPackage) -> String {
    p.package.replace('.', "/")
}

/// An instance field by token, in the class or its superclasses.
pub fn instance_field(
    package: &'static ApiPackage,
    api: ApiVersion,
    class: &'static ApiClass,
    token: u8,
) -> Option<(&'static ApiClass, &'static ApiField)> {
    let mut current = class;
    for _ in 0..MAX_SUPER_DEPTH {
        if let Some(f) = current.instance_field(token) {
            return Some((current, f));
        }
        current = super_class(package, api, current)?;
    }
    None
}

/// The direct superclass (the last of `supers`, which the tables list from
/// `java/lang/Object` down), searched in the class's own package first and
/// then in the rest of the same API table.
pub fn super_class(
    package: &'static ApiPackage,
    api: ApiVersion,
    class: &ApiClass,
) -> Option<&'static ApiClass> {
    let name = class.supers.last()?;
    let find = |p: &'static ApiPackage| p.classes.iter().find(|c| &c.name == name);
    find(package).or_else(|| api::table(api).packages.iter().find_map(find))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aid::Aid;

    fn import(aid: &str, major: u8, minor: u8) -> PackageInfo {
        PackageInfo {
            minor_version: minor,
            major_version: major,
            aid: Aid::from_hex(aid).unwrap(),
        }
    }

    #[test]
    fn exact_then_newer_then_older() {
        let l = link(&import("A0000000620101", 1, 6)).unwrap();
        assert!(l.exact);
        assert_eq!(l.api, ApiVersion::V3_0_5);
        // 1.4 is in no table: the next newer (1.5, API 3.0.4) is used.
        let l = link(&import("A0000000620101", 1, 4)).unwrap();
        assert!(!l.exact);
        assert_eq!(l.package.version, "1.5");
        // 1.99 is newer than every table: the newest older one.
        let l = link(&import("A0000000620101", 1, 99)).unwrap();
        assert_eq!(l.package.version, "1.9");
        assert!(link(&import("F000000001", 1, 0)).is_none());
    }

    #[test]
    fn inherited_fields_and_superclasses_are_found() {
        let l = link(&import("A0000000620101", 1, 6)).unwrap();
        let iso = l
            .package
            .classes
            .iter()
            .find(|c| c.simple_name() == "ISOException")
            .unwrap();
        let sup = super_class(l.package, l.api, iso).unwrap();
        assert_eq!(sup.simple_name(), "CardRuntimeException");
        // java.lang.Object has no superclass.
        let lang = link(&import("A0000000620001", 1, 0)).unwrap();
        let object = lang
            .package
            .classes
            .iter()
            .find(|c| c.simple_name() == "Object")
            .unwrap();
        assert!(super_class(lang.package, lang.api, object).is_none());
    }
}
