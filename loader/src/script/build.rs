//! The key holder's side: from what is to be done on a card (install a
//! CAP, delete, put key, STORE DATA, raw commands) and the keys, the
//! secured script for one card, without talking to it.
//!
//! Offline, the session is computed in full: the card's challenge is
//! predictable (SCP03 "i" bit 10, SCP02 "i" bit 40), so the expected
//! INITIALIZE UPDATE response comes from the card's identity, its sequence
//! counter and the keys, through the very card-side code of the `scp`
//! crate that the emulator runs. Online, the card's INITIALIZE UPDATE
//! response (relayed by the client) opens the session instead; its card
//! cryptogram is checked before anything is signed.
//!
//! Either way every command is wrapped in order by the host side of the
//! secure channel, so each C-MAC chains on the one before, exactly as in a
//! live session.

use std::sync::{Arc, Mutex};

use cap_tools::Cap;
use gp::apdu::CommandApdu;
use gp::sw::CommandKind;
use scp::keys::{KeyProvider, StaticKeys};
use scp::{
    CardConfig, ChallengeSource, FixedChallenges, HostConfig, Protocol, SecureChannel,
    SecurityLevel,
};
use serde::{Deserialize, Serialize};

use super::packet::{Body, CardIdentity, Command, Header, Hex, Mode, Rollback, Session, SwPattern};
use super::ScriptError;
use crate::plan::{self, InstallOptions, LoadOptions, Plan, Step};

/// One card as the key holder knows it: a line of a batch file, or what
/// `jct script identify` read from the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardRecord {
    #[serde(flatten)]
    pub identity: CardIdentity,
    /// The security domain to open the session with.
    pub security_domain: Hex,
    /// Key version number of the card's key set.
    pub key_version: u8,
    /// 2 or 3.
    pub scp: u8,
    /// "i", as a number (0x70 = 112) or a hex string ("70").
    #[serde(with = "super::packet::hex_byte")]
    pub i: u8,
    /// The sequence counter the card's next session will use (GET DATA C1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_counter: Option<u32>,
    /// Largest command data field the card takes (9F65); 255 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_command_data: Option<usize>,
}

impl CardRecord {
    /// The protocol the record names.
    pub fn protocol(&self) -> Result<Protocol, ScriptError> {
        match self.scp {
            2 => Ok(Protocol::Scp02 { i: self.i }),
            3 => Ok(Protocol::Scp03 { i: self.i }),
            n => Err(ScriptError::Build(format!("scp must be 2 or 3, got {n}"))),
        }
    }

    /// The key diversification data as an array.
    pub fn kdd(&self) -> Result<[u8; 10], ScriptError> {
        self.identity.kdd.0.as_slice().try_into().map_err(|_| {
            ScriptError::Build(format!(
                "key diversification data must be 10 bytes, got {}",
                self.identity.kdd.0.len()
            ))
        })
    }

    /// Reads a batch file: a JSON array of records, or one record per line
    /// (JSON Lines, blank lines and `#` comments skipped).
    pub fn parse_batch(text: &str) -> Result<Vec<CardRecord>, ScriptError> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            return serde_json::from_str(trimmed)
                .map_err(|e| ScriptError::Build(format!("batch file: {e}")));
        }
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(
                serde_json::from_str(line)
                    .map_err(|e| ScriptError::Build(format!("batch file line {}: {e}", n + 1)))?,
            );
        }
        Ok(out)
    }
}

/// One thing a script does.
#[derive(Clone)]
pub enum Operation {
    /// INSTALL [for load], LOAD blocks and INSTALL [for install and make
    /// selectable]; `install = None` loads only. The load options are
    /// boxed: they are by far the largest part of an operation.
    Install {
        cap: Arc<Cap>,
        load: Box<LoadOptions>,
        install: Option<InstallOptions>,
    },
    /// DELETE of an AID.
    Delete { aid: Vec<u8>, related: bool },
    /// PUT KEY of a key set (encrypted under the session's DEK).
    PutKey {
        keys: StaticKeys,
        replace: Option<u8>,
    },
    /// STORE DATA of personalization blocks.
    StoreData { blocks: Vec<Vec<u8>>, p1: u8 },
    /// Any command, with the status words it may answer.
    Raw {
        command: CommandApdu,
        accept: Vec<SwPattern>,
    },
}

impl core::fmt::Debug for Operation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Operation {
    /// In words, for the header's description.
    pub fn describe(&self) -> String {
        match self {
            Operation::Install { cap, install, .. } => {
                let aid = plan::package_aid(cap)
                    .map(hex::encode_upper)
                    .unwrap_or_default();
                if install.is_some() {
                    format!("install {aid}")
                } else {
                    format!("load {aid}")
                }
            }
            Operation::Delete { aid, .. } => format!("delete {}", hex::encode_upper(aid)),
            Operation::PutKey { keys, .. } => format!("put key set {:02X}", keys.version),
            Operation::StoreData { blocks, .. } => format!("store data ({} blocks)", blocks.len()),
            Operation::Raw { command, .. } => {
                let [cla, ins, p1, p2] = command.header();
                format!("command {cla:02X}{ins:02X}{p1:02X}{p2:02X}")
            }
        }
    }
}

/// What a key holder builds scripts with.
#[derive(Clone)]
pub struct Builder {
    /// The card keys, or master keys with their diversification.
    pub keys: Arc<dyn KeyProvider>,
    /// Security level of the sessions.
    pub level: SecurityLevel,
    /// Seconds a script stays valid after it is built.
    pub validity: u64,
    /// A description for the header; `None` = from the operations.
    pub description: Option<String>,
    /// What the scripts do, in order (fixed at construction: the plans
    /// made from them are kept for the next card).
    operations: Arc<Vec<Operation>>,
    /// The plain plans of the installs, per operation, block size and
    /// security domain: a batch of cards shares them, so the load file is
    /// built once, not once per card.
    plans: Arc<Mutex<Vec<CachedPlan>>>,
}

struct CachedPlan {
    operation: usize,
    block: usize,
    security_domain: Vec<u8>,
    plan: Arc<Plan>,
}

/// Plans kept at most (distinct block sizes and security domains).
const MAX_CACHED_PLANS: usize = 16;

impl Builder {
    /// A builder for `operations` with `keys` at `level`, scripts valid for
    /// `validity` seconds.
    pub fn new(
        keys: Arc<dyn KeyProvider>,
        level: SecurityLevel,
        validity: u64,
        operations: Vec<Operation>,
    ) -> Builder {
        Builder {
            keys,
            level,
            validity,
            description: None,
            operations: Arc::new(operations),
            plans: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// With this description in the headers.
    pub fn with_description(mut self, description: impl Into<String>) -> Builder {
        self.description = Some(description.into());
        self
    }

    /// The operations, in order.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The plain plan of install operation `index` (cached).
    fn install_plan(
        &self,
        index: usize,
        cap: &Cap,
        load: &LoadOptions,
        install: Option<&InstallOptions>,
        sd: &[u8],
        block: usize,
    ) -> Result<Arc<Plan>, ScriptError> {
        {
            let cache = self
                .plans
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(c) = cache
                .iter()
                .find(|c| c.operation == index && c.block == block && c.security_domain == sd)
            {
                return Ok(Arc::clone(&c.plan));
            }
        }
        let loaded = plan::load(cap, load, sd, block)?;
        let plan = Arc::new(match install {
            Some(options) if !(plan::is_library(cap) && options.applet.is_none()) => {
                loaded.then(plan::install(cap, options)?)
            }
            _ => loaded,
        });
        let mut cache = self
            .plans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_PLANS {
            cache.remove(0);
        }
        cache.push(CachedPlan {
            operation: index,
            block,
            security_domain: sd.to_vec(),
            plan: Arc::clone(&plan),
        });
        Ok(plan)
    }
}

/// LOAD data bytes per block after secure messaging overhead: the MAC (8
/// bytes) and, with C-ENC, padding to the cipher block (at least one byte).
pub fn block_size(max_command_data: usize, protocol: Protocol, level: SecurityLevel) -> usize {
    let max = max_command_data.min(crate::client::DEFAULT_MAX_COMMAND_DATA);
    if !level.c_mac() {
        return max.max(1);
    }
    let mut room = max.saturating_sub(8);
    if level.c_enc() {
        let cipher_block = match protocol {
            Protocol::Scp02 { .. } => 8,
            Protocol::Scp03 { .. } => 16,
        };
        room = (room / cipher_block) * cipher_block;
        room = room.saturating_sub(1);
    }
    room.max(1)
}

/// The expected INITIALIZE UPDATE response of a card with a predictable
/// challenge: the card side's own computation, with no randomness to draw
/// (a card that needed some would not be predictable).
pub fn predict_initialize_update(
    keys: &Arc<dyn KeyProvider>,
    card: &CardRecord,
    sequence_counter: u32,
    command: &[u8],
) -> Result<Vec<u8>, ScriptError> {
    let protocol = card.protocol()?;
    if !protocol.pseudo_random_challenge() {
        return Err(ScriptError::Build(format!(
            "{protocol}: the card's challenge is random, so a script cannot be built offline \
             (offline needs SCP03 with \"i\" bit 10 or SCP02 with \"i\" bit 40, e.g. SCP03 i=70 \
             or SCP02 i=55); build it online"
        )));
    }
    let config = CardConfig {
        keys: Arc::clone(keys),
        protocol,
        kdd: card.kdd()?,
        sequence_counter,
        aid: card.security_domain.0.clone(),
    };
    let (_, response) = scp::initialize_update(&config, command, &mut FixedChallenges::new([]))
        .map_err(|e| ScriptError::Build(format!("predicting INITIALIZE UPDATE: {e}")))?;
    Ok(response)
}

/// A session as the host opens it, from the card's answer.
fn open_host(
    builder: &Builder,
    card: &CardRecord,
    host_challenge: [u8; 8],
    response: &[u8],
    check_pseudo: bool,
) -> Result<(Session, SecureChannel), ScriptError> {
    let protocol = card.protocol()?;
    let mut config = HostConfig::new(Arc::clone(&builder.keys));
    config.security_level = builder.level;
    config.scp02_i = card.i;
    config.expect_scp = Some(card.scp);
    if check_pseudo {
        config.check_challenge_aid = Some(card.security_domain.0.clone());
    }
    let hello = scp::danger::begin_with_challenge(config, host_challenge);
    let initialize_update = hello.command().to_vec();
    let auth = hello
        .on_init_update_response(response)
        .map_err(|e| ScriptError::Build(format!("{protocol}: {e}")))?;
    let external_authenticate = auth.command().to_vec();
    let channel = auth
        .on_external_authenticate_response(&[0x90, 0x00])
        .map_err(|e| ScriptError::Build(e.to_string()))?;
    Ok((
        Session {
            initialize_update: Hex(initialize_update),
            expected_response: Hex(response.to_vec()),
            external_authenticate: Hex(external_authenticate),
        },
        channel,
    ))
}

/// The plain steps of the operations, and where the card starts holding
/// something of the script (the first LOAD), with the rollback's steps.
struct Planned {
    steps: Vec<Planned1>,
    rollback_from: Option<usize>,
    rollback: Vec<Planned1>,
}

/// A plain step, with the status word patterns of a raw command (whose
/// accepted answers may have wildcards, which a plan step cannot say).
type Planned1 = (Step, Option<Vec<SwPattern>>);

impl Builder {
    fn description(&self) -> String {
        self.description.clone().unwrap_or_else(|| {
            self.operations
                .iter()
                .map(Operation::describe)
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// This builder with the keys set to the card's key version.
    fn for_card(&self, card: &CardRecord) -> Result<Builder, ScriptError> {
        let mut b = self.clone();
        b.keys = with_card_version(&self.keys, card.key_version)?;
        Ok(b)
    }

    fn plan(&self, card: &CardRecord, channel: &SecureChannel) -> Result<Planned, ScriptError> {
        let protocol = card.protocol()?;
        let block = block_size(
            card.max_command_data
                .unwrap_or(crate::client::DEFAULT_MAX_COMMAND_DATA),
            protocol,
            self.level,
        );
        let sd = &card.security_domain.0;
        let mut steps: Vec<Planned1> = Vec::new();
        let mut rollback_from = None;
        let mut rollback = Vec::new();
        for (index, op) in self.operations.iter().enumerate() {
            let p: Plan = match op {
                Operation::Install { cap, load, install } => {
                    // The first LOAD: from there on the card may hold part
                    // of the package.
                    rollback_from.get_or_insert(steps.len() + 1);
                    let mut delete = plan::delete(&plan::package_aid(cap)?, true)?;
                    for s in &mut delete.steps {
                        // Nothing to delete is as good as deleted.
                        s.accept.push(0x6A88);
                    }
                    rollback.extend(delete.steps.into_iter().map(|s| (s, None)));
                    let plan = self.install_plan(index, cap, load, install.as_ref(), sd, block)?;
                    steps.extend(plan.steps.iter().cloned().map(|s| (s, None)));
                    continue;
                }
                Operation::Delete { aid, related } => {
                    // Nothing to delete is as good as deleted: a script
                    // that clears the way before an install works on a
                    // card where the way is clear already.
                    let mut p = plan::delete(aid, *related)?;
                    for s in &mut p.steps {
                        s.accept.push(0x6A88);
                    }
                    p
                }
                Operation::PutKey { keys, replace } => {
                    let (data, _) = crate::client::put_key_data(keys, channel)
                        .map_err(|e| ScriptError::Build(format!("PUT KEY: {e}")))?;
                    plan::put_key(&data, *replace)?
                }
                Operation::StoreData { blocks, p1 } => plan::store_data(blocks, *p1)?,
                Operation::Raw { command, accept } => {
                    let mut step = Step::ok(CommandKind::Other, command.clone());
                    step.accept.clear();
                    steps.push((step, Some(accept.clone())));
                    continue;
                }
            };
            steps.extend(p.steps.into_iter().map(|s| (s, None)));
        }
        Ok(Planned {
            steps,
            rollback_from,
            rollback,
        })
    }

    fn wrap_steps(
        channel: &mut SecureChannel,
        steps: &[Planned1],
    ) -> Result<Vec<Command>, ScriptError> {
        let mut out = Vec::with_capacity(steps.len());
        for (step, patterns) in steps {
            if step.more.is_some() || step.otherwise.is_some() {
                return Err(ScriptError::Build(format!(
                    "{}: a step that pages or falls back cannot go in a script",
                    step.kind.name()
                )));
            }
            let apdu = channel
                .wrap_apdu(&step.command)
                .map_err(|e| ScriptError::Build(format!("{}: {e}", step.kind.name())))?;
            let accept = match patterns {
                Some(p) => p.clone(),
                None => step.accept.iter().map(|&sw| SwPattern::exact(sw)).collect(),
            };
            out.push(Command {
                kind: step.kind.name().to_string(),
                apdu: Hex(apdu),
                accept,
            });
        }
        Ok(out)
    }

    fn header(
        &self,
        mode: Mode,
        card: &CardRecord,
        sequence_counter: Option<u32>,
        now: u64,
    ) -> Header {
        Header {
            mode,
            card: card.identity.clone(),
            security_domain: card.security_domain.clone(),
            key_version: card.key_version,
            scp: card.scp,
            i: card.i,
            security_level: self.level.byte(),
            sequence_counter,
            created: now,
            expires: now.saturating_add(self.validity),
            description: self.description(),
        }
    }

    /// The offline script for one card, at the card's sequence counter,
    /// with host challenges from `rng`.
    pub fn build_offline(
        &self,
        card: &CardRecord,
        now: u64,
        rng: &mut dyn ChallengeSource,
    ) -> Result<Body, ScriptError> {
        let this = self.for_card(card)?;
        let counter = card.sequence_counter.ok_or_else(|| {
            ScriptError::Build(
                "an offline script needs the card's sequence counter (GET DATA C1)".into(),
            )
        })?;
        let (session, mut channel) = this.offline_session(card, counter, rng)?;
        let planned = this.plan(card, &channel)?;
        let commands = Self::wrap_steps(&mut channel, &planned.steps)?;
        let rollback = match planned.rollback_from {
            Some(from) => {
                // The rollback's session is the next one: SCP03 counts the
                // INITIALIZE UPDATE of the script's session, SCP02 its
                // successful EXTERNAL AUTHENTICATE.
                let next = counter.checked_add(1).ok_or_else(|| {
                    ScriptError::Build("the sequence counter is exhausted".into())
                })?;
                let (session, mut channel) = this.offline_session(card, next, rng)?;
                let commands = Self::wrap_steps(&mut channel, &planned.rollback)?;
                Some(Rollback {
                    from,
                    session: Some(session),
                    commands,
                    wrapped: true,
                })
            }
            None => None,
        };
        Ok(Body {
            header: this.header(Mode::Offline, card, Some(counter), now),
            session,
            commands,
            rollback,
        })
    }

    fn offline_session(
        &self,
        card: &CardRecord,
        counter: u32,
        rng: &mut dyn ChallengeSource,
    ) -> Result<(Session, SecureChannel), ScriptError> {
        let mut host_challenge = [0u8; 8];
        rng.fill(&mut host_challenge)
            .map_err(|e| ScriptError::Build(format!("host challenge: {e}")))?;
        let command = scp::initialize_update_command(card.key_version, &host_challenge).to_bytes();
        let response = predict_initialize_update(&self.keys, card, counter, &command)?;
        open_host(self, card, host_challenge, &response, true)
    }

    /// The online script: the session opened by the card's answer to the
    /// client's INITIALIZE UPDATE. The card cryptogram is checked first,
    /// so nothing is signed for a card that does not hold the keys.
    pub fn build_online(
        &self,
        card: &CardRecord,
        initialize_update: &[u8],
        response: &[u8],
        now: u64,
    ) -> Result<Body, ScriptError> {
        let this = self.for_card(card)?;
        let (host_challenge, hello) = parse_exchange(card, initialize_update, response)?;
        let mut card = card.clone();
        card.identity.kdd = Hex(hello.kdd.to_vec());
        let (mut session, mut channel) = open_host(&this, &card, host_challenge, response, false)?;
        // The client's command (P1 00 asks for the default key set) is the
        // one the card answered.
        session.initialize_update = Hex(initialize_update.to_vec());
        let planned = this.plan(&card, &channel)?;
        let commands = Self::wrap_steps(&mut channel, &planned.steps)?;
        let rollback = planned.rollback_from.map(|from| Rollback {
            from,
            session: None,
            commands: planned
                .rollback
                .iter()
                .map(|(s, _)| Command {
                    kind: s.kind.name().to_string(),
                    apdu: Hex(s.command.to_bytes()),
                    accept: s.accept.iter().map(|&sw| SwPattern::exact(sw)).collect(),
                })
                .collect(),
            wrapped: false,
        });
        let counter = scp::InitUpdateResponse::parse(&response[..response.len() - 2])
            .ok()
            .and_then(|h| match h.challenge {
                scp::CardChallenge::Scp02 {
                    sequence_counter, ..
                } => Some(u32::from(u16::from_be_bytes(sequence_counter))),
                scp::CardChallenge::Scp03 {
                    sequence_counter, ..
                } => sequence_counter.map(|[a, b, c]| u32::from_be_bytes([0, a, b, c])),
            });
        Ok(Body {
            header: this.header(Mode::Online, &card, counter, now),
            session,
            commands,
            rollback,
        })
    }

    /// An online rollback: the plain rollback commands of a script this
    /// key holder signed, wrapped for a fresh session the client opened.
    pub fn build_online_rollback(
        &self,
        script: &Body,
        initialize_update: &[u8],
        response: &[u8],
        now: u64,
    ) -> Result<Body, ScriptError> {
        let rollback = script
            .rollback
            .as_ref()
            .ok_or_else(|| ScriptError::Build("the script has no rollback".into()))?;
        if rollback.wrapped {
            return Err(ScriptError::Build(
                "an offline script carries its rollback already".into(),
            ));
        }
        let h = &script.header;
        let card = CardRecord {
            identity: h.card.clone(),
            security_domain: h.security_domain.clone(),
            key_version: h.key_version,
            scp: h.scp,
            i: h.i,
            sequence_counter: None,
            max_command_data: None,
        };
        let this = self.for_card(&card)?;
        let (host_challenge, hello) = parse_exchange(&card, initialize_update, response)?;
        if hello.kdd[..] != h.card.kdd.0[..] {
            return Err(ScriptError::Build(
                "the rollback session is with another card than the script's".into(),
            ));
        }
        let (mut session, mut channel) = open_host(&this, &card, host_challenge, response, false)?;
        session.initialize_update = Hex(initialize_update.to_vec());
        let mut steps = Vec::new();
        for c in &rollback.commands {
            let command = CommandApdu::parse(&c.apdu.0)
                .map_err(|e| ScriptError::Build(format!("rollback command: {e}")))?;
            let mut step = Step::ok(CommandKind::Delete, command);
            step.accept.clear();
            steps.push((step, Some(c.accept.clone())));
        }
        let commands = Self::wrap_steps(&mut channel, &steps)?;
        let mut header = h.clone();
        header.created = now;
        header.expires = now.saturating_add(this.validity);
        header.description = format!("rollback of: {}", h.description);
        Ok(Body {
            header,
            session,
            commands,
            rollback: None,
        })
    }
}

/// The host challenge of the client's INITIALIZE UPDATE and the card's
/// parsed answer, checked against the card's record.
fn parse_exchange(
    card: &CardRecord,
    initialize_update: &[u8],
    response: &[u8],
) -> Result<([u8; 8], scp::InitUpdateResponse), ScriptError> {
    let bad = |m: String| ScriptError::Build(m);
    let command = CommandApdu::parse(initialize_update)
        .map_err(|e| bad(format!("INITIALIZE UPDATE: {e}")))?;
    if command.cla() != 0x80 || command.ins() != 0x50 {
        return Err(bad("the first command is not INITIALIZE UPDATE".into()));
    }
    if command.p1() != 0 && command.p1() != card.key_version {
        return Err(bad(format!(
            "INITIALIZE UPDATE asks for key version {:02X}, the card's is {:02X}",
            command.p1(),
            card.key_version
        )));
    }
    let host_challenge: [u8; 8] = command
        .data()
        .try_into()
        .map_err(|_| bad("INITIALIZE UPDATE must carry an 8-byte host challenge".into()))?;
    if response.len() < 2 || response[response.len() - 2..] != [0x90, 0x00] {
        return Err(bad(format!(
            "the card did not accept INITIALIZE UPDATE ({})",
            hex::encode_upper(response)
        )));
    }
    let hello = scp::InitUpdateResponse::parse(&response[..response.len() - 2])
        .map_err(|e| bad(e.to_string()))?;
    if hello.scp() != card.scp {
        return Err(bad(format!(
            "the card answered SCP{:02X}, the record says SCP{:02X}",
            hello.scp(),
            card.scp
        )));
    }
    Ok((host_challenge, hello))
}

/// A key provider whose key version is the card's: the keys given with
/// version 0 ("the card's default") take the version the card's record
/// states, so the predicted INITIALIZE UPDATE names the right key set.
struct Versioned {
    inner: Arc<dyn KeyProvider>,
    version: u8,
}

/// `keys` with the card's key version: refused when `keys` name another.
pub fn with_card_version(
    keys: &Arc<dyn KeyProvider>,
    version: u8,
) -> Result<Arc<dyn KeyProvider>, ScriptError> {
    match keys.key_version() {
        v if v == version => Ok(Arc::clone(keys)),
        0 => Ok(Arc::new(Versioned {
            inner: Arc::clone(keys),
            version,
        })),
        v => Err(ScriptError::Build(format!(
            "the keys are key version {v:02X} but the card's key set is {version:02X}"
        ))),
    }
}

impl KeyProvider for Versioned {
    fn key_version(&self) -> u8 {
        self.version
    }

    fn scp02_session_keys(
        &self,
        key: &scp::keys::KeyContext,
        i: u8,
        sequence_counter: [u8; 2],
    ) -> Result<scp::scp02::SessionKeys, scp::ScpError> {
        self.inner.scp02_session_keys(key, i, sequence_counter)
    }

    fn scp03_session_keys(
        &self,
        key: &scp::keys::KeyContext,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> Result<scp::scp03::SessionKeys, scp::ScpError> {
        self.inner
            .scp03_session_keys(key, host_challenge, card_challenge)
    }

    fn scp02_session(
        &self,
        key: &scp::keys::KeyContext,
        i: u8,
        sequence_counter: [u8; 2],
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 6],
    ) -> Result<scp::keys::Cryptograms<scp::scp02::SessionKeys>, scp::ScpError> {
        self.inner
            .scp02_session(key, i, sequence_counter, host_challenge, card_challenge)
    }

    fn scp03_session(
        &self,
        key: &scp::keys::KeyContext,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> Result<scp::keys::Cryptograms<scp::scp03::SessionKeys>, scp::ScpError> {
        self.inner
            .scp03_session(key, host_challenge, card_challenge)
    }

    fn scp03_card_challenge(
        &self,
        key: &scp::keys::KeyContext,
        sequence_counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<[u8; 8], scp::ScpError> {
        self.inner.scp03_card_challenge(key, sequence_counter, aid)
    }

    fn encrypt_key_data(
        &self,
        key: &scp::keys::KeyContext,
        data: &[u8],
    ) -> Result<Vec<u8>, scp::ScpError> {
        self.inner.encrypt_key_data(key, data)
    }

    fn decrypt_key_data(
        &self,
        key: &scp::keys::KeyContext,
        data: &[u8],
    ) -> Result<Vec<u8>, scp::ScpError> {
        self.inner.decrypt_key_data(key, data)
    }

    fn describe(&self, key: &scp::keys::KeyContext) -> Result<String, scp::ScpError> {
        self.inner.describe(key)
    }
}
