//! Card commands: readers, info, list, load, install, delete, uninstall,
//! put-key, set-status, apdu.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use cap_tools::Cap;
use clap::{Args, Subcommand, ValueEnum};
use gp::apdu::CommandApdu;
use gp::cardinfo;
use gp::cplc;
use gp::privileges::Privileges;
use gp::registry::Entry;
use loader::client::{InstallOptions, LoadHash, LoadOptions, Registry};
use scp::keys::{Key, KeyType, StaticKeys};

use crate::card_args::{
    open_session, parse_aid, parse_hex, parse_u8, progress_bar, KeyArgs, TransportArgs,
};

/// Options of every card command.
#[derive(Args, Debug)]
pub struct CardOpts {
    #[command(flatten, next_help_heading = "Card connection")]
    pub transport: TransportArgs,
    #[command(flatten, next_help_heading = "Keys and secure channel")]
    pub keys: KeyArgs,
}

#[derive(Subcommand, Debug)]
pub enum CardCommand {
    /// List PC/SC readers and whether a card is in each.
    Readers,
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
        /// Applet install parameters (hex), sent inside tag C9.
        #[arg(long, value_name = "HEX")]
        params: Option<String>,
        /// Make the applet the default selected one (the CardReset privilege).
        #[arg(long)]
        default: bool,
        /// The package is already on the card: only install.
        #[arg(long)]
        no_load: bool,
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
    },
    /// Delete a CAP file's package and its instances.
    Uninstall {
        #[command(flatten)]
        opts: CardOpts,
        /// The CAP file whose package to delete.
        file: PathBuf,
    },
    /// Add or replace a key set (3DES or AES), encrypted under the session DEK.
    PutKey {
        #[command(flatten)]
        opts: CardOpts,
        /// New key for ENC, MAC and DEK (hex).
        #[arg(long, value_name = "HEX")]
        new_key: Option<String>,
        #[arg(long, value_name = "HEX")]
        new_key_enc: Option<String>,
        #[arg(long, value_name = "HEX")]
        new_key_mac: Option<String>,
        #[arg(long, value_name = "HEX")]
        new_key_dek: Option<String>,
        /// Version of the new key set.
        #[arg(long, value_name = "N", value_parser = parse_u8)]
        new_key_ver: u8,
        /// Key type: aes or des3 (default: from the protocol of the session).
        #[arg(long, value_enum)]
        new_key_type: Option<NewKeyType>,
        /// Replace this key set version instead of adding a new one.
        #[arg(long, value_name = "N", value_parser = parse_u8)]
        replace: Option<u8>,
    },
    /// Lock or unlock an application, or lock, unlock or terminate the card.
    SetStatus {
        #[command(flatten)]
        opts: CardOpts,
        #[arg(value_enum)]
        action: StatusAction,
        /// The application AID (for lock/unlock).
        aid: Option<String>,
    },
    /// Send raw APDUs (hex), in order; with --secure inside the secure channel.
    Apdu {
        #[command(flatten)]
        opts: CardOpts,
        /// Command APDUs in hex.
        #[arg(required = true)]
        apdus: Vec<String>,
        /// Open a secure channel with the security domain first.
        #[arg(long)]
        secure: bool,
        /// Select this AID first (instead of the security domain).
        #[arg(long, value_name = "AID")]
        select: Option<String>,
    },
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
    /// LOAD data bytes per block (default: the card's maximum minus secure messaging overhead).
    #[arg(long, value_name = "N")]
    pub block_size: Option<usize>,
    /// Load the Descriptor component too.
    #[arg(long)]
    pub with_descriptor: bool,
}

pub fn run(cmd: CardCommand) -> Result<()> {
    match cmd {
        CardCommand::Readers => readers(),
        CardCommand::Info { json, opts } => info(&opts, json),
        CardCommand::List { json, opts } => {
            let mut s = open_session(&opts.transport, &opts.keys, true)?;
            let reg = s.client.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&reg)?);
            } else {
                print!("{}", render_registry(&reg));
            }
            Ok(())
        }
        CardCommand::Load { load: args, opts } => {
            let cap = read_cap(&args.file)?;
            let mut s = open_session(&opts.transport, &opts.keys, true)?;
            load(&mut s.client, &cap, &args)?;
            eprintln!("loaded {}", package_label(&cap));
            Ok(())
        }
        CardCommand::Install {
            opts,
            load: args,
            applet,
            instance,
            privs,
            params,
            default,
            no_load,
        } => {
            let cap = read_cap(&args.file)?;
            let mut privileges = match &privs {
                Some(p) => Privileges::parse_list(p).map_err(anyhow::Error::msg)?,
                None => Privileges::default(),
            };
            if default {
                privileges.0[0] |= 0x04;
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
                    .map(|p| parse_hex(p, "--params"))
                    .transpose()?
                    .unwrap_or_default(),
            };
            let mut s = open_session(&opts.transport, &opts.keys, true)?;
            if !no_load {
                load(&mut s.client, &cap, &args)?;
            }
            for aid in s.client.install_applets(&cap, &options)? {
                eprintln!("installed {} (SELECTABLE)", hex::encode_upper(aid));
            }
            Ok(())
        }
        CardCommand::Delete { aid, related, opts } => {
            let aid = parse_aid(&aid, "AID")?;
            let mut s = open_session(&opts.transport, &opts.keys, true)?;
            s.client.delete(&aid, related)?;
            eprintln!("deleted {}", hex::encode_upper(aid));
            Ok(())
        }
        CardCommand::Uninstall { file, opts } => {
            let cap = read_cap(&file)?;
            let aid = cap
                .header()
                .map(|h| h.load_file_aid().as_bytes().to_vec())
                .context("the CAP has no Header component")?;
            let mut s = open_session(&opts.transport, &opts.keys, true)?;
            s.client.delete(&aid, true)?;
            eprintln!(
                "deleted package {} and its instances",
                hex::encode_upper(aid)
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
        } => {
            let mut s = open_session(&opts.transport, &opts.keys, true)?;
            let scp3 = matches!(
                s.client.session().map(|i| i.protocol),
                Some(scp::Protocol::Scp03 { .. })
            );
            let kind = match new_key_type {
                Some(NewKeyType::Aes) => KeyType::Aes,
                Some(NewKeyType::Des3) => KeyType::Des3,
                None if scp3 => KeyType::Aes,
                None => KeyType::Des3,
            };
            let pick = |o: &Option<String>, what: &str| -> Result<Key> {
                let s = o
                    .as_ref()
                    .or(new_key.as_ref())
                    .with_context(|| format!("{what} or --new-key is needed"))?;
                let bytes = zeroize::Zeroizing::new(parse_hex(s, what)?);
                Key::new(kind, &bytes).with_context(|| what.to_string())
            };
            let keys = StaticKeys::new(
                pick(&new_key_enc, "--new-key-enc")?,
                pick(&new_key_mac, "--new-key-mac")?,
                pick(&new_key_dek, "--new-key-dek")?,
                new_key_ver,
            )?;
            s.client.put_key(&keys, replace)?;
            eprintln!(
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
        CardCommand::SetStatus { action, aid, opts } => {
            let mut s = open_session(&opts.transport, &opts.keys, true)?;
            let sd = s.sd.clone();
            let app = || -> Result<Vec<u8>> {
                parse_aid(
                    aid.as_deref()
                        .context("this action needs the application AID")?,
                    "AID",
                )
            };
            match action {
                StatusAction::Lock => s.client.set_status(0x40, 0x80, &app()?)?,
                StatusAction::Unlock => s.client.set_status(0x40, 0x00, &app()?)?,
                StatusAction::LockCard => s.client.set_status(0x80, 0x7F, &sd)?,
                StatusAction::UnlockCard => s.client.set_status(0x80, 0x0F, &sd)?,
                StatusAction::TerminateCard => s.client.set_status(0x80, 0xFF, &sd)?,
            }
            eprintln!("status set");
            Ok(())
        }
        CardCommand::Apdu {
            apdus,
            secure,
            select,
            opts,
        } => {
            let mut s = open_session(&opts.transport, &opts.keys, secure)?;
            if let Some(aid) = select {
                let aid = parse_aid(&aid, "--select")?;
                let r = s.client.transmit(&gp::commands::select(&aid, false)?)?;
                println!("{}{:04X}", hex::encode_upper(&r.data), r.sw);
            }
            for a in apdus {
                let cmd = CommandApdu::parse(&parse_hex(&a, "APDU")?)
                    .with_context(|| format!("APDU {a}"))?;
                let r = s.client.transmit(&cmd)?;
                println!("{}{:04X}", hex::encode_upper(&r.data), r.sw);
            }
            Ok(())
        }
    }
}

fn read_cap(path: &PathBuf) -> Result<Cap> {
    Cap::from_path(path).with_context(|| format!("cannot read CAP {}", path.display()))
}

fn package_label(cap: &Cap) -> String {
    cap.header()
        .map(|h| hex::encode_upper(h.load_file_aid().as_bytes()))
        .unwrap_or_default()
}

fn load(client: &mut loader::client::GpClient, cap: &Cap, args: &LoadArgs) -> Result<()> {
    let options = LoadOptions {
        security_domain: args
            .to
            .as_deref()
            .map(|a| parse_aid(a, "--to"))
            .transpose()?,
        hash: args.hash.map(|h| match h {
            HashArg::Sha1 => LoadHash::Sha1,
            HashArg::Sha256 => LoadHash::Sha256,
        }),
        block_size: args.block_size,
        with_descriptor: args.with_descriptor,
    };
    let mut bar = None;
    client.load(cap, &options, &mut |p| {
        let b = bar.get_or_insert_with(|| progress_bar(p.total_bytes as u64, "LOAD"));
        if let Some(b) = b {
            b.set_position(p.bytes as u64);
            b.set_message(format!("LOAD block {}/{}", p.block, p.blocks));
            if p.block == p.blocks {
                b.finish();
            }
        }
    })?;
    Ok(())
}

#[cfg(feature = "pcsc")]
fn readers() -> Result<()> {
    let readers = loader::transport::pcsc::list_readers()?;
    if readers.is_empty() {
        println!("no readers");
    }
    for r in readers {
        match (r.card_present, &r.atr) {
            (true, Some(atr)) => println!("{}  [card, ATR {}]", r.name, hex::encode_upper(atr)),
            (true, None) => println!("{}  [card]", r.name),
            (false, _) => println!("{}  [empty]", r.name),
        }
    }
    Ok(())
}

#[cfg(not(feature = "pcsc"))]
fn readers() -> Result<()> {
    anyhow::bail!("this jct was built without PC/SC support")
}

/// `jct info`: GET DATA of what the card may tell before authentication.
fn info(opts: &CardOpts, json: bool) -> Result<()> {
    let mut s = open_session(&opts.transport, &opts.keys, false)?;
    let c = &mut s.client;
    let cplc = c.get_data(0x9F7F)?;
    let iin = c.get_data(0x0042)?.map(|d| tlv_value(0x42, d));
    let cin = c.get_data(0x0045)?.map(|d| tlv_value(0x45, d));
    let crd = c.get_data(0x0066)?;
    let keys = c.get_data(0x00E0)?;
    let max_block = c.max_command_data();
    let crd = crd
        .as_deref()
        .map(cardinfo::decode_card_recognition)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let keys = keys
        .as_deref()
        .map(cardinfo::decode_key_info)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let cplc = cplc
        .as_deref()
        .map(cplc::decode)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if json {
        let v = serde_json::json!({
            "security_domain": hex::encode_upper(&s.sd),
            "cplc": cplc,
            "iin": iin.as_deref().map(hex::encode_upper),
            "cin": cin.as_deref().map(hex::encode_upper),
            "card_recognition": crd,
            "keys": keys,
            "max_command_data": max_block,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let mut out = String::new();
    let _ = writeln!(out, "Security domain: {}", hex::encode_upper(&s.sd));
    if let Some(iin) = iin {
        let _ = writeln!(out, "IIN:             {}", hex::encode_upper(iin));
    }
    if let Some(cin) = cin {
        let _ = writeln!(out, "CIN:             {}", hex::encode_upper(cin));
    }
    if let Some(r) = &crd {
        let _ = writeln!(out, "Card recognition data:");
        if let Some(v) = &r.gp_version {
            let _ = writeln!(out, "  GlobalPlatform {v}");
        }
        for (p, i) in &r.scp {
            let _ = writeln!(out, "  SCP{p:02X} i={i:02X}");
        }
    }
    if let Some(keys) = &keys {
        let _ = writeln!(out, "Key information:");
        for k in keys {
            let comps: Vec<String> = k
                .components
                .iter()
                .map(|(t, l)| format!("{} ({:02X}) {l} bytes", cardinfo::KeyInfo::type_name(*t), t))
                .collect();
            let _ = writeln!(
                out,
                "  key id {:02X} version {:02X}: {}",
                k.id,
                k.version,
                comps.join(", ")
            );
        }
    }
    let _ = writeln!(out, "Max command data: {max_block} bytes");
    if let Some(f) = &cplc {
        let _ = writeln!(out, "CPLC:");
        out.push_str(&cplc::render(f));
    }
    print!("{out}");
    Ok(())
}

/// The value of a one-byte-tag data object: cards answer GET DATA with the
/// whole TLV (e.g. `42 03 ...`); a bare value is returned as is.
fn tlv_value(tag: u8, data: Vec<u8>) -> Vec<u8> {
    match gp::tlv::Tlv::parse(&data) {
        Ok(t) if t.tag().to_bytes() == [tag] => t.bytes().map(<[u8]>::to_vec).unwrap_or(data),
        _ => data,
    }
}

/// GPPro-like listing.
fn render_registry(r: &Registry) -> String {
    let mut s = String::new();
    let line = |s: &mut String, e: &Entry| {
        let _ = write!(
            s,
            "{}: {} ({})",
            e.kind_label(),
            hex::encode_upper(&e.aid),
            e.life_cycle_words()
        );
        if !e.privileges.names().is_empty() {
            let _ = write!(s, "\n     Privs: {}", e.privileges);
        }
        if let Some(lf) = &e.load_file {
            let _ = write!(s, "\n     From:  {}", hex::encode_upper(lf));
        }
        if let Some(v) = &e.version {
            let _ = write!(
                s,
                "\n     Version: {}",
                v.iter().map(u8::to_string).collect::<Vec<_>>().join(".")
            );
        }
        for m in &e.modules {
            let _ = write!(s, "\n     Applet: {}", hex::encode_upper(m));
        }
        s.push('\n');
    };
    for e in r.isd.iter().chain(&r.applications).chain(&r.load_files) {
        line(&mut s, e);
    }
    s
}
