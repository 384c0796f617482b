//! `jct dap sign`: the DAP of a CAP file's load file for a security domain
//! with the DAP Verification privilege (GP 2.3.1 9.2.1): the Load File Data
//! Block Hash and its signature under the DAP key, written as a DAP file
//! that `jct load/install --dap` sends. Signing needs no card, so it can
//! run where the key is kept.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;
use clap::{Args, Subcommand, ValueEnum};
use gp::dap::{DapFile, HashAlgorithm};
use scp::dap::{DapKey, DapType};
use zeroize::Zeroizing;

use crate::card_args::parse_aid;

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum DapCommand {
    /// Sign a CAP file's load file with a DAP key.
    ///
    /// Example: jct dap sign --key dap.pem --type rsa --sd A000000151000000 applet.cap -o applet.dap
    Sign(SignArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeArg {
    /// Full triple DES MAC (16-byte key).
    Des,
    /// AES-CMAC (16-, 24- or 32-byte key).
    Aes,
    /// RSASSA-PKCS1-v1_5 (PEM or PKCS#8 DER private key).
    Rsa,
    /// ECDSA P-256 with SHA-256 (PEM, PKCS#8 DER or 32-byte scalar).
    Ecc,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashArg {
    Sha1,
    Sha256,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The DAP key: a file (hex for des/aes, PEM or hex DER for rsa/ecc)
    /// or the key in hex.
    #[arg(long, value_name = "FILE|HEX")]
    pub key: String,
    /// The DAP scheme.
    #[arg(long = "type", value_enum)]
    pub dap_type: TypeArg,
    /// The security domain whose DAP key this is.
    #[arg(long, value_name = "AID")]
    pub sd: String,
    /// The Load File Data Block Hash algorithm (the hash INSTALL [for load] carries).
    #[arg(long, value_enum, default_value = "sha256")]
    pub hash: HashArg,
    /// Sign the load file with its Descriptor component (as `jct load --with-descriptor` sends it).
    #[arg(long)]
    pub with_descriptor: bool,
    /// The CAP file.
    pub cap: PathBuf,
    /// Where to write the DAP file.
    #[arg(short = 'o', long, value_name = "DAPFILE")]
    pub output: PathBuf,
    /// Print what was signed as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: DapCommand) -> Result<()> {
    match cmd {
        DapCommand::Sign(args) => sign(&args),
    }
}

/// The key material behind `--key`: a file's text when the value names
/// a file, otherwise the value itself.
pub fn key_material(value: &str, option: &str) -> Result<Zeroizing<String>> {
    let path = std::path::Path::new(value);
    if path.is_file() {
        let text =
            std::fs::read(path).with_context(|| format!("{option}: reading {}", path.display()))?;
        let text = Zeroizing::new(text);
        return match std::str::from_utf8(&text) {
            Ok(s) => Ok(Zeroizing::new(s.to_string())),
            // A binary file: DER, handed on as hex.
            Err(_) => Ok(Zeroizing::new(hex::encode(&*text))),
        };
    }
    Ok(Zeroizing::new(value.to_string()))
}

fn dap_type(t: TypeArg) -> DapType {
    match t {
        TypeArg::Des => DapType::Des,
        TypeArg::Aes => DapType::Aes,
        TypeArg::Rsa => DapType::Rsa,
        TypeArg::Ecc => DapType::Ecc,
    }
}

fn sign(args: &SignArgs) -> Result<()> {
    let ty = dap_type(args.dap_type);
    let material = key_material(&args.key, "--key")?;
    let key = DapKey::parse(ty, &material).context("--key")?;
    let sd = parse_aid(&args.sd, "--sd")?;
    let cap = Cap::from_path(&args.cap)
        .with_context(|| format!("cannot read CAP {}", args.cap.display()))?;
    let aid = cap
        .header()
        .map(|h| h.load_file_aid().as_bytes().to_vec())
        .with_context(|| format!("{}: the CAP has no Header component", args.cap.display()))?;
    let load_file = LoadFile::build(&cap, args.with_descriptor)
        .with_context(|| format!("{}: building the load file", args.cap.display()))?;
    let (algorithm, hash) = match args.hash {
        HashArg::Sha1 => (
            HashAlgorithm::Sha1,
            loader::plan::LoadHash::Sha1.digest(&load_file.bytes),
        ),
        HashArg::Sha256 => (
            HashAlgorithm::Sha256,
            loader::plan::LoadHash::Sha256.digest(&load_file.bytes),
        ),
    };
    let signature = key
        .sign(&hash)
        .context("signing the Load File Data Block hash")?;
    let file = DapFile {
        format: DapFile::FORMAT.to_string(),
        version: 1,
        load_file: hex::encode_upper(&aid),
        security_domain: hex::encode_upper(&sd),
        dap_type: ty.name().to_string(),
        hash_algorithm: algorithm,
        hash: hex::encode_upper(&hash),
        signature: hex::encode_upper(&signature),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    crate::fsutil::write_atomic(&args.output, text.as_bytes()).context("the DAP file")?;
    if args.json {
        crate::out::line(format_args!("{}", text.trim_end()))?;
    } else {
        crate::out::line(format_args!(
            "DAP for {} ({}): {} hash {}, {} signature of {} bytes for security domain {} -> {}",
            file.load_file,
            args.cap.display(),
            algorithm.name(),
            file.hash,
            ty,
            signature.len(),
            file.security_domain,
            args.output.display()
        ))?;
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum TokenCommand {
    /// A delete token: the card issuer's signature over DELETE of AID
    /// (GP 2.3.1 Annex C.4), for a card whose security domain performs
    /// delegated management.
    ///
    /// Example: jct token delete --key issuer.pem F00000000101 -o delete.token
    Delete(TokenDeleteArgs),
    /// A load token: the card issuer's signature over the INSTALL [for
    /// load] of a CAP file's load file (GP 2.3.1 Annex C.4), which `jct
    /// load/install --token` then sends in that command. The options that
    /// shape INSTALL [for load] must be the ones `jct load` gets.
    ///
    /// Example: jct token load --key issuer.pem applet.cap --to A000000151000000 -o load.token
    Load(TokenLoadArgs),
    /// An install token: the card issuer's signature over INSTALL [for
    /// install and make selectable] (or [for install] alone) of one
    /// applet instance, from the CAP file or from the AIDs.
    ///
    /// Example: jct token install --key issuer.pem applet.cap --instance F0000000010101 -o install.token
    Install(TokenInstallArgs),
    /// A make selectable token: the card issuer's signature over INSTALL
    /// [for make selectable] of an installed instance (`jct make-selectable
    /// AID --token`), with the privileges that command gives.
    ///
    /// Example: jct token make-selectable --key issuer.pem F0000000010101 -o selectable.token
    MakeSelectable(TokenMakeSelectableArgs),
}

#[derive(Args, Debug)]
pub struct TokenMakeSelectableArgs {
    /// The issuer's token key (RSA or P-256 private key, PEM or hex DER).
    #[arg(long, value_name = "FILE|HEX")]
    pub key: String,
    /// The key's type.
    #[arg(long = "type", value_enum, default_value = "rsa")]
    pub key_type: TypeArg,
    /// The instance AID.
    pub aid: String,
    /// Privileges (as `jct make-selectable --privs`).
    #[arg(long, value_name = "LIST")]
    pub privs: Option<String>,
    /// Where to write the token file.
    #[arg(short = 'o', long, value_name = "TOKENFILE")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct TokenLoadArgs {
    /// The issuer's token key (RSA or P-256 private key, PEM or hex DER).
    #[arg(long, value_name = "FILE|HEX")]
    pub key: String,
    /// The key's type.
    #[arg(long = "type", value_enum, default_value = "rsa")]
    pub key_type: TypeArg,
    /// The CAP file.
    pub cap: PathBuf,
    /// The security domain INSTALL [for load] names (the one `jct load`
    /// selects when it has no --to).
    #[arg(long, value_name = "SD_AID", default_value = "A000000151000000")]
    pub to: String,
    /// The Load File Data Block hash INSTALL [for load] carries (as `jct load --hash`).
    #[arg(long, value_enum)]
    pub hash: Option<HashArg>,
    /// The load file with its Descriptor component (as `jct load --with-descriptor`).
    #[arg(long)]
    pub with_descriptor: bool,
    /// Load parameter C6 (as `jct load --code-space`).
    #[arg(long, value_name = "N")]
    pub code_space: Option<u32>,
    /// Load parameter C7 (as `jct load --volatile-data`).
    #[arg(long, value_name = "N")]
    pub volatile_data: Option<u32>,
    /// Load parameter C8 (as `jct load --nonvolatile-data`).
    #[arg(long, value_name = "N")]
    pub nonvolatile_data: Option<u32>,
    /// Where to write the token file.
    #[arg(short = 'o', long, value_name = "TOKENFILE")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct TokenInstallArgs {
    /// The issuer's token key (RSA or P-256 private key, PEM or hex DER).
    #[arg(long, value_name = "FILE|HEX")]
    pub key: String,
    /// The key's type.
    #[arg(long = "type", value_enum, default_value = "rsa")]
    pub key_type: TypeArg,
    /// The CAP file (its package and applets); without it --package and --applet.
    #[arg(required_unless_present_all = ["package", "applet"])]
    pub cap: Option<PathBuf>,
    /// The load file AID, without a CAP file.
    #[arg(long, value_name = "AID", conflicts_with = "cap")]
    pub package: Option<String>,
    /// The applet class AID (with a CAP of several applets, or without a CAP).
    #[arg(long, value_name = "AID")]
    pub applet: Option<String>,
    /// The instance AID (default: the applet AID).
    #[arg(long, value_name = "AID")]
    pub instance: Option<String>,
    /// Privileges (as `jct install --privs`).
    #[arg(long, value_name = "LIST")]
    pub privs: Option<String>,
    /// The Card Reset privilege too (as `jct install --default`).
    #[arg(long)]
    pub default: bool,
    /// Applet specific install parameters in C9 (as `jct install --params-c9`).
    #[arg(long = "params-c9", value_name = "HEX")]
    pub params: Option<String>,
    /// The memory quotas, toolkit and other system parameters (EF), as
    /// `jct install` gets them: the token signs them.
    #[command(flatten)]
    pub system: crate::card_args::SystemArgs,
    /// For INSTALL [for install] alone (as `jct install --no-make-selectable`).
    #[arg(long)]
    pub no_make_selectable: bool,
    /// Where to write the token file.
    #[arg(short = 'o', long, value_name = "TOKENFILE")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct TokenDeleteArgs {
    /// The issuer's token key: an RSA (PKCS#1 v1.5 with SHA-1) or P-256
    /// (ECDSA with SHA-256) private key, PEM or hex DER.
    #[arg(long, value_name = "FILE|HEX")]
    pub key: String,
    /// The key's type.
    #[arg(long = "type", value_enum, default_value = "rsa")]
    pub key_type: TypeArg,
    /// The AID to delete.
    pub aid: String,
    /// The token is for DELETE with P2 80 (what depends on the AID too).
    #[arg(long)]
    pub related: bool,
    /// Where to write the token file.
    #[arg(short = 'o', long, value_name = "TOKENFILE")]
    pub output: PathBuf,
}

/// A token as `jct token` writes it and `jct delete --token` reads it.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    pub format: String,
    pub version: u32,
    /// The command the token authorises: "delete", "load" or "install".
    pub command: String,
    /// The AID deleted, the load file loaded, or the instance installed.
    pub aid: String,
    pub related: bool,
    /// The signed data, `P1 || P2 || Lc || data` (for checking by eye).
    pub signed: String,
    pub token: String,
}

pub const TOKEN_FORMAT: &str = "jct-token";

pub fn run_token(cmd: TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Delete(args) => token_delete(&args),
        TokenCommand::Load(args) => token_load(&args),
        TokenCommand::Install(args) => token_install(&args),
        TokenCommand::MakeSelectable(args) => token_make_selectable(&args),
    }
}

/// Signs `signed` and writes the token file for `command` on `aid`.
fn write_token(
    key_arg: &str,
    key_type: TypeArg,
    command: &str,
    aid: &[u8],
    signed: &[u8],
    output: &std::path::Path,
) -> Result<()> {
    let material = key_material(key_arg, "--key")?;
    let key = DapKey::parse(dap_type(key_type), &material).context("--key")?;
    let token = scp::token::sign_token(&key, signed)
        .with_context(|| format!("signing the {command} token"))?;
    let file = TokenFile {
        format: TOKEN_FORMAT.into(),
        version: 1,
        command: command.into(),
        aid: hex::encode_upper(aid),
        related: false,
        signed: hex::encode_upper(signed),
        token: hex::encode_upper(&token),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    crate::fsutil::write_atomic(output, text.as_bytes()).context("the token file")?;
    crate::out::line(format_args!(
        "{command} token for {} ({} bytes) -> {}",
        file.aid,
        token.len(),
        output.display()
    ))?;
    Ok(())
}

/// The load token signs the INSTALL [for load] the loader's own plan
/// sends, so the two cannot drift apart.
fn token_load(args: &TokenLoadArgs) -> Result<()> {
    let cap = Cap::from_path(&args.cap)
        .with_context(|| format!("cannot read CAP {}", args.cap.display()))?;
    let sd = parse_aid(&args.to, "--to")?;
    let options = loader::plan::LoadOptions {
        security_domain: Some(sd.clone()),
        hash: args.hash.map(|h| match h {
            HashArg::Sha1 => loader::plan::LoadHash::Sha1,
            HashArg::Sha256 => loader::plan::LoadHash::Sha256,
        }),
        with_descriptor: args.with_descriptor,
        system: gp::install::SystemParameters {
            code_space: args.code_space,
            volatile: args.volatile_data,
            non_volatile: args.nonvolatile_data,
            ..Default::default()
        },
        ..Default::default()
    };
    let plan = loader::plan::load(&cap, &options, &sd, 255)
        .with_context(|| format!("{}: INSTALL [for load]", args.cap.display()))?;
    let command = &plan
        .steps
        .first()
        .context("the load plan has no INSTALL [for load]")?
        .command;
    let v = gp::install::InstallForLoad::parse(command.data())?;
    let signed = gp::token::load_token_data(command.p1(), command.p2(), &v)?;
    write_token(
        &args.key,
        args.key_type,
        "load",
        &v.load_file_aid,
        &signed,
        &args.output,
    )
}

fn token_install(args: &TokenInstallArgs) -> Result<()> {
    let mut privileges = match &args.privs {
        Some(p) => gp::Privileges::parse_list(p).map_err(anyhow::Error::msg)?,
        None => gp::Privileges::default(),
    };
    if args.default {
        privileges = privileges.with_default_selected();
    }
    let applet = args
        .applet
        .as_deref()
        .map(|a| parse_aid(a, "--applet"))
        .transpose()?;
    let instance = args
        .instance
        .as_deref()
        .map(|a| parse_aid(a, "--instance"))
        .transpose()?;
    let parameters = args
        .params
        .as_deref()
        .map(|p| crate::card_args::parse_hex(p, "--params-c9"))
        .transpose()?
        .unwrap_or_default();
    let p1 = if args.no_make_selectable {
        gp::install::p1::FOR_INSTALL
    } else {
        gp::install::p1::FOR_INSTALL_AND_MAKE_SELECTABLE
    };
    let v = match (&args.cap, &args.package, &applet) {
        (Some(path), _, _) => {
            let cap = Cap::from_path(path)
                .with_context(|| format!("cannot read CAP {}", path.display()))?;
            let options = loader::plan::InstallOptions {
                applet,
                instance,
                privileges,
                parameters,
                system: args.system.to_system()?,
                install_only: args.no_make_selectable,
                ..Default::default()
            };
            let plan = loader::plan::install(&cap, &options)
                .with_context(|| format!("{}: INSTALL [for install]", path.display()))?;
            let [step] = plan.steps.as_slice() else {
                anyhow::bail!(
                    "{}: {} applets; an install token signs one INSTALL: choose one with --applet",
                    path.display(),
                    plan.steps.len()
                );
            };
            gp::install::InstallForInstall::parse(step.command.data())?
        }
        (None, Some(package), Some(module)) => gp::install::InstallForInstall {
            load_file_aid: parse_aid(package, "--package")?,
            module_aid: module.clone(),
            application_aid: instance.unwrap_or_else(|| module.clone()),
            privileges,
            parameters: gp::install::InstallForInstall::install_parameters(
                &parameters,
                &args.system.to_system()?,
            )?,
            token: Vec::new(),
        },
        _ => anyhow::bail!("jct token install needs a CAP file, or --package and --applet"),
    };
    let signed = gp::token::install_token_data(p1, 0x00, &v)?;
    write_token(
        &args.key,
        args.key_type,
        "install",
        &v.application_aid,
        &signed,
        &args.output,
    )
}

fn token_make_selectable(args: &TokenMakeSelectableArgs) -> Result<()> {
    let aid = parse_aid(&args.aid, "AID")?;
    let privileges = match &args.privs {
        Some(p) => gp::Privileges::parse_list(p).map_err(anyhow::Error::msg)?,
        None => gp::Privileges::default(),
    };
    // The very command `jct make-selectable` sends, without its token.
    let plan = loader::plan::make_selectable(&aid, privileges, &[])?;
    let [step] = plan.steps.as_slice() else {
        anyhow::bail!("INSTALL [for make selectable] is one command");
    };
    let v = gp::install::InstallForInstall::parse(step.command.data())?;
    let signed = gp::token::install_token_data(step.command.p1(), step.command.p2(), &v)?;
    write_token(
        &args.key,
        args.key_type,
        "make-selectable",
        &aid,
        &signed,
        &args.output,
    )
}

fn token_delete(args: &TokenDeleteArgs) -> Result<()> {
    let material = key_material(&args.key, "--key")?;
    let key = DapKey::parse(dap_type(args.key_type), &material).context("--key")?;
    let aid = parse_aid(&args.aid, "AID")?;
    let p2 = if args.related { 0x80 } else { 0x00 };
    let signed = gp::token::delete_token_data(0x00, p2, &aid)?;
    let token = scp::token::sign_token(&key, &signed).context("signing the delete token")?;
    let file = TokenFile {
        format: TOKEN_FORMAT.into(),
        version: 1,
        command: "delete".into(),
        aid: hex::encode_upper(&aid),
        related: args.related,
        signed: hex::encode_upper(&signed),
        token: hex::encode_upper(&token),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    crate::fsutil::write_atomic(&args.output, text.as_bytes()).context("the token file")?;
    crate::out::line(format_args!(
        "delete token for {} ({} bytes) -> {}",
        file.aid,
        token.len(),
        args.output.display()
    ))?;
    Ok(())
}

/// Reads a token file (any command); names the file in errors.
fn read_token_file(path: &std::path::Path) -> Result<TokenFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--token: reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("--token: {} is not a jct token file", path.display()))
}

/// Whether one of the token files is for `command`.
pub fn has_token(paths: &[PathBuf], command: &str) -> Result<bool> {
    for p in paths {
        if read_token_file(p)?.command == command {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The token for `command` on `aid` among the token files given (one
/// each for load and install): exactly one must be for `command`.
pub fn token_for(paths: &[PathBuf], command: &str, aid: &[u8]) -> Result<Vec<u8>> {
    let mut chosen = Vec::new();
    for p in paths {
        if read_token_file(p)?.command == command {
            chosen.push(p);
        }
    }
    match chosen.as_slice() {
        [one] => read_token(one, command, aid),
        [] => anyhow::bail!("--token: none of the token files is a {command} token"),
        several => anyhow::bail!(
            "--token: {} {command} tokens given ({}); one is sent",
            several.len(),
            several
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Reads a token file for `command` on `aid`; names the file in errors.
pub fn read_token(path: &std::path::Path, command: &str, aid: &[u8]) -> Result<Vec<u8>> {
    let f = read_token_file(path)?;
    if f.format != TOKEN_FORMAT || f.version != 1 || f.command != command {
        anyhow::bail!(
            "--token: {} is a {:?} version {} token for {:?}; a {TOKEN_FORMAT} version 1 token for {command:?} is needed",
            path.display(),
            f.format,
            f.version,
            f.command
        );
    }
    if !f.aid.eq_ignore_ascii_case(&hex::encode(aid)) {
        anyhow::bail!(
            "--token: {} authorises {} on {}, not on {}",
            path.display(),
            command,
            f.aid,
            hex::encode_upper(aid)
        );
    }
    hex::decode(&f.token).with_context(|| format!("--token: {}: token is not hex", path.display()))
}

/// A DES or AES receipt key from `TYPE:KEY`.
pub fn receipt_key(value: &str, option: &str) -> Result<DapKey> {
    let (ty, key) = value
        .split_once(':')
        .with_context(|| format!("{option} {value:?}: TYPE:KEY expected, e.g. aes:HEX"))?;
    let ty: DapType = ty.parse().with_context(|| option.to_string())?;
    if !matches!(ty, DapType::Des | DapType::Aes) {
        anyhow::bail!("{option}: a receipt key is des or aes, not {ty}");
    }
    let material = key_material(key, option)?;
    DapKey::parse(ty, &material).with_context(|| option.to_string())
}
