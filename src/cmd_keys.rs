//! `jct keys probe`: which key set and diversification a card holds,
//! found from INITIALIZE UPDATE answers alone (scp::probe), so that no
//! failed EXTERNAL AUTHENTICATE counts towards locking the card.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use loader::client::{ChannelOptions, GpClient};
use scp::probe::{self, Candidate, Match};
use scp::{ChallengeSource, InitUpdateResponse, OsRng, Protocol};
use serde::Serialize;

use crate::card_args::{open_client, parse_aid, parse_hex_u8, parse_u8, TransportArgs};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum KeysCommand {
    /// Find the card's keys without spending an authentication try.
    ///
    /// Sends INITIALIZE UPDATE (once per --key-ver) and checks the card
    /// cryptogram of its answer offline against every candidate key (the
    /// GlobalPlatform test key and other common defaults, and the keys of
    /// --candidates) under every diversification (none, emv, visa2, kdf3).
    /// Only a failed EXTERNAL AUTHENTICATE counts towards locking a card,
    /// and none is sent unless --confirm asks to authenticate with the
    /// match (which then succeeds).
    ///
    /// Example: jct keys probe --emu 127.0.0.1:35963 --candidates keys.txt
    Probe(ProbeArgs),
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    #[command(flatten, next_help_heading = "Card connection")]
    transport: TransportArgs,
    /// Candidate keys: one per line, `LABEL KEY` (one key for ENC, MAC and
    /// DEK) or `LABEL ENC MAC DEK`, in hex; `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    candidates: Option<PathBuf>,
    /// Try only the --candidates file, not the built-in defaults.
    #[arg(long)]
    no_defaults: bool,
    /// Key version to ask INITIALIZE UPDATE for; repeat for several (one
    /// INITIALIZE UPDATE each). Default 0: the card's default key set.
    #[arg(long = "key-ver", value_name = "N", value_parser = parse_u8)]
    key_versions: Vec<u8>,
    /// SCP02 "i" to try (hex); repeat for several. Default: what the card
    /// recognition data says, else 15, and the other key-count option (14).
    #[arg(long = "scp-i", value_name = "HEX", value_parser = parse_hex_u8)]
    scp02_i: Vec<u8>,
    /// Security domain AID (default: the card's issuer security domain).
    #[arg(long, value_name = "AID")]
    sd: Option<String>,
    /// Authenticate with the first match (one EXTERNAL AUTHENTICATE with
    /// keys the card cryptogram has already proven right).
    #[arg(long)]
    confirm: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Well-known default keys, as cards leave the factory or test kits set them.
const DEFAULTS: [(&str, &str); 5] = [
    ("gp-test-key", "404142434445464748494A4B4C4D4E4F"),
    (
        "gp-test-key-aes192",
        "404142434445464748494A4B4C4D4E4F5051525354555657",
    ),
    (
        "gp-test-key-aes256",
        "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F",
    ),
    ("gemxpresso-sample", "47454D5850524553534F53414D504C45"),
    ("zeros", "00000000000000000000000000000000"),
];

pub fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Probe(args) => run_probe(&args),
    }
}

/// One INITIALIZE UPDATE's findings.
#[derive(Serialize)]
struct Probed {
    requested_key_version: u8,
    /// The card's answer, or why there was none.
    answer: Option<Answer>,
    error: Option<String>,
    tried: usize,
    matches: Vec<Found>,
}

#[derive(Serialize)]
struct Answer {
    scp: String,
    key_version: u8,
    kdd: String,
}

#[derive(Serialize, Clone)]
struct Found {
    candidate: String,
    diversification: &'static str,
    protocol: String,
    key_version: u8,
}

#[derive(Serialize)]
struct ProbeReport {
    candidates: usize,
    probes: Vec<Probed>,
    external_authenticate_sent: bool,
    confirmed: Option<Found>,
}

fn run_probe(args: &ProbeArgs) -> Result<()> {
    let candidates = candidate_list(args)?;
    if candidates.is_empty() {
        bail!("no candidate keys: --no-defaults needs a --candidates file with at least one key");
    }
    let mut client = open_client(&args.transport)?;
    let sd = args
        .sd
        .as_deref()
        .map(|s| parse_aid(s, "--sd"))
        .transpose()?;
    client.select_security_domain(sd.as_deref())?;
    let scp02_i = scp02_options(&mut client, &args.scp02_i);
    let versions = if args.key_versions.is_empty() {
        vec![0]
    } else {
        args.key_versions.clone()
    };
    let mut probes = Vec::new();
    let mut first: Option<(Match, u8)> = None;
    for kvn in versions {
        let probed = match init_update(&mut client, kvn) {
            Ok((hello, hc)) => {
                let report = probe::probe(&hello, &hc, &candidates, &scp02_i);
                if first.is_none() {
                    first = report.matches.first().map(|m| (m.clone(), kvn));
                }
                Probed {
                    requested_key_version: kvn,
                    answer: Some(Answer {
                        scp: protocol_name(&hello),
                        key_version: hello.key_version,
                        kdd: hex::encode_upper(hello.kdd),
                    }),
                    error: None,
                    tried: report.tried,
                    matches: report
                        .matches
                        .iter()
                        .map(|m| found(m, &candidates))
                        .collect(),
                }
            }
            Err(e) => Probed {
                requested_key_version: kvn,
                answer: None,
                error: Some(format!("{e:#}")),
                tried: 0,
                matches: Vec::new(),
            },
        };
        probes.push(probed);
    }
    let confirmed = match (&first, args.confirm) {
        (Some((m, kvn)), true) => {
            confirm(&mut client, &candidates, m, *kvn)?;
            Some(found(m, &candidates))
        }
        _ => None,
    };
    let report = ProbeReport {
        candidates: candidates.len(),
        probes,
        external_authenticate_sent: confirmed.is_some(),
        confirmed,
    };
    if args.json {
        crate::out::line(format_args!("{}", serde_json::to_string_pretty(&report)?))?;
    } else {
        crate::out::text(&to_text(&report))?;
    }
    if first.is_none() {
        bail!(
            "no candidate matches the card's cryptogram ({} candidates, no authentication try spent)",
            report.candidates
        );
    }
    Ok(())
}

/// The built-in defaults (unless --no-defaults) and the file's keys.
fn candidate_list(args: &ProbeArgs) -> Result<Vec<Candidate>> {
    let mut list = Vec::new();
    if !args.no_defaults {
        for (label, key) in DEFAULTS {
            let bytes = hex::decode(key).context("a built-in key")?;
            list.push(Candidate::single(label, &bytes));
        }
    }
    if let Some(path) = &args.candidates {
        list.extend(read_candidates(path)?);
    }
    Ok(list)
}

/// Parses a candidates file (see --candidates); errors name the line.
fn read_candidates(path: &Path) -> Result<Vec<Candidate>> {
    // A candidates file is a few lines; refuse anything that is not.
    const MAX_BYTES: u64 = 1 << 20;
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read candidates file {}", path.display()))?
        .len();
    if size > MAX_BYTES {
        bail!(
            "candidates file {}: {size} bytes, more than the 1 MiB a key list can need",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read candidates file {}", path.display()))?;
    probe::parse_candidates(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.why))
}

/// The SCP02 "i" values to try: the user's, else the recognition data's
/// (or 15) and its other key-count option.
fn scp02_options(client: &mut GpClient, given: &[u8]) -> Vec<u8> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let i = client.scp02_i_from_recognition_data().unwrap_or(0x15);
    vec![i, i ^ 0x01]
}

/// Sends one INITIALIZE UPDATE with a fresh host challenge; the answer
/// and the challenge.
fn init_update(client: &mut GpClient, kvn: u8) -> Result<(InitUpdateResponse, [u8; 8])> {
    let mut hc = [0u8; 8];
    OsRng.fill(&mut hc)?;
    let command = scp::initialize_update_command(kvn, &hc);
    let response = client.transmit(&command)?;
    if response.sw != 0x9000 {
        bail!(
            "INITIALIZE UPDATE for key version {kvn:02X}: the card answered {:04X}{}",
            response.sw,
            if response.sw == 0x6A88 {
                " (no such key set)"
            } else {
                ""
            }
        );
    }
    let hello =
        InitUpdateResponse::parse(&response.data).context("the card's INITIALIZE UPDATE answer")?;
    Ok((hello, hc))
}

/// Authenticates with the match: a new session with its keys.
fn confirm(client: &mut GpClient, candidates: &[Candidate], m: &Match, kvn: u8) -> Result<()> {
    let candidate = &candidates[m.candidate];
    let mut options = ChannelOptions::new(candidate.provider(m.diversification, kvn));
    match m.protocol {
        Protocol::Scp02 { i } => {
            options.scp02_i = Some(i);
            options.expect_scp = Some(2);
        }
        Protocol::Scp03 { .. } => options.expect_scp = Some(3),
    }
    client
        .open_secure_channel(&options)
        .with_context(|| format!("authenticating with {}", candidate.label))?;
    Ok(())
}

fn found(m: &Match, candidates: &[Candidate]) -> Found {
    Found {
        candidate: candidates[m.candidate].label.clone(),
        diversification: m.diversification.name(),
        protocol: protocol_text(m.protocol),
        key_version: m.key_version,
    }
}

fn protocol_text(p: Protocol) -> String {
    match p {
        Protocol::Scp02 { i } => format!("SCP02 i={i:02X}"),
        Protocol::Scp03 { i } => format!("SCP03 i={i:02X}"),
    }
}

fn protocol_name(hello: &InitUpdateResponse) -> String {
    match hello.challenge {
        scp::CardChallenge::Scp02 { .. } => "SCP02".into(),
        scp::CardChallenge::Scp03 { i, .. } => format!("SCP03 i={i:02X}"),
    }
}

fn to_text(r: &ProbeReport) -> String {
    let mut out = String::new();
    for p in &r.probes {
        match (&p.answer, &p.error) {
            (Some(a), _) => {
                out.push_str(&format!(
                    "INITIALIZE UPDATE (key version {:02X}): {}, key version {:02X}, KDD {}\n",
                    p.requested_key_version, a.scp, a.key_version, a.kdd
                ));
                out.push_str(&format!(
                    "  checked offline: {} candidates, {} key/diversification/option combinations\n",
                    r.candidates, p.tried
                ));
                if p.matches.is_empty() {
                    out.push_str("  no match\n");
                }
                for m in &p.matches {
                    out.push_str(&format!(
                        "  match: {} (diversification {}, {}, key version {:02X})\n",
                        m.candidate, m.diversification, m.protocol, m.key_version
                    ));
                }
            }
            (None, Some(e)) => out.push_str(&format!("{e}\n")),
            (None, None) => {}
        }
    }
    match &r.confirmed {
        Some(c) => out.push_str(&format!(
            "confirmed: a secure channel opened with {} (one EXTERNAL AUTHENTICATE, accepted)\n",
            c.candidate
        )),
        None => {
            out.push_str("no EXTERNAL AUTHENTICATE was sent: no authentication try was spent\n")
        }
    }
    out
}
