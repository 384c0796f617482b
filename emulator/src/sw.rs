//! Status words, and the outcome of one command as the card manager sees it.
//!
//! Handlers return `Result<Reply, Fail>`: a [`Fail`] carries the status
//! word the card answers *and* a sentence saying why, which the card keeps
//! for its log (`jct emu -v`). The sentence never reaches the wire: a card
//! answers a bare status word, as ISO/IEC 7816-4 prescribes.

use std::fmt;

/// Success.
pub const OK: u16 = 0x9000;
/// More data available (GET STATUS paging).
pub const MORE_DATA: u16 = 0x6310;
/// EXTERNAL AUTHENTICATE: host cryptogram rejected.
pub const AUTH_FAILED: u16 = 0x6300;
/// Memory failure: the card could not write its persistent state.
pub const MEMORY_FAILURE: u16 = 0x6581;
/// Wrong length.
pub const WRONG_LENGTH: u16 = 0x6700;
/// Logical channel not supported.
pub const CHANNEL_NOT_SUPPORTED: u16 = 0x6881;
/// Secure messaging not supported.
pub const SM_NOT_SUPPORTED: u16 = 0x6882;
/// Security status not satisfied.
pub const SECURITY: u16 = 0x6982;
/// Authentication method blocked.
pub const BLOCKED: u16 = 0x6983;
/// Conditions of use not satisfied.
pub const CONDITIONS: u16 = 0x6985;
/// Incorrect values in the command data.
pub const BAD_DATA: u16 = 0x6A80;
/// Function not supported.
pub const FUNCTION_NOT_SUPPORTED: u16 = 0x6A81;
/// Application (file) not found.
pub const NOT_FOUND: u16 = 0x6A82;
/// Not enough memory space.
pub const NO_MEMORY: u16 = 0x6A84;
/// Incorrect P1 P2.
pub const BAD_P1P2: u16 = 0x6A86;
/// Referenced data not found.
pub const REF_NOT_FOUND: u16 = 0x6A88;
/// Instruction not supported.
pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
/// Class not supported.
pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
/// No precise diagnosis.
pub const UNKNOWN: u16 = 0x6F00;
/// PUT KEY: algorithm not supported.
pub const ALGORITHM_NOT_SUPPORTED: u16 = 0x9484;
/// PUT KEY: invalid key check value.
pub const INVALID_KCV: u16 = 0x9485;

/// A successful answer: response data and 9000 (or a warning such as 6310).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Reply {
    /// 9000 without data.
    pub fn ok() -> Reply {
        Reply::data(Vec::new())
    }

    /// Data and 9000.
    pub fn data(data: Vec<u8>) -> Reply {
        Reply { data, sw: OK }
    }

    /// The single byte `00` GlobalPlatform returns after INSTALL, the last
    /// LOAD and DELETE when no receipt is asked for.
    pub fn no_receipt() -> Reply {
        Reply::data(vec![0x00])
    }
}

/// A refused command: the status word and the reason, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub sw: u16,
    pub why: String,
}

impl Fail {
    pub fn new(sw: u16, why: impl Into<String>) -> Fail {
        Fail {
            sw,
            why: why.into(),
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}: {}", self.sw, self.why)
    }
}

/// What a handler returns.
pub type Outcome = Result<Reply, Fail>;

/// Shorthand for building a [`Fail`] in a `return Err(...)` or `ok_or_else`.
pub fn fail(sw: u16, why: impl Into<String>) -> Fail {
    Fail::new(sw, why)
}

/// `data || SW1 SW2`.
pub fn encode(data: &[u8], sw: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    out.extend_from_slice(data);
    out.extend_from_slice(&sw.to_be_bytes());
    out
}
