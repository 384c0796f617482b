//! The host (off-card entity) side of opening and using a secure channel.

use std::sync::Arc;

use gp::apdu::{CommandApdu, ResponseApdu};

use crate::channel::SecureMessaging;
use crate::hello::{
    initialize_update_command, initialize_update_command_any, CardChallenge, InitUpdateResponse,
};
use crate::keys::{Cryptograms, KeyContext, KeyProvider};
use crate::sm::ct_eq;
use crate::{
    scp02, scp03, ChallengeSource, OsRng, Protocol, ScpError, SecurityLevel, SessionDetails,
    SessionInfo,
};

/// What the host needs to open a secure channel.
#[derive(Clone)]
pub struct HostConfig {
    /// Who holds the static (or master) keys; diversification, if any, is
    /// the provider's business.
    pub keys: Arc<dyn KeyProvider>,
    /// Security level to ask for in EXTERNAL AUTHENTICATE.
    pub security_level: SecurityLevel,
    /// SCP02's "i": the card does not state it in INITIALIZE UPDATE, so it
    /// comes from card recognition data or configuration. Default 0x15.
    pub scp02_i: u8,
    /// Refuse cards that answer with another protocol (2 or 3).
    pub expect_scp: Option<u8>,
    /// When set, and the card claims a pseudo-random challenge, check that
    /// the challenge is the one this AID and the sequence counter determine.
    pub check_challenge_aid: Option<Vec<u8>>,
    /// SCP03 S8 or S16 mode. The host must choose before INITIALIZE
    /// UPDATE, whose host challenge is 16 bytes in S16 mode; a card that
    /// answers in the other mode is refused.
    pub scp03_mode: scp03::Mode,
    /// The logical channel (0 to 19) the session runs on: INITIALIZE
    /// UPDATE and EXTERNAL AUTHENTICATE carry it in their CLA, and the
    /// C-MAC of EXTERNAL AUTHENTICATE covers that CLA as sent.
    pub logical_channel: gp::apdu::LogicalChannel,
}

impl HostConfig {
    /// Defaults: C-MAC, SCP02 i=15, any protocol.
    pub fn new(keys: impl Into<Arc<dyn KeyProvider>>) -> Self {
        HostConfig {
            keys: keys.into(),
            security_level: SecurityLevel::C_MAC,
            scp02_i: 0x15,
            expect_scp: None,
            check_challenge_aid: None,
            scp03_mode: scp03::Mode::S8,
            logical_channel: gp::apdu::LogicalChannel::BASIC,
        }
    }
}

impl core::fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HostConfig")
            .field("key_version", &self.keys.key_version())
            .field("security_level", &self.security_level)
            .field("scp02_i", &self.scp02_i)
            .field("expect_scp", &self.expect_scp)
            .field("scp03_mode", &self.scp03_mode)
            .field("logical_channel", &self.logical_channel)
            .finish_non_exhaustive()
    }
}

/// Starts a session with a host challenge drawn from the operating system's
/// CSPRNG. (A fixed challenge, for tests and replays, is in [`crate::danger`].)
pub fn begin(config: HostConfig) -> Result<AwaitingInitUpdate, ScpError> {
    begin_from(config, &mut OsRng)
}

pub(crate) fn begin_from(
    config: HostConfig,
    rng: &mut (impl ChallengeSource + ?Sized),
) -> Result<AwaitingInitUpdate, ScpError> {
    let mut host_challenge = vec![0u8; config.scp03_mode.field_len()];
    rng.fill(&mut host_challenge)?;
    let command = initialize_update_command_any(config.keys.key_version(), &host_challenge)?
        .on_channel(config.logical_channel)
        .to_bytes();
    Ok(AwaitingInitUpdate {
        config,
        host_challenge,
        command,
    })
}

pub(crate) fn begin_with(config: HostConfig, host_challenge: [u8; 8]) -> AwaitingInitUpdate {
    let command = initialize_update_command(config.keys.key_version(), &host_challenge)
        .on_channel(config.logical_channel)
        .to_bytes();
    AwaitingInitUpdate {
        config,
        host_challenge: host_challenge.to_vec(),
        command,
    }
}

/// INITIALIZE UPDATE is ready to send; waiting for the card's answer.
#[derive(Debug)]
pub struct AwaitingInitUpdate {
    config: HostConfig,
    /// 8 bytes, 16 in SCP03 S16 mode.
    host_challenge: Vec<u8>,
    command: Vec<u8>,
}

impl AwaitingInitUpdate {
    /// The INITIALIZE UPDATE command to send.
    pub fn command(&self) -> &[u8] {
        &self.command
    }

    /// The host challenge in the command (8 bytes, 16 in S16 mode).
    pub fn host_challenge(&self) -> &[u8] {
        &self.host_challenge
    }

    /// Takes the card's answer (data and status word), derives the session
    /// keys, and checks the card cryptogram. Only a card that proves it
    /// holds the keys yields the EXTERNAL AUTHENTICATE command.
    pub fn on_init_update_response(self, response: &[u8]) -> Result<Authenticating, ScpError> {
        let response = ResponseApdu::parse(response)?;
        if response.sw != 0x9000 {
            return Err(ScpError::Status {
                command: "INITIALIZE UPDATE",
                sw: response.sw,
            });
        }
        let hello = InitUpdateResponse::parse(&response.data)?;
        let config = &self.config;
        if let Some(expected) = config.expect_scp {
            if hello.scp() != expected {
                return Err(ScpError::UnexpectedProtocol {
                    expected,
                    found: hello.scp(),
                });
            }
        }
        let wanted = config.keys.key_version();
        if wanted != 0 && hello.key_version != wanted {
            return Err(ScpError::KeyVersion {
                expected: wanted,
                found: hello.key_version,
            });
        }
        let level = config.security_level;
        let hc = &self.host_challenge;
        let (channel, command, details): (Box<dyn SecureMessaging>, _, _) = match &hello.challenge {
            CardChallenge::Scp02 {
                sequence_counter,
                challenge,
            } => {
                let i = config.scp02_i;
                let protocol = Protocol::Scp02 { i };
                let hc: &[u8; 8] = hc.as_slice().try_into().map_err(|_| {
                    ScpError::malformed(
                        "INITIALIZE UPDATE response",
                        "an SCP02 card answered a 16-byte (SCP03 S16) host challenge",
                    )
                })?;
                protocol.check_supported()?;
                if protocol.is_implicit() {
                    return Err(ScpError::Unsupported(format!(
                        "{protocol} is implicit initiation: the session opens with the first \
                         C-MACed command, without INITIALIZE UPDATE (scp::implicit::open_host)"
                    )));
                }
                protocol.check_level(level)?;
                let key = KeyContext {
                    protocol,
                    key_version: hello.key_version,
                    kdd: hello.kdd,
                };
                let Cryptograms {
                    keys: session,
                    card: expected,
                    host: host_cryptogram,
                } = config
                    .keys
                    .scp02_session(&key, i, *sequence_counter, hc, challenge)?;
                if !ct_eq(&expected, &hello.card_cryptogram) {
                    return Err(ScpError::CardCryptogram);
                }
                if let (true, Some(aid)) = (
                    protocol.pseudo_random_challenge(),
                    &config.check_challenge_aid,
                ) {
                    let derived = scp02::pseudo_random_card_challenge(&session, aid)?;
                    if !ct_eq(&derived, challenge) {
                        return Err(ScpError::CardChallenge);
                    }
                }
                let (channel, command) = scp02::Channel::open_host(
                    session,
                    i,
                    level,
                    &host_cryptogram,
                    config.logical_channel,
                )?;
                let details = SessionDetails::Scp02 {
                    i,
                    sequence_counter: *sequence_counter,
                    card_challenge: *challenge,
                };
                (Box::new(channel), command, details)
            }
            CardChallenge::Scp03 {
                i,
                challenge,
                sequence_counter,
            } => {
                let protocol = Protocol::Scp03 { i: *i };
                protocol.check_supported()?;
                protocol.check_level(level)?;
                let key = KeyContext {
                    protocol,
                    key_version: hello.key_version,
                    kdd: hello.kdd,
                };
                let mode = scp03::Mode::from_i(*i);
                if mode != config.scp03_mode {
                    return Err(ScpError::malformed(
                        "INITIALIZE UPDATE response",
                        format!(
                            "card answered SCP03 {mode:?} mode (i={i:02X}), host asked for {:?}",
                            config.scp03_mode
                        ),
                    ));
                }
                let scp03::mode::Opening {
                    keys: session,
                    card: expected,
                    host: host_cryptogram,
                } = scp03::mode::open(config.keys.as_ref(), &key, mode, hc, challenge)?;
                if !ct_eq(&expected, &hello.card_cryptogram) {
                    return Err(ScpError::CardCryptogram);
                }
                if let (Some(counter), Some(aid)) = (sequence_counter, &config.check_challenge_aid)
                {
                    let derived = config
                        .keys
                        .scp03_card_challenge_in(&key, mode, counter, aid)?;
                    if !ct_eq(&derived, challenge) {
                        return Err(ScpError::CardChallenge);
                    }
                }
                let dek = scp03::DataKey::Static {
                    provider: Arc::clone(&config.keys),
                    key,
                };
                let (channel, command) = scp03::Channel::open_host(
                    session,
                    dek,
                    level,
                    mode,
                    &host_cryptogram,
                    config.logical_channel,
                )?;
                let details = SessionDetails::Scp03 {
                    i: *i,
                    card_challenge: challenge.clone(),
                    sequence_counter: *sequence_counter,
                };
                (Box::new(channel), command, details)
            }
        };
        let info = SessionInfo {
            security_level: level,
            key_version: hello.key_version,
            kdd: hello.kdd,
            host_challenge: self.host_challenge.clone(),
            details,
        };
        Ok(Authenticating {
            channel,
            command: command.to_bytes(),
            info,
        })
    }
}

/// The card is authenticated; EXTERNAL AUTHENTICATE is ready to send.
pub struct Authenticating {
    channel: Box<dyn SecureMessaging>,
    command: Vec<u8>,
    info: SessionInfo,
}

impl Authenticating {
    /// The EXTERNAL AUTHENTICATE command to send.
    pub fn command(&self) -> &[u8] {
        &self.command
    }

    /// Protocol, level, counters and challenges of the session.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Takes the card's answer to EXTERNAL AUTHENTICATE; 9000 opens the channel.
    pub fn on_external_authenticate_response(
        self,
        response: &[u8],
    ) -> Result<SecureChannel, ScpError> {
        let response = ResponseApdu::parse(response)?;
        if response.sw != 0x9000 {
            return Err(ScpError::Status {
                command: "EXTERNAL AUTHENTICATE",
                sw: response.sw,
            });
        }
        Ok(SecureChannel {
            channel: self.channel,
            info: self.info,
            closed: false,
        })
    }
}

impl core::fmt::Debug for Authenticating {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Authenticating")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// An open secure channel, host side.
///
/// Every command goes through [`SecureChannel::wrap`] and, when the level
/// includes R-MAC, its response through [`SecureChannel::unwrap`] before
/// the next command is wrapped, because each MAC chains on the previous.
pub struct SecureChannel {
    channel: Box<dyn SecureMessaging>,
    info: SessionInfo,
    closed: bool,
}

impl SecureChannel {
    pub(crate) fn from_parts(channel: Box<dyn SecureMessaging>, info: SessionInfo) -> Self {
        SecureChannel {
            channel,
            info,
            closed: false,
        }
    }

    /// Protocol, level, counters and challenges of the session.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Whether a failed response check has closed the channel.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Secures a command APDU (bytes as they would travel in plain).
    pub fn wrap(&mut self, command: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.wrap_apdu(&CommandApdu::parse(command)?)
    }

    /// Secures a command APDU.
    pub fn wrap_apdu(&mut self, command: &CommandApdu) -> Result<Vec<u8>, ScpError> {
        if self.closed {
            return Err(ScpError::Closed);
        }
        self.channel.wrap_command(command)
    }

    /// Checks and strips the protection of a response; returns plain
    /// `data || SW1 SW2`.
    pub fn unwrap(&mut self, response: &[u8]) -> Result<Vec<u8>, ScpError> {
        Ok(self.unwrap_response(response)?.to_bytes())
    }

    /// As [`SecureChannel::unwrap`], split into data and status word.
    pub fn unwrap_response(&mut self, response: &[u8]) -> Result<ResponseApdu, ScpError> {
        if self.closed {
            return Err(ScpError::Closed);
        }
        let result = ResponseApdu::parse(response)
            .map_err(ScpError::from)
            .and_then(|r| self.channel.unwrap_response(r));
        if result.is_err() {
            self.closed = true;
        }
        result
    }

    /// Encrypts key material for PUT KEY under the session's data
    /// encryption key (SCP02: DEK session key, 3DES-ECB; SCP03: static
    /// Key-DEK, AES-CBC). `data` must be whole cipher blocks.
    pub fn encrypt_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.channel.protect_key_data(data)
    }

    /// The key [`SecureChannel::encrypt_key_data`] encrypts under, for a
    /// [`crate::keys::KeySetSealer`] that seals new keys itself (an HSM).
    pub fn key_protection(&self) -> crate::keys::KeyProtection<'_> {
        self.channel.key_protection()
    }
}

impl core::fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecureChannel")
            .field("info", &self.info)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}
