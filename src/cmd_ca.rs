//! `jct ca`: a certification authority for SCP11 and the card/terminal
//! pairing. It signs the public keys of cards and terminals (OCEs) in
//! GlobalPlatform's SCP11 certificate format (tag 7F21, ECDSA P-256 with
//! SHA-256), which `jct emu --scp11-ca` and `jct ... --scp 11a --ca
//! --oce-cert` use. The directory it keeps is `crate::ca`'s.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use p256::ecdsa::VerifyingKey;
use scp::scp11::cert::{USAGE_KEY_AGREEMENT, USAGE_SIGNATURE};
use scp::scp11::{files, Certificate, CertificateTemplate, Date};
use sha2::{Digest, Sha256};

use crate::ca;
use crate::card_args::parse_hex;

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum CaCommand {
    /// Make a new CA in a directory: a P-256 key pair (ca.key, mode 0600;
    /// ca.pub.pem, the `--ca` of SCP11 sessions) and ca.json (identifier,
    /// next serial number, the register of issued certificates).
    ///
    /// Example: jct ca init pki --name "Example issuer CA"
    Init(InitArgs),
    /// Certify a public key: a card's or a terminal's (key agreement) or an
    /// intermediate CA's (signature), in the SCP11 certificate format.
    ///
    /// Example: jct ca sign --ca pki --new-key oce.key --subject "terminal 7" -o oce.cert
    Sign(SignArgs),
    /// Show certificates (a chain, issuer first) and, with --ca, check
    /// every signature and date up to that CA.
    ///
    /// Example: jct ca show oce.cert --ca pki
    Show(ShowArgs),
    /// List what a CA has certified.
    ///
    /// Example: jct ca list --ca pki
    List(ListArgs),
}

// jct ca init
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The CA directory (created; refused when it already holds a CA).
    pub dir: PathBuf,
    /// A name for people, kept in ca.json (not in certificates).
    #[arg(long, default_value = "jct CA")]
    pub name: String,
    /// The CA-KLOC identifier certificates carry in tag 42, in hex
    /// (default: the leftmost 20 bytes of SHA-256 of the public key point).
    #[arg(long, value_name = "HEX")]
    pub id: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Key agreement (0080): an SD's or OCE's ECKA key.
    Agreement,
    /// Signature verification (0082): an intermediate CA.
    Signature,
}

// jct ca sign
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The CA directory (`jct ca init`).
    #[arg(long, value_name = "DIR")]
    pub ca: PathBuf,
    /// The public key to certify: SPKI PEM/DER, a SEC1 point in hex, or a
    /// PKCS#8 private key (its public half).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "new_key",
        required_unless_present = "new_key"
    )]
    pub public_key: Option<PathBuf>,
    /// Make a new P-256 key pair, write its private key here (PKCS#8 PEM,
    /// mode 0600; refused if the file exists) and certify its public key.
    #[arg(long, value_name = "FILE")]
    pub new_key: Option<PathBuf>,
    /// The subject identifier (tag 5F20), as text.
    #[arg(
        long,
        value_name = "TEXT",
        conflicts_with = "subject_hex",
        required_unless_present = "subject_hex"
    )]
    pub subject: Option<String>,
    /// The subject identifier in hex.
    #[arg(long, value_name = "HEX")]
    pub subject_hex: Option<String>,
    /// What the key may do.
    #[arg(long, value_enum, default_value = "agreement")]
    pub usage: Usage,
    /// Valid for this many days from the effective date (default 365).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Valid until this date, YYYY-MM-DD (instead of --days).
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Effective from this date, YYYY-MM-DD (default today, UTC).
    #[arg(long, value_name = "DATE")]
    pub effective: Option<String>,
    /// The serial number in hex (default: the CA's next one). A serial the
    /// CA issued already is refused.
    #[arg(long, value_name = "HEX")]
    pub serial: Option<String>,
    /// Write the certificate in binary (default: hex text; jct reads both).
    #[arg(long)]
    pub binary: bool,
    /// Where to write the certificate.
    #[arg(short = 'o', long, value_name = "CERT")]
    pub output: PathBuf,
    /// Print the certificate's fields as JSON.
    #[arg(long)]
    pub json: bool,
}

// jct ca show
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Certificate files (binary or hex; each may hold a chain, issuer first).
    #[arg(required = true)]
    pub certs: Vec<PathBuf>,
    /// Check the chain against this CA: a CA directory or a public key file.
    #[arg(long, value_name = "DIR|FILE")]
    pub ca: Option<PathBuf>,
    /// The date to check validity on, YYYY-MM-DD (default today, UTC).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

// jct ca list
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The CA directory.
    #[arg(long, value_name = "DIR")]
    pub ca: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: CaCommand) -> Result<()> {
    match cmd {
        CaCommand::Init(a) => init(&a),
        CaCommand::Sign(a) => sign(&a),
        CaCommand::Show(a) => show(&a),
        CaCommand::List(a) => list(&a),
    }
}

fn parse_date(text: &str, option: &str) -> Result<Date> {
    text.parse::<Date>()
        .map_err(|e| anyhow::anyhow!("{option}: {e}"))
}

fn init(a: &InitArgs) -> Result<()> {
    let id = a.id.as_deref().map(|t| parse_hex(t, "--id")).transpose()?;
    let authority = ca::init(&a.dir, &a.name, id)?;
    let point = hex::encode_upper(authority.public_key().to_sec1_point(false).as_bytes());
    if a.json {
        let v = serde_json::json!({
            "dir": a.dir.display().to_string(),
            "name": authority.record.name,
            "id": authority.record.id,
            "public_key": point,
            "key": ca::key_path(&a.dir).display().to_string(),
            "public_key_file": ca::public_path(&a.dir).display().to_string(),
        });
        return crate::out::line(format_args!("{v}"));
    }
    crate::out::line(format_args!(
        "CA {:?} in {}: identifier {}\n  private key {} (keep it offline; mode 0600)\n  public key  {} (the --ca of SCP11 sessions)",
        authority.record.name,
        a.dir.display(),
        authority.record.id,
        ca::key_path(&a.dir).display(),
        ca::public_path(&a.dir).display()
    ))
}

/// The public key to certify, and the new private key to write if any.
fn subject_key(a: &SignArgs) -> Result<(VerifyingKey, Option<p256::SecretKey>)> {
    if let Some(path) = &a.public_key {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let key = files::read_public_key(&bytes)
            .map_err(|e| anyhow::anyhow!("--public-key {}: {e}", path.display()))?;
        return Ok((key, None));
    }
    let Some(path) = &a.new_key else {
        bail!("give --public-key FILE or --new-key FILE");
    };
    if path.exists() {
        bail!(
            "--new-key {}: the file exists; a private key is never overwritten",
            path.display()
        );
    }
    let secret = files::generate_private_key().map_err(anyhow::Error::msg)?;
    Ok((VerifyingKey::from(secret.public_key()), Some(secret)))
}

fn sign(a: &SignArgs) -> Result<()> {
    let subject = match (&a.subject, &a.subject_hex) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (None, Some(h)) => parse_hex(h, "--subject-hex")?,
        (None, None) => bail!("give --subject TEXT or --subject-hex HEX"),
    };
    if subject.is_empty() || subject.len() > 127 {
        bail!(
            "the subject identifier has {} bytes; 1 to 127 allowed",
            subject.len()
        );
    }
    let effective = a
        .effective
        .as_deref()
        .map(|t| parse_date(t, "--effective"))
        .transpose()?;
    let expires = a
        .expires
        .as_deref()
        .map(|t| parse_date(t, "--expires"))
        .transpose()?;
    let (from, until) = ca::validity(effective, a.days, expires)?;
    let wanted = a
        .serial
        .as_deref()
        .map(|t| parse_hex(t, "--serial"))
        .transpose()?;
    let (public_key, new_secret) = subject_key(a)?;
    let _lock = ca::Lock::take(&a.ca)?;
    let mut authority = ca::open(&a.ca)?;
    let serial = authority.take_serial(wanted)?;
    let key_usage = match a.usage {
        Usage::Agreement => USAGE_KEY_AGREEMENT,
        Usage::Signature => USAGE_SIGNATURE,
    };
    let cert = CertificateTemplate {
        serial: serial.clone(),
        issuer: authority.id(),
        subject: subject.clone(),
        key_usage,
        effective: Some(from),
        expiration: until,
        public_key,
    }
    .sign(&authority.key);
    // What is written is what a reader gets: parsed and verified again.
    let parsed = Certificate::parse(&cert).context("the new certificate does not parse")?;
    parsed
        .verify_signature(&authority.public_key(), "the CA key")
        .context("the new certificate does not verify")?;
    if let (Some(secret), Some(path)) = (&new_secret, &a.new_key) {
        let pem =
            zeroize::Zeroizing::new(files::private_key_pem(secret).map_err(anyhow::Error::msg)?);
        crate::script_tls::write_private(path, pem.as_bytes())?;
    }
    let body = if a.binary {
        cert.clone()
    } else {
        format!("{}\n", hex::encode_upper(&cert)).into_bytes()
    };
    if let Err(e) = crate::fsutil::write_atomic(&a.output, &body) {
        if let Some(path) = &a.new_key {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    let entry = ca::Issued {
        serial: hex::encode_upper(&serial),
        subject: hex::encode_upper(&subject),
        key_usage: format!("{key_usage:04X}"),
        effective: from.to_string(),
        expiration: until.to_string(),
        sha256: hex::encode_upper(Sha256::digest(&cert)),
    };
    authority.record_issued(entry)?;
    if until < Date::today() {
        note!(
            "jct ca sign: note: this certificate expired on {until} (it is refused by every check)"
        );
    }
    if a.json {
        return crate::out::line(format_args!("{}", describe(&parsed, None)));
    }
    crate::out::line(format_args!(
        "certificate {} for {} ({}), valid {from} to {until}, signed by {} -> {}{}",
        parsed.serial_hex(),
        shown_subject(&parsed.subject),
        usage_name(key_usage),
        authority.record.id,
        a.output.display(),
        a.new_key
            .as_ref()
            .map(|p| format!(", private key -> {}", p.display()))
            .unwrap_or_default()
    ))
}

fn usage_name(u: u16) -> &'static str {
    match u {
        USAGE_KEY_AGREEMENT => "key agreement",
        USAGE_SIGNATURE => "signature",
        _ => "other usage",
    }
}

/// The subject as text when it is printable, else hex.
fn shown_subject(s: &[u8]) -> String {
    match std::str::from_utf8(s) {
        Ok(t) if t.chars().all(|c| !c.is_control()) => format!("{t:?}"),
        _ => hex::encode_upper(s),
    }
}

fn describe(c: &Certificate, check: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "serial": c.serial_hex(),
        "issuer": hex::encode_upper(&c.issuer),
        "subject": hex::encode_upper(&c.subject),
        "subject_text": std::str::from_utf8(&c.subject).ok(),
        "key_usage": format!("{:04X}", c.key_usage),
        "effective": c.effective.map(|d| d.to_string()),
        "expiration": c.expiration.to_string(),
        "public_key": hex::encode_upper(c.public_key.to_sec1_point(false).as_bytes()),
        "sha256": hex::encode_upper(Sha256::digest(c.encoded())),
    });
    if let Some(check) = check {
        v["check"] = serde_json::Value::String(check.to_string());
    }
    v
}

/// Checks one chain against `anchor` on `today`, certificate by
/// certificate: the outcome of each ("ok" or why not).
fn check_chain(chain: &[Certificate], anchor: &VerifyingKey, today: Date) -> Vec<String> {
    let mut issuer = *anchor;
    let mut name = "the CA key".to_string();
    let mut out = Vec::new();
    let mut broken = false;
    for c in chain {
        if broken {
            out.push("not checked: its issuer did not verify".into());
            continue;
        }
        let verdict = c
            .verify_signature(&issuer, &name)
            .and_then(|()| c.check_validity(today));
        match verdict {
            Ok(()) => out.push("ok".into()),
            Err(e) => {
                broken = matches!(e, scp::scp11::CertError::Signature { .. });
                out.push(e.to_string());
            }
        }
        issuer = c.public_key;
        name = format!("certificate {}", c.serial_hex());
    }
    out
}

fn read_chain(path: &Path) -> Result<Vec<Certificate>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    files::read_certificates(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn show(a: &ShowArgs) -> Result<()> {
    let anchor = a.ca.as_deref().map(ca::read_trust_anchor).transpose()?;
    let today = a
        .date
        .as_deref()
        .map(|t| parse_date(t, "--date"))
        .transpose()?
        .unwrap_or_else(Date::today);
    let mut failures = 0;
    let mut shown = Vec::new();
    for path in &a.certs {
        let chain = read_chain(path)?;
        let checks = anchor.as_ref().map(|k| check_chain(&chain, k, today));
        failures += checks
            .iter()
            .flatten()
            .filter(|c| c.as_str() != "ok")
            .count();
        for (n, c) in chain.iter().enumerate() {
            let check = checks.as_ref().map(|v| v[n].as_str());
            if a.json {
                let mut v = describe(c, check);
                v["file"] = serde_json::Value::String(path.display().to_string());
                shown.push(v);
                continue;
            }
            crate::out::line(format_args!(
                "{}: certificate {} of {}\n  serial      {}\n  issuer      {}\n  subject     {}\n  key usage   {:04X} ({})\n  valid       {} to {}\n  public key  {}{}",
                path.display(),
                n + 1,
                chain.len(),
                c.serial_hex(),
                hex::encode_upper(&c.issuer),
                shown_subject(&c.subject),
                c.key_usage,
                usage_name(c.key_usage),
                c.effective.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                c.expiration,
                hex::encode_upper(c.public_key.to_sec1_point(false).as_bytes()),
                check
                    .map(|v| format!("\n  check       {v} (on {today})"))
                    .unwrap_or_default()
            ))?;
        }
    }
    if a.json {
        crate::out::line(format_args!("{}", serde_json::Value::Array(shown)))?;
    }
    if failures > 0 {
        bail!("{failures} certificate(s) did not pass the check against the CA");
    }
    Ok(())
}

fn list(a: &ListArgs) -> Result<()> {
    let authority = ca::open(&a.ca)?;
    if a.json {
        return crate::out::line(format_args!(
            "{}",
            serde_json::to_string(&authority.record)?
        ));
    }
    crate::out::line(format_args!(
        "CA {:?} ({}), identifier {}, next serial {}",
        authority.record.name,
        a.ca.display(),
        authority.record.id,
        authority.record.next_serial
    ))?;
    for i in &authority.record.issued {
        let subject = hex::decode(&i.subject).unwrap_or_default();
        crate::out::line(format_args!(
            "  {:>6}  {}  {} to {}  {}",
            i.serial,
            usage_name(u16::from_str_radix(&i.key_usage, 16).unwrap_or(0)),
            i.effective,
            i.expiration,
            if i.sha256.is_empty() {
                "(serial taken, no certificate written)".to_string()
            } else {
                shown_subject(&subject)
            }
        ))?;
    }
    Ok(())
}
