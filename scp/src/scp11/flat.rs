//! A flat, bounded BER-TLV reader for SCP11 certificates.
//!
//! GP's certificate format uses tags such as B0 and F0 for primitive
//! values although their constructed bit is set, so a generic BER parser
//! that descends on that bit misreads them. This reader splits one level
//! into data objects and never descends on its own: the certificate code
//! descends where the format says (7F21, 7F49, BF21).

/// One data object: its tag as a number, its value, and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    pub tag: u32,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// Splits `input` into data objects; every length is checked against what
/// remains, and errors name the offset.
pub fn objects(input: &[u8]) -> Result<Vec<Object<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < input.len() {
        let start = pos;
        let first = input[pos];
        pos += 1;
        let mut tag = u32::from(first);
        if first & 0x1F == 0x1F {
            loop {
                let b = *input
                    .get(pos)
                    .ok_or_else(|| format!("offset {start}: input ends inside a tag"))?;
                pos += 1;
                if pos - start > 3 {
                    return Err(format!("offset {start}: tag longer than 3 bytes"));
                }
                tag = tag << 8 | u32::from(b);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let l0 = *input.get(pos).ok_or_else(|| {
            format!("offset {start}: input ends before the length of tag {tag:X}")
        })?;
        pos += 1;
        let len = match l0 {
            0..=0x7F => usize::from(l0),
            0x81 | 0x82 => {
                let n = usize::from(l0 & 0x7F);
                let bytes = input.get(pos..pos + n).ok_or_else(|| {
                    format!("offset {start}: input ends inside the length of tag {tag:X}")
                })?;
                pos += n;
                bytes.iter().fold(0usize, |a, b| a << 8 | usize::from(*b))
            }
            _ => {
                return Err(format!(
                    "offset {start}: length byte {l0:02X} of tag {tag:X} not supported"
                ))
            }
        };
        let end = pos
            .checked_add(len)
            .filter(|e| *e <= input.len())
            .ok_or_else(|| {
                format!(
                    "offset {start}: value of tag {tag:X} needs {len} bytes but only {} remain",
                    input.len() - pos
                )
            })?;
        out.push(Object {
            tag,
            value: &input[pos..end],
            raw: &input[start..end],
        });
        pos = end;
    }
    Ok(out)
}

/// Encodes one data object with a minimal length.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = tag
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let _ = gp::tlv::encode_length(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_bounds() {
        let enc = [
            encode(0x7F49, &encode(0xB0, &[4, 1, 2])),
            encode(0x93, &[1]),
        ]
        .concat();
        let objs = objects(&enc).unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].tag, 0x7F49);
        let inner = objects(objs[0].value).unwrap();
        assert_eq!((inner[0].tag, inner[0].value), (0xB0, &[4u8, 1, 2][..]));
        assert!(objects(&[0x93, 0x05, 1])
            .unwrap_err()
            .contains("needs 5 bytes"));
        assert!(objects(&[0x5F]).is_err());
        assert!(objects(&[0x93, 0x84, 0, 0, 0, 1]).is_err());
    }
}
