//! Secure messaging details both protocols share: the CLA indication, the
//! trailing 8-byte MAC, and constant-time comparison of MACs.

use subtle::ConstantTimeEq;

/// Length of a C-MAC or R-MAC on the wire.
pub(crate) const MAC_LEN: usize = 8;

/// First interindustry CLA bit pattern (channels 0-3) marks secure
/// messaging with b3 ('04'); further interindustry CLAs (channels 4-19,
/// b7 set) with b6 ('20').
fn sm_bit(cla: u8) -> u8 {
    if cla & 0x40 == 0 {
        0x04
    } else {
        0x20
    }
}

/// The CLA announcing GlobalPlatform secure messaging.
pub(crate) fn secure_cla(cla: u8) -> u8 {
    cla | sm_bit(cla)
}

/// The CLA without the secure messaging indication.
pub(crate) fn plain_cla(cla: u8) -> u8 {
    cla & !sm_bit(cla)
}

/// Whether the CLA announces secure messaging.
pub(crate) fn is_secured(cla: u8) -> bool {
    cla & sm_bit(cla) != 0
}

/// Splits `body || MAC`.
pub(crate) fn split_mac(data: &[u8]) -> Option<(&[u8], [u8; MAC_LEN])> {
    let at = data.len().checked_sub(MAC_LEN)?;
    let (body, mac) = data.split_at(at);
    Some((body, mac.try_into().ok()?))
}

/// Splits `body || MAC` for a MAC of `len` bytes (SCP03 S16 mode has 16).
pub(crate) fn split_mac_len(data: &[u8], len: usize) -> Option<(&[u8], &[u8])> {
    let at = data.len().checked_sub(len)?;
    Some(data.split_at(at))
}

/// Constant-time equality, so a mismatch position leaks nothing.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// `header` as four bytes in hex, to name a command in an error.
pub(crate) fn describe(header: [u8; 4]) -> String {
    format!("command {}", hex::encode_upper(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cla_bits() {
        assert_eq!(secure_cla(0x80), 0x84);
        assert_eq!(secure_cla(0x81), 0x85);
        assert_eq!(secure_cla(0x00), 0x04);
        assert_eq!(secure_cla(0xC0), 0xE0);
        assert_eq!(plain_cla(0x84), 0x80);
        assert_eq!(plain_cla(0xE1), 0xC1);
        assert!(is_secured(0x84) && !is_secured(0x80));
        assert!(split_mac(&[0; 7]).is_none());
        assert_eq!(split_mac(&[1; 8]).unwrap().0.len(), 0);
    }
}
