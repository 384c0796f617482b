//! Card commands: readers, info, list, load, install, make-selectable,
//! delete, uninstall, put-key, set-status, apdu, store-data. Each prints
//! text, or with `--json` one JSON document on stdout (README: "JSON
//! output"); a failure with `--json` prints [`failure_json`]'s document.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cap_tools::Cap;
use clap::{Args, Subcommand, ValueEnum};
use gp::install::SystemParameters;
use gp::privileges::Privileges;
use gp::sw::CommandKind;
use gp::{CommandApdu, StatusChange};
use loader::card_info::CardInfo;
use loader::client::LoadProgress;
use loader::compat::{Outcome, Report};
use loader::plan::{InstallOptions, LoadHash, LoadOptions};
use scp::keys::{KeyType, StaticKeys};

use crate::card_args::{
    open_session, parse_aid, parse_hex, parse_hex_u8, parse_u8, progress_bar, KeyArgs, Target,
    TransportArgs,
};
use crate::errors::HintExt;
use crate::secret::SecretHex;

// Options of every card command.
#[derive(Args, Debug)]
pub struct CardOpts {
    #[command(flatten, next_help_heading = "Card connection")]
    pub transport: TransportArgs,
    #[command(flatten, next_help_heading = "Keys and secure channel")]
    pub keys: KeyArgs,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum CardCommand {
    /// List PC/SC readers and whether a card is in each.
    Readers {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what the card tells about itself: CPLC, IIN, CIN, card recognition
    /// data, key information, secure channel protocol, maximum block size.
    Info {
        #[command(flatten)]
        opts: CardOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the security domains, applications and packages on the card.
    List {
        #[command(flatten)]
        opts: CardOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load a CAP file's package (INSTALL [for load] and LOAD blocks).
    Load {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        opts: CardOpts,
    },
    /// Load a CAP file and install and make selectable its applets.
    Install {
        #[command(flatten)]
        opts: CardOpts,
        #[command(flatten)]
        load: LoadArgs,
        /// Install only this applet (class AID).
        #[arg(long, value_name = "AID")]
        applet: Option<String>,
        /// Instance AID (default: the applet AID).
        #[arg(long, value_name = "AID")]
        instance: Option<String>,
        /// Privileges: names separated by commas (e.g. CardReset,CardLock) or hex.
        #[arg(long, value_name = "LIST")]
        privs: Option<String>,
        /// Applet specific install parameters (hex), sent inside tag C9 and
        /// handed to the applet's install(). `--params` is the old name.
        #[arg(long = "params-c9", visible_alias = "params", value_name = "HEX")]
        params: Option<String>,
        #[command(flatten)]
        system: crate::card_args::SystemArgs,
        /// INSTALL [for install] alone (P1 04): the instance stays INSTALLED,
        /// not selectable, until `jct make-selectable AID`.
        #[arg(long)]
        no_make_selectable: bool,
        /// Make the applet the default selected one (the CardReset privilege).
        #[arg(long)]
        default: bool,
        /// The package is already on the card: only install.
        #[arg(long)]
        no_load: bool,
        /// When the install fails after the LOAD succeeded, leave the package
        /// on the card (by default it is deleted again, so a rerun starts clean).
        #[arg(long)]
        keep_on_failure: bool,
    },
    /// Make an installed instance selectable: INSTALL [for make
    /// selectable] (P1 08), after `jct install --no-make-selectable`.
    ///
    /// Example: jct make-selectable F0000000010101 --privs CardReset
    MakeSelectable {
        #[command(flatten)]
        opts: CardOpts,
        /// The instance AID.
        aid: String,
        /// Privileges: names separated by commas (e.g. CardReset) or hex.
        #[arg(long, value_name = "LIST")]
        privs: Option<String>,
        /// A make selectable token made by `jct token make-selectable`, for
        /// a card whose security domain performs delegated management.
        #[arg(long, value_name = "TOKENFILE")]
        token: Option<PathBuf>,
        /// Check the card's receipt with this key (des:HEX or aes:HEX).
        #[arg(long, value_name = "TYPE:FILE|HEX", requires = "token")]
        receipt_key: Option<String>,
        /// Print JSON (with --token, the confirmation too).
        #[arg(long)]
        json: bool,
    },
    /// Install a supplementary security domain from the card's Security
    /// Domain module (load file A0000001515350, module A000000151535041):
    /// INSTALL [for install and make selectable] through the ISD, with the
    /// Security Domain privilege and any others given.
    ///
    /// The jct emulator gives a new SSD a copy of the ISD's default key
    /// set; replace it through the SSD's own secure channel with
    /// `jct put-key --sd AID`. Other cards may differ.
    ///
    /// Example: jct install-sd A000000151000001 --privs DelegatedManagement
    InstallSd {
        #[command(flatten)]
        opts: CardOpts,
        /// The new security domain's AID.
        aid: String,
        /// Privileges besides Security Domain: names separated by commas
        /// (e.g. DapVerification, DelegatedManagement) or hex.
        #[arg(long, value_name = "LIST")]
        privs: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move an application or load file to another security domain:
    /// INSTALL [for extradition] (P1 10) through the ISD. Its
    /// personalization (`jct store-data --sd SD_AID`) then goes through
    /// that security domain.
    ///
    /// Example: jct extradite F000000001A501 --to A000000151000001
    Extradite {
        #[command(flatten)]
        opts: CardOpts,
        /// The application or load file AID.
        aid: String,
        /// The security domain to associate it with.
        #[arg(long, value_name = "SD_AID")]
        to: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete an application, security domain or package.
    Delete {
        #[command(flatten)]
        opts: CardOpts,
        /// AID to delete.
        aid: String,
        /// Also delete what depends on it (a package's instances).
        #[arg(long)]
        related: bool,
        /// A delete token made by `jct token delete`, for a card whose
        /// security domain performs delegated management.
        #[arg(long, value_name = "TOKENFILE")]
        token: Option<PathBuf>,
        /// Check the card's receipt with this key (des:HEX or aes:HEX).
        #[arg(long, value_name = "TYPE:FILE|HEX", requires = "token")]
        receipt_key: Option<String>,
        /// Print JSON (the AID and, with --token, the confirmation).
        #[arg(long)]
        json: bool,
    },
    /// Delete a CAP file's package and its instances.
    Uninstall {
        #[command(flatten)]
        opts: CardOpts,
        /// The CAP file whose package to delete.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send personalization data to an applet through the security domain.
    ///
    /// INSTALL [for personalization] names the applet, then each block goes
    /// in one STORE DATA (numbered from 00, the last one flagged), which the
    /// security domain passes to the applet's
    /// org.globalplatform.Application.processData. The applet decides what
    /// the data means (applets/perso-data takes tag-length-value records).
    ///
    /// Example: jct store-data --applet F000000001A501 0103414243 020101
    StoreData {
        #[command(flatten)]
        opts: CardOpts,
        /// The applet instance to personalize.
        #[arg(long, value_name = "AID")]
        applet: String,
        /// STORE DATA P1 bits besides the last-block flag (hex): data
        /// structure (b5-b4, e.g. 08 for DGI, 10 for BER-TLV) and
        /// encryption (b7-b6, 60 for data encrypted under the DEK).
        #[arg(long, default_value = "00", value_parser = parse_hex_u8)]
        p1: u8,
        /// A file with one block per line, in hex (blank lines and lines
        /// starting with # are skipped); instead of BLOCK arguments.
        #[arg(long, value_name = "FILE", conflicts_with = "blocks")]
        file: Option<PathBuf>,
        /// Print what was sent as JSON.
        #[arg(long)]
        json: bool,
        /// The data blocks, in hex, at most 255 bytes each.
        #[arg(value_name = "BLOCK", required_unless_present = "file")]
        blocks: Vec<String>,
    },
    /// Put an SCP11 key into the ISD (GP Amendment F): its key-agreement
    /// private key for SCP11a, b or c (KID 11, 13, 15; a PKCS#8 P-256 key,
    /// encrypted under the session DEK), or the public key of the CA that
    /// signs OCE certificates (KID 10; a CA directory or public key file).
    ///
    /// Example: jct put-ec-key --kid 13 --ec-key card.key --new-key-ver 1
    PutEcKey {
        #[command(flatten)]
        opts: CardOpts,
        /// The key identifier: 10 (OCE CA), 11 (SCP11a), 13 (SCP11b), 15 (SCP11c), in hex.
        #[arg(long, value_name = "HEX", value_parser = parse_hex_u8)]
        kid: u8,
        /// The key: a PKCS#8 private key for 11/13/15; for 10 a CA
        /// directory (`jct ca init`) or a public key file.
        #[arg(long, value_name = "FILE|DIR")]
        ec_key: PathBuf,
        /// Version of the new key.
        #[arg(long, value_name = "N", value_parser = parse_u8)]
        new_key_ver: u8,
        /// Replace this key version instead of adding one.
        #[arg(long, value_name = "N", value_parser = parse_u8)]
        replace: Option<u8>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Store the certificate chain of an ISD SCP11 key (STORE DATA of
    /// A6 {83 KID KVN} BF21 {certificates}), which GET DATA BF21 then
    /// returns to hosts; the last certificate must certify that key.
    ///
    /// Example: jct store-certs --kid 13 --kvn 1 card.cert
    StoreCerts {
        #[command(flatten)]
        opts: CardOpts,
        /// The key identifier (11, 13 or 15, in hex).
        #[arg(long, value_name = "HEX", value_parser = parse_hex_u8)]
        kid: u8,
        /// The key version.
        #[arg(long, value_name = "N", value_parser = parse_u8, default_value = "1")]
        kvn: u8,
        /// Certificates (GP SCP11 format, binary or hex), issuer first.
        certs: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add or replace a key set (3DES or AES), encrypted under the session DEK.
    PutKey {
        #[command(flatten)]
        opts: CardOpts,
        /// New key for ENC, MAC and DEK (hex).
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
        new_key: Option<SecretHex>,
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
        new_key_enc: Option<SecretHex>,
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
        new_key_mac: Option<SecretHex>,
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
        new_key_dek: Option<SecretHex>,
        /// Version of the new key set.
        #[arg(long, value_name = "N", value_parser = parse_u8)]
        new_key_ver: u8,
        /// Key type: aes or des3 (default: from the protocol of the session).
        #[arg(long, value_enum)]
        new_key_type: Option<NewKeyType>,
        /// Replace this key set version instead of adding a new one.
        #[arg(long, value_name = "N", value_parser = parse_u8)]
        replace: Option<u8>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lock or unlock an application, or lock, unlock or terminate the card.
    SetStatus {
        #[command(flatten)]
        opts: CardOpts,
        #[arg(value_enum)]
        action: StatusAction,
        /// The application AID (for lock/unlock).
        aid: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send raw APDUs (hex), in order; with --secure inside the secure channel.
    Apdu {
        #[command(flatten)]
        opts: CardOpts,
        /// Command APDUs in hex.
        #[arg(required = true)]
        apdus: Vec<String>,
        /// Open a secure channel with the security domain first; the APDUs
        /// (and --select) then travel inside it.
        #[arg(long)]
        secure: bool,
        /// Select this AID first, and nothing else (without --secure no
        /// security domain is selected: the card needs none).
        #[arg(long, value_name = "AID")]
        select: Option<String>,
        /// Print JSON: every command with its response data and status word.
        #[arg(long)]
        json: bool,
    },
}

impl CardCommand {
    /// Whether the command prints JSON (then so does its failure).
    fn json(&self) -> bool {
        match self {
            CardCommand::Readers { json }
            | CardCommand::Info { json, .. }
            | CardCommand::List { json, .. }
            | CardCommand::MakeSelectable { json, .. }
            | CardCommand::InstallSd { json, .. }
            | CardCommand::Extradite { json, .. }
            | CardCommand::Delete { json, .. }
            | CardCommand::Uninstall { json, .. }
            | CardCommand::StoreData { json, .. }
            | CardCommand::PutKey { json, .. }
            | CardCommand::PutEcKey { json, .. }
            | CardCommand::StoreCerts { json, .. }
            | CardCommand::SetStatus { json, .. }
            | CardCommand::Apdu { json, .. } => *json,
            CardCommand::Load { load, .. } | CardCommand::Install { load, .. } => load.json,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewKeyType {
    Aes,
    Des3,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusAction {
    /// Lock an application (it can no longer be selected).
    Lock,
    /// Unlock an application.
    Unlock,
    /// Lock the card (CARD_LOCKED): only the ISD answers.
    LockCard,
    /// Unlock the card (back to SECURED).
    UnlockCard,
    /// Terminate the card: irreversible.
    TerminateCard,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashArg {
    Sha1,
    Sha256,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// The CAP file (JAR or raw load file).
    pub file: PathBuf,
    /// Security domain to load to (default: the selected one).
    #[arg(long, value_name = "SD_AID")]
    pub to: Option<String>,
    /// Send the Load File Data Block hash in INSTALL [for load].
    #[arg(long, value_enum)]
    pub hash: Option<HashArg>,
    /// LOAD data bytes per block (default: the card's maximum minus secure
    /// messaging overhead; for a load file over 256 such blocks, e.g. an
    /// extended CAP file, blocks in extended-length APDUs that 256 hold).
    #[arg(long, value_name = "N")]
    pub block_size: Option<usize>,
    /// Load the Descriptor component too.
    #[arg(long)]
    pub with_descriptor: bool,
    /// A DAP file made by `jct dap sign`: its Load File Data Block hash goes
    /// in INSTALL [for load] and its DAP block (E2) before the load file in
    /// LOAD, for a security domain that verifies DAPs.
    #[arg(long, value_name = "DAPFILE", conflicts_with = "hash")]
    pub dap: Option<PathBuf>,
    /// Send the CAP even when the comparison with the card before LOAD
    /// (imports against the card's packages and their versions, CAP format
    /// against its Java Card version, size against its free memory) finds
    /// a mismatch. For a card that reports wrongly, or to see the card's
    /// own status word; a failed LOAD is still explained with what was
    /// checked.
    #[arg(long)]
    pub force: bool,
    /// Only compare the CAP with the card (the checks above, with reading
    /// commands only: GET STATUS, GET DATA 66 and FF21) and print the
    /// report; nothing is loaded. Exits 1 on a mismatch.
    #[arg(long, conflicts_with = "force")]
    pub check_only: bool,
    /// Print JSON: the compatibility report (key "compatibility") and what
    /// was loaded or installed.
    #[arg(long)]
    pub json: bool,
    /// Non-volatile code space the load file needs, in bytes: load
    /// parameter C6 in tag EF of INSTALL [for load] (GP 2.3.1 table 11-45).
    #[arg(long, value_name = "N")]
    pub code_space: Option<u32>,
    /// Volatile data space the load file needs (C7 in EF).
    #[arg(long, value_name = "N")]
    pub volatile_data: Option<u32>,
    /// Non-volatile data space the load file needs (C8 in EF).
    #[arg(long, value_name = "N")]
    pub nonvolatile_data: Option<u32>,
    /// A load or install token made by `jct token load` / `jct token
    /// install`, for a card whose security domain performs delegated
    /// management; `jct install` takes both (--token twice).
    #[arg(long, value_name = "TOKENFILE")]
    pub token: Vec<PathBuf>,
    /// Check the card's receipts with this key (des:HEX or aes:HEX).
    #[arg(long, value_name = "TYPE:FILE|HEX", requires = "token")]
    pub receipt_key: Option<String>,
}

/// Runs a card command; with `--json` a failure prints
/// [`failure_json`]'s document on stdout too (the error still goes to
/// stderr, and the exit status is 1).
pub fn run(cmd: CardCommand) -> Result<()> {
    let json = cmd.json();
    let r = run_command(cmd);
    if let (true, Err(e)) = (json, &r) {
        if let Some(doc) = failure_json(e) {
            crate::out::line(format_args!("{}", serde_json::to_string_pretty(&doc)?))?;
        }
    }
    r
}

/// The JSON of a failed command: `{"ok": false, "error", "command", "sw",
/// "explanation"}`, the last three from the status word the card answered
/// (null when the failure was not a card's answer: a file, the
/// connection). `None` when the command printed its own JSON already
/// (a CAP that does not fit the card: the report with its "error"), or
/// stdout is gone.
fn failure_json(e: &anyhow::Error) -> Option<serde_json::Value> {
    use loader::client::GpError;
    if e.is::<crate::out::StdoutClosed>() {
        return None;
    }
    let mut status = None;
    for cause in e.chain() {
        match cause.downcast_ref::<GpError>() {
            Some(GpError::Incompatible { .. }) => return None,
            Some(GpError::Status { kind, sw, .. }) if status.is_none() => {
                status = Some((*kind, *sw));
            }
            Some(GpError::InstallFailed { cause, .. }) if status.is_none() => {
                if let GpError::Status { kind, sw, .. } = cause.as_ref() {
                    status = Some((*kind, *sw));
                }
            }
            _ => {}
        }
    }
    let error = crate::errors::render(e);
    Some(serde_json::json!({
        "ok": false,
        "error": error.lines().next().unwrap_or_default(),
        "command": status.map(|(k, _)| k.name()),
        "sw": status.map(|(_, sw)| format!("{sw:04X}")),
        "explanation": status.and_then(|(k, sw)| gp::sw::meaning(k, sw)),
    }))
}

/// Prints one JSON document on stdout.
fn print_json(v: &serde_json::Value) -> Result<()> {
    crate::out::line(format_args!("{}", serde_json::to_string_pretty(v)?))
}

fn run_command(cmd: CardCommand) -> Result<()> {
    match cmd {
        CardCommand::Readers { json } => readers(json),
        CardCommand::Info { json, opts } => info(&opts, json),
        CardCommand::List { json, opts } => {
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            let reg = s.client.list()?;
            if json {
                crate::out::line(format_args!("{}", serde_json::to_string_pretty(&reg)?))?;
            } else {
                crate::out::text(&reg.to_text())?;
            }
            Ok(())
        }
        CardCommand::Load { load: args, opts } => {
            let cap = read_cap(&args.file)?;
            let options = load_options(&args, &cap)?;
            if crate::cmd_dap::has_token(&args.token, "install")? {
                anyhow::bail!("--token: jct load sends no INSTALL [for install]; give the install token to jct install");
            }
            let receipt_key = receipt_key_of(&args)?;
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            if args.check_only {
                return check_only(&mut s.client, &cap, &options, args.json);
            }
            let report = checked(
                &cap,
                args.json,
                s.client
                    .load_checked(&cap, &options, args.force, &mut load_progress()),
            )?;
            let tokens = confirmations(&mut s.client, receipt_key.as_ref())?;
            print_outcome(&cap, &report, args.json, &[], None, &tokens)?;
            if !args.json {
                note!("loaded {}", package_label(&cap));
            }
            Ok(())
        }
        CardCommand::Install {
            opts,
            load: args,
            applet,
            instance,
            privs,
            params,
            system,
            no_make_selectable,
            default,
            no_load,
            keep_on_failure,
        } => {
            let cap = read_cap(&args.file)?;
            let mut privileges = match &privs {
                Some(p) => Privileges::parse_list(p).map_err(anyhow::Error::msg)?,
                None => Privileges::default(),
            };
            if default {
                privileges = privileges.with_default_selected();
            }
            let options = InstallOptions {
                applet: applet
                    .as_deref()
                    .map(|a| parse_aid(a, "--applet"))
                    .transpose()?,
                instance: instance
                    .as_deref()
                    .map(|a| parse_aid(a, "--instance"))
                    .transpose()?,
                privileges,
                parameters: params
                    .as_deref()
                    .map(|p| parse_hex(p, "--params-c9"))
                    .transpose()?
                    .unwrap_or_default(),
                system: system.to_system()?,
                install_only: no_make_selectable,
                token: Vec::new(),
            };
            let mut options = options;
            if crate::cmd_dap::has_token(&args.token, "install")? {
                let chosen = loader::plan::instances(&cap, &options)?;
                let [one] = chosen.as_slice() else {
                    anyhow::bail!(
                        "--token: an install token signs one INSTALL, and {} instances would be installed: choose one with --applet",
                        chosen.len()
                    );
                };
                options.token = crate::cmd_dap::token_for(&args.token, "install", &one.instance)?;
            }
            let receipt_key = receipt_key_of(&args)?;
            // Malformed system parameters stop here, before any command.
            options
                .system
                .to_template()
                .map_err(|e| anyhow::anyhow!("install parameters: {}", e.0))?;
            let life_cycle = if no_make_selectable {
                "INSTALLED"
            } else {
                "SELECTABLE"
            };
            let load = if no_load {
                None
            } else {
                Some(load_options(&args, &cap)?)
            };
            if args.check_only && load.is_none() {
                anyhow::bail!(
                    "--check-only compares a CAP before it is loaded, and --no-load loads nothing: \
                     leave out one of them"
                );
            }
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            if let (true, Some(load)) = (args.check_only, load.as_ref()) {
                return check_only(&mut s.client, &cap, load, args.json);
            }
            let (report, created) = checked(
                &cap,
                args.json,
                s.client.install_checked(
                    &cap,
                    load.as_ref(),
                    &options,
                    keep_on_failure,
                    args.force,
                    &mut load_progress(),
                ),
            )?;
            let tokens = confirmations(&mut s.client, receipt_key.as_ref())?;
            if let Some(report) = &report {
                print_outcome(&cap, report, args.json, &created, Some(life_cycle), &tokens)?;
            } else if args.json {
                let mut out = serde_json::json!({
                    "ok": true,
                    "package": package_label(&cap),
                    "installed": created.iter().map(hex::encode_upper).collect::<Vec<_>>(),
                    "life_cycle": life_cycle,
                });
                add_confirmations(&mut out, &tokens);
                print_json(&out)?;
            }
            if args.json {
                return Ok(());
            }
            if created.is_empty() && loader::plan::is_library(&cap) {
                // The package's version, or an extended file's own.
                let (aid, (major, minor)) = cap
                    .header()
                    .map(|h| (h.load_file_aid().to_hex(), h.package.version()))
                    .context("the CAP has no Header component")?;
                let version = format!(" {major}.{minor}");
                note!(
                    "loaded library {aid}{version}: it has no applets to install; \
                     packages that import it can now be loaded"
                );
            }
            for aid in created {
                let aid = hex::encode_upper(aid);
                if no_make_selectable {
                    note!(
                        "installed {aid} (INSTALLED, not selectable: `jct make-selectable {aid}` makes it so)"
                    );
                } else {
                    note!("installed {aid} (SELECTABLE)");
                }
            }
            Ok(())
        }
        CardCommand::MakeSelectable {
            opts,
            aid,
            privs,
            token,
            receipt_key,
            json,
        } => {
            let aid = parse_aid(&aid, "AID")?;
            let privileges = match &privs {
                Some(p) => Privileges::parse_list(p).map_err(anyhow::Error::msg)?,
                None => Privileges::default(),
            };
            let token = token
                .as_deref()
                .map(|p| crate::cmd_dap::read_token(p, "make-selectable", &aid))
                .transpose()?
                .unwrap_or_default();
            let receipt_key = receipt_key
                .as_deref()
                .map(|k| crate::cmd_dap::receipt_key(k, "--receipt-key"))
                .transpose()?;
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            s.client.make_selectable(&aid, privileges, &token)?;
            let tokens = confirmations(&mut s.client, receipt_key.as_ref())?;
            if json {
                let mut out = serde_json::json!({
                    "ok": true,
                    "aid": hex::encode_upper(&aid),
                    "life_cycle": "SELECTABLE",
                    "privileges": privileges.names(),
                });
                add_confirmations(&mut out, &tokens);
                print_json(&out)?;
            } else {
                note!("{} is SELECTABLE", hex::encode_upper(&aid));
                note_confirmations(&tokens);
            }
            Ok(())
        }
        CardCommand::InstallSd {
            opts,
            aid,
            privs,
            json,
        } => {
            let aid = parse_aid(&aid, "AID")?;
            let mut privileges = match &privs {
                Some(p) => Privileges::parse_list(p).map_err(anyhow::Error::msg)?,
                None => Privileges::default(),
            };
            privileges.0[0] |= 0x80;
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            s.client.install_security_domain(&aid, privileges)?;
            if json {
                print_json(&serde_json::json!({
                    "ok": true,
                    "aid": hex::encode_upper(&aid),
                    "life_cycle": "SELECTABLE",
                    "privileges": privileges.names(),
                }))?;
            } else {
                note!(
                    "installed security domain {} ({})",
                    hex::encode_upper(&aid),
                    privileges.names().join(", ")
                );
            }
            Ok(())
        }
        CardCommand::Extradite {
            opts,
            aid,
            to,
            json,
        } => {
            let aid = parse_aid(&aid, "AID")?;
            let to = parse_aid(&to, "--to")?;
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            s.client.extradite(&aid, &to)?;
            if json {
                print_json(&serde_json::json!({
                    "ok": true,
                    "aid": hex::encode_upper(&aid),
                    "security_domain": hex::encode_upper(&to),
                }))?;
            } else {
                note!(
                    "{} is now associated with security domain {}",
                    hex::encode_upper(&aid),
                    hex::encode_upper(&to)
                );
            }
            Ok(())
        }
        CardCommand::Delete {
            aid,
            related,
            opts,
            token,
            receipt_key,
            json,
        } => {
            let aid = parse_aid(&aid, "AID")?;
            let token = token
                .as_deref()
                .map(|p| crate::cmd_dap::read_token(p, "delete", &aid))
                .transpose()?;
            let receipt_key = receipt_key
                .as_deref()
                .map(|k| crate::cmd_dap::receipt_key(k, "--receipt-key"))
                .transpose()?;
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            let confirmation = match &token {
                Some(t) => s.client.delete_with_token(&aid, related, t)?,
                None => {
                    s.client.delete(&aid, related)?;
                    None
                }
            };
            let verified = match (&confirmation, &receipt_key) {
                (Some(c), Some(key)) => {
                    let data = gp::token::Receipt::Delete { aid: &aid }
                        .data(c.counter, &c.card_unique)?;
                    scp::token::verify_receipt(key, &data, &c.receipt)
                        .context("the card's delete receipt")?;
                    Some(true)
                }
                (None, Some(_)) => anyhow::bail!(
                    "DELETE {} went through but the card returned no confirmation to check with --receipt-key",
                    hex::encode_upper(&aid)
                ),
                _ => None,
            };
            if json {
                print_json(&serde_json::json!({
                    "ok": true,
                    "deleted": hex::encode_upper(&aid),
                    "related": related,
                    "confirmation": confirmation,
                    "receipt_verified": verified,
                }))?;
            } else {
                note!("deleted {}", hex::encode_upper(&aid));
                if let Some(c) = &confirmation {
                    note!(
                        "confirmation {}: receipt {}{}",
                        c.counter,
                        hex::encode_upper(&c.receipt),
                        if verified == Some(true) {
                            " (verified)"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(())
        }
        CardCommand::StoreData {
            opts,
            applet,
            p1,
            file,
            json,
            blocks,
        } => {
            let applet = parse_aid(&applet, "--applet")?;
            if p1 & 0x80 != 0 {
                bail!("--p1 {p1:02X} sets the last-block bit (80): jct sets it on the last block itself");
            }
            let blocks = match file {
                Some(path) => read_blocks(&path)?,
                None => blocks
                    .iter()
                    .enumerate()
                    .map(|(n, b)| parse_block(b, &format!("block {n}")))
                    .collect::<Result<Vec<_>>>()?,
            };
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            s.client.store_data(&applet, &blocks, p1)?;
            let bytes: usize = blocks.iter().map(Vec::len).sum();
            if json {
                let v = serde_json::json!({
                    "ok": true,
                    "applet": hex::encode_upper(&applet),
                    "blocks": blocks.len(),
                    "bytes": bytes,
                    "p1": format!("{p1:02X}"),
                });
                crate::out::line(format_args!("{v}"))?;
            } else {
                note!(
                    "stored {} block(s), {bytes} byte(s), in {}",
                    blocks.len(),
                    hex::encode_upper(&applet)
                );
            }
            Ok(())
        }
        CardCommand::Uninstall { file, opts, json } => {
            let cap = read_cap(&file)?;
            let aid = cap
                .header()
                .map(|h| h.load_file_aid().as_bytes().to_vec())
                .context("the CAP has no Header component")?;
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            s.client.delete(&aid, true)?;
            if json {
                print_json(&serde_json::json!({
                    "ok": true,
                    "deleted": hex::encode_upper(&aid),
                    "related": true,
                    "file": file.display().to_string(),
                }))?;
            } else {
                note!(
                    "deleted package {} and its instances",
                    hex::encode_upper(aid)
                );
            }
            Ok(())
        }
        CardCommand::PutEcKey {
            opts,
            kid,
            ec_key: key,
            new_key_ver,
            replace,
            json,
        } => {
            use scp::scp11::files;
            let (material, kind) = if kid == scp::scp11::KID_KLOC {
                let public = crate::ca::read_trust_anchor(&key).context("--ec-key")?;
                (public.to_sec1_point(false).as_bytes().to_vec(), "public")
            } else if scp::scp11::Variant::from_kid(kid).is_some() {
                let bytes = zeroize::Zeroizing::new(
                    std::fs::read(&key)
                        .with_context(|| format!("--ec-key: reading {}", key.display()))?,
                );
                let secret = files::read_private_key(&bytes)
                    .map_err(|e| anyhow::anyhow!("--ec-key {}: {e}", key.display()))?;
                (secret.to_bytes().to_vec(), "private")
            } else {
                bail!("--kid {kid:02X}: SCP11 keys are 10 (OCE CA), 11, 13 and 15");
            };
            let material = zeroize::Zeroizing::new(material);
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            let k = if kind == "public" {
                loader::client::Scp11Key::Public(&material)
            } else {
                loader::client::Scp11Key::Private(&material)
            };
            s.client.put_scp11_key(kid, new_key_ver, &k, replace)?;
            if json {
                return print_json(&serde_json::json!({
                    "ok": true,
                    "kid": format!("{kid:02X}"),
                    "key_version": new_key_ver,
                    "key": kind,
                    "replaced": replace,
                }));
            }
            note!(
                "SCP11 {kind} key KID {kid:02X} version {new_key_ver:02X} {}",
                if replace.is_some() {
                    "replaced"
                } else {
                    "added"
                }
            );
            Ok(())
        }
        CardCommand::StoreCerts {
            opts,
            kid,
            kvn,
            certs,
            json,
        } => {
            let bytes =
                std::fs::read(&certs).with_context(|| format!("reading {}", certs.display()))?;
            let chain = scp::scp11::files::read_certificates(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", certs.display()))?;
            let store: Vec<u8> = chain.iter().flat_map(|c| c.encoded().to_vec()).collect();
            // GP's flat encoding: BF21 holds the certificates as they are.
            let flat = scp::scp11::flat::encode;
            let data = [flat(0xA6, &flat(0x83, &[kid, kvn])), flat(0xBF21, &store)].concat();
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            s.client.store_sd_data(&data, 240)?;
            if json {
                return print_json(&serde_json::json!({
                    "ok": true,
                    "kid": format!("{kid:02X}"),
                    "kvn": kvn,
                    "certificates": chain.iter().map(|c| c.serial_hex()).collect::<Vec<_>>(),
                    "bytes": data.len(),
                }));
            }
            note!(
                "stored {} certificate(s) for SCP11 key KID {kid:02X} version {kvn:02X} ({} bytes)",
                chain.len(),
                data.len()
            );
            Ok(())
        }
        CardCommand::PutKey {
            opts,
            new_key,
            new_key_enc,
            new_key_mac,
            new_key_dek,
            new_key_ver,
            new_key_type,
            replace,
            json,
        } => {
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            // The new keys' algorithm: as asked, else the session's protocol's.
            let kind = match new_key_type {
                Some(NewKeyType::Aes) => KeyType::Aes,
                Some(NewKeyType::Des3) => KeyType::Des3,
                None => s
                    .client
                    .session()
                    .map(|i| i.protocol().key_type())
                    .context("PUT KEY needs an open secure channel")?,
            };
            let pick = |o: &Option<SecretHex>, what: &str| -> Result<zeroize::Zeroizing<Vec<u8>>> {
                o.as_ref()
                    .or(new_key.as_ref())
                    .with_context(|| format!("{what} or --new-key is needed"))?
                    .bytes(what)
            };
            let keys = StaticKeys::from_bytes(
                kind,
                &pick(&new_key_enc, "--new-key-enc")?,
                &pick(&new_key_mac, "--new-key-mac")?,
                &pick(&new_key_dek, "--new-key-dek")?,
                new_key_ver,
            )?;
            s.client.put_key(&keys, replace)?;
            if json {
                return print_json(&serde_json::json!({
                    "ok": true,
                    "key_version": new_key_ver,
                    "key_type": kind.to_string(),
                    "replaced": replace,
                    "kcv": {
                        "enc": hex::encode_upper(keys.enc.kcv()),
                        "mac": hex::encode_upper(keys.mac.kcv()),
                        "dek": hex::encode_upper(keys.dek.kcv()),
                    },
                }));
            }
            note!(
                "key set {:02X} ({kind}) {}; KCVs {} {} {}",
                new_key_ver,
                if replace.is_some() {
                    "replaced"
                } else {
                    "added"
                },
                hex::encode_upper(keys.enc.kcv()),
                hex::encode_upper(keys.mac.kcv()),
                hex::encode_upper(keys.dek.kcv())
            );
            Ok(())
        }
        CardCommand::SetStatus {
            action,
            aid,
            opts,
            json,
        } => {
            let change = match action {
                StatusAction::Lock => StatusChange::LockApplication,
                StatusAction::Unlock => StatusChange::UnlockApplication,
                StatusAction::LockCard => StatusChange::LockCard,
                StatusAction::UnlockCard => StatusChange::UnlockCard,
                StatusAction::TerminateCard => StatusChange::TerminateCard,
            };
            let aid = match (&aid, change.is_card()) {
                (Some(a), false) => Some(parse_aid(a, "AID")?),
                (None, false) => anyhow::bail!("this action needs the application AID"),
                (_, true) => None,
            };
            let mut s = open_session(&opts.transport, &opts.keys, Target::SecureChannel)?;
            s.client.set_status(change, aid.as_deref())?;
            if json {
                let action = serde_json::to_value(format!("{action:?}"))?;
                print_json(&serde_json::json!({
                    "ok": true,
                    "action": action_name(action.as_str().unwrap_or_default()),
                    "aid": aid.as_ref().map(hex::encode_upper),
                }))?;
            } else {
                note!("status set");
            }
            Ok(())
        }
        CardCommand::Apdu {
            apdus,
            secure,
            select,
            opts,
            json,
        } => {
            let commands = apdus
                .iter()
                .map(|a| {
                    CommandApdu::parse(&parse_hex(a, "APDU")?).with_context(|| format!("APDU {a}"))
                })
                .collect::<Result<Vec<_>>>()?;
            let select = select
                .as_deref()
                .map(|a| parse_aid(a, "--select"))
                .transpose()?;
            let target = match (&select, secure) {
                (_, true) => Target::SecureChannel,
                (Some(_), false) => Target::Nothing,
                (None, false) => Target::SecurityDomain,
            };
            let mut s = open_session(&opts.transport, &opts.keys, target)?;
            let mut all = Vec::new();
            if let Some(aid) = &select {
                all.push((CommandKind::Select, gp::commands::select(aid, false)?));
            }
            all.extend(commands.into_iter().map(|c| (CommandKind::Other, c)));
            let mut exchanges = Vec::new();
            for (kind, cmd) in all {
                let r = s.client.transmit(&cmd)?;
                if json {
                    exchanges.push(serde_json::json!({
                        "command": hex::encode_upper(cmd.to_bytes()),
                        "data": hex::encode_upper(&r.data),
                        "sw": format!("{:04X}", r.sw),
                        "explanation": (r.sw != 0x9000).then(|| gp::sw::meaning(kind, r.sw)).flatten(),
                    }));
                } else {
                    crate::out::line(format_args!("{}{:04X}", hex::encode_upper(&r.data), r.sw))?;
                }
            }
            if json {
                print_json(&serde_json::json!({ "ok": true, "responses": exchanges }))?;
            }
            Ok(())
        }
    }
}
/// The `set-status` action as on the command line (`lock-card`).
fn action_name(debug: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn read_cap(path: &PathBuf) -> Result<Cap> {
    Cap::from_path(path).with_context(|| format!("cannot read CAP {}", path.display()))
}

fn package_label(cap: &Cap) -> String {
    cap.header()
        .map(|h| hex::encode_upper(h.load_file_aid().as_bytes()))
        .unwrap_or_default()
}

/// `jct load/install --check-only`: the comparison alone, on stdout; a
/// mismatch is an error (exit 1) after the report.
fn check_only(
    client: &mut loader::client::GpClient,
    cap: &Cap,
    options: &LoadOptions,
    json: bool,
) -> Result<()> {
    let report = client.check_compatibility(cap, options)?;
    if json {
        let out = report_json(cap, &report);
        crate::out::line(format_args!("{}", serde_json::to_string_pretty(&out)?))?;
    } else {
        crate::out::text(&report_text(&report))?;
    }
    // The error keeps the GpError in its chain (HintExt, not `hinted`),
    // so that `run` sees the report was printed already.
    loader::client::refuse_unless_forced(cap, &report, false).hint("--force sends the CAP anyway")
}

/// The report, one line per comparison: its result, then what was compared
/// (the CAP's value and the card's), then what to do about a mismatch.
fn report_text(report: &Report) -> String {
    let mut s = String::new();
    for c in &report.checks {
        let mark = match c.outcome {
            Outcome::Pass => "ok",
            Outcome::Fail => "MISMATCH",
            Outcome::Unknown => "unknown",
        };
        let rule = serde_json::to_value(c.rule)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        s.push_str(&format!(
            "{mark:<8} {rule:<14} CAP {} / card {}: {}",
            c.cap_value, c.card_value, c.message
        ));
        if let (Outcome::Fail, Some(h)) = (c.outcome, &c.hint) {
            s.push_str(&format!(" ({h})"));
        }
        s.push('\n');
    }
    s
}

/// The report as `jct load/install --json` prints it: the package, whether
/// it fits, and every comparison; callers add what happened.
fn report_json(cap: &Cap, report: &Report) -> serde_json::Value {
    serde_json::json!({
        "package": package_label(cap),
        "compatible": report.ok(),
        "compatibility": report,
    })
}

/// After a load or install that passed the checks (or was forced): the
/// report on stderr in text, or on stdout in JSON with what was created.
fn print_outcome(
    cap: &Cap,
    report: &Report,
    json: bool,
    created: &[Vec<u8>],
    life_cycle: Option<&str>,
    tokens: &Tokens,
) -> Result<()> {
    if json {
        let mut out = report_json(cap, report);
        out["ok"] = true.into();
        out["installed"] = created.iter().map(hex::encode_upper).collect();
        if let Some(l) = life_cycle {
            out["life_cycle"] = l.into();
        }
        add_confirmations(&mut out, tokens);
        crate::out::line(format_args!("{}", serde_json::to_string_pretty(&out)?))?;
    } else {
        for line in report_text(report).lines() {
            note!("{line}");
        }
        note_confirmations(tokens);
    }
    Ok(())
}

/// One line per confirmation on stderr.
fn note_confirmations(tokens: &Tokens) {
    for c in &tokens.list {
        if let Some(conf) = &c.confirmation {
            note!(
                "{} confirmation {}: receipt {}{}",
                c.command,
                conf.counter,
                hex::encode_upper(&conf.receipt),
                if tokens.verified == Some(true) {
                    " (verified)"
                } else {
                    ""
                }
            );
        }
    }
}

/// The confirmations of the commands sent with tokens, and whether their
/// receipts verified (`None` without `--receipt-key`).
struct Tokens {
    list: Vec<loader::client::TokenConfirmation>,
    verified: Option<bool>,
}

fn receipt_key_of(args: &LoadArgs) -> Result<Option<scp::dap::DapKey>> {
    args.receipt_key
        .as_deref()
        .map(|k| crate::cmd_dap::receipt_key(k, "--receipt-key"))
        .transpose()
}

/// Takes the client's confirmations and checks each receipt under `key`:
/// a receipt that does not verify, or a confirmation missing when a key
/// asks for one, is an error naming the command.
fn confirmations(
    client: &mut loader::client::GpClient,
    key: Option<&scp::dap::DapKey>,
) -> Result<Tokens> {
    let list = client.take_confirmations();
    let Some(key) = key else {
        return Ok(Tokens {
            list,
            verified: None,
        });
    };
    for c in &list {
        let (Some(conf), Some(data)) = (&c.confirmation, c.receipt_data()?) else {
            anyhow::bail!(
                "the {} of {} went through but the card returned no confirmation to check with --receipt-key",
                c.command,
                hex::encode_upper(if c.load_file.is_empty() {
                    &c.target
                } else {
                    &c.load_file
                })
            );
        };
        scp::token::verify_receipt(key, &data, &conf.receipt).with_context(|| {
            format!(
                "the card's {} receipt (confirmation {}) for {}",
                c.command,
                conf.counter,
                hex::encode_upper(&c.target)
            )
        })?;
    }
    Ok(Tokens {
        verified: Some(!list.is_empty()),
        list,
    })
}

/// `confirmations` (each with its command) and `receipt_verified` in a
/// `--json` document, when tokens were sent.
fn add_confirmations(out: &mut serde_json::Value, tokens: &Tokens) {
    if tokens.list.is_empty() {
        return;
    }
    out["confirmations"] = tokens
        .list
        .iter()
        .map(|c| {
            serde_json::json!({
                "command": c.command,
                "load_file": hex::encode_upper(&c.load_file),
                "target": hex::encode_upper(&c.target),
                "confirmation": c.confirmation,
            })
        })
        .collect();
    out["receipt_verified"] = tokens.verified.into();
}

/// A load or install through the checks: a mismatch stops with the
/// report (in JSON too, on stdout, with `--json`) and a hint at `--force`;
/// a refused LOAD of an extended CAP gets [`extended_hint`]'s.
fn checked<T>(cap: &Cap, json: bool, r: Result<T, loader::client::GpError>) -> Result<T> {
    match r {
        Err(loader::client::GpError::Incompatible { package, report }) => {
            if json {
                let mut out = report_json(cap, &report);
                out["error"] =
                    format!("{package} does not fit this card, nothing was loaded").into();
                crate::out::line(format_args!("{}", serde_json::to_string_pretty(&out)?))?;
            } else {
                for line in report_text(&report).lines() {
                    note!("{line}");
                }
            }
            Err(loader::client::GpError::Incompatible { package, report })
                .hint("--force sends the CAP anyway (the card then answers for itself)")
        }
        r => extended_hint(cap, r),
    }
}

/// A refused LOAD of an extended CAP file most likely means a card that
/// does not take that format (Java Card before 3.1, or without the
/// optional extended CAP support): the error says so.
fn extended_hint<T>(cap: &Cap, r: Result<T, loader::client::GpError>) -> Result<T> {
    match r {
        Err(
            e @ loader::client::GpError::Status {
                kind: gp::sw::CommandKind::Load,
                sw: 0x6A80,
                ..
            },
        ) if cap.format.extended => Err(crate::errors::hinted(
            e,
            "the CAP file is in the extended CAP 2.3 format (Method component blocks, \
             for code over 64 KiB), which only cards of Java Card 3.1 or later with \
             extended CAP support load: an older card refuses it so. For such a card \
             split the package so that each part fits the compact format",
        )),
        r => Ok(r?),
    }
}

/// The LOAD data per block of short APDUs in the tightest secure channel
/// (255 bytes less the MAC and SCP03 C-ENC padding; see
/// `loader::client::Client::block_size`).
const SHORT_APDU_BLOCK: usize = 239;

/// The block size of a load file too big for short APDUs: LOAD numbers
/// its blocks with one byte (P2), so past 256 blocks of
/// [`SHORT_APDU_BLOCK`] bytes (61 KB, e.g. an extended CAP file) the
/// blocks grow, into extended-length APDUs, to the multiple of 16 that
/// makes 256 of them enough. `None`: the session's default fits.
fn block_size_for(args: &LoadArgs, cap: &Cap) -> Result<Option<usize>> {
    if args.block_size.is_some() {
        return Ok(args.block_size);
    }
    let len = cap_tools::cap::load_file::LoadFile::build(cap, args.with_descriptor)?
        .with_c4_tag()
        .len();
    if len <= 256 * SHORT_APDU_BLOCK {
        return Ok(None);
    }
    let size = len.div_ceil(256).next_multiple_of(16);
    note!(
        "note: the load file is {len} bytes, more than 256 LOAD blocks of short APDUs hold: \
         sending {size}-byte blocks in extended-length APDUs (the card and reader must \
         support them; --block-size sets another size)"
    );
    Ok(Some(size))
}

fn load_options(args: &LoadArgs, cap: &Cap) -> Result<LoadOptions> {
    Ok(LoadOptions {
        security_domain: args
            .to
            .as_deref()
            .map(|a| parse_aid(a, "--to"))
            .transpose()?,
        hash: args.hash.map(|h| match h {
            HashArg::Sha1 => LoadHash::Sha1,
            HashArg::Sha256 => LoadHash::Sha256,
        }),
        block_size: block_size_for(args, cap)?,
        with_descriptor: args.with_descriptor,
        system: SystemParameters {
            code_space: args.code_space,
            volatile: args.volatile_data,
            non_volatile: args.nonvolatile_data,
            ..SystemParameters::default()
        },
        dap: args
            .dap
            .as_ref()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--dap: reading {}", path.display()))?;
                gp::dap::DapFile::parse(&text, &path.display().to_string())
                    .map_err(anyhow::Error::from)
            })
            .transpose()?,
        token: match crate::cmd_dap::has_token(&args.token, "load")? {
            true => {
                crate::cmd_dap::token_for(&args.token, "load", &loader::plan::package_aid(cap)?)?
            }
            false => Vec::new(),
        },
    })
}

/// A LOAD progress bar on a terminal.
fn load_progress() -> impl FnMut(LoadProgress) {
    let mut bar = None;
    move |p: LoadProgress| {
        let b = bar.get_or_insert_with(|| progress_bar(p.total_bytes as u64, "LOAD"));
        if let Some(b) = b {
            b.set_position(p.bytes as u64);
            b.set_message(format!("LOAD block {}/{}", p.block, p.blocks));
            if p.block == p.blocks {
                b.finish();
            }
        }
    }
}

#[cfg(feature = "pcsc")]
fn readers(json: bool) -> Result<()> {
    let readers = loader::transport::pcsc::list_readers()
        .map_err(anyhow::Error::new)
        .hint(crate::card_args::NO_PCSCD)?;
    if json {
        let list: Vec<serde_json::Value> = readers
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "card": r.card_present,
                    "atr": r.atr.as_ref().map(hex::encode_upper),
                })
            })
            .collect();
        return print_json(&serde_json::json!({ "ok": true, "readers": list }));
    }
    if readers.is_empty() {
        crate::out::text("no readers\n")?;
    }
    for r in readers {
        match (r.card_present, &r.atr) {
            (true, Some(atr)) => crate::out::line(format_args!(
                "{}  [card, ATR {}]",
                r.name,
                hex::encode_upper(atr)
            ))?,
            (true, None) => crate::out::line(format_args!("{}  [card]", r.name))?,
            (false, _) => crate::out::line(format_args!("{}  [empty]", r.name))?,
        }
    }
    Ok(())
}

#[cfg(not(feature = "pcsc"))]
fn readers(_json: bool) -> Result<()> {
    anyhow::bail!("this jct was built without PC/SC support")
}

/// `jct info`: GET DATA of what the card may tell before authentication.
fn info(opts: &CardOpts, json: bool) -> Result<()> {
    let mut s = open_session(&opts.transport, &opts.keys, Target::SecurityDomain)?;
    let info = CardInfo::read(&mut s.client, &s.sd)?;
    if json {
        crate::out::line(format_args!("{}", serde_json::to_string_pretty(&info)?))?;
    } else {
        crate::out::text(&info.to_text())?;
    }
    Ok(())
}

/// One STORE DATA block from hex: 1 to 255 bytes.
fn parse_block(text: &str, what: &str) -> Result<Vec<u8>> {
    let bytes = parse_hex(text, what)?;
    if bytes.is_empty() || bytes.len() > 255 {
        bail!(
            "{what} has {} bytes; a STORE DATA block has 1 to 255",
            bytes.len()
        );
    }
    Ok(bytes)
}

/// The blocks of a `jct store-data --file`: one hex block per line.
fn read_blocks(path: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    const MAX_FILE: u64 = 1 << 20;
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_FILE {
        bail!(
            "{}: {len} bytes is more than STORE DATA can carry (256 blocks)",
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut blocks = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        blocks.push(parse_block(
            line,
            &format!("{} line {}", path.display(), n + 1),
        )?);
    }
    if blocks.is_empty() || blocks.len() > 256 {
        bail!(
            "{}: {} block(s); STORE DATA sends 1 to 256",
            path.display(),
            blocks.len()
        );
    }
    Ok(blocks)
}
