//! Decoding of the "modified UTF-8" that class files store strings in
//! (JVMS 4.4.7).
//!
//! It differs from standard UTF-8 in two ways that matter here: NUL is written
//! as the two bytes `C0 80` (so no string contains a zero byte), and characters
//! outside the Basic Multilingual Plane are written as their UTF-16 surrogate
//! pair, each half encoded as three bytes. Standard four-byte sequences never
//! occur. A lone surrogate is legal in a class file but cannot be held by a
//! Rust `String`, so it is reported as an error rather than silently replaced.

/// Decodes modified UTF-8; on failure returns the offset of the bad byte
/// within `bytes` and what is wrong with it.
pub fn decode(bytes: &[u8]) -> Result<String, (usize, String)> {
    // Plain ASCII without NUL is by far the common case and needs no work.
    if bytes.iter().all(|&b| (1..0x80).contains(&b)) {
        return Ok(bytes.iter().map(|&b| b as char).collect());
    }
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (unit, len) = code_unit(bytes, i)?;
        if (0xD800..0xDC00).contains(&unit) {
            // A high surrogate must be followed by a low one, written as a
            // second three-byte sequence.
            let low = match bytes.get(i + len) {
                Some(_) => code_unit(bytes, i + len)?,
                None => (0, 0),
            };
            if !(0xDC00..0xE000).contains(&low.0) {
                return Err((i, format!("unpaired high surrogate U+{unit:04X}")));
            }
            let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low.0) - 0xDC00);
            // Both halves are in range, so `c` is a valid supplementary character.
            out.push(char::from_u32(c).ok_or((i, format!("bad surrogate pair U+{c:X}")))?);
            i += len + low.1;
        } else if (0xDC00..0xE000).contains(&unit) {
            return Err((i, format!("unpaired low surrogate U+{unit:04X}")));
        } else {
            // Not a surrogate, so always a valid char.
            out.push(char::from_u32(u32::from(unit)).ok_or((i, "bad character".to_string()))?);
            i += len;
        }
    }
    Ok(out)
}

/// Reads one UTF-16 code unit at `i`: its value and how many bytes encoded it.
/// Rejects bytes that modified UTF-8 never uses and over-long forms (other
/// than `C0 80`, which is how NUL must be written).
fn code_unit(bytes: &[u8], i: usize) -> Result<(u16, usize), (usize, String)> {
    let b0 = bytes[i];
    let cont = |k: usize| -> Result<u16, (usize, String)> {
        match bytes.get(i + k) {
            Some(&b) if b & 0xC0 == 0x80 => Ok(u16::from(b & 0x3F)),
            Some(&b) => Err((
                i + k,
                format!("byte {b:#04x} is not a continuation byte of the sequence at offset {i}"),
            )),
            None => Err((i, format!("sequence starting with {b0:#04x} is cut off"))),
        }
    };
    match b0 {
        0 => Err((i, "zero byte (NUL must be written as C0 80)".into())),
        0x01..=0x7F => Ok((u16::from(b0), 1)),
        0xC0..=0xDF => {
            let v = (u16::from(b0 & 0x1F) << 6) | cont(1)?;
            if v != 0 && v < 0x80 {
                return Err((i, format!("over-long two-byte form of U+{v:04X}")));
            }
            Ok((v, 2))
        }
        0xE0..=0xEF => {
            let v = (u16::from(b0 & 0x0F) << 12) | (cont(1)? << 6) | cont(2)?;
            if v < 0x800 {
                return Err((i, format!("over-long three-byte form of U+{v:04X}")));
            }
            Ok((v, 3))
        }
        _ => Err((
            i,
            format!("byte {b0:#04x} cannot start a character in modified UTF-8"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn ascii_and_nul() {
        assert_eq!(decode(b"abc").unwrap(), "abc");
        assert_eq!(decode(&[b'a', 0xC0, 0x80, b'b']).unwrap(), "a\0b");
        assert_eq!(decode(&[]).unwrap(), "");
    }

    #[test]
    fn two_and_three_bytes() {
        assert_eq!(decode(&[0xC3, 0xA9]).unwrap(), "é");
        assert_eq!(decode(&[0xE2, 0x82, 0xAC]).unwrap(), "€");
    }

    #[test]
    fn surrogate_pair_is_one_char() {
        // U+1F600 = D83D DE00
        let b = [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80];
        assert_eq!(decode(&b).unwrap(), "\u{1F600}");
    }

    #[test]
    fn rejects() {
        for bad in [
            &[0x00][..],
            &[0xF0, 0x9F, 0x98, 0x80],
            &[0xC3],
            &[0xE2, 0x82],
            &[0xC3, 0x41],
            &[0x80],
            &[0xC1, 0x81],
            &[0xE0, 0x80, 0x80],
            &[0xED, 0xA0, 0xBD],
            &[0xED, 0xA0, 0xBD, b'x'],
            &[0xED, 0xB8, 0x80],
            &[0xFF],
        ] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
        let (off, msg) = decode(&[b'a', b'b', 0xED, 0xB8, 0x80]).unwrap_err();
        assert_eq!(off, 2);
        assert!(msg.contains("low surrogate U+DE00"), "{msg}");
    }
}
