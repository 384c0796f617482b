//! [`Card`]: the emulated card as a reader sees it — power, ATR, and one
//! response for every command APDU.
//!
//! The card keeps two kinds of state, as a real one does: persistent state
//! ([`CardState`], written to the state file after every change) and
//! volatile state ([`Volatile`]: what is selected, the secure channel, a
//! LOAD in progress, GET STATUS paging), which power off and reset erase.
//!
//! Every APDU is hostile input. Nothing in here panics on it: malformed
//! commands, wrong MACs and impossible requests all end as status words.

use std::path::Path;

use gp::apdu::CommandApdu;
use scp::{ChallengeSource, OsRng};

use crate::commands;
use crate::commands::get_response as response;
use crate::jcvm::{Answer, Jcvm};
use crate::keyset::KeySet;
use crate::load::LoadSequence;
use crate::natives::apdu::PROTOCOL_T0;
use crate::profile::{self, CardProfile};
use crate::session::Session;
use crate::state::CardState;
use crate::store::{StateFile, StoreError};
use crate::sw::{self, fail, Fail, Outcome, Reply};
use scp::keys::StaticKeys;

/// Why a card could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid card settings: {0}")]
    Profile(String),
    #[error("drawing the card's serial number: {0}")]
    Rng(String),
    /// Keeping a DAP, token or receipt key in the card's state failed.
    #[error("keeping the key: {0}")]
    Keys(String),
}

/// What is selected on a logical channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    /// The Issuer Security Domain (also after power on: it is the
    /// default selected application).
    Isd,
    /// A supplementary security domain, by AID: the card manager answers
    /// for it, with its own key sets.
    Sd(Vec<u8>),
    /// An applet instance, by AID.
    Instance(Vec<u8>),
}

/// Where a paged GET STATUS stopped (6310), so that "next occurrence"
/// continues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub p1: u8,
    pub e3: bool,
    pub criteria: Vec<u8>,
    pub next: usize,
}

/// One open logical channel (ISO/IEC 7816-4 5.4.1, JCRE 3.0.5 chapter 4).
#[derive(Debug, Default)]
pub struct Channel {
    /// The application selected on it; none after a failed selection or
    /// when a SELECT opened the channel without selecting anything.
    pub selected: Option<Selected>,
    /// The ISD's secure channel session: GlobalPlatform binds a session to
    /// the logical channel it was opened on, so each channel has its own.
    pub session: Session,
    /// The application INSTALL [for personalization] named in this
    /// session: STORE DATA goes to it until the session ends (a new
    /// INITIALIZE UPDATE, a SELECT, the channel closed, a reset).
    pub personalizing: Option<Personalizing>,
    /// A STORE DATA sequence to the ISD itself (SCP11 certificates) not
    /// yet ended by its last block.
    pub sd_store: Option<SdStore>,
}

/// The blocks of a STORE DATA sequence to the security domain itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdStore {
    pub next_block: u16,
    pub data: Vec<u8>,
}

/// The target of STORE DATA on a channel and the block number it expects
/// next (GP 2.3.1 11.11.2.2: blocks are numbered from 00 in sequence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personalizing {
    pub aid: Vec<u8>,
    pub next_block: u16,
    /// The last block (P1 b8) went through: the sequence is complete.
    pub done: bool,
}

/// Response data the terminal has still to fetch: with GET RESPONSE after
/// 61xx, or by sending the command again with the right Le after 6Cxx
/// (T=0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub channel: u8,
    pub data: Vec<u8>,
    /// The status word that ends the response.
    pub sw: u16,
    /// After 6Cxx: the header the terminal sends again.
    pub reissue: Option<[u8; 4]>,
}

/// State that lives from power on to power off or reset.
#[derive(Debug, Default)]
pub struct Volatile {
    /// The logical channels the profile offers, by number: `None` when
    /// closed. The basic channel (0) is always open.
    pub channels: Vec<Option<Channel>>,
    pub load: Option<LoadSequence>,
    pub paging: Option<Paging>,
    /// The rest of a response (61xx, 6Cxx); any other command drops it.
    pub pending: Option<Pending>,
    /// The transmission protocol of this session: the profile's, unless
    /// the reader chose another ([`Card::select_protocol`]).
    pub protocol: u8,
    /// Set when an applet exhausted its instruction budget: the card stops
    /// answering until it is reset, like a card whose watchdog fired.
    pub mute: bool,
}

impl Volatile {
    /// The state after power on: `channels` logical channels, the basic
    /// one open with the ISD selected (the default selected application).
    pub fn new(channels: u8, protocol: u8) -> Volatile {
        let mut list: Vec<Option<Channel>> = (0..channels.max(1)).map(|_| None).collect();
        list[0] = Some(Channel {
            selected: Some(Selected::Isd),
            session: Session::None,
            personalizing: None,
            sd_store: None,
        });
        Volatile {
            channels: list,
            protocol,
            ..Volatile::default()
        }
    }

    /// An open channel.
    pub fn channel(&self, n: u8) -> Option<&Channel> {
        self.channels.get(usize::from(n)).and_then(Option::as_ref)
    }

    /// An open channel, for changes.
    pub fn channel_mut(&mut self, n: u8) -> Option<&mut Channel> {
        self.channels
            .get_mut(usize::from(n))
            .and_then(Option::as_mut)
    }

    /// What is selected on a channel (`None` also for a closed channel).
    pub fn selected(&self, n: u8) -> Option<&Selected> {
        self.channel(n).and_then(|c| c.selected.as_ref())
    }

    /// The applet instances selected on the open channels, as (channel,
    /// AID).
    pub fn active(&self) -> Vec<(u8, Vec<u8>)> {
        self.active_iter()
            .map(|(n, aid)| (n, aid.to_vec()))
            .collect()
    }

    /// [`Volatile::active`] without building it: whether it is `list`
    /// (the JCVM's copy is refreshed only when it is not, so an APDU to
    /// the applet already selected allocates nothing for it).
    pub fn active_is(&self, list: &[(u8, Vec<u8>)]) -> bool {
        self.active_iter()
            .eq(list.iter().map(|(n, aid)| (*n, aid.as_slice())))
    }

    fn active_iter(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.channels.iter().enumerate().filter_map(|(n, c)| {
            match c.as_ref()?.selected.as_ref()? {
                Selected::Instance(aid) => Some((u8::try_from(n).ok()?, aid.as_slice())),
                Selected::Isd | Selected::Sd(_) => None,
            }
        })
    }
}

/// The applets' memory, from [`Card::heap_usage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapUsage {
    pub persistent: usize,
    pub persistent_limit: usize,
    pub transient: usize,
    pub transient_limit: usize,
    pub objects: usize,
}

/// One package's share of the applets' memory (stats, `jct emu -v`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageMemory {
    /// The package (load file) AID.
    #[serde(serialize_with = "crate::hexser::serialize")]
    pub aid: Vec<u8>,
    /// Its applet instances.
    #[serde(serialize_with = "crate::hexser::list::serialize")]
    pub applets: Vec<Vec<u8>>,
    #[serde(flatten)]
    pub usage: crate::jcvm::heap::ContextUsage,
}

/// The memory of each package on a card (in load order), by owner: see
/// [`crate::jcvm::heap::Heap::usage_by_context`] for what counts.
pub fn package_memory(state: &CardState) -> Vec<PackageMemory> {
    let mut by_context = state.heap.usage_by_context();
    state
        .packages
        .iter()
        .map(|p| PackageMemory {
            aid: p.aid.clone(),
            applets: state
                .instances
                .iter()
                .filter(|i| i.load_file == p.aid)
                .map(|i| i.aid.clone())
                .collect(),
            usage: by_context.remove(&p.aid).unwrap_or_default(),
        })
        .collect()
}

/// An emulated GlobalPlatform card.
pub struct Card {
    pub(crate) state: CardState,
    /// The virtual machine: the linked program of the loaded packages.
    pub(crate) jcvm: Jcvm,
    store: Option<StateFile>,
    pub(crate) rng: Box<dyn ChallengeSource + Send>,
    power: Option<Volatile>,
    note: Option<String>,
    /// The ISD's DAP verification: the keys of `state.authorities`, parsed
    /// once (they change only through [`Card::set_dap`]).
    pub(crate) dap: Option<crate::dap::DapPolicy>,
    /// Delegated management (tokens and receipts), likewise.
    pub(crate) delegated: Option<crate::dap::DelegatedPolicy>,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("state", &self.state)
            .field("store", &self.store)
            .field("powered", &self.power.is_some())
            .finish_non_exhaustive()
    }
}

impl Card {
    /// A fresh card held in memory only, with the given factory keys.
    pub fn new(profile: CardProfile, keys: StaticKeys) -> Result<Card, CardError> {
        Card::create(profile, keys, Box::new(OsRng), None)
    }

    /// The card kept in `path`; a missing file makes a fresh card with the
    /// given profile and keys, written at once. An existing file keeps its
    /// own profile and keys (see [`Card::profile`]); a file that does not
    /// parse is an error and is left untouched.
    pub fn open(
        path: impl AsRef<Path>,
        profile: CardProfile,
        keys: StaticKeys,
    ) -> Result<Card, CardError> {
        Card::open_with_rng(path, profile, keys, Box::new(OsRng))
    }

    /// As [`Card::open`], with the source of card challenges and of a fresh
    /// card's serial number (tests fix it to make sessions reproducible).
    pub fn open_with_rng(
        path: impl AsRef<Path>,
        profile: CardProfile,
        keys: StaticKeys,
        rng: Box<dyn ChallengeSource + Send>,
    ) -> Result<Card, CardError> {
        Card::open_store(StateFile::new(path.as_ref()), profile, keys, rng)
    }

    /// As [`Card::open_with_rng`], on a state handle made by the caller (for
    /// instance one that does not wait for the disk at commits:
    /// [`StateFile::buffered`]).
    pub fn open_store(
        store: StateFile,
        profile: CardProfile,
        keys: StaticKeys,
        rng: Box<dyn ChallengeSource + Send>,
    ) -> Result<Card, CardError> {
        match store.load()? {
            Some(mut state) => {
                // validate() (in load) has parsed these keys already.
                let corrupt = |detail: String| StoreError::Corrupt {
                    path: store.path().to_path_buf(),
                    detail,
                };
                let dap = state.authorities.dap_policy().map_err(corrupt)?;
                let delegated = state.authorities.delegated_policy().map_err(corrupt)?;
                state.heap.after_load();
                Ok(Card {
                    state,
                    jcvm: Jcvm::default(),
                    store: Some(store),
                    rng,
                    power: None,
                    note: None,
                    dap,
                    delegated,
                }
                .sharing_rng())
            }
            None => {
                let card = Card::create(profile, keys, rng, Some(store))?;
                card.save()?;
                Ok(card)
            }
        }
    }

    /// A fresh in-memory card with a chosen challenge source.
    pub fn with_rng(
        profile: CardProfile,
        keys: StaticKeys,
        rng: Box<dyn ChallengeSource + Send>,
    ) -> Result<Card, CardError> {
        Card::create(profile, keys, rng, None)
    }

    fn create(
        profile: CardProfile,
        keys: StaticKeys,
        mut rng: Box<dyn ChallengeSource + Send>,
        store: Option<StateFile>,
    ) -> Result<Card, CardError> {
        profile.validate().map_err(CardError::Profile)?;
        if keys.version == 0 || (keys.version > 0x7F && keys.version != 0xFF) {
            return Err(CardError::Profile(format!(
                "key version {:02X}: use 01 to 7F (or FF)",
                keys.version
            )));
        }
        let mut serial = [0u8; 4];
        rng.fill(&mut serial)
            .map_err(|e| CardError::Rng(e.to_string()))?;
        Ok(Card {
            state: CardState::fresh(profile, KeySet::new(keys), serial),
            jcvm: Jcvm::default(),
            store,
            rng,
            power: None,
            note: None,
            dap: None,
            delegated: None,
        }
        .sharing_rng())
    }

    /// One source of randomness for the card manager (challenges) and the
    /// applets (RandomData, key generation), as on a card with one RNG, so
    /// that a test that fixes it fixes both.
    fn sharing_rng(mut self) -> Card {
        let rng = std::mem::replace(&mut self.rng, Box::new(OsRng));
        let shared = crate::natives::crypto::random::SharedRng::new(rng);
        self.jcvm.set_rng(shared.clone());
        self.rng = Box::new(shared);
        self
    }

    fn save(&self) -> Result<(), StoreError> {
        match &self.store {
            Some(s) => s.save(&self.state),
            None => Ok(()),
        }
    }

    /// Gives the ISD the DAP Verification privilege with `policy`'s key
    /// (or Mandated DAP Verification): from now on every load file needs a
    /// DAP block for the ISD whose signature verifies (see [`crate::dap`]).
    /// `None` takes the privilege away. The card keeps the key (the public
    /// half of an RSA or ECC one) in its state.
    pub fn set_dap(&mut self, policy: Option<crate::dap::DapPolicy>) -> Result<(), CardError> {
        let mut next = self.state.clone();
        next.authorities
            .set_dap(policy.as_ref())
            .map_err(CardError::Keys)?;
        self.commit(next).map_err(|f| CardError::Keys(f.why))?;
        self.dap = policy;
        Ok(())
    }

    /// Makes the ISD verify delegated management tokens (INSTALL [for
    /// load], [for install], DELETE) and confirm with receipts (see
    /// [`crate::dap::DelegatedPolicy`]); `None` ends it. The card keeps the
    /// keys in its state; the confirmation counter goes on either way.
    pub fn set_delegated(
        &mut self,
        policy: Option<crate::dap::DelegatedPolicy>,
    ) -> Result<(), CardError> {
        let mut next = self.state.clone();
        next.authorities
            .set_delegated(policy.as_ref())
            .map_err(CardError::Keys)?;
        self.commit(next).map_err(|f| CardError::Keys(f.why))?;
        self.delegated = policy;
        Ok(())
    }

    /// Commits `next`, the state after a card content management command
    /// that delegated management confirms (the last LOAD, INSTALL, DELETE):
    /// under delegated management the confirmation counter is incremented
    /// in the same commit and the confirmation returned; otherwise the
    /// single 00 byte. The confirmation is made before the commit, so a
    /// failure leaves the card as it was.
    pub(crate) fn commit_confirmed(
        &mut self,
        mut next: CardState,
        what: gp::token::Receipt<'_>,
    ) -> crate::sw::Outcome {
        let Some(policy) = &self.delegated else {
            self.commit(next)?;
            return Ok(crate::sw::Reply::no_receipt());
        };
        let counter = next.authorities.confirmations.wrapping_add(1);
        next.authorities.confirmations = counter;
        let confirmation = policy.confirmation(what, counter, &next.serial)?;
        self.commit(next)?;
        Ok(crate::sw::Reply::data(confirmation))
    }

    /// The persistent state, read-only.
    pub fn state(&self) -> &CardState {
        &self.state
    }

    /// The card's profile (from its state file when it had one).
    pub fn profile(&self) -> &CardProfile {
        &self.state.profile
    }

    /// The applets' memory: bytes used and available, persistent and
    /// transient, and the number of objects (for stats and logs).
    pub fn heap_usage(&self) -> HeapUsage {
        let ((persistent, transient), (persistent_limit, transient_limit)) =
            Jcvm::memory(&self.state);
        HeapUsage {
            persistent,
            persistent_limit,
            transient,
            transient_limit,
            objects: self.state.heap.objects.len(),
        }
    }

    /// Each package's memory (see [`package_memory`]).
    pub fn package_memory(&self) -> Vec<PackageMemory> {
        package_memory(&self.state)
    }

    /// The state file, if the card has one.
    pub fn state_file(&self) -> Option<&Path> {
        self.store.as_ref().map(StateFile::path)
    }

    /// The ATR.
    pub fn atr(&self) -> Vec<u8> {
        profile::atr()
    }

    /// Whether the card is powered.
    pub fn is_powered(&self) -> bool {
        self.power.is_some()
    }

    /// Powers the card up (a cold reset) and returns the ATR.
    pub fn power_on(&mut self) -> Vec<u8> {
        self.jcvm.power_on(&mut self.state.heap);
        let protocol = self.state.profile.protocol;
        self.jcvm.set_protocol(protocol);
        let mut vol = Volatile::new(self.state.profile.logical_channels, protocol);
        self.select_default(&mut vol);
        self.power = if vol.mute { None } else { Some(vol) };
        self.atr()
    }

    /// The default applet of the basic channel (JCRE 3.0.5 4.1): the
    /// selectable instance with the CardReset privilege (GlobalPlatform:
    /// the one that got it last when several have it), selected with
    /// select() and no process(). Without one, or when its select()
    /// refuses, the ISD stays selected, as GlobalPlatform's default
    /// selected application.
    fn select_default(&mut self, vol: &mut Volatile) {
        let state = &self.state;
        if matches!(
            state.card_life_cycle(),
            gp::CardLifeCycle::CardLocked | gp::CardLifeCycle::Terminated
        ) {
            return;
        }
        let Some(aid) = state
            .instances
            .iter()
            .rev()
            .find(|i| i.is_selectable() && i.privileges().has("CardReset"))
            .map(|i| i.aid.clone())
        else {
            return;
        };
        let selected = commands::select::select_on(self, vol, 0, Selected::Instance(aid), None);
        if selected.is_err() && !vol.mute {
            if let Some(c) = vol.channel_mut(0) {
                c.selected = Some(Selected::Isd);
            }
        }
        self.note = selected.err().map(|f| format!("default applet: {}", f.why));
    }

    /// The reader's protocol choice after the ATR (a PPS exchange, ISO/IEC
    /// 7816-3 9): 0 for T=0, 1 for T=1, both of which the ATR offers. It
    /// lasts until power off or reset, which return to the profile's
    /// protocol. `false` (nothing changes) for another value or an
    /// unpowered card.
    pub fn select_protocol(&mut self, protocol: u8) -> bool {
        match &mut self.power {
            Some(vol) if protocol <= 1 => {
                vol.protocol = protocol;
                vol.pending = None;
                self.jcvm.set_protocol(protocol);
                true
            }
            _ => false,
        }
    }

    /// Warm reset: volatile state is lost, as at power on.
    pub fn reset(&mut self) -> Vec<u8> {
        self.power_on()
    }

    /// Removes power: the session and any LOAD in progress are gone.
    pub fn power_off(&mut self) {
        self.power = None;
    }

    /// Why the last command failed (or what it did), for logs. Never sent
    /// to the reader.
    pub fn last_note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Processes one command APDU and returns the response (data and SW).
    ///
    /// An unpowered card answers 6F00: a reader powers it first.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(mut vol) = self.power.take() else {
            self.note = Some("the card is not powered".into());
            return sw::encode(&[], sw::UNKNOWN);
        };
        let (response, note) = self.process(&mut vol, apdu);
        self.note = note;
        if vol.mute {
            // The watchdog: no answer, and the card needs a reset.
            self.power = None;
            return Vec::new();
        }
        self.power = Some(vol);
        response
    }

    /// Writes `next` as the new persistent state, then adopts it. A write
    /// failure keeps the old state in memory too: memory failure (6581).
    pub(crate) fn commit(&mut self, next: CardState) -> Result<(), Fail> {
        if let Some(store) = &self.store {
            store
                .save(&next)
                .map_err(|e| fail(sw::MEMORY_FAILURE, e.to_string()))?;
        }
        self.state = next;
        self.state.heap.clear_changes();
        Ok(())
    }

    /// Turns an applet's answer into the card's: a commit point first (the
    /// heap is saved when the APDU changed it), a mute card on a spent
    /// budget.
    pub(crate) fn applet_answer(&mut self, vol: &mut Volatile, answer: Answer) -> Outcome {
        let saved = self.save_heap();
        match answer {
            Answer::Response { data, sw, note } => {
                saved?;
                if sw == sw::OK {
                    Ok(Reply { data, sw })
                } else if let (Some(why), true) = (note, data.is_empty()) {
                    Err(fail(sw, why))
                } else {
                    // Data the applet sent before its ISOException goes
                    // out with the exception's status word.
                    Ok(Reply { data, sw })
                }
            }
            Answer::Mute(why) => {
                vol.mute = true;
                Err(fail(sw::UNKNOWN, format!("the card went mute: {why}")))
            }
        }
    }

    /// Saves the state when the applets changed the heap since the last
    /// commit point.
    pub(crate) fn save_heap(&mut self) -> Result<(), Fail> {
        if !self.state.heap.dirty {
            return Ok(());
        }
        self.state.heap.dirty = false;
        if let Some(store) = &self.store {
            store
                .save(&self.state)
                .map_err(|e| fail(sw::MEMORY_FAILURE, e.to_string()))?;
        }
        // Written (or nowhere to write): the next commit starts afresh.
        self.state.heap.clear_changes();
        Ok(())
    }

    fn process(&mut self, vol: &mut Volatile, raw: &[u8]) -> (Vec<u8>, Option<String>) {
        // A LOAD sequence survives only into the next LOAD; GET STATUS
        // paging only into the next GET STATUS (GET RESPONSE between them
        // does not count); the rest of a response only into the GET
        // RESPONSE (or the reissued command) that fetches it. Whatever
        // else arrives ends them, and so does any failure on the way.
        let load = vol.load.take();
        let paging = vol.paging.take();
        let pending = vol.pending.take();
        let cmd = match CommandApdu::parse(raw) {
            Ok(c) => c,
            Err(e) => return plain(Err(fail(sw::WRONG_LENGTH, e.to_string()))),
        };
        let cla = cmd.cla();
        if cla == 0xFF {
            return plain(Err(fail(sw::CLA_NOT_SUPPORTED, "CLA FF is invalid")));
        }
        let ch = logical_channel(cla);
        if ch >= self.state.profile.logical_channels {
            return plain(Err(fail(
                sw::CHANNEL_NOT_SUPPORTED,
                format!(
                    "logical channel {ch}: the card has {} (0 to {})",
                    self.state.profile.logical_channels,
                    self.state.profile.logical_channels - 1
                ),
            )));
        }
        if vol.protocol == PROTOCOL_T0 && cmd.is_extended() {
            return plain(Err(fail(
                sw::WRONG_LENGTH,
                "extended length needs T=1; the card runs T=0",
            )));
        }
        if let Some(p) = pending {
            if let Some(answer) = response::continue_pending(vol.protocol, p, &cmd) {
                // Fetching a response is part of the command that made
                // it: a paged GET STATUS or a LOAD sequence goes on after.
                vol.pending = answer.pending;
                vol.load = load;
                vol.paging = paging;
                return (answer.bytes, answer.note);
            }
        }
        let (bytes, note) = self.dispatch(vol, ch, raw, &cmd, load, paging);
        let shaped = response::shape(vol.protocol, ch, &cmd, bytes);
        vol.pending = shaped.pending;
        (shaped.bytes, note.or(shaped.note))
    }

    /// One command on logical channel `ch`: MANAGE CHANNEL and SELECT for
    /// the JCRE, the rest for what is selected on the channel.
    fn dispatch(
        &mut self,
        vol: &mut Volatile,
        ch: u8,
        raw: &[u8],
        cmd: &CommandApdu,
        load: Option<LoadSequence>,
        paging: Option<Paging>,
    ) -> (Vec<u8>, Option<String>) {
        let cla = cmd.cla();
        // MANAGE CHANNEL is the JCRE's, never an applet's (JCRE 3.0.5
        // 4.5.1 note); proprietary classes with INS 70 go to the applet.
        if cmd.ins() == commands::INS_MANAGE_CHANNEL && cla & 0x80 == 0 {
            return plain(commands::manage_channel::manage_channel(self, vol, cmd));
        }
        if vol.channel(ch).is_none() {
            // SELECT by AID opens a closed channel (JCRE 3.0.5 4.5.2);
            // nothing else reaches a closed one.
            if cmd.ins() == commands::INS_SELECT && !is_secured(cla) && cla & 0x80 == 0 {
                if let Some(slot) = vol.channels.get_mut(usize::from(ch)) {
                    *slot = Some(Channel::default());
                }
            } else {
                return plain(Err(fail(
                    sw::CHANNEL_NOT_SUPPORTED,
                    format!("logical channel {ch} is not open"),
                )));
            }
        }
        if cmd.ins() == commands::INS_SELECT && !is_secured(cla) {
            return plain(commands::select::select(self, vol, ch, cmd));
        }
        // The security domain answering: None for the ISD, else the SSD.
        let sd = match vol.selected(ch) {
            Some(Selected::Isd) => None,
            Some(Selected::Sd(aid)) => Some(aid.clone()),
            Some(Selected::Instance(aid)) => {
                let aid = aid.clone();
                return plain(self.run_applet(vol, ch, &aid, cmd, false));
            }
            None => {
                return plain(Err(fail(
                    sw::NOT_FOUND,
                    format!("no application is selected on logical channel {ch}"),
                )))
            }
        };
        let Some(channel_state) = vol.channel_mut(ch) else {
            return plain(Err(fail(sw::CHANNEL_NOT_SUPPORTED, "the channel closed")));
        };
        if cmd.ins() == commands::INS_INITIALIZE_UPDATE {
            channel_state.personalizing = None;
            channel_state.sd_store = None;
        }
        match cmd.ins() {
            commands::INS_INITIALIZE_UPDATE => {
                return plain(commands::auth::initialize_update(
                    self,
                    sd.as_deref(),
                    &mut channel_state.session,
                    raw,
                    cmd,
                ))
            }
            // INS 82 is SCP11's MUTUAL AUTHENTICATE when it names an SCP11
            // key and no SCP02/03 handshake is waiting for it.
            commands::INS_EXTERNAL_AUTHENTICATE | commands::INS_INTERNAL_AUTHENTICATE
                if !is_secured(cla)
                    && scp::scp11::Variant::from_kid(cmd.p2()).is_some()
                    && !matches!(channel_state.session, Session::Authenticating { .. }) =>
            {
                channel_state.personalizing = None;
                channel_state.sd_store = None;
                return plain(commands::scp11::authenticate(
                    self,
                    &mut channel_state.session,
                    cmd,
                ));
            }
            commands::INS_PSO if !is_secured(cla) => {
                channel_state.personalizing = None;
                channel_state.sd_store = None;
                return plain(commands::scp11::perform_security_operation(
                    self,
                    &mut channel_state.session,
                    cmd,
                ));
            }
            commands::INS_EXTERNAL_AUTHENTICATE => {
                return plain(commands::auth::external_authenticate(
                    self,
                    sd.as_deref(),
                    &mut channel_state.session,
                    raw,
                ))
            }
            _ => {}
        }
        // Secure messaging: an open channel checks and strips it; without
        // one, a secured command cannot be checked at all.
        let (cmd, mut channel) = match std::mem::take(&mut channel_state.session) {
            Session::Open { mut channel, kvn } => match channel.verify_and_unwrap(raw) {
                Ok(plain_cmd) => (plain_cmd, Some((channel, kvn))),
                Err(e) => {
                    return plain(Err(fail(
                        e.status_word(),
                        format!("{e}; the secure channel is closed"),
                    )))
                }
            },
            // Implicit initiation is the ISD's default key set's only.
            _ if is_secured(cla) && sd.is_none() => {
                match commands::auth::implicit_open(self, raw) {
                    Some(Ok((channel, plain_cmd, kvn))) => (plain_cmd, Some((channel, kvn))),
                    Some(Err(f)) => return plain(Err(f)),
                    None => {
                        return plain(Err(fail(
                            sw::SECURITY,
                            format!(
                        "secure messaging without an authenticated session on logical channel {ch}"
                    ),
                        )))
                    }
                }
            }
            _ if is_secured(cla) => {
                return plain(Err(fail(
                    sw::SECURITY,
                    format!(
                        "secure messaging without an authenticated session on logical channel {ch}"
                    ),
                )))
            }
            _ => (cmd.clone(), None),
        };
        let mut ctx = commands::Ctx {
            ch,
            sd,
            vol,
            channel: channel.as_ref().map(|(c, _)| c),
            load,
            paging,
        };
        let outcome = commands::isd(self, &mut ctx, &cmd);
        let note = outcome.as_ref().err().map(|f| f.why.clone());
        let (data, status) = match outcome {
            Ok(Reply { data, sw }) => (data, sw),
            Err(f) => (Vec::new(), f.sw),
        };
        match channel.take() {
            Some((mut c, kvn)) => match c.wrap_response(&data, status) {
                Ok(bytes) => {
                    if let Some(open) = vol.channel_mut(ch) {
                        open.session = Session::Open { channel: c, kvn };
                    }
                    (bytes, note)
                }
                Err(e) => (
                    sw::encode(&[], sw::UNKNOWN),
                    Some(format!("protecting the response: {e}")),
                ),
            },
            None => (sw::encode(&data, status), note),
        }
    }

    /// process() of the applet selected on channel `ch`. Extended APDUs
    /// reach only applets that implement javacardx.apdu.ExtendedLength;
    /// the others get 6700, SW_WRONG_LENGTH (JCRE 3.0.5 9.4.4), and so
    /// does an extended Lc above 32767.
    pub(crate) fn run_applet(
        &mut self,
        vol: &mut Volatile,
        ch: u8,
        aid: &[u8],
        cmd: &CommandApdu,
        selecting: bool,
    ) -> Outcome {
        if cmd.data().len() > 32767 {
            return Err(fail(
                sw::WRONG_LENGTH,
                format!(
                    "an Lc of {}: applets take at most 32767 bytes",
                    cmd.data().len()
                ),
            ));
        }
        if cmd.is_extended() {
            let info = self.jcvm.applet_info(&mut self.state, aid);
            if !info.as_ref().is_ok_and(|i| i.extended_length) {
                return Err(fail(
                    sw::WRONG_LENGTH,
                    format!(
                        "an extended APDU for {}, which does not implement javacardx.apdu.ExtendedLength",
                        hex::encode_upper(aid)
                    ),
                ));
            }
        }
        if !vol.active_is(self.jcvm.active()) {
            self.jcvm.set_active(vol.active());
        }
        // The channel's secure channel session goes with the command: the
        // applet's org.globalplatform SecureChannel works on it.
        let mut session = vol
            .channel_mut(ch)
            .map(|c| std::mem::take(&mut c.session))
            .unwrap_or_default();
        std::mem::swap(self.jcvm.session_slot(), &mut session);
        let answer = self.jcvm.process(&mut self.state, aid, cmd, selecting, ch);
        std::mem::swap(self.jcvm.session_slot(), &mut session);
        if let Some(c) = vol.channel_mut(ch) {
            c.session = session;
        }
        self.applet_answer(vol, answer)
    }
}

/// A response without secure messaging, and the note for the log.
fn plain(outcome: Outcome) -> (Vec<u8>, Option<String>) {
    match outcome {
        Ok(r) => (sw::encode(&r.data, r.sw), None),
        Err(f) => (sw::encode(&[], f.sw), Some(f.why)),
    }
}

/// The logical channel a CLA names (ISO/IEC 7816-4 5.4.1): 0-3 in the
/// first interindustry coding, 4-19 in the further one.
pub(crate) fn logical_channel(cla: u8) -> u8 {
    if cla & 0x40 == 0 {
        cla & 0x03
    } else {
        4 + (cla & 0x0F)
    }
}

/// Whether the CLA announces secure messaging (b3 in the first coding, b6
/// in the further one).
pub(crate) fn is_secured(cla: u8) -> bool {
    if cla & 0x40 == 0 {
        cla & 0x04 != 0
    } else {
        cla & 0x20 != 0
    }
}

/// The CLA with the channel and secure messaging bits cleared: 00 for ISO
/// commands, 80 for GlobalPlatform ones, on any channel. The further
/// interindustry coding (channels 4-19) sets b7 ('40') as part of the
/// channel number, so that bit goes too: 4F is channel 19's 00, EF its 84.
pub(crate) fn class(cla: u8) -> u8 {
    if cla & 0x40 == 0 {
        cla & !0x07
    } else {
        cla & !0x6F
    }
}
