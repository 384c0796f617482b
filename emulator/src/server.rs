//! Front ends: how readers reach the card.
//!
//! - [`serve_tcp`]: the card listens and speaks vsmartcard's vpcd framing
//!   as the *server*, one connection at a time — the loader's
//!   `--emu HOST:PORT` client (and the jCardSim harness clients) connect.
//! - [`serve_vpcd`]: the card connects to pcscd's vpcd driver, so every
//!   PC/SC program sees it in a "Virtual PCD" reader.
//!
//! Both map the framing's control codes onto the card: 01 power on, 02
//! reset, 00 power off, 04 ATR; every longer frame is an APDU. A reader
//! that goes away takes the power with it, so a LOAD or session broken
//! off by a disconnect leaves nothing behind.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gp::vpcd_frame::{write_frame, Control, Frame, FrameError, FrameReader};

use crate::vpcd::{ServeEnd, VpcdCard, VpcdError};

use crate::card::Card;

/// How often idle loops look at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// The shortest wait between two looks at the listener.
const ACCEPT_POLL_MIN: Duration = Duration::from_millis(1);
/// How long a reply may take to be written before the peer is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the front ends report, for logging.
#[derive(Debug)]
pub enum Event<'a> {
    /// A reader connected (TCP) or the link to pcscd was made (vpcd).
    Connected(&'a str),
    /// The reader went away; `error` says why when it was not a clean close.
    Disconnected {
        peer: &'a str,
        error: Option<String>,
    },
    /// A control frame.
    Control(Control),
    /// An APDU and the card's answer, with the card's note on it.
    Apdu {
        command: &'a [u8],
        response: &'a [u8],
        note: Option<&'a str>,
    },
    /// The applets' memory changed during the last APDU: each package's
    /// share now.
    Memory(&'a [crate::card::PackageMemory]),
}

/// Applies one frame to the card; returns the reply the framing expects
/// (the ATR or the response), empty for frames that get none.
pub fn handle_frame(card: &mut Card, frame: &Frame, observer: &mut dyn FnMut(&Event)) -> Vec<u8> {
    match frame {
        Frame::Control(control) => {
            observer(&Event::Control(*control));
            match control {
                Control::PowerOn => {
                    card.power_on();
                    Vec::new()
                }
                Control::Reset => {
                    card.reset();
                    Vec::new()
                }
                Control::PowerOff => {
                    card.power_off();
                    Vec::new()
                }
                Control::GetAtr => card.atr(),
                Control::Other(_) => Vec::new(),
            }
        }
        Frame::Apdu(apdu) => {
            let before = card.heap_usage();
            let response = card.transmit(apdu);
            observer(&Event::Apdu {
                command: apdu,
                response: &response,
                note: card.last_note(),
            });
            if card.heap_usage() != before {
                observer(&Event::Memory(&card.package_memory()));
            }
            response
        }
    }
}

/// Serves readers connecting to `listener` until `stop` is raised: one
/// connection at a time, the next one after the current one ends.
pub fn serve_tcp(listener: TcpListener, card: &mut Card, stop: &AtomicBool) -> io::Result<()> {
    serve_tcp_with(listener, card, stop, &mut |_| {})
}

/// [`serve_tcp`] with an observer of connections and APDUs.
pub fn serve_tcp_with(
    listener: TcpListener,
    card: &mut Card,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(&Event),
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // std has no accept with a timeout, so the listener is polled to see
    // the stop flag. Right after a connection the next one usually follows
    // at once (scripts running one jct command after another): poll every
    // millisecond then, backing off to POLL when idle.
    let mut idle = ACCEPT_POLL_MIN;
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, peer)) => {
                idle = ACCEPT_POLL_MIN;
                let name = peer.to_string();
                observer(&Event::Connected(&name));
                let error = serve_connection(stream, card, stop, observer).err();
                // The reader is gone: so is the card's power.
                card.power_off();
                observer(&Event::Disconnected {
                    peer: &name,
                    error: error.map(|e| e.to_string()),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(idle);
                idle = (idle * 2).min(POLL);
            }
            // A connection that died before it was accepted, or a signal:
            // nothing to do with the listener itself.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn serve_connection(
    mut stream: TcpStream,
    card: &mut Card,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(&Event),
) -> Result<(), FrameError> {
    let setup = FrameError::Io;
    stream.set_nonblocking(false).map_err(setup)?;
    stream.set_read_timeout(Some(POLL)).map_err(setup)?;
    stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(setup)?;
    crate::net::configure(&stream).map_err(setup)?;
    let mut reader = FrameReader::new();
    while !stop.load(Ordering::Relaxed) {
        let frame = match reader.read_frame(&mut crate::net::QuickAckReader(&stream)) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(()),
            Err(FrameError::TimedOut) => continue,
            Err(e) => return Err(e),
        };
        let reply = handle_frame(card, &frame, observer);
        if frame.expects_reply() {
            write_frame(&mut stream, &reply)?;
        }
    }
    Ok(())
}

/// Connects to pcscd's vpcd driver at `addr` and serves it until `stop`
/// is raised. When pcscd closes the link (it restarted), the card powers
/// off and reconnects once pcscd listens again.
pub fn serve_vpcd(
    addr: &str,
    card: &mut Card,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(&Event),
) -> Result<(), VpcdError> {
    let mut link = VpcdCard::connect(addr, Duration::from_secs(5))?;
    loop {
        let peer = link.peer().to_string();
        observer(&Event::Connected(&peer));
        let end = link.serve(|frame| handle_frame(card, &frame, observer), stop);
        card.power_off();
        match end {
            Ok(ServeEnd::Stopped) => return Ok(()),
            Ok(ServeEnd::PeerClosed) => observer(&Event::Disconnected {
                peer: &peer,
                error: None,
            }),
            Err(e) => observer(&Event::Disconnected {
                peer: &peer,
                error: Some(e.to_string()),
            }),
        }
        link = loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_secs(1));
            if let Ok(l) = VpcdCard::connect(addr, Duration::from_secs(5)) {
                break l;
            }
        };
    }
}

/// A flag that Ctrl-C (SIGINT) and SIGTERM raise, for the front ends'
/// `stop`. A second signal while the flag is up ends the process at once,
/// for a front end that does not return.
pub fn stop_on_signals() -> io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// The address a listener is bound to, for messages.
pub fn local_addr(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map(|a: SocketAddr| a.to_string())
        .unwrap_or_else(|_| "?".into())
}
