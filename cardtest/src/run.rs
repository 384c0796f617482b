//! Running a [`Script`] on a [`TestCard`]: each step once, in order, its
//! response checked, a report per step.
//!
//! A mismatch fails its step and the script goes on (later steps may still
//! tell something). An error — the card unreachable, an install or a
//! secure channel that fails — stops the script: what the card holds is no
//! longer known, so the remaining steps are reported as skipped. A step
//! that needs a variable an earlier, failed step did not capture is
//! skipped too.

use std::collections::HashMap;

use loader::plan::InstallOptions;
use serde::Serialize;

use crate::card::{Response, TestCard};
use crate::script::pattern::{self, Expectation, Unset, Verdict};
use crate::script::{Action, Part, Script, Step};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skipped,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The script's name as given.
    pub script: String,
    pub line: usize,
    /// The statement as written.
    pub step: String,
    pub status: Status,
    /// The command sent, in hex (for `>>` and `select`).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex_opt")]
    pub command: Option<Vec<u8>>,
    /// The response data, in hex.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex_opt")]
    pub data: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "sw_opt")]
    pub sw: Option<u16>,
    /// The expectation, in canonical spelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Indices of response data bytes that differ from the pattern.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differing_bytes: Vec<usize>,
    /// Whether the status word is the one that differs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sw_differs: bool,
    /// What is wrong (a mismatch), or what went wrong (an error), or what
    /// happened (an install: the instances; a reset: the ATR).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

fn hex_opt<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&hex::encode_upper(b)),
        None => s.serialize_none(),
    }
}

fn sw_opt<S: serde::Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(sw) => s.serialize_str(&format!("{sw:04X}")),
        None => s.serialize_none(),
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Summary {
    /// True when every step passed.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errors == 0 && self.skipped == 0
    }

    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Error => self.errors += 1,
            Status::Skipped => self.skipped += 1,
        }
    }

    pub fn merge(&mut self, other: &Summary) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} error(s), {} skipped",
            self.passed, self.failed, self.errors, self.skipped
        )
    }
}

/// Every step's report and the counts.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub reports: Vec<StepReport>,
    pub summary: Summary,
}

impl Outcome {
    /// Panics with the readable report of every step that did not pass:
    /// for cargo tests.
    #[track_caller]
    pub fn assert_passed(&self) {
        if self.summary.ok() {
            return;
        }
        let mut text = String::new();
        for r in self.reports.iter().filter(|r| r.status != Status::Pass) {
            text.push_str(&crate::report::render(r, false));
        }
        panic!("APDU script failed: {}\n{text}", self.summary);
    }
}

/// Runs `script` on `card`; `on_step` sees each report as it is made
/// (a front end prints it at once).
pub fn run(script: &Script, card: &mut TestCard, on_step: &mut dyn FnMut(&StepReport)) -> Outcome {
    let mut runner = Runner {
        card,
        vars: HashMap::new(),
        stopped: None,
    };
    let mut reports = Vec::with_capacity(script.steps.len());
    let mut summary = Summary::default();
    for step in &script.steps {
        let report = runner.step(&script.name, step);
        summary.add(report.status);
        on_step(&report);
        reports.push(report);
    }
    Outcome { reports, summary }
}

struct Runner<'c> {
    card: &'c mut TestCard,
    vars: HashMap<String, Vec<u8>>,
    /// The line of the error that stopped the script.
    stopped: Option<usize>,
}

impl Runner<'_> {
    fn step(&mut self, script: &str, step: &Step) -> StepReport {
        let mut report = StepReport {
            script: script.to_string(),
            line: step.line,
            step: step.text.clone(),
            status: Status::Pass,
            command: None,
            data: None,
            sw: None,
            expected: None,
            differing_bytes: Vec::new(),
            sw_differs: false,
            messages: Vec::new(),
        };
        if let Some(line) = self.stopped {
            report.status = Status::Skipped;
            report.messages.push(format!(
                "not run: the error at line {line} stopped the script"
            ));
            return report;
        }
        let result = match &step.action {
            Action::Send(parts) => match self.resolve(parts) {
                Ok(bytes) => {
                    report.command = Some(bytes.clone());
                    self.card.send(&bytes).map(Some)
                }
                Err(Missing::Unset(name)) => return skipped_for(report, &name),
                Err(Missing::TooLong(n)) => {
                    report.status = Status::Error;
                    report.messages.push(format!(
                        "( ... ) holds {n} bytes; a one-byte Lc counts at most 255"
                    ));
                    return report;
                }
            },
            Action::Select(aid) => {
                if let Ok(c) = gp::commands::select(aid, false) {
                    report.command = Some(c.to_bytes());
                }
                self.card.select(aid).map(Some)
            }
            Action::Install(i) => {
                let options = InstallOptions {
                    applet: i.applet.clone(),
                    instance: i.instance.clone(),
                    privileges: i.privileges,
                    parameters: i.params.clone(),
                    ..InstallOptions::default()
                };
                self.card.install_file(&i.cap, &options).map(|created| {
                    let aids: Vec<String> = created.iter().map(hex::encode_upper).collect();
                    report
                        .messages
                        .push(format!("installed {}", aids.join(", ")));
                    None
                })
            }
            Action::Secure(level) => self.card.open_secure_channel(*level).map(|info| {
                report.messages.push(format!(
                    "secure channel {}, security level {}",
                    info.protocol(),
                    info.security_level
                ));
                None
            }),
            Action::Reset => self.card.reset().map(|atr| {
                report
                    .messages
                    .push(format!("ATR {}", hex::encode_upper(atr)));
                None
            }),
            Action::PowerCycle => self.card.power_cycle().map(|atr| {
                report
                    .messages
                    .push(format!("ATR {}", hex::encode_upper(atr)));
                None
            }),
            Action::Let { name, value } => {
                self.vars.insert(name.clone(), value.clone());
                Ok(None)
            }
            Action::GetResponse(on) => {
                self.card.set_get_response(*on);
                Ok(None)
            }
        };
        match result {
            Err(e) => {
                report.status = Status::Error;
                report.messages.push(e.to_string());
                self.stopped = Some(step.line);
            }
            Ok(None) => {}
            Ok(Some(response)) => self.check(step, &response, &mut report),
        }
        report
    }

    fn check(&mut self, step: &Step, response: &Response, report: &mut StepReport) {
        let default = Expectation::ok_any_data();
        let expect = step.expect.as_ref().unwrap_or(&default);
        report.expected = Some(expect.to_string());
        report.data = Some(response.data.clone());
        report.sw = Some(response.sw);
        let verdict: Verdict = match pattern::check(expect, &response.data, response.sw, &self.vars)
        {
            Ok(v) => v,
            Err(Unset(name)) => {
                report.status = Status::Skipped;
                report.messages.push(format!(
                    "sent, but not checked: ${name} has no value (the step that captures it did not pass)"
                ));
                return;
            }
        };
        report.differing_bytes = verdict
            .bad_bytes
            .iter()
            .enumerate()
            .filter_map(|(i, bad)| bad.then_some(i))
            .collect();
        report.sw_differs = verdict.bad_sw;
        if verdict.passed() {
            for (name, value) in verdict.captured {
                self.vars.insert(name, value);
            }
        } else {
            report.status = Status::Fail;
            report.messages = verdict.problems;
        }
    }

    /// The command bytes, variables substituted and counts filled in.
    fn resolve(&self, parts: &[Part]) -> Result<Vec<u8>, Missing> {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Part::Bytes(b) => out.extend_from_slice(b),
                Part::Var(name) => out.extend_from_slice(
                    self.vars
                        .get(name)
                        .ok_or_else(|| Missing::Unset(name.clone()))?,
                ),
                Part::Counted(inner) => {
                    let bytes = self.resolve(inner)?;
                    let n = u8::try_from(bytes.len()).map_err(|_| Missing::TooLong(bytes.len()))?;
                    out.push(n);
                    out.extend(bytes);
                }
            }
        }
        Ok(out)
    }
}

enum Missing {
    Unset(String),
    TooLong(usize),
}

fn skipped_for(mut report: StepReport, name: &str) -> StepReport {
    report.status = Status::Skipped;
    report.messages.push(format!(
        "not run: ${name} has no value (the step that captures it did not pass)"
    ));
    report
}
