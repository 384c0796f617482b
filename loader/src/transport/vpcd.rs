//! The reader side of a TCP link in vsmartcard's vpcd framing
//! ([`gp::vpcd_frame`]).
//!
//! [`VpcdClient`] connects, as the *reader* side, to a card that listens
//! (`jct emu --listen`, the jCardSim harness). It sends power on, get ATR and
//! APDUs, exactly the frames pcscd's vpcd driver would send. (The opposite
//! role, a card connecting to pcscd's driver, is the emulator's.)
//!
//! Connects and reads have timeouts, and frames are bounded by the 2-byte
//! length, so a silent or hostile peer cannot hang or exhaust us.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::{hex_upper, Transport, TransportError};
use gp::vpcd_frame::{write_control, write_frame, Control, FrameError, FrameReader};

/// How long a [`VpcdClient`] waits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For the TCP connection to be accepted.
    pub connect: Duration,
    /// For each response (ATR or APDU). Generous: a card may take seconds
    /// to write a large load file block or generate a key.
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(5),
            response: Duration::from_secs(30),
        }
    }
}

/// Connects to the first address of `addr` that accepts within `timeout`.
fn connect_tcp(addr: &str, timeout: Duration) -> Result<(TcpStream, SocketAddr), TransportError> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| TransportError::io(format!("resolving '{addr}'"), e, None))?
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
    Err(TransportError::io(
        format!("connecting to vpcd peer {addr}"),
        error,
        Some(timeout),
    ))
}

/// The reader side of a vpcd link: a [`Transport`] to a listening card.
pub struct VpcdClient {
    stream: TcpStream,
    reader: FrameReader,
    peer: String,
    atr: Vec<u8>,
    timeouts: Timeouts,
    /// Set after a failed exchange: the stream may hold a late answer, so
    /// the next response could be mistaken for the wrong command's.
    broken: bool,
}

impl VpcdClient {
    /// Connects with default [`Timeouts`], powers the card on and reads its
    /// ATR.
    pub fn connect(addr: &str) -> Result<VpcdClient, TransportError> {
        VpcdClient::connect_with(addr, Timeouts::default())
    }

    pub fn connect_with(addr: &str, timeouts: Timeouts) -> Result<VpcdClient, TransportError> {
        let (stream, peer) = connect_tcp(addr, timeouts.connect)?;
        let peer = peer.to_string();
        let setup = |e| TransportError::io(format!("vpcd {peer}: configuring socket"), e, None);
        stream
            .set_read_timeout(Some(timeouts.response))
            .map_err(setup)?;
        stream
            .set_write_timeout(Some(timeouts.response))
            .map_err(setup)?;
        // APDUs are small request/response pairs: Nagle would only add delay.
        stream.set_nodelay(true).map_err(setup)?;
        let mut client = VpcdClient {
            stream,
            reader: FrameReader::new(),
            peer,
            atr: Vec::new(),
            timeouts,
            broken: false,
        };
        client.atr = client.power_up(Control::PowerOn)?;
        Ok(client)
    }

    /// The peer's socket address.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Whether the card has gone (its end closed the link, or the link is
    /// unusable), checked without sending anything: a card station polls
    /// this between sessions to notice a card's removal without disturbing
    /// the card.
    pub fn is_gone(&mut self) -> bool {
        if self.broken {
            return true;
        }
        let mut probe = [0u8; 1];
        if self.stream.set_nonblocking(true).is_err() {
            return true;
        }
        let gone = match self.stream.peek(&mut probe) {
            Ok(0) => true,
            // Bytes nobody asked for: the link is out of step.
            Ok(_) => true,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        if self.stream.set_nonblocking(false).is_err() || gone {
            self.broken = true;
            return true;
        }
        false
    }

    /// Sends `control` (power on or reset), then asks for the ATR.
    fn power_up(&mut self, control: Control) -> Result<Vec<u8>, TransportError> {
        let what = match control {
            Control::Reset => "reset",
            _ => "power on",
        };
        self.guarded(what, |c| {
            write_control(&mut c.stream, control)?;
            write_control(&mut c.stream, Control::GetAtr)?;
            c.read_reply()
        })
    }

    fn read_reply(&mut self) -> Result<Vec<u8>, FrameError> {
        match self.reader.read_payload(&mut self.stream)? {
            Some(payload) => Ok(payload),
            None => Err(FrameError::Closed),
        }
    }

    /// Runs one request/response step; any failure leaves the link unusable
    /// and is reported with the peer and `what` was being done.
    fn guarded<R>(
        &mut self,
        what: &str,
        step: impl FnOnce(&mut VpcdClient) -> Result<R, FrameError>,
    ) -> Result<R, TransportError> {
        if self.broken {
            return Err(TransportError::io(
                format!("vpcd {}: {what}", self.peer),
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    "link abandoned after an earlier failure",
                ),
                None,
            ));
        }
        step(self).map_err(|source| {
            self.broken = true;
            let _ = self.stream.shutdown(Shutdown::Both);
            match source {
                FrameError::TimedOut => TransportError::Timeout {
                    context: format!("vpcd {}: {what}", self.peer),
                    timeout: self.timeouts.response,
                },
                source => TransportError::Frame {
                    peer: format!("{} ({what})", self.peer),
                    source,
                },
            }
        })
    }
}

impl Transport for VpcdClient {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if apdu.len() < 4 {
            // A 1-byte frame would even be taken for a control code.
            return Err(TransportError::BadCommand {
                command: hex_upper(apdu),
                reason: "shorter than the 4-byte header CLA INS P1 P2",
            });
        }
        let what = format!("APDU {}", hex_upper(apdu));
        self.guarded(&what, |c| {
            write_frame(&mut c.stream, apdu)?;
            c.read_reply()
        })
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.atr = self.power_up(Control::Reset)?;
        Ok(self.atr.clone())
    }

    fn atr(&self) -> Option<&[u8]> {
        Some(&self.atr)
    }

    fn describe(&self) -> String {
        format!("vpcd card at {}", self.peer)
    }
}

impl Drop for VpcdClient {
    fn drop(&mut self) {
        if !self.broken {
            // Tell the card the session is over; it may be gone already,
            // and there is no one to report a failure to.
            let _ = write_control(&mut self.stream, Control::PowerOff);
            let _ = self.stream.flush();
        }
    }
}
