//! APDU scripts: what a script says, as data. [`parse()`] turns text into a
//! [`Script`]; [`pattern`] matches responses against expectations;
//! running one is [`crate::run()`]'s job.
//!
//! The syntax is line based and loop free (see the crate documentation
//! and the README): every step runs at most once, so the work a script can
//! cause is bounded by its length, and its length is bounded by
//! [`limits`].

pub mod parse;
pub mod pattern;

use std::path::PathBuf;

use scp::SecurityLevel;

pub use parse::{parse, parse_file, ParseError};
pub use pattern::{Elem, Expectation, SwPattern};

/// Bounds on a script, checked while parsing, so that no input can make
/// jct use unbounded time or memory.
pub mod limits {
    /// Largest script file.
    pub const MAX_SCRIPT_BYTES: usize = 1 << 20;
    /// Longest line, in bytes.
    pub const MAX_LINE_BYTES: usize = 4096;
    /// Most steps in one script.
    pub const MAX_STEPS: usize = 10_000;
    /// Most distinct variable names in one script.
    pub const MAX_VARIABLES: usize = 256;
    /// Longest variable name.
    pub const MAX_NAME: usize = 32;
    /// Longest fixed-length capture: the largest response data field.
    pub const MAX_CAPTURE: usize = 65_536;
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The file it came from, as given (for messages).
    pub name: String,
    /// Where relative CAP paths are resolved: the script's directory.
    pub base: PathBuf,
    pub steps: Vec<Step>,
}

/// One step, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 1-based line of the step's statement.
    pub line: usize,
    /// The statement as written (comment removed), for reports.
    pub text: String,
    pub action: Action,
    /// What the response must be, for steps that send a command; `None`
    /// = the step's default (status 9000, any data).
    pub expect: Option<Expectation>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `>> APDU`: send a command.
    Send(Vec<Part>),
    /// `select AID`: SELECT by name, plain.
    Select(Vec<u8>),
    /// `install CAP ...`: load and install through the card manager.
    Install(Install),
    /// `secure [LEVEL]`: open a secure channel with the security domain.
    Secure(Option<SecurityLevel>),
    /// `reset`: warm reset.
    Reset,
    /// `power-cycle`: power off and on.
    PowerCycle,
    /// `let NAME = HEX`: set a variable.
    Let { name: String, value: Vec<u8> },
    /// `get-response on|off`: follow 61xx/6Cxx for plain commands or not.
    GetResponse(bool),
}

impl Action {
    /// Whether the step sends a command whose response can be checked.
    pub fn has_response(&self) -> bool {
        matches!(self, Action::Send(_) | Action::Select(_))
    }
}

/// A piece of a command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal bytes.
    Bytes(Vec<u8>),
    /// `$name`: a variable's bytes.
    Var(String),
    /// `( ... )`: the bytes inside, preceded by their length in one byte
    /// (a short Lc).
    Counted(Vec<Part>),
}

/// `install PATH [applet AID] [instance AID] [params HEX] [privs LIST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The CAP file, resolved against the script's directory.
    pub cap: PathBuf,
    pub applet: Option<Vec<u8>>,
    pub instance: Option<Vec<u8>>,
    pub params: Vec<u8>,
    pub privileges: gp::privileges::Privileges,
}
