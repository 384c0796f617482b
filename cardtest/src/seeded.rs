//! [`SeededRandom`]: reproducible randomness for an emulated card.
//!
//! A card draws its serial number and every card challenge from its random
//! source. Tests that compare whole responses (a card challenge inside
//! INITIALIZE UPDATE's answer, the CPLC's serial) need the same bytes on
//! every run; a seed gives them. The stream is SHA-256 over the seed and a
//! block counter: deterministic, well spread, and needing nothing beyond a
//! hash the workspace already has. It is not meant to be secret — a seeded
//! card is a test card.

use scp::{ChallengeSource, ScpError};
use sha2::{Digest, Sha256};

/// A deterministic byte stream from a 64-bit seed.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    seed: u64,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl SeededRandom {
    /// The stream of `seed`; the same seed always yields the same bytes.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut h = Sha256::new();
        h.update(b"jct cardtest seeded random");
        h.update(self.seed.to_be_bytes());
        h.update(self.counter.to_be_bytes());
        self.block = h.finalize().into();
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl ChallengeSource for SeededRandom {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError> {
        for b in out.iter_mut() {
            if self.used == self.block.len() {
                self.refill();
            }
            *b = self.block[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(seed: u64, n: usize) -> Vec<u8> {
        let mut r = SeededRandom::new(seed);
        let mut v = vec![0; n];
        r.fill(&mut v).unwrap();
        v
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        assert_eq!(draw(7, 100), draw(7, 100));
        assert_ne!(draw(7, 100), draw(8, 100));
        // Drawing in pieces gives the same stream as drawing at once.
        let mut r = SeededRandom::new(7);
        let (mut a, mut b) = ([0u8; 30], [0u8; 70]);
        r.fill(&mut a).unwrap();
        r.fill(&mut b).unwrap();
        assert_eq!([a.as_slice(), b.as_slice()].concat(), draw(7, 100));
    }
}
