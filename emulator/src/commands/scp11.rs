//! SCP11 on the ISD: PERFORM SECURITY OPERATION (the OCE certificates,
//! each verified under the KLOC or its predecessor and kept for the
//! session), MUTUAL AUTHENTICATE (11a, 11c) and INTERNAL AUTHENTICATE
//! (11b), which open the session, and GET DATA BF21 (the certificate
//! store). The protocol is `scp::scp11::card`; this module finds the keys.

use gp::apdu::CommandApdu;
use p256::SecretKey;
use scp::scp11::card::{self, CardKey, OceChain};
use scp::scp11::{Date, Variant};

use crate::card::{class, is_secured, Card};
use crate::commands::CLA_GP;
use crate::session::Session;
use crate::sw::{self, fail, Fail, Outcome, Reply};

fn plain_gp(cmd: &CommandApdu, what: &str) -> Result<(), Fail> {
    if class(cmd.cla()) != CLA_GP || is_secured(cmd.cla()) {
        return Err(fail(
            sw::CLA_NOT_SUPPORTED,
            format!(
                "{what} takes CLA 80 without secure messaging, got {:02X}",
                cmd.cla()
            ),
        ));
    }
    Ok(())
}

/// PERFORM SECURITY OPERATION: P1 the KLOC's version, P2 its KID (10)
/// with bit 8 set while more certificates follow.
pub fn perform_security_operation(
    card: &mut Card,
    session: &mut Session,
    cmd: &CommandApdu,
) -> Outcome {
    plain_gp(cmd, "PERFORM SECURITY OPERATION")?;
    let mut chain = match std::mem::take(session) {
        Session::Scp11Certificates { chain } => chain,
        _ => OceChain::default(),
    };
    if cmd.p2() & 0x7F != scp::scp11::KID_KLOC {
        return Err(fail(
            sw::BAD_P1P2,
            format!(
                "PERFORM SECURITY OPERATION: P2 {:02X} names no KLOC (KID 10)",
                cmd.p2()
            ),
        ));
    }
    let kloc = card.state.scp11.kloc(cmd.p1()).ok_or_else(|| {
        fail(
            sw::REF_NOT_FOUND,
            format!(
                "PERFORM SECURITY OPERATION: no OCE CA key (KLOC) with version {:02X}",
                cmd.p1()
            ),
        )
    })?;
    chain
        .accept(cmd, &kloc, Date::today())
        .map_err(|e| fail(e.status_word(), format!("PERFORM SECURITY OPERATION: {e}")))?;
    *session = Session::Scp11Certificates { chain };
    Ok(Reply::ok())
}

/// MUTUAL or INTERNAL AUTHENTICATE: P1 the key version, P2 the KID of
/// SK.SD.ECKA (11, 13, 15).
pub fn authenticate(card: &mut Card, session: &mut Session, cmd: &CommandApdu) -> Outcome {
    let oce = match std::mem::take(session) {
        Session::Scp11Certificates { chain } => chain.oce_key().copied(),
        _ => None,
    };
    plain_gp(cmd, "SCP11 authentication")?;
    let variant = Variant::from_kid(cmd.p2()).ok_or_else(|| {
        fail(
            sw::BAD_P1P2,
            format!("P2 {:02X} is no SCP11 key (11, 13, 15)", cmd.p2()),
        )
    })?;
    let sd = card.state.scp11.sd_key(cmd.p2(), cmd.p1()).ok_or_else(|| {
        fail(
            sw::REF_NOT_FOUND,
            format!(
                "no {variant} key (KID {:02X}) with version {:02X}",
                cmd.p2(),
                cmd.p1()
            ),
        )
    })?;
    let kvn = sd.kvn;
    let secret = SecretKey::from_slice(&sd.secret).map_err(|_| {
        fail(
            sw::UNKNOWN,
            format!("the stored {variant} key is not a P-256 scalar"),
        )
    })?;
    let key = CardKey {
        variant,
        kvn,
        key: &secret,
    };
    let (channel, data) = card::authenticate(&key, oce.as_ref(), cmd, card.rng.as_mut())
        .map_err(|e| fail(e.status_word(), format!("{variant}: {e}")))?;
    *session = Session::Open { channel, kvn };
    Ok(Reply::data(data))
}

/// GET DATA BF21 with `A6 { 83 KID KVN }`: the chain of that SD key.
pub fn certificate_store(card: &Card, cmd: &CommandApdu) -> Result<Vec<u8>, Fail> {
    let data = cmd.data();
    let (kid, kvn) = match data {
        [0xA6, 0x04, 0x83, 0x02, kid, kvn] => (*kid, *kvn),
        [] => (Variant::B.kid(), 0),
        _ => {
            return Err(fail(
                sw::BAD_DATA,
                format!(
                    "GET DATA BF21: data {} is not A6 {{83 02 KID KVN}}",
                    hex::encode_upper(data)
                ),
            ))
        }
    };
    let sd = card.state.scp11.sd_key(kid, kvn).ok_or_else(|| {
        fail(
            sw::REF_NOT_FOUND,
            format!("GET DATA BF21: no SCP11 key {kid:02X} version {kvn:02X}"),
        )
    })?;
    Ok(scp::scp11::encode_certificate_store(&sd.certificates))
}
