//! The card as the key server sees it: a [`loader::transport::Transport`]
//! over a station's personalization socket (TLS), so the loader's client,
//! plans and secure channel run on a remote card exactly as on a local one.

use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use loader::transport::{Transport, TransportError};

use crate::frame::{self, Decoder, MAX_PERSO};
use crate::wire::{Down, Up};

/// A personalization session with one card of a station.
pub struct RemoteCard {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    decoder: Decoder,
    peer: String,
    atr: Vec<u8>,
    timeout_ms: u32,
    commands: Arc<AtomicU64>,
}

fn io(context: String, text: impl Into<String>) -> TransportError {
    TransportError::Io {
        context,
        source: std::io::Error::other(text.into()),
    }
}

impl RemoteCard {
    /// Connects to `addr`, checks the station's certificate for
    /// `server_name`, and opens the session of request `id`.
    pub fn open(
        addr: &str,
        server_name: rustls::pki_types::ServerName<'static>,
        config: Arc<rustls::ClientConfig>,
        id: &str,
        timeout_ms: u32,
    ) -> Result<RemoteCard, TransportError> {
        let context = format!("station personalization socket {addr}");
        let stream =
            TcpStream::connect(addr).map_err(|e| TransportError::io(context.clone(), e, None))?;
        let _ = stream.set_nodelay(true);
        // The station answers within the command's timeout; allow it a margin.
        let wait = Duration::from_millis(u64::from(timeout_ms)) + Duration::from_secs(10);
        let _ = stream.set_read_timeout(Some(wait));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
        let conn = rustls::ClientConnection::new(config, server_name)
            .map_err(|e| io(context.clone(), e.to_string()))?;
        let mut card = RemoteCard {
            tls: rustls::StreamOwned::new(conn, stream),
            decoder: Decoder::new(MAX_PERSO),
            peer: addr.to_string(),
            atr: Vec::new(),
            timeout_ms,
            commands: Arc::new(AtomicU64::new(0)),
        };
        match card.exchange(&Up::Open { id: id.to_string() }, "OPEN")? {
            Down::Ready { atr } => card.atr = atr,
            other => return Err(io(context, format!("OPEN answered {other:?}"))),
        }
        Ok(card)
    }

    /// The count of command APDUs sent, shared: it can be read after the
    /// card has been handed to a client.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.commands)
    }

    fn exchange(&mut self, up: &Up, what: &str) -> Result<Down, TransportError> {
        let context = format!("station {}: {what}", self.peer);
        frame::write(&mut self.tls, &up.to_bytes(), MAX_PERSO)
            .map_err(|e| io(context.clone(), e.to_string()))?;
        let body = self
            .decoder
            .read_from(&mut self.tls)
            .map_err(|e| io(context.clone(), e.to_string()))?;
        match Down::parse(&body).map_err(|e| io(context.clone(), e.to_string()))? {
            Down::Error(e) => Err(io(context, e)),
            d => Ok(d),
        }
    }

    /// Ends the session (the station goes back to waiting for the result).
    pub fn close(mut self) {
        self.tls.conn.send_close_notify();
        let _ = std::io::Write::flush(&mut self.tls);
    }
}

impl Transport for RemoteCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        let up = Up::Command {
            timeout_ms: self.timeout_ms,
            apdu: apdu.to_vec(),
        };
        match self.exchange(&up, &format!("APDU {}", loader::transport::hex_upper(apdu)))? {
            Down::Response(r) => Ok(r),
            other => Err(io(
                format!("station {}", self.peer),
                format!("a command answered {other:?}"),
            )),
        }
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        match self.exchange(&Up::Reset, "RESET")? {
            Down::Atr(a) => {
                self.atr = a.clone();
                Ok(a)
            }
            other => Err(io(
                format!("station {}", self.peer),
                format!("RESET answered {other:?}"),
            )),
        }
    }

    fn atr(&self) -> Option<&[u8]> {
        Some(&self.atr)
    }

    fn describe(&self) -> String {
        format!("remote card at station {}", self.peer)
    }
}
