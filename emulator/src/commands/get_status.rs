//! GET STATUS (GP 2.3.1 11.4): the registry by scope — the ISD (P1 80),
//! applications (40), load files (20), load files with their modules
//! (10) — filtered by an AID prefix (tag 4F; `4F00` matches all), in the
//! E3 format (P2 02) or the legacy one (00), paged with 6310 and the
//! "next occurrence" bit (P2 01).
//!
//! The Java Card API packages in ROM and the Security Domain load file
//! are listed among the load files, as real cards list theirs; they cannot
//! be deleted. Through an SSD, only it and what is associated with it.

use gp::apdu::CommandApdu;
use gp::registry::{encode_e3_entry, encode_legacy_entry, Entry, Scope};
use gp::tlv::Tlv;
use gp::{ApplicationLifeCycle, Privileges};

use crate::card::{Card, Paging};
use crate::commands::Ctx;
use crate::linker;
use crate::state::{CardState, ISD_PRIVILEGES, SD_LOAD_FILE, SD_MODULE};
use crate::sw::{self, fail, Fail, Outcome, Reply};

/// P2 bit: E3 format.
const P2_E3: u8 = 0x02;
/// P2 bit: next occurrence.
const P2_NEXT: u8 = 0x01;
/// Response data per page: a short response (256 bytes) less room for
/// R-ENC padding (16) and an R-MAC (8).
const PAGE: usize = 232;

pub fn get_status(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    ctx.require_session("GET STATUS")?;
    let scope = Scope::from_p1(cmd.p1()).ok_or_else(|| {
        fail(
            sw::BAD_P1P2,
            format!("GET STATUS P1 {:02X}: 80, 40, 20 or 10 expected", cmd.p1()),
        )
    })?;
    if cmd.p2() & !(P2_E3 | P2_NEXT) != 0 {
        return Err(fail(
            sw::BAD_P1P2,
            format!("GET STATUS P2 {:02X}: 00, 01, 02 or 03 expected", cmd.p2()),
        ));
    }
    let e3 = cmd.p2() & P2_E3 != 0;
    let criteria = search_criteria(cmd.data())?;
    let start = if cmd.p2() & P2_NEXT != 0 {
        match ctx.paging.take() {
            Some(p) if p.p1 == cmd.p1() && p.e3 == e3 && p.criteria == criteria => p.next,
            _ => {
                return Err(fail(
                    sw::CONDITIONS,
                    "GET STATUS 'next occurrence' without a matching earlier GET STATUS that answered 6310",
                ))
            }
        }
    } else {
        0
    };
    // An SSD reports itself and what is associated with it only (GP
    // 2.3.1 11.4.2.1: it has no Global Registry privilege).
    let own = ctx.sd.clone();
    let entries: Vec<Entry> = entries(&card.state, scope)
        .into_iter()
        .filter(|e| e.aid.starts_with(&criteria))
        .filter(|e| match &own {
            None => true,
            Some(sd) => &e.aid == sd || e.security_domain.as_ref() == Some(sd),
        })
        .collect();
    if entries.is_empty() {
        return Err(fail(sw::REF_NOT_FOUND, "GET STATUS: no entry matches"));
    }
    let mut data = Vec::new();
    let mut next = start;
    for e in entries.iter().skip(start) {
        let encoded = if e3 {
            encode_e3_entry(e)
        } else {
            encode_legacy_entry(e)
        };
        if next > start && data.len() + encoded.len() > PAGE {
            break;
        }
        data.extend_from_slice(&encoded);
        next += 1;
    }
    if next < entries.len() {
        ctx.vol.paging = Some(Paging {
            p1: cmd.p1(),
            e3,
            criteria,
            next,
        });
        return Ok(Reply {
            data,
            sw: sw::MORE_DATA,
        });
    }
    Ok(Reply::data(data))
}

/// The AID prefix of tag 4F; other tags (such as the 5C tag list) are
/// accepted and ignored.
fn search_criteria(data: &[u8]) -> Result<Vec<u8>, Fail> {
    let tlvs = Tlv::parse_all(data)
        .map_err(|e| fail(sw::BAD_DATA, format!("GET STATUS search criteria: {e}")))?;
    let aid = tlvs
        .iter()
        .find(|t| t.tag().to_bytes() == [0x4F])
        .and_then(|t| t.bytes())
        .ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                "GET STATUS needs search criteria: tag 4F (4F00 for all)",
            )
        })?;
    if aid.len() > 16 {
        return Err(fail(
            sw::BAD_DATA,
            "GET STATUS: an AID longer than 16 bytes",
        ));
    }
    Ok(aid.to_vec())
}

/// The registry entries of a scope, in registry order.
fn entries(state: &CardState, scope: Scope) -> Vec<Entry> {
    let isd = state.isd_aid().to_vec();
    match scope {
        Scope::IssuerSecurityDomain => vec![Entry::new(
            scope,
            isd,
            state.life_cycle,
            Privileges(ISD_PRIVILEGES),
        )],
        Scope::Applications => state
            .instances
            .iter()
            .map(|i| {
                let mut e = Entry::new(scope, i.aid.clone(), i.life_cycle, i.privileges());
                e.load_file = Some(i.load_file.clone());
                e.security_domain = Some(i.security_domain.clone());
                e
            })
            .collect(),
        Scope::LoadFiles | Scope::LoadFilesAndModules => {
            let with_modules = scope == Scope::LoadFilesAndModules;
            let rom = state
                .profile
                .api_version()
                .map(linker::rom_packages)
                .unwrap_or_default();
            let mut out: Vec<Entry> = rom
                .into_iter()
                .map(|p| {
                    let mut e = Entry::new(
                        scope,
                        p.aid,
                        ApplicationLifeCycle::LOADED,
                        Privileges::default(),
                    );
                    e.version = Some(vec![p.major, p.minor]);
                    e.security_domain = Some(isd.clone());
                    e
                })
                .collect();
            let mut builtin = Entry::new(
                scope,
                SD_LOAD_FILE.to_vec(),
                ApplicationLifeCycle::LOADED,
                Privileges::default(),
            );
            builtin.version = Some(vec![1, 0]);
            builtin.security_domain = Some(isd.clone());
            if with_modules {
                builtin.modules = vec![SD_MODULE.to_vec()];
            }
            out.push(builtin);
            out.extend(state.packages.iter().map(|p| {
                let mut e = Entry::new(
                    scope,
                    p.aid.clone(),
                    ApplicationLifeCycle::LOADED,
                    Privileges::default(),
                );
                e.version = Some(vec![p.major, p.minor]);
                e.security_domain = Some(p.security_domain.clone());
                if with_modules {
                    e.modules = p.applets.clone();
                }
                e
            }));
            out
        }
    }
}
