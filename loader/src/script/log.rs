//! The key holder's check of a play's log: with R-MAC, every answer the
//! card gave carries a MAC the client cannot check (it has no key) and
//! cannot forge. The key holder re-opens the script's session from the
//! packet (the host challenge is in its INITIALIZE UPDATE, the card's
//! answer in the packet), re-wraps each command (which must give the very
//! bytes of the packet) and checks each logged answer's R-MAC in order.

use std::sync::Arc;

use scp::keys::KeyProvider;
use scp::HostConfig;
use serde::Serialize;

use super::packet::Body;
use super::play::LoggedResponse;
use super::ScriptError;

/// The verdict on one logged answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedResponse {
    pub index: usize,
    pub kind: String,
    /// Status word of the answer.
    pub sw: String,
    /// The answer's data after the R-MAC check (and R-ENC decryption).
    pub data: String,
    /// Whether its R-MAC verified (always true without R-MAC: nothing to check).
    pub authentic: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Checks the script commands' answers of a play log.
pub fn verify_log(
    keys: Arc<dyn KeyProvider>,
    body: &Body,
    log: &[LoggedResponse],
) -> Result<Vec<CheckedResponse>, ScriptError> {
    let bad = |m: String| ScriptError::Build(m);
    let h = &body.header;
    let keys = super::build::with_card_version(&keys, h.key_version)?;
    let level = scp::SecurityLevel::from_byte(h.security_level)
        .ok_or_else(|| bad(format!("no security level {:02X}", h.security_level)))?;
    let mut config = HostConfig::new(keys);
    config.security_level = level;
    config.scp02_i = h.i;
    config.expect_scp = Some(h.scp);
    let iu = gp::apdu::CommandApdu::parse(&body.session.initialize_update.0)
        .map_err(|e| bad(e.to_string()))?;
    let host_challenge: [u8; 8] = iu
        .data()
        .try_into()
        .map_err(|_| bad("INITIALIZE UPDATE without an 8-byte host challenge".into()))?;
    // The card's side of the session, re-run with the card's own challenge
    // and counter as the packet records them: it recovers each plain
    // command from the wrapped one (checking its C-MAC on the way).
    let expected = &body.session.expected_response.0;
    let hello_data = scp::InitUpdateResponse::parse(&expected[..expected.len().saturating_sub(2)])
        .map_err(|e| bad(format!("the packet's INITIALIZE UPDATE response: {e}")))?;
    let (protocol, counter, challenge) = match &hello_data.challenge {
        scp::CardChallenge::Scp02 {
            sequence_counter,
            challenge,
        } => (
            scp::Protocol::Scp02 { i: h.i },
            u32::from(u16::from_be_bytes(*sequence_counter)),
            challenge.to_vec(),
        ),
        scp::CardChallenge::Scp03 {
            i,
            challenge,
            sequence_counter,
        } => (
            scp::Protocol::Scp03 { i: *i },
            sequence_counter.map_or(0, |[a, b, c]| u32::from_be_bytes([0, a, b, c])),
            challenge.to_vec(),
        ),
    };
    let card_config = scp::CardConfig {
        keys: Arc::clone(&config.keys),
        protocol,
        kdd: hello_data.kdd,
        sequence_counter: counter,
        aid: h.security_domain.0.clone(),
    };
    let (card_auth, card_answer) = scp::initialize_update(
        &card_config,
        &body.session.initialize_update.0,
        &mut scp::FixedChallenges::new(challenge),
    )
    .map_err(|e| bad(format!("re-opening the session: {e}")))?;
    if &card_answer != expected {
        return Err(bad(
            "these keys do not give the card's INITIALIZE UPDATE response".into(),
        ));
    }
    let (mut card, _) = card_auth
        .external_authenticate(&body.session.external_authenticate.0)
        .map_err(|e| {
            bad(format!(
                "these keys do not give the script's EXTERNAL AUTHENTICATE: {e}"
            ))
        })?;
    let hello = scp::danger::begin_with_challenge(config, host_challenge);
    let auth = hello
        .on_init_update_response(expected)
        .map_err(|e| bad(format!("re-opening the session: {e}")))?;
    let mut channel = auth
        .on_external_authenticate_response(&[0x90, 0x00])
        .map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    let mut answers = log.iter().filter_map(|l| l.index.map(|i| (i, &l.response)));
    for (index, command) in body.commands.iter().enumerate() {
        let Some((logged_index, response)) = answers.next() else {
            break;
        };
        if logged_index != index {
            return Err(bad(format!(
                "the log skips from command {index} to {logged_index}"
            )));
        }
        let plain = card.verify_and_unwrap(&command.apdu.0).map_err(|e| {
            bad(format!(
                "command {index} does not verify under these keys: {e}"
            ))
        })?;
        let rewrapped = channel.wrap_apdu(&plain).map_err(|e| bad(e.to_string()))?;
        if rewrapped != command.apdu.0 {
            return Err(bad(format!(
                "command {index} is not what these keys would send"
            )));
        }
        let raw = hex::decode(response).map_err(|e| bad(format!("log entry {index}: {e}")))?;
        let sw = match raw.as_slice() {
            [.., a, b] => format!("{a:02X}{b:02X}"),
            _ => String::new(),
        };
        let checked = match channel.unwrap_response(&raw) {
            Ok(r) => CheckedResponse {
                index,
                kind: command.kind.clone(),
                sw,
                data: hex::encode_upper(&r.data),
                authentic: true,
                error: None,
            },
            Err(e) => CheckedResponse {
                index,
                kind: command.kind.clone(),
                sw,
                data: String::new(),
                authentic: false,
                error: Some(e.to_string()),
            },
        };
        let failed = !checked.authentic;
        out.push(checked);
        if failed {
            // A broken chain cannot check the answers after it.
            break;
        }
    }
    Ok(out)
}
