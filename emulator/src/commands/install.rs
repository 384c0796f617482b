//! INSTALL (GP 2.3.1 11.5) and LOAD (11.6): loading a package and
//! creating applet instances.
//!
//! INSTALL [for load] opens a [`LoadSequence`]; LOAD blocks feed it; the
//! last block hands the whole Load File to the [`linker`], and only a file
//! that passes every check is committed. INSTALL [for install] (and [for
//! make selectable], alone or combined) records an instance.

use gp::apdu::CommandApdu;
use gp::install::{p1, InstallForInstall, InstallForLoad, SystemParameters};
use gp::tlv::Tlv;
use gp::ApplicationLifeCycle;

use crate::card::Card;
use crate::commands::{check_aid, require_unlocked, Ctx};
use crate::linker::{self, LoadRequest};
use crate::load::{Block, LoadSequence};
use crate::state::{Instance, MemoryQuota};
use crate::sw::{self, fail, Fail, Outcome, Reply};

/// INSTALL P1 bit "more INSTALL commands follow", ignored: each command
/// stands alone here.
const P1_MORE: u8 = 0x80;

pub fn install(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    ctx.require_session("INSTALL")?;
    require_unlocked(card, "INSTALL")?;
    // P2: 00, or the start (01) / end (03) of a combined load, install and
    // make selectable process.
    if !matches!(cmd.p2(), 0x00 | 0x01 | 0x03) {
        return Err(fail(sw::BAD_P1P2, format!("INSTALL P2 {:02X}", cmd.p2())));
    }
    match cmd.p1() & !P1_MORE {
        p1::FOR_LOAD => for_load(card, ctx, cmd),
        p1::FOR_INSTALL => for_install(card, cmd, false),
        p1::FOR_INSTALL_AND_MAKE_SELECTABLE => for_install(card, cmd, true),
        p1::FOR_MAKE_SELECTABLE => make_selectable(card, cmd),
        p1::FOR_EXTRADITION => crate::commands::ssd::extradite(card, ctx, cmd.data()),
        p1::FOR_PERSONALIZATION => {
            crate::commands::store_data::for_personalization(card, ctx, cmd.data())
        }
        other => Err(fail(
            sw::BAD_P1P2,
            format!("INSTALL P1 {other:02X} is not supported (02 load, 04 install, 08 make selectable, 0C both, 10 extradition, 20 personalization)"),
        )),
    }
}

fn for_load(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    let v = InstallForLoad::parse(cmd.data()).map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
    check_aid(&v.load_file_aid, "load file AID")?;
    let state = &card.state;
    if state.aid_in_use(&v.load_file_aid) {
        return Err(fail(
            sw::CONDITIONS,
            format!(
                "AID {} is already on the card",
                hex::encode_upper(&v.load_file_aid)
            ),
        ));
    }
    if !v.security_domain_aid.is_empty() && v.security_domain_aid != state.isd_aid() {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!(
                "security domain {} is not on the card",
                hex::encode_upper(&v.security_domain_aid)
            ),
        ));
    }
    if !matches!(v.hash.len(), 0 | 20 | 32) {
        return Err(fail(
            sw::BAD_DATA,
            format!(
                "a Load File Data Block hash of {} bytes (20 or 32 expected)",
                v.hash.len()
            ),
        ));
    }
    if let Some(policy) = &card.delegated {
        let signed = gp::token::load_token_data(cmd.p1(), cmd.p2(), &v)
            .map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
        policy.check_install("load", &signed, &v.token)?;
    }
    if let Some(dap) = &card.dap {
        dap.check_install(&v.hash)?;
    }
    let room = state.memory_free();
    if let Some(needed) = declared_code_size(&v.parameters)? {
        if needed > room {
            return Err(fail(
                sw::NO_MEMORY,
                format!("the load file needs {needed} bytes of code space, {room} are free"),
            ));
        }
    }
    let request = LoadRequest {
        aid: v.load_file_aid,
        security_domain: state.isd_aid().to_vec(),
        hash: v.hash,
    };
    ctx.vol.load = Some(LoadSequence::new(request, room));
    Ok(Reply::no_receipt())
}

/// The non-volatile code space a load file announces in its load
/// parameters (EF: C6), if it does; malformed load parameters (not
/// BER-TLV, a size of other than 2 or 4 bytes, a tag twice) are refused
/// with 6A80, as GP 2.3.1 11.5.3 has it for incorrect data.
fn declared_code_size(parameters: &[u8]) -> Result<Option<usize>, Fail> {
    let system = SystemParameters::of_field(parameters)
        .map_err(|e| fail(sw::BAD_DATA, format!("load parameters: {}", e.0)))?;
    Ok(system
        .and_then(|p| p.code_space)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

pub fn load(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    ctx.require_session("LOAD")?;
    let sequence = ctx.load.take().ok_or_else(|| {
        fail(
            sw::CONDITIONS,
            "LOAD without a preceding INSTALL [for load]",
        )
    })?;
    let aid = hex::encode_upper(sequence.aid());
    match sequence
        .block(cmd.p1(), cmd.p2(), cmd.data())
        .map_err(|f| Fail::new(f.sw, format!("{}; the load of {aid} is abandoned", f.why)))?
    {
        Block::More(sequence) => {
            ctx.vol.load = Some(sequence);
            Ok(Reply::ok())
        }
        Block::Complete { request, load_file } => {
            let package = linker::accept(&card.state, &request, &load_file)
                .map_err(|f| Fail::new(f.sw, format!("load of {aid} refused: {}", f.why)))?;
            if let Some(dap) = &card.dap {
                dap.check_load(card.state.isd_aid(), &request.hash, &load_file)
                    .map_err(|f| Fail::new(f.sw, format!("load of {aid} refused: {}", f.why)))?;
            }
            let mut next = card.state.clone();
            let cap = cap_tools::Cap::from_load_file(&package.load_file)
                .map_err(|e| fail(sw::BAD_DATA, format!("load of {aid} refused: {e}")))?;
            next.packages.push(package);
            if let Err(why) = card.jcvm.link_new(&mut next, &cap) {
                card.jcvm.invalidate();
                return Err(fail(
                    sw::BAD_DATA,
                    format!("load of {aid} refused: it does not link: {why}"),
                ));
            }
            next.heap.dirty = false;
            // Under delegated management INSTALL [for load] had a verified
            // token: the last LOAD's response confirms the load.
            card.commit_confirmed(
                next,
                gp::token::Receipt::Load {
                    load_file: &request.aid,
                    security_domain: &request.security_domain,
                },
            )
            .inspect_err(|_| card.jcvm.invalidate())
        }
    }
}

fn for_install(card: &mut Card, cmd: &CommandApdu, selectable: bool) -> Outcome {
    let v = InstallForInstall::parse(cmd.data()).map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
    check_aid(&v.application_aid, "application AID")?;
    if let Some(policy) = &card.delegated {
        let signed = gp::token::install_token_data(cmd.p1(), cmd.p2(), &v)
            .map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
        policy.check_install("install", &signed, &v.token)?;
    }
    if crate::commands::ssd::names_sd_module(&v) {
        return crate::commands::ssd::install_sd(card, &v, selectable);
    }
    let state = &card.state;
    let package = state.package(&v.load_file_aid).ok_or_else(|| {
        fail(
            sw::REF_NOT_FOUND,
            format!(
                "load file {} is not on the card",
                hex::encode_upper(&v.load_file_aid)
            ),
        )
    })?;
    if !package.applets.contains(&v.module_aid) {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!(
                "load file {} has no applet {}",
                hex::encode_upper(&v.load_file_aid),
                hex::encode_upper(&v.module_aid)
            ),
        ));
    }
    if state.aid_in_use(&v.application_aid) {
        return Err(fail(
            sw::CONDITIONS,
            format!(
                "AID {} is already on the card",
                hex::encode_upper(&v.application_aid)
            ),
        ));
    }
    if v.privileges.is_security_domain() {
        return Err(fail(
            sw::BAD_DATA,
            "the Security Domain privilege: security domains come from the card's Security Domain module (load file A0000001515350, module A000000151535041), not from a loaded applet",
        ));
    }
    let parameters = applet_parameters(&v.parameters)?;
    let quota = install_quota(&v.parameters)?;
    // install() runs on a copy of the state: whatever it did is dropped
    // unless it registered an applet.
    let mut next = card.state.clone();
    let registered = card
        .jcvm
        .install(
            &mut next,
            &crate::jcvm::InstallRequest {
                package: &v.load_file_aid,
                module: &v.module_aid,
                instance: &v.application_aid,
                privileges: &v.privileges.0,
                parameters: &parameters,
                quota,
            },
        )
        .map_err(|f| {
            card.jcvm.invalidate();
            // Memory that ran out (the card's, or the quota the install
            // parameters set) is "not enough memory space", GP's 6A84.
            let (status, what) = match (f.out_of_memory, quota.is_none()) {
                (true, true) => (sw::NO_MEMORY, " (out of memory)".to_string()),
                (true, false) => (
                    sw::NO_MEMORY,
                    format!(" (memory quota {})", describe_quota(quota)),
                ),
                (false, _) => (sw::BAD_DATA, String::new()),
            };
            fail(
                status,
                format!(
                    "applet {} not installed: {}{what}",
                    hex::encode_upper(&v.application_aid),
                    f.why
                ),
            )
        })?;
    if registered != v.application_aid && card.state.aid_in_use(&registered) {
        card.jcvm.invalidate();
        return Err(fail(
            sw::CONDITIONS,
            format!(
                "AID {} is already on the card",
                hex::encode_upper(&registered)
            ),
        ));
    }
    let package = card
        .state
        .package(&v.load_file_aid)
        .ok_or_else(|| fail(sw::REF_NOT_FOUND, "the load file vanished"))?;
    let instance = Instance {
        aid: registered,
        load_file: v.load_file_aid,
        module: v.module_aid,
        privileges: v.privileges.0.to_vec(),
        life_cycle: if selectable {
            ApplicationLifeCycle::SELECTABLE
        } else {
            ApplicationLifeCycle::INSTALLED
        },
        parameters,
        security_domain: package.security_domain.clone(),
        quota,
        key_sets: Vec::new(),
    };
    let (load_file, application) = (instance.load_file.clone(), instance.aid.clone());
    next.instances.push(instance);
    next.heap.dirty = false;
    card.commit_confirmed(
        next,
        gp::token::Receipt::Install {
            load_file: &load_file,
            application: &application,
        },
    )
    .inspect_err(|_| card.jcvm.invalidate())
}

/// The install parameters field: TLVs among which C9 (application specific
/// parameters) is mandatory; its value goes to the applet's install().
fn applet_parameters(field: &[u8]) -> Result<Vec<u8>, Fail> {
    let tlvs = Tlv::parse_all(field)
        .map_err(|e| fail(sw::BAD_DATA, format!("install parameters: {e}")))?;
    let c9 = tlvs
        .iter()
        .find(|t| t.tag().to_bytes() == [0xC9])
        .and_then(|t| t.bytes())
        .ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                "install parameters lack tag C9 (C9 00 for none)",
            )
        })?;
    Ok(c9.to_vec())
}

/// The memory quotas of the install parameters' system specific
/// parameters (EF: C8 non-volatile, C7 volatile). Malformed ones are
/// refused with 6A80. The toolkit parameters (CA) are accepted and kept
/// out of the applet's parameters: this card has no toolkit framework
/// (ETSI TS 102 241) to hand them to.
fn install_quota(field: &[u8]) -> Result<MemoryQuota, Fail> {
    let system = SystemParameters::of_field(field)
        .map_err(|e| fail(sw::BAD_DATA, format!("install parameters: {}", e.0)))?;
    let Some(system) = system else {
        return Ok(MemoryQuota::default());
    };
    if system.code_space.is_some() {
        return Err(fail(
            sw::BAD_DATA,
            "install parameters: C6 (non-volatile code space) belongs to INSTALL [for load]",
        ));
    }
    let size = |n: Option<u32>| n.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    Ok(MemoryQuota {
        non_volatile: size(system.non_volatile),
        volatile: size(system.volatile),
    })
}

fn describe_quota(q: MemoryQuota) -> String {
    let part = |what: &str, n: Option<usize>| n.map(|n| format!("{what} {n} bytes"));
    [
        part("non-volatile", q.non_volatile),
        part("volatile", q.volatile),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

/// INSTALL [for make selectable] alone. Under delegated management it
/// carries a token in its Install Token field, signed like an install
/// token over this command (P1 08), and is confirmed like an install; the
/// receipt names the AIDs the command carries: an empty load file AID and
/// the application.
fn make_selectable(card: &mut Card, cmd: &CommandApdu) -> Outcome {
    let v = InstallForInstall::parse(cmd.data()).map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
    if let Some(policy) = &card.delegated {
        let signed = gp::token::install_token_data(cmd.p1(), cmd.p2(), &v)
            .map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
        policy.check_install("make selectable", &signed, &v.token)?;
    }
    let mut next = card.state.clone();
    let instance = next
        .instances
        .iter_mut()
        .find(|i| i.aid == v.application_aid)
        .ok_or_else(|| {
            fail(
                sw::REF_NOT_FOUND,
                format!(
                    "no instance {} to make selectable",
                    hex::encode_upper(&v.application_aid)
                ),
            )
        })?;
    if instance.life_cycle != ApplicationLifeCycle::INSTALLED {
        return Err(fail(
            sw::CONDITIONS,
            format!(
                "instance {} is {}, not INSTALLED",
                hex::encode_upper(&instance.aid),
                ApplicationLifeCycle(instance.life_cycle).describe(false, false)
            ),
        ));
    }
    instance.life_cycle = ApplicationLifeCycle::SELECTABLE;
    card.commit_confirmed(
        next,
        gp::token::Receipt::Install {
            load_file: &[],
            application: &v.application_aid,
        },
    )
}
