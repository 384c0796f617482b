//! Which algorithms the emulated card has (issue 12 item 5): the card
//! profile lists them by API constant name ([`Algorithms`]), and every
//! getInstance, buildKey and KeyPair constructor asks [`check`] before it
//! makes anything, so a test can emulate a smaller card than the emulator
//! could be: an algorithm the profile leaves out throws
//! CryptoException.NO_SUCH_ALGORITHM exactly as one the emulator lacks.
//!
//! For native code: `support::check(vm, AlgClass::Signature, alg, None)?`
//! before building an object (`Some(bits)` for KeyBuilder and KeyPair,
//! whose entries can name lengths). The list is resolved against the
//! card's API table once, when the JCRE state is built ([`Resolved`]),
//! so the check per call is a short scan of numbers.

use cap_tools::api::{self, ApiVersion};
use serde::{Deserialize, Serialize};

use super::{crypto_exc, reason};
use crate::jcvm::interp::{Exc, Vm};

/// An API class with algorithm constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlgClass {
    /// javacardx.crypto.Cipher ALG_*.
    Cipher,
    /// javacardx.crypto.AEADCipher ALG_* (made by Cipher.getInstance).
    AeadCipher,
    /// javacard.security.Signature ALG_*.
    Signature,
    /// javacard.security.MessageDigest ALG_* (InitializedMessageDigest too).
    MessageDigest,
    /// javacard.security.RandomData ALG_*.
    RandomData,
    /// javacard.security.KeyBuilder TYPE_* with lengths.
    KeyBuilder,
    /// javacard.security.KeyAgreement ALG_*.
    KeyAgreement,
    /// javacard.security.Checksum ALG_*.
    Checksum,
    /// javacard.security.KeyPair ALG_* with lengths.
    KeyPair,
}

impl AlgClass {
    pub const ALL: [AlgClass; 9] = [
        AlgClass::Cipher,
        AlgClass::AeadCipher,
        AlgClass::Signature,
        AlgClass::MessageDigest,
        AlgClass::RandomData,
        AlgClass::KeyBuilder,
        AlgClass::KeyAgreement,
        AlgClass::Checksum,
        AlgClass::KeyPair,
    ];

    /// The API class whose constants name the algorithms.
    pub fn api_class(self) -> &'static str {
        match self {
            AlgClass::Cipher => "javacardx/crypto/Cipher",
            AlgClass::AeadCipher => "javacardx/crypto/AEADCipher",
            AlgClass::Signature => "javacard/security/Signature",
            AlgClass::MessageDigest => "javacard/security/MessageDigest",
            AlgClass::RandomData => "javacard/security/RandomData",
            AlgClass::KeyBuilder => "javacard/security/KeyBuilder",
            AlgClass::KeyAgreement => "javacard/security/KeyAgreement",
            AlgClass::Checksum => "javacard/security/Checksum",
            AlgClass::KeyPair => "javacard/security/KeyPair",
        }
    }

    /// The prefix of its algorithm constants.
    pub fn prefix(self) -> &'static str {
        match self {
            AlgClass::KeyBuilder => "TYPE_",
            _ => "ALG_",
        }
    }
}

/// The algorithms of a card, by API constant name per class. An entry of
/// `key_builder` or `key_pair` is `NAME/bits` for one length or `NAME`
/// for every length the emulator builds (HMAC keys: any whole number of
/// bytes). Missing lists in a profile file are the modern default's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Algorithms {
    pub cipher: Vec<String>,
    pub aead_cipher: Vec<String>,
    pub signature: Vec<String>,
    pub message_digest: Vec<String>,
    pub random_data: Vec<String>,
    pub key_builder: Vec<String>,
    pub key_agreement: Vec<String>,
    pub checksum: Vec<String>,
    pub key_pair: Vec<String>,
}

fn names(s: &[&str]) -> Vec<String> {
    s.iter().map(|n| (*n).to_string()).collect()
}

/// `NAME/bits` for each length.
fn sized(names: &[&str], bits: &[u16]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| bits.iter().map(move |b| format!("{n}/{b}")))
        .collect()
}

const RSA_BITS: [u16; 6] = [512, 1024, 1536, 2048, 3072, 4096];
/// P-256 (secp256r1, also secp256k1 and brainpoolP256r1), P-384, P-521.
const EC_BITS: [u16; 3] = [256, 384, 521];

impl Default for Algorithms {
    fn default() -> Algorithms {
        Algorithms::modern()
    }
}

impl Algorithms {
    /// A modern card's set: everything jct emu implements (the RSA and EC
    /// entries are the asymmetric natives': an entry whose native is
    /// missing still answers NO_SUCH_ALGORITHM, the emulator lacking it).
    pub fn modern() -> Algorithms {
        let des = [
            "TYPE_DES",
            "TYPE_DES_TRANSIENT_RESET",
            "TYPE_DES_TRANSIENT_DESELECT",
        ];
        let aes = [
            "TYPE_AES",
            "TYPE_AES_TRANSIENT_RESET",
            "TYPE_AES_TRANSIENT_DESELECT",
        ];
        let rsa = [
            "TYPE_RSA_PUBLIC",
            "TYPE_RSA_PRIVATE",
            "TYPE_RSA_CRT_PRIVATE",
            "TYPE_RSA_PRIVATE_TRANSIENT_RESET",
            "TYPE_RSA_PRIVATE_TRANSIENT_DESELECT",
            "TYPE_RSA_CRT_PRIVATE_TRANSIENT_RESET",
            "TYPE_RSA_CRT_PRIVATE_TRANSIENT_DESELECT",
        ];
        let ec = [
            "TYPE_EC_FP_PUBLIC",
            "TYPE_EC_FP_PRIVATE",
            "TYPE_EC_FP_PRIVATE_TRANSIENT_RESET",
            "TYPE_EC_FP_PRIVATE_TRANSIENT_DESELECT",
        ];
        let mut key_builder = sized(&des, &[64, 128, 192]);
        key_builder.extend(sized(&aes, &[128, 192, 256]));
        key_builder.extend(names(&[
            "TYPE_HMAC",
            "TYPE_HMAC_TRANSIENT_RESET",
            "TYPE_HMAC_TRANSIENT_DESELECT",
        ]));
        key_builder.extend(sized(&rsa, &RSA_BITS));
        key_builder.extend(sized(&ec, &EC_BITS));
        let mut key_pair = sized(&["ALG_RSA", "ALG_RSA_CRT"], &RSA_BITS);
        key_pair.extend(sized(&["ALG_EC_FP"], &EC_BITS));
        Algorithms {
            cipher: names(&[
                "ALG_DES_CBC_NOPAD",
                "ALG_DES_CBC_ISO9797_M1",
                "ALG_DES_CBC_ISO9797_M2",
                "ALG_DES_CBC_PKCS5",
                "ALG_DES_ECB_NOPAD",
                "ALG_DES_ECB_ISO9797_M1",
                "ALG_DES_ECB_ISO9797_M2",
                "ALG_DES_ECB_PKCS5",
                "ALG_AES_BLOCK_128_CBC_NOPAD",
                "ALG_AES_BLOCK_128_ECB_NOPAD",
                "ALG_AES_CBC_ISO9797_M1",
                "ALG_AES_CBC_ISO9797_M2",
                "ALG_AES_CBC_PKCS5",
                "ALG_AES_ECB_ISO9797_M1",
                "ALG_AES_ECB_ISO9797_M2",
                "ALG_AES_ECB_PKCS5",
                "ALG_AES_CTR",
                "ALG_RSA_PKCS1",
                "ALG_RSA_NOPAD",
                "ALG_RSA_PKCS1_OAEP",
            ]),
            aead_cipher: names(&["ALG_AES_GCM", "ALG_AES_CCM"]),
            signature: names(&[
                "ALG_DES_MAC4_NOPAD",
                "ALG_DES_MAC8_NOPAD",
                "ALG_DES_MAC4_ISO9797_M1",
                "ALG_DES_MAC8_ISO9797_M1",
                "ALG_DES_MAC4_ISO9797_M2",
                "ALG_DES_MAC8_ISO9797_M2",
                "ALG_DES_MAC4_PKCS5",
                "ALG_DES_MAC8_PKCS5",
                "ALG_DES_MAC4_ISO9797_1_M2_ALG3",
                "ALG_DES_MAC8_ISO9797_1_M2_ALG3",
                "ALG_DES_MAC4_ISO9797_1_M1_ALG3",
                "ALG_DES_MAC8_ISO9797_1_M1_ALG3",
                "ALG_AES_MAC_128_NOPAD",
                "ALG_AES_CMAC_128",
                "ALG_HMAC_SHA1",
                "ALG_HMAC_SHA_256",
                "ALG_HMAC_SHA_384",
                "ALG_HMAC_SHA_512",
                "ALG_RSA_SHA_PKCS1",
                "ALG_RSA_SHA_224_PKCS1",
                "ALG_RSA_SHA_256_PKCS1",
                "ALG_RSA_SHA_384_PKCS1",
                "ALG_RSA_SHA_512_PKCS1",
                "ALG_RSA_SHA_PKCS1_PSS",
                "ALG_RSA_SHA_224_PKCS1_PSS",
                "ALG_RSA_SHA_256_PKCS1_PSS",
                "ALG_RSA_SHA_384_PKCS1_PSS",
                "ALG_RSA_SHA_512_PKCS1_PSS",
                "ALG_ECDSA_SHA",
                "ALG_ECDSA_SHA_224",
                "ALG_ECDSA_SHA_256",
                "ALG_ECDSA_SHA_384",
                "ALG_ECDSA_SHA_512",
            ]),
            message_digest: names(&[
                "ALG_SHA",
                "ALG_SHA_224",
                "ALG_SHA_256",
                "ALG_SHA_384",
                "ALG_SHA_512",
            ]),
            random_data: names(&[
                "ALG_PSEUDO_RANDOM",
                "ALG_SECURE_RANDOM",
                "ALG_TRNG",
                "ALG_PRESEEDED_DRBG",
                "ALG_FAST",
                "ALG_KEYGENERATION",
            ]),
            key_builder,
            key_agreement: names(&[
                "ALG_EC_SVDP_DH",
                "ALG_EC_SVDP_DHC",
                "ALG_EC_SVDP_DH_PLAIN",
                "ALG_EC_SVDP_DHC_PLAIN",
                "ALG_EC_SVDP_DH_PLAIN_XY",
            ]),
            checksum: names(&["ALG_ISO3309_CRC16", "ALG_ISO3309_CRC32"]),
            key_pair,
        }
    }

    /// The entries of a class.
    pub fn list(&self, c: AlgClass) -> &[String] {
        match c {
            AlgClass::Cipher => &self.cipher,
            AlgClass::AeadCipher => &self.aead_cipher,
            AlgClass::Signature => &self.signature,
            AlgClass::MessageDigest => &self.message_digest,
            AlgClass::RandomData => &self.random_data,
            AlgClass::KeyBuilder => &self.key_builder,
            AlgClass::KeyAgreement => &self.key_agreement,
            AlgClass::Checksum => &self.checksum,
            AlgClass::KeyPair => &self.key_pair,
        }
    }

    /// The entries of a class, to change.
    pub fn list_mut(&mut self, c: AlgClass) -> &mut Vec<String> {
        match c {
            AlgClass::Cipher => &mut self.cipher,
            AlgClass::AeadCipher => &mut self.aead_cipher,
            AlgClass::Signature => &mut self.signature,
            AlgClass::MessageDigest => &mut self.message_digest,
            AlgClass::RandomData => &mut self.random_data,
            AlgClass::KeyBuilder => &mut self.key_builder,
            AlgClass::KeyAgreement => &mut self.key_agreement,
            AlgClass::Checksum => &mut self.checksum,
            AlgClass::KeyPair => &mut self.key_pair,
        }
    }

    /// The same set without one entry (`NAME` or `NAME/bits`; `NAME`
    /// also drops every `NAME/bits`), for tests of smaller cards.
    pub fn without(mut self, c: AlgClass, entry: &str) -> Algorithms {
        let prefix = format!("{entry}/");
        self.list_mut(c)
            .retain(|e| e != entry && !(entry.find('/').is_none() && e.starts_with(&prefix)));
        self
    }

    /// Resolves the names against an API version: an entry that names no
    /// constant of the class is an error (a typo would otherwise silently
    /// remove an algorithm). Constants the version does not have (3.0.5
    /// names on a 2.2.2 card) are left out.
    pub fn resolve(&self, api: ApiVersion) -> Result<Resolved, String> {
        let mut entries = Vec::new();
        for c in AlgClass::ALL {
            for e in self.list(c) {
                let (name, bits) = match e.split_once('/') {
                    Some((n, b)) => {
                        let bits: u16 = b.parse().map_err(|_| {
                            format!("{e}: the length after / must be a number of bits")
                        })?;
                        (n, Some(bits))
                    }
                    None => (e.as_str(), None),
                };
                if !name.starts_with(c.prefix()) || !known(c, name) {
                    let class = c.api_class().rsplit('/').next().unwrap_or("");
                    return Err(format!(
                        "{e} is not a {class}.{}* constant of the Java Card API",
                        c.prefix()
                    ));
                }
                if let Some(v) = constant(api, c, name) {
                    entries.push((c, v, bits));
                }
            }
        }
        Ok(Resolved { entries })
    }
}

/// Whether any API version names the constant.
fn known(c: AlgClass, name: &str) -> bool {
    ApiVersion::ALL
        .iter()
        .any(|v| constant(*v, c, name).is_some())
}

/// The value of `name` in the class of an API version.
fn constant(api: ApiVersion, c: AlgClass, name: &str) -> Option<i8> {
    api::table(api)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .filter(|k| k.name == c.api_class())
        .flat_map(|k| k.fields.iter())
        .find(|f| f.name == name)
        .and_then(|f| f.value)
        .map(|v| v as i8)
}

/// A profile's algorithms as numbers: (class, constant, length).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    entries: Vec<(AlgClass, i8, Option<u16>)>,
}

impl Resolved {
    /// Whether the card has algorithm `alg` of class `c` (of `bits`
    /// bits, for the classes whose entries name lengths).
    pub fn supports(&self, c: AlgClass, alg: i8, bits: Option<u16>) -> bool {
        self.entries
            .iter()
            .any(|(k, v, b)| *k == c && *v == alg && (b.is_none() || *b == bits))
    }
}

/// Whether the emulator's natives implement the algorithm at all,
/// whatever a profile says (a card has what both allow). The asymmetric
/// natives (RSA, EC: Cipher, Signature, KeyBuilder, KeyPair, KeyAgreement)
/// answer for their algorithms here as they are added.
pub fn implemented(c: AlgClass, alg: i8, bits: Option<u16>) -> bool {
    let a = alg as u8;
    match c {
        AlgClass::Cipher => super::cipher::implemented(a) || super::asym_cipher::handles(a),
        AlgClass::AeadCipher => super::aead::is_aead(a),
        AlgClass::Signature => super::signature::implemented(a) || super::asym_sig::handles(a),
        AlgClass::MessageDigest => super::live::digest(a).is_some(),
        // Every RandomData algorithm draws the card's one generator.
        AlgClass::RandomData => (1..=6).contains(&alg),
        AlgClass::KeyBuilder => {
            bits.is_some_and(|b| super::keys::implemented(a, b) || super::pubkey::implemented(a, b))
        }
        AlgClass::Checksum => alg == 1 || alg == 2,
        AlgClass::KeyAgreement => super::agreement::implemented(a),
        AlgClass::KeyPair => bits.is_some_and(|b| super::keypair::implemented(alg, b)),
    }
}

/// Whether the running card's profile has the algorithm.
pub fn supports(vm: &Vm<'_>, c: AlgClass, alg: i8, bits: Option<u16>) -> bool {
    vm.env.algorithms.supports(c, alg, bits)
}

/// NO_SUCH_ALGORITHM unless the card's profile has the algorithm.
pub fn check(vm: &mut Vm<'_>, c: AlgClass, alg: i8, bits: Option<u16>) -> Result<(), Exc> {
    if supports(vm, c, alg, bits) {
        Ok(())
    } else {
        Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modern_set_resolves_and_a_smaller_card_lacks_what_it_drops() {
        let all = Algorithms::modern().resolve(ApiVersion::V3_0_5).unwrap();
        assert!(all.supports(AlgClass::Cipher, 24, None));
        assert!(all.supports(AlgClass::AeadCipher, -13, None));
        assert!(all.supports(AlgClass::KeyBuilder, 15, Some(256)));
        assert!(!all.supports(AlgClass::KeyBuilder, 15, Some(64)));
        assert!(all.supports(AlgClass::KeyBuilder, 21, Some(40)));
        let small = Algorithms::modern()
            .without(AlgClass::Cipher, "ALG_AES_CBC_PKCS5")
            .without(AlgClass::KeyBuilder, "TYPE_AES/192")
            .resolve(ApiVersion::V3_0_5)
            .unwrap();
        assert!(!small.supports(AlgClass::Cipher, 24, None));
        assert!(small.supports(AlgClass::Cipher, 23, None));
        assert!(!small.supports(AlgClass::KeyBuilder, 15, Some(192)));
        assert!(small.supports(AlgClass::KeyBuilder, 15, Some(128)));
        // 2.2.2 has no AEADCipher: left out, not an error.
        let old = Algorithms::modern().resolve(ApiVersion::V2_2_2).unwrap();
        assert!(!old.supports(AlgClass::AeadCipher, -13, None));
    }

    #[test]
    fn a_name_that_is_no_constant_is_refused() {
        let mut a = Algorithms::modern();
        a.cipher.push("ALG_AES_CBC_PKCS7".into());
        assert!(a
            .resolve(ApiVersion::V3_0_5)
            .unwrap_err()
            .contains("ALG_AES_CBC_PKCS7"));
        let mut a = Algorithms::modern();
        a.key_builder.push("TYPE_AES/big".into());
        assert!(a.resolve(ApiVersion::V3_0_5).is_err());
    }
}
