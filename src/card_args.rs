//! Options shared by every command that talks to a card, and opening the
//! session they describe: transport, trace, record/replay, security domain,
//! keys and secure channel.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use loader::client::{ChannelOptions, GpClient, PlainEvent, PlainObserver};
use loader::transport::{CardChannel, Observer, Transport};
use scp::keys::{Diversification, KeyContext, SoftwareKeys};
use scp::SecurityLevel;
use zeroize::Zeroizing;

use crate::errors::hinted;
use crate::secret::SecretHex;

/// The GlobalPlatform test key most development cards ship with.
pub const TEST_KEY: &str = "404142434445464748494A4B4C4D4E4F";

// Where the card is: a PC/SC reader (default), the emulator, or a trace.
#[derive(Args, Debug, Clone)]
pub struct TransportArgs {
    /// PC/SC reader: any reader whose name contains TEXT (case-insensitive).
    /// Default: the only reader with a card.
    #[arg(short = 'r', long = "reader", value_name = "TEXT")]
    pub reader: Option<String>,
    /// An emulated card over TCP (`jct emu --listen`), e.g. 127.0.0.1:35963.
    #[arg(
        long,
        value_name = "HOST:PORT",
        env = "JCT_EMU",
        conflicts_with = "reader"
    )]
    pub emu: Option<String>,
    /// Play a recorded trace instead of talking to a card (see README: trace format).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["reader", "emu"])]
    pub replay: Option<PathBuf>,
    /// Write every exchange to a trace file.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Print each APDU before and after secure messaging, with length and time.
    #[arg(short = 'd', long = "trace")]
    pub trace: bool,
    /// Run the command on a supplementary logical channel: N (1 to 19) or
    /// `any` (the card chooses) is opened with MANAGE CHANNEL, the security
    /// domain selected and the secure channel opened there, and the channel
    /// closed at the end. Default: the basic channel (0).
    #[arg(long, value_name = "N|any", value_parser = parse_channel)]
    pub channel: Option<ChannelChoice>,
}

/// What `--channel` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelChoice {
    /// The basic channel: nothing to open.
    Basic,
    /// Channel N, 1 to 19.
    Number(u8),
    /// A free channel the card chooses.
    Any,
}

/// Parses `--channel`: 0 to 19, or `any`.
pub fn parse_channel(s: &str) -> Result<ChannelChoice, String> {
    if s.eq_ignore_ascii_case("any") {
        return Ok(ChannelChoice::Any);
    }
    match s.parse::<u8>() {
        Ok(0) => Ok(ChannelChoice::Basic),
        Ok(n) if n <= gp::apdu::MAX_LOGICAL_CHANNEL => Ok(ChannelChoice::Number(n)),
        _ => Err(format!(
            "'{s}': logical channels are 0 (the basic one) to 19, or `any` for one the card chooses"
        )),
    }
}

/// Protocol levels for `--mode`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// C-MAC: commands authenticated (security level 01).
    Mac,
    /// C-MAC and C-ENC: command data encrypted too (03).
    Enc,
    /// C-MAC, C-ENC and R-MAC: responses authenticated (13).
    Rmac,
    /// C-MAC, C-ENC, R-MAC and R-ENC: response data encrypted (33, SCP03 only).
    Renc,
}

impl Mode {
    fn level(self) -> SecurityLevel {
        match self {
            Mode::Mac => SecurityLevel::C_MAC,
            Mode::Enc => SecurityLevel::C_MAC_C_ENC,
            Mode::Rmac => SecurityLevel::C_MAC_C_ENC_R_MAC,
            Mode::Renc => SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC,
        }
    }
}

/// Key diversification methods for `--kdf`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kdf {
    /// EMV CPS 1.1.
    Emv,
    /// VISA2.
    Visa2,
    /// KDF3 (SCP03-style AES derivation).
    Kdf3,
}

// Keys and secure channel options.
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    /// One key for ENC, MAC and DEK (hex; 16 bytes for 3DES or AES-128, 24/32 for AES).
    /// Default: the test key 404142...4F, with a warning.
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY", hide_env_values = true)]
    pub key: Option<SecretHex>,
    /// Encryption key (overrides --key for ENC).
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY_ENC", hide_env_values = true)]
    pub key_enc: Option<SecretHex>,
    /// MAC key (overrides --key for MAC).
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY_MAC", hide_env_values = true)]
    pub key_mac: Option<SecretHex>,
    /// Data encryption key (overrides --key for DEK).
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY_DEK", hide_env_values = true)]
    pub key_dek: Option<SecretHex>,
    /// Key version number to authenticate with (0 = the card's default key set).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_u8)]
    pub key_ver: u8,
    /// Diversify the keys with the key diversification data from INITIALIZE UPDATE.
    #[arg(long, value_enum)]
    pub kdf: Option<Kdf>,
    /// Force the secure channel protocol (default: what the card answers
    /// to INITIALIZE UPDATE). 11a, 11b or 11c open SCP11 instead, with
    /// certificates (--ca, and --oce-key, --oce-cert for 11a and 11c).
    #[arg(long, value_name = "02|03|11a|11b|11c", value_parser = parse_card_scp)]
    pub scp: Option<ScpChoice>,
    /// SCP11: the CA public key the card's certificates must lead to (P-256;
    /// PEM or DER SubjectPublicKeyInfo, or a SEC1 point in hex), or a CA
    /// directory (`jct ca init`; its ca.pub.pem).
    #[arg(long, value_name = "FILE|DIR")]
    pub ca: Option<std::path::PathBuf>,
    /// SCP11a/c: the off-card entity's private key (P-256 PKCS#8, PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub oce_key: Option<std::path::PathBuf>,
    /// SCP11a/c: the off-card entity's certificates in GP's SCP11 format
    /// (7F21 ...), issuer first, binary or hex; the first is verified by
    /// the card's OCE CA key (KLOC, version 01).
    #[arg(long, value_name = "FILE")]
    pub oce_cert: Option<std::path::PathBuf>,
    /// Implementation option i. SCP02: the card does not report it; default
    /// 15, or what the card recognition data says; 0A or 1A (bit 04 clear)
    /// is implicit initiation: no INITIALIZE UPDATE, the sequence counter
    /// read with GET DATA 00C1, C-MAC only (--mode mac). With --scp 03, bit 01
    /// selects S16 mode (16-byte challenges, cryptograms and MACs, e.g. 71);
    /// the host must know before INITIALIZE UPDATE.
    #[arg(long, value_name = "HEX", value_parser = parse_hex_u8)]
    pub scp_i: Option<u8>,
    /// Security level of the secure channel.
    #[arg(long, value_enum, default_value_t = Mode::Mac)]
    pub mode: Mode,
    /// Security domain AID (default: the first of A000000151000000,
    /// A0000000030000, A000000003000000 the card selects).
    #[arg(long, value_name = "AID")]
    pub sd: Option<String>,
    /// More output: key check values, session details.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Parses a decimal or 0x-prefixed byte.
pub fn parse_u8(s: &str) -> Result<u8, String> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h, 16),
        None => s.parse(),
    };
    v.map_err(|_| format!("'{s}' is not a number from 0 to 255"))
}

pub fn parse_hex_u8(s: &str) -> Result<u8, String> {
    u8::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|_| format!("'{s}' is not a hex byte"))
}

pub fn parse_scp(s: &str) -> Result<u8, String> {
    match s {
        "02" | "2" => Ok(2),
        "03" | "3" => Ok(3),
        _ => Err(format!("'{s}': the secure channel protocols are 02 and 03")),
    }
}

/// The secure channel a card command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScpChoice {
    /// SCP02 or SCP03 with static keys (2 or 3).
    Static(u8),
    /// SCP11 with certificates.
    Scp11(scp::scp11::Variant),
}

pub fn parse_card_scp(s: &str) -> Result<ScpChoice, String> {
    match parse_scp(s) {
        Ok(n) => Ok(ScpChoice::Static(n)),
        Err(_) => s.parse().map(ScpChoice::Scp11).map_err(|_| {
            format!("'{s}': the secure channel protocols are 02, 03, 11a, 11b and 11c")
        }),
    }
}

/// Parses hex (spaces and colons allowed) naming the option in errors.
pub fn parse_hex(s: &str, what: &str) -> Result<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
    hex::decode(&clean).with_context(|| format!("{what}: '{s}' is not hex"))
}

/// Parses an AID argument (5 to 16 bytes of hex).
pub fn parse_aid(s: &str, what: &str) -> Result<Vec<u8>> {
    let v = parse_hex(s, what)?;
    if !(5..=16).contains(&v.len()) {
        bail!("{what}: an AID has 5 to 16 bytes, '{s}' has {}", v.len());
    }
    Ok(v)
}

impl KeyArgs {
    /// The secure channel settings these options describe. Pure: no I/O;
    /// what deserves a warning (the test key) is returned for the caller to
    /// print. The keys go to a software key provider as raw bytes, typed for
    /// the protocol the card answers with (3DES for SCP02, AES for SCP03).
    pub fn channel_options(&self) -> Result<(ChannelOptions, Vec<String>)> {
        let mut warnings = Vec::new();
        let test_key = SecretHex::parse(TEST_KEY).map_err(anyhow::Error::msg)?;
        let default = match &self.key {
            Some(k) => Some(k.clone()),
            None if self.key_enc.is_some() && self.key_mac.is_some() && self.key_dek.is_some() => {
                None
            }
            None => {
                warnings.push(format!(
                    "no key given (--key or JCT_KEY): using the GlobalPlatform test key {TEST_KEY}"
                ));
                Some(test_key)
            }
        };
        let get = |o: &Option<SecretHex>, what: &str| -> Result<Zeroizing<Vec<u8>>> {
            o.as_ref()
                .or(default.as_ref())
                .with_context(|| format!("{what} or --key is needed"))?
                .bytes(what)
        };
        let (enc, mac, dek) = (
            get(&self.key_enc, "--key-enc")?,
            get(&self.key_mac, "--key-mac")?,
            get(&self.key_dek, "--key-dek")?,
        );
        let keys = SoftwareKeys::from_bytes(&enc, &mac, &dek, self.key_ver)
            .diversified(self.diversification());
        let mut options = ChannelOptions::new(keys);
        options.security_level = self.mode.level();
        let static_scp = match self.scp {
            Some(ScpChoice::Static(n)) => Some(n),
            Some(ScpChoice::Scp11(variant)) => {
                options.scp11 = Some(self.scp11_config(variant)?);
                return Ok((options, Vec::new()));
            }
            None => None,
        };
        if self.ca.is_some() || self.oce_key.is_some() || self.oce_cert.is_some() {
            bail!("--ca, --oce-key and --oce-cert belong to SCP11: add --scp 11a, 11b or 11c");
        }
        if static_scp == Some(3) {
            if let Some(i) = self.scp_i {
                options.scp03_mode = scp::scp03::Mode::from_i(i);
            }
        } else {
            options.scp02_i = self.scp_i;
            if let (Some(i), Some(kdf)) = (self.scp_i, self.kdf) {
                if (scp::Protocol::Scp02 { i }).is_implicit() {
                    bail!(
                        "--kdf {kdf:?} needs the key diversification data of INITIALIZE UPDATE, \
                         which SCP02 implicit initiation (--scp-i {i:02X}) does not send: give the \
                         card's own keys"
                    );
                }
            }
        }
        options.expect_scp = static_scp;
        Ok((options, warnings))
    }

    /// SCP11 settings from --ca, --oce-key and --oce-cert (reads the files).
    fn scp11_config(&self, variant: scp::scp11::Variant) -> Result<scp::scp11::host::Scp11Config> {
        use scp::scp11::files;
        let read = |p: &std::path::Path, what: &str| -> Result<Vec<u8>> {
            std::fs::read(p).with_context(|| format!("{what}: reading {}", p.display()))
        };
        let ca_path = self.ca.as_ref().with_context(|| {
            format!(
                "{variant} needs --ca FILE: the CA public key the card's certificates must lead to"
            )
        })?;
        let ca = crate::ca::read_trust_anchor(ca_path).context("--ca")?;
        let oce = if variant.authenticates_host() {
            let (Some(kp), Some(cp)) = (&self.oce_key, &self.oce_cert) else {
                bail!(
                    "{variant} authenticates the host: it needs --oce-key FILE and --oce-cert FILE"
                );
            };
            let key = files::read_private_key(&read(kp, "--oce-key")?)
                .map_err(|e| anyhow::anyhow!("--oce-key {}: {e}", kp.display()))?;
            let chain = files::read_certificates(&read(cp, "--oce-cert")?)
                .map_err(|e| anyhow::anyhow!("--oce-cert {}: {e}", cp.display()))?;
            Some(scp::scp11::host::OceCredentials {
                key,
                chain: chain.iter().map(|c| c.encoded().to_vec()).collect(),
                kloc_kvn: 0x01,
            })
        } else {
            None
        };
        Ok(scp::scp11::host::Scp11Config {
            variant,
            kvn: self.key_ver,
            ca,
            oce,
            logical_channel: gp::apdu::LogicalChannel::BASIC,
            today: scp::scp11::Date::today(),
        })
    }

    fn diversification(&self) -> Diversification {
        match self.kdf {
            None => Diversification::None,
            Some(Kdf::Emv) => Diversification::EmvCps11,
            Some(Kdf::Visa2) => Diversification::Visa2,
            Some(Kdf::Kdf3) => Diversification::Kdf3,
        }
    }
}

/// An open card session: the client and the security domain it selected.
/// A supplementary logical channel it opened (`--channel`) is closed when
/// the session ends.
pub struct Session {
    pub client: GpClient,
    pub sd: Vec<u8>,
    /// Whether `client` runs on a channel this session opened.
    opened_channel: bool,
}

impl Session {
    /// Closes the logical channel the session opened, if any, saying why
    /// when the card refuses: the command's own outcome stands either way.
    pub fn close(&mut self) {
        if !std::mem::take(&mut self.opened_channel) {
            return;
        }
        let n = self.client.logical_channel().number();
        if let Err(e) = self.client.close_logical_channel() {
            note!("warning: closing logical channel {n}: {e}");
        }
    }
}

impl Drop for Session {
    /// The channel closes on every way out of a command, errors included,
    /// so a card is never left with channels a command opened.
    fn drop(&mut self) {
        self.close();
    }
}

/// An opened transport and, for a replay, the host challenge its recorded
/// INITIALIZE UPDATE used.
pub struct Opened {
    pub transport: Box<dyn Transport>,
    pub recorded_challenge: Option<[u8; 8]>,
}

/// Opens the transport the options name.
pub fn open_transport(t: &TransportArgs) -> Result<Opened> {
    let mut challenge = None;
    let base: Box<dyn Transport> = if let Some(path) = &t.replay {
        let replay = loader::transport::replay::Replay::open(path)?;
        challenge = replay.host_challenge();
        Box::new(replay)
    } else if let Some(addr) = &t.emu {
        Box::new(
            loader::transport::vpcd::VpcdClient::connect(addr).map_err(|e| emu_error(addr, e))?,
        )
    } else {
        open_pcsc(t.reader.as_deref())?
    };
    let transport: Box<dyn Transport> = match &t.record {
        Some(path) => Box::new(loader::transport::record::Record::append(base, path)?),
        None => base,
    };
    Ok(Opened {
        transport,
        recorded_challenge: challenge,
    })
}

/// The emulator at `addr` could not be reached: the operating system's
/// reason once, and how to start one.
fn emu_error(addr: &str, e: loader::transport::TransportError) -> anyhow::Error {
    use loader::transport::TransportError;
    let hint = format!(
        "start an emulated card with `jct emu --listen {addr}` (in another terminal), \
         or point --emu (or JCT_EMU) at a running one"
    );
    match &e {
        TransportError::Io { source, .. } => hinted(
            format!("cannot connect to the emulator at {addr}: {source}"),
            hint,
        ),
        TransportError::Timeout { timeout, .. } => hinted(
            format!("the emulator at {addr} did not answer within {timeout:?}"),
            hint,
        ),
        _ => anyhow::Error::new(e).context(format!("connecting to the emulator at {addr}")),
    }
}

#[cfg(feature = "pcsc")]
fn open_pcsc(reader: Option<&str>) -> Result<Box<dyn Transport>> {
    use crate::errors::HintExt;
    use loader::transport::TransportError;
    match loader::transport::pcsc::PcscTransport::connect(reader) {
        Ok(t) => Ok(Box::new(t)),
        Err(e @ TransportError::Pcsc { .. }) if e.to_string().contains("PC/SC service") => {
            Err(e).hint(NO_PCSCD)
        }
        Err(e @ TransportError::NoReaders) => Err(e).hint(
            "attach a reader; for an emulated card without one use --emu HOST:PORT \
             (`jct emu --listen HOST:PORT`), or `jct emu --vpcd` with vsmartcard's vpcd driver; \
             `jct doctor` checks the set-up",
        ),
        Err(e) => Err(e.into()),
    }
}

/// What to do when the PC/SC service is not there.
#[cfg(feature = "pcsc")]
pub const NO_PCSCD: &str =
    "start pcscd (`sudo systemctl start pcscd`; install it with `sudo apt install pcscd`), \
     or use an emulated card: `jct emu --listen 127.0.0.1:35963`, then --emu 127.0.0.1:35963";

#[cfg(not(feature = "pcsc"))]
fn open_pcsc(_reader: Option<&str>) -> Result<Box<dyn Transport>> {
    bail!("this jct was built without PC/SC support: use --emu HOST:PORT or --replay FILE")
}

/// A card channel with the `--trace` printers attached.
pub fn channel(transport: Box<dyn Transport>, trace: bool) -> CardChannel {
    let mut ch = CardChannel::new(transport);
    if trace {
        ch.set_observer(wire_tracer());
    }
    ch
}

/// The `--trace` printer of raw exchanges: each command and response on
/// the wire, with its length and time.
pub fn wire_tracer() -> Observer {
    let start = Instant::now();
    Box::new(move |x| {
        note!(
            "[{:>8.3}s] wire >> {} ({} bytes)",
            start.elapsed().as_secs_f64(),
            hex::encode_upper(x.command),
            x.command.len()
        );
        note!(
            "[{:>8.3}s] wire << {} ({} bytes, {} ms)",
            start.elapsed().as_secs_f64(),
            hex::encode_upper(x.response),
            x.response.len(),
            x.duration.as_millis()
        );
    })
}

/// The `--trace` printer of commands before and responses after secure
/// messaging.
pub fn plain_tracer() -> PlainObserver {
    Box::new(|e| match e {
        PlainEvent::Command(c) => {
            note!("plain >> {} ({} bytes)", hex::encode_upper(c), c.len())
        }
        PlainEvent::Response(r) => {
            note!("plain << {} ({} bytes)", hex::encode_upper(r), r.len())
        }
    })
}

/// What a card command wants of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The security domain, not authenticated (`jct info`).
    SecurityDomain,
    /// The security domain with an open secure channel.
    SecureChannel,
    /// Nothing selected: the caller talks to the card directly (`jct apdu
    /// --select AID` selects only that AID, so a card without a security
    /// domain answers too).
    Nothing,
}

/// The transport with a client over it, nothing selected (the caller
/// selects and authenticates itself, as `jct keys probe` does).
pub fn open_client(t: &TransportArgs) -> Result<GpClient> {
    Ok(client_over(t)?.0)
}

/// The transport, the client over it (traced with --trace), and the
/// host challenge a replayed trace recorded.
fn client_over(t: &TransportArgs) -> Result<(GpClient, Option<[u8; 8]>)> {
    let Opened {
        transport,
        recorded_challenge,
    } = open_transport(t)?;
    let mut client = GpClient::new(channel(transport, t.trace));
    if t.trace {
        client.set_plain_observer(plain_tracer());
    }
    Ok((client, recorded_challenge))
}

/// Opens a session: the transport, then what `target` asks for.
pub fn open_session(t: &TransportArgs, k: &KeyArgs, target: Target) -> Result<Session> {
    let (mut client, recorded_challenge) = client_over(t)?;
    let opened_channel = match t.channel {
        None | Some(ChannelChoice::Basic) => false,
        Some(ChannelChoice::Number(n)) => {
            client.open_logical_channel(Some(n))?;
            true
        }
        Some(ChannelChoice::Any) => {
            let n = client.open_logical_channel(None)?;
            if k.verbose {
                note!("the card opened {n}");
            }
            true
        }
    };
    let mut session = Session {
        client,
        sd: Vec::new(),
        opened_channel,
    };
    if target == Target::Nothing {
        return Ok(session);
    }
    let client = &mut session.client;
    let sd_arg = k.sd.as_deref().map(|s| parse_aid(s, "--sd")).transpose()?;
    let sd = client.select_security_domain(sd_arg.as_deref())?;
    if target == Target::SecureChannel {
        let (options, warnings) = k.channel_options()?;
        for w in warnings {
            note!("warning: {w}");
        }
        let opened = match recorded_challenge {
            // A replay must repeat the recorded host challenge.
            Some(c) => loader::danger::open_secure_channel_with_challenge(client, &options, c),
            None => client.open_secure_channel(&options),
        };
        let info = opened.map_err(|e| with_key_hint(e.into()))?;
        if let (true, scp::SessionDetails::Scp11 { variant }) = (k.verbose, &info.details) {
            note!(
                "secure channel: {variant}, security level {}, key version {:02X}",
                info.security_level,
                info.key_version
            );
        } else if k.verbose {
            let key = KeyContext {
                protocol: info.protocol(),
                key_version: info.key_version,
                kdd: info.kdd,
            };
            note!("{}", options.keys.describe(&key)?);
            note!(
                "secure channel: {:?}, security level {}, key version {:02X}",
                info.protocol(),
                info.security_level,
                info.key_version
            );
        }
    }
    session.sd = sd;
    Ok(session)
}

/// A card cryptogram that does not verify means other keys: say which
/// options give them (no authentication try was spent: the host checks
/// the card's cryptogram before it sends EXTERNAL AUTHENTICATE).
fn with_key_hint(e: anyhow::Error) -> anyhow::Error {
    use loader::client::GpError;
    use scp::ScpError;
    // GpError carries the secure channel's error transparently: it is
    // that link of the chain, not a cause below it.
    let wrong_keys = e.chain().any(|c| {
        c.downcast_ref::<ScpError>() == Some(&ScpError::CardCryptogram)
            || matches!(
                c.downcast_ref::<GpError>(),
                Some(GpError::Scp(ScpError::CardCryptogram))
            )
    });
    if !wrong_keys {
        return e;
    }
    use crate::errors::HintExt;
    Err::<(), _>(e)
        .hint(
            "give the card's keys: --key HEX (or --key-enc/--key-mac/--key-dek) and --key-ver N; \
             if the card diversifies them, --kdf emv|visa2|kdf3 (the card counted no failed try)",
        )
        .unwrap_err()
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
pub fn progress_bar(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} bytes ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_string());
    Some(pb)
}

// The system specific install parameters (tag EF) of one INSTALL [for
// install]: shared by `jct install` and `jct token install`, since an
// install token signs the very parameters the INSTALL carries.
#[derive(Args, Debug, Default)]
pub struct SystemArgs {
    /// Volatile memory quota of the instance in bytes: system specific
    /// parameter C7 in tag EF (GP 2.3.1 table 11-49).
    #[arg(long, value_name = "N")]
    pub volatile_memory: Option<u32>,
    /// Non-volatile memory quota of the instance in bytes: C8 in EF.
    #[arg(long, value_name = "N")]
    pub nonvolatile_memory: Option<u32>,
    /// More system specific parameters, the raw content of tag EF in
    /// hex (BER-TLV, e.g. a card's proprietary tags); the options above
    /// add theirs after it, and may not repeat a tag in it.
    #[arg(long, value_name = "HEX")]
    pub system_params: Option<String>,
    /// Toolkit application parameters (hex), tag CA in EF: the SIM file
    /// access and toolkit parameters of ETSI TS 102 226 for UICC cards.
    #[arg(long, value_name = "HEX")]
    pub toolkit_params: Option<String>,
}

impl SystemArgs {
    /// The EF content these options ask for (no code space: that is
    /// INSTALL [for load]'s).
    pub fn to_system(&self) -> Result<gp::install::SystemParameters> {
        Ok(gp::install::SystemParameters {
            volatile: self.volatile_memory,
            non_volatile: self.nonvolatile_memory,
            toolkit: self
                .toolkit_params
                .as_deref()
                .map(|p| parse_hex(p, "--toolkit-params"))
                .transpose()?,
            other: self
                .system_params
                .as_deref()
                .map(|p| parse_hex(p, "--system-params"))
                .transpose()?
                .unwrap_or_default(),
            code_space: None,
        })
    }
}
