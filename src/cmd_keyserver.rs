//! `jct keyserver`: the key server (`--config FILE`), and its set-up: the
//! CA and certificates (`init`), the passphrase-encrypted key file
//! (`keyfile`), and the audit log (`audit`). The work is perso's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use perso::audit::AuditLog;
use perso::keyfile::KeyFile;
use perso::keyserver::{Config, Event, KeyServer};
use zeroize::Zeroizing;

use crate::secret::SecretHex;

#[derive(Args, Debug)]
pub struct KeyServerArgs {
    /// The configuration (TOML): stations, card types, jobs, keys, audit log.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write events as JSON lines on standard output.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<KeyServerCommand>,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum KeyServerCommand {
    /// Make a CA, the key server's client certificate and a server
    /// certificate per station: DIR/ca.pem, keyserver.pem/.key,
    /// station-NAME.pem/.key.
    ///
    /// Example: jct keyserver init --out pki --station s1 --station s2
    Init {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A station's name, repeated.
        #[arg(long = "station", value_name = "NAME", required = true)]
        stations: Vec<String>,
        /// Names (DNS names or IP addresses) the stations answer as.
        #[arg(long, value_name = "NAME", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        name: Vec<String>,
    },
    /// The passphrase-encrypted key file (passphrase from
    /// JCT_KEYFILE_PASSPHRASE or --passphrase-file).
    #[command(subcommand)]
    Keyfile(KeyfileCommand),
    /// Show the audit log of a configuration.
    Audit {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct Passphrase {
    /// A file whose first line is the passphrase (else JCT_KEYFILE_PASSPHRASE).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl Passphrase {
    fn get(&self) -> Result<Zeroizing<String>> {
        if let Some(p) = &self.passphrase_file {
            let text = Zeroizing::new(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            );
            return Ok(Zeroizing::new(
                text.lines().next().unwrap_or("").to_string(),
            ));
        }
        match std::env::var("JCT_KEYFILE_PASSPHRASE") {
            Ok(p) if !p.is_empty() => Ok(Zeroizing::new(p)),
            _ => bail!("no passphrase: set JCT_KEYFILE_PASSPHRASE or give --passphrase-file"),
        }
    }
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum KeyfileCommand {
    /// Create an empty key file.
    New {
        file: PathBuf,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// Add (or replace) a key set: one key for ENC, MAC and DEK (--key or
    /// JCT_KEY, hex), three keys, or --random fresh ones (never shown).
    Add {
        file: PathBuf,
        /// The key set's name, as [[card]] rules name it.
        name: String,
        /// Key version number the set has on cards.
        #[arg(long, value_name = "N", value_parser = crate::card_args::parse_u8)]
        key_ver: u8,
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY", hide_env_values = true)]
        key: Option<SecretHex>,
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY_ENC", hide_env_values = true)]
        key_enc: Option<SecretHex>,
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY_MAC", hide_env_values = true)]
        key_mac: Option<SecretHex>,
        #[arg(long, value_name = "HEX", value_parser = SecretHex::parse, env = "JCT_KEY_DEK", hide_env_values = true)]
        key_dek: Option<SecretHex>,
        /// Fresh random keys of this many bytes (16, 24, 32).
        #[arg(long, value_name = "BYTES", conflicts_with_all = ["key", "key_enc", "key_mac", "key_dek"])]
        random: Option<usize>,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// List the key sets: names and versions (no key material).
    List {
        file: PathBuf,
        #[command(flatten)]
        passphrase: Passphrase,
    },
}

pub fn run(args: KeyServerArgs) -> Result<()> {
    match args.action {
        Some(KeyServerCommand::Init {
            out,
            stations,
            name,
        }) => {
            let files = perso::tls::init_pki(&out, &stations, &name)?;
            for f in files {
                note!("wrote {}", f.display());
            }
            Ok(())
        }
        Some(KeyServerCommand::Keyfile(k)) => keyfile(k),
        Some(KeyServerCommand::Audit { config, json }) => audit(&config, json),
        None => {
            let config = args.config.context("--config FILE is needed")?;
            serve(&config, args.json)
        }
    }
}

fn serve(config: &Path, json: bool) -> Result<()> {
    let sink: perso::keyserver::EventSink = Arc::new(move |e: &Event| {
        if json {
            if let Ok(line) = serde_json::to_string(e) {
                let _ = crate::out::line(format_args!("{line}"));
            }
        } else {
            note!("{}", render(e));
        }
    });
    let server = KeyServer::from_config(config, sink).map_err(anyhow::Error::msg)?;
    note!(
        "jct keyserver: serving the stations of {}",
        config.display()
    );
    let stop = emulator::server::stop_on_signals().context("installing the Ctrl-C handler")?;
    server.start().run_until(&stop);
    Ok(())
}

fn render(e: &Event) -> String {
    match e {
        Event::Station {
            station,
            connected,
            detail,
        } => format!(
            "station {station} {}{}",
            if *connected {
                "connected"
            } else {
                "not connected"
            },
            detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        Event::JobStarted {
            station,
            reader,
            card,
            job,
            attempt,
            ..
        } => format!("{station}/{reader}: job {job} on {card} (attempt {attempt})"),
        Event::JobEnded {
            station,
            reader,
            card,
            ok,
            step,
            sw,
            message,
            apdus,
            ms,
            ..
        } => {
            if *ok {
                format!("{station}/{reader}: {card} done in {ms} ms, {apdus} APDUs")
            } else {
                format!(
                    "{station}/{reader}: {card} FAILED at {} (SW {}): {message}",
                    step.as_deref().unwrap_or("-"),
                    sw.as_deref().unwrap_or("-")
                )
            }
        }
    }
}

fn audit(config: &Path, json: bool) -> Result<()> {
    let cfg = Config::load(config).map_err(anyhow::Error::msg)?;
    let base = config.parent().unwrap_or(Path::new("."));
    let log: Box<dyn AuditLog> = match (&cfg.audit.postgres, &cfg.audit.sqlite) {
        (Some(pg), _) => Box::new(perso::audit::PostgresLog::connect(pg)?),
        (None, s) => Box::new(perso::audit::SqliteLog::open(
            &base.join(s.clone().unwrap_or_else(|| PathBuf::from("audit.db"))),
        )?),
    };
    let rows = log.all()?;
    if json {
        crate::out::line(format_args!("{}", serde_json::to_string_pretty(&rows)?))?;
        return Ok(());
    }
    for r in rows {
        crate::out::line(format_args!(
            "{:>5} {} {} {}/{} {} {} attempt {}: {} {} APDUs{}",
            r.id,
            r.instance,
            r.card,
            r.station,
            r.reader,
            r.card_type,
            r.job,
            r.attempt,
            r.state,
            r.apdus.unwrap_or(0),
            r.step
                .as_ref()
                .map(|s| format!(" at {s} SW {}", r.sw.as_deref().unwrap_or("-")))
                .unwrap_or_default()
        ))?;
    }
    Ok(())
}

fn keyfile(cmd: KeyfileCommand) -> Result<()> {
    match cmd {
        KeyfileCommand::New { file, passphrase } => {
            if file.exists() {
                bail!("{} exists already", file.display());
            }
            KeyFile::default().write(&file, passphrase.get()?.as_bytes())?;
            note!("wrote {}", file.display());
            Ok(())
        }
        KeyfileCommand::Add {
            file,
            name,
            key_ver: version,
            key,
            key_enc,
            key_mac,
            key_dek,
            random,
            passphrase,
        } => {
            let pass = passphrase.get()?;
            let mut kf = KeyFile::open(&file, pass.as_bytes())?;
            let [enc, mac, dek] = match random {
                Some(n) => {
                    let fresh = || {
                        let mut k = Zeroizing::new(vec![0u8; n]);
                        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut k);
                        k
                    };
                    [fresh(), fresh(), fresh()]
                }
                None => {
                    let get = |o: &Option<SecretHex>, what: &str| -> Result<Zeroizing<Vec<u8>>> {
                        o.as_ref()
                            .or(key.as_ref())
                            .with_context(|| format!("{what}, --key or --random is needed"))?
                            .bytes(what)
                    };
                    [
                        get(&key_enc, "--key-enc")?,
                        get(&key_mac, "--key-mac")?,
                        get(&key_dek, "--key-dek")?,
                    ]
                }
            };
            kf.put(&name, &enc, &mac, &dek, version)?;
            kf.write(&file, pass.as_bytes())?;
            note!(
                "{}: key set {name} (version {version:02X}) stored",
                file.display()
            );
            Ok(())
        }
        KeyfileCommand::List { file, passphrase } => {
            let kf = KeyFile::open(&file, passphrase.get()?.as_bytes())?;
            for (name, set) in &kf.sets {
                crate::out::line(format_args!("{name}: version {:02X}", set.version))?;
            }
            Ok(())
        }
    }
}
