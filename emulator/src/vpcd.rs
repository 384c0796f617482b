//! The card side of a vpcd link: the emulator connects to pcscd's vpcd
//! driver (`jct emu --vpcd`), which plays the reader, so every PC/SC program
//! sees the emulated card in a reader named "Virtual PCD".
//!
//! In vsmartcard the driver is the TCP server and the virtual card the
//! client; the framing is [`gp::vpcd_frame`]'s. Writes have a timeout and
//! reads poll a stop flag, and frames are bounded by the 2-byte length, so a
//! silent or hostile driver cannot hang or exhaust the card.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gp::vpcd_frame::{write_frame, Frame, FrameError, FrameReader};

/// Why the link to the vpcd driver failed.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// Resolving, connecting or configuring the socket.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// A frame could not be read or written.
    #[error("vpcd {peer}: {source}")]
    Frame {
        peer: String,
        #[source]
        source: FrameError,
    },
}

/// Connects to the first address of `addr` that accepts within `timeout`.
fn connect_tcp(addr: &str, timeout: Duration) -> Result<(TcpStream, SocketAddr), VpcdError> {
    let io_error = |context: String| move |source| VpcdError::Io { context, source };
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(io_error(format!("resolving '{addr}'")))?
        .collect();
    let mut last_error = None;
    for candidate in &addrs {
        match TcpStream::connect_timeout(candidate, timeout) {
            Ok(stream) => return Ok((stream, *candidate)),
            Err(e) => last_error = Some(e),
        }
    }
    let error = last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address")
    });
    Err(io_error(format!(
        "connecting to pcscd's vpcd driver at {addr} (timeout {timeout:?})"
    ))(error))
}

/// How [`VpcdCard::serve`] ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEnd {
    /// The reader side closed the connection (pcscd stopped).
    PeerClosed,
    /// The stop flag was raised.
    Stopped,
}

/// The card side of a vpcd link: connects to pcscd's vpcd driver and
/// answers its frames.
pub struct VpcdCard {
    stream: TcpStream,
    reader: FrameReader,
    peer: String,
}

impl VpcdCard {
    /// How often [`VpcdCard::serve`] looks at its stop flag while idle.
    pub const POLL: Duration = Duration::from_millis(100);

    /// Connects to the driver (see [`pcscd_vpcd_default_addr`]).
    pub fn connect(addr: &str, timeout: Duration) -> Result<VpcdCard, VpcdError> {
        let (stream, peer) = connect_tcp(addr, timeout)?;
        let peer = peer.to_string();
        let setup = |source| VpcdError::Io {
            context: format!("vpcd {peer}: configuring socket"),
            source,
        };
        stream
            .set_read_timeout(Some(VpcdCard::POLL))
            .map_err(setup)?;
        stream.set_write_timeout(Some(timeout)).map_err(setup)?;
        crate::net::configure(&stream).map_err(setup)?;
        Ok(VpcdCard {
            stream,
            reader: FrameReader::new(),
            peer,
        })
    }

    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Answers frames until the driver disconnects or `stop` is raised.
    ///
    /// `handler` sees every frame. Its return value is sent back only where
    /// the protocol expects a reply, the ATR for [`Control::GetAtr`] and
    /// the response for an APDU, and must then not be empty; for power
    /// off, power on, reset and unknown codes it is ignored.
    pub fn serve<F>(&mut self, mut handler: F, stop: &AtomicBool) -> Result<ServeEnd, VpcdError>
    where
        F: FnMut(Frame) -> Vec<u8>,
    {
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(ServeEnd::Stopped);
            }
            let frame = match self
                .reader
                .read_frame(&mut crate::net::QuickAckReader(&self.stream))
            {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(ServeEnd::PeerClosed),
                Err(FrameError::TimedOut) => continue,
                Err(source) => return Err(self.frame_error("reading a frame", source)),
            };
            let what = describe_frame(&frame);
            let needs_reply = frame.expects_reply();
            let reply = handler(frame);
            if needs_reply {
                write_frame(&mut self.stream, &reply)
                    .map_err(|source| self.frame_error(&format!("answering {what}"), source))?;
            }
        }
    }

    fn frame_error(&self, what: &str, source: FrameError) -> VpcdError {
        VpcdError::Frame {
            peer: format!("{} ({what})", self.peer),
            source,
        }
    }
}

fn describe_frame(frame: &Frame) -> String {
    match frame {
        Frame::Control(control) => format!("control {:02X}", control.code()),
        Frame::Apdu(apdu) => format!("APDU {}", hex::encode_upper(apdu)),
    }
}
