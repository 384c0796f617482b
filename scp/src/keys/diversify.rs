//! Key diversification: deriving a card's static keys from a master key and
//! the card's key diversification data (KDD), the first 10 bytes of the
//! INITIALIZE UPDATE response.
//!
//! Issuers personalise cards with per-card keys derived this way, so the
//! host must repeat the derivation before it can check the card cryptogram.

use super::{Key, KeyError, KeyType, StaticKeys};
use crate::crypto::{kdf, tdes};

/// How a card's keys derive from the master keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Diversification {
    /// The card holds the master keys themselves.
    #[default]
    None,
    /// EMV CPS 1.1: 3DES-ECB of `KDD[4..10] || F0 || t || KDD[4..10] || 0F || t`.
    EmvCps11,
    /// VISA2: 3DES-ECB of `KDD[0..2] || KDD[4..8] || F0 || t || KDD[0..2] || KDD[4..8] || 0F || t`.
    Visa2,
    /// KDF3: AES-CMAC counter-mode derivation (the SCP03 KDF family) over the KDD.
    Kdf3,
}

/// Key type byte `t` of the derivation data, in the order ENC, MAC, DEK.
pub const KEY_TYPES: [u8; 3] = [0x01, 0x02, 0x03];

/// The input of one card key's derivation from its master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DerivationInput {
    /// No diversification: the card key is the master key.
    Master,
    /// The card key is the 3DES-ECB encryption of this block under the
    /// master (EMV CPS 1.1, VISA2).
    Des3Ecb([u8; 16]),
    /// The card key is the concatenated AES-CMACs of these messages under
    /// the master, truncated to the master's length (KDF3).
    AesCmac(Vec<Vec<u8>>),
}

impl Diversification {
    /// Short name, as used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Diversification::None => "none",
            Diversification::EmvCps11 => "emv",
            Diversification::Visa2 => "visa2",
            Diversification::Kdf3 => "kdf3",
        }
    }

    /// What the master key is applied to for one card key, `t` being the
    /// key type byte (01 ENC, 02 MAC, 03 DEK) and `master_len` the master
    /// key's length. The software derivation below and an HSM that runs it
    /// with the master inside share this one layout.
    pub fn derivation_input(
        self,
        t: u8,
        kdd: &[u8; 10],
        master_len: usize,
    ) -> Result<DerivationInput, KeyError> {
        Ok(match self {
            Diversification::None => DerivationInput::Master,
            Diversification::EmvCps11 => {
                let mut block = [0u8; 16];
                block[..6].copy_from_slice(&kdd[4..10]);
                block[6..8].copy_from_slice(&[0xF0, t]);
                block[8..14].copy_from_slice(&kdd[4..10]);
                block[14..16].copy_from_slice(&[0x0F, t]);
                DerivationInput::Des3Ecb(block)
            }
            Diversification::Visa2 => {
                let mut block = [0u8; 16];
                block[..2].copy_from_slice(&kdd[0..2]);
                block[2..6].copy_from_slice(&kdd[4..8]);
                block[6..8].copy_from_slice(&[0xF0, t]);
                block[8..10].copy_from_slice(&kdd[0..2]);
                block[10..14].copy_from_slice(&kdd[4..8]);
                block[14..16].copy_from_slice(&[0x0F, t]);
                DerivationInput::Des3Ecb(block)
            }
            Diversification::Kdf3 => {
                DerivationInput::AesCmac(kdf::kdf3_derivation_data(t, kdd, master_len)?)
            }
        })
    }

    pub(crate) fn apply(self, master: &StaticKeys, kdd: &[u8; 10]) -> Result<StaticKeys, KeyError> {
        let derive = |master: &Key, t: u8| -> Result<Key, KeyError> {
            match self.derivation_input(t, kdd, master.len())? {
                DerivationInput::Master => Ok(master.clone()),
                DerivationInput::Des3Ecb(block) => self.des3(master, block),
                DerivationInput::AesCmac(_) => {
                    self.require(master, KeyType::Aes)?;
                    let bytes = zeroize::Zeroizing::new(kdf::derive_kdf3(
                        master.expose_secret(),
                        t,
                        kdd,
                        master.len(),
                    )?);
                    Key::aes(&bytes)
                }
            }
        };
        Ok(StaticKeys {
            enc: derive(&master.enc, KEY_TYPES[0])?,
            mac: derive(&master.mac, KEY_TYPES[1])?,
            dek: derive(&master.dek, KEY_TYPES[2])?,
            version: master.version,
        })
    }

    fn require(self, master: &Key, needs: KeyType) -> Result<(), KeyError> {
        if master.kind() == needs {
            Ok(())
        } else {
            Err(KeyError::DiversificationKeyType {
                method: self.name(),
                needs,
                got: master.kind(),
            })
        }
    }

    fn des3(self, master: &Key, mut block: [u8; 16]) -> Result<Key, KeyError> {
        self.require(master, KeyType::Des3)?;
        let result = tdes::ecb_encrypt(master.expose_secret(), &mut block).map_err(KeyError::from);
        let key = result.and_then(|()| Key::des3(&block));
        zeroize::Zeroize::zeroize(&mut block);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "404142434445464748494A4B4C4D4E4F";
    const KDD: [u8; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    fn master(kind: KeyType) -> StaticKeys {
        StaticKeys::single(Key::new(kind, &hex::decode(MASTER).unwrap()).unwrap(), 1)
    }

    fn check(keys: &StaticKeys, expect: [(&str, &str); 3]) {
        for (key, (bytes, kcv)) in [&keys.enc, &keys.mac, &keys.dek].into_iter().zip(expect) {
            if !bytes.is_empty() {
                assert_eq!(hex::encode_upper(key.expose_secret()), bytes);
            }
            assert_eq!(hex::encode_upper(key.kcv()), kcv);
        }
    }

    #[test]
    fn emv_cps11() {
        let keys = master(KeyType::Des3)
            .diversify(Diversification::EmvCps11, &KDD)
            .unwrap();
        check(
            &keys,
            [
                ("0EF59FCBF8019B62E62AF6EA20B8BF25", "C33013"),
                ("3E383EB6F2762B88155F76BDFED05A02", "6F4CA6"),
                ("64021E43C0C7D264A1C7C6D01E1C8761", "BB8179"),
            ],
        );
    }

    #[test]
    fn visa2() {
        let keys = master(KeyType::Des3)
            .diversify(Diversification::Visa2, &KDD)
            .unwrap();
        check(
            &keys,
            [
                ("8510FC973208218CA86888BCEC203635", "2BE598"),
                ("1068B5FB6F06C78C7A4DFC343B21C78F", "58DA38"),
                ("2DAEE809C71405FF259C3BE695A1F66E", "3C328E"),
            ],
        );
    }

    #[test]
    fn kdf3() {
        let keys = master(KeyType::Aes)
            .diversify(Diversification::Kdf3, &KDD)
            .unwrap();
        check(&keys, [("", "E79C05"), ("", "D1BD77"), ("", "3FDE8C")]);
        assert_eq!(keys.version, 1);
    }

    #[test]
    fn kdf3_keeps_the_master_key_size() {
        for len in [24, 32] {
            let m = StaticKeys::single(Key::aes(&vec![0x42; len]).unwrap(), 1);
            let keys = m.diversify(Diversification::Kdf3, &KDD).unwrap();
            assert_eq!(keys.enc.len(), len);
            assert_ne!(keys.enc, keys.mac);
        }
    }

    #[test]
    fn method_and_key_type_must_match() {
        assert!(master(KeyType::Aes)
            .diversify(Diversification::EmvCps11, &KDD)
            .is_err());
        assert!(master(KeyType::Aes)
            .diversify(Diversification::Visa2, &KDD)
            .is_err());
        assert!(master(KeyType::Des3)
            .diversify(Diversification::Kdf3, &KDD)
            .is_err());
        let same = master(KeyType::Aes)
            .diversify(Diversification::None, &KDD)
            .unwrap();
        assert_eq!(same, master(KeyType::Aes));
    }
}
