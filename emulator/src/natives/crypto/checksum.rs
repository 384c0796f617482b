//! javacard.security.Checksum on the crc crate.
//!
//! ALG_ISO3309_CRC16: the API names the generator x^16 + x^12 + x^5 + 1
//! and a default initial value of 0; as in jCardSim (the reference the
//! differential test compares with), bits are taken most significant
//! first and the result is complemented: the crc catalogue's
//! CRC-16/GSM. ALG_ISO3309_CRC32: the HDLC frame check sequence's
//! generator, reflected and complemented as CRC-32/ISO-HDLC, but from the
//! API's default initial value 0 (as jCardSim; init with FFFFFFFF gives
//! CRC-32/ISO-HDLC itself). Initial values are register values in the
//! polynomial's (unreflected) bit order, as the crc catalogue writes
//! them; the result is written big-endian.
//!
//! init(bArray, bOff, bLen) sets the initial register value (2 or 4
//! bytes, big-endian); the checksum in progress is volatile
//! ([`super::live`]): a reset or power loss returns the object to its
//! state upon construction, and so does doFinal.

use super::classes::{class_of, Impl};
use super::support::{self, AlgClass};
use super::{
    api_constant, bytes, check_bytes, crypto_exc, reason, state_of, write_bytes, Call, State,
};
use crate::jcvm::heap::{NativeData, Obj, ObjId};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// Checksum.ALG_ISO3309_CRC16 and _CRC32.
const CRC16: u8 = 1;
const CRC32: u8 = 2;

static CRC16_ENGINE: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_GSM);
/// CRC-32/ISO-HDLC from initial value 0.
const CRC32_ZERO: crc::Algorithm<u32> = crc::Algorithm {
    init: 0,
    check: 0xd202_d277,
    ..crc::CRC_32_ISO_HDLC
};
static CRC32_ENGINE: crc::Crc<u32> = crc::Crc::<u32>::new(&CRC32_ZERO);

/// A checksum in progress.
#[derive(Clone)]
pub enum Running {
    Crc16(crc::Digest<'static, u16>),
    Crc32(crc::Digest<'static, u32>),
}

impl Running {
    /// A fresh checksum of an algorithm from `initial` (None: the default).
    fn new(alg: u8, initial: Option<u32>) -> Option<Running> {
        Some(match alg {
            CRC16 => Running::Crc16(match initial {
                Some(i) => CRC16_ENGINE.digest_with_initial(i as u16),
                None => CRC16_ENGINE.digest(),
            }),
            CRC32 => Running::Crc32(match initial {
                Some(i) => CRC32_ENGINE.digest_with_initial(i),
                None => CRC32_ENGINE.digest(),
            }),
            _ => return None,
        })
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Running::Crc16(d) => d.update(data),
            Running::Crc32(d) => d.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Running::Crc16(d) => d.finalize().to_be_bytes().to_vec(),
            Running::Crc32(d) => d.finalize().to_be_bytes().to_vec(),
        }
    }
}

/// Bytes of a checksum (and of its initial value).
fn width(alg: u8) -> usize {
    if alg == CRC16 {
        2
    } else {
        4
    }
}

/// Checksum.getInstance(algorithm, externalAccess).
pub fn get_instance(vm: &mut Vm<'_>, alg: i32) -> Result<Ret, Exc> {
    let a = alg as u8;
    let named = api_constant(
        vm,
        "javacard/security/Checksum",
        "ALG_",
        i64::from(alg as i8),
    );
    if !named || Running::new(a, None).is_none() {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    support::check(vm, AlgClass::Checksum, alg as i8, None)?;
    let class = class_of(vm, Impl::Checksum)?;
    let obj = Obj::Instance {
        class,
        fields: Vec::new(),
        native: NativeData::Crypto(State::Checksum { alg: a }),
        owner: vm.env.context,
    };
    Ok(Ret::Word(vm.alloc(obj)? as i32))
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let alg = match state_of(vm, a[0])? {
        State::Checksum { alg } => *alg,
        _ => return Err(Exc::Fatal("a Checksum method on another object".into())),
    };
    let id = a[0] as ObjId;
    let fresh =
        |initial| Running::new(alg, initial).ok_or_else(|| Exc::Fatal("unknown CRC".into()));
    match c {
        Call::ChecksumGetAlgorithm => Ok(Ret::Word(i32::from(alg as i8))),
        Call::ChecksumInit => {
            let given = bytes(vm, a[1], a[2], a[3])?.to_vec();
            if given.len() != width(alg) {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            let initial = given.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b));
            let run = fresh(Some(initial))?;
            vm.env.crypto.checksums.insert(id, run);
            Ok(Ret::Void)
        }
        Call::ChecksumUpdate | Call::ChecksumDoFinal => {
            let data = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let mut run = match vm.env.crypto.checksums.remove(&id) {
                Some(r) => r,
                None => fresh(None)?,
            };
            run.update(&data);
            if c == Call::ChecksumUpdate {
                vm.env.crypto.checksums.insert(id, run);
                return Ok(Ret::Void);
            }
            let out = run.finish();
            check_bytes(vm, a[4], a[5], out.len() as i32)?;
            write_bytes(vm, a[4], a[5] as usize, &out, false)?;
            Ok(Ret::Word(out.len() as i32))
        }
        _ => Err(Exc::Fatal("not a Checksum method".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue check values ("123456789"), in pieces.
    #[test]
    fn check_values() {
        for (alg, want) in [(CRC16, "ce3c"), (CRC32, "d202d277")] {
            let mut r = Running::new(alg, None).unwrap();
            r.update(b"1234");
            r.update(b"56789");
            assert_eq!(hex::encode(r.finish()), want);
        }
        // From FFFFFFFF: CRC-32/ISO-HDLC.
        let mut r = Running::new(CRC32, Some(0xFFFF_FFFF)).unwrap();
        r.update(b"123456789");
        assert_eq!(hex::encode(r.finish()), "cbf43926");
    }
}
