//! [`GpClient`]: card content management over a transport, through a secure
//! channel when one is open. Each method is one user-level operation (list,
//! load, install, delete, put key, set status) built from the commands in
//! [`super::commands`], with status words turned into explained errors.

use cap_tools::cap::load_file::LoadFile;
use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::transport::{CardChannel, Transport, TransportError};
use gp::apdu::{ApduError, CommandApdu, ResponseApdu};
use gp::commands::{self, CommandError};
use gp::install::{p1 as install_p1, InstallForInstall, InstallForLoad, LoadBlocks};
use gp::privileges::Privileges;
use gp::registry::{self, Entry, Scope};
use gp::sw::{explain, CommandKind};
use scp::keys::{KeyType, StaticKeys};
use scp::{self, HostConfig, ScpError, SecureChannel, SecurityLevel, SessionInfo};

/// The AIDs tried, in order, to find the Issuer Security Domain.
pub const ISD_AIDS: [&[u8]; 3] = [
    &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00],
    &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00],
    &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00],
];

/// Data field limit of a short command APDU, and the default when the card
/// does not state its maximum block size (9F65).
pub const DEFAULT_MAX_COMMAND_DATA: usize = 255;

/// Why a card content management operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GpError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Scp(#[from] ScpError),
    /// The card answered a status word other than success; `message`
    /// explains it for this command.
    #[error("{message}")]
    Status {
        kind: CommandKind,
        sw: u16,
        message: String,
    },
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// The card's answer could not be understood, or the request is impossible.
    #[error("{0}")]
    Protocol(String),
    #[error(transparent)]
    Cap(#[from] cap_tools::Error),
}

impl GpError {
    /// The status word, for errors that carry one.
    pub fn sw(&self) -> Option<u16> {
        match self {
            GpError::Status { sw, .. } => Some(*sw),
            GpError::Scp(ScpError::Status { sw, .. }) => Some(*sw),
            _ => None,
        }
    }
}

fn status(kind: CommandKind, sw: u16) -> GpError {
    GpError::Status {
        kind,
        sw,
        message: explain(kind, sw),
    }
}

/// Hash algorithm for the Load File Data Block hash in INSTALL [for load].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadHash {
    Sha1,
    Sha256,
}

impl LoadHash {
    /// The digest of `data`.
    pub fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self {
            LoadHash::Sha1 => Sha1::digest(data).to_vec(),
            LoadHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// Options of [`GpClient::load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Security domain to load to; `None` = the selected one.
    pub security_domain: Option<Vec<u8>>,
    /// Load File Data Block hash to send in INSTALL [for load].
    pub hash: Option<LoadHash>,
    /// LOAD data bytes per block; `None` = the card's maximum minus overhead.
    pub block_size: Option<usize>,
    /// Include the Descriptor component.
    pub with_descriptor: bool,
}

/// Progress of a load: blocks sent of total, bytes sent of total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadProgress {
    pub block: usize,
    pub blocks: usize,
    pub bytes: usize,
    pub total_bytes: usize,
}

/// Options of [`GpClient::install_applet`].
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Applet class AID (module); `None` = every applet of the CAP.
    pub applet: Option<Vec<u8>>,
    /// Instance AID; `None` = the applet AID.
    pub instance: Option<Vec<u8>>,
    pub privileges: Privileges,
    /// Applet-specific install parameters (inside tag C9).
    pub parameters: Vec<u8>,
}

/// What `jct list` shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Registry {
    pub isd: Vec<Entry>,
    pub applications: Vec<Entry>,
    pub load_files: Vec<Entry>,
}

/// Observer of plain (unwrapped) commands and responses, for `--trace`.
pub type PlainObserver = Box<dyn FnMut(PlainEvent<'_>)>;

/// A command before wrapping or a response after unwrapping.
#[derive(Debug)]
pub enum PlainEvent<'a> {
    Command(&'a [u8]),
    Response(&'a [u8]),
}

/// A GlobalPlatform session with a card.
pub struct GpClient {
    channel: CardChannel,
    secure: Option<SecureChannel>,
    selected: Option<Vec<u8>>,
    max_command_data: usize,
    plain_observer: Option<PlainObserver>,
}

impl GpClient {
    /// A client over a transport (wrapped in a [`CardChannel`] for 61xx/6Cxx).
    pub fn new(channel: CardChannel) -> GpClient {
        GpClient {
            channel,
            secure: None,
            selected: None,
            max_command_data: DEFAULT_MAX_COMMAND_DATA,
            plain_observer: None,
        }
    }

    /// A client over a bare transport.
    pub fn over(transport: Box<dyn Transport>) -> GpClient {
        GpClient::new(CardChannel::new(transport))
    }

    /// Sets the observer of plain commands and responses.
    pub fn set_plain_observer(&mut self, observer: PlainObserver) {
        self.plain_observer = Some(observer);
    }

    /// The channel below, e.g. to set a wire observer.
    pub fn channel_mut(&mut self) -> &mut CardChannel {
        &mut self.channel
    }

    /// Consumes the client, giving back the channel (e.g. to finish a replay).
    pub fn into_channel(self) -> CardChannel {
        self.channel
    }

    /// The AID selected last.
    pub fn selected(&self) -> Option<&[u8]> {
        self.selected.as_deref()
    }

    /// The open session, if any.
    pub fn session(&self) -> Option<&SessionInfo> {
        self.secure.as_ref().map(SecureChannel::info)
    }

    /// Largest command data field the card takes (9F65, or 255).
    pub fn max_command_data(&self) -> usize {
        self.max_command_data
    }

    /// Sends a command (wrapped when a secure channel is open) and returns
    /// the unwrapped response, whatever its status word.
    pub fn transmit(&mut self, command: &CommandApdu) -> Result<ResponseApdu, GpError> {
        if let Some(o) = self.plain_observer.as_mut() {
            o(PlainEvent::Command(&command.to_bytes()));
        }
        let wire = match self.secure.as_mut() {
            Some(sc) => sc.wrap_apdu(command)?,
            None => command.to_bytes(),
        };
        let raw = self.channel.transmit(&wire)?;
        let response = match self.secure.as_mut() {
            Some(sc) => sc.unwrap_response(&raw)?,
            None => ResponseApdu::parse(&raw)?,
        };
        if let Some(o) = self.plain_observer.as_mut() {
            o(PlainEvent::Response(&response.to_bytes()));
        }
        Ok(response)
    }

    /// Sends a command and requires SW 9000.
    pub fn expect_ok(
        &mut self,
        kind: CommandKind,
        command: &CommandApdu,
    ) -> Result<Vec<u8>, GpError> {
        let r = self.transmit(command)?;
        if r.sw != 0x9000 {
            return Err(status(kind, r.sw));
        }
        Ok(r.data)
    }

    /// Selects an application by AID; returns its FCI.
    pub fn select(&mut self, aid: &[u8]) -> Result<Vec<u8>, GpError> {
        self.secure = None;
        let fci = self.expect_ok(CommandKind::Select, &commands::select(aid, false)?)?;
        self.selected = Some(aid.to_vec());
        Ok(fci)
    }

    /// Selects the security domain: `aid` when given, else the first of
    /// [`ISD_AIDS`] the card accepts. Reads the maximum block size (9F65)
    /// from the FCI when present. Returns the AID selected.
    pub fn select_security_domain(&mut self, aid: Option<&[u8]>) -> Result<Vec<u8>, GpError> {
        let candidates: Vec<&[u8]> = match aid {
            Some(a) => vec![a],
            None => ISD_AIDS.to_vec(),
        };
        let mut last = None;
        for candidate in candidates {
            match self.select(candidate) {
                Ok(fci) => {
                    if let Some(n) = fci_max_block_size(&fci) {
                        self.max_command_data = n.clamp(16, 65535);
                    }
                    return Ok(candidate.to_vec());
                }
                Err(e @ GpError::Status { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(match last {
            Some(GpError::Status { sw, .. }) if aid.is_none() => GpError::Protocol(format!(
                "no security domain found: SELECT of {} failed (last SW {sw:04X}); name it with --sd",
                ISD_AIDS.iter().map(hex::encode_upper).collect::<Vec<_>>().join(", ")
            )),
            Some(e) => e,
            None => GpError::Protocol("no security domain AID to select".into()),
        })
    }

    /// Opens a secure channel with the selected security domain. The card
    /// cryptogram is checked before EXTERNAL AUTHENTICATE is sent.
    pub fn open_secure_channel(
        &mut self,
        config: HostConfig,
        host_challenge: [u8; 8],
    ) -> Result<SessionInfo, GpError> {
        self.open_secure_channel_with(config.keys.version, |_| Ok(config), host_challenge)
    }

    /// Like [`GpClient::open_secure_channel`], but the configuration is made
    /// once the card has said which protocol it runs (02 or 03), so one
    /// 16-byte key can serve as 3DES for SCP02 and AES-128 for SCP03. The
    /// INITIALIZE UPDATE command depends only on the key version and the
    /// host challenge, so it is sent before the keys are typed.
    pub fn open_secure_channel_with(
        &mut self,
        key_version: u8,
        make_config: impl FnOnce(u8) -> Result<HostConfig, GpError>,
        host_challenge: [u8; 8],
    ) -> Result<SessionInfo, GpError> {
        self.secure = None;
        let cmd = scp::initialize_update_command(key_version, &host_challenge).to_bytes();
        let response = self.exchange_plain(&cmd)?;
        let parsed = ResponseApdu::parse(&response)?;
        if parsed.sw != 0x9000 {
            return Err(status(CommandKind::InitializeUpdate, parsed.sw));
        }
        let scp_id = scp::InitUpdateResponse::parse(&parsed.data)?.scp();
        let config = make_config(scp_id)?;
        let hello = scp::begin(config, host_challenge);
        if hello.command() != cmd.as_slice() {
            return Err(GpError::Protocol(
                "the key set's version differs from the one INITIALIZE UPDATE named".into(),
            ));
        }
        let auth = hello
            .on_init_update_response(&response)
            .map_err(|e| map_scp_status(e, CommandKind::InitializeUpdate))?;
        let cmd = auth.command().to_vec();
        let response = self.exchange_plain(&cmd)?;
        let channel = auth
            .on_external_authenticate_response(&response)
            .map_err(|e| map_scp_status(e, CommandKind::ExternalAuthenticate))?;
        let info = channel.info().clone();
        self.secure = Some(channel);
        Ok(info)
    }

    fn exchange_plain(&mut self, cmd: &[u8]) -> Result<Vec<u8>, GpError> {
        if let Some(o) = self.plain_observer.as_mut() {
            o(PlainEvent::Command(cmd));
        }
        let r = self.channel.transmit(cmd)?;
        if let Some(o) = self.plain_observer.as_mut() {
            o(PlainEvent::Response(&r));
        }
        Ok(r)
    }

    /// GET DATA; `None` when the card does not hold the object (6A88, 6A82, 6A86).
    pub fn get_data(&mut self, tag: u16) -> Result<Option<Vec<u8>>, GpError> {
        let r = self.transmit(&commands::get_data(tag))?;
        match r.sw {
            0x9000 => Ok(Some(r.data)),
            0x6A88 | 0x6A82 | 0x6A86 | 0x6D00 => Ok(None),
            sw => Err(status(CommandKind::GetData, sw)),
        }
    }

    /// GET STATUS of a scope: the E3 format first, the legacy format when the
    /// card rejects it; pages after 6310 are fetched with 'next occurrence'.
    /// A scope with no entries (6A88) gives an empty list.
    pub fn get_status(&mut self, scope: Scope) -> Result<Vec<Entry>, GpError> {
        match self.get_status_format(scope, true) {
            Err(GpError::Status {
                sw: 0x6A86 | 0x6A80 | 0x6D00,
                ..
            }) => self.get_status_format(scope, false),
            other => other,
        }
    }

    fn get_status_format(&mut self, scope: Scope, tlv: bool) -> Result<Vec<Entry>, GpError> {
        let mut data = Vec::new();
        let mut next = false;
        // A card may page forever; 256 pages is far beyond any real registry.
        for _ in 0..256 {
            let r = self.transmit(&commands::get_status(scope, tlv, next))?;
            match r.sw {
                0x9000 => {
                    data.extend_from_slice(&r.data);
                    let parse = if tlv {
                        registry::parse_e3
                    } else {
                        registry::parse_legacy
                    };
                    return parse(scope, &data).map_err(|e| GpError::Protocol(e.to_string()));
                }
                0x6310 => {
                    data.extend_from_slice(&r.data);
                    next = true;
                }
                0x6A88 | 0x6A82 if data.is_empty() => return Ok(Vec::new()),
                sw => return Err(status(CommandKind::GetStatus, sw)),
            }
        }
        Err(GpError::Protocol(
            "GET STATUS: the card kept answering 6310 after 256 pages".into(),
        ))
    }

    /// The whole registry: ISD, applications and security domains, load files
    /// with their modules (falling back to load files alone).
    pub fn list(&mut self) -> Result<Registry, GpError> {
        let isd = self.get_status(Scope::IssuerSecurityDomain)?;
        let applications = self.get_status(Scope::Applications)?;
        let load_files = match self.get_status(Scope::LoadFilesAndModules) {
            Err(GpError::Status { sw: 0x6A86, .. }) => self.get_status(Scope::LoadFiles)?,
            other => other?,
        };
        Ok(Registry {
            isd,
            applications,
            load_files,
        })
    }

    /// LOAD data bytes per block after secure messaging overhead: the MAC (8
    /// bytes) and, with C-ENC, padding to the cipher block (at least one byte).
    pub fn block_size(&self) -> usize {
        let max = self.max_command_data.min(DEFAULT_MAX_COMMAND_DATA);
        let Some(sc) = self.secure.as_ref() else {
            return max;
        };
        let level = sc.info().security_level;
        let mut room = max.saturating_sub(8);
        if level.byte() & SecurityLevel::C_MAC_C_ENC.byte() == SecurityLevel::C_MAC_C_ENC.byte() {
            let cipher_block = match sc.info().protocol {
                scp::Protocol::Scp02 { .. } => 8,
                _ => 16,
            };
            room = (room / cipher_block) * cipher_block;
            room = room.saturating_sub(1);
        }
        room.max(1)
    }

    /// INSTALL [for load] and the LOAD blocks of a CAP's load file.
    pub fn load(
        &mut self,
        cap: &Cap,
        options: &LoadOptions,
        progress: &mut dyn FnMut(LoadProgress),
    ) -> Result<(), GpError> {
        let package = cap
            .header()
            .map(|h| h.load_file_aid().as_bytes().to_vec())
            .ok_or_else(|| GpError::Protocol("the CAP has no Header component".into()))?;
        let load_file = LoadFile::build(cap, options.with_descriptor)?;
        let hash = options
            .hash
            .map(|h| h.digest(&load_file.bytes))
            .unwrap_or_default();
        let sd = options
            .security_domain
            .clone()
            .or_else(|| self.selected.clone())
            .unwrap_or_default();
        let ifl = InstallForLoad {
            load_file_aid: package,
            security_domain_aid: sd,
            hash,
            parameters: Vec::new(),
            token: Vec::new(),
        };
        self.expect_ok(
            CommandKind::InstallForLoad,
            &commands::install_for_load(&ifl)?,
        )?;
        let block_size = options.block_size.unwrap_or_else(|| self.block_size());
        let wrapped = load_file.with_c4_tag();
        let blocks = LoadBlocks::split(&wrapped, block_size)
            .map_err(|e| GpError::Protocol(e.to_string()))?;
        let mut sent = 0;
        for (i, block) in blocks.blocks.iter().enumerate() {
            let (p1, p2) = blocks.p1p2(i);
            self.expect_ok(CommandKind::Load, &commands::load(p1, p2, block)?)?;
            sent += block.len();
            progress(LoadProgress {
                block: i + 1,
                blocks: blocks.blocks.len(),
                bytes: sent,
                total_bytes: wrapped.len(),
            });
        }
        Ok(())
    }

    /// INSTALL [for install and make selectable] of the CAP's applets (or the
    /// one chosen). Returns the instance AIDs created.
    pub fn install_applets(
        &mut self,
        cap: &Cap,
        options: &InstallOptions,
    ) -> Result<Vec<Vec<u8>>, GpError> {
        let package = cap
            .header()
            .map(|h| h.load_file_aid().as_bytes().to_vec())
            .ok_or_else(|| GpError::Protocol("the CAP has no Header component".into()))?;
        let applets: Vec<Vec<u8>> = match cap.component(Tag::Applet) {
            Some(Component::Applet(a)) => a
                .applets
                .iter()
                .map(|x| x.aid.as_bytes().to_vec())
                .collect(),
            _ => Vec::new(),
        };
        let chosen: Vec<Vec<u8>> = match &options.applet {
            Some(aid) if applets.contains(aid) => vec![aid.clone()],
            Some(aid) => {
                return Err(GpError::Protocol(format!(
                    "the CAP has no applet {}; its applets: {}",
                    hex::encode_upper(aid),
                    applets
                        .iter()
                        .map(hex::encode_upper)
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
            None if applets.is_empty() => {
                return Err(GpError::Protocol(
                    "the CAP is a library: it has no applet to install".into(),
                ))
            }
            None => applets,
        };
        if options.instance.is_some() && chosen.len() > 1 {
            return Err(GpError::Protocol(
                "--instance needs --applet when the CAP has several applets".into(),
            ));
        }
        let mut created = Vec::new();
        for applet in chosen {
            let instance = options.instance.clone().unwrap_or_else(|| applet.clone());
            let v = InstallForInstall {
                load_file_aid: package.clone(),
                module_aid: applet,
                application_aid: instance.clone(),
                privileges: options.privileges,
                parameters: InstallForInstall::applet_parameters(&options.parameters)
                    .map_err(|e| GpError::Protocol(e.to_string()))?,
                token: Vec::new(),
            };
            self.expect_ok(
                CommandKind::InstallForInstall,
                &commands::install_for_install(install_p1::FOR_INSTALL_AND_MAKE_SELECTABLE, &v)?,
            )?;
            created.push(instance);
        }
        Ok(created)
    }

    /// DELETE of an AID (and what depends on it with `related`).
    pub fn delete(&mut self, aid: &[u8], related: bool) -> Result<(), GpError> {
        self.expect_ok(CommandKind::Delete, &commands::delete(aid, related)?)?;
        Ok(())
    }

    /// SET STATUS: `p1` the status type, `state` the new life cycle.
    pub fn set_status(&mut self, p1: u8, state: u8, aid: &[u8]) -> Result<(), GpError> {
        self.expect_ok(
            CommandKind::SetStatus,
            &commands::set_status(p1, state, aid)?,
        )?;
        Ok(())
    }

    /// PUT KEY: adds (`replace` = None) or replaces a key set with `keys`
    /// (ENC, MAC, DEK as key ids 1, 2, 3), each encrypted under the session's
    /// DEK with its KCV. Checks the KCVs the card returns.
    pub fn put_key(&mut self, keys: &StaticKeys, replace: Option<u8>) -> Result<(), GpError> {
        let sc = self
            .secure
            .as_ref()
            .ok_or_else(|| GpError::Protocol("PUT KEY needs an open secure channel".into()))?;
        let mut data = vec![keys.version];
        let mut kcvs = Vec::new();
        for key in [&keys.enc, &keys.mac, &keys.dek] {
            let plain = key.expose_secret();
            let kcv = key.kcv();
            kcvs.extend_from_slice(&kcv);
            match key.kind() {
                KeyType::Des3 => {
                    let enc = sc.encrypt_key_data(plain)?;
                    data.push(0x80);
                    data.push(enc.len() as u8);
                    data.extend_from_slice(&enc);
                }
                _ => {
                    // AES keys: the key padded with zeros to whole blocks,
                    // preceded by its real length.
                    let mut padded = zeroize::Zeroizing::new(plain.to_vec());
                    padded.resize(plain.len().div_ceil(16) * 16, 0);
                    let enc = sc.encrypt_key_data(&padded)?;
                    data.push(0x88);
                    data.push(enc.len() as u8 + 1);
                    data.push(plain.len() as u8);
                    data.extend_from_slice(&enc);
                }
            }
            data.push(0x03);
            data.extend_from_slice(&kcv);
        }
        let reply = self.expect_ok(
            CommandKind::PutKey,
            &commands::put_key(replace.unwrap_or(0), 1, &data)?,
        )?;
        let mut expected = vec![keys.version];
        expected.extend_from_slice(&kcvs);
        if !reply.is_empty() && reply != expected {
            return Err(GpError::Protocol(format!(
                "PUT KEY: the card answered key check values {} but {} were sent",
                hex::encode_upper(&reply),
                hex::encode_upper(&expected)
            )));
        }
        Ok(())
    }
}

/// Maps a status error of the handshake to an explained one.
fn map_scp_status(e: ScpError, kind: CommandKind) -> GpError {
    match e {
        ScpError::Status { sw, .. } => status(kind, sw),
        other => GpError::Scp(other),
    }
}

/// The maximum length of command data (tag 9F65) from a SELECT response's FCI.
pub fn fci_max_block_size(fci: &[u8]) -> Option<usize> {
    let tlvs = gp::tlv::Tlv::parse_all(fci).ok()?;
    let v = gp::tlv::find_path(&tlvs, &[0x6F, 0xA5, 0x9F65])
        .or_else(|| gp::tlv::find_path(&tlvs, &[0x6F, 0x9F65]))?
        .bytes()?;
    Some(v.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize)).filter(|n| *n > 0)
}
