//! The ISD's SCP11 keys and certificates put from off card (GP Amendment
//! F): PUT KEY of an elliptic-curve key and STORE DATA of a certificate
//! chain, both inside a secure channel.
//!
//! ```text
//! PUT KEY 80 D8 P1=version to replace (00: add) P2=KID (10 KLOC, 11/13/15 SK.SD.ECKA)
//!   data: new KVN, then B1 L {private scalar encrypted under the session DEK}
//!                  or B0 L {public point, uncompressed}, F0 01 00 (P-256), 00 (no KCV)
//!   answer: the new KVN
//! STORE DATA 80 E2 P1=10|90 (BER-TLV; 90 the last block) P2=block number
//!   data (all blocks together): A6 {83 02 KID KVN} BF21 {certificates, issuer first}
//! ```
//!
//! A private key replaces the key pair, so the certificates of the old
//! one are dropped; a certificate chain is accepted only when its last
//! certificate certifies the public half of the key it is stored for.

use gp::apdu::CommandApdu;
use p256::ecdsa::VerifyingKey;
use p256::SecretKey;
use scp::scp11::{flat, KID_KLOC};
use zeroize::Zeroizing;

use crate::card::{Card, SdStore};
use crate::commands::{require_unlocked, Ctx};
use crate::scp11::{Kloc, SdKey};
use crate::sw::{self, fail, Fail, Outcome, Reply};

/// Key type of an EC public key (GP Amendment F, table of key types).
pub const KEY_TYPE_EC_PUBLIC: u8 = 0xB0;
/// Key type of an EC private key.
pub const KEY_TYPE_EC_PRIVATE: u8 = 0xB1;
/// Key parameter reference.
pub const KEY_TYPE_EC_PARAMS: u8 = 0xF0;
/// Tag of the certificate store.
const TAG_CERT_STORE: u32 = 0xBF21;
/// The most the SD accepts in one STORE DATA sequence of its own.
const MAX_STORE: usize = 4096;

/// Whether PUT KEY carries an EC key: an SCP11 key identifier and an EC
/// key type after the version byte.
pub fn is_ec_put_key(cmd: &CommandApdu) -> bool {
    let kid = cmd.p2() & 0x7F;
    let scp11_kid = kid == KID_KLOC || scp::scp11::Variant::from_kid(kid).is_some();
    scp11_kid
        && matches!(
            cmd.data().get(1),
            Some(&KEY_TYPE_EC_PUBLIC) | Some(&KEY_TYPE_EC_PRIVATE)
        )
}

/// PUT KEY of an EC key into the ISD's SCP11 store.
pub fn put_key(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    if ctx.sd.is_some() {
        return Err(fail(
            sw::BAD_P1P2,
            "PUT KEY of an SCP11 key: the SCP11 keys are the ISD's; open the session with the ISD",
        ));
    }
    let channel = ctx.require_session("PUT KEY")?;
    require_unlocked(card, "PUT KEY")?;
    let kid = cmd.p2() & 0x7F;
    let replace = cmd.p1() & 0x7F;
    let data = cmd.data();
    let (&kvn, rest) = data
        .split_first()
        .ok_or_else(|| fail(sw::BAD_DATA, "PUT KEY without data"))?;
    if !(0x01..=0x7F).contains(&kvn) {
        return Err(fail(
            sw::BAD_DATA,
            format!("PUT KEY: key version {kvn:02X} (01 to 7F)"),
        ));
    }
    let fields = key_fields(rest)?;
    let params = fields
        .iter()
        .find(|(t, _)| *t == KEY_TYPE_EC_PARAMS)
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[0x00]);
    if params != [0x00] {
        return Err(fail(
            sw::ALGORITHM_NOT_SUPPORTED,
            format!(
                "PUT KEY: key parameter reference {} (only 00, P-256, is supported)",
                hex::encode_upper(params)
            ),
        ));
    }
    let field = |t: u8| fields.iter().find(|(tag, _)| *tag == t).map(|(_, v)| v);
    let mut next = card.state.clone();
    let store = &mut next.scp11;
    if kid == KID_KLOC {
        let point = field(KEY_TYPE_EC_PUBLIC).ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                "PUT KEY KID 10 (the OCE CA key): needs the public key (B0)",
            )
        })?;
        VerifyingKey::from_sec1_bytes(point)
            .map_err(|_| fail(sw::BAD_DATA, "PUT KEY: B0 is not a P-256 point"))?;
        slot(&store.klocs, |k| k.kvn, kvn, replace, kid)?;
        store.klocs.retain(|k| k.kvn != replace && k.kvn != kvn);
        store.klocs.push(Kloc {
            kvn,
            public: point.clone(),
        });
    } else {
        let encrypted = field(KEY_TYPE_EC_PRIVATE).ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                format!("PUT KEY KID {kid:02X} (SK.SD.ECKA): needs the private key (B1)"),
            )
        })?;
        let plain = Zeroizing::new(channel.decrypt_key_data(encrypted).map_err(|e| {
            fail(
                sw::BAD_DATA,
                format!("PUT KEY: key data does not decrypt: {e}"),
            )
        })?);
        let scalar = plain.get(..32).ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                format!(
                    "PUT KEY: a P-256 private key has 32 bytes, got {}",
                    plain.len()
                ),
            )
        })?;
        SecretKey::from_slice(scalar)
            .map_err(|_| fail(sw::BAD_DATA, "PUT KEY: B1 is not a P-256 private key"))?;
        let same_kid: Vec<&SdKey> = store.sd_keys.iter().filter(|k| k.kid == kid).collect();
        slot(&same_kid, |k| k.kvn, kvn, replace, kid)?;
        store
            .sd_keys
            .retain(|k| !(k.kid == kid && (k.kvn == replace || k.kvn == kvn)));
        store.sd_keys.push(SdKey {
            kid,
            kvn,
            secret: scalar.to_vec(),
            certificates: Vec::new(),
        });
    }
    card.commit(next)?;
    Ok(Reply::data(vec![kvn]))
}

/// Checks that `kvn` may be added (`replace` 00) or that `replace` exists.
fn slot<T>(
    keys: &[T],
    version: impl Fn(&T) -> u8,
    kvn: u8,
    replace: u8,
    kid: u8,
) -> Result<(), Fail> {
    let has = |v: u8| keys.iter().any(|k| version(k) == v);
    if replace == 0 && has(kvn) {
        return Err(fail(
            sw::BAD_DATA,
            format!("PUT KEY: KID {kid:02X} version {kvn:02X} exists; replace it (P1 {kvn:02X})"),
        ));
    }
    if replace != 0 && !has(replace) {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!("PUT KEY: no KID {kid:02X} version {replace:02X} to replace"),
        ));
    }
    if replace != 0 && replace != kvn && has(kvn) {
        return Err(fail(
            sw::BAD_DATA,
            format!("PUT KEY: KID {kid:02X} version {kvn:02X} exists already"),
        ));
    }
    Ok(())
}

/// The key fields after the version: type, one length byte, value; a last
/// 00 (an empty key check value) ends them.
fn key_fields(mut data: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, Fail> {
    let mut out = Vec::new();
    while let Some((&tag, rest)) = data.split_first() {
        if tag == 0x00 && rest.is_empty() {
            break;
        }
        let (&len, rest) = rest.split_first().ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                format!("PUT KEY: key field {tag:02X} has no length"),
            )
        })?;
        let len = usize::from(len);
        let value = rest.get(..len).ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                format!(
                    "PUT KEY: key field {tag:02X} of {len} bytes with {} left",
                    rest.len()
                ),
            )
        })?;
        if !matches!(
            tag,
            KEY_TYPE_EC_PUBLIC | KEY_TYPE_EC_PRIVATE | KEY_TYPE_EC_PARAMS
        ) {
            return Err(fail(
                sw::ALGORITHM_NOT_SUPPORTED,
                format!("PUT KEY: key type {tag:02X} with an SCP11 key identifier (B0, B1, F0 expected)"),
            ));
        }
        out.push((tag, value.to_vec()));
        data = &rest[len..];
    }
    Ok(out)
}

/// STORE DATA to the ISD itself (no INSTALL [for personalization] in this
/// session): blocks are gathered until the last one, then the certificate
/// store is written. `pending` is the channel's sequence so far.
pub fn store_data(
    card: &mut Card,
    ctx: &Ctx<'_>,
    cmd: &CommandApdu,
    pending: Option<SdStore>,
) -> Result<(Reply, Option<SdStore>), Fail> {
    ctx.require_session("STORE DATA")?;
    let mut store = pending.unwrap_or_default();
    if u16::from(cmd.p2()) != store.next_block {
        return Err(fail(
            sw::BAD_P1P2,
            format!(
                "STORE DATA block number {:02X}, expected {:02X} (blocks count from 00 in sequence)",
                cmd.p2(),
                store.next_block
            ),
        ));
    }
    if store.data.len() + cmd.data().len() > MAX_STORE {
        return Err(fail(
            sw::NO_MEMORY,
            format!("STORE DATA to the ISD: more than {MAX_STORE} bytes in one sequence"),
        ));
    }
    store.data.extend_from_slice(cmd.data());
    store.next_block += 1;
    if cmd.p1() & 0x80 == 0 {
        return Ok((Reply::no_receipt(), Some(store)));
    }
    store_certificates(card, &store.data)?;
    Ok((Reply::no_receipt(), None))
}

/// A6 {83 KID KVN} BF21 {chain}: the chain of the SD key KID/KVN.
fn store_certificates(card: &mut Card, data: &[u8]) -> Result<(), Fail> {
    let bad = |why: String| fail(sw::BAD_DATA, format!("STORE DATA to the ISD: {why}"));
    // Flat reading: GP's certificate tags (B0, F0) set the constructed bit
    // on primitive values, so a descending BER parser would misread them.
    let objects = flat::objects(data).map_err(|e| bad(e.to_string()))?;
    let control = objects.iter().find(|o| o.tag == 0xA6).ok_or_else(|| {
        bad("no key reference A6 {83 KID KVN} (the ISD stores SCP11 certificates only: A6 {83 KID KVN} BF21 {...})".into())
    })?;
    let reference = flat::objects(control.value)
        .map_err(|e| bad(format!("A6: {e}")))?
        .into_iter()
        .find(|o| o.tag == 0x83)
        .ok_or_else(|| bad("A6 holds no key reference (83)".into()))?;
    let [kid, kvn] =
        <[u8; 2]>::try_from(reference.value).map_err(|_| bad("83 must hold KID and KVN".into()))?;
    let chain = objects
        .iter()
        .find(|o| o.tag == TAG_CERT_STORE)
        .ok_or_else(|| bad("no certificate store (BF21)".into()))?
        .value;
    let certs = scp::scp11::cert::parse_chain(chain).map_err(|e| bad(e.to_string()))?;
    let leaf = certs
        .last()
        .ok_or_else(|| bad("BF21 holds no certificate".into()))?;
    let mut next = card.state.clone();
    let key = next
        .scp11
        .sd_keys
        .iter_mut()
        .find(|k| k.kid == kid && k.kvn == kvn)
        .ok_or_else(|| {
            fail(
                sw::REF_NOT_FOUND,
                format!("STORE DATA: no SCP11 key KID {kid:02X} version {kvn:02X} to certify (PUT KEY it first)"),
            )
        })?;
    let secret = SecretKey::from_slice(&key.secret)
        .map_err(|_| fail(sw::CONDITIONS, "the stored SCP11 key is damaged"))?;
    if VerifyingKey::from(secret.public_key()) != leaf.public_key {
        return Err(bad(format!(
            "certificate {} certifies another key than KID {kid:02X} version {kvn:02X}",
            leaf.serial_hex()
        )));
    }
    key.certificates = certs.iter().map(|c| c.encoded().to_vec()).collect();
    card.commit(next)
}
