//! `jct test`: APDU scripts as regression tests, on a fresh in-process
//! emulated card or on a card through the usual target flags. Parsing,
//! running and matching are cardtest's; this file picks the target and
//! renders the reports (text with ✓/✗ and diffs, or JSON lines).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use cap_tools::api::ApiVersion;
use cardtest::script::{self, Script};
use cardtest::{EmulatedCard, Status, StepReport, Summary, TestCard};
use clap::Args;
use emulator::CardProfile;
use loader::client::GpClient;
use loader::plan::InstallOptions;

use crate::card_args::{self, parse_aid, KeyArgs, TransportArgs};
use crate::cmd_build::BuildArgs;
use crate::errors::hinted;

/// `jct test --help`: the manual of the script language, with an example.
pub const LONG_HELP: &str = "\
Run APDU scripts as regression tests: on a fresh in-process card, or a card (--emu, -r).

Each script is a list of steps, one a line; each step is checked and
reported on one line (✓/✗ on a terminal, ok/FAIL otherwise), a failed
one with the expected and the actual response and the differing
bytes marked. Exit status: 0 when every step passed, 1 when one
failed or met an error, 2 when a script does not parse (nothing runs).

Without a target each script runs on its own fresh emulated card
(the card manager of `jct emu`, SCP03 test keys); with --emu, -r or
--replay all scripts run on that card, in order.

Without SCRIPTs, in an applet project (`jct new`; --project DIR): builds
it as `jct build` does, then runs every tests/*.apdu and *.apdu beside
its jct.toml, with a summary
line per script; the same as `jct run`.

Statements:
  >> APDU [<< EXPECTED]     send a command (hex; $name inserts a variable;
                            ( ... ) inserts its bytes preceded by their length)
  << EXPECTED               the expectation of the step on the line before
  select AID [<< EXPECTED]  SELECT by AID, sent plain (ends a secure channel)
  install CAP [applet AID] [instance AID] [params HEX] [privs LIST]
                            load and install through the card manager
  secure [mac|enc|rmac|renc]  open a secure channel with the security domain;
                            the following >> are wrapped in it
  reset | power-cycle       warm reset | power off and on (ends a secure channel)
  let NAME = HEX            set a variable
  get-response on|off       follow 61xx/6Cxx for plain commands (default on)
  # comment                 anywhere after whitespace

Expectations: data then status word. 9000 (no data), * 9000 (any data),
6F XX * 9000 (X: any nibble, *: any bytes), 61XX|6A8X (alternatives),
$name:N or $name:* (capture bytes), $name (equal to a variable), any.
Without one, a step must answer 9000 with any data.

Example (hello.apdu):
  install build/hello.cap                      # relative to the script
  select F000000001A101 << 9000
  >> 80 01 00 00 00 << 48 65 6C 6C 6F 9000     # \"Hello\"
  >> 80 02 00 00 00 << 6D00
  >> 80CA9F7F00 << 9F7F 2A $cplc:42 9000       # capture...
  >> 80CA9F7F00 << 9F7F 2A $cplc 9000          # ...and compare

  jct test hello.apdu                 # in process
  jct test hello.apdu --json          # JSON lines: one per step, then a summary
  jct test hello.apdu --emu 127.0.0.1:35963 --key 404142434445464748494A4B4C4D4E4F";

#[derive(Args, Debug)]
pub struct TestArgs {
    /// APDU scripts, run in order (see the syntax above). None: build the
    /// project (--project) and run its tests/*.apdu, as `jct run` does.
    #[arg(value_name = "SCRIPT")]
    pub scripts: Vec<PathBuf>,
    /// Without SCRIPTs: the applet project to build and test.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// A CAP file to install (every applet, default options) before the
    /// scripts run; repeat for more. In process: before each script, on
    /// its fresh card; on a card: once, before the first script.
    #[arg(long = "cap", value_name = "FILE")]
    pub caps: Vec<PathBuf>,
    /// One JSON object per step, then one summary object (JSON lines).
    #[arg(long)]
    pub json: bool,
    /// In process: draw the card's serial number and challenges from this
    /// seed, so that every run sees the same responses.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// In process: the Java Card API version of the emulated card
    /// (2.2.2, 3.0.4, 3.0.5 or 3.2.0).
    #[arg(long, value_name = "VERSION", default_value = "3.0.5")]
    pub api: String,
    #[command(
        flatten,
        next_help_heading = "Card connection (default: a fresh in-process card per script)"
    )]
    pub transport: TransportArgs,
    #[command(
        flatten,
        next_help_heading = "Keys and secure channel (for install and secure steps)"
    )]
    pub keys: KeyArgs,
}

/// The exit status of `jct test` when a step did not pass.
pub const EXIT_FAILED: u8 = 1;
/// The exit status when a script does not parse (nothing was run).
pub const EXIT_BAD_SCRIPT: u8 = 2;

/// Ends `jct test` with an exit status; the message (if any) was already
/// written.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

pub fn run(mut args: TestArgs) -> Result<()> {
    // No scripts: the project's, after building it.
    let per_script = args.scripts.is_empty();
    if per_script {
        args.scripts = build_project(&args)?;
    }
    let scripts = parse_all(&args)?;
    let printer = Printer {
        json: args.json,
        unicode: std::io::stdout().is_terminal(),
    };
    let mut total = Summary::default();
    let in_process = args.transport.reader.is_none()
        && args.transport.emu.is_none()
        && args.transport.replay.is_none();
    if in_process {
        if args.transport.record.is_some() {
            anyhow::bail!("--record needs a card to record (--emu, -r or --replay)");
        }
        for s in &scripts {
            let mut card = emulated(&args)?;
            let installed = install_caps(&args, &mut card, &printer, &mut total)?;
            let summary = run_script(s, &mut card, installed, &printer, &mut total)?;
            if per_script {
                printer.script(s, &summary)?;
            }
        }
    } else {
        let mut card = on_card(&args)?;
        let mut installed = install_caps(&args, &mut card, &printer, &mut total)?;
        for s in &scripts {
            let summary = run_script(s, &mut card, installed, &printer, &mut total)?;
            if per_script {
                printer.script(s, &summary)?;
            }
            // A card left unusable by one script's error is still tried with
            // the next: each script reports for itself.
            installed = true;
        }
    }
    printer.summary(scripts.len(), &total)?;
    if total.ok() {
        Ok(())
    } else {
        Err(Exit(EXIT_FAILED).into())
    }
}

/// Builds the project `--project` names (javac only when its sources
/// changed) and finds its test scripts: every `*.apdu` of its tests/
/// directory, then every `*.apdu` beside its jct.toml, each set in name
/// order.
fn build_project(args: &TestArgs) -> Result<Vec<PathBuf>> {
    let dir = &args.project;
    let toml = crate::cmd_build::in_dir(dir, "jct.toml");
    if !toml.is_file() {
        return Err(hinted(
            format!("no scripts given and no project file {}", toml.display()),
            "give the scripts to run (`jct test SCRIPT...`), or run in an applet project's \
             directory or pass --project DIR (`jct new NAME` makes a project)",
        ));
    }
    let mut build = BuildArgs::in_project(dir, args.keys.verbose);
    // JSON lines on stdout stay JSON.
    build.report_on_stderr = args.json;
    crate::cmd_build::build(&build)?;
    let tests = crate::cmd_build::in_dir(dir, "tests");
    let mut scripts = apdu_files(&tests)?;
    scripts.extend(apdu_files(dir)?);
    if scripts.is_empty() {
        return Err(hinted(
            format!(
                "the project builds, but has no test scripts (no *.apdu in {} or beside {})",
                tests.display(),
                toml.display()
            ),
            format!(
                "add one, e.g. {}/first.apdu with `select AID << 9000` (syntax: `jct test --help`)",
                tests.display()
            ),
        ));
    }
    Ok(scripts)
}

/// The `*.apdu` files directly in `dir` (none if it does not exist), sorted.
fn apdu_files(dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if p.is_file() && p.extension().is_some_and(|x| x == "apdu") {
            // "./x.apdu" reads as "x.apdu" in reports.
            out.push(p.strip_prefix(".").map(PathBuf::from).unwrap_or(p));
        }
    }
    out.sort();
    Ok(out)
}

/// Every script parsed before anything runs: a typo in the third script
/// must not leave the card half-tested by the first two.
fn parse_all(args: &TestArgs) -> Result<Vec<Script>> {
    let mut scripts = Vec::new();
    let mut bad = false;
    for path in &args.scripts {
        match script::parse_file(path) {
            Ok(s) => scripts.push(s),
            Err(e) => {
                bad = true;
                if args.json {
                    let v = serde_json::json!({
                        "type": "parse_error",
                        "file": e.file,
                        "line": e.line,
                        "column": e.column,
                        "message": e.message,
                    });
                    crate::out::line(format_args!("{v}"))?;
                }
                note!("error: {e}");
            }
        }
    }
    if bad {
        return Err(Exit(EXIT_BAD_SCRIPT).into());
    }
    Ok(scripts)
}

/// A fresh emulated card with the test keys, at `--mode`'s level.
fn emulated(args: &TestArgs) -> Result<TestCard> {
    let api = ApiVersion::parse(&args.api)
        .with_context(|| format!("--api {}: use 2.2.2, 3.0.4, 3.0.5 or 3.2.0", args.api))?;
    let profile = CardProfile {
        api: api.as_str().to_string(),
        ..CardProfile::default()
    };
    let mut builder = EmulatedCard::new().profile(profile);
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    let mut card = builder.build()?;
    card.set_default_level(args.keys.channel_options()?.0.security_level);
    if args.transport.trace {
        let client = card.client_mut();
        client.channel_mut().set_observer(card_args::wire_tracer());
        client.set_plain_observer(card_args::plain_tracer());
    }
    Ok(card)
}

/// The card the target flags name, with the keys the key flags give.
fn on_card(args: &TestArgs) -> Result<TestCard> {
    let opened = card_args::open_transport(&args.transport)?;
    let mut client = GpClient::new(card_args::channel(opened.transport, args.transport.trace));
    if args.transport.trace {
        client.set_plain_observer(card_args::plain_tracer());
    }
    let (options, warnings) = args.keys.channel_options()?;
    for w in warnings {
        note!("warning: {w}");
    }
    let mut card = TestCard::with_client(client, options);
    card.set_security_domain(
        args.keys
            .sd
            .as_deref()
            .map(|s| parse_aid(s, "--sd"))
            .transpose()?,
    );
    if let Some(c) = opened.recorded_challenge {
        card.use_recorded_host_challenge(c);
    }
    Ok(card)
}

/// Installs the `--cap` files; false when one failed (it is reported, and
/// the scripts that depend on it are skipped).
fn install_caps(
    args: &TestArgs,
    card: &mut TestCard,
    printer: &Printer,
    total: &mut Summary,
) -> Result<bool> {
    for cap in &args.caps {
        let mut report = StepReport {
            script: "--cap".into(),
            line: 0,
            step: format!("install {}", cap.display()),
            status: Status::Pass,
            command: None,
            data: None,
            sw: None,
            expected: None,
            differing_bytes: Vec::new(),
            sw_differs: false,
            messages: Vec::new(),
        };
        match card.install_file(cap, &InstallOptions::default()) {
            Ok(created) => {
                let aids: Vec<String> = created.iter().map(hex::encode_upper).collect();
                report
                    .messages
                    .push(format!("installed {}", aids.join(", ")));
            }
            Err(e) => {
                report.status = Status::Error;
                report.messages.push(e.to_string());
            }
        }
        total.add(report.status);
        printer.step(&report)?;
        if report.status != Status::Pass {
            return Ok(false);
        }
    }
    Ok(true)
}

fn run_script(
    s: &Script,
    card: &mut TestCard,
    ready: bool,
    printer: &Printer,
    total: &mut Summary,
) -> Result<Summary> {
    if !ready {
        let skipped = s.steps.len();
        total.skipped += skipped;
        note!(
            "{}: {skipped} step(s) skipped: a --cap install failed",
            s.name
        );
        return Ok(Summary {
            skipped,
            ..Summary::default()
        });
    }
    // Output errors (a closed pipe) end the run at once.
    let mut output: Result<()> = Ok(());
    let outcome = cardtest::run(s, card, &mut |r| {
        if output.is_ok() {
            output = printer.step(r);
        }
    });
    output?;
    total.merge(&outcome.summary);
    Ok(outcome.summary)
}

/// Text or JSON lines on stdout.
struct Printer {
    json: bool,
    unicode: bool,
}

impl Printer {
    fn step(&self, r: &StepReport) -> Result<()> {
        if self.json {
            let mut v = serde_json::to_value(r)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("type".into(), "step".into());
            }
            crate::out::line(format_args!("{v}"))
        } else {
            crate::out::text(&cardtest::report::render(r, self.unicode))
        }
    }

    /// One script's line (project mode): its name and counts.
    fn script(&self, s: &Script, summary: &Summary) -> Result<()> {
        if self.json {
            let mut v = serde_json::to_value(summary)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("type".into(), "script".into());
                o.insert("script".into(), s.name.clone().into());
                o.insert("ok".into(), summary.ok().into());
            }
            crate::out::line(format_args!("{v}"))
        } else {
            let verdict = match (summary.ok(), self.unicode) {
                (true, true) => "✓",
                (true, false) => "ok",
                (false, true) => "✗",
                (false, false) => "FAILED",
            };
            crate::out::line(format_args!("{verdict} {}: {summary}", s.name))
        }
    }

    fn summary(&self, scripts: usize, total: &Summary) -> Result<()> {
        if self.json {
            let mut v = serde_json::to_value(total)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("type".into(), "summary".into());
                o.insert("scripts".into(), scripts.into());
                o.insert("ok".into(), total.ok().into());
            }
            crate::out::line(format_args!("{v}"))
        } else {
            let verdict = match (total.ok(), self.unicode) {
                (true, true) => "✓ all passed",
                (true, false) => "ok: all passed",
                (false, true) => "✗ FAILED",
                (false, false) => "FAILED",
            };
            crate::out::line(format_args!(
                "{verdict}: {total} ({scripts} script{})",
                if scripts == 1 { "" } else { "s" }
            ))
        }
    }
}
