//! SCP03 S8 and S16 modes (Amendment D v1.2, "i" bit 01): the one number
//! that separates them is the length of challenges, cryptograms and MACs,
//! 8 bytes in S8 mode and 16 in S16. The KDF's L field follows that length
//! (0040 or 0080), and in S16 mode MACs are the full AES-CMAC instead of its
//! first half. Everything else (key derivation, chaining value, encryption)
//! is the same, so the mode is a length and the checks that go with it.

use super::{kdf, SessionKeys, DERIVE_CARD_CHALLENGE, DERIVE_CARD_CRYPTOGRAM};
use super::{DERIVE_HOST_CRYPTOGRAM, DERIVE_S_ENC, DERIVE_S_MAC, DERIVE_S_RMAC};
use crate::keys::{Key, KeyContext, KeyProvider, StaticKeys};
use crate::ScpError;

/// "i" bit of S16 mode.
pub const S16_BIT: u8 = 0x01;

/// The size mode of an SCP03 session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 8-byte challenges, cryptograms and (truncated) MACs.
    S8,
    /// 16-byte challenges, cryptograms and full MACs.
    S16,
}

impl Mode {
    /// The mode an "i" parameter selects.
    pub fn from_i(i: u8) -> Self {
        if i & S16_BIT != 0 {
            Mode::S16
        } else {
            Mode::S8
        }
    }

    /// Length in bytes of challenges, cryptograms and C-MAC/R-MAC.
    pub fn field_len(self) -> usize {
        match self {
            Mode::S8 => 8,
            Mode::S16 => 16,
        }
    }

    /// Fails unless `value` (named `what`) has this mode's length, so a
    /// challenge of the wrong size is refused before any key is touched.
    pub fn check(self, what: &'static str, value: &[u8]) -> Result<(), ScpError> {
        if value.len() == self.field_len() {
            Ok(())
        } else {
            Err(ScpError::malformed(
                what,
                format!(
                    "{self:?} mode needs {} bytes, got {}",
                    self.field_len(),
                    value.len()
                ),
            ))
        }
    }
}

/// Session keys of a session in `mode`: as [`SessionKeys::derive`], with the
/// KDF context `host challenge || card challenge` of the mode's length
/// (32 bytes in S16 mode).
pub fn session_keys(
    keys: &StaticKeys,
    mode: Mode,
    host_challenge: &[u8],
    card_challenge: &[u8],
) -> Result<SessionKeys, ScpError> {
    mode.check("host challenge", host_challenge)?;
    mode.check("card challenge", card_challenge)?;
    let context = [host_challenge, card_challenge].concat();
    let derive = |base: &Key, constant| -> Result<Key, ScpError> {
        let bytes = zeroize::Zeroizing::new(kdf(base, constant, &context, base.len())?);
        Ok(Key::aes(&bytes)?)
    };
    SessionKeys::from_keys(
        derive(&keys.enc, DERIVE_S_ENC)?,
        derive(&keys.mac, DERIVE_S_MAC)?,
        derive(&keys.mac, DERIVE_S_RMAC)?,
    )
}

fn cryptogram(
    keys: &SessionKeys,
    constant: u8,
    mode: Mode,
    host_challenge: &[u8],
    card_challenge: &[u8],
) -> Result<Vec<u8>, ScpError> {
    mode.check("host challenge", host_challenge)?;
    mode.check("card challenge", card_challenge)?;
    kdf(
        keys.mac(),
        constant,
        &[host_challenge, card_challenge].concat(),
        mode.field_len(),
    )
}

/// The card cryptogram in `mode`: KDF under S-MAC, constant 00, L of the
/// mode's length in bits.
pub fn card_cryptogram(
    keys: &SessionKeys,
    mode: Mode,
    host_challenge: &[u8],
    card_challenge: &[u8],
) -> Result<Vec<u8>, ScpError> {
    cryptogram(
        keys,
        DERIVE_CARD_CRYPTOGRAM,
        mode,
        host_challenge,
        card_challenge,
    )
}

/// The host cryptogram in `mode`: as the card cryptogram with constant 01.
pub fn host_cryptogram(
    keys: &SessionKeys,
    mode: Mode,
    host_challenge: &[u8],
    card_challenge: &[u8],
) -> Result<Vec<u8>, ScpError> {
    cryptogram(
        keys,
        DERIVE_HOST_CRYPTOGRAM,
        mode,
        host_challenge,
        card_challenge,
    )
}

/// The pseudo-random card challenge in `mode`: KDF under the static
/// Key-ENC, constant 02, context `sequence counter || AID`, as long as the
/// mode's challenges.
pub fn pseudo_random_card_challenge(
    static_enc: &Key,
    mode: Mode,
    sequence_counter: &[u8; 3],
    aid: &[u8],
) -> Result<Vec<u8>, ScpError> {
    kdf(
        static_enc,
        DERIVE_CARD_CHALLENGE,
        &[&sequence_counter[..], aid].concat(),
        mode.field_len(),
    )
}

/// Session keys and both cryptograms (card, host) of a session in `mode`.
pub(crate) struct Opening {
    pub(crate) keys: SessionKeys,
    pub(crate) card: Vec<u8>,
    pub(crate) host: Vec<u8>,
}

/// Session keys and cryptograms from `provider`. S8 goes through
/// [`KeyProvider::scp03_session`] so a provider (an HSM) may compute the
/// cryptograms itself; S16 derives the keys through the provider and the
/// cryptograms here.
pub(crate) fn open(
    provider: &dyn KeyProvider,
    key: &KeyContext,
    mode: Mode,
    host_challenge: &[u8],
    card_challenge: &[u8],
) -> Result<Opening, ScpError> {
    if let (Mode::S8, Ok(hc), Ok(cc)) = (
        mode,
        <[u8; 8]>::try_from(host_challenge),
        <[u8; 8]>::try_from(card_challenge),
    ) {
        let c = provider.scp03_session(key, &hc, &cc)?;
        return Ok(Opening {
            keys: c.keys,
            card: c.card.to_vec(),
            host: c.host.to_vec(),
        });
    }
    let keys = provider.scp03_session_keys_in(key, mode, host_challenge, card_challenge)?;
    Ok(Opening {
        card: card_cryptogram(&keys, mode, host_challenge, card_challenge)?,
        host: host_cryptogram(&keys, mode, host_challenge, card_challenge)?,
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn mode_from_i() {
        assert_eq!(Mode::from_i(0x70), Mode::S8);
        assert_eq!(Mode::from_i(0x71), Mode::S16);
        assert_eq!(Mode::S16.field_len(), 16);
    }

    #[test]
    fn wrong_lengths_are_refused() {
        let keys = StaticKeys::single(Key::aes(&[0; 16]).unwrap(), 0x30);
        let err = session_keys(&keys, Mode::S16, &[0; 8], &[0; 16]).unwrap_err();
        assert!(err.to_string().contains("host challenge"), "{err}");
    }

    /// S16 known answers. Source: computed independently of this crate by
    /// Python (pyca/cryptography 48 AES-CMAC, the Amendment D
    /// v1.2 KDF layout written out by hand: 11 zero bytes, constant, 00,
    /// L = 0080 for 16-byte outputs, counter, context), with key
    /// 404142...4F, host challenge 10..1F and card challenge A0..AF.
    mod s16_known_answers {
        use super::*;
        use crate::scp03::{Channel, DataKey};
        use crate::SecurityLevel;
        use gp::apdu::{CommandApdu, ResponseApdu};

        fn hx(b: &[u8]) -> String {
            hex::encode_upper(b)
        }

        fn setup() -> (SessionKeys, Vec<u8>, Vec<u8>) {
            let key = Key::aes(&h("404142434445464748494A4B4C4D4E4F")).unwrap();
            let keys = StaticKeys::single(key, 0x30);
            let hc: Vec<u8> = (0x10..0x20).collect();
            let cc: Vec<u8> = (0xA0..0xB0).collect();
            (session_keys(&keys, Mode::S16, &hc, &cc).unwrap(), hc, cc)
        }

        #[test]
        fn session_keys_and_cryptograms() {
            let (session, hc, cc) = setup();
            assert_eq!(
                hx(session.enc().expose_secret()),
                "06F14DE4FEDFB53E85F95B738442C2EA"
            );
            assert_eq!(
                hx(session.mac().expose_secret()),
                "31D6FEE19A73198336A804E415091FCA"
            );
            assert_eq!(
                hx(session.rmac().expose_secret()),
                "61BC1C445A59384049910AA1ABE10369"
            );
            assert_eq!(
                hx(&card_cryptogram(&session, Mode::S16, &hc, &cc).unwrap()),
                "DFB46C13BE255B2BEFF54807218F5C74"
            );
            assert_eq!(
                hx(&host_cryptogram(&session, Mode::S16, &hc, &cc).unwrap()),
                "89051A5A1CCF22D2ABA1C634A8931585"
            );
        }

        #[test]
        fn full_macs_on_both_sides() {
            let (session, hc, cc) = setup();
            let level = SecurityLevel::from_byte(0x11).unwrap();
            let host_crypto = host_cryptogram(&session, Mode::S16, &hc, &cc).unwrap();
            let dek = || DataKey::Session(Key::aes(&[0; 16]).unwrap());
            let (mut host, ea) = Channel::open_host(
                session.clone(),
                dek(),
                level,
                Mode::S16,
                &host_crypto,
                Default::default(),
            )
            .unwrap();
            assert_eq!(
                hx(&ea.to_bytes()),
                "848211002089051A5A1CCF22D2ABA1C634A89315856042FBA47BA93D57015DEF6D83E61830"
            );
            let (cryptogram, mac) = ea.data().split_at(16);
            let mut card = Channel::open_card(
                session,
                dek(),
                level,
                Mode::S16,
                cryptogram,
                mac,
                &host_crypto,
                0x84,
            )
            .unwrap();

            let plain = CommandApdu::new(0x80, 0xF2, 0x80, 0x02, h("4F00"), Some(256)).unwrap();
            let wire = host.wrap(&plain).unwrap();
            assert_eq!(
                hx(&wire),
                "84F28002124F00DC26F52C2BA58AFB555B6F9714B2C28D00"
            );
            let seen = card
                .unwrap_command(&CommandApdu::parse(&wire).unwrap())
                .unwrap();
            assert_eq!(seen.data(), &h("4F00")[..]);

            let answer = card
                .wrap_response(&ResponseApdu::new(h("E3024F00"), 0x9000))
                .unwrap();
            assert_eq!(hx(&answer), "E3024F00755B3DF205F2BB2869683BCB860232219000");
            let checked = host.unwrap(ResponseApdu::parse(&answer).unwrap()).unwrap();
            assert_eq!(checked.data, h("E3024F00"));
        }

        #[test]
        fn an_eight_byte_mac_is_refused_in_s16_mode() {
            let (session, hc, cc) = setup();
            let level = SecurityLevel::from_byte(0x01).unwrap();
            let host_crypto = host_cryptogram(&session, Mode::S16, &hc, &cc).unwrap();
            let dek = DataKey::Session(Key::aes(&[0; 16]).unwrap());
            let result = Channel::open_card(
                session,
                dek,
                level,
                Mode::S16,
                &host_crypto,
                &[0; 8],
                &host_crypto,
                0x84,
            );
            assert!(result.is_err());
        }
    }
}
