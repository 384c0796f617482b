//! The paddings of Cipher and Signature: ISO 9797-1 methods 1 and 2 and
//! PKCS#5 (to the cipher's block size, as the API uses it for AES too).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    None,
    M1,
    M2,
    Pkcs5,
}

/// Pads a last chunk for encryption.
pub fn pad(data: &mut Vec<u8>, bs: usize, p: Pad) {
    match p {
        Pad::None => {}
        // ISO 9797-1 method 1: zeros up to the block (an empty message is
        // one block of zeros).
        Pad::M1 => {
            let n = if data.is_empty() {
                bs
            } else {
                (bs - data.len() % bs) % bs
            };
            data.resize(data.len() + n, 0);
        }
        Pad::M2 => {
            data.push(0x80);
            let n = (bs - data.len() % bs) % bs;
            data.resize(data.len() + n, 0);
        }
        Pad::Pkcs5 => {
            let n = bs - data.len() % bs;
            data.resize(data.len() + n, n as u8);
        }
    }
}

/// The length of decrypted data without its padding; None when the
/// padding is wrong. Method 1 cannot be told from data: nothing comes off.
pub fn unpad(data: &[u8], bs: usize, p: Pad) -> Option<usize> {
    match p {
        Pad::None | Pad::M1 => Some(data.len()),
        Pad::M2 => {
            let tail = data.len().saturating_sub(bs);
            let i = data[tail..].iter().rposition(|b| *b != 0)? + tail;
            (data[i] == 0x80).then_some(i)
        }
        Pad::Pkcs5 => {
            let n = usize::from(*data.last()?);
            let ok = (1..=bs).contains(&n)
                && data[data.len() - n..].iter().all(|b| usize::from(*b) == n);
            ok.then(|| data.len() - n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paddings_round_trip_and_bad_padding_is_refused() {
        for p in [Pad::M2, Pad::Pkcs5] {
            for len in 0..33 {
                let mut d = vec![0xA5u8; len];
                pad(&mut d, 16, p);
                assert_eq!(d.len() % 16, 0);
                assert!(d.len() > len);
                assert_eq!(unpad(&d, 16, p), Some(len), "{p:?} {len}");
            }
        }
        let mut d = vec![1u8; 16];
        pad(&mut d, 16, Pad::M1);
        assert_eq!(d.len(), 16);
        let mut e = Vec::new();
        pad(&mut e, 8, Pad::M1);
        assert_eq!(e, vec![0; 8]);
        assert_eq!(unpad(&[0u8; 16], 16, Pad::M2), None);
        assert_eq!(unpad(&[5u8; 16], 16, Pad::Pkcs5), Some(11));
        assert_eq!(unpad(&[17u8; 16], 16, Pad::Pkcs5), None);
        let mut bad = vec![3u8; 16];
        bad[14] = 2;
        assert_eq!(unpad(&bad, 16, Pad::Pkcs5), None);
        assert_eq!(unpad(&[0u8; 8], 8, Pad::Pkcs5), None);
    }
}
