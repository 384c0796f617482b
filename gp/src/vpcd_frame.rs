//! vsmartcard's vpcd wire framing, shared by every side of a vpcd link.
//!
//! Each message is a 2-byte big-endian length followed by that many bytes.
//! A 1-byte message from the reader side is a control code (power off, power
//! on, reset, get ATR); any longer message is a command APDU. The card side
//! answers "get ATR" with the ATR and an APDU with its response, and sends
//! nothing back for the other control codes.
//!
//! Three programs speak this framing in jct, which is why it lives apart:
//! the loader's client to `jct emu --listen` (`loader::transport::vpcd::VpcdClient`),
//! the emulator's client to pcscd's vpcd driver (`emulator::vpcd::VpcdCard`),
//! and the emulator's TCP server, which reuses [`FrameReader`],
//! [`Frame`] and [`write_frame`] directly.

use std::io::{self, Read, Write};

/// Largest payload the 2-byte length can describe. Every frame is bounded
/// by it, so a hostile peer cannot make a reader allocate more.
pub const MAX_PAYLOAD: usize = u16::MAX as usize;

/// The TCP port pcscd's vpcd driver listens on for its first reader.
pub const VPCD_DEFAULT_PORT: u16 = 0x8C7B; // 35963

/// Where pcscd's vpcd driver listens for its first virtual reader.
pub fn pcscd_vpcd_default_addr() -> String {
    format!("127.0.0.1:{VPCD_DEFAULT_PORT}")
}

/// A 1-byte control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `00`: remove power from the card. No reply.
    PowerOff,
    /// `01`: power the card up. No reply.
    PowerOn,
    /// `02`: warm reset. No reply.
    Reset,
    /// `04`: send the ATR. Replied to with the ATR.
    GetAtr,
    /// A code this version does not know; ignored, never replied to.
    Other(u8),
}

impl Control {
    pub fn from_code(code: u8) -> Control {
        match code {
            0x00 => Control::PowerOff,
            0x01 => Control::PowerOn,
            0x02 => Control::Reset,
            0x04 => Control::GetAtr,
            other => Control::Other(other),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Control::PowerOff => 0x00,
            Control::PowerOn => 0x01,
            Control::Reset => 0x02,
            Control::GetAtr => 0x04,
            Control::Other(code) => code,
        }
    }
}

/// A message from the reader side, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Control(Control),
    Apdu(Vec<u8>),
}

impl Frame {
    /// Classifies a received payload: one byte is a control code, more is
    /// an APDU. An empty payload has no meaning in the protocol.
    pub fn classify(payload: Vec<u8>) -> Result<Frame, FrameError> {
        match payload.as_slice() {
            [] => Err(FrameError::Empty),
            [code] => Ok(Frame::Control(Control::from_code(*code))),
            _ => Ok(Frame::Apdu(payload)),
        }
    }

    /// Whether the card side must send a frame back (ATR or APDU response).
    pub fn expects_reply(&self) -> bool {
        matches!(self, Frame::Control(Control::GetAtr) | Frame::Apdu(_))
    }

    /// The payload that carries this frame on the wire.
    pub fn to_payload(&self) -> Vec<u8> {
        match self {
            Frame::Control(control) => vec![control.code()],
            Frame::Apdu(apdu) => apdu.clone(),
        }
    }
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("{0}")]
    Io(#[source] io::Error),
    /// The read timeout expired; with [`FrameReader`] any partial frame is
    /// kept and the next call resumes it.
    #[error("timed out waiting for data")]
    TimedOut,
    #[error("connection closed by the peer")]
    Closed,
    #[error("connection closed inside a frame ({received} of {expected} bytes received)")]
    ClosedMidFrame { received: usize, expected: usize },
    #[error("empty frame (length 0)")]
    Empty,
    #[error("payload of {len} bytes exceeds the {MAX_PAYLOAD}-byte frame limit")]
    TooLarge { len: usize },
}

/// Incremental frame reader that survives read timeouts.
///
/// A socket with a short read timeout lets a server loop notice a shutdown
/// request; the timeout may strike in the middle of a frame, so progress is
/// kept here rather than in the stack of one `read_exact` call.
#[derive(Debug, Default)]
pub struct FrameReader {
    header: [u8; 2],
    header_filled: usize,
    payload: Vec<u8>,
    payload_filled: usize,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// True when no frame has been partially read.
    pub fn is_idle(&self) -> bool {
        self.header_filled == 0
    }

    /// Reads one whole payload. `Ok(None)` means the peer closed the
    /// connection between frames (a clean end).
    pub fn read_payload<R: Read>(&mut self, r: &mut R) -> Result<Option<Vec<u8>>, FrameError> {
        while self.header_filled < 2 {
            let n = read_some(r, &mut self.header[self.header_filled..])?;
            if n == 0 {
                return if self.header_filled == 0 {
                    Ok(None)
                } else {
                    Err(self.closed_mid_frame())
                };
            }
            self.header_filled += n;
            if self.header_filled == 2 {
                let len = usize::from(u16::from_be_bytes(self.header));
                self.payload = vec![0; len];
                self.payload_filled = 0;
            }
        }
        while self.payload_filled < self.payload.len() {
            let n = read_some(r, &mut self.payload[self.payload_filled..])?;
            if n == 0 {
                return Err(self.closed_mid_frame());
            }
            self.payload_filled += n;
        }
        self.header_filled = 0;
        self.payload_filled = 0;
        Ok(Some(std::mem::take(&mut self.payload)))
    }

    /// Reads and classifies one message from the reader side.
    pub fn read_frame<R: Read>(&mut self, r: &mut R) -> Result<Option<Frame>, FrameError> {
        match self.read_payload(r)? {
            None => Ok(None),
            Some(payload) => Frame::classify(payload).map(Some),
        }
    }

    fn closed_mid_frame(&self) -> FrameError {
        let expected = if self.header_filled < 2 {
            2
        } else {
            2 + self.payload.len()
        };
        let received = if self.header_filled < 2 {
            self.header_filled
        } else {
            2 + self.payload_filled
        };
        FrameError::ClosedMidFrame { received, expected }
    }
}

/// One `read` call, retrying on EINTR and mapping timeouts to
/// [`FrameError::TimedOut`] (sockets report them as `WouldBlock` on Unix and
/// `TimedOut` on Windows).
fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, FrameError> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(FrameError::TimedOut),
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Writes one frame (length and payload in a single write, then flush).
pub fn write_frame<W: Write>(w: &mut W, payload: &[u8]) -> Result<(), FrameError> {
    if payload.is_empty() {
        return Err(FrameError::Empty);
    }
    let len =
        u16::try_from(payload.len()).map_err(|_| FrameError::TooLarge { len: payload.len() })?;
    let mut buf = Vec::with_capacity(2 + payload.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(payload);
    let io_err = |e: io::Error| {
        if is_timeout(&e) {
            FrameError::TimedOut
        } else {
            FrameError::Io(e)
        }
    };
    w.write_all(&buf).map_err(io_err)?;
    w.flush().map_err(io_err)
}

/// Writes a 1-byte control frame.
pub fn write_control<W: Write>(w: &mut W, control: Control) -> Result<(), FrameError> {
    write_frame(w, &[control.code()])
}

/// Reads one payload with a fresh reader: for blocking callers that treat a
/// timeout as fatal anyway.
pub fn read_payload<R: Read>(r: &mut R) -> Result<Option<Vec<u8>>, FrameError> {
    FrameReader::new().read_payload(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its data in fixed-size pieces with a timeout
    /// between each, to exercise resumption.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        piece: usize,
        timeout_next: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.timeout_next {
                self.timeout_next = false;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.timeout_next = true;
            let n = self.piece.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn write_then_read_classifies() {
        let mut wire = Vec::new();
        write_control(&mut wire, Control::PowerOn).unwrap();
        write_control(&mut wire, Control::GetAtr).unwrap();
        write_frame(&mut wire, &[0x00, 0xA4, 0x04, 0x00]).unwrap();
        write_control(&mut wire, Control::Other(0x07)).unwrap();
        assert_eq!(&wire[..3], &[0, 1, 1]);
        let mut r = &wire[..];
        let mut fr = FrameReader::new();
        assert_eq!(
            fr.read_frame(&mut r).unwrap(),
            Some(Frame::Control(Control::PowerOn))
        );
        let atr = fr.read_frame(&mut r).unwrap().unwrap();
        assert!(atr.expects_reply());
        assert_eq!(
            fr.read_frame(&mut r).unwrap(),
            Some(Frame::Apdu(vec![0x00, 0xA4, 0x04, 0x00]))
        );
        assert_eq!(
            fr.read_frame(&mut r).unwrap(),
            Some(Frame::Control(Control::Other(7)))
        );
        assert_eq!(fr.read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn resumes_after_timeouts() {
        let mut data = Vec::new();
        write_frame(&mut data, &[1, 2, 3, 4, 5, 6, 7]).unwrap();
        let mut r = Trickle {
            data,
            pos: 0,
            piece: 1,
            timeout_next: false,
        };
        let mut fr = FrameReader::new();
        let mut timeouts = 0;
        let payload = loop {
            match fr.read_payload(&mut r) {
                Ok(p) => break p,
                Err(FrameError::TimedOut) => timeouts += 1,
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(payload, Some(vec![1, 2, 3, 4, 5, 6, 7]));
        assert!(timeouts >= 8);
        assert!(fr.is_idle());
    }

    #[test]
    fn malformed_streams_are_errors() {
        let mut r: &[u8] = &[0x00];
        assert!(matches!(
            read_payload(&mut r),
            Err(FrameError::ClosedMidFrame {
                received: 1,
                expected: 2
            })
        ));
        let mut r: &[u8] = &[0x00, 0x05, 1, 2];
        assert!(matches!(
            read_payload(&mut r),
            Err(FrameError::ClosedMidFrame {
                received: 4,
                expected: 7
            })
        ));
        let mut r: &[u8] = &[0x00, 0x00];
        assert!(matches!(
            FrameReader::new().read_frame(&mut r),
            Err(FrameError::Empty)
        ));
        let mut sink = Vec::new();
        assert!(matches!(
            write_frame(&mut sink, &vec![0; MAX_PAYLOAD + 1]),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(matches!(
            write_frame(&mut sink, &[]),
            Err(FrameError::Empty)
        ));
        write_frame(&mut sink, &vec![0xAB; MAX_PAYLOAD]).unwrap();
        assert_eq!(
            read_payload(&mut &sink[..]).unwrap().unwrap().len(),
            MAX_PAYLOAD
        );
    }
}
