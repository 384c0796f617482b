//! The response as the transmission protocol delivers it (ISO/IEC 7816-3
//! 12.2, ISO/IEC 7816-4 5.3.4), and GET RESPONSE (INS C0).
//!
//! Commands produce their whole response; this module cuts it to what
//! the terminal asked for. More data than Ne comes as Ne bytes and 61xx,
//! the rest with GET RESPONSE on the same logical channel. Under T=0 a
//! command that carried data (case 3 or 4) returns no data at all, only
//! 61xx (its TPDU has no Le), and a case 2 command whose Le is longer than
//! the response gets 6Cxx: the terminal sends it again with Le = xx and
//! gets the data, without the command running twice (the JCRE holds the
//! applet's response, as a card does while it waits for the reissue).

use gp::apdu::CommandApdu;

use crate::card::{logical_channel, Pending};
use crate::natives::apdu::PROTOCOL_T0;
use crate::sw;

/// GET RESPONSE.
pub const INS_GET_RESPONSE: u8 = 0xC0;

/// A response ready for the terminal, and what it must fetch later.
#[derive(Debug)]
pub struct Shaped {
    pub bytes: Vec<u8>,
    pub pending: Option<Pending>,
    pub note: Option<String>,
}

/// 61xx: xx more bytes are available (00: 256 or more).
fn more(n: usize) -> u16 {
    0x6100 | u16::from(u8::try_from(n).unwrap_or(0))
}

/// 6Cxx: the right Le is xx (00: 256; a response is at most 256 bytes
/// when T=0 asks for the right Le).
fn exact(n: usize) -> u16 {
    0x6C00 | u16::from(u8::try_from(n).unwrap_or(0))
}

/// Cuts the response `bytes` (data and status word) of `cmd`, sent on
/// logical channel `channel`, to what the protocol and Le allow.
pub fn shape(protocol: u8, channel: u8, cmd: &CommandApdu, bytes: Vec<u8>) -> Shaped {
    let as_is = |bytes: Vec<u8>| Shaped {
        bytes,
        pending: None,
        note: None,
    };
    if bytes.len() <= 2 {
        return as_is(bytes);
    }
    let (data, trailer) = bytes.split_at(bytes.len() - 2);
    let status = u16::from_be_bytes([trailer[0], trailer[1]]);
    let ne = cmd.ne();
    if protocol == PROTOCOL_T0 {
        let case2 = cmd.data().is_empty() && ne.is_some();
        if !case2 {
            return wait(channel, data.to_vec(), status, None, more(data.len()));
        }
        if ne.is_some_and(|n| data.len() < n) {
            return wait(
                channel,
                data.to_vec(),
                status,
                Some(cmd.header()),
                exact(data.len()),
            );
        }
    }
    // No Le (cases 1 and 3): as much as a short response holds.
    let ne = ne.unwrap_or(256);
    if data.len() <= ne {
        return as_is(bytes);
    }
    let (now, rest) = data.split_at(ne);
    Shaped {
        bytes: sw::encode(now, more(rest.len())),
        pending: Some(Pending {
            channel,
            data: rest.to_vec(),
            sw: status,
            reissue: None,
        }),
        note: Some(format!(
            "{} more byte(s) for GET RESPONSE on logical channel {channel}",
            rest.len()
        )),
    }
}

/// The response held back entirely: only `status` (61xx or 6Cxx) now.
fn wait(
    channel: u8,
    data: Vec<u8>,
    sw_final: u16,
    reissue: Option<[u8; 4]>,
    status: u16,
) -> Shaped {
    let n = data.len();
    Shaped {
        bytes: sw::encode(&[], status),
        pending: Some(Pending {
            channel,
            data,
            sw: sw_final,
            reissue,
        }),
        note: Some(format!(
            "T=0: {n} byte(s) wait for {} on logical channel {channel}",
            if reissue.is_some() {
                "the command again with the right Le"
            } else {
                "GET RESPONSE"
            }
        )),
    }
}

/// The answer to `cmd` when it fetches (part of) the pending response:
/// GET RESPONSE on its channel, or the reissue a 6Cxx asked for. `None`:
/// `cmd` is another command, and the pending response is dropped.
pub fn continue_pending(protocol: u8, p: Pending, cmd: &CommandApdu) -> Option<Shaped> {
    if logical_channel(cmd.cla()) != p.channel {
        return None;
    }
    if let Some(header) = p.reissue {
        let right_le = cmd.ne() == Some(p.data.len()) || (p.data.is_empty() && cmd.ne().is_none());
        if cmd.header() == header && cmd.data().is_empty() && right_le {
            return Some(Shaped {
                bytes: sw::encode(&p.data, p.sw),
                pending: None,
                note: None,
            });
        }
    }
    if cmd.ins() != INS_GET_RESPONSE || cmd.cla() & 0x80 != 0 || p.reissue.is_some() {
        return None;
    }
    if cmd.p1() != 0 || cmd.p2() != 0 || !cmd.data().is_empty() {
        return Some(Shaped {
            bytes: sw::encode(&[], sw::BAD_P1P2),
            note: Some("GET RESPONSE takes P1 P2 00 00 and no data".into()),
            pending: Some(p),
        });
    }
    let ne = cmd.ne().unwrap_or(256);
    if protocol == PROTOCOL_T0 && ne > p.data.len() {
        let n = p.data.len();
        return Some(Shaped {
            bytes: sw::encode(&[], exact(n)),
            note: Some(format!("GET RESPONSE: {n} byte(s) remain")),
            pending: Some(p),
        });
    }
    let n = ne.min(p.data.len());
    let (now, rest) = p.data.split_at(n);
    if rest.is_empty() {
        return Some(Shaped {
            bytes: sw::encode(now, p.sw),
            pending: None,
            note: None,
        });
    }
    Some(Shaped {
        bytes: sw::encode(now, more(rest.len())),
        pending: Some(Pending {
            data: rest.to_vec(),
            ..p
        }),
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(bytes: &[u8]) -> CommandApdu {
        CommandApdu::parse(bytes).unwrap()
    }

    #[test]
    fn t1_longer_than_le_chains_with_61xx() {
        let p = 1;
        let data: Vec<u8> = (0..10).collect();
        let s = shape(
            p,
            1,
            &cmd(&[0x01, 0x10, 0, 0, 4]),
            sw::encode(&data, 0x9000),
        );
        assert_eq!(s.bytes, [0, 1, 2, 3, 0x61, 6]);
        let pending = s.pending.unwrap();
        // Another channel's command drops it.
        assert!(continue_pending(p, pending.clone(), &cmd(&[0x00, 0xC0, 0, 0, 0])).is_none());
        let next = continue_pending(p, pending, &cmd(&[0x01, 0xC0, 0, 0, 2])).unwrap();
        assert_eq!(next.bytes, [4, 5, 0x61, 4]);
        let last =
            continue_pending(p, next.pending.unwrap(), &cmd(&[0x01, 0xC0, 0, 0, 0])).unwrap();
        assert_eq!(last.bytes, [6, 7, 8, 9, 0x90, 0]);
        assert!(last.pending.is_none());
    }

    #[test]
    fn t0_case4_waits_and_case2_asks_for_the_right_le() {
        let p = 0;
        let s = shape(
            p,
            0,
            &cmd(&[0x80, 0x10, 0, 0, 1, 0xAA, 0]),
            sw::encode(&[1, 2, 3], 0x9000),
        );
        assert_eq!(s.bytes, [0x61, 3]);
        // Le too long for what is left: 6Cxx, then the right Le.
        let again = continue_pending(p, s.pending.unwrap(), &cmd(&[0x00, 0xC0, 0, 0, 5])).unwrap();
        assert_eq!(again.bytes, [0x6C, 3]);
        let done =
            continue_pending(p, again.pending.unwrap(), &cmd(&[0x00, 0xC0, 0, 0, 3])).unwrap();
        assert_eq!(done.bytes, [1, 2, 3, 0x90, 0]);
        // Case 2 with Le 00: 6C03, and the reissued command gets the data.
        let s = shape(
            p,
            0,
            &cmd(&[0x80, 0x20, 0, 0, 0]),
            sw::encode(&[7, 8, 9], 0x9000),
        );
        assert_eq!(s.bytes, [0x6C, 3]);
        let done = continue_pending(p, s.pending.unwrap(), &cmd(&[0x80, 0x20, 0, 0, 3])).unwrap();
        assert_eq!(done.bytes, [7, 8, 9, 0x90, 0]);
    }
}
