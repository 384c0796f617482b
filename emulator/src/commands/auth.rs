//! INITIALIZE UPDATE and EXTERNAL AUTHENTICATE: opening a secure channel
//! with one of the ISD's key sets, counting failures and blocking a key
//! set that has seen too many.
//!
//! The cryptography is the `scp` crate's card side; this
//! module owns what the card must remember: the sequence counter of each
//! key set and its failed authentications, both persistent so that power
//! cycling neither replays challenges nor resets the failure count.

use gp::apdu::CommandApdu;
use scp::keys::KeyType;
use scp::{self, CardConfig, ScpError};

use crate::card::{class, is_secured, Card};
use crate::commands::CLA_GP;
use crate::recognition;
use crate::session::Session;
use crate::sw::{self, fail, Outcome, Reply};

/// INITIALIZE UPDATE: P1 the key version (00 = default key set), data the
/// host challenge. `sd` is the security domain selected on the channel
/// (`None`: the ISD): its key sets open the session.
pub fn initialize_update(
    card: &mut Card,
    sd: Option<&[u8]>,
    session: &mut Session,
    raw: &[u8],
    cmd: &CommandApdu,
) -> Outcome {
    // Whatever happens next, a session that was open on this logical
    // channel is over.
    *session = Session::None;
    if class(cmd.cla()) != CLA_GP || is_secured(cmd.cla()) {
        return Err(if class(cmd.cla()) == CLA_GP {
            fail(
                sw::SECURITY,
                "INITIALIZE UPDATE must travel without secure messaging",
            )
        } else {
            fail(
                sw::CLA_NOT_SUPPORTED,
                format!("INITIALIZE UPDATE takes CLA 80, got {:02X}", cmd.cla()),
            )
        });
    }
    let state = &card.state;
    if state.card_life_cycle() == gp::CardLifeCycle::Terminated {
        return Err(fail(sw::CONDITIONS, "the card is TERMINATED"));
    }
    let set = state.sd_key_set(sd, cmd.p1()).ok_or_else(|| {
        fail(
            sw::REF_NOT_FOUND,
            match sd {
                None => format!("no key set with version {:02X}", cmd.p1()),
                Some(aid) => format!(
                    "security domain {} has no key set with version {:02X}",
                    hex::encode_upper(aid),
                    cmd.p1()
                ),
            },
        )
    })?;
    let max = state.profile.max_auth_failures;
    if set.is_blocked(max) {
        return Err(blocked(set));
    }
    let kvn = set.version();
    let protocol = set.protocol(&state.profile);
    if protocol.is_implicit() {
        return Err(fail(
            sw::CONDITIONS,
            format!(
                "{protocol} is implicit initiation: the session opens with the first C-MACed \
                 command after SELECT (sequence counter: GET DATA 00C1), not with INITIALIZE UPDATE"
            ),
        ));
    }
    let config = CardConfig {
        keys: set.keys.clone().into(),
        protocol: set.protocol(&state.profile),
        kdd: recognition::kdd(state),
        sequence_counter: set.sequence_counter,
        aid: sd.unwrap_or(state.isd_aid()).to_vec(),
    };
    let (pending, response) = scp::initialize_update(&config, raw, card.rng.as_mut())
        .map_err(|e| fail(e.status_word(), format!("INITIALIZE UPDATE: {e}")))?;
    // SCP03 counts challenges issued, so the next session never reuses one.
    if set.keys.kind() == KeyType::Aes {
        let mut next = card.state.clone();
        if let Some(s) = next.sd_key_set_mut(sd, kvn) {
            s.sequence_counter = s.sequence_counter.saturating_add(1);
        }
        card.commit(next)?;
    }
    *session = Session::Authenticating {
        pending: Box::new(pending),
        kvn,
    };
    let data = response
        .get(..response.len().saturating_sub(2))
        .unwrap_or_default()
        .to_vec();
    Ok(Reply::data(data))
}

/// EXTERNAL AUTHENTICATE: P1 the security level, data the host cryptogram
/// and C-MAC.
pub fn external_authenticate(
    card: &mut Card,
    sd: Option<&[u8]>,
    session: &mut Session,
    raw: &[u8],
) -> Outcome {
    let Session::Authenticating { pending, kvn } = std::mem::take(session) else {
        return Err(fail(
            sw::CONDITIONS,
            "EXTERNAL AUTHENTICATE without a preceding INITIALIZE UPDATE",
        ));
    };
    let result = pending.external_authenticate(raw);
    let mut next = card.state.clone();
    let Some(set) = next.sd_key_set_mut(sd, kvn) else {
        return Err(fail(sw::CONDITIONS, format!("key set {kvn:02X} vanished")));
    };
    match result {
        Ok((channel, _)) => {
            set.failures = 0;
            // SCP02 counts sessions opened.
            if set.keys.kind() == KeyType::Des3 {
                set.sequence_counter = set.sequence_counter.saturating_add(1);
            }
            card.commit(next)?;
            *session = Session::Open { channel, kvn };
            Ok(Reply::ok())
        }
        Err(e) => {
            if matches!(e, ScpError::HostCryptogram | ScpError::Mac { .. }) {
                set.failures = set.failures.saturating_add(1);
                let failures = set.failures;
                card.commit(next)?;
                return Err(fail(
                    e.status_word(),
                    format!(
                        "EXTERNAL AUTHENTICATE: {e} (failure {failures} with key set {kvn:02X})"
                    ),
                ));
            }
            Err(fail(e.status_word(), format!("EXTERNAL AUTHENTICATE: {e}")))
        }
    }
}

/// SCP02 implicit initiation ("i" bit 04 clear): a secured command while
/// no session is open on the channel opens one when its C-MAC verifies
/// under the default key set's sequence counter (ICV from the ISD's AID
/// with "i" bit 08), and the counter then counts the session, persistently.
/// `None` when the default key set does not use implicit initiation; a
/// C-MAC that does not verify opens nothing and answers 6982.
pub fn implicit_open(
    card: &mut Card,
    raw: &[u8],
) -> Option<Result<(scp::CardChannel, CommandApdu, u8), crate::sw::Fail>> {
    let state = &card.state;
    let set = state.key_set(0)?;
    let protocol = set.protocol(&state.profile);
    if !protocol.is_implicit() {
        return None;
    }
    let max = state.profile.max_auth_failures;
    if set.is_blocked(max) {
        return Some(Err(blocked(set)));
    }
    let kvn = set.version();
    let config = CardConfig {
        keys: set.keys.clone().into(),
        protocol,
        kdd: recognition::kdd(state),
        sequence_counter: set.sequence_counter,
        aid: state.isd_aid().to_vec(),
    };
    let opened = scp::implicit::open_card(&config, raw);
    let mut next = card.state.clone();
    let set = next.key_set_mut(kvn)?;
    Some(match opened {
        Ok((channel, plain)) => {
            set.failures = 0;
            set.sequence_counter = set.sequence_counter.saturating_add(1);
            card.commit(next).map(|()| (channel, plain, kvn))
        }
        Err(e) => {
            let mut why = format!("implicit SCP02 session ({protocol}): {e}");
            if matches!(e, ScpError::Mac { .. }) {
                set.failures = set.failures.saturating_add(1);
                why = format!("{why} (failure {} with key set {kvn:02X})", set.failures);
                if let Err(f) = card.commit(next) {
                    return Some(Err(f));
                }
            }
            Err(fail(e.status_word(), why))
        }
    })
}

/// The refusal of a key set that too many failed authentications blocked.
fn blocked(set: &crate::keyset::KeySet) -> sw::Fail {
    fail(
        sw::BLOCKED,
        format!(
            "key set {:02X} is blocked after {} failed authentications",
            set.version(),
            set.failures
        ),
    )
}
