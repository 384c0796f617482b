//! Where challenges come from.
//!
//! Host and card challenges are the only randomness in a session. Drawing
//! them through a trait lets production use the operating system's CSPRNG
//! while tests, known-answer vectors and record/replay fix them, which
//! makes every APDU of a session reproducible.

use rand_core::{CryptoRng, RngCore};

use crate::ScpError;

pub use rand_core::OsRng;

/// A source of challenge bytes.
pub trait ChallengeSource {
    /// Fills `out` with fresh challenge bytes.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError>;
}

/// Any cryptographically secure RNG (such as [`OsRng`]) is a challenge source.
impl<R: RngCore + CryptoRng> ChallengeSource for R {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError> {
        self.try_fill_bytes(out)
            .map_err(|e| ScpError::Rng(e.to_string()))
    }
}

/// Hands out pre-recorded bytes in order, then fails: for tests and replay.
#[derive(Debug, Clone, Default)]
pub struct FixedChallenges {
    bytes: Vec<u8>,
    used: usize,
}

impl FixedChallenges {
    /// A source that will yield exactly `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        FixedChallenges {
            bytes: bytes.into(),
            used: 0,
        }
    }
}

impl ChallengeSource for FixedChallenges {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError> {
        let end = self.used + out.len();
        let src = self.bytes.get(self.used..end).ok_or_else(|| {
            ScpError::Rng(format!(
                "fixed challenge source exhausted: {} bytes asked, {} left",
                out.len(),
                self.bytes.len().saturating_sub(self.used)
            ))
        })?;
        out.copy_from_slice(src);
        self.used = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_then_exhausted() {
        let mut src = FixedChallenges::new(vec![1, 2, 3]);
        let mut two = [0u8; 2];
        src.fill(&mut two).unwrap();
        assert_eq!(two, [1, 2]);
        assert!(src.fill(&mut two).is_err());
    }

    #[test]
    fn os_rng_works() {
        let mut a = [0u8; 8];
        OsRng.fill(&mut a).unwrap();
        let mut b = [0u8; 8];
        OsRng.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
