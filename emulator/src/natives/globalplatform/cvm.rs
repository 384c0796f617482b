//! The card's global PIN behind GlobalPlatform's CVM interface
//! (GPSystem.getCVM(CVM_GLOBAL_PIN)).
//!
//! The value, its format, the try limit and counter and the blocked
//! state are persistent (in the card state, outside the heap: the CVM
//! API says its counter and states do not take part in transactions);
//! VALIDATED and INVALID_SUBMISSION last until power off or resetState.
//! Changing the value, the limit or the blocked state needs the CVM
//! Management privilege; verifying and reading do not.

use serde::{Deserialize, Serialize};

use super::{has_privilege, privilege};
use crate::hexser;
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::natives::framework::bytes;

/// CVM.FORMAT_ASCII, FORMAT_BCD, FORMAT_HEX.
pub const FORMAT_ASCII: u8 = 1;
pub const FORMAT_BCD: u8 = 2;
pub const FORMAT_HEX: u8 = 3;
/// CVM.CVM_SUCCESS, CVM_FAILURE.
const CVM_SUCCESS: i32 = 0;
const CVM_FAILURE: i32 = -1;
/// The longest CVM value the card stores, in bytes.
pub const MAX_VALUE: usize = 32;
/// The try limit an issuer configures for the global PIN of a fresh card.
pub const DEFAULT_TRY_LIMIT: u8 = 3;

/// The persistent part of the global PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalCvm {
    /// Empty until an application with CVM Management sets it.
    #[serde(with = "hexser")]
    pub value: Vec<u8>,
    pub format: u8,
    pub try_limit: u8,
    pub tries: u8,
    pub blocked: bool,
}

impl Default for GlobalCvm {
    fn default() -> Self {
        GlobalCvm {
            value: Vec::new(),
            format: FORMAT_HEX,
            try_limit: DEFAULT_TRY_LIMIT,
            tries: DEFAULT_TRY_LIMIT,
            blocked: false,
        }
    }
}

impl GlobalCvm {
    /// ACTIVE (or beyond): a value and a try limit are set.
    pub fn is_active(&self) -> bool {
        !self.value.is_empty() && self.try_limit > 0
    }
}

/// The global PIN's card-session states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CvmSession {
    pub submitted: bool,
    pub verified: bool,
}

/// A CVM method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    IsActive,
    IsSubmitted,
    IsVerified,
    IsBlocked,
    GetTriesRemaining,
    Update,
    ResetState,
    BlockState,
    ResetAndUnblockState,
    SetTryLimit,
    Verify,
}

pub fn lookup(name: &str, descriptor: &str) -> Option<Call> {
    Some(match (name, descriptor) {
        ("isActive", "()Z") => Call::IsActive,
        ("isSubmitted", "()Z") => Call::IsSubmitted,
        ("isVerified", "()Z") => Call::IsVerified,
        ("isBlocked", "()Z") => Call::IsBlocked,
        ("getTriesRemaining", "()B") => Call::GetTriesRemaining,
        ("update", "([BSBB)Z") => Call::Update,
        ("resetState", "()Z") => Call::ResetState,
        ("blockState", "()Z") => Call::BlockState,
        ("resetAndUnblockState", "()Z") => Call::ResetAndUnblockState,
        ("setTryLimit", "(B)Z") => Call::SetTryLimit,
        ("verify", "([BSBB)S") => Call::Verify,
        _ => return None,
    })
}

/// `a[0]` is the CVM object (there is one, the global PIN).
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let w = |v: bool| Ok(Ret::Word(i32::from(v)));
    let manager = has_privilege(vm.env, privilege::CVM_MANAGEMENT);
    let cvm = &vm.env.gp.cvm;
    let session = vm.env.gp.cvm_session;
    match c {
        Call::IsActive => w(cvm.is_active()),
        Call::IsSubmitted => w(cvm.is_active() && session.submitted),
        Call::IsVerified => w(cvm.is_active() && session.verified && !cvm.blocked),
        Call::IsBlocked => w(cvm.is_active() && cvm.blocked),
        Call::GetTriesRemaining => Ok(Ret::Word(i32::from(cvm.tries as i8))),
        Call::Update => {
            let (off, len, format) = (arg(2), arg(3), arg(4) as u8);
            let value = bytes(vm, arg(1), off, len)?.to_vec();
            w(manager && update(vm, value, format))
        }
        Call::ResetState => {
            if !cvm.is_active() || cvm.blocked {
                return w(false);
            }
            vm.env.gp.cvm_session = CvmSession::default();
            w(true)
        }
        Call::BlockState => {
            if !manager || !cvm.is_active() {
                return w(false);
            }
            let gp = &mut vm.env.gp;
            gp.cvm.blocked = true;
            gp.cvm_session.verified = false;
            gp.changed = true;
            w(true)
        }
        Call::ResetAndUnblockState => {
            if !manager || !cvm.is_active() || !cvm.blocked {
                return w(false);
            }
            let gp = &mut vm.env.gp;
            gp.cvm.blocked = false;
            gp.cvm.tries = gp.cvm.try_limit;
            gp.cvm_session = CvmSession::default();
            gp.changed = true;
            w(true)
        }
        Call::SetTryLimit => {
            let limit = arg(1);
            if !manager || !(1..=127).contains(&limit) {
                return w(false);
            }
            let gp = &mut vm.env.gp;
            gp.cvm.try_limit = limit as u8;
            gp.cvm.tries = limit as u8;
            gp.cvm.blocked = false;
            gp.cvm_session = CvmSession::default();
            gp.changed = true;
            w(true)
        }
        Call::Verify => {
            let (off, len, format) = (arg(2), arg(3), arg(4) as u8);
            let presented = bytes(vm, arg(1), off, len)?.to_vec();
            Ok(Ret::Word(verify(vm, &presented, format)))
        }
    }
}

/// A new value (and the state back to ACTIVE, the counter reset), if it
/// passes the editing checks of its format.
fn update(vm: &mut Vm<'_>, value: Vec<u8>, format: u8) -> bool {
    if value.is_empty() || value.len() > MAX_VALUE || canonical(&value, format).is_none() {
        return false;
    }
    let gp = &mut vm.env.gp;
    gp.cvm.value = value;
    gp.cvm.format = format;
    gp.cvm.tries = gp.cvm.try_limit;
    gp.cvm.blocked = false;
    gp.cvm_session = CvmSession::default();
    gp.changed = true;
    true
}

/// Compares a presented value, counting a failure (and blocking at zero
/// tries left) or resetting the counter on success.
fn verify(vm: &mut Vm<'_>, presented: &[u8], format: u8) -> i32 {
    let gp = &mut vm.env.gp;
    if !gp.cvm.is_active() || gp.cvm.blocked {
        return CVM_FAILURE;
    }
    let ok = match (
        canonical(&gp.cvm.value, gp.cvm.format),
        canonical(presented, format),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    gp.cvm_session.submitted = true;
    gp.changed = true;
    if ok {
        gp.cvm.tries = gp.cvm.try_limit;
        gp.cvm_session.verified = true;
        CVM_SUCCESS
    } else {
        gp.cvm.tries = gp.cvm.tries.saturating_sub(1);
        gp.cvm_session.verified = false;
        if gp.cvm.tries == 0 {
            gp.cvm.blocked = true;
        }
        CVM_FAILURE
    }
}

/// A CVM value in the form comparisons use: numeric ASCII and BCD become
/// the same digit string (so either format verifies the other); other
/// ASCII stays text, HEX stays bytes and matches only HEX. `None` for a
/// value its format cannot hold (BCD with a non-digit nibble, F padding
/// anywhere but the last nibble; an unknown format).
#[derive(Debug, PartialEq, Eq)]
pub enum Canonical {
    Digits(Vec<u8>),
    Text(Vec<u8>),
    Hex(Vec<u8>),
}

pub fn canonical(value: &[u8], format: u8) -> Option<Canonical> {
    match format {
        FORMAT_HEX => Some(Canonical::Hex(value.to_vec())),
        FORMAT_ASCII if value.iter().all(u8::is_ascii_digit) => {
            Some(Canonical::Digits(value.iter().map(|b| b - b'0').collect()))
        }
        FORMAT_ASCII => Some(Canonical::Text(value.to_vec())),
        FORMAT_BCD => {
            let nibbles: Vec<u8> = value.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
            let digits = match nibbles.split_last() {
                Some((&0x0F, rest)) => rest,
                _ => &nibbles[..],
            };
            if digits.iter().all(|d| *d <= 9) {
                Some(Canonical::Digits(digits.to_vec()))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_convert_as_the_cvm_api_says() {
        let ascii = canonical(b"1234", FORMAT_ASCII).unwrap();
        assert_eq!(ascii, canonical(&[0x12, 0x34], FORMAT_BCD).unwrap());
        // Odd length: F in the rightmost nibble.
        assert_eq!(
            canonical(b"123", FORMAT_ASCII),
            canonical(&[0x12, 0x3F], FORMAT_BCD)
        );
        // HEX matches only HEX.
        assert_ne!(canonical(&[0x12, 0x34], FORMAT_HEX), Some(ascii));
        // Non-numeric ASCII never equals digits.
        assert_ne!(
            canonical(b"12a4", FORMAT_ASCII),
            canonical(&[0x12, 0x34], FORMAT_BCD)
        );
        assert!(canonical(&[0x1A], FORMAT_BCD).is_none());
        assert!(canonical(&[0xF1], FORMAT_BCD).is_none());
        assert!(canonical(b"1", 9).is_none());
    }
}
