//! loader: the host side of jct — talking to cards.
//!
//! It moves APDUs through transports (PC/SC readers, an emulated card over
//! TCP, record and replay of traces), opens secure channels on security
//! domains with the `scp` crate's host side, and runs card content management
//! (list, load, install, delete, put key, set status) with the `gp` crate's
//! commands. It reads CAP files through cap-tools' model only; it never
//! converts class files, never holds the card's side of a protocol, and
//! prints nothing: rendering is the front end's job.

pub mod client;
pub mod transport;
