//! The GlobalPlatform Card API packages jct embeds, from GlobalPlatform's
//! export files (`scripts/gp-api-table.sh`): `org.globalplatform` 1.0 to
//! 1.7 and `org.globalplatform.securechannel` and
//! `org.globalplatform.securechannel.provider` 1.1.
//!
//! A card offers one version of `org.globalplatform`, the one of the
//! GlobalPlatform Card Specification it implements (GlobalPlatform's
//! table: GP 2.1.1 → 1.0, 2.2 → 1.1, 2.2 Amendment A → 1.2, Amendment B →
//! 1.3, Amendment C → 1.4, 2.2.1 → 1.5, 2.3 → 1.6, 2.3.1 → 1.7). A CAP
//! records the version it was converted against in its Import component,
//! and by the JCVM's linking rules it links on a card whose version has
//! the same major and a minor at least as high: later versions only add
//! classes and members, keeping every token (tested below). So an applet
//! converted against the oldest version that has what it uses loads on the
//! most cards.

use super::{ApiPackage, EmbeddedPackage, GLOBALPLATFORM, SECURECHANNEL, SECURECHANNEL_PROVIDER};

/// org.globalplatform's AID.
pub const GP_AID: &str = "A00000015100";

/// The versions of org.globalplatform jct carries, oldest first.
pub const VERSIONS: [(u8, u8); 8] = [
    (1, 0),
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 5),
    (1, 6),
    (1, 7),
];

/// Parses `1.0` .. `1.7` into a version jct carries.
pub fn parse_version(s: &str) -> Option<(u8, u8)> {
    let (a, b) = s.trim().split_once('.')?;
    let v = (a.parse().ok()?, b.parse().ok()?);
    VERSIONS.contains(&v).then_some(v)
}

/// The versions as text, for messages: `1.0, 1.1, ..., 1.7`.
pub fn versions_text() -> String {
    VERSIONS
        .iter()
        .map(|(a, b)| format!("{a}.{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// org.globalplatform at `version`, unparsed; `None` for a version jct
/// does not carry.
pub fn embedded(version: (u8, u8)) -> Option<&'static EmbeddedPackage> {
    let i = VERSIONS.iter().position(|v| *v == version)?;
    GLOBALPLATFORM.get(i)
}

/// org.globalplatform at `version`, parsed on first use; `None` for a
/// version jct does not carry.
pub fn package(version: (u8, u8)) -> Option<&'static ApiPackage> {
    embedded(version).map(EmbeddedPackage::get)
}

/// org.globalplatform.securechannel 1.1, unparsed (see [`securechannel`]).
pub fn embedded_securechannel() -> &'static EmbeddedPackage {
    &SECURECHANNEL[0]
}

/// org.globalplatform.securechannel 1.1 (AID A00000015103): two
/// interfaces, SecureChannelKeys and SecureChannelProtocol (which extends
/// org.globalplatform.SecureChannel), that a secure channel provider
/// implements. Interfaces only, so a card offers it with no code behind it.
pub fn securechannel() -> &'static ApiPackage {
    embedded_securechannel().get()
}

/// org.globalplatform.securechannel.provider 1.1, unparsed (see [`provider`]).
pub fn embedded_provider() -> &'static EmbeddedPackage {
    &SECURECHANNEL_PROVIDER[0]
}

/// org.globalplatform.securechannel.provider 1.1 (AID A00000015104): the
/// class SecureChannelProvider, whose static createNewInstance makes a
/// secure channel protocol instance (SCP02, SCP03, ...) of the card's own.
pub fn provider() -> &'static ApiPackage {
    embedded_provider().get()
}

/// The first version of org.globalplatform that has a member (method or
/// field, by name and descriptor) in `class` (internal name), for telling a
/// user which `--gp-api` a missing member needs.
pub fn first_version_with(class: &str, name: &str, descriptor: &str) -> Option<(u8, u8)> {
    VERSIONS.iter().copied().find(|v| {
        package(*v)
            .and_then(|p| p.classes.iter().find(|c| c.name == class))
            .is_some_and(|c| {
                c.methods
                    .iter()
                    .any(|m| m.name == name && m.descriptor == descriptor)
                    || c.fields
                        .iter()
                        .any(|f| f.name == name && f.descriptor == descriptor)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_parses_and_is_what_it_says() {
        for v in VERSIONS {
            let p = package(v).unwrap();
            assert_eq!(p.package, "org.globalplatform");
            assert_eq!(p.aid, GP_AID);
            assert_eq!(p.version_pair(), Some(v));
        }
        assert!(package((1, 8)).is_none() && package((2, 0)).is_none());
        assert_eq!(parse_version("1.2"), Some((1, 2)));
        assert_eq!(parse_version("1.8"), None);
        assert_eq!(parse_version("x"), None);
        assert_eq!(
            first_version_with("org/globalplatform/GPSystem", "getCardInfo", "([BSS)S"),
            Some((1, 7))
        );
        assert_eq!(
            first_version_with("org/globalplatform/GPSystem", "getCardState", "()B"),
            Some((1, 0))
        );
        assert_eq!(
            first_version_with("org/globalplatform/GPSystem", "x", "()V"),
            None
        );
        assert_eq!(securechannel().aid, "A00000015103");
        assert_eq!(provider().aid, "A00000015104");
    }

    /// What makes an older import link on a newer card: every class,
    /// field and method of version 1.n is in 1.n+1 with the same token,
    /// flags and descriptor (constants with the same value).
    #[test]
    fn each_version_keeps_every_token_of_the_one_before() {
        for pair in VERSIONS.windows(2) {
            let (old, new) = (package(pair[0]).unwrap(), package(pair[1]).unwrap());
            for c in &old.classes {
                let n = new
                    .classes
                    .iter()
                    .find(|k| k.name == c.name)
                    .unwrap_or_else(|| panic!("{} lost in {}", c.name, new.version));
                assert_eq!((n.token, n.flags), (c.token, c.flags), "{}", c.name);
                for m in &c.methods {
                    assert!(
                        n.methods.iter().any(|k| k.name == m.name
                            && k.descriptor == m.descriptor
                            && k.token == m.token
                            && k.flags == m.flags),
                        "{}.{}{} changed in {}",
                        c.name,
                        m.name,
                        m.descriptor,
                        new.version
                    );
                }
                for f in &c.fields {
                    assert!(
                        n.fields.iter().any(|k| k.name == f.name
                            && k.descriptor == f.descriptor
                            && k.token == f.token
                            && k.value == f.value),
                        "{}.{} changed in {}",
                        c.name,
                        f.name,
                        new.version
                    );
                }
            }
        }
    }
}
