//! ISO/IEC 9797-1 padding method 2, GlobalPlatform's "'80' then '00's".
//!
//! GlobalPlatform always pads (a '80' is appended even when the data is
//! already block-aligned), both before MAC computation and before
//! encryption, so the padded length is always strictly greater than the
//! input length.

/// Appends `0x80` and then zeros up to the next multiple of `block`.
pub(crate) fn pad80(data: &[u8], block: usize) -> Vec<u8> {
    let block = block.max(1);
    let padded_len = (data.len() / block + 1) * block;
    let mut out = Vec::with_capacity(padded_len);
    out.extend_from_slice(data);
    out.push(0x80);
    out.resize(padded_len, 0x00);
    out
}

/// Strips method-2 padding: trailing zeros, then exactly one `0x80`, at most
/// one block in all. Returns `None` when the data is not validly padded.
pub(crate) fn unpad80(data: &[u8], block: usize) -> Option<&[u8]> {
    let marker = data.iter().rposition(|&b| b != 0x00)?;
    if data[marker] != 0x80 || data.len() - marker > block {
        return None;
    }
    Some(&data[..marker])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_always() {
        assert_eq!(pad80(&[], 8), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(pad80(&[1; 8], 8).len(), 16);
        assert_eq!(pad80(&[1; 7], 8), [1, 1, 1, 1, 1, 1, 1, 0x80]);
        assert_eq!(pad80(&[1; 10], 16).len(), 16);
    }

    #[test]
    fn unpads_round_trip_and_rejects_garbage() {
        for n in 0..40 {
            let data: Vec<u8> = (0..n as u8).collect();
            assert_eq!(unpad80(&pad80(&data, 16), 16), Some(&data[..]));
        }
        assert_eq!(unpad80(&[0; 16], 16), None);
        assert_eq!(unpad80(&[1, 2, 3, 0], 16), None);
        assert_eq!(unpad80(&[], 16), None);
        // Padding longer than a block is not padding.
        let mut long = vec![0x80];
        long.extend([0; 16]);
        assert_eq!(unpad80(&long, 16), None);
    }
}
