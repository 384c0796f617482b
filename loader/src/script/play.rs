//! The thin client's side: a signed script checked and played to a card
//! by a client that holds no card key, only the key holder's public key.
//!
//! Order of the checks, each before anything it could spend: the
//! signature and the expiry before any APDU; the card's identity (SELECT
//! and GET DATA, which change nothing) before any command of the script;
//! offline, the card's INITIALIZE UPDATE response compared byte for byte
//! with the predicted one before EXTERNAL AUTHENTICATE, so a script that
//! cannot work costs none of the card's authentication tries. Then each
//! command, stopping at the first answer the script does not accept, and
//! the signed rollback when the card may hold part of the script's work.

use serde::Serialize;

use super::packet::{Body, Command, Mode, Packet, Session};
use super::sign::ScriptVerifier;
use super::ScriptError;
use crate::transport::{CardChannel, TransportError};

/// Parses a packet file, checks its signature against the key holder's
/// public key and its validity at `now` (seconds since the epoch).
pub fn open(bytes: &[u8], verifier: &ScriptVerifier, now: u64) -> Result<Packet, ScriptError> {
    let packet = Packet::parse(bytes)?;
    verifier.verify(&packet)?;
    let h = &packet.body.header;
    if now > h.expires {
        return Err(ScriptError::Expired(format!(
            "the script expired at {} ({} s ago)",
            h.expires,
            now - h.expires
        )));
    }
    Ok(packet)
}

/// How far a play got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading the card's identity.
    Identity,
    /// INITIALIZE UPDATE.
    InitializeUpdate,
    /// EXTERNAL AUTHENTICATE.
    ExternalAuthenticate,
    /// The script's commands.
    Commands,
    /// Everything played and accepted.
    Done,
}

/// The card's answer to one command, kept for `jct script verify-log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LoggedResponse {
    /// Which command: its 0-based index in the script (`None` for the
    /// rollback's).
    pub index: Option<usize>,
    /// The response as received (data, R-MAC and SW).
    pub response: String,
}

/// A play's log: the script and the card's answers, which the key holder
/// checks with `jct script verify-log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayLog {
    pub packet: Packet,
    pub responses: Vec<LoggedResponse>,
}

/// The rollback, when one ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackReport {
    /// Whether every rollback command was accepted.
    pub completed: bool,
    /// Rollback commands accepted.
    pub commands_done: usize,
    pub commands_total: usize,
    /// Why it did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a play did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlayReport {
    pub description: String,
    pub mode: Mode,
    /// The last stage reached.
    pub stage: Stage,
    /// Whether the whole script ran and every answer was accepted.
    pub completed: bool,
    /// Script commands accepted, of the total.
    pub commands_done: usize,
    pub commands_total: usize,
    /// Why the play stopped, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The command that got an unaccepted answer: index, kind, status word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_command: Option<FailedCommand>,
    /// Whether EXTERNAL AUTHENTICATE was sent (an authentication try spent).
    pub authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackReport>,
    /// The card's answers, for the key holder's R-MAC check.
    pub responses: Vec<LoggedResponse>,
}

/// A command the card did not answer as the script accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCommand {
    pub index: usize,
    pub kind: String,
    pub sw: String,
}

impl PlayReport {
    fn new(body: &Body) -> PlayReport {
        PlayReport {
            description: body.header.description.clone(),
            mode: body.header.mode,
            stage: Stage::Identity,
            completed: false,
            commands_done: 0,
            commands_total: body.commands.len(),
            error: None,
            failed_command: None,
            authenticated: false,
            rollback: None,
            responses: Vec::new(),
        }
    }

    /// The text rendering.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(s, "Script: {} ({:?})", self.description, self.mode);
        let _ = writeln!(
            s,
            "Commands: {} of {} accepted",
            self.commands_done, self.commands_total
        );
        if self.completed {
            let _ = writeln!(s, "Result: completed");
        } else {
            let _ = writeln!(
                s,
                "Result: stopped at {:?}{}",
                self.stage,
                if self.authenticated {
                    ""
                } else {
                    " (before EXTERNAL AUTHENTICATE: no authentication try spent)"
                }
            );
        }
        if let Some(f) = &self.failed_command {
            let _ = writeln!(
                s,
                "Failed command: #{} {} answered {}",
                f.index + 1,
                f.kind,
                f.sw
            );
        }
        if let Some(e) = &self.error {
            let _ = writeln!(s, "Reason: {e}");
        }
        if let Some(r) = &self.rollback {
            let _ = writeln!(
                s,
                "Rollback: {} ({} of {} commands){}",
                if r.completed { "done" } else { "incomplete" },
                r.commands_done,
                r.commands_total,
                r.error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
        }
        s
    }
}

fn sw_of(response: &[u8]) -> u16 {
    match response {
        [.., a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

fn transmit(channel: &mut CardChannel, apdu: &[u8]) -> Result<Vec<u8>, String> {
    channel
        .transmit(apdu)
        .map_err(|e: TransportError| format!("transport: {e}"))
}

/// Reads the card's identity and compares it with the script's header.
/// Sends SELECT of the security domain and GET DATA only.
pub fn check_identity(channel: &mut CardChannel, body: &Body) -> Result<(), String> {
    let h = &body.header;
    let select = gp::commands::select(&h.security_domain.0, false)
        .map_err(|e| e.to_string())?
        .to_bytes();
    let r = transmit(channel, &select)?;
    if sw_of(&r) != 0x9000 {
        return Err(format!(
            "SELECT of the security domain {} answered {:04X}: this card has no such security domain",
            hex::encode_upper(&h.security_domain.0),
            sw_of(&r)
        ));
    }
    let fields: [(&str, u16, Option<&[u8]>); 3] = [
        ("CIN", 0x0045, h.card.cin.as_ref().map(|v| v.0.as_slice())),
        ("IIN", 0x0042, h.card.iin.as_ref().map(|v| v.0.as_slice())),
        (
            "CPLC IC serial number",
            0x9F7F,
            h.card.cplc_serial.as_ref().map(|v| v.0.as_slice()),
        ),
    ];
    for (name, tag, expected) in fields {
        let Some(expected) = expected else { continue };
        let r = transmit(channel, &gp::commands::get_data(tag).to_bytes())?;
        if sw_of(&r) != 0x9000 {
            return Err(format!(
                "the script is for the card with {name} {}, and this card does not give its {name} (GET DATA {tag:04X} answered {:04X})",
                hex::encode_upper(expected),
                sw_of(&r)
            ));
        }
        let value = data_object_value(tag, &r[..r.len() - 2]);
        let found = if tag == 0x9F7F {
            value.get(12..16).unwrap_or(&[]).to_vec()
        } else {
            value
        };
        if found != expected {
            return Err(format!(
                "the script is for another card: {name} {} expected, this card has {}",
                hex::encode_upper(expected),
                hex::encode_upper(&found)
            ));
        }
    }
    Ok(())
}

/// The value of a GET DATA answer: the TLV's value when the card wraps it
/// in its tag (as GlobalPlatform cards do), else the bytes themselves.
pub fn data_object_value(tag: u16, data: &[u8]) -> Vec<u8> {
    match gp::tlv::Tlv::parse(data) {
        Ok(t) if t.tag().to_bytes() == tag_bytes(tag) => t
            .bytes()
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| data.to_vec()),
        _ => data.to_vec(),
    }
}

fn tag_bytes(tag: u16) -> Vec<u8> {
    match tag.to_be_bytes() {
        [0, low] => vec![low],
        both => both.to_vec(),
    }
}

/// Why a card's INITIALIZE UPDATE response is not the predicted one, in
/// the terms a user can act on.
pub fn explain_mismatch(expected: &[u8], actual: &[u8]) -> String {
    let sw = sw_of(actual);
    if sw != 0x9000 {
        return format!(
            "the card refused INITIALIZE UPDATE with {sw:04X} ({})",
            gp::sw::explain(gp::sw::CommandKind::InitializeUpdate, sw)
        );
    }
    let parse = |b: &[u8]| scp::InitUpdateResponse::parse(b.get(..b.len().saturating_sub(2))?).ok();
    let (Some(e), Some(a)) = (parse(expected), parse(actual)) else {
        return format!(
            "the card's answer {} is not a valid INITIALIZE UPDATE response",
            hex::encode_upper(actual)
        );
    };
    if e.kdd != a.kdd {
        return format!(
            "another card: the script is for key diversification data {}, this card has {}",
            hex::encode_upper(e.kdd),
            hex::encode_upper(a.kdd)
        );
    }
    if e.key_version != a.key_version {
        return format!(
            "another key version: the script is for key set {:02X}, the card used {:02X}",
            e.key_version, a.key_version
        );
    }
    let info = |h: &scp::InitUpdateResponse| match &h.challenge {
        scp::CardChallenge::Scp02 {
            sequence_counter, ..
        } => (
            2u8,
            None,
            Some(u32::from(u16::from_be_bytes(*sequence_counter))),
        ),
        scp::CardChallenge::Scp03 {
            i,
            sequence_counter,
            ..
        } => (
            3,
            Some(*i),
            sequence_counter.map(|[a, b, c]| u32::from_be_bytes([0, a, b, c])),
        ),
    };
    let (ep, ei, ec) = info(&e);
    let (ap, ai, ac) = info(&a);
    if ep != ap || ei != ai {
        return format!(
            "another protocol: the script is for SCP0{ep}{}, the card runs SCP0{ap}{}",
            ei.map(|i| format!(" i={i:02X}")).unwrap_or_default(),
            ai.map(|i| format!(" i={i:02X}")).unwrap_or_default()
        );
    }
    match (ec, ac) {
        (Some(e), Some(a)) if a > e => format!(
            "the sequence counter moved: the script was built for counter {e}, the card is at {a} \
             (another session ran since, or the script was played already); build a new script"
        ),
        (Some(e), Some(a)) if a < e => format!(
            "the card's sequence counter is {a}, behind the {e} the script was built for: it was built from a wrong counter"
        ),
        _ => "the card's challenge or cryptogram differs at the same counter: the card's keys \
              are not the ones the script was built with"
            .to_string(),
    }
}

/// Plays the commands; returns how many were accepted and, on a stop, the
/// failed one.
fn run_commands(
    channel: &mut CardChannel,
    commands: &[Command],
    log: &mut Vec<LoggedResponse>,
    index_in_log: bool,
) -> (usize, Option<(usize, String, u16, String)>) {
    for (i, c) in commands.iter().enumerate() {
        let r = match transmit(channel, &c.apdu.0) {
            Ok(r) => r,
            Err(e) => return (i, Some((i, c.kind.clone(), 0, e))),
        };
        log.push(LoggedResponse {
            index: index_in_log.then_some(i),
            response: hex::encode_upper(&r),
        });
        let sw = sw_of(&r);
        if !c.accept.iter().any(|p| p.matches(sw)) {
            let kind = match c.kind.as_str() {
                "INSTALL [for load]" => gp::sw::CommandKind::InstallForLoad,
                "LOAD" => gp::sw::CommandKind::Load,
                "INSTALL [for install]" => gp::sw::CommandKind::InstallForInstall,
                "DELETE" => gp::sw::CommandKind::Delete,
                "PUT KEY" => gp::sw::CommandKind::PutKey,
                "STORE DATA" => gp::sw::CommandKind::StoreData,
                _ => gp::sw::CommandKind::Other,
            };
            return (
                i,
                Some((
                    i,
                    c.kind.clone(),
                    sw,
                    format!(
                        "{} (command {} of {}) answered {sw:04X}: {}",
                        c.kind,
                        i + 1,
                        commands.len(),
                        gp::sw::explain(kind, sw)
                    ),
                )),
            );
        }
    }
    (commands.len(), None)
}

/// Opens the offline session: INITIALIZE UPDATE compared, then EXTERNAL
/// AUTHENTICATE. `Err` carries the stage and the reason.
fn open_offline(
    channel: &mut CardChannel,
    session: &Session,
    report: &mut PlayReport,
) -> Result<(), String> {
    report.stage = Stage::InitializeUpdate;
    let r = transmit(channel, &session.initialize_update.0)?;
    if r != session.expected_response.0 {
        return Err(explain_mismatch(&session.expected_response.0, &r));
    }
    external_authenticate(channel, session, report)
}

fn external_authenticate(
    channel: &mut CardChannel,
    session: &Session,
    report: &mut PlayReport,
) -> Result<(), String> {
    report.stage = Stage::ExternalAuthenticate;
    report.authenticated = true;
    let r = transmit(channel, &session.external_authenticate.0)?;
    let sw = sw_of(&r);
    if sw != 0x9000 {
        return Err(format!(
            "EXTERNAL AUTHENTICATE answered {sw:04X}: {}",
            gp::sw::explain(gp::sw::CommandKind::ExternalAuthenticate, sw)
        ));
    }
    Ok(())
}

/// Where an online rollback's session comes from: given the client's
/// INITIALIZE UPDATE and the card's answer, the key holder returns the
/// signed rollback script (verified by the caller's closure).
pub type OnlineRollback<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> Result<Body, String>;

/// Plays an offline script from the start (identity, INITIALIZE UPDATE,
/// EXTERNAL AUTHENTICATE, commands, rollback).
pub fn play_offline(channel: &mut CardChannel, body: &Body) -> PlayReport {
    let mut report = PlayReport::new(body);
    if body.header.mode != Mode::Offline {
        report.error = Some("an online script is played with --server".into());
        return report;
    }
    if let Err(e) = check_identity(channel, body) {
        report.error = Some(e);
        return report;
    }
    if let Err(e) = open_offline(channel, &body.session, &mut report) {
        report.error = Some(e);
        return report;
    }
    play_commands(channel, body, &mut report, None);
    report
}

/// Plays an online script whose INITIALIZE UPDATE the client has sent
/// already (the card's answer is in the script): from EXTERNAL
/// AUTHENTICATE on. `rollback` asks the key holder for a rollback session.
pub fn play_online(
    channel: &mut CardChannel,
    body: &Body,
    rollback: OnlineRollback<'_>,
) -> PlayReport {
    let mut report = PlayReport::new(body);
    report.stage = Stage::ExternalAuthenticate;
    if let Err(e) = external_authenticate(channel, &body.session, &mut report) {
        report.error = Some(e);
        return report;
    }
    play_commands(channel, body, &mut report, Some(rollback));
    report
}

fn play_commands(
    channel: &mut CardChannel,
    body: &Body,
    report: &mut PlayReport,
    online: Option<OnlineRollback<'_>>,
) {
    report.stage = Stage::Commands;
    let (done, failure) = run_commands(channel, &body.commands, &mut report.responses, true);
    report.commands_done = done;
    let Some((index, kind, sw, message)) = failure else {
        report.stage = Stage::Done;
        report.completed = true;
        return;
    };
    report.error = Some(message);
    report.failed_command = Some(FailedCommand {
        index,
        kind,
        sw: format!("{sw:04X}"),
    });
    let Some(rb) = &body.rollback else { return };
    if index < rb.from {
        return;
    }
    report.rollback = Some(run_rollback(channel, body, online, &mut report.responses));
}

fn run_rollback(
    channel: &mut CardChannel,
    body: &Body,
    online: Option<OnlineRollback<'_>>,
    log: &mut Vec<LoggedResponse>,
) -> RollbackReport {
    let mut out = RollbackReport {
        completed: false,
        commands_done: 0,
        commands_total: body.rollback.as_ref().map_or(0, |r| r.commands.len()),
        error: None,
    };
    let Some(rb) = &body.rollback else {
        return out;
    };
    // A new session: the failed one may be closed on the card (a MAC
    // error closes it), and SELECT ends it for sure.
    let select = match gp::commands::select(&body.header.security_domain.0, false) {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    if let Err(e) = transmit(channel, &select) {
        out.error = Some(e);
        return out;
    }
    let mut scratch = PlayReport::new(body);
    let commands: Vec<Command> = match (&rb.session, online) {
        (Some(session), _) => {
            if let Err(e) = open_offline(channel, session, &mut scratch) {
                out.error = Some(format!("rollback session: {e}"));
                return out;
            }
            rb.commands.clone()
        }
        (None, Some(ask)) => {
            let mut host_challenge = [0u8; 8];
            if let Err(e) = scp::ChallengeSource::fill(&mut scp::OsRng, &mut host_challenge) {
                out.error = Some(e.to_string());
                return out;
            }
            let iu =
                scp::initialize_update_command(body.header.key_version, &host_challenge).to_bytes();
            let r = match transmit(channel, &iu) {
                Ok(r) => r,
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            };
            let rollback = match ask(&iu, &r) {
                Ok(b) => b,
                Err(e) => {
                    out.error = Some(format!("the key holder gave no rollback: {e}"));
                    return out;
                }
            };
            if let Err(e) = external_authenticate(channel, &rollback.session, &mut scratch) {
                out.error = Some(format!("rollback session: {e}"));
                return out;
            }
            rollback.commands
        }
        (None, None) => {
            out.error = Some("an online rollback needs the key holder".into());
            return out;
        }
    };
    let (done, failure) = run_commands(channel, &commands, log, false);
    out.commands_done = done;
    match failure {
        None => out.completed = true,
        Some((_, _, _, message)) => out.error = Some(message),
    }
    out
}
