//! The card's RNG as the random sources the asymmetric crates take: the
//! `rand_core` 0.6 traits of `rsa` and the 0.10 ones of the curve crates.
//!
//! Both draw from the card's [`super::random::SharedRng`] (a
//! fixed source in tests, so key generation and signatures are
//! reproducible there), the OS generator where a VM runs without a card.
//! The crates' traits are infallible; a source that fails is recorded and
//! the caller discards whatever was computed ([`CardRng::check`]), so no
//! key or signature is ever made of bytes a failed source left behind.

use std::convert::Infallible;

use elliptic_curve::rand_core as rc010;
use rsa::rand_core as rc06;
use scp::{ChallengeSource, OsRng};

use crate::jcvm::interp::{Exc, Vm};

use super::random::SharedRng;

/// One operation's view of the card's RNG.
pub struct CardRng {
    source: Option<SharedRng>,
    failed: Option<String>,
}

impl CardRng {
    pub fn of(vm: &Vm<'_>) -> CardRng {
        CardRng {
            source: vm.env.rng.clone(),
            failed: None,
        }
    }

    fn draw(&mut self, out: &mut [u8]) {
        let r = match self.source.as_mut() {
            Some(s) => s.fill(out),
            None => OsRng.fill(out),
        };
        if let Err(e) = r {
            out.fill(0);
            self.failed.get_or_insert_with(|| e.to_string());
        }
    }

    /// `Fatal` when the source failed during the operation (its result
    /// must not be used).
    pub fn check(&self) -> Result<(), Exc> {
        match &self.failed {
            None => Ok(()),
            Some(e) => Err(Exc::Fatal(format!(
                "the card's random generator failed: {e}"
            ))),
        }
    }
}

impl rc06::RngCore for CardRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.draw(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.draw(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.draw(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rc06::Error> {
        self.draw(dest);
        Ok(())
    }
}

impl rc06::CryptoRng for CardRng {}

impl rc010::TryRng for CardRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(rc06::RngCore::next_u32(self))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(rc06::RngCore::next_u64(self))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.draw(dst);
        Ok(())
    }
}

impl rc010::TryCryptoRng for CardRng {}
