//! Will this CAP load on this card? The checks made before LOAD, so that a
//! load the card would refuse with a bare 6A80, 6A84 or 6A88 stops first
//! with a sentence a user can act on.
//!
//! Sans-I/O: [`check`] is a function from what the CAP says ([`CapFacts`])
//! and what the card told ([`CardFacts`]: its load files with their
//! versions from GET STATUS, its Java Card version from the card
//! recognition data, its free memory from the extended card resources
//! FF21) to a [`Report`] of every comparison made. A card that does not
//! tell something leaves that comparison [`Outcome::Unknown`], never
//! failed: the check only refuses what the card itself said it cannot take.
//! [`Report::explain_failure`] adds what was checked to the status word
//! of a LOAD or INSTALL that fails anyway.

use cap_tools::api::{self, ApiVersion};
use cap_tools::cap::load_file::LoadFile;
use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;
use gp::cardinfo::{self, CardResources};
use gp::registry::Entry;
use gp::sw::CommandKind;
use serde::Serialize;

use crate::plan::PlanError;

/// AID of javacard.framework, whose version tells the card's Java Card
/// version (1.3 in 2.2.2, 1.5 in 3.0.4, 1.6 in 3.0.5, 1.8 in 3.1, 1.9 in 3.2).
const FRAMEWORK_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01];
/// RID of the Java Card API packages (java.*, javacard.*, javacardx.*).
const JAVA_CARD_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x00, 0x62];
/// The first javacard.framework minor version of Java Card 3.1, the first
/// release that loads CAP format 2.3.
const FRAMEWORK_MINOR_3_1: u8 = 8;
/// The first javacard.framework minor version of Java Card 2.2, the first
/// release that loads CAP format 2.2.
const FRAMEWORK_MINOR_2_2: u8 = 2;

/// A package and its version, as a CAP imports it or a card lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageVersion {
    #[serde(serialize_with = "hex_aid")]
    pub aid: Vec<u8>,
    pub major: u8,
    pub minor: u8,
    /// The API package's name, e.g. `javacard.security`, when the AID is
    /// one of the Java Card or GlobalPlatform API's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn hex_aid<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(v))
}

impl PackageVersion {
    fn new(aid: Vec<u8>, major: u8, minor: u8) -> PackageVersion {
        let name = api_package_name(&aid);
        PackageVersion {
            aid,
            major,
            minor,
            name,
        }
    }

    /// `javacard.security 1.6` or `F0000000014C 1.0`.
    fn label(&self) -> String {
        format!("{} {}.{}", self.who(), self.major, self.minor)
    }

    fn who(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => hex::encode_upper(&self.aid),
        }
    }
}

/// The name of an API package by AID, from any API table jct carries.
fn api_package_name(aid: &[u8]) -> Option<String> {
    let hex = hex::encode_upper(aid);
    ApiVersion::ALL.iter().rev().find_map(|v| {
        api::table(*v)
            .packages
            .iter()
            .find(|p| p.aid.eq_ignore_ascii_case(&hex))
            .map(|p| p.package.clone())
    })
}

/// What a CAP needs of a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapFacts {
    pub package: PackageVersion,
    /// CAP format major.minor.
    pub format: (u8, u8),
    /// The extended CAP format (Method component blocks).
    pub extended: bool,
    /// The packages of the Import component.
    pub imports: Vec<PackageVersion>,
    /// Bytes of the load file LOAD sends (tag C4 and the Load File Data Block).
    pub load_file_size: usize,
}

impl CapFacts {
    /// The facts of `cap` as it will be loaded (with or without the
    /// Descriptor component).
    pub fn of(cap: &Cap, with_descriptor: bool) -> Result<CapFacts, PlanError> {
        let header = cap
            .header()
            .ok_or_else(|| PlanError::Invalid("the CAP has no Header component".into()))?;
        let (major, minor) = header.package.version();
        let package = PackageVersion::new(header.load_file_aid().as_bytes().to_vec(), major, minor);
        let imports = match cap.component(Tag::Import) {
            Some(Component::Import(i)) => i
                .packages
                .iter()
                .map(|p| {
                    PackageVersion::new(p.aid.as_bytes().to_vec(), p.major_version, p.minor_version)
                })
                .collect(),
            _ => Vec::new(),
        };
        let load_file_size = LoadFile::build(cap, with_descriptor)?.with_c4_tag().len();
        Ok(CapFacts {
            package,
            format: (cap.format.major, cap.format.minor),
            extended: cap.format.extended,
            imports,
            load_file_size,
        })
    }
}

/// What a card told about itself; `None` where it did not tell.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CardFacts {
    /// The load files GET STATUS listed, with their versions (tag CE).
    pub load_files: Option<Vec<PackageVersion>>,
    /// Load files listed without a version.
    pub unversioned: Vec<String>,
    /// The Java Card major version of the card recognition data.
    pub java_card_major: Option<u8>,
    /// Extended card resources (GET DATA FF21).
    pub resources: Option<CardResources>,
    /// Answers that could not be decoded, and why: the facts they hold
    /// count as untold.
    pub unreadable: Vec<String>,
}

impl CardFacts {
    /// The facts from the card's answers: the load file entries of GET
    /// STATUS (`None`: the card would not list them), the value of GET
    /// DATA 66 and of GET DATA FF21 (`None`: the card does not hold it).
    /// A malformed answer tells nothing: it is noted in `unreadable`, and
    /// the comparisons it would feed are left unknown.
    pub fn from_answers(
        load_files: Option<&[Entry]>,
        card_data: Option<&[u8]>,
        resources: Option<&[u8]>,
    ) -> CardFacts {
        let mut unreadable = Vec::new();
        let mut unversioned = Vec::new();
        let load_files = load_files.map(|entries| {
            entries
                .iter()
                .filter_map(|e| match e.version.as_deref() {
                    Some([major, minor, ..]) => {
                        Some(PackageVersion::new(e.aid.clone(), *major, *minor))
                    }
                    _ => {
                        unversioned.push(hex::encode_upper(&e.aid));
                        None
                    }
                })
                .collect()
        });
        fn keep<T>(unreadable: &mut Vec<String>, r: Result<T, String>) -> Option<T> {
            r.map_err(|e| unreadable.push(e)).ok()
        }
        let java_card_major = card_data
            .and_then(|d| keep(&mut unreadable, cardinfo::decode_card_recognition(d)))
            .and_then(|r| r.java_card_major());
        let resources =
            resources.and_then(|d| keep(&mut unreadable, cardinfo::decode_card_resources(d)));
        CardFacts {
            load_files,
            unversioned,
            java_card_major,
            resources,
            unreadable,
        }
    }

    fn listed(&self, aid: &[u8]) -> Option<&PackageVersion> {
        self.load_files.as_ref()?.iter().find(|p| p.aid == aid)
    }

    /// Whether the card lists its Java Card API packages: not every card
    /// puts its ROM packages in the registry, and an API import such a card
    /// does not list proves nothing.
    fn lists_api_packages(&self) -> bool {
        self.load_files
            .as_ref()
            .is_some_and(|l| l.iter().any(|p| p.aid.starts_with(&JAVA_CARD_RID)))
    }

    /// The card's Java Card version as far as it tells: from
    /// javacard.framework's version, else from the recognition data.
    fn java_card(&self) -> JavaCard {
        if let Some(f) = self.listed(&FRAMEWORK_AID) {
            return JavaCard::Framework(f.major, f.minor);
        }
        match self.java_card_major {
            Some(m) => JavaCard::Major(m),
            None => JavaCard::Unknown,
        }
    }
}

/// How much of its Java Card version a card tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JavaCard {
    /// javacard.framework major.minor.
    Framework(u8, u8),
    /// The major version of the card recognition data.
    Major(u8),
    Unknown,
}

impl JavaCard {
    /// The newest CAP format minor version (of 2.x) the card loads, when
    /// it tells enough to say.
    fn max_cap_minor(&self) -> Option<u8> {
        match *self {
            JavaCard::Framework(1, m) if m >= FRAMEWORK_MINOR_3_1 => Some(3),
            JavaCard::Framework(1, m) if m >= FRAMEWORK_MINOR_2_2 => Some(2),
            JavaCard::Framework(1, _) => Some(1),
            // Java Card 2.x: before 3.1 whatever the minor version.
            JavaCard::Major(m) if m <= 2 => Some(2),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match *self {
            JavaCard::Framework(major, minor) => {
                let versions: Vec<&str> = ApiVersion::ALL
                    .iter()
                    .filter(|v| {
                        api::table(**v).packages.iter().any(|p| {
                            p.aid_bytes().is_some_and(|a| a.as_bytes() == FRAMEWORK_AID)
                                && p.version_pair() == Some((major, minor))
                        })
                    })
                    .map(ApiVersion::as_str)
                    .collect();
                let release = match versions.as_slice() {
                    [] if minor >= FRAMEWORK_MINOR_3_1 => "Java Card 3.1 or later".to_string(),
                    [] => "Java Card before 3.1".to_string(),
                    v => format!("Java Card {}", v.join(" or ")),
                };
                format!("{release} (javacard.framework {major}.{minor})")
            }
            JavaCard::Major(m) => format!("Java Card {m} (card recognition data)"),
            JavaCard::Unknown => "an unstated Java Card version".into(),
        }
    }
}

/// The comparisons [`check`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// An imported package must be on the card.
    Import,
    /// An imported package must be there in a version that links: the
    /// same major version, a minor version at least the import's.
    ImportVersion,
    /// The CAP format must be one the card's Java Card version loads.
    CapFormat,
    /// The load file must fit the card's free non-volatile memory.
    Memory,
    /// The package must not be on the card already.
    AlreadyLoaded,
}

/// The result of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The card did not tell what the comparison needs.
    Unknown,
}

/// One comparison: what was compared with what, and the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub rule: Rule,
    pub outcome: Outcome,
    /// The comparison in words: what the CAP needs and what the card has.
    pub message: String,
    /// What to do about a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The CAP's side of the comparison, e.g. `F0000000014C 1.0`,
    /// `2.3 extended`, `907 bytes`: for a report that lists values apart
    /// from the sentence.
    pub cap_value: String,
    /// The card's side, e.g. `1.5`, `absent`, `300 bytes free`, or `not
    /// reported` when the card did not tell.
    pub card_value: String,
}

impl Check {
    fn new(rule: Rule, outcome: Outcome, message: String) -> Check {
        Check {
            rule,
            outcome,
            message,
            hint: None,
            cap_value: String::new(),
            card_value: String::new(),
        }
    }

    fn values(mut self, cap: String, card: String) -> Check {
        self.cap_value = cap;
        self.card_value = card;
        self
    }

    fn hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }
}

/// Every comparison made for one CAP and one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// The failed comparisons: what stops a load unless forced.
    pub fn findings(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }

    /// Whether nothing failed.
    pub fn ok(&self) -> bool {
        self.findings().next().is_none()
    }

    /// The findings as sentences, one a line, each with its hint.
    pub fn findings_text(&self) -> String {
        self.findings()
            .map(|c| match &c.hint {
                Some(h) => format!("{}: {h}", c.message),
                None => c.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// What was checked, in one sentence per rule.
    pub fn summary(&self) -> String {
        self.checks
            .iter()
            .map(|c| {
                let mark = match c.outcome {
                    Outcome::Pass => "ok",
                    Outcome::Fail => "MISMATCH",
                    Outcome::Unknown => "not checked",
                };
                format!("{} ({mark})", c.message)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The explanation of a status word of `kind` after these checks:
    /// the comparison the word is about first, then everything checked.
    pub fn explain_failure(&self, kind: CommandKind, sw: u16) -> String {
        let about: &[Rule] = match (sw, kind) {
            (0x6A84, _) => &[Rule::Memory],
            (0x6A88, CommandKind::Load) => &[Rule::Import, Rule::ImportVersion],
            (0x6A80, CommandKind::Load) => &[Rule::CapFormat, Rule::Import, Rule::ImportVersion],
            (0x6985, CommandKind::InstallForLoad) => &[Rule::AlreadyLoaded],
            _ => &[],
        };
        let relevant: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| about.contains(&c.rule))
            .collect();
        let lead = if relevant.iter().any(|c| c.outcome == Outcome::Fail) {
            let fails: Vec<&str> = relevant
                .iter()
                .filter(|c| c.outcome == Outcome::Fail)
                .map(|c| c.message.as_str())
                .collect();
            format!(
                "most likely because, as jct found before sending (and --force sent anyway), {}",
                fails.join("; ")
            )
        } else if relevant.iter().any(|c| c.outcome == Outcome::Unknown) {
            "the card did not tell jct enough to check this cause before sending".to_string()
        } else if !relevant.is_empty() {
            "what the card reported about this passed jct's check, so the card objects to \
             something it does not report"
                .to_string()
        } else {
            String::new()
        };
        let mut out = String::new();
        if !lead.is_empty() {
            out.push_str(&lead);
            out.push_str(". ");
        }
        out.push_str("Checked before LOAD: ");
        out.push_str(&self.summary());
        out
    }
}

/// Compares a CAP with a card: every import, the CAP format, the size and
/// whether the package is there already.
pub fn check(cap: &CapFacts, card: &CardFacts) -> Report {
    const NOT_REPORTED: &str = "not reported";
    // The card's side of a package: its listed version, or why none.
    let card_side = |aid: &[u8]| -> String {
        if card.load_files.is_none() {
            return NOT_REPORTED.into();
        }
        match card.listed(aid) {
            Some(p) => format!("{}.{}", p.major, p.minor),
            None if card.unversioned.contains(&hex::encode_upper(aid)) => {
                "listed, version not reported".into()
            }
            None => "absent".into(),
        }
    };
    let mut checks = Vec::new();
    checks.push(already_loaded(cap, card).values(
        format!(
            "{} {}.{}",
            hex::encode_upper(&cap.package.aid),
            cap.package.major,
            cap.package.minor
        ),
        card_side(&cap.package.aid),
    ));
    for import in &cap.imports {
        checks.push(import_check(import, cap, card).values(import.label(), card_side(&import.aid)));
    }
    let (major, minor) = cap.format;
    let jc = card.java_card();
    let jc_side = match jc {
        JavaCard::Unknown => NOT_REPORTED.into(),
        _ => jc.describe(),
    };
    checks.push(format_check(cap, card).values(
        format!(
            "{major}.{minor}{}",
            if cap.extended { " extended" } else { "" }
        ),
        jc_side,
    ));
    let free = match card.resources.and_then(|r| r.free_non_volatile) {
        Some(free) => format!("{free} bytes free"),
        None => NOT_REPORTED.into(),
    };
    checks.push(memory_check(cap, card).values(format!("{} bytes", cap.load_file_size), free));
    Report { checks }
}

fn already_loaded(cap: &CapFacts, card: &CardFacts) -> Check {
    let aid = hex::encode_upper(&cap.package.aid);
    if card.load_files.is_none() {
        return Check::new(
            Rule::AlreadyLoaded,
            Outcome::Unknown,
            format!("package {aid}: the card did not list its load files"),
        );
    }
    match card.listed(&cap.package.aid) {
        Some(p) => Check::new(
            Rule::AlreadyLoaded,
            Outcome::Fail,
            format!(
                "the package {aid} is on the card already (version {}.{})",
                p.major, p.minor
            ),
        )
        .hint("delete it first (`jct uninstall FILE`, or `jct delete AID --related`)"),
        None if card.unversioned.contains(&aid) => Check::new(
            Rule::AlreadyLoaded,
            Outcome::Fail,
            format!("the package {aid} is on the card already"),
        )
        .hint("delete it first (`jct uninstall FILE`, or `jct delete AID --related`)"),
        None => Check::new(
            Rule::AlreadyLoaded,
            Outcome::Pass,
            format!("package {aid} is not on the card yet"),
        ),
    }
}

fn import_check(import: &PackageVersion, cap: &CapFacts, card: &CardFacts) -> Check {
    let wanted = import.label();
    let Some(listed) = card.load_files.as_ref() else {
        return Check::new(
            Rule::Import,
            Outcome::Unknown,
            format!("import {wanted}: the card did not list its load files"),
        );
    };
    let is_api = import.name.is_some();
    let Some(have) = listed.iter().find(|p| p.aid == import.aid) else {
        let aid = hex::encode_upper(&import.aid);
        if card.unversioned.contains(&aid) {
            return Check::new(
                Rule::ImportVersion,
                Outcome::Unknown,
                format!("import {wanted}: the card lists {aid} without its version"),
            );
        }
        if is_api && !card.lists_api_packages() {
            return Check::new(
                Rule::Import,
                Outcome::Unknown,
                format!("import {wanted}: the card does not list its API packages"),
            );
        }
        let check = Check::new(
            Rule::Import,
            Outcome::Fail,
            format!("the CAP imports {wanted} ({aid}), which the card does not have"),
        );
        return if is_api {
            check.hint(format!(
                "this card does not offer {}: the applet cannot use it here",
                import.who()
            ))
        } else {
            check.hint(format!(
                "load the package {aid} (version {}.{} or a later minor version) first",
                import.major, import.minor
            ))
        };
    };
    if have.major == import.major && have.minor >= import.minor {
        return Check::new(
            Rule::ImportVersion,
            Outcome::Pass,
            format!(
                "import {wanted}: the card offers {}.{}",
                have.major, have.minor
            ),
        );
    }
    let message = format!(
        "the CAP imports {wanted} but the card offers {}.{}",
        have.major, have.minor
    );
    let check = Check::new(Rule::ImportVersion, Outcome::Fail, message);
    if !is_api {
        return check.hint(format!(
            "build against the export file of version {}.{} that is on the card, or load \
             version {}.{} of {} first",
            have.major,
            have.minor,
            import.major,
            import.minor,
            hex::encode_upper(&import.aid)
        ));
    }
    match target_for(cap, card) {
        Some(t) => check.hint(format!("build with --target {t}")),
        None => check.hint(format!(
            "no Java Card API version jct builds for has {} in a version this card links",
            import.who()
        )),
    }
}

/// The newest API version to build for whose packages the card links:
/// for every API package the CAP imports, the card's version has the same
/// major and at least the target's minor.
fn target_for(cap: &CapFacts, card: &CardFacts) -> Option<ApiVersion> {
    ApiVersion::ALL.iter().rev().copied().find(|v| {
        let table = api::table(*v);
        cap.imports.iter().filter(|i| i.name.is_some()).all(|i| {
            let hex = hex::encode_upper(&i.aid);
            let Some(target) = table
                .packages
                .iter()
                .find(|p| p.aid.eq_ignore_ascii_case(&hex))
                .and_then(|p| p.version_pair())
            else {
                return false;
            };
            match card.listed(&i.aid) {
                Some(have) => have.major == target.0 && have.minor >= target.1,
                // Not listed: the import check says so; it does not
                // decide the target.
                None => true,
            }
        })
    })
}

fn format_check(cap: &CapFacts, card: &CardFacts) -> Check {
    let (major, minor) = cap.format;
    let format = format!(
        "CAP format {major}.{minor}{}",
        if cap.extended { " extended" } else { "" }
    );
    let jc = card.java_card();
    let needed_minor = if cap.extended { 3 } else { minor };
    let Some(max) = jc.max_cap_minor() else {
        return Check::new(
            Rule::CapFormat,
            Outcome::Unknown,
            format!("{format}: the card runs {}", jc.describe()),
        );
    };
    if major == 2 && needed_minor <= max {
        return Check::new(
            Rule::CapFormat,
            Outcome::Pass,
            format!("{format} on {}", jc.describe()),
        );
    }
    let needs = match needed_minor {
        3.. if cap.extended => "Java Card 3.1 or later with extended CAP file support",
        3.. => "Java Card 3.1 or later",
        2 => "Java Card 2.2 or later",
        _ => "Java Card 2.1 or later",
    };
    let message = format!(
        "the CAP file has {}, which needs {needs}, but the card runs {}",
        format.replacen("CAP ", "", 1),
        jc.describe()
    );
    let check = Check::new(Rule::CapFormat, Outcome::Fail, message);
    let target = ApiVersion::ALL.iter().rev().copied().find(|v| {
        // The newest target whose javacard.framework the card links; its
        // default CAP format is older than 2.3 unless it is 3.2.0.
        api::table(*v)
            .packages
            .iter()
            .find(|p| p.aid_bytes().is_some_and(|a| a.as_bytes() == FRAMEWORK_AID))
            .and_then(|p| p.version_pair())
            .is_some_and(|(fmaj, fmin)| match jc {
                JavaCard::Framework(cmaj, cmin) => cmaj == fmaj && cmin >= fmin,
                _ => false,
            })
    });
    let split = if cap.extended {
        "; an extended CAP file must also be split into packages that fit the compact format"
    } else {
        ""
    };
    match target {
        Some(t) => check.hint(format!(
            "build with --target {t}, or with --cap-format 2.{}{split}",
            max.min(2)
        )),
        None => check.hint(format!("build with --cap-format 2.{}{split}", max.min(2))),
    }
}

fn memory_check(cap: &CapFacts, card: &CardFacts) -> Check {
    let size = cap.load_file_size;
    let Some(free) = card.resources.and_then(|r| r.free_non_volatile) else {
        return Check::new(
            Rule::Memory,
            Outcome::Unknown,
            format!("load file of {size} bytes: the card does not report its free memory (GET DATA FF21)"),
        );
    };
    if u64::try_from(size).unwrap_or(u64::MAX) <= free {
        return Check::new(
            Rule::Memory,
            Outcome::Pass,
            format!("load file of {size} bytes, {free} bytes free on the card"),
        );
    }
    Check::new(
        Rule::Memory,
        Outcome::Fail,
        format!("the load file is {size} bytes but the card has {free} bytes of non-volatile memory free"),
    )
    .hint("delete packages the card no longer needs (`jct list`, `jct uninstall`), or make the package smaller")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gp::registry::Scope;
    use gp::{ApplicationLifeCycle, Privileges};

    const FRAMEWORK: &str = "A0000000620101";
    const SECURITY: &str = "A0000000620102";
    const LANG: &str = "A0000000620001";
    const LIB: &str = "F0000000014C";

    fn pkg(aid: &str, major: u8, minor: u8) -> PackageVersion {
        PackageVersion::new(hex::decode(aid).unwrap(), major, minor)
    }

    fn cap(format: (u8, u8), imports: Vec<PackageVersion>, size: usize) -> CapFacts {
        CapFacts {
            package: pkg("F00000000101", 1, 0),
            format,
            extended: false,
            imports,
            load_file_size: size,
        }
    }

    fn entry(aid: &str, version: Option<(u8, u8)>) -> Entry {
        let mut e = Entry::new(
            Scope::LoadFilesAndModules,
            hex::decode(aid).unwrap(),
            ApplicationLifeCycle::LOADED,
            Privileges::default(),
        );
        e.version = version.map(|(a, b)| vec![a, b]);
        e
    }

    /// A Java Card 3.0.5 card listing its API packages, 10 000 bytes free.
    fn card_305() -> CardFacts {
        let entries = [
            entry(LANG, Some((1, 0))),
            entry(FRAMEWORK, Some((1, 6))),
            entry(SECURITY, Some((1, 5))),
        ];
        let ff21 = cardinfo::encode_card_resources(0, 10_000, 2_000);
        CardFacts::from_answers(Some(&entries), None, Some(&ff21))
    }

    fn only(report: &Report, rule: Rule) -> Vec<&Check> {
        report.checks.iter().filter(|c| c.rule == rule).collect()
    }

    #[test]
    fn a_cap_that_fits_passes_every_check() {
        let c = cap((2, 1), vec![pkg(LANG, 1, 0), pkg(FRAMEWORK, 1, 6)], 500);
        let r = check(&c, &card_305());
        assert!(r.ok(), "{}", r.summary());
        assert_eq!(r.checks.len(), 5);
        assert!(
            r.checks.iter().all(|c| c.outcome == Outcome::Pass),
            "{}",
            r.summary()
        );
    }

    #[test]
    fn an_import_the_card_lacks() {
        let c = cap((2, 1), vec![pkg(LIB, 1, 0)], 500);
        let r = check(&c, &card_305());
        let f: Vec<&Check> = r.findings().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, Rule::Import);
        assert!(
            f[0].message.contains("F0000000014C 1.0"),
            "{}",
            f[0].message
        );
        assert!(f[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("load the package F0000000014C"));
        // An optional API package the card does not list.
        let c = cap((2, 1), vec![pkg("A0000000620201", 1, 0)], 500);
        let r = check(&c, &card_305());
        let f = r.findings().next().unwrap();
        assert!(f.message.contains("javacardx.crypto 1.0"), "{}", f.message);
    }

    #[test]
    fn api_imports_are_unknown_on_a_card_that_lists_no_api_package() {
        let entries = [entry("F000000002", Some((1, 0)))];
        let card = CardFacts::from_answers(Some(&entries), None, None);
        let c = cap((2, 1), vec![pkg(FRAMEWORK, 1, 6), pkg(LIB, 1, 0)], 500);
        let r = check(&c, &card);
        let imports = only(&r, Rule::Import);
        assert_eq!(imports[0].outcome, Outcome::Unknown);
        assert_eq!(
            imports[1].outcome,
            Outcome::Fail,
            "loaded packages are always listed"
        );
    }

    #[test]
    fn a_too_new_minor_version_suggests_a_target() {
        let c = cap((2, 1), vec![pkg(FRAMEWORK, 1, 6), pkg(SECURITY, 1, 6)], 500);
        let r = check(&c, &card_305());
        let f: Vec<&Check> = r.findings().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, Rule::ImportVersion);
        assert_eq!(
            f[0].message,
            "the CAP imports javacard.security 1.6 but the card offers 1.5"
        );
        // 3.0.4 has javacard.security 1.5 and javacard.framework 1.6.
        assert_eq!(f[0].hint.as_deref(), Some("build with --target 3.0.4"));
    }

    #[test]
    fn another_major_version_does_not_link() {
        let entries = [entry(LANG, Some((1, 0))), entry(LIB, Some((2, 0)))];
        let card = CardFacts::from_answers(Some(&entries), None, None);
        let r = check(&cap((2, 1), vec![pkg(LIB, 1, 0)], 10), &card);
        let f = r.findings().next().unwrap();
        assert_eq!(f.rule, Rule::ImportVersion);
        assert!(f
            .hint
            .as_deref()
            .unwrap()
            .contains("export file of version 2.0"));
    }

    #[test]
    fn cap_format_against_the_java_card_version() {
        let c = cap((2, 3), vec![pkg(FRAMEWORK, 1, 6)], 500);
        let r = check(&c, &card_305());
        let f: Vec<&Check> = r.findings().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, Rule::CapFormat);
        assert!(
            f[0].message.contains("Java Card 3.1 or later")
                && f[0].message.contains("has format 2.3,")
                && f[0]
                    .message
                    .contains("Java Card 3.0.5 (javacard.framework 1.6)"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].hint.as_deref(),
            Some("build with --target 3.0.5, or with --cap-format 2.2")
        );
        // A 3.2 card (framework 1.9) loads it; a 3.1 one (1.8) too.
        for minor in [8, 9] {
            let entries = [entry(FRAMEWORK, Some((1, minor)))];
            let card = CardFacts::from_answers(Some(&entries), None, None);
            let r = check(&cap((2, 3), vec![], 10), &card);
            assert_eq!(only(&r, Rule::CapFormat)[0].outcome, Outcome::Pass);
        }
        // Only the recognition data's "Java Card 3": 3.0 or 3.1, unknown.
        let card_data =
            hex::decode("6619731706072A864886FC6B01660C060A2B060104012A026E0103").unwrap();
        let card = CardFacts::from_answers(None, Some(&card_data), None);
        assert_eq!(card.java_card_major, Some(3));
        let r = check(&cap((2, 3), vec![], 10), &card);
        assert_eq!(only(&r, Rule::CapFormat)[0].outcome, Outcome::Unknown);
        // "Java Card 2": before 3.1 for sure.
        let mut jc2 = card_data.clone();
        *jc2.last_mut().unwrap() = 0x02;
        let card = CardFacts::from_answers(None, Some(&jc2), None);
        let r = check(&cap((2, 3), vec![], 10), &card);
        let f = r.findings().next().unwrap();
        assert_eq!(f.rule, Rule::CapFormat);
        assert_eq!(f.hint.as_deref(), Some("build with --cap-format 2.2"));
        // An extended CAP file names the split.
        let mut ext = cap((2, 3), vec![], 10);
        ext.extended = true;
        let r = check(&ext, &card_305());
        assert!(r
            .findings()
            .next()
            .unwrap()
            .hint
            .as_deref()
            .unwrap()
            .contains("split"));
    }

    #[test]
    fn memory_against_the_free_non_volatile_memory() {
        let r = check(&cap((2, 1), vec![], 10_001), &card_305());
        let f: Vec<&Check> = r.findings().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, Rule::Memory);
        assert_eq!(
            f[0].message,
            "the load file is 10001 bytes but the card has 10000 bytes of non-volatile memory free"
        );
        assert!(check(&cap((2, 1), vec![], 10_000), &card_305()).ok());
        // No FF21, or a malformed one: unknown, noted.
        let card = CardFacts::from_answers(Some(&[]), None, Some(&[0x82, 0x00]));
        assert_eq!(card.unreadable.len(), 1);
        let r = check(&cap((2, 1), vec![], 10_001), &card);
        assert_eq!(only(&r, Rule::Memory)[0].outcome, Outcome::Unknown);
    }

    #[test]
    fn a_package_already_on_the_card() {
        let entries = [
            entry(FRAMEWORK, Some((1, 6))),
            entry("F00000000101", Some((1, 0))),
        ];
        let card = CardFacts::from_answers(Some(&entries), None, None);
        let r = check(&cap((2, 1), vec![], 10), &card);
        let f = r.findings().next().unwrap();
        assert_eq!(f.rule, Rule::AlreadyLoaded);
        assert!(f.hint.as_deref().unwrap().contains("uninstall"));
    }

    #[test]
    fn a_card_that_tells_nothing_fails_nothing() {
        let c = cap((2, 3), vec![pkg(FRAMEWORK, 1, 9), pkg(LIB, 1, 0)], 1 << 20);
        let r = check(&c, &CardFacts::default());
        assert!(r.ok());
        assert!(
            r.checks.iter().all(|c| c.outcome == Outcome::Unknown),
            "{}",
            r.summary()
        );
    }

    #[test]
    fn failures_are_explained_with_what_was_checked() {
        let r = check(&cap((2, 1), vec![], 20_000), &card_305());
        let text = r.explain_failure(CommandKind::Load, 0x6A84);
        assert!(text.starts_with("most likely because"), "{text}");
        assert!(text.contains("20000 bytes"), "{text}");
        let r = check(&cap((2, 1), vec![pkg(FRAMEWORK, 1, 6)], 10), &card_305());
        let text = r.explain_failure(CommandKind::Load, 0x6A80);
        assert!(text.contains("passed jct's check"), "{text}");
        assert!(text.contains("Checked before LOAD: "), "{text}");
        assert!(
            text.contains("import javacard.framework 1.6: the card offers 1.6 (ok)"),
            "{text}"
        );
        let r = check(&cap((2, 1), vec![], 10), &CardFacts::default());
        let text = r.explain_failure(CommandKind::Load, 0x6A84);
        assert!(text.contains("did not tell jct enough"), "{text}");
    }
}
