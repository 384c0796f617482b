//! RandomData, and the card's one source of randomness it draws from.
//!
//! Every algorithm (ALG_SECURE_RANDOM, ALG_PSEUDO_RANDOM and the 3.0.5
//! names) reads the card's [`SharedRng`]: the operating system's generator
//! on a real run, a fixed source in tests (`Card::with_rng`), so a test
//! fixes the card manager's challenges and the applets' random bytes alike.
//! setSeed is accepted and ignored: the source is seedable only through
//! the library API, never from an applet, which keeps tests reproducible
//! and a seed from weakening the generator.

use std::sync::{Arc, Mutex};

use scp::{ChallengeSource, OsRng, ScpError};

use super::{api_constant, check_bytes, crypto_exc, reason, state_of, write_bytes, Call, State};
use crate::jcvm::heap::{NativeData, Obj};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// The card's RNG, shared between the card manager and the JCVM.
#[derive(Clone)]
pub struct SharedRng(Arc<Mutex<Box<dyn ChallengeSource + Send>>>);

impl SharedRng {
    pub fn new(rng: Box<dyn ChallengeSource + Send>) -> SharedRng {
        SharedRng(Arc::new(Mutex::new(rng)))
    }
}

impl std::fmt::Debug for SharedRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRng")
    }
}

impl ChallengeSource for SharedRng {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError> {
        let mut rng = self
            .0
            .lock()
            .map_err(|_| ScpError::Rng("the card's RNG lock is poisoned".into()))?;
        rng.fill(out)
    }
}

/// Fills `out` from the card's RNG (the OS generator where the VM runs
/// without a card, as in unit tests of the natives).
pub fn fill(vm: &mut Vm<'_>, out: &mut [u8]) -> Result<(), Exc> {
    let r = match vm.env.rng.as_mut() {
        Some(rng) => rng.fill(out),
        None => OsRng.fill(out),
    };
    // A source that cannot answer is a card whose RNG failed: the call
    // cannot go on (a card would not hand out predictable bytes).
    r.map_err(|e| Exc::Fatal(format!("the card's random generator failed: {e}")))
}

/// RandomData.getInstance: the algorithms the API version names.
pub fn get_instance(vm: &mut Vm<'_>, alg: i32) -> Result<Ret, Exc> {
    let alg = alg as i8;
    let known = alg > 0 && api_constant(vm, "javacard/security/RandomData", "ALG_", i64::from(alg));
    if !known {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    super::support::check(vm, super::support::AlgClass::RandomData, alg, None)?;
    let class = super::classes::class_of(vm, super::classes::Impl::RandomData)?;
    let obj = Obj::Instance {
        class,
        fields: Vec::new(),
        owner: vm.env.context,
        native: NativeData::Crypto(State::Random { alg }),
    };
    Ok(Ret::Word(vm.alloc(obj)? as i32))
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let alg = match state_of(vm, a[0])? {
        State::Random { alg } => *alg,
        _ => return Err(Exc::Fatal("a RandomData method on another object".into())),
    };
    match c {
        Call::RandomGetAlgorithm => Ok(Ret::Word(i32::from(alg))),
        Call::RandomGenerate | Call::RandomNext => {
            let (buf, off, len) = (a[1], a[2], a[3]);
            check_bytes(vm, buf, off, len)?;
            let mut bytes = vec![0u8; len as usize];
            fill(vm, &mut bytes)?;
            write_bytes(vm, buf, off as usize, &bytes, false)?;
            if c == Call::RandomNext {
                Ok(Ret::Word(i32::from((off + len) as i16)))
            } else {
                Ok(Ret::Void)
            }
        }
        Call::RandomSetSeed => {
            check_bytes(vm, a[1], a[2], a[3])?;
            Ok(Ret::Void)
        }
        _ => Err(Exc::Fatal("not a RandomData method".into())),
    }
}
