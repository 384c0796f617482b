//! PUT KEY (GP 2.3.1 11.8): adding or replacing a secure channel key set,
//! or single keys of one.
//!
//! P1 is the version of the key set to replace (00 adds one), P2 the
//! identifier of the first key (bit 8: several keys follow). The data is
//! the new key version, then per key: type (80 3DES, 88 AES), length, the
//! key encrypted under the session's data encryption key (AES keys with
//! their real length first), and a key check value the card verifies.
//! The answer is the new key version and the check values.

use gp::apdu::CommandApdu;
use scp::keys::{Key, KeyType, StaticKeys};
use zeroize::Zeroizing;

use crate::card::Card;
use crate::commands::{require_unlocked, Ctx};
use crate::keyset::{KeySet, KEY_TYPE_AES, KEY_TYPE_DES};
use crate::sw::{self, fail, Fail, Outcome, Reply};

/// The initial key set a card leaves the factory with may carry KVN FF;
/// GlobalPlatform reserves that value for it, and the first key set added
/// replaces it.
const INITIAL_KVN: u8 = 0xFF;

/// PUT KEY changes the key sets of the security domain selected on the
/// channel (the ISD or an SSD), whose keys opened the session: an SSD's
/// keys go through its own secure channel, under its own DEK.
pub fn put_key(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    if super::scp11_keys::is_ec_put_key(cmd) {
        return super::scp11_keys::put_key(card, ctx, cmd);
    }
    let sd = ctx.sd.clone();
    let sd = sd.as_deref();
    let channel = ctx.require_session("PUT KEY")?;
    require_unlocked(card, "PUT KEY")?;
    let replace = cmd.p1() & 0x7F;
    let first_id = cmd.p2() & 0x7F;
    let several = cmd.p2() & 0x80 != 0;
    let (new_kvn, keys) = parse(cmd.data(), |enc| {
        channel.decrypt_key_data(enc).map_err(|e| {
            fail(
                sw::BAD_DATA,
                format!("PUT KEY: key data does not decrypt: {e}"),
            )
        })
    })?;
    if !several && keys.len() != 1 {
        return Err(fail(
            sw::BAD_DATA,
            format!(
                "PUT KEY P2 {:02X} announces one key, the data holds {}",
                cmd.p2(),
                keys.len()
            ),
        ));
    }
    if first_id == 0 || usize::from(first_id) - 1 + keys.len() > 3 {
        return Err(fail(
            sw::BAD_P1P2,
            format!(
                "PUT KEY: keys {first_id}..{} do not fit a key set of ENC (1), MAC (2), DEK (3)",
                usize::from(first_id) + keys.len().saturating_sub(1)
            ),
        ));
    }
    if !(0x01..=0x7F).contains(&new_kvn) {
        return Err(fail(
            sw::BAD_DATA,
            format!("PUT KEY: key version {new_kvn:02X} (01 to 7F)"),
        ));
    }
    let state = &card.state;
    let mut next = state.clone();
    let taken_by_other = |kvn: u8| {
        state
            .keys_of(sd)
            .iter()
            .any(|k| k.version() == new_kvn && k.version() != kvn)
    };
    let mixed = |e: scp::keys::KeyError| fail(sw::BAD_DATA, format!("PUT KEY: {e}"));
    if replace == 0 {
        if keys.len() != 3 || first_id != 1 {
            return Err(fail(
                sw::BAD_DATA,
                "PUT KEY: a new key set needs ENC, MAC and DEK (keys 1 to 3)",
            ));
        }
        if taken_by_other(0) {
            return Err(fail(
                sw::BAD_DATA,
                format!("PUT KEY: key set {new_kvn:02X} exists; replace it (P1 {new_kvn:02X})"),
            ));
        }
        let [enc, mac, dek] = <[Key; 3]>::try_from(keys.clone())
            .map_err(|_| fail(sw::BAD_DATA, "three keys expected"))?;
        let set = StaticKeys::new(enc, mac, dek, new_kvn).map_err(mixed)?;
        let sets = next
            .keys_of_mut(sd)
            .ok_or_else(|| fail(sw::CONDITIONS, "the security domain vanished"))?;
        sets.retain(|k| k.version() != INITIAL_KVN);
        sets.push(KeySet::new(set));
    } else {
        let old = state.sd_key_set(sd, replace).ok_or_else(|| {
            fail(
                sw::REF_NOT_FOUND,
                format!("PUT KEY: no key set {replace:02X} to replace"),
            )
        })?;
        if taken_by_other(replace) {
            return Err(fail(
                sw::BAD_DATA,
                format!("PUT KEY: key set {new_kvn:02X} exists already"),
            ));
        }
        let mut parts = [
            old.keys.enc.clone(),
            old.keys.mac.clone(),
            old.keys.dek.clone(),
        ];
        for (i, key) in keys.iter().enumerate() {
            parts[usize::from(first_id) - 1 + i] = key.clone();
        }
        let [enc, mac, dek] = parts;
        let set = StaticKeys::new(enc, mac, dek, new_kvn).map_err(mixed)?;
        if let Some(slot) = next.sd_key_set_mut(sd, replace) {
            *slot = KeySet::new(set);
        }
    }
    card.commit(next)?;
    let mut answer = vec![new_kvn];
    for k in &keys {
        answer.extend_from_slice(&k.kcv());
    }
    Ok(Reply::data(answer))
}

/// Reads the new key version and the keys, decrypting each with `decrypt`.
fn parse(
    data: &[u8],
    decrypt: impl Fn(&[u8]) -> Result<Vec<u8>, Fail>,
) -> Result<(u8, Vec<Key>), Fail> {
    let mut r = Reader { data, pos: 0 };
    let kvn = r.byte("the new key version")?;
    let mut keys = Vec::new();
    while !r.done() {
        let kind = r.byte("a key type")?;
        let len = usize::from(r.byte("a key length")?);
        let field = r.take(len, "key data")?;
        let (kind, length, encrypted) = match kind {
            KEY_TYPE_DES => (KeyType::Des3, len, field),
            KEY_TYPE_AES => {
                let (&length, encrypted) = field
                    .split_first()
                    .ok_or_else(|| fail(sw::BAD_DATA, "PUT KEY: empty AES key field"))?;
                (KeyType::Aes, usize::from(length), encrypted)
            }
            other => {
                return Err(fail(
                    sw::ALGORITHM_NOT_SUPPORTED,
                    format!("PUT KEY: key type {other:02X} (80 3DES and 88 AES are supported)"),
                ))
            }
        };
        // Wiped on drop, once the key is copied into a `Key` (which wipes itself).
        let plain = Zeroizing::new(decrypt(encrypted)?);
        let key = plain
            .get(..length)
            .ok_or_else(|| {
                fail(
                    sw::BAD_DATA,
                    format!("PUT KEY: a {length}-byte key in {} bytes", plain.len()),
                )
            })
            .and_then(|bytes| {
                Key::new(kind, bytes).map_err(|e| fail(sw::BAD_DATA, format!("PUT KEY: {e}")))
            });
        let key = key?;
        let kcv_len = usize::from(r.byte("a key check value length")?);
        let kcv = r.take(kcv_len, "key check value")?;
        match kcv_len {
            0 => {}
            3 if kcv == key.kcv() => {}
            3 => {
                return Err(fail(
                    sw::INVALID_KCV,
                    format!(
                        "PUT KEY: key check value {} does not match the key ({})",
                        hex::encode_upper(kcv),
                        hex::encode_upper(key.kcv())
                    ),
                ))
            }
            n => {
                return Err(fail(
                    sw::BAD_DATA,
                    format!("PUT KEY: a key check value of {n} bytes"),
                ))
            }
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(fail(sw::BAD_DATA, "PUT KEY without keys"));
    }
    Ok((kvn, keys))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self, what: &str) -> Result<u8, Fail> {
        Ok(self.take(1, what)?[0])
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Fail> {
        let out = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or_else(|| fail(sw::BAD_DATA, format!("PUT KEY data ends inside {what}")))?;
        self.pos += n;
        Ok(out)
    }
}
