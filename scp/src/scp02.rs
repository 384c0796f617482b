//! SCP02 (GlobalPlatform Card Specification 2.3.1, Appendix E): 3DES
//! session keys from a sequence counter, full-3DES-MAC cryptograms, retail
//! MAC C-MAC/R-MAC chains, 3DES-CBC command encryption.
//!
//! Implementation options ("i") honoured: one or three base keys (01),
//! C-MAC on the unmodified or modified APDU (02), explicit (04 set: INITIALIZE
//! UPDATE and EXTERNAL AUTHENTICATE) or implicit initiation (04 clear: the
//! session opens with the first C-MACed command, see [`crate::implicit`]),
//! ICV = MAC over the AID for implicit sessions (08), ICV encryption of the
//! chained C-MAC (10), R-MAC (20), and the well-known pseudo-random card
//! challenge (40): the common "i" = 15 and 55 (explicit), 0A and 1A
//! (implicit).

use zeroize::Zeroize;

use crate::channel::SecureMessaging;
use crate::crypto::pad::{pad80, unpad80};
use crate::crypto::tdes;
use crate::keys::{Key, KeyType, StaticKeys};
use gp::apdu::{lc_field, CommandApdu, ResponseApdu};

use crate::hello::INS_EXTERNAL_AUTHENTICATE;
use crate::sm::{self, ct_eq, split_mac, MAC_LEN};
use crate::{ScpError, SecurityLevel};

/// Derivation constant of the C-MAC session key.
pub const DERIVE_C_MAC: [u8; 2] = [0x01, 0x01];
/// Derivation constant of the R-MAC session key.
pub const DERIVE_R_MAC: [u8; 2] = [0x01, 0x02];
/// Derivation constant of the DEK session key.
pub const DERIVE_DEK: [u8; 2] = [0x01, 0x81];
/// Derivation constant of the S-ENC session key.
pub const DERIVE_S_ENC: [u8; 2] = [0x01, 0x82];

const ZERO_ICV: [u8; 8] = [0; 8];

/// The four SCP02 session keys of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKeys {
    enc: Key,
    c_mac: Key,
    r_mac: Key,
    dek: Key,
}

impl SessionKeys {
    /// Derives the session keys: each is the 3DES-CBC encryption (zero ICV)
    /// of `constant || sequence counter || 12 x '00'` under its base key.
    /// With one base key ("i" bit 01 clear) Key-ENC serves for all four.
    pub fn derive(keys: &StaticKeys, i: u8, sequence_counter: [u8; 2]) -> Result<Self, ScpError> {
        if keys.kind() != KeyType::Des3 {
            return Err(ScpError::KeyType {
                scp: 0x02,
                needs: KeyType::Des3,
                got: keys.kind(),
            });
        }
        let (enc, mac, dek) = if i & 0x01 != 0 {
            (&keys.enc, &keys.mac, &keys.dek)
        } else {
            (&keys.enc, &keys.enc, &keys.enc)
        };
        Ok(SessionKeys {
            enc: derive_key(enc, DERIVE_S_ENC, sequence_counter)?,
            c_mac: derive_key(mac, DERIVE_C_MAC, sequence_counter)?,
            r_mac: derive_key(mac, DERIVE_R_MAC, sequence_counter)?,
            dek: derive_key(dek, DERIVE_DEK, sequence_counter)?,
        })
    }

    /// Session keys derived elsewhere (by an HSM holding the static keys):
    /// S-ENC, C-MAC, R-MAC and DEK, each a 3DES key.
    pub fn from_keys(enc: Key, c_mac: Key, r_mac: Key, dek: Key) -> Result<Self, ScpError> {
        for key in [&enc, &c_mac, &r_mac, &dek] {
            if key.kind() != KeyType::Des3 {
                return Err(ScpError::KeyType {
                    scp: 0x02,
                    needs: KeyType::Des3,
                    got: key.kind(),
                });
            }
        }
        Ok(SessionKeys {
            enc,
            c_mac,
            r_mac,
            dek,
        })
    }

    /// The block each session key is the 3DES-CBC encryption (zero ICV) of
    /// under its base key: `constant || sequence counter || 12 x '00'`.
    pub fn derivation_block(constant: [u8; 2], sequence_counter: [u8; 2]) -> [u8; 16] {
        let mut block = [0u8; 16];
        block[..2].copy_from_slice(&constant);
        block[2..4].copy_from_slice(&sequence_counter);
        block
    }

    /// S-ENC: cryptograms and command encryption.
    pub fn enc(&self) -> &Key {
        &self.enc
    }
    /// C-MAC session key.
    pub fn c_mac(&self) -> &Key {
        &self.c_mac
    }
    /// R-MAC session key.
    pub fn r_mac(&self) -> &Key {
        &self.r_mac
    }
    /// DEK session key: protects key material (PUT KEY).
    pub fn dek(&self) -> &Key {
        &self.dek
    }
}

fn derive_key(base: &Key, constant: [u8; 2], counter: [u8; 2]) -> Result<Key, ScpError> {
    let mut block = SessionKeys::derivation_block(constant, counter);
    let key = tdes::cbc_encrypt(base.expose_secret(), &ZERO_ICV, &mut block)
        .map_err(ScpError::from)
        .and_then(|()| Ok(Key::des3(&block)?));
    block.zeroize();
    key
}

/// The card cryptogram: full 3DES MAC under S-ENC of
/// `host challenge || sequence counter || card challenge`.
pub fn card_cryptogram(
    keys: &SessionKeys,
    host_challenge: &[u8; 8],
    sequence_counter: &[u8; 2],
    card_challenge: &[u8; 6],
) -> Result<[u8; 8], ScpError> {
    let data = [&host_challenge[..], sequence_counter, card_challenge].concat();
    Ok(tdes::full_mac(keys.enc.expose_secret(), &ZERO_ICV, &data)?)
}

/// The host cryptogram: full 3DES MAC under S-ENC of
/// `sequence counter || card challenge || host challenge`.
pub fn host_cryptogram(
    keys: &SessionKeys,
    host_challenge: &[u8; 8],
    sequence_counter: &[u8; 2],
    card_challenge: &[u8; 6],
) -> Result<[u8; 8], ScpError> {
    let data = [&sequence_counter[..], card_challenge, host_challenge].concat();
    Ok(tdes::full_mac(keys.enc.expose_secret(), &ZERO_ICV, &data)?)
}

/// The well-known pseudo-random card challenge ("i" bit 40): the leftmost
/// six bytes of the retail MAC (C-MAC session key, zero ICV) of the AID of
/// the application opening the channel. Since the C-MAC key derives from
/// the sequence counter, the challenge changes with every session.
pub fn pseudo_random_card_challenge(keys: &SessionKeys, aid: &[u8]) -> Result<[u8; 6], ScpError> {
    let mac = tdes::retail_mac(keys.c_mac.expose_secret(), &ZERO_ICV, aid)?;
    let mut out = [0u8; 6];
    out.copy_from_slice(&mac[..6]);
    Ok(out)
}

/// The ICV of an implicitly initiated session's first C-MAC when "i" has
/// bit 08: the retail MAC (C-MAC session key, zero ICV, ISO 9797-1 padding
/// method 2) of the AID of the application selected when the session
/// opens. Without bit 08 that ICV is zero.
pub fn aid_icv(keys: &SessionKeys, aid: &[u8]) -> Result<[u8; 8], ScpError> {
    Ok(tdes::retail_mac(
        keys.c_mac.expose_secret(),
        &ZERO_ICV,
        aid,
    )?)
}

/// The chaining state of an authenticated SCP02 session; the same on
/// both sides, which use opposite halves of it.
pub struct Channel {
    keys: SessionKeys,
    i: u8,
    level: SecurityLevel,
    /// Last C-MAC: the next command's ICV (encrypted first if "i" says so).
    c_mac: [u8; 8],
    /// `c_mac` is an implicit session's starting ICV (zero or the AID's
    /// MAC), used as it is: ICV encryption (bit 10) applies to chained
    /// C-MACs, as the zero ICV of an explicit EXTERNAL AUTHENTICATE is
    /// not encrypted either.
    seed: bool,
    /// Last R-MAC: the next response's ICV.
    r_mac: [u8; 8],
    /// The R-MAC's command part for the command awaiting its response.
    pending: Option<Vec<u8>>,
}

/// The bytes EXTERNAL AUTHENTICATE's C-MAC covers: its header, with the
/// secure messaging CLA (`cla`: 84 with the logical channel in it, as
/// sent) and Lc counting the MAC, and the host cryptogram.
fn external_authenticate_mac_input(
    cla: u8,
    level: SecurityLevel,
    host_cryptogram: &[u8; 8],
) -> Vec<u8> {
    let mut input = vec![cla, INS_EXTERNAL_AUTHENTICATE, level.byte(), 0x00, 0x10];
    input.extend_from_slice(host_cryptogram);
    input
}

impl Channel {
    /// Host side: the EXTERNAL AUTHENTICATE command (C-MAC with zero ICV)
    /// on logical channel `logical_channel`, and the channel it opens.
    pub(crate) fn open_host(
        keys: SessionKeys,
        i: u8,
        level: SecurityLevel,
        host_cryptogram: &[u8; 8],
        logical_channel: gp::apdu::LogicalChannel,
    ) -> Result<(Self, CommandApdu), ScpError> {
        let command = gp::commands::external_authenticate(level.byte(), host_cryptogram, &[0; 8])
            .on_channel(logical_channel);
        let input = external_authenticate_mac_input(command.cla(), level, host_cryptogram);
        let mac = tdes::retail_mac(keys.c_mac.expose_secret(), &ZERO_ICV, &input)?;
        let command = gp::commands::external_authenticate(level.byte(), host_cryptogram, &mac)
            .on_channel(logical_channel);
        Ok((Self::new(keys, i, level, mac), command))
    }

    /// Card side: checks EXTERNAL AUTHENTICATE's host cryptogram and C-MAC;
    /// `cla` is the command's as received (its logical channel is MACed).
    pub(crate) fn open_card(
        keys: SessionKeys,
        i: u8,
        level: SecurityLevel,
        host_cryptogram: &[u8; 8],
        mac: &[u8; 8],
        expected_host_cryptogram: &[u8; 8],
        cla: u8,
    ) -> Result<Self, ScpError> {
        let input = external_authenticate_mac_input(cla, level, host_cryptogram);
        let expected_mac = tdes::retail_mac(keys.c_mac.expose_secret(), &ZERO_ICV, &input)?;
        if !ct_eq(host_cryptogram, expected_host_cryptogram) {
            return Err(ScpError::HostCryptogram);
        }
        if !ct_eq(mac, &expected_mac) {
            return Err(ScpError::mac("C-MAC", "EXTERNAL AUTHENTICATE"));
        }
        Ok(Self::new(keys, i, level, expected_mac))
    }

    /// A channel from its session keys and the C-MAC of EXTERNAL
    /// AUTHENTICATE, which seeds both MAC chains.
    pub fn new(keys: SessionKeys, i: u8, level: SecurityLevel, first_mac: [u8; 8]) -> Self {
        // The EXTERNAL AUTHENTICATE C-MAC seeds both chains.
        Channel {
            keys,
            i,
            level,
            c_mac: first_mac,
            r_mac: first_mac,
            pending: None,
            seed: false,
        }
    }

    /// An implicitly initiated session (GP 2.3.1 E.5.2, "i" bit 04 clear):
    /// no handshake, C-MAC only, the first C-MAC chained on zero or (bit 08)
    /// on [`aid_icv`] of `aid`.
    pub fn implicit(keys: SessionKeys, i: u8, aid: &[u8]) -> Result<Self, ScpError> {
        let seed = if i & 0x08 != 0 {
            aid_icv(&keys, aid)?
        } else {
            ZERO_ICV
        };
        let mut channel = Self::new(keys, i, SecurityLevel::C_MAC, seed);
        channel.seed = true;
        Ok(channel)
    }

    /// The ICV of the next C-MAC: the previous C-MAC, single-DES encrypted
    /// under the left half of the C-MAC key when "i" asks for ICV encryption.
    fn icv(&self) -> Result<[u8; 8], ScpError> {
        let mut icv = self.c_mac;
        if self.i & 0x10 != 0 && !self.seed {
            tdes::des_encrypt_block(self.keys.c_mac.expose_secret(), &mut icv)?;
        }
        Ok(icv)
    }

    /// What the C-MAC covers. On the modified APDU ("i" bit 02 clear): the
    /// header with the secure messaging CLA and an Lc counting the MAC; on
    /// the unmodified APDU: the header and Lc as without secure messaging.
    /// Either way the plaintext data, since SCP02 MACs before encrypting.
    fn command_mac_input(&self, header: [u8; 4], plain: &[u8], extended: bool) -> Vec<u8> {
        let [cla, ins, p1, p2] = header;
        let mut input = Vec::with_capacity(plain.len() + 16);
        if self.i & 0x02 == 0 {
            input.extend_from_slice(&[sm::secure_cla(cla), ins, p1, p2]);
            input.extend_from_slice(&lc_field(plain.len() + MAC_LEN, extended));
        } else {
            input.extend_from_slice(&[cla, ins, p1, p2]);
            input.extend_from_slice(&lc_field(plain.len(), extended));
        }
        input.extend_from_slice(plain);
        input
    }

    /// The command part of the R-MAC: plain header, Lc and plaintext data.
    fn r_mac_command_part(header: [u8; 4], plain: &[u8], extended: bool) -> Vec<u8> {
        let mut part = header.to_vec();
        match u8::try_from(plain.len()) {
            Ok(lc) if !extended => part.push(lc),
            _ => {
                part.push(0);
                part.extend_from_slice(
                    &u16::try_from(plain.len()).unwrap_or(u16::MAX).to_be_bytes(),
                );
            }
        }
        part.extend_from_slice(plain);
        part
    }

    /// R-MAC: retail MAC under the R-MAC key, chained on the previous R-MAC,
    /// over the command part, Li, response data and status word.
    fn r_mac_of(&self, command: &[u8], data: &[u8], sw: u16) -> Result<[u8; 8], ScpError> {
        let li = u8::try_from(data.len()).map_err(|_| {
            ScpError::malformed("response", "SCP02 R-MAC covers at most 255 data bytes")
        })?;
        let mut input = command.to_vec();
        input.push(li);
        input.extend_from_slice(data);
        input.extend_from_slice(&sw.to_be_bytes());
        Ok(tdes::retail_mac(
            self.keys.r_mac.expose_secret(),
            &self.r_mac,
            &input,
        )?)
    }

    /// Host: secures a command for the session's level.
    pub(crate) fn wrap(&mut self, command: &CommandApdu) -> Result<Vec<u8>, ScpError> {
        if !self.level.c_mac() {
            return Ok(command.to_bytes());
        }
        let plain = command.data();
        let encrypt = self.level.c_enc() && !plain.is_empty();
        let mut body = if encrypt {
            let mut padded = pad80(plain, tdes::BLOCK);
            tdes::cbc_encrypt(self.keys.enc.expose_secret(), &ZERO_ICV, &mut padded)?;
            padded
        } else {
            plain.to_vec()
        };
        let extended = command.is_extended() || body.len() + MAC_LEN > 255;
        let header = command.header();
        let input = self.command_mac_input(header, plain, extended);
        let mac = tdes::retail_mac(self.keys.c_mac.expose_secret(), &self.icv()?, &input)?;
        body.extend_from_slice(&mac);
        let [cla, ins, p1, p2] = header;
        let wrapped = CommandApdu::new(sm::secure_cla(cla), ins, p1, p2, body, command.ne())?
            .with_extended(extended);
        self.c_mac = mac;
        self.seed = false;
        self.pending = self
            .level
            .r_mac()
            .then(|| Self::r_mac_command_part(header, plain, extended));
        Ok(wrapped.to_bytes())
    }

    /// Host: checks and strips the R-MAC of the response to the last command.
    ///
    /// While R-MAC is on, *every* response carries one, error status words
    /// included: SCP02 (GP 2.3.1 Appendix E.4.5) makes no exception for
    /// them, and the card side here ([`Self::wrap_response`]) MACs them
    /// all. A bare status word is therefore refused: accepting it would let
    /// anyone on the line turn a success into a forged failure (or hide
    /// what the card answered) without breaking the MAC chain.
    pub(crate) fn unwrap(&mut self, response: ResponseApdu) -> Result<ResponseApdu, ScpError> {
        if !self.level.r_mac() {
            return Ok(response);
        }
        let command = self.pending.take().ok_or(ScpError::NoPendingCommand)?;
        let (data, mac) = split_mac(&response.data).ok_or_else(|| {
            ScpError::mac(
                "R-MAC",
                format!(
                    "response {:04X} to {} carries no R-MAC",
                    response.sw,
                    sm::describe(header_of(&command))
                ),
            )
        })?;
        let expected = self.r_mac_of(&command, data, response.sw)?;
        if !ct_eq(&mac, &expected) {
            return Err(ScpError::mac(
                "R-MAC",
                format!("response to {}", sm::describe(header_of(&command))),
            ));
        }
        self.r_mac = expected;
        Ok(ResponseApdu::new(data, response.sw))
    }

    /// Card: checks the C-MAC of a secured command and decrypts its data.
    pub(crate) fn unwrap_command(
        &mut self,
        command: &CommandApdu,
    ) -> Result<CommandApdu, ScpError> {
        if !self.level.c_mac() {
            return Ok(command.clone());
        }
        let [wire_cla, ins, p1, p2] = command.header();
        let header = [sm::plain_cla(wire_cla), ins, p1, p2];
        let what = sm::describe(header);
        if !sm::is_secured(wire_cla) {
            return Err(ScpError::mac(
                "C-MAC",
                format!("{what} lacks secure messaging"),
            ));
        }
        let (body, mac) = split_mac(command.data())
            .ok_or_else(|| ScpError::mac("C-MAC", format!("{what} too short to carry a C-MAC")))?;
        let plain = if self.level.c_enc() && !body.is_empty() {
            let mut data = body.to_vec();
            tdes::cbc_decrypt(self.keys.enc.expose_secret(), &ZERO_ICV, &mut data)
                .ok()
                .and_then(|()| unpad80(&data, tdes::BLOCK).map(<[u8]>::to_vec))
                .ok_or_else(|| {
                    ScpError::mac("C-DECRYPTION", format!("{what} data does not decrypt"))
                })?
        } else {
            body.to_vec()
        };
        let extended = command.is_extended();
        let input = self.command_mac_input(header, &plain, extended);
        let expected = tdes::retail_mac(self.keys.c_mac.expose_secret(), &self.icv()?, &input)?;
        if !ct_eq(&mac, &expected) {
            return Err(ScpError::mac("C-MAC", what));
        }
        self.c_mac = expected;
        self.seed = false;
        self.pending = self
            .level
            .r_mac()
            .then(|| Self::r_mac_command_part(header, &plain, extended));
        Ok(CommandApdu::new(
            header[0],
            ins,
            p1,
            p2,
            plain,
            command.ne(),
        )?)
    }

    /// Card: adds the R-MAC to the response of the last unwrapped command.
    pub(crate) fn wrap_response(&mut self, response: &ResponseApdu) -> Result<Vec<u8>, ScpError> {
        if !self.level.r_mac() {
            return Ok(response.to_bytes());
        }
        let command = self.pending.take().ok_or(ScpError::NoPendingCommand)?;
        let mac = self.r_mac_of(&command, &response.data, response.sw)?;
        self.r_mac = mac;
        let mut out = response.data.clone();
        out.extend_from_slice(&mac);
        out.extend_from_slice(&response.sw.to_be_bytes());
        Ok(out)
    }
}

fn header_of(command_part: &[u8]) -> [u8; 4] {
    let mut header = [0u8; 4];
    for (dst, src) in header.iter_mut().zip(command_part) {
        *dst = *src;
    }
    header
}

impl SecureMessaging for Channel {
    fn wrap_command(&mut self, command: &CommandApdu) -> Result<Vec<u8>, ScpError> {
        self.wrap(command)
    }

    fn unwrap_response(&mut self, response: ResponseApdu) -> Result<ResponseApdu, ScpError> {
        self.unwrap(response)
    }

    fn unwrap_command(&mut self, command: &CommandApdu) -> Result<CommandApdu, ScpError> {
        Channel::unwrap_command(self, command)
    }

    fn wrap_response(&mut self, response: &ResponseApdu) -> Result<Vec<u8>, ScpError> {
        Channel::wrap_response(self, response)
    }

    /// SCP02 encrypts key data with the DEK session key in 3DES-ECB.
    fn protect_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        let mut out = data.to_vec();
        tdes::ecb_encrypt(self.keys.dek.expose_secret(), &mut out)?;
        Ok(out)
    }

    fn unprotect_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        let mut out = data.to_vec();
        tdes::ecb_decrypt(self.keys.dek.expose_secret(), &mut out)?;
        Ok(out)
    }

    fn key_protection(&self) -> crate::keys::KeyProtection<'_> {
        crate::keys::KeyProtection::SessionKey(&self.keys.dek)
    }
}
