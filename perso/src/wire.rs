//! The personalization socket's messages: binary, one per frame, the first
//! byte saying what it is. The key server opens the session with the
//! request's id, then sends commands (each with its timeout) and resets;
//! the station answers each with the card's response, the new ATR, or an
//! error. Command and response bytes pass through unchanged.
//!
//! ```text
//! key server -> station                 station -> key server
//! 01 id (UTF-8)          OPEN            81 atr                READY
//! 02 timeout(4, ms) apdu COMMAND         82 response (data+SW) RESPONSE
//! 03                     RESET           83 atr                ATR
//!                                        EE reason (UTF-8)     ERROR
//! ```

use crate::frame::{self, FrameError, MAX_PERSO};

pub const OPEN: u8 = 0x01;
pub const COMMAND: u8 = 0x02;
pub const RESET: u8 = 0x03;
pub const READY: u8 = 0x81;
pub const RESPONSE: u8 = 0x82;
pub const ATR: u8 = 0x83;
pub const ERROR: u8 = 0xEE;

/// Key server → station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Up {
    Open { id: String },
    Command { timeout_ms: u32, apdu: Vec<u8> },
    Reset,
}

/// Station → key server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    Ready { atr: Vec<u8> },
    Response(Vec<u8>),
    Atr(Vec<u8>),
    Error(String),
}

/// A frame that is none of the messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("personalization frame: {0}")]
pub struct WireError(pub String);

impl Up {
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Up::Open { id } => [&[OPEN][..], id.as_bytes()].concat(),
            Up::Command { timeout_ms, apdu } => {
                [&[COMMAND][..], &timeout_ms.to_be_bytes(), apdu].concat()
            }
            Up::Reset => vec![RESET],
        }
    }

    pub fn parse(body: &[u8]) -> Result<Up, WireError> {
        let (&kind, rest) = body
            .split_first()
            .ok_or_else(|| WireError("empty".into()))?;
        match kind {
            OPEN => Ok(Up::Open {
                id: String::from_utf8(rest.to_vec())
                    .map_err(|_| WireError("OPEN: the id is not UTF-8".into()))?,
            }),
            COMMAND => {
                if rest.len() < 4 + 4 {
                    return Err(WireError(format!(
                        "COMMAND of {} bytes: a timeout (4) and at least a 4-byte APDU header are needed",
                        rest.len()
                    )));
                }
                let (t, apdu) = rest.split_at(4);
                let mut timeout = [0u8; 4];
                timeout.copy_from_slice(t);
                Ok(Up::Command {
                    timeout_ms: u32::from_be_bytes(timeout),
                    apdu: apdu.to_vec(),
                })
            }
            RESET if rest.is_empty() => Ok(Up::Reset),
            RESET => Err(WireError("RESET carries no data".into())),
            other => Err(WireError(format!("unknown message type {other:02X}"))),
        }
    }

    pub fn to_frame(&self) -> Result<Vec<u8>, FrameError> {
        frame::encode(&self.to_bytes(), MAX_PERSO)
    }
}

impl Down {
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Down::Ready { atr } => [&[READY][..], atr].concat(),
            Down::Response(r) => [&[RESPONSE][..], r].concat(),
            Down::Atr(a) => [&[ATR][..], a].concat(),
            Down::Error(e) => [&[ERROR][..], e.as_bytes()].concat(),
        }
    }

    pub fn parse(body: &[u8]) -> Result<Down, WireError> {
        let (&kind, rest) = body
            .split_first()
            .ok_or_else(|| WireError("empty".into()))?;
        match kind {
            READY => Ok(Down::Ready { atr: rest.to_vec() }),
            RESPONSE if rest.len() >= 2 => Ok(Down::Response(rest.to_vec())),
            RESPONSE => Err(WireError(format!(
                "RESPONSE of {} byte(s) has no status word",
                rest.len()
            ))),
            ATR => Ok(Down::Atr(rest.to_vec())),
            ERROR => Ok(Down::Error(String::from_utf8_lossy(rest).into_owned())),
            other => Err(WireError(format!("unknown message type {other:02X}"))),
        }
    }

    pub fn to_frame(&self) -> Result<Vec<u8>, FrameError> {
        frame::encode(&self.to_bytes(), MAX_PERSO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for up in [
            Up::Open { id: "st-7".into() },
            Up::Command {
                timeout_ms: 30_000,
                apdu: vec![0x80, 0xCA, 0x9F, 0x7F, 0x00],
            },
            Up::Reset,
        ] {
            assert_eq!(Up::parse(&up.to_bytes()).unwrap(), up);
        }
        for down in [
            Down::Ready { atr: vec![0x3B] },
            Down::Response(vec![0x90, 0x00]),
            Down::Atr(vec![0x3B, 0x80]),
            Down::Error("card removed".into()),
        ] {
            assert_eq!(Down::parse(&down.to_bytes()).unwrap(), down);
        }
    }

    #[test]
    fn malformed_frames_are_named() {
        assert!(Up::parse(&[]).is_err());
        let e = Up::parse(&[COMMAND, 0, 0, 1]).unwrap_err();
        assert!(e.to_string().contains("COMMAND"), "{e}");
        assert!(Up::parse(&[RESET, 1]).is_err());
        assert!(Up::parse(&[0x77]).unwrap_err().to_string().contains("77"));
        assert!(Down::parse(&[RESPONSE, 0x90]).is_err());
    }
}
