//! [`Replay`]: a transport that plays a recorded trace back.
//!
//! Replays make card sessions reproducible without a card: every command the
//! loader sends must equal the next recorded `>>` line byte for byte, and
//! the recorded `<<` line is the answer. Any divergence is an error naming
//! the trace line, the expected and the actual command, which makes a
//! replay a regression test of the exact APDUs the loader produces.
//!
//! A secure channel session only replays if the host challenge is the
//! recorded one; [`Replay::host_challenge`] digs it out of the trace so the
//! caller can inject it instead of drawing a random one.

use std::path::Path;

use super::trace_file::{self, RecordedExchange, Trace};
use super::{hex_upper, Transport, TransportError};

/// Plays back a trace file; see [`super::trace_file`] for the format.
#[derive(Debug, Clone)]
pub struct Replay {
    name: String,
    trace: Trace,
    next: usize,
}

impl Replay {
    /// Reads and parses a trace file.
    pub fn open(path: impl AsRef<Path>) -> Result<Replay, TransportError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            TransportError::io(format!("reading trace file {}", path.display()), e, None)
        })?;
        Replay::from_text(&path.display().to_string(), &text)
    }

    /// Parses trace text; `name` stands for the file in messages.
    pub fn from_text(name: &str, text: &str) -> Result<Replay, TransportError> {
        Ok(Replay {
            name: name.to_string(),
            trace: trace_file::parse(name, text)?,
            next: 0,
        })
    }

    /// The recorded exchanges, in order.
    pub fn exchanges(&self) -> &[RecordedExchange] {
        &self.trace.exchanges
    }

    /// How many recorded exchanges have not been replayed yet.
    pub fn remaining(&self) -> usize {
        self.trace.exchanges.len().saturating_sub(self.next)
    }

    /// The 8-byte data field of the first INITIALIZE UPDATE in the trace
    /// (CLA `80` or `84`, on any of the basic logical channels 0-3, INS
    /// `50`, Lc `08`): the host challenge the recorded session used.
    pub fn host_challenge(&self) -> Option<[u8; 8]> {
        self.trace.exchanges.iter().find_map(|ex| {
            let c = &ex.command;
            let is_initialize_update =
                c.len() >= 13 && (0x80..=0x87).contains(&c[0]) && c[1] == 0x50 && c[4] == 8;
            if !is_initialize_update {
                return None;
            }
            c.get(5..13)?.try_into().ok()
        })
    }

    /// Succeeds only when every recorded exchange was replayed.
    pub fn finish(self) -> Result<(), TransportError> {
        match self.trace.exchanges.get(self.next) {
            None => Ok(()),
            Some(next) => Err(TransportError::ReplayUnconsumed {
                path: self.name.clone(),
                remaining: self.remaining(),
                line: next.line,
                command: hex_upper(&next.command),
            }),
        }
    }
}

impl Transport for Replay {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let expected =
            self.trace
                .exchanges
                .get(self.next)
                .ok_or_else(|| TransportError::ReplayExhausted {
                    path: self.name.clone(),
                    actual: hex_upper(apdu),
                })?;
        if expected.command != apdu {
            return Err(TransportError::ReplayMismatch {
                path: self.name.clone(),
                line: expected.line,
                expected: hex_upper(&expected.command),
                actual: hex_upper(apdu),
            });
        }
        self.next += 1;
        Ok(expected.response.clone())
    }

    /// Returns the recorded ATR (empty when the trace has none); consumes
    /// nothing, since resets are not exchanges.
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(self.trace.atr.clone().unwrap_or_default())
    }

    fn atr(&self) -> Option<&[u8]> {
        self.trace.atr.as_deref()
    }

    fn describe(&self) -> String {
        format!("replay of {}", self.name)
    }
}
