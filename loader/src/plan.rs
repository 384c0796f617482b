//! Card content management as plans: the ordered plain commands of an
//! operation, each with the responses it accepts, built without a card.
//!
//! A plan knows nothing of secure messaging or transports. The driver
//! ([`crate::client::GpClient::run`]) wraps each command in the session's
//! secure channel, sends it, checks the answer against the step and stops at
//! the first answer the step does not accept. The same plans feed secured
//! scripts (prepared by the key holder, played by a thin client) and the key
//! server.

use cap_tools::cap::load_file::LoadFile;
use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;
use gp::apdu::CommandApdu;
use gp::commands::{self, CommandError};
use gp::install::{
    p1 as install_p1, InstallForInstall, InstallForLoad, LoadBlocks, SystemParameters,
};
use gp::privileges::Privileges;
use gp::registry::Scope;
use gp::sw::CommandKind;
use gp::StatusChange;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Why a plan could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Cap(#[from] cap_tools::Error),
    /// The request does not fit the CAP or the card.
    #[error("{0}")]
    Invalid(String),
}

/// One command of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What the command is, to explain its status words.
    pub kind: CommandKind,
    /// The command as it means to reach the card (before secure messaging).
    pub command: CommandApdu,
    /// Status words after which the plan goes on; any other stops it.
    pub accept: Vec<u16>,
    /// GET STATUS paging: while the card answers 6310 ("more data"), this
    /// command fetches the next part.
    pub more: Option<CommandApdu>,
    /// When the card answers one of these status words, `instead` runs in
    /// this step's place (a card that lacks a format or a scope).
    pub otherwise: Option<(Vec<u16>, Box<Step>)>,
}

impl Step {
    /// A step that accepts only 9000.
    pub fn ok(kind: CommandKind, command: CommandApdu) -> Step {
        Step {
            kind,
            command,
            accept: vec![0x9000],
            more: None,
            otherwise: None,
        }
    }
}

/// An operation as its commands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The commands, in order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Appends the steps of `other`.
    pub fn then(mut self, other: Plan) -> Plan {
        self.steps.extend(other.steps);
        self
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the plan has no step.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// GET STATUS of one scope in the E3 format, falling back to the legacy
/// format on cards that reject it; paged with 'next occurrence'. 6A88
/// (nothing in the scope) is accepted.
pub fn get_status(scope: Scope) -> Step {
    let format = |tlv: bool| Step {
        kind: CommandKind::GetStatus,
        command: commands::get_status(scope, tlv, false),
        accept: vec![0x9000, 0x6A88, 0x6A82],
        more: Some(commands::get_status(scope, tlv, true)),
        otherwise: None,
    };
    let mut e3 = format(true);
    e3.otherwise = Some((vec![0x6A86, 0x6A80, 0x6D00], Box::new(format(false))));
    e3
}

/// GET STATUS of the load files with their modules (P1 10), in the E3
/// format, then the legacy one, then of load files alone (P1 20) on cards
/// without that scope.
pub fn load_files() -> Step {
    let mut files = get_status(Scope::LoadFilesAndModules);
    let mut legacy = files.otherwise.take().map(|(_, step)| *step);
    if let Some(legacy) = legacy.as_mut() {
        legacy.otherwise = Some((vec![0x6A86], Box::new(get_status(Scope::LoadFiles))));
    }
    files.otherwise = legacy.map(|l| (vec![0x6A86, 0x6A80, 0x6D00], Box::new(l)));
    files
}

/// The whole registry: the ISD, applications and security domains, and load
/// files with their modules (load files alone on cards without that scope).
pub fn list() -> Plan {
    Plan {
        steps: vec![
            get_status(Scope::IssuerSecurityDomain),
            get_status(Scope::Applications),
            load_files(),
        ],
    }
}

/// Hash algorithm for the Load File Data Block hash in INSTALL [for load].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadHash {
    Sha1,
    Sha256,
}

impl LoadHash {
    /// The digest of `data`.
    pub fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self {
            LoadHash::Sha1 => Sha1::digest(data).to_vec(),
            LoadHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// Options of a load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Security domain to load to; `None` = the selected one.
    pub security_domain: Option<Vec<u8>>,
    /// Load File Data Block hash to send in INSTALL [for load].
    pub hash: Option<LoadHash>,
    /// LOAD data bytes per block; `None` = the card's maximum minus overhead.
    pub block_size: Option<usize>,
    /// Include the Descriptor component.
    pub with_descriptor: bool,
    /// Load parameters (GP 2.3.1 table 11-45, tag EF in INSTALL [for
    /// load]): C6 non-volatile code space, C7 volatile and C8
    /// non-volatile data space the load file needs, raw tags; nothing
    /// sent when empty.
    pub system: SystemParameters,
    /// A DAP made by `jct dap sign`: its hash goes in INSTALL [for load]
    /// (overriding `hash`) and its DAP block before C4 in LOAD.
    pub dap: Option<gp::dap::DapFile>,
    /// A load token (delegated management, GP 2.3.1 9.3): the card
    /// issuer's signature over this INSTALL [for load]; empty for none.
    pub token: Vec<u8>,
}

/// The package AID of a CAP.
pub fn package_aid(cap: &Cap) -> Result<Vec<u8>, PlanError> {
    cap.header()
        .map(|h| h.load_file_aid().as_bytes().to_vec())
        .ok_or_else(|| PlanError::Invalid("the CAP has no Header component".into()))
}

/// INSTALL [for load] and the LOAD blocks of a CAP's load file, in blocks
/// of `block_size` bytes, to the security domain `security_domain`.
pub fn load(
    cap: &Cap,
    options: &LoadOptions,
    security_domain: &[u8],
    block_size: usize,
) -> Result<Plan, PlanError> {
    let load_file = LoadFile::build(cap, options.with_descriptor)?;
    let mut hash = options
        .hash
        .map(|h| h.digest(&load_file.bytes))
        .unwrap_or_default();
    let mut daps = Vec::new();
    if let Some(dap) = &options.dap {
        let bad = |e: gp::dap::DapBlockError| PlanError::Invalid(e.to_string());
        let signed = dap.hash_bytes("the DAP file").map_err(bad)?;
        let for_aid = dap.load_file_aid("the DAP file").map_err(bad)?;
        if for_aid != package_aid(cap)? {
            return Err(PlanError::Invalid(format!(
                "the DAP file is for load file {}, this CAP is {}",
                hex::encode_upper(&for_aid),
                hex::encode_upper(package_aid(cap)?)
            )));
        }
        let algorithm = match dap.hash_algorithm {
            gp::dap::HashAlgorithm::Sha1 => LoadHash::Sha1,
            gp::dap::HashAlgorithm::Sha256 => LoadHash::Sha256,
        };
        let actual = algorithm.digest(&load_file.bytes);
        if actual != signed {
            return Err(PlanError::Invalid(format!(
                "the DAP file signs the Load File Data Block hash {}, but this CAP's load file{} hashes to {}: sign this CAP (with the same --with-descriptor choice)",
                hex::encode_upper(&signed),
                if options.with_descriptor { " with its Descriptor" } else { "" },
                hex::encode_upper(&actual)
            )));
        }
        hash = actual;
        daps.push(dap.block("the DAP file").map_err(bad)?);
    }
    let ifl = InstallForLoad {
        load_file_aid: package_aid(cap)?,
        security_domain_aid: options
            .security_domain
            .clone()
            .unwrap_or_else(|| security_domain.to_vec()),
        hash,
        parameters: options
            .system
            .to_template()
            .map_err(|e| PlanError::Invalid(e.to_string()))?,
        token: options.token.clone(),
    };
    let mut steps = vec![Step::ok(
        CommandKind::InstallForLoad,
        commands::install_for_load(&ifl)?,
    )];
    let wrapped = gp::dap::load_file(&daps, &load_file.with_c4_tag())
        .map_err(|e| PlanError::Invalid(e.to_string()))?;
    let blocks = LoadBlocks::split(&wrapped, options.block_size.unwrap_or(block_size))
        .map_err(|e| PlanError::Invalid(e.to_string()))?;
    for (i, block) in blocks.blocks.iter().enumerate() {
        let (p1, p2) = blocks.p1p2(i);
        steps.push(Step::ok(CommandKind::Load, commands::load(p1, p2, block)?));
    }
    Ok(Plan { steps })
}

/// Options of an install.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Applet class AID (module); `None` = every applet of the CAP.
    pub applet: Option<Vec<u8>>,
    /// Instance AID; `None` = the applet AID.
    pub instance: Option<Vec<u8>>,
    pub privileges: Privileges,
    /// Applet-specific install parameters (inside tag C9).
    pub parameters: Vec<u8>,
    /// System specific parameters (tag EF after C9): the instance's
    /// memory quotas, toolkit parameters, raw tags; nothing sent when empty.
    pub system: SystemParameters,
    /// INSTALL [for install] alone (P1 04): the instances stay INSTALLED
    /// until an INSTALL [for make selectable] ([`make_selectable`]). By
    /// default both in one command (P1 0C).
    pub install_only: bool,
    /// An install token (delegated management): the card issuer's
    /// signature over the one INSTALL [for install] this makes; empty for
    /// none. A token signs one command, so it needs a single instance.
    pub token: Vec<u8>,
}

/// An applet instance an install creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The applet class (module) AID.
    pub module: Vec<u8>,
    /// The instance AID.
    pub instance: Vec<u8>,
}

/// Whether the CAP is a library: a package without applets (no Applet
/// component), which is loaded for other packages to import and has no
/// instance to install.
pub fn is_library(cap: &Cap) -> bool {
    match cap.component(Tag::Applet) {
        Some(Component::Applet(a)) => a.applets.is_empty(),
        _ => true,
    }
}

/// The instances an install of `cap` with `options` creates.
pub fn instances(cap: &Cap, options: &InstallOptions) -> Result<Vec<Instance>, PlanError> {
    let applets: Vec<Vec<u8>> = match cap.component(Tag::Applet) {
        Some(Component::Applet(a)) => a
            .applets
            .iter()
            .map(|x| x.aid.as_bytes().to_vec())
            .collect(),
        _ => Vec::new(),
    };
    let chosen: Vec<Vec<u8>> = match &options.applet {
        Some(aid) if applets.contains(aid) => vec![aid.clone()],
        Some(aid) => {
            return Err(PlanError::Invalid(format!(
                "the CAP has no applet {}; its applets: {}",
                hex::encode_upper(aid),
                applets
                    .iter()
                    .map(hex::encode_upper)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        None if applets.is_empty() => {
            return Err(PlanError::Invalid(
                "the CAP is a library: it has no applet to install".into(),
            ))
        }
        None => applets,
    };
    if options.instance.is_some() && chosen.len() > 1 {
        return Err(PlanError::Invalid(
            "--instance needs --applet when the CAP has several applets".into(),
        ));
    }
    Ok(chosen
        .into_iter()
        .map(|module| Instance {
            instance: options.instance.clone().unwrap_or_else(|| module.clone()),
            module,
        })
        .collect())
}

/// INSTALL [for install and make selectable] of the CAP's applets (or the
/// one chosen); [for install] alone with `options.install_only`.
pub fn install(cap: &Cap, options: &InstallOptions) -> Result<Plan, PlanError> {
    let package = package_aid(cap)?;
    let mut steps = Vec::new();
    let chosen = instances(cap, options)?;
    if !options.token.is_empty() && chosen.len() > 1 {
        return Err(PlanError::Invalid(
            "an install token signs one INSTALL: choose the applet with --applet".into(),
        ));
    }
    for Instance { module, instance } in chosen {
        let v = InstallForInstall {
            load_file_aid: package.clone(),
            module_aid: module,
            application_aid: instance,
            privileges: options.privileges,
            parameters: InstallForInstall::install_parameters(&options.parameters, &options.system)
                .map_err(|e| PlanError::Invalid(e.to_string()))?,
            token: options.token.clone(),
        };
        let p1 = if options.install_only {
            install_p1::FOR_INSTALL
        } else {
            install_p1::FOR_INSTALL_AND_MAKE_SELECTABLE
        };
        steps.push(Step::ok(
            CommandKind::InstallForInstall,
            commands::install_for_install(p1, &v)?,
        ));
    }
    Ok(Plan { steps })
}

/// INSTALL [for make selectable] (P1 08, GP 2.3.1 11.5.2.3.3) of an
/// instance left INSTALLED by an INSTALL [for install] alone: the load
/// file, module, install parameters and token fields are empty, the
/// privileges are the instance's (GP lets this command set them).
pub fn make_selectable(
    instance: &[u8],
    privileges: Privileges,
    token: &[u8],
) -> Result<Plan, PlanError> {
    if !(5..=16).contains(&instance.len()) {
        return Err(PlanError::Invalid(format!(
            "instance AID {} has {} bytes; an AID has 5 to 16",
            hex::encode_upper(instance),
            instance.len()
        )));
    }
    let v = InstallForInstall {
        application_aid: instance.to_vec(),
        privileges,
        token: token.to_vec(),
        ..InstallForInstall::default()
    };
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::InstallForMakeSelectable,
            commands::install_for_install(install_p1::FOR_MAKE_SELECTABLE, &v)?,
        )],
    })
}

/// INSTALL [for install and make selectable] of a supplementary security
/// domain from the card's Security Domain module (load file
/// A0000001515350, module A000000151535041, the usual GlobalPlatform
/// AIDs), with the Security Domain privilege added to `privileges`.
pub fn install_security_domain(aid: &[u8], privileges: Privileges) -> Result<Plan, PlanError> {
    check_aid_len(aid, "security domain AID")?;
    let mut bytes = privileges.0;
    bytes[0] |= 0x80;
    let v = InstallForInstall {
        load_file_aid: SD_LOAD_FILE.to_vec(),
        module_aid: SD_MODULE.to_vec(),
        application_aid: aid.to_vec(),
        privileges: Privileges(bytes),
        parameters: vec![0xC9, 0x00],
        token: Vec::new(),
    };
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::InstallForInstall,
            commands::install_for_install(install_p1::FOR_INSTALL_AND_MAKE_SELECTABLE, &v)?,
        )],
    })
}

/// The card's built-in Security Domain load file and module AIDs.
pub const SD_LOAD_FILE: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50];
pub const SD_MODULE: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41];

/// INSTALL [for extradition] of an application or load file to the
/// security domain `sd` (sent to the ISD).
pub fn extradite(entity: &[u8], sd: &[u8]) -> Result<Plan, PlanError> {
    check_aid_len(entity, "application or load file AID")?;
    check_aid_len(sd, "security domain AID")?;
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::InstallForExtradition,
            commands::install_for_extradition(sd, entity)?,
        )],
    })
}

fn check_aid_len(aid: &[u8], what: &str) -> Result<(), PlanError> {
    if (5..=16).contains(&aid.len()) {
        Ok(())
    } else {
        Err(PlanError::Invalid(format!(
            "{what} {} has {} bytes; an AID has 5 to 16",
            hex::encode_upper(aid),
            aid.len()
        )))
    }
}

/// The whole install sequence: INSTALL [for load], the LOAD blocks, then
/// INSTALL [for install and make selectable] of the applets.
pub fn install_sequence(
    cap: &Cap,
    load_options: &LoadOptions,
    install_options: &InstallOptions,
    security_domain: &[u8],
    block_size: usize,
) -> Result<Plan, PlanError> {
    Ok(load(cap, load_options, security_domain, block_size)?.then(install(cap, install_options)?))
}

/// DELETE of an AID (and what depends on it with `related`).
pub fn delete(aid: &[u8], related: bool) -> Result<Plan, PlanError> {
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::Delete,
            commands::delete(aid, related)?,
        )],
    })
}

/// DELETE with a delegated management token.
pub fn delete_with_token(aid: &[u8], related: bool, token: &[u8]) -> Result<Plan, PlanError> {
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::Delete,
            commands::delete_with_token(aid, related, token)?,
        )],
    })
}

/// SET STATUS: `change` of the application `aid`, or of the card whose
/// ISD is `aid`.
pub fn set_status(change: StatusChange, aid: &[u8]) -> Result<Plan, PlanError> {
    let (p1, state) = change.p1_p2();
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::SetStatus,
            commands::set_status(p1, state, aid)?,
        )],
    })
}

/// PUT KEY with key data already protected (see
/// [`crate::client::put_key_data`]): adds a key set (`replace` = None) or
/// replaces one.
pub fn put_key(data: &[u8], replace: Option<u8>) -> Result<Plan, PlanError> {
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::PutKey,
            commands::put_key(replace.unwrap_or(0), 1, data)?,
        )],
    })
}

/// PUT KEY of one SCP11 key (`key_id` 10, 11, 13 or 15) with `data` as
/// [`crate::client::GpClient::put_scp11_key`] lays it out.
pub fn put_key_single(data: &[u8], key_id: u8, replace: Option<u8>) -> Result<Plan, PlanError> {
    Ok(Plan {
        steps: vec![Step::ok(
            CommandKind::PutKey,
            commands::put_key_single(replace.unwrap_or(0), key_id, data)?,
        )],
    })
}

/// STORE DATA of `blocks` (personalization data, one command each), the
/// last one flagged as such; `p1` carries the data structure and
/// encryption bits.
pub fn store_data(blocks: &[Vec<u8>], p1: u8) -> Result<Plan, PlanError> {
    if blocks.len() > 256 {
        return Err(PlanError::Invalid(format!(
            "STORE DATA numbers blocks with one byte: {} blocks is more than 256",
            blocks.len()
        )));
    }
    let mut steps = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let last = if i + 1 == blocks.len() { 0x80 } else { 0x00 };
        let number = u8::try_from(i).map_err(|_| PlanError::Invalid("block number".into()))?;
        steps.push(Step::ok(
            CommandKind::StoreData,
            commands::store_data(p1 | last, number, block)?,
        ));
    }
    Ok(Plan { steps })
}

/// INSTALL [for personalization] of `application`, then STORE DATA of
/// `blocks` to it through the security domain (GP 2.3.1 11.5.2.3.5 and
/// 11.11): the way an issuer writes an applet's personalization data.
pub fn personalize(application: &[u8], blocks: &[Vec<u8>], p1: u8) -> Result<Plan, PlanError> {
    if !(5..=16).contains(&application.len()) {
        return Err(PlanError::Invalid(format!(
            "application AID {} has {} bytes; an AID has 5 to 16",
            hex::encode_upper(application),
            application.len()
        )));
    }
    if blocks.is_empty() {
        return Err(PlanError::Invalid("no STORE DATA block to send".into()));
    }
    let mut steps = vec![Step::ok(
        CommandKind::InstallForPersonalization,
        commands::install_for_personalization(application)?,
    )];
    steps.extend(store_data(blocks, p1)?.steps);
    Ok(Plan { steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_falls_back_to_legacy_then_to_load_files() {
        let plan = list();
        assert_eq!(plan.len(), 3);
        let files = &plan.steps[2];
        assert_eq!(files.command.p1(), Scope::LoadFilesAndModules.p1());
        let (sws, legacy) = files.otherwise.as_ref().unwrap();
        assert!(sws.contains(&0x6A86));
        assert_eq!(legacy.command.p2() & 0x02, 0, "legacy format");
        let (_, files_only) = legacy.otherwise.as_ref().unwrap();
        assert_eq!(files_only.command.p1(), Scope::LoadFiles.p1());
        assert!(files_only.more.is_some());
    }

    #[test]
    fn personalize_names_the_application_then_numbers_the_blocks() {
        let aid = hex::decode("F000000001A501").unwrap();
        let plan = personalize(&aid, &[vec![1, 1, 0xAA], vec![2, 0]], 0).unwrap();
        let bytes: Vec<String> = plan
            .steps
            .iter()
            .map(|s| hex::encode_upper(s.command.to_bytes()))
            .collect();
        assert_eq!(
            bytes,
            [
                "80E620000D000007F000000001A50100000000",
                "80E20000030101AA00",
                "80E2800102020000",
            ]
        );
        assert!(personalize(&aid[..3], &[vec![1]], 0).is_err());
        assert!(personalize(&aid, &[], 0).is_err());
    }

    #[test]
    fn store_data_flags_the_last_block() {
        let plan = store_data(&[vec![1], vec![2], vec![3]], 0x00).unwrap();
        let p1s: Vec<u8> = plan.steps.iter().map(|s| s.command.p1()).collect();
        let p2s: Vec<u8> = plan.steps.iter().map(|s| s.command.p2()).collect();
        assert_eq!(p1s, [0x00, 0x00, 0x80]);
        assert_eq!(p2s, [0, 1, 2]);
        assert!(store_data(&vec![vec![0]; 257], 0).is_err());
    }

    #[test]
    fn make_selectable_and_install_only_encodings() {
        let aid = hex::decode("F0000000010101").unwrap();
        let plan = make_selectable(&aid, Privileges::default(), &[]).unwrap();
        assert_eq!(
            hex::encode_upper(plan.steps[0].command.to_bytes()),
            // Empty load file and module, the instance, privileges 00,
            // empty install parameters and token; Le 00.
            "80E608000E000007F00000000101010100000000"
        );
        assert_eq!(plan.steps[0].kind, CommandKind::InstallForMakeSelectable);
        assert!(make_selectable(&aid[..3], Privileges::default(), &[]).is_err());
    }

    #[test]
    fn load_parameters_go_in_ef() {
        let cap = Cap::from_path(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/converter-reference/oracle-3.0.5/hello.cap"),
        )
        .expect("the shared corpus beside the repository (../shared)");
        let options = LoadOptions {
            system: SystemParameters {
                code_space: Some(0x0400),
                non_volatile: Some(0x20),
                ..Default::default()
            },
            ..Default::default()
        };
        let plan = load(&cap, &options, &[0xA0, 0, 0, 1, 0x51, 0, 0, 0], 200).unwrap();
        let ifl = InstallForLoad::parse(plan.steps[0].command.data()).unwrap();
        assert_eq!(hex::encode_upper(&ifl.parameters), "EF08C6020400C8020020");
    }

    #[test]
    fn set_status_codes() {
        let plan = set_status(StatusChange::LockCard, &[0xA0, 0, 0, 1, 0x51]).unwrap();
        assert_eq!(
            (plan.steps[0].command.p1(), plan.steps[0].command.p2()),
            (0x80, 0x7F)
        );
    }
}
