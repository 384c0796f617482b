//! SCP02 implicit initiation (GP Card Specification 2.3.1 Appendix E, "i"
//! bit 04 clear, e.g. i = 0A and 1A): no INITIALIZE UPDATE and no EXTERNAL
//! AUTHENTICATE. The host learns the sequence counter of the default key
//! set (GET DATA 00C1), derives the session keys from it as explicit SCP02
//! does, and C-MACs its first command on an ICV that is zero or, with "i"
//! bit 08, the MAC of the selected application's AID ([`scp02::aid_icv`]).
//! The card opens the session when that first C-MAC verifies under its
//! current counter, and counts the session (the caller increments it).
//!
//! What the session lacks, so both sides refuse it: host and card
//! cryptograms (the card is never authenticated to the host: only the
//! card's acceptance of each C-MAC shows that both hold the keys), and so
//! any level beyond C-MAC; and key diversification data, which only
//! INITIALIZE UPDATE reports, so the keys are the card's own, undiversified.

use gp::apdu::CommandApdu;

use crate::keys::KeyContext;
use crate::{
    scp02, CardChannel, CardConfig, HostConfig, Protocol, ScpError, SecureChannel, SecurityLevel,
    SessionDetails, SessionInfo,
};

/// Key diversification data of an implicit session: none is reported.
const NO_KDD: [u8; 10] = [0; 10];

fn check(protocol: Protocol, level: SecurityLevel) -> Result<u8, ScpError> {
    let Protocol::Scp02 { i } = protocol else {
        return Err(ScpError::Unsupported(format!(
            "{protocol}: implicit initiation is SCP02's only"
        )));
    };
    protocol.check_supported()?;
    if !protocol.is_implicit() {
        return Err(ScpError::Unsupported(format!(
            "{protocol} is explicit initiation (i bit 04): open it with INITIALIZE UPDATE"
        )));
    }
    if level != SecurityLevel::C_MAC {
        return Err(ScpError::SecurityLevel {
            level,
            scp: 0x02,
            i,
            why: "an implicitly initiated session secures commands with C-MAC only",
        });
    }
    Ok(i)
}

fn info(i: u8, key_version: u8, sequence_counter: [u8; 2]) -> SessionInfo {
    SessionInfo {
        security_level: SecurityLevel::C_MAC,
        key_version,
        kdd: NO_KDD,
        // No challenges are exchanged.
        host_challenge: Vec::new(),
        details: SessionDetails::Scp02 {
            i,
            sequence_counter,
            card_challenge: [0; 6],
        },
    }
}

/// Host: the secure channel of an implicitly initiated session, from the
/// sequence counter the card reported (GET DATA 00C1) and the AID of the
/// application selected on the channel. `config.scp02_i` says the option,
/// `config.security_level` must be C-MAC. The first command wrapped opens
/// the session on the card.
pub fn open_host(
    config: &HostConfig,
    sequence_counter: [u8; 2],
    aid: &[u8],
) -> Result<SecureChannel, ScpError> {
    let protocol = Protocol::Scp02 { i: config.scp02_i };
    let i = check(protocol, config.security_level)?;
    let key = KeyContext {
        protocol,
        key_version: config.keys.key_version(),
        kdd: NO_KDD,
    };
    let keys = config.keys.scp02_session_keys(&key, i, sequence_counter)?;
    let channel = scp02::Channel::implicit(keys, i, aid)?;
    Ok(SecureChannel::from_parts(
        Box::new(channel),
        info(i, key.key_version, sequence_counter),
    ))
}

/// Card: opens an implicit session with `command`, the first C-MACed
/// command since the application `config.aid` was selected, under the
/// counter `config.sequence_counter`. Returns the channel and the command
/// unwrapped; a C-MAC that does not verify opens nothing
/// ([`ScpError::Mac`]: the card answers 6982 and keeps its counter).
pub fn open_card(
    config: &CardConfig,
    command: &[u8],
) -> Result<(CardChannel, CommandApdu), ScpError> {
    let i = check(config.protocol, SecurityLevel::C_MAC)?;
    let sequence_counter = u16::try_from(config.sequence_counter)
        .map_err(|_| {
            ScpError::Unsupported(format!(
                "sequence counter {:#X} exhausted",
                config.sequence_counter
            ))
        })?
        .to_be_bytes();
    let key = KeyContext {
        protocol: config.protocol,
        key_version: config.keys.key_version(),
        kdd: config.kdd,
    };
    let keys = config.keys.scp02_session_keys(&key, i, sequence_counter)?;
    let channel = scp02::Channel::implicit(keys, i, &config.aid)?;
    let mut channel = CardChannel::from_parts(
        Box::new(channel),
        info(i, key.key_version, sequence_counter),
    );
    let plain = channel.verify_and_unwrap(command)?;
    Ok((channel, plain))
}
