//! emulator: a Java Card in software with a GlobalPlatform card manager —
//! the card side of jct. It is built from the protocol core it shares with
//! the host (`gp` for commands and data, `scp` for the card side of the
//! secure channels) and cap-tools' CAP model, and never from the host side:
//! it does not depend on the loader, opens no session with another card and
//! trusts nothing a command says before its checks pass.
//!
//! [`Card`] takes raw command APDUs and answers raw responses, like a card
//! in a reader. Its Issuer Security Domain implements the card side of
//! GlobalPlatform Card Specification 2.3.1: SCP02 and SCP03 secure
//! channels (the card side of the `scp` crate), the card life
//! cycle, key sets with PUT KEY, and card content management — INSTALL,
//! LOAD, DELETE, GET STATUS, SET STATUS, GET DATA, SELECT. Loaded files are
//! decoded and linked against the Java Card API of the emulated version
//! and the packages loaded before; applets run in the Java Card virtual
//! machine of [`jcvm`], with javacard.framework in Rust ([`natives`]).
//!
//! The card's persistent state lives in a JSON state file written
//! atomically after every change ([`store`]); [`server`] puts the card on
//! TCP (vpcd framing) or behind pcscd's vpcd driver.
//!
//! Module map: [`card`] power, logical channels and dispatch, [`commands`] one module per
//! command, [`session`] the secure channel state, [`load`] a LOAD in
//! progress, [`linker`] the checks on a complete load file, [`jcvm`] the
//! virtual machine and its persistent heap, [`natives`] the API, [`state`] and
//! [`keyset`] the persistent model, [`recognition`] the card's data
//! objects, [`profile`] the settings a card is made with (among them the
//! algorithms the card has: [`profile::Algorithms`], checked by every
//! getInstance and buildKey through `natives::crypto::support`).

// Input from cards, hosts and files is never truncated silently.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

pub mod card;
pub mod commands;
pub mod danger;
pub mod dap;
mod hexser;
pub mod jcvm;
pub mod journal;
pub mod keyset;
pub mod linker;
pub mod load;
pub mod natives;
pub mod net;
pub mod profile;
pub mod recognition;
pub mod scp11;
pub mod server;
pub mod session;
pub mod state;
pub mod store;
pub mod sw;
pub mod vpcd;

pub use card::{Card, CardError, HeapUsage};
pub use profile::{CardProfile, DEFAULT_ISD_AID, DEFAULT_KEY_VERSION, TEST_KEY};
pub use state::CardState;
pub use store::{read_state, StateFile, StoreError};
