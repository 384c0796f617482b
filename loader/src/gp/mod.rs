//! GlobalPlatform card content management (Card Specification 2.3.1): the
//! commands and the data they carry, as values that both sides use — the
//! loader builds them and parses the answers, the emulator parses them and
//! builds the answers.

pub mod cardinfo;
pub mod client;
pub mod commands;
pub mod cplc;
pub mod install;
pub mod lifecycle;
pub mod privileges;
pub mod registry;
pub mod sw;

pub use install::{InstallForInstall, InstallForLoad, LoadBlocks};
pub use lifecycle::{ApplicationLifeCycle, CardLifeCycle};
pub use privileges::Privileges;
