//! `jct emu`: run an emulated GlobalPlatform card until Ctrl-C, listening
//! for readers on TCP (`jct --emu HOST:PORT ...` connects) or plugged into
//! pcscd's vpcd driver. The card itself is `emulator::Card`; this file only
//! turns options into a card and a front end, and prints what happens.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use crate::card_args::{parse_hex, parse_hex_u8, parse_scp, parse_u8};
use crate::secret::SecretHex;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use emulator::server::{self, Event};
use emulator::{Card, CardProfile};
use gp::vpcd_frame::Control;
use scp::keys::{Key, KeyType, StaticKeys};

/// Where readers find the card when no front end is named.
const DEFAULT_LISTEN: &str = "127.0.0.1:35963";
/// Where pcscd's vpcd driver listens by default.
const DEFAULT_VPCD: &str = "127.0.0.1:35963";

// Options of `jct emu`. The card options (keys, protocol, API, ISD, limit)
// make a fresh card; a card read from an existing state file keeps its own.
#[derive(Args, Debug, Clone)]
pub struct EmuArgs {
    /// Listen for readers on HOST:PORT (the loader's `--emu`). Default
    /// 127.0.0.1:35963 unless --vpcd is given; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "vpcd")]
    pub listen: Option<String>,
    /// Plug into pcscd's vpcd driver at HOST:PORT instead (default
    /// 127.0.0.1:35963), so PC/SC programs see the card in a reader.
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = DEFAULT_VPCD)]
    pub vpcd: Option<String>,
    /// State directory: the card's persistent memory (packages, instances,
    /// keys, counters) as a journal that every change is committed to
    /// atomically, and the load files. Missing: a fresh card is made there.
    /// Locked while this emulator runs. Without --state the card lives in
    /// memory only.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Key for ENC, MAC and DEK (hex; 16 bytes for SCP02, 16/24/32 for
    /// SCP03). Default: the test key 404142...4F.
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
    pub key: Option<SecretHex>,
    /// ENC key (overrides --key).
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
    pub key_enc: Option<SecretHex>,
    /// MAC key (overrides --key).
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
    pub key_mac: Option<SecretHex>,
    /// DEK key (overrides --key).
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse)]
    pub key_dek: Option<SecretHex>,
    /// Key version number of the key set (01 to 7F, or FF); default 01.
    #[arg(long, value_name = "N", value_parser = parse_u8)]
    pub key_ver: Option<u8>,
    /// Secure channel protocol of the key set: 02 (3DES) or 03 (AES, default).
    #[arg(long, value_name = "02|03", value_parser = parse_scp)]
    pub scp: Option<u8>,
    /// Implementation option "i" of that protocol, hex (SCP02: 15, 55, or
    /// 0A, 1A for implicit initiation; SCP03: 00, 10, 70). Default: 15 for
    /// SCP02, 70 for SCP03.
    #[arg(long, value_name = "HEX", value_parser = parse_hex_u8)]
    pub scp_i: Option<u8>,
    /// Java Card API version in ROM, which loaded files link against:
    /// 2.2.2, 3.0.4, 3.0.5 (default) or 3.2.0.
    #[arg(long, value_name = "VERSION")]
    pub api: Option<String>,
    /// AID of the Issuer Security Domain (default A000000151000000).
    #[arg(long, value_name = "AID")]
    pub isd: Option<String>,
    /// Bytes of persistent memory for load files (default 1048576): a
    /// LOAD past it fails with 6A84, and GET DATA FF21 reports what is
    /// left, which `jct load` compares a CAP's size with before sending.
    /// A small value makes a card that is out of memory.
    #[arg(long, value_name = "BYTES")]
    pub load_memory: Option<usize>,
    /// Failed authentications before the key set is blocked (0: never); default 10.
    #[arg(long, value_name = "N")]
    pub max_auth_failures: Option<u32>,
    /// Lowest security level (hex, as in EXTERNAL AUTHENTICATE: 00, 01,
    /// 03, 11, 13, 33) at which the card accepts INSTALL, LOAD, PUT KEY,
    /// DELETE, SET STATUS and STORE DATA; below it they answer 6982.
    /// Default 01 (C-MAC). 00 lets an unprotected session change the card.
    #[arg(long, value_name = "HEX", value_parser = parse_hex_u8)]
    pub min_level: Option<u8>,
    /// Logical channels the card offers: 1 (basic only) to 20; default 4
    /// (channels 0 to 3).
    #[arg(long, value_name = "N")]
    pub channels: Option<u8>,
    /// Transmission protocol: t1 (default) or t0 (responses of case 4
    /// commands come with 61xx and GET RESPONSE, a wrong Le gets 6Cxx, no
    /// extended length).
    #[arg(long, value_name = "t0|t1", value_parser = parse_protocol)]
    pub protocol: Option<u8>,
    /// The algorithms of the card, a JSON object of API constant names per
    /// class, e.g. {"cipher": ["ALG_AES_BLOCK_128_CBC_NOPAD"], "key_builder":
    /// ["TYPE_AES/128"]} (classes: cipher, aead_cipher, signature,
    /// message_digest, random_data, key_builder, key_agreement, checksum,
    /// key_pair; a class left out keeps the default: everything the
    /// emulator implements). getInstance of another algorithm throws
    /// CryptoException.NO_SUCH_ALGORITHM.
    #[arg(long, value_name = "FILE")]
    pub algorithms: Option<std::path::PathBuf>,
    /// Log every APDU, its answer and why a command failed, and each
    /// package's memory whenever an APDU changed it (installs, applets
    /// allocating).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Issuer Identification Number the card answers GET DATA 42 with
    /// (hex, 1 to 16 bytes); default 6A6374 ("jct").
    #[arg(long, value_name = "HEX")]
    pub iin: Option<String>,
    /// Give the ISD the DAP Verification privilege with this DAP key:
    /// TYPE:KEY, TYPE one of des, aes, rsa, ecc and KEY a file or hex (the
    /// DES/AES key; the RSA or P-256 public or private key, PEM or DER).
    /// Every load then needs a DAP block for the ISD (`jct dap sign`).
    /// The card keeps the key in its state file (the public half of an RSA
    /// or ECC key), as a card keeps its DAP key: later starts need not
    /// give it again; a new --dap-key replaces it.
    #[arg(
        long,
        value_name = "TYPE:FILE|HEX",
        conflicts_with = "mandated_dap_key"
    )]
    pub dap_key: Option<String>,
    /// As --dap-key, with the Mandated DAP Verification privilege.
    #[arg(long, value_name = "TYPE:FILE|HEX", conflicts_with = "no_dap")]
    pub mandated_dap_key: Option<String>,
    /// Take the DAP Verification privilege away: the card forgets its DAP key.
    #[arg(long, conflicts_with = "dap_key")]
    pub no_dap: bool,
    /// Delegated management: the ISD then needs a token (`jct token`)
    /// verified with this key (rsa:FILE or ecc:FILE, the issuer's public
    /// key) on every INSTALL [for load], INSTALL [for install] and DELETE
    /// of an AID, and confirms each (the load with the last LOAD). Kept in
    /// the state file with the receipt key and the confirmation counter,
    /// which goes on across restarts so that no two receipts share one.
    #[arg(long, value_name = "TYPE:FILE|HEX", conflicts_with = "no_token_key")]
    pub token_key: Option<String>,
    /// The receipt key (des:HEX or aes:HEX) the confirmations are MACed with.
    #[arg(long, value_name = "TYPE:FILE|HEX", requires = "token_key")]
    pub receipt_key: Option<String>,
    /// End delegated management: the card forgets its token and receipt
    /// keys (the confirmation counter stays, for the next ones).
    #[arg(long)]
    pub no_token_key: bool,
    /// SCP11: a CA directory (`jct ca init`) or the CA's private key (P-256
    /// PKCS#8, PEM or DER). The ISD then
    /// holds an SCP11a, 11b and 11c key pair (KID 11, 13, 15, version 01),
    /// each certified by this CA (GET DATA BF21 returns the certificate),
    /// and verifies OCE certificates with the CA's public key (KLOC 10,
    /// version 01). Kept in the state file; the same CA at the next start
    /// keeps the same keys.
    #[arg(long, value_name = "DIR|FILE")]
    pub scp11_ca: Option<PathBuf>,
    #[command(subcommand)]
    pub action: Option<EmuAction>,
}

// What `jct emu` does besides running a card.
#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum EmuAction {
    /// Show a card's memory from its state directory: totals against the
    /// profile's limits, then each package (persistent, CLEAR_ON_RESET and
    /// CLEAR_ON_DESELECT bytes, objects, static fields) and its applets.
    ///
    /// Example: jct emu stats --state card/ --json
    Stats(crate::cmd_emu_stats::StatsArgs),
}

/// Runs the emulator until Ctrl-C.
pub fn run(args: EmuArgs) -> Result<()> {
    if let Some(EmuAction::Stats(stats)) = &args.action {
        return crate::cmd_emu_stats::run(stats);
    }
    let (profile, keys) = card_settings(&args)?;
    let fresh = match &args.state {
        Some(path) => !path.exists(),
        None => true,
    };
    if fresh && uses_test_key(&args) {
        note!("note: the card's keys are the test key 404142434445464748494A4B4C4D4E4F where no key was given");
    }
    let card = match &args.state {
        Some(path) => {
            let existed = path.exists();
            let card = Card::open(path, profile, keys)
                .with_context(|| format!("opening the card in {}", path.display()))?;
            if existed && card_options_given(&args) {
                note!(
                    "note: {} holds an existing card; its own keys and settings apply and the card options were ignored (move the file away for a fresh card)",
                    path.display()
                );
            }
            card
        }
        None => Card::new(profile, keys).context("making the card")?,
    };
    let mut card = card;
    if let Some(path) = &args.scp11_ca {
        let (ca, issuer) = if path.is_dir() {
            let authority = crate::ca::open(path).context("--scp11-ca")?;
            let id = authority.id();
            (authority.key, id)
        } else {
            let bytes = std::fs::read(path)
                .with_context(|| format!("--scp11-ca: reading {}", path.display()))?;
            let ca = scp::scp11::files::read_signing_key(&bytes)
                .map_err(|e| anyhow::anyhow!("--scp11-ca {}: {e}", path.display()))?;
            let id = crate::ca::key_identifier(&p256::ecdsa::VerifyingKey::from(&ca));
            (ca, id)
        };
        card.provision_scp11(&ca, &issuer)
            .map_err(|e| anyhow::anyhow!("--scp11-ca: storing the SCP11 keys: {e}"))?;
        note!(
            "jct emu: SCP11a/b/c keys certified by the CA of {}",
            path.display()
        );
    }
    if args.no_dap {
        card.set_dap(None).context("--no-dap")?;
        note!("jct emu: the ISD no longer verifies DAPs");
    } else if let Some(policy) = dap_policy(&args)? {
        card.set_dap(Some(policy)).context("keeping the DAP key")?;
    }
    if args.no_token_key {
        card.set_delegated(None).context("--no-token-key")?;
        note!("jct emu: the ISD no longer performs delegated management");
    } else if let Some(policy) = delegated_policy(&args)? {
        card.set_delegated(Some(policy))
            .context("keeping the token key")?;
    }
    describe(&card);
    let stop = server::stop_on_signals().context("installing the Ctrl-C handler")?;
    let verbose = args.verbose;
    let mut observer = |event: &Event| log(event, verbose);
    if let Some(addr) = &args.vpcd {
        note!("jct emu: connecting to pcscd's vpcd driver at {addr} (Ctrl-C to stop)");
        server::serve_vpcd(addr, &mut card, &stop, &mut observer).with_context(|| {
            format!("serving pcscd's vpcd driver at {addr} (is pcscd with vpcd running?)")
        })?;
    } else {
        let addr = args.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listener = match TcpListener::bind(addr) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(crate::errors::hinted(
                    format!("listening on {addr}: {e}"),
                    "another program (perhaps another `jct emu`) has that port: stop it, or \
                     listen on another one, e.g. --listen 127.0.0.1:0 picks a free port and prints it",
                ));
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("listening on {addr}"))),
        };
        note!(
            "jct emu: listening on {} (jct --emu {} ...; Ctrl-C to stop)",
            server::local_addr(&listener),
            server::local_addr(&listener)
        );
        server::serve_tcp_with(listener, &mut card, &stop, &mut observer)
            .with_context(|| format!("serving on {addr}"))?;
    }
    if stop.load(Ordering::Relaxed) {
        note!("jct emu: stopped");
    }
    Ok(())
}

/// The ISD's DAP verification from --dap-key / --mandated-dap-key.
fn dap_policy(args: &EmuArgs) -> Result<Option<emulator::dap::DapPolicy>> {
    let (value, mandated, option) = match (&args.dap_key, &args.mandated_dap_key) {
        (Some(v), _) => (v, false, "--dap-key"),
        (None, Some(v)) => (v, true, "--mandated-dap-key"),
        (None, None) => return Ok(None),
    };
    let (ty, key) = value.split_once(':').with_context(|| {
        format!("{option} {value:?}: TYPE:KEY expected, e.g. des:404142434445464748494A4B4C4D4E4F or rsa:dap.pem")
    })?;
    let ty: scp::dap::DapType = ty.parse().with_context(|| option.to_string())?;
    let material = crate::cmd_dap::key_material(key, option)?;
    let key = scp::dap::DapKey::parse(ty, &material).with_context(|| option.to_string())?;
    Ok(Some(emulator::dap::DapPolicy { key, mandated }))
}

/// The delegated management --token-key and --receipt-key ask for.
fn delegated_policy(args: &EmuArgs) -> Result<Option<emulator::dap::DelegatedPolicy>> {
    let Some(value) = &args.token_key else {
        return Ok(None);
    };
    let (ty, key) = value.split_once(':').with_context(|| {
        format!("--token-key {value:?}: TYPE:KEY expected, e.g. rsa:issuer_pub.pem")
    })?;
    let ty: scp::dap::DapType = ty.parse().context("--token-key")?;
    if !matches!(ty, scp::dap::DapType::Rsa | scp::dap::DapType::Ecc) {
        anyhow::bail!("--token-key: tokens are RSA or ECC signatures; {ty} is no token key");
    }
    let material = crate::cmd_dap::key_material(key, "--token-key")?;
    let token_key = scp::dap::DapKey::parse(ty, &material).context("--token-key")?;
    let receipt_key = args
        .receipt_key
        .as_deref()
        .map(|k| crate::cmd_dap::receipt_key(k, "--receipt-key"))
        .transpose()?;
    Ok(Some(emulator::dap::DelegatedPolicy {
        token_key,
        receipt_key,
    }))
}

/// Whether any option that only shapes a fresh card was given.
fn card_options_given(a: &EmuArgs) -> bool {
    a.key.is_some()
        || a.key_enc.is_some()
        || a.key_mac.is_some()
        || a.key_dek.is_some()
        || a.key_ver.is_some()
        || a.scp.is_some()
        || a.scp_i.is_some()
        || a.api.is_some()
        || a.isd.is_some()
        || a.max_auth_failures.is_some()
        || a.load_memory.is_some()
        || a.min_level.is_some()
        || a.channels.is_some()
        || a.protocol.is_some()
        || a.algorithms.is_some()
        || a.iin.is_some()
}

/// `t0` or `t1` (also `T=0`, `0`...) as the protocol number.
fn parse_protocol(text: &str) -> Result<u8, String> {
    match text.to_ascii_lowercase().as_str() {
        "t0" | "t=0" | "0" => Ok(0),
        "t1" | "t=1" | "1" => Ok(1),
        _ => Err(format!("'{text}': use t0 or t1")),
    }
}

/// Whether some key of a fresh card would be the well-known test key.
fn uses_test_key(a: &EmuArgs) -> bool {
    a.key.is_none()
        && [&a.key_enc, &a.key_mac, &a.key_dek]
            .iter()
            .any(|k| k.is_none())
}

/// The profile and factory keys of a fresh card, from the options.
fn card_settings(a: &EmuArgs) -> Result<(CardProfile, StaticKeys)> {
    let mut profile = CardProfile::default();
    let scp = a.scp.unwrap_or(3);
    let kind = if scp == 2 {
        KeyType::Des3
    } else {
        KeyType::Aes
    };
    if let Some(i) = a.scp_i {
        if scp == 2 {
            profile.scp02_i = i;
        } else {
            profile.scp03_i = i;
        }
    }
    if let Some(bytes) = a.load_memory {
        profile.memory = bytes;
    }
    if let Some(api) = &a.api {
        profile.api = api.clone();
    }
    if let Some(isd) = &a.isd {
        profile.isd_aid = parse_hex(isd, "--isd")?;
    }
    if let Some(n) = a.max_auth_failures {
        profile.max_auth_failures = n;
    }
    if let Some(level) = a.min_level {
        profile.min_level = level;
    }
    if let Some(n) = a.channels {
        profile.logical_channels = n;
    }
    if let Some(p) = a.protocol {
        profile.protocol = p;
    }
    if let Some(iin) = &a.iin {
        let bytes = parse_hex(iin, "--iin")?;
        if !(1..=16).contains(&bytes.len()) {
            anyhow::bail!("--iin: 1 to 16 bytes, '{iin}' has {}", bytes.len());
        }
        profile.iin = bytes;
    }
    if let Some(path) = &a.algorithms {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --algorithms {}", path.display()))?;
        profile.algorithms = serde_json::from_str(&text).with_context(|| {
            format!(
                "--algorithms {}: not a JSON object of name lists",
                path.display()
            )
        })?;
    }
    profile.validate().map_err(anyhow::Error::msg)?;
    let default = a
        .key
        .as_ref()
        .map(|k| k.bytes("--key"))
        .transpose()?
        .unwrap_or_else(|| zeroize::Zeroizing::new(emulator::TEST_KEY.to_vec()));
    let key = |name: &str, given: &Option<SecretHex>| -> Result<Key> {
        let (name, bytes) = match given {
            Some(text) => (name, text.bytes(name)?),
            None if a.key.is_some() => ("--key", default.clone()),
            None => ("the test key", default.clone()),
        };
        Key::new(kind, &bytes).with_context(|| format!("{name} for SCP0{scp}"))
    };
    let version = a.key_ver.unwrap_or(emulator::DEFAULT_KEY_VERSION);
    let keys = StaticKeys::new(
        key("--key-enc", &a.key_enc)?,
        key("--key-mac", &a.key_mac)?,
        key("--key-dek", &a.key_dek)?,
        version,
    )?;
    Ok((profile, keys))
}

/// One line about the card: what a host needs to talk to it.
fn describe(card: &Card) {
    let state = card.state();
    let p = card.profile();
    let sets: Vec<String> = state
        .key_sets
        .iter()
        .map(|k| {
            format!(
                "{:02X} ({} {}, KCV {})",
                k.version(),
                k.protocol(p),
                k.keys.kind(),
                hex::encode_upper(k.keys.enc.kcv())
            )
        })
        .collect();
    note!(
        "jct emu: card {} ISD {}, Java Card {}, life cycle {}, key set {}, content management from level {:02X}, T={}, {} logical channel(s), {} package(s), {} instance(s){}",
        hex::encode_upper(&state.serial),
        hex::encode_upper(&p.isd_aid),
        p.api,
        state.card_life_cycle(),
        sets.join(", "),
        p.min_level,
        p.protocol,
        p.logical_channels,
        state.packages.len(),
        state.instances.len(),
        card.state_file()
            .map(|f| format!(", state {}", f.display()))
            .unwrap_or_else(|| ", in memory only".into())
    );
    let a = &state.authorities;
    if let Some(k) = &a.dap {
        note!(
            "jct emu: the ISD verifies {} DAPs ({} privilege; --no-dap ends it)",
            k.scheme,
            if a.mandated_dap {
                "Mandated DAP Verification"
            } else {
                "DAP Verification"
            }
        );
    }
    if let Some(k) = &a.token {
        note!(
            "jct emu: the ISD verifies {} load, install and delete tokens (delegated management; receipts {}; last confirmation counter {}; --no-token-key ends it)",
            k.scheme,
            a.receipt.as_ref().map_or("empty", |r| r.scheme.as_str()),
            a.confirmations
        );
    }
}

fn log(event: &Event, verbose: bool) {
    match event {
        Event::Connected(peer) => note!("jct emu: reader {peer} connected"),
        Event::Disconnected { peer, error: None } => note!("jct emu: reader {peer} gone"),
        Event::Disconnected {
            peer,
            error: Some(e),
        } => note!("jct emu: reader {peer} gone: {e}"),
        Event::Control(c) if verbose => note!(
            "  {}",
            match c {
                Control::PowerOn => "power on".to_string(),
                Control::PowerOff => "power off".to_string(),
                Control::Reset => "reset".to_string(),
                Control::GetAtr => "ATR".to_string(),
                Control::Other(code) => format!("control {code:02X}"),
            }
        ),
        Event::Memory(packages) if verbose => {
            for p in packages.iter() {
                let u = &p.usage;
                note!(
                    "  memory of {}: persistent {} bytes, transient {} (CLEAR_ON_RESET) + {} (CLEAR_ON_DESELECT), {} objects, static fields {} bytes",
                    hex::encode_upper(&p.aid),
                    u.persistent,
                    u.clear_on_reset,
                    u.clear_on_deselect,
                    u.objects,
                    u.statics
                );
            }
        }
        Event::Apdu {
            command,
            response,
            note,
        } if verbose => {
            note!("  > {}", hex::encode_upper(command));
            match note {
                Some(n) => note!("  < {}  ({n})", hex::encode_upper(response)),
                None => note!("  < {}", hex::encode_upper(response)),
            }
        }
        _ => {}
    }
}
