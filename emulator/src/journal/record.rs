//! The byte layout of the journal: a file header, then records, each one
//! batch of updates committed together.
//!
//! ```text
//! header  "JCTJRNL" 01 (8 bytes)
//! record  length u32 LE   bytes of `seq || ops` that follow the checksum
//!         crc32  u32 LE   CRC-32 (IEEE) of `seq || ops`
//!         seq    u64 LE   1, 2, 3, ... without gaps
//!         ops    count u32 LE, then per op:
//!                  01 klen u16 key vlen u32 value   put
//!                  02 klen u16 key                  delete
//! ```
//!
//! Little-endian and length-prefixed so recovery reads a record without
//! looking at anything but its own bytes; the checksum covers the sequence
//! number too, so a record from an older file that happens to lie where a
//! torn append left off is not replayed.

use std::fmt;

/// The file magic with the layout version as its last byte.
pub const MAGIC: &[u8; 8] = b"JCTJRNL\x01";
/// Length and checksum before every record.
pub const FRAME: usize = 8;
/// A single record never exceeds this: bounds what recovery allocates for
/// one record whatever the file says.
pub const MAX_RECORD: usize = 64 << 20;
/// Keys are names, not data.
pub const MAX_KEY: usize = 1024;

const PUT: u8 = 1;
const DELETE: u8 = 2;

/// One update inside a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

impl Op {
    pub fn key(&self) -> &[u8] {
        match self {
            Op::Put(k, _) | Op::Delete(k) => k,
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Op::Put(k, v) => 1 + 2 + k.len() + 4 + v.len(),
            Op::Delete(k) => 1 + 2 + k.len(),
        }
    }
}

/// Why a record could not be encoded (the caller's mistake, caught before
/// anything reaches the disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    KeyTooLong(usize),
    RecordTooLarge(usize),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::KeyTooLong(n) => write!(f, "a key of {n} bytes (at most {MAX_KEY})"),
            EncodeError::RecordTooLarge(n) => {
                write!(f, "a batch of {n} bytes (at most {MAX_RECORD})")
            }
        }
    }
}

/// Appends the framed record for `ops` under `seq` to `out`.
// The length casts are in range: every key is at most MAX_KEY (< 2^16) and
// the whole body at most MAX_RECORD (< 2^32), both checked before a byte
// is written.
#[allow(clippy::cast_possible_truncation)]
pub fn encode(seq: u64, ops: &[Op], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut body_len = 8 + 4;
    for op in ops {
        if op.key().len() > MAX_KEY {
            return Err(EncodeError::KeyTooLong(op.key().len()));
        }
        body_len += op.encoded_len();
        if body_len > MAX_RECORD {
            return Err(EncodeError::RecordTooLarge(body_len));
        }
    }
    let count = u32::try_from(ops.len()).map_err(|_| EncodeError::RecordTooLarge(body_len))?;
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    for op in ops {
        match op {
            Op::Put(k, v) => {
                out.push(PUT);
                out.extend_from_slice(&(k.len() as u16).to_le_bytes());
                out.extend_from_slice(k);
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
            }
            Op::Delete(k) => {
                out.push(DELETE);
                out.extend_from_slice(&(k.len() as u16).to_le_bytes());
                out.extend_from_slice(k);
            }
        }
    }
    let crc = crc32fast::hash(&out[start + FRAME..]);
    out[start + 4..start + FRAME].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// What the bytes at some offset hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole, intact record and the bytes it took.
    Record { seq: u64, ops: Vec<Op>, len: usize },
    /// The end of what was durably written: nothing, or a record cut short
    /// or not matching its checksum — the append a crash interrupted.
    Torn,
    /// A record whose checksum holds but whose content does not parse: not
    /// something a crash produces, so the file is not trusted.
    Corrupt(String),
}

/// Decodes the record at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Decoded {
    if bytes.len() < FRAME {
        return Decoded::Torn;
    }
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if !(12..=MAX_RECORD).contains(&len) || bytes.len() - FRAME < len {
        return Decoded::Torn;
    }
    let body = &bytes[FRAME..FRAME + len];
    if crc32fast::hash(body) != crc {
        // An interrupted append is the last thing in the file; a bad record
        // with more after it is damage, and cutting there would silently
        // drop commits that were whole.
        let after = bytes.len() - FRAME - len;
        if after == 0 {
            return Decoded::Torn;
        }
        return Decoded::Corrupt(format!(
            "a record of {len} bytes fails its checksum with {after} bytes after it"
        ));
    }
    match parse_body(body) {
        Ok((seq, ops)) => Decoded::Record {
            seq,
            ops,
            len: FRAME + len,
        },
        Err(detail) => Decoded::Corrupt(detail),
    }
}

/// Reads `seq || ops`; every length is checked against what is left, so a
/// hostile length allocates nothing.
fn parse_body(body: &[u8]) -> Result<(u64, Vec<Op>), String> {
    let mut r = Reader { bytes: body, at: 0 };
    let seq = u64::from_le_bytes(r.array()?);
    let count = u32::from_le_bytes(r.array()?) as usize;
    // Each op takes at least three bytes: a count above that is a lie.
    if count > r.left() / 3 {
        return Err(format!("{count} updates announced in {} bytes", r.left()));
    }
    let mut ops = Vec::with_capacity(count);
    for i in 0..count {
        let tag = r.take(1)?[0];
        let klen = u16::from_le_bytes(r.array()?) as usize;
        if klen > MAX_KEY {
            return Err(format!("update {i}: a key of {klen} bytes"));
        }
        let key = r.take(klen)?.to_vec();
        ops.push(match tag {
            PUT => {
                let vlen = u32::from_le_bytes(r.array()?) as usize;
                Op::Put(key, r.take(vlen)?.to_vec())
            }
            DELETE => Op::Delete(key),
            other => return Err(format!("update {i}: unknown kind {other:#04x}")),
        });
    }
    if r.left() != 0 {
        return Err(format!("{} bytes after the last update", r.left()));
    }
    Ok((seq, ops))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.left() {
            return Err(format!(
                "{n} bytes wanted at offset {}, {} left",
                self.at,
                self.left()
            ));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Op> {
        vec![
            Op::Put(b"card".to_vec(), b"{\"a\":1}".to_vec()),
            Op::Delete(b"obj/7".to_vec()),
            Op::Put(b"obj/8".to_vec(), vec![]),
        ]
    }

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        encode(42, &sample(), &mut out).unwrap();
        assert_eq!(
            decode(&out),
            Decoded::Record {
                seq: 42,
                ops: sample(),
                len: out.len()
            }
        );
    }

    #[test]
    fn every_truncation_is_torn() {
        let mut out = Vec::new();
        encode(1, &sample(), &mut out).unwrap();
        for cut in 0..out.len() {
            assert_eq!(decode(&out[..cut]), Decoded::Torn, "cut at {cut}");
        }
    }

    #[test]
    fn every_flipped_bit_is_caught() {
        let mut out = Vec::new();
        encode(1, &sample(), &mut out).unwrap();
        for byte in 0..out.len() {
            for bit in 0..8 {
                let mut bad = out.clone();
                bad[byte] ^= 1 << bit;
                match decode(&bad) {
                    Decoded::Record { .. } => panic!("flip at {byte}.{bit} went unnoticed"),
                    Decoded::Torn | Decoded::Corrupt(_) => {}
                }
            }
        }
    }

    #[test]
    fn hostile_counts_allocate_nothing() {
        // A well-checksummed record announcing four billion updates.
        let mut body = Vec::new();
        body.extend_from_slice(&1u64.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        let mut rec = Vec::new();
        rec.extend_from_slice(&(body.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        rec.extend_from_slice(&body);
        assert!(matches!(decode(&rec), Decoded::Corrupt(d) if d.contains("announced")));
    }

    #[test]
    fn oversized_input_is_refused_before_writing() {
        let mut out = Vec::new();
        let long_key = vec![0; MAX_KEY + 1];
        assert_eq!(
            encode(1, &[Op::Delete(long_key)], &mut out),
            Err(EncodeError::KeyTooLong(MAX_KEY + 1))
        );
        assert!(out.is_empty());
    }
}
