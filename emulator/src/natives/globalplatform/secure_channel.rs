//! SecureChannel: an applet hands its security domain's secure channel
//! (the ISD's key sets, SCP02 or SCP03 as the key set says) the commands
//! it does not know. processSecurity answers INITIALIZE UPDATE and
//! EXTERNAL AUTHENTICATE from the APDU, with the same card-side `scp` code
//! and the same counters (sequence counter, failed authentications,
//! blocked key sets) as the ISD's own handshake; the session it opens is
//! the logical channel's session, lent to the VM for the call. unwrap and
//! wrap then check and strip C-MAC/C-ENC of a command in a buffer and
//! protect a response with R-MAC/R-ENC; decryptData and encryptData use
//! the session's data encryption key (SCP02: the session DEK; SCP03: the
//! static DEK, as PUT KEY does).
//!
//! Failures are ISOExceptions with the status word the ISD answers for
//! the same failure; a failed unwrap ends the session.

use gp::apdu::CommandApdu;
use scp::keys::KeyType;
use scp::{CardConfig, Protocol, ScpError};

use crate::card::is_secured;
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::natives::apdu::STATE_FULL_INCOMING;
use crate::natives::framework::{bytes, check_bytes, write_bytes};
use crate::natives::Sys;
use crate::session::Session;
use crate::sw;

const INS_INITIALIZE_UPDATE: u8 = 0x50;
const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;
/// SecureChannel.AUTHENTICATED: the host authenticated as the
/// application provider (the ISD's key holder).
const AUTHENTICATED: u8 = 0x80;
/// ISO7816.OFFSET_CDATA: where processSecurity leaves response data.
const OFFSET_CDATA: usize = 5;

/// A SecureChannel method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    ProcessSecurity,
    Wrap,
    Unwrap,
    DecryptData,
    EncryptData,
    ResetSecurity,
    GetSecurityLevel,
}

pub fn lookup(name: &str, descriptor: &str) -> Option<Call> {
    Some(match (name, descriptor) {
        ("processSecurity", "(Ljavacard/framework/APDU;)S") => Call::ProcessSecurity,
        ("wrap", "([BSS)S") => Call::Wrap,
        ("unwrap", "([BSS)S") => Call::Unwrap,
        ("decryptData", "([BSS)S") => Call::DecryptData,
        ("encryptData", "([BSS)S") => Call::EncryptData,
        ("resetSecurity", "()V") => Call::ResetSecurity,
        ("getSecurityLevel", "()B") => Call::GetSecurityLevel,
        _ => return None,
    })
}

/// `a[0]` is the SecureChannel object.
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let short = |n: usize| Ok(Ret::Word(i32::from(n as i16)));
    match c {
        Call::ProcessSecurity => process_security(vm).map(|n| Ret::Word(i32::from(n as i16))),
        Call::Unwrap => short(unwrap(vm, arg(1), arg(2), arg(3))?),
        Call::Wrap => short(wrap(vm, arg(1), arg(2), arg(3))?),
        Call::DecryptData => short(key_data(vm, arg(1), arg(2), arg(3), false)?),
        Call::EncryptData => short(key_data(vm, arg(1), arg(2), arg(3), true)?),
        Call::ResetSecurity => {
            vm.env.gp.session = Session::None;
            Ok(Ret::Void)
        }
        Call::GetSecurityLevel => {
            let level = match &vm.env.gp.session {
                Session::Open { channel, .. } => {
                    AUTHENTICATED | channel.info().security_level.byte()
                }
                _ => 0,
            };
            Ok(Ret::Word(i32::from(level as i8)))
        }
    }
}

fn iso(vm: &mut Vm<'_>, sw: u16) -> Exc {
    vm.throw(Sys::Iso, sw as i16)
}

/// INITIALIZE UPDATE or EXTERNAL AUTHENTICATE from the APDU object;
/// anything else is refused with 6E00/6D00 for the applet to handle.
fn process_security(vm: &mut Vm<'_>) -> Result<usize, Exc> {
    let [cla, ins, p1, p2] = vm.env.apdu.header;
    let data = vm.env.apdu.data.clone();
    if cla & 0x80 == 0 {
        return Err(iso(vm, sw::CLA_NOT_SUPPORTED));
    }
    // Both commands are short APDUs (8 and 16 data bytes).
    if data.len() > 255 {
        return Err(iso(vm, sw::WRONG_LENGTH));
    }
    let command = raw(cla, ins, p1, p2, &data);
    let response = match ins {
        INS_INITIALIZE_UPDATE => initialize_update(vm, &command, p1)?,
        INS_EXTERNAL_AUTHENTICATE => external_authenticate(vm, &command)?,
        _ => return Err(iso(vm, sw::INS_NOT_SUPPORTED)),
    };
    // processSecurity receives the data field itself.
    receive_all(vm, &data)?;
    let buffer = vm.env.apdu.buffer as i32;
    check_bytes(vm, buffer, OFFSET_CDATA as i32, response.len() as i32)?;
    write_bytes(vm, buffer, OFFSET_CDATA, &response, false)?;
    Ok(response.len())
}

/// A short command APDU: header, Lc and data (no Le).
fn raw(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![cla, ins, p1, p2];
    if !data.is_empty() {
        v.push(data.len() as u8);
        v.extend_from_slice(data);
    }
    v
}

/// The APDU's data is in the buffer and the APDU is fully received.
fn receive_all(vm: &mut Vm<'_>, data: &[u8]) -> Result<(), Exc> {
    let buffer = vm.env.apdu.buffer as i32;
    if vm.env.apdu.received < data.len() {
        check_bytes(vm, buffer, OFFSET_CDATA as i32, data.len() as i32)?;
        write_bytes(vm, buffer, OFFSET_CDATA, data, false)?;
        vm.env.apdu.received = data.len();
    }
    if vm.env.apdu.state < STATE_FULL_INCOMING {
        vm.env.apdu.state = STATE_FULL_INCOMING;
    }
    Ok(())
}

fn initialize_update(vm: &mut Vm<'_>, command: &[u8], p1: u8) -> Result<Vec<u8>, Exc> {
    let gp = &mut vm.env.gp;
    // Whatever happens next, a session that was open is over.
    gp.session = Session::None;
    if gp.card_life_cycle == super::system::CARD_TERMINATED {
        return Err(iso(vm, sw::CONDITIONS));
    }
    let index = if p1 == 0 {
        (!gp.key_sets.is_empty()).then_some(0)
    } else {
        gp.key_sets.iter().position(|s| s.version() == p1)
    };
    let Some(index) = index else {
        return Err(iso(vm, sw::REF_NOT_FOUND));
    };
    let set = &gp.key_sets[index];
    if set.is_blocked(gp.max_auth_failures) {
        return Err(iso(vm, sw::BLOCKED));
    }
    let protocol = match set.keys.kind() {
        KeyType::Des3 => Protocol::Scp02 { i: gp.scp_i.0 },
        KeyType::Aes => Protocol::Scp03 { i: gp.scp_i.1 },
    };
    let config = CardConfig {
        keys: set.keys.clone().into(),
        protocol,
        kdd: gp.kdd,
        sequence_counter: set.sequence_counter,
        aid: gp.isd_aid.clone(),
    };
    let kvn = set.version();
    let aes = set.keys.kind() == KeyType::Aes;
    let Some(rng) = vm.env.rng.as_mut() else {
        return Err(Exc::Fatal("the card has no source of randomness".into()));
    };
    let (pending, response) = match scp::initialize_update(&config, command, rng) {
        Ok(r) => r,
        Err(e) => return Err(iso(vm, e.status_word())),
    };
    let gp = &mut vm.env.gp;
    // SCP03 counts challenges issued, so the next session never reuses one.
    if aes {
        let s = &mut gp.key_sets[index];
        s.sequence_counter = s.sequence_counter.saturating_add(1);
        gp.changed = true;
    }
    gp.session = Session::Authenticating {
        pending: Box::new(pending),
        kvn,
    };
    Ok(response[..response.len().saturating_sub(2)].to_vec())
}

fn external_authenticate(vm: &mut Vm<'_>, command: &[u8]) -> Result<Vec<u8>, Exc> {
    let gp = &mut vm.env.gp;
    let Session::Authenticating { pending, kvn } = std::mem::take(&mut gp.session) else {
        return Err(iso(vm, sw::CONDITIONS));
    };
    let result = pending.external_authenticate(command);
    let Some(set) = gp.key_sets.iter_mut().find(|s| s.version() == kvn) else {
        return Err(iso(vm, sw::CONDITIONS));
    };
    match result {
        Ok((channel, _)) => {
            set.failures = 0;
            // SCP02 counts sessions opened.
            if set.keys.kind() == KeyType::Des3 {
                set.sequence_counter = set.sequence_counter.saturating_add(1);
            }
            gp.changed = true;
            gp.session = Session::Open { channel, kvn };
            Ok(Vec::new())
        }
        Err(e) => {
            if matches!(e, ScpError::HostCryptogram | ScpError::Mac { .. }) {
                set.failures = set.failures.saturating_add(1);
                gp.changed = true;
            }
            Err(iso(vm, e.status_word()))
        }
    }
}

/// Checks and strips the secure messaging of the command at
/// `buf[off..off + len]` (header, Lc, data) and writes it back as header,
/// Lc and plain data; returns its new length.
fn unwrap(vm: &mut Vm<'_>, buf: i32, off: i32, len: i32) -> Result<usize, Exc> {
    let command = bytes(vm, buf, off, len)?.to_vec();
    let Some(&cla) = command.first() else {
        return Err(iso(vm, sw::WRONG_LENGTH));
    };
    let secured = is_secured(cla);
    let gp = &mut vm.env.gp;
    let Session::Open { channel, .. } = &mut gp.session else {
        return if secured {
            Err(iso(vm, sw::SECURITY))
        } else {
            Ok(command.len())
        };
    };
    if !secured {
        // A plain command in a session that asks for C-MAC does not match
        // the security level: refused, and the session is over.
        if channel.info().security_level.c_mac() {
            gp.session = Session::None;
            return Err(iso(vm, sw::SECURITY));
        }
        return Ok(command.len());
    }
    let plain: CommandApdu = match channel.verify_and_unwrap(&command) {
        Ok(c) => c,
        Err(e) => {
            gp.session = Session::None;
            return Err(iso(vm, e.status_word()));
        }
    };
    let mut out = plain.header().to_vec();
    out.push(plain.data().len() as u8);
    out.extend_from_slice(plain.data());
    check_bytes(vm, buf, off, out.len() as i32)?;
    write_bytes(vm, buf, off as usize, &out, false)?;
    Ok(out.len())
}

/// Protects the response at `buf[off..off + len]` (data, then the two
/// status bytes) and writes the protected data (without status bytes)
/// back; returns its length.
fn wrap(vm: &mut Vm<'_>, buf: i32, off: i32, len: i32) -> Result<usize, Exc> {
    let response = bytes(vm, buf, off, len)?.to_vec();
    if response.len() < 2 {
        return Err(iso(vm, sw::WRONG_LENGTH));
    }
    let (data, status) = response.split_at(response.len() - 2);
    let sw = u16::from_be_bytes([status[0], status[1]]);
    let Session::Open { channel, .. } = &mut vm.env.gp.session else {
        return Ok(data.len());
    };
    let wrapped = match channel.wrap_response(data, sw) {
        Ok(w) => w,
        Err(e) => return Err(iso(vm, e.status_word())),
    };
    let body = &wrapped[..wrapped.len().saturating_sub(2)];
    check_bytes(vm, buf, off, body.len() as i32)?;
    write_bytes(vm, buf, off as usize, body, false)?;
    Ok(body.len())
}

/// decryptData / encryptData: whole cipher blocks under the session's
/// data encryption key, in place.
fn key_data(vm: &mut Vm<'_>, buf: i32, off: i32, len: i32, encrypt: bool) -> Result<usize, Exc> {
    let input = bytes(vm, buf, off, len)?.to_vec();
    let Session::Open { channel, .. } = &vm.env.gp.session else {
        return Err(iso(vm, sw::SECURITY));
    };
    let result = if encrypt {
        channel.encrypt_key_data(&input)
    } else {
        channel.decrypt_key_data(&input)
    };
    let out = match result {
        Ok(o) => o,
        Err(_) => return Err(iso(vm, sw::WRONG_LENGTH)),
    };
    check_bytes(vm, buf, off, out.len() as i32)?;
    write_bytes(vm, buf, off as usize, &out, false)?;
    Ok(out.len())
}
