//! [`TestCard`]: a card for tests — an emulated one in this process, or any
//! card behind a loader transport — with the few operations a regression
//! test needs: install a CAP, select, send APDUs, reset.
//!
//! Installs go through the real host side (the loader's `GpClient`, an
//! SCP03 or SCP02 secure channel, the loader's plans) into the real card
//! manager, exactly as `jct install` does, so a test exercises what a user
//! will run, not a shortcut into the card's state.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use cap_tools::Cap;
use emulator::{Card, CardError, CardProfile};
use gp::apdu::CommandApdu;
use loader::client::{ChannelOptions, GpClient, GpError};
use loader::plan::{InstallOptions, LoadOptions};
use loader::transport::{Transport, TransportError};
use scp::keys::{Key, StaticKeys};
use scp::{OsRng, SecurityLevel, SessionInfo};

use crate::in_process::{self, InProcess, SharedCard};
use crate::seeded::SeededRandom;

/// Why an operation on a [`TestCard`] failed. A status word the card
/// answers to a plain APDU is not an error (it is in the [`Response`]);
/// errors are what stops a test: an unreachable card, a failed install, a
/// secure channel that does not open.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Gp(#[from] GpError),
    #[error("making the emulated card: {0}")]
    Card(#[from] CardError),
    #[error("cannot read CAP {path}: {source}")]
    Cap {
        path: PathBuf,
        source: cap_tools::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// A response APDU: the data and the status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Response {
    /// Splits raw response bytes (data, then SW1 SW2).
    pub fn from_raw(raw: &[u8]) -> Result<Response, Error> {
        match raw.len().checked_sub(2) {
            Some(n) => Ok(Response {
                data: raw[..n].to_vec(),
                sw: u16::from_be_bytes([raw[n], raw[n + 1]]),
            }),
            None => Err(Error::Invalid(format!(
                "a response needs at least SW1 SW2, the card sent {} byte(s)",
                raw.len()
            ))),
        }
    }

    /// Whether the status word is 9000.
    pub fn is_ok(&self) -> bool {
        self.sw == 0x9000
    }

    /// The data as upper-case hex.
    pub fn data_hex(&self) -> String {
        hex::encode_upper(&self.data)
    }
}

impl std::fmt::Display for Response {
    /// As trace files write it: data then SW, in hex.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:04X}", self.data_hex(), self.sw)
    }
}

/// How to make an emulated card: profile, factory keys, randomness,
/// optional state file. The defaults are those of `jct emu`: ISD
/// A000000151000000, SCP03 with the GlobalPlatform test key 404142…4F
/// (key version 01), Java Card API 3.0.5, state held in memory.
#[derive(Debug, Clone)]
pub struct EmulatedCard {
    profile: CardProfile,
    scp02: bool,
    seed: Option<u64>,
    state_file: Option<PathBuf>,
}

impl Default for EmulatedCard {
    fn default() -> Self {
        EmulatedCard::new()
    }
}

impl EmulatedCard {
    /// The defaults above.
    pub fn new() -> EmulatedCard {
        EmulatedCard {
            profile: CardProfile::default(),
            scp02: false,
            seed: None,
            state_file: None,
        }
    }

    /// Another card profile (API version, ISD AID, limits, ...).
    pub fn profile(mut self, profile: CardProfile) -> EmulatedCard {
        self.profile = profile;
        self
    }

    /// A 3DES key set, so the card speaks SCP02 (with the profile's "i").
    pub fn scp02(mut self) -> EmulatedCard {
        self.scp02 = true;
        self
    }

    /// Draws the card's serial number and challenges from a seeded stream,
    /// so that every run sees the same card responses.
    pub fn seed(mut self, seed: u64) -> EmulatedCard {
        self.seed = Some(seed);
        self
    }

    /// Keeps the card in a state file (created when missing).
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> EmulatedCard {
        self.state_file = Some(path.into());
        self
    }

    /// The factory keys: the test key, typed for the protocol.
    fn keys(&self) -> Result<StaticKeys, Error> {
        let key = if self.scp02 {
            Key::des3(&emulator::TEST_KEY)
        } else {
            Key::aes(&emulator::TEST_KEY)
        }
        .map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(StaticKeys::single(key, emulator::DEFAULT_KEY_VERSION))
    }

    /// Makes the card, powers it and wraps it in a [`TestCard`] whose
    /// secure channels use the same test keys at C-MAC + C-ENC.
    pub fn build(self) -> Result<TestCard, Error> {
        let keys = self.keys()?;
        let host_keys = self.keys()?;
        let rng: Box<dyn scp::ChallengeSource + Send> = match self.seed {
            Some(s) => Box::new(SeededRandom::new(s)),
            None => Box::new(OsRng),
        };
        let card = match &self.state_file {
            Some(path) => Card::open_with_rng(path, self.profile, keys, rng)?,
            None => Card::with_rng(self.profile, keys, rng)?,
        };
        let shared: SharedCard = Arc::new(Mutex::new(card));
        let transport = InProcess::shared(Arc::clone(&shared));
        let mut options = ChannelOptions::new(host_keys);
        options.security_level = SecurityLevel::C_MAC_C_ENC;
        let mut card = TestCard::over(Box::new(transport), options);
        card.emulated = Some(shared);
        Ok(card)
    }
}

/// A card under test. See the crate documentation for an example.
pub struct TestCard {
    client: GpClient,
    channel: ChannelOptions,
    security_domain: Option<Vec<u8>>,
    recorded_challenge: Option<[u8; 8]>,
    emulated: Option<SharedCard>,
    get_response: bool,
}

impl TestCard {
    /// A fresh emulated card with the defaults of [`EmulatedCard`].
    pub fn emulated() -> Result<TestCard, Error> {
        EmulatedCard::new().build()
    }

    /// Any card behind a transport (a reader, `jct emu` over TCP, a
    /// replayed trace); `channel` says how secure channels are opened for
    /// installs and [`TestCard::open_secure_channel`].
    pub fn over(transport: Box<dyn Transport>, channel: ChannelOptions) -> TestCard {
        TestCard::with_client(GpClient::over(transport), channel)
    }

    /// As [`TestCard::over`] with a client the caller set up (observers
    /// for traces, a channel with a wire observer).
    pub fn with_client(client: GpClient, channel: ChannelOptions) -> TestCard {
        TestCard {
            client,
            channel,
            security_domain: None,
            recorded_challenge: None,
            emulated: None,
            get_response: true,
        }
    }

    /// The security domain to authenticate with; `None` (the default)
    /// tries GlobalPlatform's usual ISD AIDs in turn.
    pub fn set_security_domain(&mut self, aid: Option<Vec<u8>>) {
        self.security_domain = aid;
    }

    /// The security level of installs and of `secure` without a level
    /// (C-MAC + C-ENC for an emulated card unless changed).
    pub fn set_default_level(&mut self, level: SecurityLevel) {
        self.channel.security_level = level;
    }

    /// The host challenge of a recorded trace, for replaying it: the next
    /// secure channel opens with it instead of a fresh random one (a
    /// replay must repeat the recorded commands byte for byte). Used once.
    pub fn use_recorded_host_challenge(&mut self, challenge: [u8; 8]) {
        self.recorded_challenge = Some(challenge);
    }

    /// Whether 61xx and 6Cxx answers to plain commands are followed up
    /// (GET RESPONSE, re-issue with the right Le) before the response is
    /// returned — on by default. Off, a test sees the card's first answer
    /// exactly, e.g. to check an applet's T=0 behaviour. Commands inside a
    /// secure channel are always followed up: the MAC covers the whole
    /// response.
    pub fn set_get_response(&mut self, follow: bool) {
        self.get_response = follow;
    }

    /// The emulated card, to look at its state, when this is one.
    pub fn emulator(&self) -> Option<MutexGuard<'_, Card>> {
        self.emulated.as_ref().map(in_process::lock)
    }

    /// The loader's client below, for what this API does not cover.
    pub fn client_mut(&mut self) -> &mut GpClient {
        &mut self.client
    }

    /// Whether a secure channel is open (its commands are wrapped).
    pub fn secure_channel(&self) -> Option<&SessionInfo> {
        self.client.session()
    }

    /// Sends one command APDU, wrapped when a secure channel is open, and
    /// returns the response whatever its status word.
    pub fn send(&mut self, apdu: &[u8]) -> Result<Response, Error> {
        if self.client.session().is_some() {
            let command = CommandApdu::parse(apdu).map_err(|e| {
                Error::Invalid(format!(
                    "{} cannot be sent in the secure channel: {e}",
                    hex::encode_upper(apdu)
                ))
            })?;
            let r = self.client.transmit(&command)?;
            return Ok(Response {
                data: r.data,
                sw: r.sw,
            });
        }
        let raw = if self.get_response {
            self.client.channel_mut().transmit(apdu)?
        } else {
            if apdu.len() < 4 {
                return Err(Error::Invalid(format!(
                    "{} is shorter than the 4-byte header CLA INS P1 P2",
                    hex::encode_upper(apdu)
                )));
            }
            self.client.channel_mut().inner_mut().transmit(apdu)?
        };
        Response::from_raw(&raw)
    }

    /// [`TestCard::send`] of an APDU in hex (spaces allowed).
    pub fn send_hex(&mut self, apdu: &str) -> Result<Response, Error> {
        let clean: String = apdu.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = hex::decode(&clean)
            .map_err(|e| Error::Invalid(format!("APDU '{apdu}' is not hex: {e}")))?;
        self.send(&bytes)
    }

    /// SELECT by AID (`00 A4 04 00 Lc AID 00`), sent plain: selecting
    /// ends any secure channel, on the card and here.
    pub fn select(&mut self, aid: &[u8]) -> Result<Response, Error> {
        let command =
            gp::commands::select(aid, false).map_err(|e| Error::Invalid(e.to_string()))?;
        self.client.forget_secure_channel();
        self.send(&command.to_bytes())
    }

    /// Selects the security domain and opens a secure channel with it at
    /// `level` (or the level this card was made with).
    pub fn open_secure_channel(
        &mut self,
        level: Option<SecurityLevel>,
    ) -> Result<SessionInfo, Error> {
        self.client.forget_secure_channel();
        self.client
            .select_security_domain(self.security_domain.as_deref())?;
        let mut options = self.channel.clone();
        if let Some(level) = level {
            options.security_level = level;
        }
        let info = match self.recorded_challenge.take() {
            Some(c) => {
                loader::danger::open_secure_channel_with_challenge(&mut self.client, &options, c)?
            }
            None => self.client.open_secure_channel(&options)?,
        };
        Ok(info)
    }

    /// Loads and installs a CAP the way `jct install` does: a secure
    /// channel with the security domain, INSTALL [for load], the LOAD
    /// blocks, INSTALL [for install and make selectable] (the package
    /// deleted again if that fails). Afterwards the security domain is
    /// selected and no secure channel is open. Returns the instance AIDs.
    pub fn install(&mut self, cap: &Cap, options: &InstallOptions) -> Result<Vec<Vec<u8>>, Error> {
        self.open_secure_channel(None)?;
        let created = self.client.install(
            cap,
            Some(&LoadOptions::default()),
            options,
            false,
            &mut |_| {},
        );
        // Whatever happened, leave a clean card: the SD selected, no
        // session on either side (SELECT closes the card's).
        let sd = self.client.selected().map(<[u8]>::to_vec);
        self.client.forget_secure_channel();
        let reselect = match &sd {
            Some(sd) => self.client.select(sd).map(|_| ()),
            None => Ok(()),
        };
        // The install's own error is the one worth reporting.
        let created = created?;
        reselect?;
        Ok(created)
    }

    /// [`TestCard::install`] of a CAP file (a `.cap` JAR or a load file).
    pub fn install_file(
        &mut self,
        path: impl AsRef<Path>,
        options: &InstallOptions,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let path = path.as_ref();
        let cap = Cap::from_path(path).map_err(|source| Error::Cap {
            path: path.to_path_buf(),
            source,
        })?;
        self.install(&cap, options)
    }

    /// A warm reset; returns the ATR. Any secure channel is gone.
    pub fn reset(&mut self) -> Result<Vec<u8>, Error> {
        self.client.forget_secure_channel();
        Ok(self.client.channel_mut().inner_mut().reset()?)
    }

    /// Power off, then on; returns the ATR. An emulated card really loses
    /// power (its transient state is lost as at a cold reset); for other
    /// transports, which can only ask for a reset, this is
    /// [`TestCard::reset`].
    pub fn power_cycle(&mut self) -> Result<Vec<u8>, Error> {
        if let Some(card) = &self.emulated {
            in_process::lock(card).power_off();
        }
        self.reset()
    }
}
