//! cap-tools: the one model of Java Card files that all of jct shares.
//!
//! The converter writes it, the verifier checks it, the loader ships it and the
//! emulator runs it. See `cap` for CAP files, `exp` for export files, `verify`
//! for the consistency checks and `api` for the Java Card API tables; the
//! converter (`convert`, with the class file reader `classfile`) is behind the
//! `convert` feature, which the loader and the emulator leave off. It knows
//! nothing of cards, readers or secure channels, and never talks to either.

pub mod aid;
pub mod api;
pub mod atomic;
pub mod bytes;
pub mod cap;
#[cfg(feature = "convert")]
pub mod classfile;
#[cfg(feature = "convert")]
pub mod convert;
pub mod error;
pub mod exp;
pub mod verify;

pub use aid::Aid;
pub use cap::{Cap, Component, Format, Tag};
pub use error::{Error, Result};
