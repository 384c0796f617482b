//! gp: the data of ISO/IEC 7816-4 and GlobalPlatform Card Specification
//! 2.3.1, as values both sides of a card link use — the host builds commands
//! and parses answers, the card parses commands and builds answers.
//!
//! It holds command and response APDUs (short and extended), BER-TLV, the
//! builders and parsers of GlobalPlatform's commands, registry entries,
//! privileges, life cycles, CPLC, card recognition data, key information,
//! the meaning of status words, and vsmartcard's vpcd framing. It never
//! performs I/O, holds no keys and knows nothing of secure channels (those
//! are the `scp` crate's), of CAP files or of transports.

// Everything here parses what a card or a host sent: no silent truncation.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

pub mod apdu;
pub mod cardinfo;
pub mod commands;
pub mod cplc;
pub mod dap;
pub mod install;
pub mod lifecycle;
pub mod privileges;
pub mod registry;
pub mod sw;
pub mod tlv;
pub mod token;
pub mod vpcd_frame;

pub use apdu::{ApduError, CommandApdu, ResponseApdu};
pub use install::{InstallForInstall, InstallForLoad, LoadBlocks};
pub use lifecycle::{ApplicationLifeCycle, CardLifeCycle, StatusChange};
pub use privileges::Privileges;
