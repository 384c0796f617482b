//! The card side of a secure channel, for the emulator's security domain:
//! answer INITIALIZE UPDATE, verify EXTERNAL AUTHENTICATE, then verify and
//! unwrap every command and protect every response.
//!
//! Each error maps to the status word the card answers
//! ([`ScpError::status_word`]); a failed handshake is consumed, so the
//! host must start over with INITIALIZE UPDATE, as on a real card.

use std::sync::Arc;

use gp::apdu::{CommandApdu, ResponseApdu};

use crate::channel::SecureMessaging;
use crate::hello::{
    CardChallenge, InitUpdateResponse, INS_EXTERNAL_AUTHENTICATE, INS_INITIALIZE_UPDATE,
};
use crate::keys::{KeyContext, KeyProvider};
use crate::sm;
use crate::{
    scp02, scp03, ChallengeSource, Protocol, ScpError, SecurityLevel, SessionDetails, SessionInfo,
};

/// What the card's security domain holds to answer INITIALIZE UPDATE.
#[derive(Clone)]
pub struct CardConfig {
    /// The card's (already diversified) static keys; their version is the
    /// provider's [`KeyProvider::key_version`].
    pub keys: Arc<dyn KeyProvider>,
    /// Protocol and "i" the card implements.
    pub protocol: Protocol,
    /// Key diversification data the card reports.
    pub kdd: [u8; 10],
    /// Sequence counter for this session. The caller owns and persists it:
    /// GlobalPlatform increments it after each session opened (SCP02) or
    /// each pseudo-random challenge issued (SCP03).
    pub sequence_counter: u32,
    /// AID of the security domain; input to pseudo-random challenges.
    pub aid: Vec<u8>,
}

impl core::fmt::Debug for CardConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardConfig")
            .field("key_version", &self.keys.key_version())
            .field("protocol", &self.protocol)
            .field("sequence_counter", &self.sequence_counter)
            .finish_non_exhaustive()
    }
}

fn bad_parameters(what: &'static str, detail: impl Into<String>) -> ScpError {
    ScpError::BadParameters {
        what,
        detail: detail.into(),
    }
}

/// Answers INITIALIZE UPDATE: returns the handshake state and the response
/// bytes (data and 9000) to send.
pub fn initialize_update(
    config: &CardConfig,
    command: &[u8],
    rng: &mut (impl ChallengeSource + ?Sized),
) -> Result<(CardAuthenticating, Vec<u8>), ScpError> {
    const WHAT: &str = "INITIALIZE UPDATE";
    let command = CommandApdu::parse(command)?;
    if command.ins() != INS_INITIALIZE_UPDATE || sm::is_secured(command.cla()) {
        return Err(bad_parameters(
            WHAT,
            "not a plain INITIALIZE UPDATE command",
        ));
    }
    if command.p2() != 0 {
        return Err(bad_parameters(
            WHAT,
            format!("P2 must be 00, got {:02X}", command.p2()),
        ));
    }
    // 8 bytes, 16 in SCP03 S16 mode.
    let wanted = match config.protocol {
        Protocol::Scp03 { i } => scp03::Mode::from_i(i).field_len(),
        Protocol::Scp02 { .. } => 8,
    };
    let host_challenge = command.data().to_vec();
    if host_challenge.len() != wanted {
        return Err(ScpError::WrongLength {
            what: WHAT,
            detail: format!(
                "host challenge must be {wanted} bytes, got {}",
                host_challenge.len()
            ),
        });
    }
    let kvn = config.keys.key_version();
    if command.p1() != 0 && command.p1() != kvn {
        return Err(ScpError::KeyVersion {
            expected: kvn,
            found: command.p1(),
        });
    }
    let protocol = config.protocol;
    protocol.check_supported()?;
    if protocol.is_implicit() {
        return Err(ScpError::Unsupported(format!(
            "{protocol} is implicit initiation: a session opens with the first C-MACed \
             command, not with INITIALIZE UPDATE"
        )));
    }
    let counter = config.sequence_counter;
    let exhausted = || ScpError::Unsupported(format!("sequence counter {counter:#X} exhausted"));

    let key = KeyContext {
        protocol,
        key_version: kvn,
        kdd: config.kdd,
    };
    let (pending, challenge, card_cryptogram, host_cryptogram) = match protocol {
        Protocol::Scp02 { i } => {
            let host_challenge: [u8; 8] = host_challenge
                .as_slice()
                .try_into()
                .map_err(|_| ScpError::malformed(WHAT, "SCP02 host challenge must be 8 bytes"))?;
            let sequence_counter = u16::try_from(counter)
                .map_err(|_| exhausted())?
                .to_be_bytes();
            let session = config.keys.scp02_session_keys(&key, i, sequence_counter)?;
            let challenge = if protocol.pseudo_random_challenge() {
                scp02::pseudo_random_card_challenge(&session, &config.aid)?
            } else {
                let mut c = [0u8; 6];
                rng.fill(&mut c)?;
                c
            };
            let card =
                scp02::card_cryptogram(&session, &host_challenge, &sequence_counter, &challenge)?;
            let host =
                scp02::host_cryptogram(&session, &host_challenge, &sequence_counter, &challenge)?;
            (
                Session::Scp02(session),
                CardChallenge::Scp02 {
                    sequence_counter,
                    challenge,
                },
                card.to_vec(),
                host.to_vec(),
            )
        }
        Protocol::Scp03 { i } => {
            let mode = scp03::Mode::from_i(i);
            let (challenge, sequence_counter) = if protocol.pseudo_random_challenge() {
                let [_, a, b, c] = counter.to_be_bytes();
                if counter > 0x00FF_FFFF {
                    return Err(exhausted());
                }
                let seq = [a, b, c];
                (
                    config
                        .keys
                        .scp03_card_challenge_in(&key, mode, &seq, &config.aid)?,
                    Some(seq),
                )
            } else {
                let mut c = vec![0u8; mode.field_len()];
                rng.fill(&mut c)?;
                (c, None)
            };
            let scp03::mode::Opening {
                keys: session,
                card,
                host,
            } = scp03::mode::open(
                config.keys.as_ref(),
                &key,
                mode,
                &host_challenge,
                &challenge,
            )?;
            (
                Session::Scp03(session),
                CardChallenge::Scp03 {
                    i,
                    challenge,
                    sequence_counter,
                },
                card,
                host,
            )
        }
    };
    let hello = InitUpdateResponse {
        kdd: config.kdd,
        key_version: kvn,
        challenge,
        card_cryptogram,
    };
    let mut response = hello.to_bytes();
    response.extend_from_slice(&[0x90, 0x00]);
    let details = match hello.challenge {
        CardChallenge::Scp02 {
            sequence_counter,
            challenge,
        } => SessionDetails::Scp02 {
            i: protocol.i(),
            sequence_counter,
            card_challenge: challenge,
        },
        CardChallenge::Scp03 {
            i,
            challenge,
            sequence_counter,
        } => SessionDetails::Scp03 {
            i,
            card_challenge: challenge,
            sequence_counter,
        },
    };
    let info = SessionInfo {
        security_level: SecurityLevel::NONE,
        key_version: kvn,
        kdd: config.kdd,
        host_challenge,
        details,
    };
    let state = CardAuthenticating {
        session: pending,
        keys: Arc::clone(&config.keys),
        key,
        host_cryptogram,
        info,
    };
    Ok((state, response))
}

/// Session keys waiting for EXTERNAL AUTHENTICATE.
enum Session {
    Scp02(scp02::SessionKeys),
    Scp03(scp03::SessionKeys),
}

/// INITIALIZE UPDATE answered; waiting for EXTERNAL AUTHENTICATE.
pub struct CardAuthenticating {
    session: Session,
    keys: Arc<dyn KeyProvider>,
    key: KeyContext,
    /// 8 bytes, 16 in SCP03 S16 mode.
    host_cryptogram: Vec<u8>,
    info: SessionInfo,
}

impl CardAuthenticating {
    /// Protocol, counters and challenges of the session being opened.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Verifies EXTERNAL AUTHENTICATE (level, host cryptogram, C-MAC);
    /// returns the open channel and the response bytes (9000) to send.
    pub fn external_authenticate(self, command: &[u8]) -> Result<(CardChannel, Vec<u8>), ScpError> {
        const WHAT: &str = "EXTERNAL AUTHENTICATE";
        let command = CommandApdu::parse(command)?;
        if command.ins() != INS_EXTERNAL_AUTHENTICATE || !sm::is_secured(command.cla()) {
            return Err(bad_parameters(
                WHAT,
                "not a secured EXTERNAL AUTHENTICATE command",
            ));
        }
        if command.p2() != 0 {
            return Err(bad_parameters(
                WHAT,
                format!("P2 must be 00, got {:02X}", command.p2()),
            ));
        }
        // Host cryptogram and C-MAC, each as long as the card cryptogram.
        let half = self.host_cryptogram.len();
        if command.data().len() != 2 * half {
            return Err(ScpError::WrongLength {
                what: WHAT,
                detail: format!(
                    "data must be {} bytes, got {}",
                    2 * half,
                    command.data().len()
                ),
            });
        }
        let level = SecurityLevel::from_byte(command.p1()).ok_or_else(|| {
            bad_parameters(WHAT, format!("no security level {:02X}", command.p1()))
        })?;
        self.info.protocol().check_level(level)?;
        let (host_cryptogram, mac) = command.data().split_at(half);
        let expected = &self.host_cryptogram;
        let channel: Box<dyn SecureMessaging> = match self.session {
            Session::Scp02(keys) => {
                let eight = |b: &[u8]| -> Result<[u8; 8], ScpError> {
                    b.try_into()
                        .map_err(|_| ScpError::malformed(WHAT, "SCP02 fields are 8 bytes"))
                };
                Box::new(scp02::Channel::open_card(
                    keys,
                    self.info.protocol().i(),
                    level,
                    &eight(host_cryptogram)?,
                    &eight(mac)?,
                    &eight(expected)?,
                    command.cla(),
                )?)
            }
            Session::Scp03(keys) => Box::new(scp03::Channel::open_card(
                keys,
                scp03::DataKey::Static {
                    provider: self.keys,
                    key: self.key,
                },
                level,
                scp03::Mode::from_i(self.info.protocol().i()),
                host_cryptogram,
                mac,
                expected,
                command.cla(),
            )?),
        };
        let info = SessionInfo {
            security_level: level,
            ..self.info
        };
        let channel = CardChannel {
            channel,
            info,
            closed: false,
        };
        Ok((channel, vec![0x90, 0x00]))
    }
}

impl core::fmt::Debug for CardAuthenticating {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardAuthenticating")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// An open secure channel, card side.
pub struct CardChannel {
    channel: Box<dyn SecureMessaging>,
    info: SessionInfo,
    closed: bool,
}

impl CardChannel {
    pub(crate) fn from_parts(channel: Box<dyn SecureMessaging>, info: SessionInfo) -> Self {
        CardChannel {
            channel,
            info,
            closed: false,
        }
    }

    /// Protocol, level, counters and challenges of the session.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Whether a verification failure has closed the channel.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Checks a command's C-MAC against the chain and decrypts its data;
    /// returns the command as the host meant it. Any failure closes the
    /// channel; answer [`ScpError::status_word`] in plain.
    pub fn verify_and_unwrap(&mut self, command: &[u8]) -> Result<CommandApdu, ScpError> {
        if self.closed {
            return Err(ScpError::Closed);
        }
        let result = CommandApdu::parse(command)
            .map_err(ScpError::from)
            .and_then(|c| self.channel.unwrap_command(&c));
        if result.is_err() {
            self.closed = true;
        }
        result
    }

    /// Protects the response to the last unwrapped command (R-MAC,
    /// R-ENCRYPTION as the level says); returns the bytes to send.
    pub fn wrap_response(&mut self, data: &[u8], sw: u16) -> Result<Vec<u8>, ScpError> {
        if self.closed {
            return Err(ScpError::Closed);
        }
        self.channel.wrap_response(&ResponseApdu::new(data, sw))
    }

    /// Decrypts key material received by PUT KEY (see
    /// [`crate::SecureChannel::encrypt_key_data`]).
    pub fn decrypt_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.channel.unprotect_key_data(data)
    }

    /// Encrypts data under the session's data encryption key, as the host
    /// does for PUT KEY (SCP02: session DEK; SCP03: static DEK): what an
    /// applet's `SecureChannel.encryptData` asks of its security domain.
    pub fn encrypt_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.channel.protect_key_data(data)
    }
}

impl core::fmt::Debug for CardChannel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CardChannel")
            .field("info", &self.info)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}
