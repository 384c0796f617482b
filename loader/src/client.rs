//! [`GpClient`]: the driver of card content management. It selects a
//! security domain, opens the secure channel, and plays plans
//! ([`crate::plan`]) through it: each command wrapped, sent, its response
//! unwrapped and checked against what the step accepts, status words turned
//! into explained errors. Each convenience method (list, load, install,
//! delete, put key, set status) builds its plan and runs it.

use std::sync::Arc;

use cap_tools::Cap;
use gp::apdu::{ApduError, CommandApdu, LogicalChannel, ResponseApdu};
use gp::commands::{self, CommandError};
use gp::registry::{self, Entry, Scope};
use gp::sw::{explain, CommandKind};
use gp::StatusChange;
use scp::keys::{Key, KeyProvider, KeySetSealer, KeyType, SealedKey, SealedKeySet, StaticKeys};
use scp::{HostConfig, Protocol, ScpError, SecureChannel, SecurityLevel, SessionInfo};

use crate::compat::{self, CapFacts, CardFacts, Report};
use crate::plan::{self, InstallOptions, LoadOptions, Plan, PlanError, Step};
use crate::transport::{CardChannel, Transport, TransportError};

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
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The CAP does not fit the card: the checks before LOAD found a
    /// mismatch, and nothing was sent.
    #[error("{} does not fit this card, nothing was loaded:\n{}", .package, .report.findings_text())]
    Incompatible {
        package: String,
        report: Box<crate::compat::Report>,
    },
    /// An install failed after its LOAD succeeded; `cleanup` says what
    /// became of the loaded package.
    #[error("{cause}; {cleanup}")]
    InstallFailed {
        cause: Box<GpError>,
        cleanup: String,
    },
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

pub use crate::plan::LoadHash;

/// Progress of a load: blocks sent of total, bytes sent of total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadProgress {
    pub block: usize,
    pub blocks: usize,
    pub bytes: usize,
    pub total_bytes: usize,
}

/// What `jct list` shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Registry {
    pub isd: Vec<Entry>,
    pub applications: Vec<Entry>,
    pub load_files: Vec<Entry>,
}

impl Registry {
    /// The listing as text, GlobalPlatformPro-like: one entry a line, its
    /// privileges, load file, version and modules indented below it.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for e in self
            .isd
            .iter()
            .chain(&self.applications)
            .chain(&self.load_files)
        {
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
        }
        s
    }
}

/// Observer of plain (unwrapped) commands and responses, for `--trace`.
pub type PlainObserver = Box<dyn FnMut(PlainEvent<'_>) + Send>;

/// A command before wrapping or a response after unwrapping.
#[derive(Debug)]
pub enum PlainEvent<'a> {
    Command(&'a [u8]),
    Response(&'a [u8]),
}

/// A GlobalPlatform session with a card, on one logical channel.
///
/// Each client runs on its own logical channel (the basic one unless
/// [`GpClient::open_logical_channel`] or [`GpClient::use_logical_channel`]
/// says otherwise): every command it sends has its CLA recoded for the
/// channel before secure messaging, so the C-MAC covers the channel as
/// sent. Two clients over one card ([`crate::transport::Shared`]) on two
/// channels each keep their own secure channel, keys and counters, as
/// GlobalPlatform binds a session to its logical channel.
pub struct GpClient {
    channel: CardChannel,
    secure: Option<SecureChannel>,
    selected: Option<Vec<u8>>,
    max_command_data: usize,
    plain_observer: Option<PlainObserver>,
    logical_channel: LogicalChannel,
    confirmations: Vec<TokenConfirmation>,
}

/// What a card answered to a command that carried a delegated management
/// token: the confirmation (`None` for a card that gives none) and what
/// its receipt is over, so the issuer can check it with the receipt key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfirmation {
    /// "load" (the last LOAD's response), "install" (INSTALL [for
    /// install]'s) or "make-selectable" (INSTALL [for make selectable]'s).
    pub command: &'static str,
    pub load_file: Vec<u8>,
    /// The security domain (load) or the application (install, make
    /// selectable).
    pub target: Vec<u8>,
    pub confirmation: Option<gp::token::Confirmation>,
}

impl TokenConfirmation {
    /// The receipt data the card's receipt key MACs (GP 2.3.1 C.5).
    pub fn receipt_data(&self) -> Result<Option<Vec<u8>>, gp::install::DataError> {
        let Some(c) = &self.confirmation else {
            return Ok(None);
        };
        let what = match self.command {
            "load" => gp::token::Receipt::Load {
                load_file: &self.load_file,
                security_domain: &self.target,
            },
            _ => gp::token::Receipt::Install {
                load_file: &self.load_file,
                application: &self.target,
            },
        };
        what.data(c.counter, &c.card_unique).map(Some)
    }
}

fn confirmation_of(what: &str, data: &[u8]) -> Result<Option<gp::token::Confirmation>, GpError> {
    gp::token::Confirmation::parse(data)
        .map_err(|e| GpError::Protocol(format!("the confirmation of {what}: {e}")))
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
            logical_channel: LogicalChannel::BASIC,
            confirmations: Vec::new(),
        }
    }

    /// The confirmations of the commands with tokens run since the last
    /// call (loads and installs with `token` set), oldest first.
    pub fn take_confirmations(&mut self) -> Vec<TokenConfirmation> {
        std::mem::take(&mut self.confirmations)
    }

    /// The logical channel this client's commands go to.
    pub fn logical_channel(&self) -> LogicalChannel {
        self.logical_channel
    }

    /// Sends this client's commands on `channel` from now on, which the
    /// caller has opened (or which a SELECT opens): nothing is sent. The
    /// secure channel and the selection belong to the old channel and are
    /// forgotten.
    pub fn use_logical_channel(&mut self, channel: LogicalChannel) {
        self.logical_channel = channel;
        self.secure = None;
        self.selected = None;
    }

    /// MANAGE CHANNEL OPEN on the basic channel: `number` = `None` lets the
    /// card choose a free channel, `Some(n)` asks for channel n (1 to 19).
    /// The client then sends its commands there ([`Self::use_logical_channel`]).
    /// A refusal names the card's status word and what it means here.
    pub fn open_logical_channel(&mut self, number: Option<u8>) -> Result<LogicalChannel, GpError> {
        let p2 = match number {
            None => 0,
            Some(0) => {
                return Err(GpError::Protocol(
                    "logical channel 0 is the basic channel, always open: \
                     MANAGE CHANNEL opens channels 1 to 19"
                        .into(),
                ))
            }
            Some(n) => LogicalChannel::new(n)?.number(),
        };
        let command = CommandApdu::new(
            0x00,
            0x70,
            0x00,
            p2,
            Vec::new(),
            number.is_none().then_some(1),
        )?;
        let raw = self.exchange_plain(&command.to_bytes())?;
        let response = ResponseApdu::parse(&raw)?;
        let wanted = match number {
            Some(n) => format!("logical channel {n}"),
            None => "a logical channel of its choice".to_string(),
        };
        if response.sw != 0x9000 {
            return Err(GpError::Protocol(format!(
                "MANAGE CHANNEL: the card refused to open {wanted}: it answered {:04X} ({})",
                response.sw,
                manage_channel_meaning(response.sw, true)
            )));
        }
        let opened = match (number, response.data.as_slice()) {
            (Some(n), []) => n,
            (None, [n]) => *n,
            (_, data) => {
                return Err(GpError::Protocol(format!(
                    "MANAGE CHANNEL: opening {wanted}, the card answered data {} (expected {})",
                    hex::encode_upper(data),
                    if number.is_some() {
                        "none"
                    } else {
                        "one byte, the channel number"
                    }
                )))
            }
        };
        let channel = LogicalChannel::new(opened).map_err(|_| {
            GpError::Protocol(format!(
                "MANAGE CHANNEL: the card opened channel {opened}, which no CLA can address (0 to 19)"
            ))
        })?;
        self.use_logical_channel(channel);
        Ok(channel)
    }

    /// MANAGE CHANNEL CLOSE of this client's channel (sent on the basic
    /// channel); the client goes back to the basic channel. The card ends
    /// the channel's secure channel and deselects what was selected there.
    pub fn close_logical_channel(&mut self) -> Result<(), GpError> {
        let n = self.logical_channel.number();
        if n == 0 {
            return Err(GpError::Protocol(
                "the basic logical channel (0) cannot be closed".into(),
            ));
        }
        let command = CommandApdu::new(0x00, 0x70, 0x80, n, Vec::new(), None)?;
        let raw = self.exchange_plain(&command.to_bytes())?;
        self.use_logical_channel(LogicalChannel::BASIC);
        let sw = ResponseApdu::parse(&raw)?.sw;
        if sw != 0x9000 {
            return Err(GpError::Protocol(format!(
                "MANAGE CHANNEL: the card refused to close logical channel {n}: it answered {sw:04X} ({})",
                manage_channel_meaning(sw, false)
            )));
        }
        Ok(())
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

    /// Forgets the secure channel on the host side, sending nothing. After
    /// a reset or a power cycle the card has closed its side already, and
    /// wrapping the next commands would only earn 6982.
    pub fn forget_secure_channel(&mut self) {
        self.secure = None;
    }

    /// Largest command data field the card takes (9F65, or 255).
    pub fn max_command_data(&self) -> usize {
        self.max_command_data
    }

    /// Sends a command (wrapped when a secure channel is open) and returns
    /// the unwrapped response, whatever its status word.
    pub fn transmit(&mut self, command: &CommandApdu) -> Result<ResponseApdu, GpError> {
        let command = command.clone().on_channel(self.logical_channel);
        if let Some(o) = self.plain_observer.as_mut() {
            o(PlainEvent::Command(&command.to_bytes()));
        }
        let wire = match self.secure.as_mut() {
            Some(sc) => sc.wrap_apdu(&command)?,
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

    /// Opens a secure channel with the selected security domain, with a host
    /// challenge from the operating system's CSPRNG. The card cryptogram is
    /// checked before EXTERNAL AUTHENTICATE is sent, so wrong keys cost none
    /// of the card's authentication tries.
    pub fn open_secure_channel(
        &mut self,
        options: &ChannelOptions,
    ) -> Result<SessionInfo, GpError> {
        if let Some(scp11) = &options.scp11 {
            return self.open_scp11(scp11.clone());
        }
        let config = self.host_config(options)?;
        if is_implicit(options, &config) {
            return self.open_implicit(&config);
        }
        let hello = scp::begin(config)?;
        self.authenticate(hello)
    }

    /// SCP11: reads the card's certificates (GET DATA BF21) and checks them
    /// against the CA key, presents the OCE certificates (11a, 11c), then
    /// MUTUAL or INTERNAL AUTHENTICATE; the receipt is checked before the
    /// channel is used. Every later command goes through it as with SCP03.
    fn open_scp11(
        &mut self,
        mut config: scp::scp11::host::Scp11Config,
    ) -> Result<SessionInfo, GpError> {
        self.secure = None;
        config.logical_channel = self.logical_channel;
        let reading = scp::scp11::host::begin(config)?;
        let response = self.exchange_plain(reading.command())?;
        let mut upload = reading.on_response(&response).map_err(|e| match e {
            ScpError::Status { sw, .. } => GpError::Protocol(format!(
                "GET DATA BF21 (the card's SCP11 certificates) failed with SW {sw:04X}: {}",
                explain(CommandKind::Other, sw)
            )),
            other => GpError::Scp(other),
        })?;
        while let Some(cmd) = upload.command() {
            let cmd = cmd.to_vec();
            let response = self.exchange_plain(&cmd)?;
            upload = upload.on_response(&response).map_err(|e| match e {
                ScpError::Status { sw, .. } => GpError::Protocol(format!(
                    "the card refused the OCE certificate (PERFORM SECURITY OPERATION, SW {sw:04X}): \
                     it is not signed by the card's OCE CA key, expired, or malformed"
                )),
                other => GpError::Scp(other),
            })?;
        }
        let auth = upload.authenticate(&mut scp::OsRng)?;
        let response = self.exchange_plain(auth.command())?;
        let channel = auth.on_response(&response).map_err(|e| match e {
            ScpError::Status { sw, .. } => GpError::Protocol(format!(
                "SCP11 authentication failed with SW {sw:04X}: {}",
                explain(CommandKind::Other, sw)
            )),
            other => GpError::Scp(other),
        })?;
        let info = channel.info().clone();
        self.secure = Some(channel);
        Ok(info)
    }

    /// SCP02 implicit initiation ("i" bit 04 clear, e.g. 0A, 1A): no
    /// INITIALIZE UPDATE; the sequence counter comes from GET DATA 00C1,
    /// the first ICV from the selected security domain's AID, and the
    /// card opens its side when the first C-MACed command verifies.
    fn open_implicit(&mut self, config: &HostConfig) -> Result<SessionInfo, GpError> {
        self.secure = None;
        let aid = self.selected.clone().ok_or_else(|| {
            GpError::Protocol(
                "SCP02 implicit initiation needs the security domain selected first: \
                 its AID seeds the first C-MAC"
                    .into(),
            )
        })?;
        let data = self.get_data(0x00C1)?.ok_or_else(|| {
            GpError::Protocol(
                "SCP02 implicit initiation needs the card's sequence counter, but GET DATA 00C1 \
                 found none: the card does not offer implicit initiation (try --scp-i 15 or 55)"
                    .into(),
            )
        })?;
        let counter = match data.as_slice() {
            [0xC1, 0x02, a, b] | [a, b] => [*a, *b],
            other => {
                return Err(GpError::Protocol(format!(
                    "GET DATA 00C1 answered {}, not an SCP02 sequence counter (C1 02 xxxx)",
                    hex::encode_upper(other)
                )))
            }
        };
        let channel = scp::implicit::open_host(config, counter, &aid)?;
        let info = channel.info().clone();
        self.secure = Some(channel);
        Ok(info)
    }

    pub(crate) fn open_secure_channel_with_challenge(
        &mut self,
        options: &ChannelOptions,
        host_challenge: [u8; 8],
    ) -> Result<SessionInfo, GpError> {
        let config = self.host_config(options)?;
        if is_implicit(options, &config) {
            // No challenge travels: a replay repeats the same commands anyway.
            return self.open_implicit(&config);
        }
        self.authenticate(scp::danger::begin_with_challenge(config, host_challenge))
    }

    /// The host side's configuration: SCP02's "i", which the card does not
    /// state in INITIALIZE UPDATE, comes from the options or else from the
    /// card recognition data (GET DATA 66), else 15.
    fn host_config(&mut self, options: &ChannelOptions) -> Result<HostConfig, GpError> {
        let scp02_i = match options.scp02_i {
            Some(i) => i,
            None => self.scp02_i_from_recognition_data().unwrap_or(0x15),
        };
        let mut config = HostConfig::new(Arc::clone(&options.keys));
        config.security_level = options.security_level;
        config.scp02_i = scp02_i;
        config.expect_scp = options.expect_scp;
        config.check_challenge_aid = options.check_challenge_aid.clone();
        config.scp03_mode = options.scp03_mode;
        config.logical_channel = self.logical_channel;
        Ok(config)
    }

    /// SCP02's "i" from the card recognition data, if the card has them.
    pub fn scp02_i_from_recognition_data(&mut self) -> Option<u8> {
        let data = self.get_data(0x0066).ok().flatten()?;
        let recognition = gp::cardinfo::decode_card_recognition(&data).ok()?;
        recognition
            .scp
            .iter()
            .find(|(protocol, _)| *protocol == 2)
            .map(|(_, i)| *i)
    }

    fn authenticate(&mut self, hello: scp::AwaitingInitUpdate) -> Result<SessionInfo, GpError> {
        self.secure = None;
        let response = self.exchange_plain(hello.command())?;
        let auth = hello
            .on_init_update_response(&response)
            .map_err(|e| map_scp_status(e, CommandKind::InitializeUpdate))?;
        let response = self.exchange_plain(auth.command())?;
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

    /// Plays a plan: every step's command through the secure channel (when
    /// one is open), its response checked. Stops at the first status word
    /// the step does not accept, with the error explained for that command.
    /// `progress` sees each finished step.
    pub fn run(
        &mut self,
        plan: &Plan,
        progress: &mut dyn FnMut(PlanProgress),
    ) -> Result<Vec<StepOutcome>, GpError> {
        let mut outcomes = Vec::with_capacity(plan.steps.len());
        for (index, step) in plan.steps.iter().enumerate() {
            outcomes.push(self.run_step(step)?);
            progress(PlanProgress {
                step: index + 1,
                steps: plan.steps.len(),
            });
        }
        Ok(outcomes)
    }

    fn run_step(&mut self, step: &Step) -> Result<StepOutcome, GpError> {
        let mut response = self.transmit(&step.command)?;
        if let Some((sws, instead)) = &step.otherwise {
            if sws.contains(&response.sw) {
                return self.run_step(instead);
            }
        }
        let mut data = Vec::new();
        if let Some(more) = &step.more {
            // A card may page forever; 256 pages is far beyond any real registry.
            let mut pages = 0;
            while response.sw == 0x6310 {
                pages += 1;
                if pages > 256 {
                    return Err(GpError::Protocol(format!(
                        "{}: the card kept answering 6310 after 256 pages",
                        step.kind.name()
                    )));
                }
                data.extend_from_slice(&response.data);
                response = self.transmit(more)?;
            }
        }
        if !step.accept.contains(&response.sw) {
            return Err(status(step.kind, response.sw));
        }
        data.extend_from_slice(&response.data);
        Ok(StepOutcome {
            command: step.command.clone(),
            sw: response.sw,
            data,
        })
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

    /// GET STATUS of a scope (E3 format, legacy as fallback, paged).
    pub fn get_status(&mut self, scope: Scope) -> Result<Vec<Entry>, GpError> {
        let outcome = self.run_step(&plan::get_status(scope))?;
        parse_status(&outcome)
    }

    /// The whole registry: ISD, applications and security domains, load files
    /// with their modules (falling back to load files alone).
    pub fn list(&mut self) -> Result<Registry, GpError> {
        let outcomes = self.run(&plan::list(), &mut |_| {})?;
        let mut parsed = outcomes.iter().map(parse_status);
        let mut next = || parsed.next().unwrap_or_else(|| Ok(Vec::new()));
        Ok(Registry {
            isd: next()?,
            applications: next()?,
            load_files: next()?,
        })
    }

    /// What the card tells of itself for the checks before LOAD: its load
    /// files with their versions (GET STATUS), its card recognition data
    /// (GET DATA 66) and its extended card resources (GET DATA FF21). A
    /// card that refuses one of them (a status word) just tells less.
    pub fn card_facts(&mut self) -> Result<CardFacts, GpError> {
        let load_files = match self.run_step(&plan::load_files()) {
            Ok(outcome) => Some(parse_status(&outcome)?),
            Err(GpError::Status { .. }) => None,
            Err(e) => return Err(e),
        };
        let mut data = |tag: u16| match self.get_data(tag) {
            Ok(d) => Ok(d),
            Err(GpError::Status { .. }) => Ok(None),
            Err(e) => Err(e),
        };
        let card_data = data(0x0066)?;
        let resources = data(0xFF21)?;
        Ok(CardFacts::from_answers(
            load_files.as_deref(),
            card_data.as_deref(),
            resources.as_deref(),
        ))
    }

    /// Compares the CAP with the card (see [`crate::compat`]) before a
    /// load with `options`; sends only reading commands.
    pub fn check_compatibility(
        &mut self,
        cap: &Cap,
        options: &LoadOptions,
    ) -> Result<Report, GpError> {
        let facts = CapFacts::of(cap, options.with_descriptor)?;
        let card = self.card_facts()?;
        Ok(compat::check(&facts, &card))
    }

    /// Checks the CAP against the card, then loads it: a mismatch stops
    /// before INSTALL [for load] ([`GpError::Incompatible`]) unless
    /// `force`; a failed LOAD's status word is explained with what was
    /// checked. Returns the report.
    pub fn load_checked(
        &mut self,
        cap: &Cap,
        options: &LoadOptions,
        force: bool,
        progress: &mut dyn FnMut(LoadProgress),
    ) -> Result<Report, GpError> {
        let report = self.check_compatibility(cap, options)?;
        refuse_unless_forced(cap, &report, force)?;
        self.load(cap, options, progress)
            .map_err(|e| explain_with(&report, e))?;
        Ok(report)
    }

    /// [`GpClient::install`] after the checks of [`GpClient::load_checked`]
    /// (none with `load` = `None`: nothing is loaded). Returns the report
    /// and the instances created.
    pub fn install_checked(
        &mut self,
        cap: &Cap,
        load: Option<&LoadOptions>,
        options: &InstallOptions,
        keep_on_failure: bool,
        force: bool,
        progress: &mut dyn FnMut(LoadProgress),
    ) -> Result<(Option<Report>, Vec<Vec<u8>>), GpError> {
        let Some(load_options) = load else {
            return Ok((
                None,
                self.install(cap, None, options, keep_on_failure, progress)?,
            ));
        };
        let report = self.check_compatibility(cap, load_options)?;
        refuse_unless_forced(cap, &report, force)?;
        let created = self
            .install(cap, Some(load_options), options, keep_on_failure, progress)
            .map_err(|e| explain_with(&report, e))?;
        Ok((Some(report), created))
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
        if level.c_enc() {
            let cipher_block = match sc.info().protocol() {
                Protocol::Scp02 { .. } => 8,
                Protocol::Scp03 { .. } => 16,
            };
            room = (room / cipher_block) * cipher_block;
            room = room.saturating_sub(1);
        }
        room.max(1)
    }

    /// The load plan of a CAP for this session (block size, security domain).
    pub fn load_plan(&self, cap: &Cap, options: &LoadOptions) -> Result<Plan, GpError> {
        let sd = self.selected.clone().unwrap_or_default();
        Ok(plan::load(cap, options, &sd, self.block_size())?)
    }

    /// INSTALL [for load] and the LOAD blocks of a CAP's load file.
    pub fn load(
        &mut self,
        cap: &Cap,
        options: &LoadOptions,
        progress: &mut dyn FnMut(LoadProgress),
    ) -> Result<(), GpError> {
        let plan = self.load_plan(cap, options)?;
        let sizes: Vec<usize> = plan
            .steps
            .iter()
            .skip(1)
            .map(|s| s.command.data().len())
            .collect();
        let total_bytes: usize = sizes.iter().sum();
        let mut sent = 0;
        let outcomes = self.run(&plan, &mut |p| {
            // Step 1 is INSTALL [for load]; the LOAD blocks follow.
            if p.step >= 2 {
                sent += sizes.get(p.step - 2).copied().unwrap_or(0);
                progress(LoadProgress {
                    block: p.step - 1,
                    blocks: sizes.len(),
                    bytes: sent,
                    total_bytes,
                });
            }
        })?;
        if !options.token.is_empty() {
            // The load confirmation comes with the last LOAD's response.
            let ifl = outcomes
                .first()
                .map(|o| gp::install::InstallForLoad::parse(o.command.data()))
                .transpose()
                .map_err(|e| GpError::Protocol(format!("INSTALL [for load] sent: {e}")))?
                .unwrap_or_default();
            let data = outcomes.last().map(|o| o.data.clone()).unwrap_or_default();
            let confirmation = confirmation_of("the load", &data)?;
            self.confirmations.push(TokenConfirmation {
                command: "load",
                load_file: ifl.load_file_aid,
                target: ifl.security_domain_aid,
                confirmation,
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
        let created = plan::instances(cap, options)?
            .into_iter()
            .map(|i| i.instance)
            .collect();
        let outcomes = self.run(&plan::install(cap, options)?, &mut |_| {})?;
        if !options.token.is_empty() {
            for o in &outcomes {
                let v = gp::install::InstallForInstall::parse(o.command.data())
                    .map_err(|e| GpError::Protocol(format!("INSTALL [for install] sent: {e}")))?;
                let confirmation = confirmation_of("the install", &o.data)?;
                self.confirmations.push(TokenConfirmation {
                    command: "install",
                    load_file: v.load_file_aid,
                    target: v.application_aid,
                    confirmation,
                });
            }
        }
        Ok(created)
    }

    /// The whole install sequence: load (unless `load` is `None`), then
    /// install (a library is only loaded: it returns no instances). When the install fails after a successful load, the loaded
    /// package is deleted again (unless `keep_on_failure`), so a rerun does
    /// not meet 6985; the error says what became of it.
    pub fn install(
        &mut self,
        cap: &Cap,
        load: Option<&LoadOptions>,
        options: &InstallOptions,
        keep_on_failure: bool,
        progress: &mut dyn FnMut(LoadProgress),
    ) -> Result<Vec<Vec<u8>>, GpError> {
        let Some(load_options) = load else {
            return self.install_applets(cap, options);
        };
        self.load(cap, load_options, progress)?;
        if plan::is_library(cap) && options.applet.is_none() {
            // A library is loaded for packages that import it; there is
            // nothing to install.
            return Ok(Vec::new());
        }
        let cause = match self.install_applets(cap, options) {
            Ok(created) => return Ok(created),
            Err(e) => e,
        };
        let package = plan::package_aid(cap)?;
        let aid = hex::encode_upper(&package);
        let cleanup = if keep_on_failure {
            format!("the package {aid} stays loaded (--keep-on-failure)")
        } else {
            match self.delete(&package, true) {
                Ok(()) => format!("the package {aid} it loaded was deleted again"),
                Err(e) => format!("deleting the package {aid} it loaded failed too: {e}"),
            }
        };
        Err(GpError::InstallFailed {
            cause: Box::new(cause),
            cleanup,
        })
    }

    /// INSTALL [for make selectable] of an instance an INSTALL [for
    /// install] alone left INSTALLED, with its privileges.
    pub fn make_selectable(
        &mut self,
        instance: &[u8],
        privileges: gp::Privileges,
        token: &[u8],
    ) -> Result<(), GpError> {
        let outcomes = self.run(
            &plan::make_selectable(instance, privileges, token)?,
            &mut |_| {},
        )?;
        if !token.is_empty() {
            let data = outcomes.last().map(|o| o.data.clone()).unwrap_or_default();
            let confirmation = confirmation_of("the make selectable", &data)?;
            // The receipt is over the AIDs the command carries: no load
            // file AID, the application.
            self.confirmations.push(TokenConfirmation {
                command: "make-selectable",
                load_file: Vec::new(),
                target: instance.to_vec(),
                confirmation,
            });
        }
        Ok(())
    }

    /// Installs a supplementary security domain (see
    /// [`plan::install_security_domain`]).
    pub fn install_security_domain(
        &mut self,
        aid: &[u8],
        privileges: gp::Privileges,
    ) -> Result<(), GpError> {
        self.run(
            &plan::install_security_domain(aid, privileges)?,
            &mut |_| {},
        )?;
        Ok(())
    }

    /// INSTALL [for extradition]: `entity` (an application or load file)
    /// becomes associated with the security domain `sd`.
    pub fn extradite(&mut self, entity: &[u8], sd: &[u8]) -> Result<(), GpError> {
        self.run(&plan::extradite(entity, sd)?, &mut |_| {})?;
        Ok(())
    }

    /// DELETE of an AID (and what depends on it with `related`).
    pub fn delete(&mut self, aid: &[u8], related: bool) -> Result<(), GpError> {
        self.run(&plan::delete(aid, related)?, &mut |_| {})?;
        Ok(())
    }

    /// DELETE under a delegated management token (made by the card issuer
    /// over this very command: `gp::token::delete_token_data`); the card's
    /// confirmation, `None` when it gave none.
    pub fn delete_with_token(
        &mut self,
        aid: &[u8],
        related: bool,
        token: &[u8],
    ) -> Result<Option<gp::token::Confirmation>, GpError> {
        let outcomes = self.run(&plan::delete_with_token(aid, related, token)?, &mut |_| {})?;
        let data = outcomes.last().map(|o| o.data.clone()).unwrap_or_default();
        gp::token::Confirmation::parse(&data)
            .map_err(|e| GpError::Protocol(format!("DELETE {}: {e}", hex::encode_upper(aid))))
    }

    /// Personalization data for `application`: INSTALL [for
    /// personalization], then each block in a STORE DATA (the last one
    /// flagged); `p1` carries the data structure and encryption bits.
    pub fn store_data(
        &mut self,
        application: &[u8],
        blocks: &[Vec<u8>],
        p1: u8,
    ) -> Result<(), GpError> {
        self.run(&plan::personalize(application, blocks, p1)?, &mut |_| {})?;
        Ok(())
    }

    /// SET STATUS: a life cycle change of the application `aid`, or of the
    /// card (then `aid` is ignored and the selected security domain is used).
    pub fn set_status(&mut self, change: StatusChange, aid: Option<&[u8]>) -> Result<(), GpError> {
        let target = if change.is_card() {
            self.selected.clone().unwrap_or_default()
        } else {
            aid.ok_or_else(|| {
                GpError::Protocol("locking or unlocking an application needs its AID".into())
            })?
            .to_vec()
        };
        self.run(&plan::set_status(change, &target)?, &mut |_| {})?;
        Ok(())
    }

    /// PUT KEY: adds (`replace` = None) or replaces a key set with `keys`
    /// (ENC, MAC, DEK as key ids 1, 2, 3), each encrypted under the session's
    /// DEK with its KCV. Checks the KCVs the card returns.
    pub fn put_key(&mut self, keys: &StaticKeys, replace: Option<u8>) -> Result<(), GpError> {
        let sc = self.secure_channel_for_put_key()?;
        let (data, expected) = put_key_data(keys, sc)?;
        self.run_put_key(&data, &expected, replace)
    }

    /// PUT KEY of a key set that `sealer` encrypts itself (an HSM deriving
    /// the card's new keys from a master key inside it): the clear keys
    /// never reach this process. Checks the KCVs the card returns.
    pub fn put_sealed_key(
        &mut self,
        sealer: &dyn KeySetSealer,
        replace: Option<u8>,
    ) -> Result<(), GpError> {
        let sc = self.secure_channel_for_put_key()?;
        let sealed = sealer.seal(&sc.info().kdd, sc.key_protection())?;
        let (data, expected) = sealed.put_key_data()?;
        self.run_put_key(&data, &expected, replace)
    }

    /// PUT KEY of an SCP11 key (GP Amendment F): the security domain's
    /// private key for KID 11, 13 or 15 (`Scp11Key::Private`, encrypted
    /// under the session's DEK) or the OCE CA public key for KID 10; P-256
    /// (key parameter reference 00). The card answers the key version.
    pub fn put_scp11_key(
        &mut self,
        kid: u8,
        version: u8,
        key: &Scp11Key<'_>,
        replace: Option<u8>,
    ) -> Result<(), GpError> {
        let mut data = vec![version];
        match key {
            Scp11Key::Private(scalar) => {
                if scalar.len() != 32 {
                    return Err(GpError::Protocol(format!(
                        "an SCP11 private key has 32 bytes, not {}",
                        scalar.len()
                    )));
                }
                let sc = self.secure_channel_for_put_key()?;
                let encrypted = sc.encrypt_key_data(scalar)?;
                data.push(0xB1);
                data.push(len_byte(encrypted.len())?);
                data.extend_from_slice(&encrypted);
            }
            Scp11Key::Public(point) => {
                data.push(0xB0);
                data.push(len_byte(point.len())?);
                data.extend_from_slice(point);
            }
        }
        data.extend_from_slice(&[0xF0, 0x01, 0x00, 0x00]);
        let outcomes = self.run(&plan::put_key_single(&data, kid, replace)?, &mut |_| {})?;
        let reply = outcomes.first().map(|o| o.data.clone()).unwrap_or_default();
        if !reply.is_empty() && reply != [version] {
            return Err(GpError::Protocol(format!(
                "PUT KEY: the card answered {} for key version {version:02X}",
                hex::encode_upper(&reply)
            )));
        }
        Ok(())
    }

    /// STORE DATA to the selected security domain itself (no INSTALL [for
    /// personalization]): BER-TLV blocks, e.g. an SCP11 certificate store
    /// (`A6 {83 KID KVN} BF21 {...}`), cut into blocks of at most `block`
    /// bytes.
    pub fn store_sd_data(&mut self, data: &[u8], block: usize) -> Result<(), GpError> {
        let blocks: Vec<Vec<u8>> = data
            .chunks(block.clamp(1, 255))
            .map(<[u8]>::to_vec)
            .collect();
        self.run(&plan::store_data(&blocks, 0x10)?, &mut |_| {})?;
        Ok(())
    }

    fn secure_channel_for_put_key(&self) -> Result<&SecureChannel, GpError> {
        self.secure
            .as_ref()
            .ok_or_else(|| GpError::Protocol("PUT KEY needs an open secure channel".into()))
    }

    fn run_put_key(
        &mut self,
        data: &[u8],
        expected: &[u8],
        replace: Option<u8>,
    ) -> Result<(), GpError> {
        let outcomes = self.run(&plan::put_key(data, replace)?, &mut |_| {})?;
        let reply = outcomes.first().map(|o| o.data.clone()).unwrap_or_default();
        if !reply.is_empty() && reply != expected {
            return Err(GpError::Protocol(format!(
                "PUT KEY: the card answered key check values {} but {} were sent",
                hex::encode_upper(&reply),
                hex::encode_upper(expected)
            )));
        }
        Ok(())
    }
}

/// The key of an SCP11 PUT KEY.
pub enum Scp11Key<'a> {
    /// The 32-byte P-256 private scalar (SK.SD.ECKA).
    Private(&'a [u8]),
    /// An uncompressed P-256 point (PK.CA-KLOC.ECDSA).
    Public(&'a [u8]),
}

fn len_byte(n: usize) -> Result<u8, GpError> {
    u8::try_from(n).map_err(|_| GpError::Protocol(format!("a key field of {n} bytes")))
}

/// The data field of PUT KEY for `keys` (each key encrypted under the
/// session's DEK, with its KCV) and the answer the card should give (the
/// version and the KCVs). The layout is [`SealedKeySet::put_key_data`]'s,
/// which an HSM's sealed keys share.
pub fn put_key_data(keys: &StaticKeys, sc: &SecureChannel) -> Result<(Vec<u8>, Vec<u8>), GpError> {
    let seal = |key: &Key| -> Result<SealedKey, GpError> {
        let plain = key.expose_secret();
        let encrypted = match key.kind() {
            KeyType::Des3 => sc.encrypt_key_data(plain)?,
            KeyType::Aes => {
                // AES keys: the key padded with zeros to whole blocks.
                let mut padded = zeroize::Zeroizing::new(plain.to_vec());
                padded.resize(plain.len().div_ceil(16) * 16, 0);
                sc.encrypt_key_data(&padded)?
            }
        };
        Ok(SealedKey {
            kind: key.kind(),
            len: plain.len(),
            encrypted,
            kcv: key.kcv(),
        })
    };
    let sealed = SealedKeySet {
        version: keys.version,
        keys: [seal(&keys.enc)?, seal(&keys.mac)?, seal(&keys.dek)?],
    };
    Ok(sealed.put_key_data()?)
}

/// How a secure channel is to be opened: the settings the CLI (or a key
/// server) makes from its arguments.
#[derive(Clone)]
pub struct ChannelOptions {
    /// Who holds the keys.
    pub keys: Arc<dyn KeyProvider>,
    /// Security level to ask for.
    pub security_level: SecurityLevel,
    /// SCP02's "i"; `None` = from the card recognition data, else 15.
    pub scp02_i: Option<u8>,
    /// Refuse a card that answers with another protocol (2 or 3).
    pub expect_scp: Option<u8>,
    /// Check a pseudo-random card challenge against this AID.
    pub check_challenge_aid: Option<Vec<u8>>,
    /// SCP03 S8 or S16 mode: chosen before INITIALIZE UPDATE, whose host
    /// challenge is 16 bytes in S16 mode.
    pub scp03_mode: scp::scp03::Mode,
    /// Open SCP11 (a, b or c) with these certificates and keys instead of
    /// SCP02/SCP03 with `keys`; its logical channel is the client's.
    pub scp11: Option<scp::scp11::host::Scp11Config>,
}

impl ChannelOptions {
    /// C-MAC, "i" from the card, any protocol.
    pub fn new(keys: impl Into<Arc<dyn KeyProvider>>) -> ChannelOptions {
        ChannelOptions {
            keys: keys.into(),
            security_level: SecurityLevel::C_MAC,
            scp02_i: None,
            expect_scp: None,
            check_challenge_aid: None,
            scp03_mode: scp::scp03::Mode::S8,
            scp11: None,
        }
    }
}

impl std::fmt::Debug for ChannelOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelOptions")
            .field("key_version", &self.keys.key_version())
            .field("security_level", &self.security_level)
            .field("scp02_i", &self.scp02_i)
            .field("expect_scp", &self.expect_scp)
            .field("scp03_mode", &self.scp03_mode)
            .finish_non_exhaustive()
    }
}

/// Where a plan stands: `step` of `steps` done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanProgress {
    pub step: usize,
    pub steps: usize,
}

/// The answer to one step of a plan: the command that was finally sent
/// (a fallback's, if one ran), the status word, and the data of every page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    pub command: CommandApdu,
    pub sw: u16,
    pub data: Vec<u8>,
}

/// The registry entries of a GET STATUS outcome, in the format its command
/// asked for.
fn parse_status(outcome: &StepOutcome) -> Result<Vec<Entry>, GpError> {
    if outcome.sw != 0x9000 && outcome.data.is_empty() {
        return Ok(Vec::new());
    }
    let scope = Scope::from_p1(outcome.command.p1()).ok_or_else(|| {
        GpError::Protocol(format!(
            "GET STATUS with unknown scope {:02X}",
            outcome.command.p1()
        ))
    })?;
    let parse = if outcome.command.p2() & 0x02 != 0 {
        registry::parse_e3
    } else {
        registry::parse_legacy
    };
    parse(scope, &outcome.data).map_err(|e| GpError::Protocol(e.to_string()))
}

/// [`GpError::Incompatible`] when the report has findings and `force` is off.
pub fn refuse_unless_forced(cap: &Cap, report: &Report, force: bool) -> Result<(), GpError> {
    if report.ok() || force {
        return Ok(());
    }
    let package = plan::package_aid(cap)
        .map(|a| format!("the package {}", hex::encode_upper(a)))
        .unwrap_or_else(|_| "the CAP".into());
    Err(GpError::Incompatible {
        package,
        report: Box::new(report.clone()),
    })
}

/// A failed INSTALL [for load], LOAD or INSTALL [for install] with its
/// status word explained by what the checks before LOAD found; other
/// errors unchanged.
pub fn explain_with(report: &Report, e: GpError) -> GpError {
    match e {
        GpError::Status { kind, sw, message }
            if matches!(
                kind,
                CommandKind::InstallForLoad | CommandKind::Load | CommandKind::InstallForInstall
            ) =>
        {
            let why = report.explain_failure(kind, sw);
            GpError::Status {
                kind,
                sw,
                message: format!("{message}. {why}"),
            }
        }
        GpError::InstallFailed { cause, cleanup } => GpError::InstallFailed {
            cause: Box::new(explain_with(report, *cause)),
            cleanup,
        },
        other => other,
    }
}

/// Whether the session is to open by SCP02 implicit initiation: one of the
/// implicit SCP02 "i" values (0A, 0B, 1A, 1B: bit 04 clear), and no SCP03
/// asked for. Other values without bit 04 (an SCP03 "i" such as 10 or 70
/// given where the protocol is left to the card) open explicitly, as
/// before implicit initiation existed.
fn is_implicit(options: &ChannelOptions, config: &HostConfig) -> bool {
    options.expect_scp != Some(3)
        && matches!(config.scp02_i, 0x0A | 0x0B | 0x1A | 0x1B)
        && Protocol::Scp02 { i: config.scp02_i }.is_implicit()
}

/// What a MANAGE CHANNEL status word means (ISO/IEC 7816-4 11.1.2), for
/// opening (`open`) or closing.
fn manage_channel_meaning(sw: u16, open: bool) -> String {
    match (sw, open) {
        (0x6881, _) => "logical channel not supported: the card has fewer logical channels, \
                        or none beside the basic one"
            .into(),
        (0x6A81, true) => "function not supported: no free logical channel is left, \
                           or the card offers no supplementary channels"
            .into(),
        (0x6A81, false) => "function not supported: this channel cannot be closed".into(),
        (0x6A86 | 0x6B00, true) => "wrong P1/P2: the channel number is beyond the card's \
                                    logical channels, or that channel is already open"
            .into(),
        (0x6200, false) => "warning: the channel was not open".into(),
        (0x6D00 | 0x6E00, _) => {
            "the card has no MANAGE CHANNEL: it offers the basic channel only".into()
        }
        (0x6C01, true) => "wrong Le: the card returns one byte, the channel number".into(),
        (sw, _) => explain(CommandKind::Other, sw),
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
    if v.len() > 4 {
        return None;
    }
    Some(v.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))).filter(|n| *n > 0)
}
