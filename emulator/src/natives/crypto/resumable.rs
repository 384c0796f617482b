//! SHA-1 and SHA-2 resumed from an intermediate hash value, for
//! InitializedMessageDigest.setInitialDigest: the RustCrypto digests
//! cannot be built from a given chaining state through their public API,
//! so this runs the crates' own compression functions (sha1::compress,
//! sha2::compress256 / compress512) from that state and applies the
//! FIPS 180-4 padding (a one bit, zeros, the message length in bits)
//! over the whole length, counted from the bytes hashed before.

use digest::generic_array::GenericArray;
use digest::{DynDigest, InvalidBufferSize};
use zeroize::Zeroize;

/// The chaining state of one of the hashes.
#[derive(Clone)]
enum Chain {
    Sha1([u32; 5]),
    /// SHA-224 and SHA-256 (the output length tells them apart).
    Sha256([u32; 8]),
    /// SHA-384 and SHA-512.
    Sha512([u64; 8]),
}

/// A digest in progress from a given state.
#[derive(Clone)]
pub struct Resumed {
    chain: Chain,
    /// What reset returns to: the standard initial value.
    initial: Chain,
    out_len: usize,
    /// Bytes hashed so far, those before the resumption included.
    total: u128,
    /// A partial block.
    pending: Vec<u8>,
}

const SHA1_IV: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
const SHA224_IV: [u32; 8] = [
    0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4,
];
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const SHA384_IV: [u64; 8] = [
    0xcbbb9d5dc1059ed8,
    0x629a292a367cd507,
    0x9159015a3070dd17,
    0x152fecd8f70e5939,
    0x67332667ffc00b31,
    0x8eb44a8768581511,
    0xdb0c2e0d64f98fa7,
    0x47b5481dbefa4fa4,
];
const SHA512_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

impl Chain {
    fn block_len(&self) -> usize {
        match self {
            Chain::Sha512(_) => 128,
            _ => 64,
        }
    }

    /// Bytes of the chaining state (what setInitialDigest takes).
    fn state_len(&self) -> usize {
        match self {
            Chain::Sha1(_) => 20,
            Chain::Sha256(_) => 32,
            Chain::Sha512(_) => 64,
        }
    }

    fn compress(&mut self, blocks: &[u8]) {
        match self {
            Chain::Sha1(s) => {
                let b: Vec<_> = blocks
                    .chunks_exact(64)
                    .map(|c| *GenericArray::from_slice(c))
                    .collect();
                sha1::compress(s, &b);
            }
            Chain::Sha256(s) => {
                let b: Vec<_> = blocks
                    .chunks_exact(64)
                    .map(|c| *GenericArray::from_slice(c))
                    .collect();
                sha2::compress256(s, &b);
            }
            Chain::Sha512(s) => {
                let b: Vec<_> = blocks
                    .chunks_exact(128)
                    .map(|c| *GenericArray::from_slice(c))
                    .collect();
                sha2::compress512(s, &b);
            }
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Chain::Sha1(s) => s.iter().flat_map(|w| w.to_be_bytes()).collect(),
            Chain::Sha256(s) => s.iter().flat_map(|w| w.to_be_bytes()).collect(),
            Chain::Sha512(s) => s.iter().flat_map(|w| w.to_be_bytes()).collect(),
        }
    }

    /// The same kind of state from big-endian bytes of the right length.
    fn with_bytes(&self, b: &[u8]) -> Option<Chain> {
        if b.len() != self.state_len() {
            return None;
        }
        let w32 = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(match self {
            Chain::Sha1(_) => Chain::Sha1(std::array::from_fn(|i| w32(4 * i))),
            Chain::Sha256(_) => Chain::Sha256(std::array::from_fn(|i| w32(4 * i))),
            Chain::Sha512(_) => Chain::Sha512(std::array::from_fn(|i| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&b[8 * i..8 * i + 8]);
                u64::from_be_bytes(w)
            })),
        })
    }
}

impl Resumed {
    /// A digest of MessageDigest.ALG_* at its standard initial value.
    pub fn new(alg: u8) -> Option<Resumed> {
        let (chain, out_len) = match alg {
            1 => (Chain::Sha1(SHA1_IV), 20),
            4 => (Chain::Sha256(SHA256_IV), 32),
            5 => (Chain::Sha512(SHA384_IV), 48),
            6 => (Chain::Sha512(SHA512_IV), 64),
            7 => (Chain::Sha256(SHA224_IV), 28),
            _ => return None,
        };
        Some(Resumed {
            initial: chain.clone(),
            chain,
            out_len,
            total: 0,
            pending: Vec::new(),
        })
    }

    /// Resumes from intermediate hash value `state` after `done` bytes
    /// (big-endian): `None` when the state is not of the hash's length or
    /// the count is not a whole number of blocks (or overflows 128 bits).
    pub fn resume(alg: u8, state: &[u8], done: &[u8]) -> Option<Resumed> {
        let mut r = Resumed::new(alg)?;
        let skip = done.iter().take_while(|b| **b == 0).count();
        if done.len() - skip > 16 {
            return None;
        }
        let total = done.iter().fold(0u128, |n, b| (n << 8) | u128::from(*b));
        if total % r.chain.block_len() as u128 != 0 {
            return None;
        }
        r.chain = r.chain.with_bytes(state)?;
        r.total = total;
        Some(r)
    }

    fn finish(&mut self, out: &mut [u8]) {
        let bl = self.chain.block_len();
        let len_bytes = if bl == 128 { 16 } else { 8 };
        let bits = self.total.wrapping_mul(8);
        let mut tail = std::mem::take(&mut self.pending);
        tail.push(0x80);
        while tail.len() % bl != bl - len_bytes {
            tail.push(0);
        }
        let be = bits.to_be_bytes();
        tail.extend_from_slice(&be[16 - len_bytes..]);
        self.chain.compress(&tail);
        tail.zeroize();
        let state = self.chain.bytes();
        out.copy_from_slice(&state[..self.out_len]);
        self.reset_to_initial();
    }

    fn reset_to_initial(&mut self) {
        self.chain = self.initial.clone();
        self.total = 0;
        self.pending.zeroize();
        self.pending.clear();
    }
}

impl DynDigest for Resumed {
    fn update(&mut self, data: &[u8]) {
        let bl = self.chain.block_len();
        self.total = self.total.wrapping_add(data.len() as u128);
        self.pending.extend_from_slice(data);
        let whole = self.pending.len() / bl * bl;
        if whole > 0 {
            let blocks: Vec<u8> = self.pending.drain(..whole).collect();
            self.chain.compress(&blocks);
        }
    }

    fn finalize_into(mut self, buf: &mut [u8]) -> Result<(), InvalidBufferSize> {
        self.finalize_into_reset(buf)
    }

    fn finalize_into_reset(&mut self, out: &mut [u8]) -> Result<(), InvalidBufferSize> {
        if out.len() != self.out_len {
            return Err(InvalidBufferSize);
        }
        self.finish(out);
        Ok(())
    }

    fn reset(&mut self) {
        self.reset_to_initial();
    }

    fn output_size(&self) -> usize {
        self.out_len
    }

    fn box_clone(&self) -> Box<dyn DynDigest> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use digest::Digest;

    /// From the standard initial value it is the hash itself; resumed
    /// after whole blocks, it finishes the same hash of the whole message.
    #[test]
    fn resumed_hashes_equal_the_crates_hashes() {
        let msg: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = |alg: u8, m: &[u8]| -> Vec<u8> {
            match alg {
                1 => sha1::Sha1::digest(m).to_vec(),
                4 => sha2::Sha256::digest(m).to_vec(),
                5 => sha2::Sha384::digest(m).to_vec(),
                6 => sha2::Sha512::digest(m).to_vec(),
                _ => sha2::Sha224::digest(m).to_vec(),
            }
        };
        for alg in [1u8, 4, 5, 6, 7] {
            for len in [0usize, 3, 55, 56, 64, 111, 112, 128, 1000] {
                let mut d = Resumed::new(alg).unwrap();
                DynDigest::update(&mut d, &msg[..len]);
                assert_eq!(
                    d.finalize_reset().to_vec(),
                    whole(alg, &msg[..len]),
                    "{alg} {len}"
                );
            }
            // Hash 2 blocks, take the state, resume in a new object.
            let mut first = Resumed::new(alg).unwrap();
            let bl = first.chain.block_len();
            DynDigest::update(&mut first, &msg[..2 * bl]);
            let state = first.chain.bytes();
            let done = ((2 * bl) as u32).to_be_bytes();
            let mut second = Resumed::resume(alg, &state, &done).unwrap();
            DynDigest::update(&mut second, &msg[2 * bl..]);
            assert_eq!(
                second.finalize_reset().to_vec(),
                whole(alg, &msg),
                "resumed {alg}"
            );
            // After doFinal it is the plain hash again.
            DynDigest::update(&mut second, b"abc");
            assert_eq!(second.finalize_reset().to_vec(), whole(alg, b"abc"));
            // Not whole blocks, or a state of another length: refused.
            assert!(Resumed::resume(alg, &state, &[0, 1]).is_none());
            assert!(Resumed::resume(alg, &state[..16], &done).is_none());
        }
    }
}
