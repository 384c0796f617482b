//! cardtest: regression tests for Java Card applets — an emulated card in
//! the test's own process, and APDU scripts with expected answers.
//!
//! Two ways in, for two kinds of user:
//!
//! - **cargo tests** drive a [`TestCard`]: make an emulated card (fresh
//!   profile and keys, optionally seeded randomness), install a CAP through
//!   the real card manager (the loader's client, an SCP03 secure channel
//!   with the GlobalPlatform test keys, INSTALL [for load], LOAD, INSTALL
//!   [for install]), select, send APDUs as bytes or hex, read the status
//!   word and the data;
//! - **APDU scripts** (`jct test SCRIPT`, or [`script::parse_file`] and
//!   [`run()`] from Rust) list commands with expected responses — status
//!   word patterns such as `9000`, `61XX` or `6A8X`, data with wildcards,
//!   values captured from one response and used in a later command — and
//!   can install their own CAPs, so that one file is a whole test.
//!
//! The same [`TestCard`] runs over any loader transport ([`TestCard::over`]),
//! so a script written against the emulator runs unchanged on a card in a
//! reader.
//!
//! ```
//! use cardtest::{script, TestCard};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut card = TestCard::emulated()?;
//!
//! // The card manager answers as a GlobalPlatform card does.
//! let r = card.select(&hex::decode("A000000151000000")?)?;
//! assert_eq!(r.sw, 0x9000);
//! let r = card.send_hex("80 CA 9F 7F 00")?; // GET DATA: CPLC
//! assert!(r.is_ok() && r.data.starts_with(&[0x9F, 0x7F]));
//!
//! // A CAP goes through INSTALL [for load], LOAD and INSTALL [for install].
//! let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
//! let cap = shared.join("converter-reference/oracle-3.0.5/hello.cap");
//! if cap.exists() {
//!     let created = card.install_file(&cap, &Default::default())?;
//!     assert_eq!(created, [hex::decode("F0000000010101")?]);
//!     assert_eq!(card.select(&created[0])?.sw, 0x9000);
//! }
//!
//! // The same as a script: a capture, and the captured value compared.
//! let text = "
//!     select A000000151000000 << * 9000
//!     >> 80CA9F7F00 << 9F7F 2A $cplc:42 9000   # capture the CPLC data
//!     >> 80CA9F7F00 << 9F7F 2A $cplc 9000      # the same again
//!     >> 80CA0000 00 << 6A88|6A82
//! ";
//! let parsed = script::parse("inline", std::path::Path::new("."), text)?;
//! let outcome = cardtest::run(&parsed, &mut card, &mut |_| {});
//! outcome.assert_passed();
//! assert_eq!(outcome.summary.passed, 4);
//! # Ok(())
//! # }
//! ```
//!
//! Module map: [`card`] the card under test, [`in_process`] the emulated
//! card as a transport, [`seeded`] reproducible card randomness,
//! [`script`] the script language (parser, patterns), [`mod@run`] running a
//! script, [`report`] reports as text.

pub mod card;
pub mod in_process;
pub mod report;
pub mod run;
pub mod script;
pub mod seeded;

pub use card::{EmulatedCard, Error, Response, TestCard};
pub use in_process::InProcess;
pub use run::{run, Outcome, Status, StepReport, Summary};
pub use seeded::SeededRandom;

/// Parses a script file and runs it on `card`: the short way for a cargo
/// test (`run_file(path, &mut card)?.assert_passed()`).
pub fn run_file(
    path: impl AsRef<std::path::Path>,
    card: &mut TestCard,
) -> Result<Outcome, script::ParseError> {
    let parsed = script::parse_file(path.as_ref())?;
    Ok(run(&parsed, card, &mut |_| {}))
}
