//! SCP03 (GlobalPlatform Card Specification 2.3.1 Amendment D): AES
//! session keys from both challenges through the SP 800-108 KDF, 8-byte
//! (S8) cryptograms, an AES-CMAC chain over all commands, AES-CBC command
//! and response encryption with counter-derived ICVs.
//!
//! Implementation options ("i") honoured: pseudo-random card challenge
//! (10), R-MAC (20), R-ENCRYPTION (40), and S16 mode (01: 16-byte
//! challenges, cryptograms and MACs, see [`mode`]).

pub mod mode;
pub use mode::Mode;

use crate::crypto::pad::{pad80, unpad80};
use crate::crypto::{aes, kdf as sp800_108};
use std::sync::Arc;

use crate::channel::SecureMessaging;
use crate::keys::{Key, KeyContext, KeyProvider, KeyType, StaticKeys};
use gp::apdu::{lc_field, CommandApdu, ResponseApdu};

use crate::hello::INS_EXTERNAL_AUTHENTICATE;
use crate::sm::{self, ct_eq, split_mac_len};
use crate::{ScpError, SecurityLevel};

/// Derivation constant of the card cryptogram.
pub const DERIVE_CARD_CRYPTOGRAM: u8 = 0x00;
/// Derivation constant of the host cryptogram.
pub const DERIVE_HOST_CRYPTOGRAM: u8 = 0x01;
/// Derivation constant of the pseudo-random card challenge.
pub const DERIVE_CARD_CHALLENGE: u8 = 0x02;
/// Derivation constant of S-ENC.
pub const DERIVE_S_ENC: u8 = 0x04;
/// Derivation constant of S-MAC.
pub const DERIVE_S_MAC: u8 = 0x06;
/// Derivation constant of S-RMAC.
pub const DERIVE_S_RMAC: u8 = 0x07;

/// The SCP03 KDF (NIST SP 800-108 counter mode, AES-CMAC PRF), producing
/// `out_len` bytes from `key`, a derivation `constant` and a `context`.
pub fn kdf(key: &Key, constant: u8, context: &[u8], out_len: usize) -> Result<Vec<u8>, ScpError> {
    require_aes(key)?;
    Ok(sp800_108::derive(
        key.expose_secret(),
        constant,
        context,
        out_len,
    )?)
}

/// The AES-CMAC inputs of [`kdf`]: one per 16 bytes of output. An HSM
/// computes these CMACs with the key inside it.
pub fn kdf_derivation_data(
    constant: u8,
    context: &[u8],
    out_len: usize,
) -> Result<Vec<Vec<u8>>, ScpError> {
    Ok(sp800_108::derivation_data(constant, context, out_len)?)
}

fn require_aes(key: &Key) -> Result<(), ScpError> {
    if key.kind() == KeyType::Aes {
        Ok(())
    } else {
        Err(ScpError::KeyType {
            scp: 0x03,
            needs: KeyType::Aes,
            got: key.kind(),
        })
    }
}

/// An S8 output of [`mode`]'s functions, always 8 bytes.
fn s8(out: Vec<u8>) -> Result<[u8; 8], ScpError> {
    <[u8; 8]>::try_from(out.as_slice())
        .map_err(|_| ScpError::malformed("S8 value", format!("{} bytes", out.len())))
}

/// The three SCP03 session keys of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKeys {
    enc: Key,
    mac: Key,
    rmac: Key,
}

impl SessionKeys {
    /// Derives S-ENC (from Key-ENC), S-MAC and S-RMAC (from Key-MAC), each
    /// as long as its static key, with `host challenge || card challenge`
    /// as the KDF context.
    pub fn derive(
        keys: &StaticKeys,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> Result<Self, ScpError> {
        mode::session_keys(keys, Mode::S8, host_challenge, card_challenge)
    }

    /// Session keys derived elsewhere (by an HSM holding the static keys):
    /// S-ENC, S-MAC and S-RMAC, each an AES key.
    pub fn from_keys(enc: Key, mac: Key, rmac: Key) -> Result<Self, ScpError> {
        for key in [&enc, &mac, &rmac] {
            require_aes(key)?;
        }
        Ok(SessionKeys { enc, mac, rmac })
    }

    /// S-ENC: command and response encryption.
    pub fn enc(&self) -> &Key {
        &self.enc
    }
    /// S-MAC: cryptograms and C-MAC.
    pub fn mac(&self) -> &Key {
        &self.mac
    }
    /// S-RMAC: R-MAC.
    pub fn rmac(&self) -> &Key {
        &self.rmac
    }
}

/// The card cryptogram: 64 bits of KDF output under S-MAC, constant 00,
/// context `host challenge || card challenge`.
pub fn card_cryptogram(
    keys: &SessionKeys,
    host_challenge: &[u8; 8],
    card_challenge: &[u8; 8],
) -> Result<[u8; 8], ScpError> {
    s8(mode::card_cryptogram(
        keys,
        Mode::S8,
        host_challenge,
        card_challenge,
    )?)
}

/// The host cryptogram: as the card cryptogram with constant 01.
pub fn host_cryptogram(
    keys: &SessionKeys,
    host_challenge: &[u8; 8],
    card_challenge: &[u8; 8],
) -> Result<[u8; 8], ScpError> {
    s8(mode::host_cryptogram(
        keys,
        Mode::S8,
        host_challenge,
        card_challenge,
    )?)
}

/// The pseudo-random card challenge ("i" bit 10): 64 bits of KDF output
/// under the static Key-ENC, constant 02, context
/// `sequence counter || AID`. A host may recompute it to check that the
/// card did not replay an old session.
pub fn pseudo_random_card_challenge(
    static_enc: &Key,
    sequence_counter: &[u8; 3],
    aid: &[u8],
) -> Result<[u8; 8], ScpError> {
    s8(mode::pseudo_random_card_challenge(
        static_enc,
        Mode::S8,
        sequence_counter,
        aid,
    )?)
}

/// What a response must be checked against: the MAC chaining value and
/// the encryption counter of the command it answers.
#[derive(Clone, Copy)]
struct Pending {
    chain: [u8; 16],
    counter: u64,
}

/// The key that protects key data (PUT KEY) in an SCP03-style session.
pub enum DataKey {
    /// SCP03: the static Key-DEK, which stays with its provider.
    Static {
        /// The holder of the static keys.
        provider: Arc<dyn KeyProvider>,
        /// The key set of the session.
        key: KeyContext,
    },
    /// SCP11: the session's S-DEK.
    Session(Key),
}

impl DataKey {
    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        match self {
            DataKey::Static { provider, key } => provider.encrypt_key_data(key, data),
            DataKey::Session(dek) => {
                let mut out = data.to_vec();
                aes::cbc_encrypt(dek.expose_secret(), &[0; 16], &mut out)?;
                Ok(out)
            }
        }
    }

    fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        match self {
            DataKey::Static { provider, key } => provider.decrypt_key_data(key, data),
            DataKey::Session(dek) => {
                let mut out = data.to_vec();
                aes::cbc_decrypt(dek.expose_secret(), &[0; 16], &mut out)?;
                Ok(out)
            }
        }
    }
}

/// The state of an authenticated SCP03 session, the same on both sides.
pub struct Channel {
    keys: SessionKeys,
    /// What encrypts key material: SCP03's static Key-DEK.
    dek: DataKey,
    level: SecurityLevel,
    /// MAC chaining value: the full 16-byte C-MAC of the last command.
    chain: [u8; 16],
    /// Encryption counter of the next command; 1 after EXTERNAL AUTHENTICATE.
    counter: u64,
    pending: Option<Pending>,
    /// S8 or S16: how long C-MACs and R-MACs are.
    mode: Mode,
}

/// EXTERNAL AUTHENTICATE's header with Lc: host cryptogram and C-MAC, each
/// as long as the mode says. `cla` is the secured CLA as sent: 84 with the
/// logical channel coded in it.
fn external_authenticate_header(
    cla: u8,
    level: SecurityLevel,
    mode: Mode,
) -> Result<[u8; 5], ScpError> {
    let lc = u8::try_from(2 * mode.field_len())
        .map_err(|_| ScpError::malformed("EXTERNAL AUTHENTICATE", "Lc over 255"))?;
    Ok([cla, INS_EXTERNAL_AUTHENTICATE, level.byte(), 0x00, lc])
}

impl Channel {
    /// Host side: EXTERNAL AUTHENTICATE (C-MAC over a zero chaining value)
    /// on logical channel `logical_channel`, and the channel it opens.
    pub(crate) fn open_host(
        keys: SessionKeys,
        dek: DataKey,
        level: SecurityLevel,
        mode: Mode,
        host_cryptogram: &[u8],
        logical_channel: gp::apdu::LogicalChannel,
    ) -> Result<(Self, CommandApdu), ScpError> {
        mode.check("host cryptogram", host_cryptogram)?;
        let cla = logical_channel.cla(0x84);
        let header = external_authenticate_header(cla, level, mode)?;
        let chain = aes::cmac(
            keys.mac.expose_secret(),
            &[&[0; 16], &header, host_cryptogram],
        )?;
        let data = [host_cryptogram, &chain[..mode.field_len()]].concat();
        let command = CommandApdu::new(header[0], header[1], header[2], header[3], data, None)?;
        Ok((Self::new(keys, dek, level, chain).with_mode(mode), command))
    }

    /// Card side: checks EXTERNAL AUTHENTICATE's host cryptogram and C-MAC;
    /// `cla` is the command's as received (its logical channel is MACed).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open_card(
        keys: SessionKeys,
        dek: DataKey,
        level: SecurityLevel,
        mode: Mode,
        host_cryptogram: &[u8],
        mac: &[u8],
        expected_host_cryptogram: &[u8],
        cla: u8,
    ) -> Result<Self, ScpError> {
        mode.check("host cryptogram", host_cryptogram)?;
        mode.check("EXTERNAL AUTHENTICATE C-MAC", mac)?;
        let header = external_authenticate_header(cla, level, mode)?;
        let chain = aes::cmac(
            keys.mac.expose_secret(),
            &[&[0; 16], &header, host_cryptogram],
        )?;
        if !ct_eq(host_cryptogram, expected_host_cryptogram) {
            return Err(ScpError::HostCryptogram);
        }
        if !ct_eq(mac, &chain[..mode.field_len()]) {
            return Err(ScpError::mac("C-MAC", "EXTERNAL AUTHENTICATE"));
        }
        Ok(Self::new(keys, dek, level, chain).with_mode(mode))
    }

    /// A channel from its session keys and initial MAC chaining value (the
    /// full C-MAC of the authenticating command), with the encryption
    /// counter at 1: how SCP03 continues after EXTERNAL AUTHENTICATE, and
    /// how SCP11 continues after its key agreement.
    pub fn new(keys: SessionKeys, dek: DataKey, level: SecurityLevel, chain: [u8; 16]) -> Self {
        Channel {
            keys,
            dek,
            level,
            chain,
            counter: 1,
            pending: None,
            mode: Mode::S8,
        }
    }

    /// The same channel in `mode`: S16 sessions carry full 16-byte MACs.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// ICV for command (C-DECRYPTION) or response (R-ENCRYPTION, first byte
    /// '80') encryption: AES under S-ENC of the 16-byte counter block.
    fn icv(&self, counter: u64, response: bool) -> Result<[u8; 16], ScpError> {
        let mut block = [0u8; 16];
        block[8..].copy_from_slice(&counter.to_be_bytes());
        if response {
            block[0] = 0x80;
        }
        aes::encrypt_block(self.keys.enc.expose_secret(), &mut block)?;
        Ok(block)
    }

    fn encrypt(&self, plain: &[u8], counter: u64, response: bool) -> Result<Vec<u8>, ScpError> {
        let mut data = pad80(plain, aes::BLOCK);
        aes::cbc_encrypt(
            self.keys.enc.expose_secret(),
            &self.icv(counter, response)?,
            &mut data,
        )?;
        Ok(data)
    }

    fn decrypt(&self, cipher: &[u8], counter: u64, response: bool) -> Option<Vec<u8>> {
        let mut data = cipher.to_vec();
        let icv = self.icv(counter, response).ok()?;
        aes::cbc_decrypt(self.keys.enc.expose_secret(), &icv, &mut data).ok()?;
        unpad80(&data, aes::BLOCK).map(<[u8]>::to_vec)
    }

    /// The full C-MAC: CMAC under S-MAC of the chaining value, the secured
    /// header, the Lc counting the MAC, and the (encrypted) data.
    fn c_mac(&self, header: [u8; 4], body: &[u8], extended: bool) -> Result<[u8; 16], ScpError> {
        Ok(aes::cmac(
            self.keys.mac.expose_secret(),
            &[
                &self.chain,
                &header,
                &lc_field(body.len() + self.mode.field_len(), extended),
                body,
            ],
        )?)
    }

    /// R-MAC: CMAC under S-RMAC of the command's chaining value, the
    /// (encrypted) response data and the status word, truncated to the
    /// mode's MAC length (8 bytes in S8 mode, all 16 in S16).
    fn r_mac(&self, pending: Pending, data: &[u8], sw: u16) -> Result<Vec<u8>, ScpError> {
        let full = aes::cmac(
            self.keys.rmac.expose_secret(),
            &[&pending.chain, data, &sw.to_be_bytes()],
        )?;
        Ok(full[..self.mode.field_len()].to_vec())
    }

    /// Host: secures a command for the session's level (encrypt, then MAC).
    pub(crate) fn wrap(&mut self, command: &CommandApdu) -> Result<Vec<u8>, ScpError> {
        if !self.level.c_mac() {
            return Ok(command.to_bytes());
        }
        let plain = command.data();
        // Committed only once the command is built, so a refused command
        // leaves host and card counters in step.
        let counter = self.counter;
        let mut body = if self.level.c_enc() && !plain.is_empty() {
            self.encrypt(plain, counter, false)?
        } else {
            plain.to_vec()
        };
        let mac_len = self.mode.field_len();
        let extended = command.is_extended() || body.len() + mac_len > 255;
        let [cla, ins, p1, p2] = command.header();
        let header = [sm::secure_cla(cla), ins, p1, p2];
        let chain = self.c_mac(header, &body, extended)?;
        body.extend_from_slice(&chain[..mac_len]);
        let wrapped =
            CommandApdu::new(header[0], ins, p1, p2, body, command.ne())?.with_extended(extended);
        self.chain = chain;
        self.counter = counter.saturating_add(1);
        self.pending = self.level.r_mac().then_some(Pending { chain, counter });
        Ok(wrapped.to_bytes())
    }

    /// Host: checks the R-MAC and decrypts the response to the last command.
    pub(crate) fn unwrap(&mut self, response: ResponseApdu) -> Result<ResponseApdu, ScpError> {
        if !self.level.r_mac() {
            return Ok(response);
        }
        let pending = self.pending.take().ok_or(ScpError::NoPendingCommand)?;
        if !response.is_success_or_warning() {
            // Amendment D 6.2.5: a response with an error status word (any
            // but 9000, 62xx and 63xx) carries no R-MAC and no protection,
            // only the status word. So that is all an error may be: data
            // beside it could not be authenticated and is refused.
            if !response.data.is_empty() {
                return Err(ScpError::mac(
                    "R-MAC",
                    format!(
                        "error response {:04X} carries {} unauthenticated data byte(s)",
                        response.sw,
                        response.data.len()
                    ),
                ));
            }
            return Ok(response);
        }
        let (data, mac) = split_mac_len(&response.data, self.mode.field_len())
            .ok_or_else(|| ScpError::mac("R-MAC", "response too short to carry an R-MAC"))?;
        if !ct_eq(mac, &self.r_mac(pending, data, response.sw)?) {
            return Err(ScpError::mac("R-MAC", "response does not verify"));
        }
        let data = if self.level.r_enc() && !data.is_empty() {
            self.decrypt(data, pending.counter, true).ok_or_else(|| {
                ScpError::malformed("response", "R-ENCRYPTION data does not decrypt")
            })?
        } else {
            data.to_vec()
        };
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
        let header = command.header();
        let [wire_cla, ins, p1, p2] = header;
        let what = sm::describe([sm::plain_cla(wire_cla), ins, p1, p2]);
        if !sm::is_secured(wire_cla) {
            return Err(ScpError::mac(
                "C-MAC",
                format!("{what} lacks secure messaging"),
            ));
        }
        let (body, mac) = split_mac_len(command.data(), self.mode.field_len())
            .ok_or_else(|| ScpError::mac("C-MAC", format!("{what} too short to carry a C-MAC")))?;
        let chain = self.c_mac(header, body, command.is_extended())?;
        if !ct_eq(mac, &chain[..self.mode.field_len()]) {
            return Err(ScpError::mac("C-MAC", what));
        }
        self.chain = chain;
        let counter = self.counter;
        self.counter = counter.saturating_add(1);
        let plain = if self.level.c_enc() && !body.is_empty() {
            self.decrypt(body, counter, false).ok_or_else(|| {
                ScpError::malformed("command", format!("{what} data does not decrypt"))
            })?
        } else {
            body.to_vec()
        };
        self.pending = self.level.r_mac().then_some(Pending { chain, counter });
        Ok(CommandApdu::new(
            sm::plain_cla(wire_cla),
            ins,
            p1,
            p2,
            plain,
            command.ne(),
        )?)
    }

    /// Card: encrypts and R-MACs the response to the last unwrapped command.
    pub(crate) fn wrap_response(&mut self, response: &ResponseApdu) -> Result<Vec<u8>, ScpError> {
        if !self.level.r_mac() {
            return Ok(response.to_bytes());
        }
        let pending = self.pending.take().ok_or(ScpError::NoPendingCommand)?;
        if !response.is_success_or_warning() {
            return Ok(response.sw.to_be_bytes().to_vec());
        }
        let mut data = if self.level.r_enc() && !response.data.is_empty() {
            self.encrypt(&response.data, pending.counter, true)?
        } else {
            response.data.clone()
        };
        let mac = self.r_mac(pending, &data, response.sw)?;
        data.extend_from_slice(&mac);
        data.extend_from_slice(&response.sw.to_be_bytes());
        Ok(data)
    }
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

    /// SCP03 encrypts key data under Key-DEK in AES-CBC with a zero ICV.
    fn protect_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.dek.encrypt(data)
    }

    fn unprotect_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.dek.decrypt(data)
    }

    fn key_protection(&self) -> crate::keys::KeyProtection<'_> {
        match &self.dek {
            DataKey::Static { provider, key } => {
                crate::keys::KeyProtection::StaticDek { provider, key }
            }
            DataKey::Session(dek) => crate::keys::KeyProtection::SessionKey(dek),
        }
    }
}
