//! The volatile state of digests and MACs in progress: RustCrypto objects
//! held per API object in the JCRE's RAM (the Env), never in the heap that
//! is saved, and dropped at power up, as a card's RAM is lost. An object
//! whose entry is missing starts over from what init set.

// Object ids are the card's own numbers, not input an attacker picks: the
// fast integer hash of the heap's object table serves here too.
use rustc_hash::FxHashMap as HashMap;

use aes::{Aes128, Aes192, Aes256};
use cmac::Cmac;
use digest::{DynDigest, Mac};
use hmac::Hmac;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::block::Engine;
use super::padding::{pad, Pad};
use crate::jcvm::heap::ObjId;
use zeroize::Zeroizing;

/// Entries by object.
#[derive(Default)]
pub struct Live {
    pub digests: HashMap<ObjId, Box<dyn DynDigest + Send>>,
    pub macs: HashMap<ObjId, MacEngine>,
    pub checksums: HashMap<ObjId, super::checksum::Running>,
    pub aeads: HashMap<ObjId, super::aead::Work>,
    /// Expanded key schedules by key object, with the key bytes they were
    /// made from (a Cipher reuses one while its key is unchanged: a 3DES
    /// schedule costs about a microsecond, as much as the APDU around it).
    pub engines: HashMap<ObjId, (super::keys::Family, Zeroizing<Vec<u8>>, Engine)>,
    /// Working buffer of the block ciphers' update/doFinal, zeroized after
    /// each call and kept, so steady traffic does not allocate.
    pub scratch: Zeroizing<Vec<u8>>,
    /// RSA CRT keys on OpenSSL by key object, with the components they
    /// were made from (deriving the modulus and exponents and OpenSSL's
    /// blinding set-up cost a third of a 2048-bit signature).
    #[cfg(feature = "openssl")]
    pub rsa: HashMap<
        ObjId,
        (
            Zeroizing<Vec<u8>>,
            std::sync::Arc<super::rsa_openssl::CrtKey>,
        ),
    >,
}

impl Live {
    /// Power up: everything in progress is gone.
    pub fn clear(&mut self) {
        self.digests.clear();
        self.macs.clear();
        self.checksums.clear();
        self.aeads.clear();
        self.engines.clear();
        #[cfg(feature = "openssl")]
        self.rsa.clear();
        self.scratch = Zeroizing::new(Vec::new());
    }
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys or data.
        f.debug_struct("Live")
            .field("digests", &self.digests.len())
            .field("macs", &self.macs.len())
            .field("checksums", &self.checksums.len())
            .field("aeads", &self.aeads.len())
            .field("engines", &self.engines.len())
            .finish()
    }
}

/// A fresh digest of MessageDigest.ALG_* (`None`: not one of ours).
pub fn digest(alg: u8) -> Option<Box<dyn DynDigest + Send>> {
    Some(match alg {
        1 => Box::new(Sha1::default()),
        4 => Box::new(Sha256::default()),
        5 => Box::new(Sha384::default()),
        6 => Box::new(Sha512::default()),
        7 => Box::new(Sha224::default()),
        _ => return None,
    })
}

/// CBC-MAC, ISO 9797-1 MAC algorithm 1 (one cipher throughout) or 3
/// (single DES, the last block through DES-EDE of the other keys).
pub struct CbcMac {
    pub engine: Engine,
    /// MAC algorithm 3: decrypt with K2, encrypt with K3 (or K1).
    pub last: Option<(Engine, Engine)>,
    pub iv: Vec<u8>,
    pub cv: Vec<u8>,
    pub pending: Vec<u8>,
    pub pad: Pad,
}

impl CbcMac {
    fn update(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        let bs = self.engine.block_size();
        // Keep the last block: padding may still add to it, and algorithm
        // 3 treats it differently.
        let whole = self.pending.len().saturating_sub(1) / bs * bs;
        if whole > 0 {
            let mut blocks: Vec<u8> = self.pending.drain(..whole).collect();
            self.engine.cbc(true, &mut self.cv, &mut blocks);
        }
    }

    fn finish(&mut self) -> Option<Vec<u8>> {
        let bs = self.engine.block_size();
        let mut data = std::mem::take(&mut self.pending);
        pad(&mut data, bs, self.pad);
        if !data.len().is_multiple_of(bs) || data.is_empty() {
            self.cv.clone_from(&self.iv);
            return None;
        }
        self.engine.cbc(true, &mut self.cv, &mut data);
        let mut out = self.cv.clone();
        if let Some((d, e)) = &self.last {
            d.ecb(false, &mut out);
            e.ecb(true, &mut out);
        }
        self.cv.clone_from(&self.iv);
        Some(out)
    }
}

/// A MAC in progress. One per Signature object at work, held in a map:
/// boxing the larger variants would gain nothing.
#[allow(clippy::large_enum_variant)]
pub enum MacEngine {
    Hmac1(Hmac<Sha1>),
    Hmac256(Hmac<Sha256>),
    Hmac384(Hmac<Sha384>),
    Hmac512(Hmac<Sha512>),
    Cmac128(Cmac<Aes128>),
    Cmac192(Cmac<Aes192>),
    Cmac256(Cmac<Aes256>),
    Cbc(CbcMac),
}

impl MacEngine {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            MacEngine::Hmac1(m) => Mac::update(m, data),
            MacEngine::Hmac256(m) => Mac::update(m, data),
            MacEngine::Hmac384(m) => Mac::update(m, data),
            MacEngine::Hmac512(m) => Mac::update(m, data),
            MacEngine::Cmac128(m) => Mac::update(m, data),
            MacEngine::Cmac192(m) => Mac::update(m, data),
            MacEngine::Cmac256(m) => Mac::update(m, data),
            MacEngine::Cbc(m) => m.update(data),
        }
    }

    /// The whole MAC, the engine reset for the next message; `None` when
    /// the message does not fit the algorithm (NOPAD, not whole blocks).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        Some(match self {
            MacEngine::Hmac1(m) => Mac::finalize_reset(m).into_bytes().to_vec(),
            MacEngine::Hmac256(m) => Mac::finalize_reset(m).into_bytes().to_vec(),
            MacEngine::Hmac384(m) => Mac::finalize_reset(m).into_bytes().to_vec(),
            MacEngine::Hmac512(m) => Mac::finalize_reset(m).into_bytes().to_vec(),
            MacEngine::Cmac128(m) => Mac::finalize_reset(m).into_bytes().to_vec(),
            MacEngine::Cmac192(m) => Mac::finalize_reset(m).into_bytes().to_vec(),
            MacEngine::Cmac256(m) => Mac::finalize_reset(m).into_bytes().to_vec(),
            MacEngine::Cbc(m) => return m.finish(),
        })
    }
}
