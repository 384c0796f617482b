//! `jct hsm`: master keys in a PKCS#11 token. `import` stores a key read
//! from stdin or a file (never from the command line), `list` shows what
//! the token holds (labels, versions, KCVs computed in the token). The PIN
//! comes from an environment variable. The work is the hsm crate's.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hsm::{Component, Hsm, Pin};
use scp::keys::KeyType;
use zeroize::Zeroizing;

use crate::card_args::parse_u8;
use crate::secret::SecretHex;

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The PKCS#11 module (shared library).
    #[arg(long, value_name = "PATH", default_value = hsm::SOFTHSM2_MODULE)]
    module: PathBuf,
    /// The token's label.
    #[arg(long, value_name = "LABEL")]
    token: String,
    /// The environment variable that holds the user PIN (never the PIN itself).
    #[arg(long, value_name = "VAR", default_value = "JCT_HSM_PIN")]
    pin_env: String,
}

impl TokenArgs {
    fn open(&self) -> Result<Hsm> {
        let pin = Pin::from_env(&self.pin_env)?;
        Ok(Hsm::open(&self.module, &self.token, &pin)?)
    }
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Kind {
    Aes,
    Des3,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Part {
    /// One key serving as ENC, MAC and DEK.
    Single,
    Enc,
    Mac,
    Dek,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum HsmCommand {
    /// Store a master key in the token (sensitive, not extractable), read as
    /// hex from stdin or --key-file; prints its KCV.
    ///
    /// Example: JCT_HSM_PIN=... jct hsm import --token keys --label issuer
    ///          --kind aes --key-ver 2 --component single < issuer.hex
    Import {
        #[command(flatten)]
        token: TokenArgs,
        /// The key set's name.
        #[arg(long, value_name = "NAME")]
        label: String,
        #[arg(long, value_enum)]
        kind: Kind,
        /// Key version number (as --key-ver elsewhere in jct).
        #[arg(long = "key-ver", value_name = "N", value_parser = parse_u8)]
        key_ver: u8,
        /// Which key of the set (single: one key for all three).
        #[arg(long, value_enum, default_value = "single")]
        component: Part,
        /// Read the key hex from this file instead of stdin.
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// List the key objects jct can use: label, version, component, type, KCV.
    List {
        #[command(flatten)]
        token: TokenArgs,
    },
}

pub fn run(cmd: HsmCommand) -> Result<()> {
    match cmd {
        HsmCommand::Import {
            token,
            label,
            kind,
            key_ver,
            component,
            key_file,
        } => {
            let mut text = Zeroizing::new(String::new());
            match &key_file {
                Some(path) => {
                    let bytes = Zeroizing::new(
                        std::fs::read(path)
                            .with_context(|| format!("cannot read {}", path.display()))?,
                    );
                    text.push_str(std::str::from_utf8(&bytes).map_err(|_| {
                        anyhow::anyhow!("{}: the key is not hex text", path.display())
                    })?);
                }
                None => {
                    std::io::stdin()
                        .take(1024)
                        .read_to_string(&mut text)
                        .context("cannot read the key from stdin")?;
                }
            }
            let what = key_file
                .as_ref()
                .map_or("the key on stdin".to_string(), |p| {
                    format!("the key in {}", p.display())
                });
            let key = SecretHex::parse(text.trim()).map_err(anyhow::Error::msg)?;
            let bytes = key.bytes(&what)?;
            let kind = match kind {
                Kind::Aes => KeyType::Aes,
                Kind::Des3 => KeyType::Des3,
            };
            let component = match component {
                Part::Single => Component::Single,
                Part::Enc => Component::Enc,
                Part::Mac => Component::Mac,
                Part::Dek => Component::Dek,
            };
            let info = token
                .open()?
                .import_key(&label, key_ver, component, kind, &bytes)?;
            println!(
                "stored {} version {:#04X} {} ({}-{}), KCV {}",
                info.label,
                info.version,
                info.component.name(),
                info.kind,
                info.len * 8,
                hex::encode_upper(info.kcv)
            );
            Ok(())
        }
        HsmCommand::List { token } => {
            for k in token.open()?.list()? {
                println!(
                    "{}  version {:#04X}  {:6}  {}-{}  KCV {}",
                    k.label,
                    k.version,
                    k.component.name(),
                    k.kind,
                    k.len * 8,
                    hex::encode_upper(k.kcv)
                );
            }
            Ok(())
        }
    }
}
