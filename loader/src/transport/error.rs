//! The one error type of every transport.
//!
//! Each variant carries what a person needs to act on it: which reader,
//! which peer address, which APDU (in hex), which line of a trace file.
//! Transports never panic on what a card, a socket or a file hands them;
//! they return one of these.

use std::io;
use std::time::Duration;

use gp::vpcd_frame::FrameError;

/// Why talking to a card failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A PC/SC call failed; `context` names the call and the reader.
    #[cfg(feature = "pcsc")]
    #[error("PC/SC: {context}: {source}")]
    Pcsc {
        context: String,
        #[source]
        source: ::pcsc::Error,
    },

    /// The PC/SC service answered but lists no reader at all.
    #[error("no smart card reader found (is a reader attached and pcscd running?)")]
    NoReaders,

    /// Readers exist, but none holds a card.
    #[error("no card in any reader; readers: {}", .readers.join(", "))]
    NoCard { readers: Vec<String> },

    /// The chosen reader is empty.
    #[error("no card in reader '{reader}'")]
    NoCardInReader { reader: String },

    /// No reader was named and more than one holds a card.
    #[error("cards are present in several readers, name one: {}", .readers.join(", "))]
    SeveralCards { readers: Vec<String> },

    /// No reader name contains the requested text.
    #[error("no reader name contains '{pattern}'; readers: {}", list_or_none(.readers))]
    ReaderNotFound {
        pattern: String,
        readers: Vec<String>,
    },

    /// The requested text matches several readers holding cards.
    #[error("'{pattern}' matches several readers with a card, be more specific: {}", .matches.join(", "))]
    AmbiguousReader {
        pattern: String,
        matches: Vec<String>,
    },

    /// An I/O operation failed; `context` says which and with whom.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// A peer did not answer in time.
    #[error("{context}: no answer within {timeout:?}")]
    Timeout { context: String, timeout: Duration },

    /// A vpcd frame could not be read or written.
    #[error("vpcd {peer}: {source}")]
    Frame {
        peer: String,
        #[source]
        source: FrameError,
    },

    /// The card's answer has no room for SW1 SW2.
    #[error("response to {command} is {len} byte(s), too short for a status word")]
    ResponseTooShort { command: String, len: usize },

    /// A command cannot be sent as given.
    #[error("command {command} is malformed: {reason}")]
    BadCommand {
        command: String,
        reason: &'static str,
    },

    /// The card kept asking for GET RESPONSE beyond any sensible size.
    #[error("response to {command} never ends: gave up after {rounds} GET RESPONSE rounds and {bytes} bytes")]
    ResponseChainTooLong {
        command: String,
        rounds: usize,
        bytes: usize,
    },

    /// A trace file line is not `>> HEX`, `<< HEX`, a comment or blank.
    #[error("{path}:{line}: {message}")]
    TraceSyntax {
        path: String,
        line: usize,
        message: String,
    },

    /// Replay: the command sent is not the one recorded next.
    #[error("replay {path}:{line}: command differs from the trace\n  expected: {expected}\n  actual:   {actual}")]
    ReplayMismatch {
        path: String,
        line: usize,
        expected: String,
        actual: String,
    },

    /// Replay: a command was sent after the last recorded exchange.
    #[error("replay {path}: command {actual} sent after the last recorded exchange")]
    ReplayExhausted { path: String, actual: String },

    /// Replay finished with recorded exchanges left over.
    #[error("replay {path}: {remaining} recorded exchange(s) were not replayed, the next at line {line}: >> {command}")]
    ReplayUnconsumed {
        path: String,
        remaining: usize,
        line: usize,
        command: String,
    },
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

impl TransportError {
    /// Wraps an I/O error with what was being done when it happened,
    /// turning socket timeouts into [`TransportError::Timeout`].
    pub fn io(context: impl Into<String>, source: io::Error, timeout: Option<Duration>) -> Self {
        let context = context.into();
        match (source.kind(), timeout) {
            (io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock, Some(timeout)) => {
                TransportError::Timeout { context, timeout }
            }
            _ => TransportError::Io { context, source },
        }
    }
}

/// Uppercase hex without separators: the form used in errors and traces.
pub fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}
