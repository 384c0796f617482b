//! `jct script`: secured scripts. The key holder makes a signing key pair
//! (`keygen`) and builds scripts (`build`, offline, for a batch of cards;
//! or `serve`, online, as a TLS service); a thin client with the public key
//! only reads a card's record (`identify`) and plays scripts (`play`, from
//! a file or `--server`); `verify-log` lets the key holder check a play's
//! R-MACs. The work is loader::script's; this module reads files and
//! arguments and renders reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use cap_tools::Cap;
use clap::{Args, Subcommand};
use gp::CommandApdu;
use loader::plan::InstallOptions;
use loader::script::build::{Builder, CardRecord, Operation};
use loader::script::packet::SwPattern;
use loader::script::play;
use loader::script::{log, online, ScriptSigner, ScriptVerifier};

use scp::keys::{KeyType, StaticKeys};

use crate::card_args::{
    channel, open_transport, parse_aid, parse_hex, parse_u8, KeyArgs, TransportArgs,
};
use crate::secret::SecretHex;

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ScriptCommand {
    /// Make the key holder's signing key pair: NAME.key (private, keep it
    /// secret) and NAME.pub (for the clients).
    ///
    /// Example: jct script keygen --out holder
    Keygen {
        /// Path prefix of the two files.
        #[arg(long, value_name = "NAME")]
        out: PathBuf,
    },
    /// Read what the key holder needs to build an offline script for the
    /// card (identity, protocol, key version, sequence counter), as one
    /// JSON line of a batch file. Needs no key; spends no authentication try.
    ///
    /// Example: jct script identify --emu 127.0.0.1:35963 >> cards.jsonl
    Identify {
        #[command(flatten)]
        transport: TransportArgs,
        /// Security domain AID (default: the ISD).
        #[arg(long, value_name = "AID")]
        sd: Option<String>,
    },
    /// Build signed offline scripts, one per card of a batch file (JSON
    /// Lines of `jct script identify` records, or a JSON array).
    ///
    /// Example: jct script build --cards cards.jsonl --sign holder.key --key MASTER
    /// --kdf kdf3 --mode enc --install hello.cap --out scripts/
    Build {
        /// The batch file of card records.
        #[arg(long, value_name = "FILE")]
        cards: PathBuf,
        /// Directory for the scripts (one per card, named by its CIN or
        /// its position in the batch).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        content: ContentArgs,
        #[command(flatten, next_help_heading = "Keys and secure channel")]
        keys: KeyArgs,
    },
    /// Play a signed script to a card (the thin client: no card key, the
    /// key holder's public key only). Exits with status 1 when the script
    /// did not complete.
    ///
    /// Example: jct script play scripts/card-0001.json --pub holder.pub --emu 127.0.0.1:35963
    Play {
        /// The script file (not with --server).
        #[arg(required_unless_present = "server", conflicts_with = "server")]
        file: Option<PathBuf>,
        /// The key holder's public key file.
        #[arg(long = "pub", value_name = "FILE")]
        public: PathBuf,
        /// Online: ask the key holder at HOST:PORT (`jct script serve`) for
        /// the script of this card's session.
        #[arg(long, value_name = "HOST:PORT")]
        server: Option<String>,
        /// The CA certificate (PEM) that signed the server's certificate.
        #[arg(long, value_name = "FILE", requires = "server")]
        server_ca: Option<PathBuf>,
        /// The name in the server's certificate (default: the host of --server).
        #[arg(long, value_name = "NAME", requires = "server")]
        server_name: Option<String>,
        /// Security domain AID for --server (default: the ISD).
        #[arg(long, value_name = "AID")]
        sd: Option<String>,
        /// Write the script and the card's answers to FILE, for `jct script verify-log`.
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        transport: TransportArgs,
    },
    /// Check the R-MACs of a play's answers (the key holder, with the keys
    /// the script was built with).
    ///
    /// Example: jct script verify-log play.log --key MASTER --kdf kdf3
    VerifyLog {
        /// The log `jct script play --log` wrote (the script and the answers).
        log: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten, next_help_heading = "Keys")]
        keys: KeyArgs,
    },
    /// The key holder as a TLS service: clients send a card's INITIALIZE
    /// UPDATE response and get the signed script of that session.
    ///
    /// Example: jct script serve --listen 127.0.0.1:7443 --tls-dir tls/ --sign holder.key
    /// --key MASTER --kdf kdf3 --install hello.cap
    Serve {
        /// Address to listen on.
        #[arg(long, value_name = "HOST:PORT")]
        listen: String,
        /// Directory with server.pem and server.key (`jct script tls-cert`).
        #[arg(long, value_name = "DIR")]
        tls_dir: PathBuf,
        /// Stop after this many connections (default: serve until killed).
        #[arg(long, value_name = "N")]
        max_connections: Option<usize>,
        #[command(flatten)]
        content: ContentArgs,
        #[command(flatten, next_help_heading = "Keys and secure channel")]
        keys: KeyArgs,
    },
    /// Make a CA and a server certificate for `serve`: DIR/ca.pem (give it
    /// to the clients), DIR/server.pem and DIR/server.key.
    TlsCert {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Names (DNS names or IP addresses) the server answers as.
        #[arg(long, value_name = "NAME", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        name: Vec<String>,
    },
}

// What the scripts do and how they are signed. Operations run in this
// order: deletes, the install, PUT KEY, STORE DATA, raw APDUs.
#[derive(Args, Debug)]
pub struct ContentArgs {
    /// The key holder's private key file (`jct script keygen`).
    #[arg(long, value_name = "FILE")]
    pub sign: PathBuf,
    /// Hours a script stays valid.
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub valid_hours: u64,
    /// Load this CAP and install its applets.
    #[arg(long, value_name = "CAP")]
    pub install: Option<PathBuf>,
    /// Only load the CAP (no INSTALL [for install]).
    #[arg(long, requires = "install")]
    pub load_only: bool,
    /// Install only this applet (class AID).
    #[arg(long, value_name = "AID", requires = "install")]
    pub applet: Option<String>,
    /// Instance AID (default: the applet AID).
    #[arg(long, value_name = "AID", requires = "install")]
    pub instance: Option<String>,
    /// Applet install parameters (hex), inside tag C9.
    #[arg(long, value_name = "HEX", requires = "install")]
    pub params: Option<String>,
    /// Delete this AID with what depends on it (repeatable).
    #[arg(long, value_name = "AID")]
    pub delete: Vec<String>,
    /// PUT KEY: a new key set with this key for ENC, MAC and DEK (hex),
    /// encrypted under the session's DEK.
    #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, requires = "new_key_ver")]
    pub new_key: Option<SecretHex>,
    /// Version of the new key set.
    #[arg(long, value_name = "N", value_parser = parse_u8)]
    pub new_key_ver: Option<u8>,
    /// Key type of the new key set.
    #[arg(long, value_enum, default_value_t = crate::cmd_card::NewKeyType::Aes)]
    pub new_key_type: crate::cmd_card::NewKeyType,
    /// Replace this key set version instead of adding one.
    #[arg(long, value_name = "N", value_parser = parse_u8, requires = "new_key")]
    pub replace: Option<u8>,
    /// STORE DATA blocks (hex, repeatable, sent in order).
    #[arg(long, value_name = "HEX")]
    pub store_data: Vec<String>,
    /// A raw APDU (hex), optionally with the status words it may answer
    /// after a colon: 80CA00E000:9000,6A88 (default 9000). Repeatable.
    #[arg(long, value_name = "HEX[:SW,...]")]
    pub apdu: Vec<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(cmd: ScriptCommand) -> Result<()> {
    match cmd {
        ScriptCommand::Keygen { out } => keygen(&out),
        ScriptCommand::Identify { transport, sd } => {
            let sd = sd.as_deref().map(|s| parse_aid(s, "--sd")).transpose()?;
            let opened = open_transport(&transport)?;
            let mut ch = channel(opened.transport, transport.trace);
            let record = loader::script::identify::identify(&mut ch, sd.as_deref())
                .map_err(anyhow::Error::msg)?;
            crate::out::line(format_args!("{}", serde_json::to_string(&record)?))
        }
        ScriptCommand::Build {
            cards,
            out,
            content,
            keys,
        } => build(&cards, &out, &content, &keys),
        ScriptCommand::Play {
            file,
            public,
            server,
            server_ca,
            server_name,
            sd,
            log,
            json,
            transport,
        } => {
            let verifier = ScriptVerifier::from_file_bytes(&read(&public)?)?;
            let (packet, report) = match (file, server) {
                (Some(file), _) => {
                    // Signature and expiry before the card is even touched.
                    let packet = play::open(&read(&file)?, &verifier, now())
                        .with_context(|| format!("{}", file.display()))?;
                    let opened = open_transport(&transport)?;
                    let mut ch = channel(opened.transport, transport.trace);
                    let report = play::play_offline(&mut ch, &packet.body);
                    (packet, report)
                }
                (None, Some(addr)) => {
                    let ca = server_ca.context("--server needs --server-ca")?;
                    let sd = sd.as_deref().map(|s| parse_aid(s, "--sd")).transpose()?;
                    let opened = open_transport(&transport)?;
                    let mut ch = channel(opened.transport, transport.trace);
                    crate::script_tls::play_online(
                        &mut ch,
                        &addr,
                        &ca,
                        server_name.as_deref(),
                        sd.as_deref(),
                        &verifier,
                        now(),
                    )?
                }
                (None, None) => bail!("give a script file or --server"),
            };
            if let Some(path) = log {
                let log = play::PlayLog {
                    packet,
                    responses: report.responses.clone(),
                };
                crate::fsutil::write_atomic(&path, &serde_json::to_vec_pretty(&log)?)?;
            }
            if json {
                crate::out::line(format_args!("{}", serde_json::to_string_pretty(&report)?))?;
            } else {
                crate::out::text(&report.to_text())?;
            }
            if !report.completed {
                return Err(crate::cmd_test::Exit(1).into());
            }
            Ok(())
        }
        ScriptCommand::VerifyLog { log, json, keys } => {
            let entries: play::PlayLog = serde_json::from_slice(&read(&log)?)
                .with_context(|| format!("{} is not a play log", log.display()))?;
            let (options, _) = keys.channel_options()?;
            let checked = log::verify_log(options.keys, &entries.packet.body, &entries.responses)?;
            let bad = checked.iter().filter(|c| !c.authentic).count();
            if json {
                crate::out::line(format_args!("{}", serde_json::to_string_pretty(&checked)?))?;
            } else {
                for c in &checked {
                    crate::out::line(format_args!(
                        "#{} {} {} {}{}",
                        c.index + 1,
                        c.kind,
                        c.sw,
                        if c.authentic {
                            "authentic"
                        } else {
                            "NOT AUTHENTIC"
                        },
                        c.error
                            .as_ref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ))?;
                }
                crate::out::line(format_args!(
                    "{} answers checked, {bad} not authentic",
                    checked.len()
                ))?;
            }
            if bad > 0 {
                return Err(crate::cmd_test::Exit(1).into());
            }
            Ok(())
        }
        ScriptCommand::Serve {
            listen,
            tls_dir,
            max_connections,
            content,
            keys,
        } => {
            let (builder, signer) = builder(&content, &keys)?;
            let service = online::Service { builder, signer };
            crate::script_tls::serve(&listen, &tls_dir, service, max_connections)
        }
        ScriptCommand::TlsCert { out, name } => crate::script_tls::make_certs(&out, &name),
    }
}

fn keygen(out: &Path) -> Result<()> {
    let signer = ScriptSigner::generate()?;
    let private = PathBuf::from(format!("{}.key", out.display()));
    let public = PathBuf::from(format!("{}.pub", out.display()));
    crate::script_tls::write_private(&private, &signer.to_file_bytes())?;
    crate::fsutil::write_atomic(&public, &signer.verifier().to_file_bytes())?;
    note!(
        "wrote {} (keep it secret) and {} (key id {})",
        private.display(),
        public.display(),
        hex::encode_upper(signer.verifier().key_id())
    );
    Ok(())
}

/// The builder and signer the content and key options describe.
fn builder(content: &ContentArgs, keys: &KeyArgs) -> Result<(Builder, ScriptSigner)> {
    let signer = ScriptSigner::from_file_bytes(&read(&content.sign)?)
        .with_context(|| format!("{}", content.sign.display()))?;
    let (options, warnings) = keys.channel_options()?;
    for w in warnings {
        note!("warning: {w}");
    }
    let mut operations = Vec::new();
    for aid in &content.delete {
        operations.push(Operation::Delete {
            aid: parse_aid(aid, "--delete")?,
            related: true,
        });
    }
    if let Some(path) = &content.install {
        let cap =
            Cap::from_path(path).with_context(|| format!("cannot read CAP {}", path.display()))?;
        let install = (!content.load_only)
            .then(|| -> Result<InstallOptions> {
                Ok(InstallOptions {
                    applet: content
                        .applet
                        .as_deref()
                        .map(|a| parse_aid(a, "--applet"))
                        .transpose()?,
                    instance: content
                        .instance
                        .as_deref()
                        .map(|a| parse_aid(a, "--instance"))
                        .transpose()?,
                    parameters: content
                        .params
                        .as_deref()
                        .map(|p| parse_hex(p, "--params"))
                        .transpose()?
                        .unwrap_or_default(),
                    ..InstallOptions::default()
                })
            })
            .transpose()?;
        operations.push(Operation::Install {
            cap: Arc::new(cap),
            load: Box::default(),
            install,
        });
    }
    if let (Some(key), Some(version)) = (&content.new_key, content.new_key_ver) {
        let kind = match content.new_key_type {
            crate::cmd_card::NewKeyType::Aes => KeyType::Aes,
            crate::cmd_card::NewKeyType::Des3 => KeyType::Des3,
        };
        let bytes = key.bytes("--new-key")?;
        let keys =
            StaticKeys::from_bytes(kind, &bytes, &bytes, &bytes, version).context("--new-key")?;
        operations.push(Operation::PutKey {
            keys,
            replace: content.replace,
        });
    }
    if !content.store_data.is_empty() {
        let blocks = content
            .store_data
            .iter()
            .map(|b| parse_hex(b, "--store-data"))
            .collect::<Result<Vec<_>>>()?;
        operations.push(Operation::StoreData { blocks, p1: 0 });
    }
    for a in &content.apdu {
        let (apdu, sws) = a.split_once(':').unwrap_or((a, "9000"));
        let command = CommandApdu::parse(&parse_hex(apdu, "--apdu")?)
            .with_context(|| format!("--apdu {apdu}"))?;
        let accept = sws
            .split(',')
            .map(SwPattern::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        operations.push(Operation::Raw { command, accept });
    }
    if operations.is_empty() {
        bail!("nothing to do: give --install, --delete, --new-key, --store-data or --apdu");
    }
    Ok((
        Builder::new(
            options.keys,
            options.security_level,
            content.valid_hours.saturating_mul(3600),
            operations,
        ),
        signer,
    ))
}

fn build(cards: &Path, out: &Path, content: &ContentArgs, keys: &KeyArgs) -> Result<()> {
    let text = String::from_utf8(read(cards)?)
        .with_context(|| format!("{} is not UTF-8", cards.display()))?;
    let records = CardRecord::parse_batch(&text)?;
    if records.is_empty() {
        bail!("{}: no card records", cards.display());
    }
    let (builder, signer) = builder(content, keys)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let now = now();
    let mut names = std::collections::HashSet::new();
    for (n, record) in records.iter().enumerate() {
        let body = builder
            .build_offline(record, now, &mut scp::OsRng)
            .with_context(|| format!("card {} of {}", n + 1, cards.display()))?;
        let packet = signer.sign(body)?;
        let mut name = match &record.identity.cin {
            Some(cin) => format!("card-{}", hex::encode_upper(&cin.0)),
            None => format!("card-{:04}", n + 1),
        };
        if !names.insert(name.clone()) {
            name = format!("{name}-{}", n + 1);
        }
        let path = out.join(format!("{name}.json"));
        crate::fsutil::write_atomic(&path, &packet.to_bytes()?)?;
        crate::out::line(format_args!("{}", path.display()))?;
    }
    note!("built {} scripts in {}", records.len(), out.display());
    Ok(())
}
