//! The Java Card virtual machine of the emulated card: the linker
//! ([`runtime`]), pre-decoded code ([`code`]), the interpreter
//! ([`interp`]), the persistent heap with its transactions ([`heap`]) and
//! the JCRE state of a call ([`env`]).
//!
//! [`Jcvm`] is what the card manager calls: link a load file, run an
//! applet's install(), select(), deselect(), process() and, at DELETE,
//! AppletEvent.uninstall(). The linked program is volatile (rebuilt from
//! the load files after a restart); the heap lives in the card state and
//! is saved at commit points by the card.
//!
//! # The firewall (JCRE 3.0.5 chapter 6)
//!
//! Every package has a context (an index into [`heap::Heap::contexts`]):
//! the applets of one package share it. Every object records its owner,
//! the context that was running when it was created, or the JCRE
//! ([`heap::JCRE`] for permanent entry point objects such as AIDs,
//! [`heap::JCRE_TEMP`] for the temporary ones — the APDU object, the
//! framework's exception objects — and for the global arrays: the APDU
//! buffer and install()'s parameters). The interpreter compares the owner
//! with the running context (one integer compare on the access path) and
//! throws SecurityException when the access is not allowed:
//!
//! - getfield/putfield (all forms, `_this` included): own objects only;
//! - array loads and stores, arraylength: own arrays and global arrays;
//! - invokevirtual: own objects, JCRE entry point objects, global arrays;
//! - invokeinterface: the same, and another context's object through an
//!   interface that extends Shareable — its method then runs in the
//!   owner's context, and returning (or an exception unwinding past it)
//!   switches back;
//! - checkcast/instanceof: own objects, JCRE entry points, global arrays,
//!   and another context's object against an interface extending
//!   Shareable;
//! - athrow: own objects and the JCRE's exceptions;
//! - putfield, putstatic and aastore of a reference to a temporary JCRE
//!   entry point object or a global array.
//!
//! Static fields and static methods are open to every context and never
//! switch it. The natives are the JCRE: they see everything.
//! JCSystem.getAppletShareableInterfaceObject runs the server's
//! getShareableInterfaceObject(clientAID, parameter) in the server's
//! context; JCSystem.getPreviousContextAID answers the applet of the
//! context the running one was called from (null at the top, where the
//! JCRE called). Objects record their package's context rather than
//! their applet instance, so a Shareable call into a package with several
//! applets runs (for JCSystem.getAID) as the applet whose object was
//! called, else as the first applet of that package by AID. Not modelled: the multiselection rule of 6.2.8.6 (no
//! logical channels yet), the CLEAR_ON_DESELECT access rule for
//! transient arrays of a context that is not selected, and checks of the
//! arrays passed to API methods (Util.arrayCopy and the like).

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

pub mod code;
pub mod env;
pub mod heap;
pub mod interp;
pub mod objects;
pub mod runtime;

use cap_tools::api::{self, ApiVersion};
use cap_tools::Cap;

use crate::natives::apdu::BUFFER_SIZE;
use crate::natives::Sys;
use crate::profile::CardProfile;
use crate::state::CardState;
use env::{Env, Installing};
use heap::{ArrayData, Heap, NativeData, Obj, ObjId, CLEAR_ON_DESELECT, CLEAR_ON_RESET, JCRE_TEMP};
use interp::{Exit, Limits, Machine};
use runtime::{Runtime, Target};

/// ISO 7816 status words the JCRE answers itself.
const SW_NO_ERROR: u16 = 0x9000;
const SW_UNKNOWN: u16 = 0x6F00;
const SW_APPLET_SELECT_FAILED: u16 = 0x6999;

/// How a call to an applet ended, for the card manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Response data and status word; `note` says why for the log.
    Response {
        data: Vec<u8>,
        sw: u16,
        note: Option<String>,
    },
    /// The card stops answering (watchdog): the instruction budget ran out.
    Mute(String),
}

impl Answer {
    fn sw(sw: u16, note: impl Into<String>) -> Answer {
        Answer::Response {
            data: Vec::new(),
            sw,
            note: Some(note.into()),
        }
    }
}

/// The VM of one card: the linked program and a machine, both volatile.
#[derive(Debug, Default)]
pub struct Jcvm {
    rt: Option<Runtime>,
    machine: Machine,
    env: Option<Env>,
    /// The applet called last, resolved: the next APDU to it looks
    /// nothing up.
    cache: Option<AppletCache>,
    /// Fault injection: the next applet call stops after this many
    /// bytecodes, as a power cut would stop it (see
    /// [`crate::danger::cut_power_after`]).
    cut_after: Option<u64>,
    /// The card's randomness, handed to the natives.
    rng: Option<crate::natives::crypto::random::SharedRng>,
    /// The secure channel session the card lends for applet calls (see
    /// [`Jcvm::session_slot`]).
    session: crate::session::Session,
    /// The applets active on the logical channels, (channel, AID), as the
    /// card manager last said ([`Jcvm::set_active`]).
    active: Vec<(u8, Vec<u8>)>,
    /// The transmission protocol of the session (APDU.getProtocol).
    protocol: u8,
    /// The SELECT being handled re-selects its channel's applet
    /// ([`Jcvm::set_reselecting`]).
    reselecting: bool,
}

/// What the card manager needs to know of an applet to select it on a
/// logical channel (JCRE 3.0.5 4.2, 4.5) and to give it extended APDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppletInfo {
    /// Its context (package), an index into the heap's contexts.
    pub context: u32,
    /// It implements javacard.framework.MultiSelectable.
    pub multiselectable: bool,
    /// It implements javacardx.apdu.ExtendedLength.
    pub extended_length: bool,
    /// It implements org.globalplatform.Application: its security domain
    /// can forward STORE DATA to it (INSTALL [for personalization]).
    pub personalizable: bool,
}

/// An applet instance with its object, context and life-cycle methods.
#[derive(Debug, Clone)]
struct AppletCache {
    aid: Vec<u8>,
    obj: ObjId,
    context: u32,
    /// select, deselect, process.
    methods: [Target; 3],
    /// MultiSelectable.select(boolean) and deselect(boolean), when the
    /// class implements it.
    multi: Option<[Target; 2]>,
    extended: bool,
    /// org.globalplatform.Application.processData, when the class
    /// implements it.
    process_data: Option<Target>,
}

/// Index of an Applet method in [`AppletCache::methods`].
const SELECT: usize = 0;
const DESELECT: usize = 1;
const PROCESS: usize = 2;
/// MultiSelectable.select and deselect (in [`AppletCache::multi`]).
const MULTI_SELECT: usize = 3;
const MULTI_DESELECT: usize = 4;
/// org.globalplatform.Application.processData (in [`AppletCache::process_data`]).
const PROCESS_DATA: usize = 5;

/// How a life-cycle method is called: on which logical channel, with
/// which command (process) or flag (MultiSelectable's methods).
struct Call<'a> {
    channel: u8,
    apdu: Option<(&'a gp::apdu::CommandApdu, bool)>,
    flag: Option<bool>,
    /// With `apdu`: the command goes whole into the APDU buffer and the
    /// method gets (buffer, 0, length) instead of the APDU object, as
    /// Application.processData does.
    forward: bool,
}

/// The targets of MultiSelectable.select(Z)Z and deselect(Z)V in an
/// applet class, when the class (or a superclass) implements it.
fn multiselectable_targets(
    rt: &mut Runtime,
    heap: &mut Heap,
    class: u32,
) -> Result<Option<[Target; 2]>, String> {
    const MULTI: &str = "javacard/framework/MultiSelectable";
    let iface = rt.api_class_by_name(heap, MULTI)?;
    if !rt.assignable(class, iface) {
        return Ok(None);
    }
    let target = |name: &str| {
        interface_target(rt, class, iface, MULTI, name)
            .ok_or("the applet's MultiSelectable methods are not linked")
    };
    Ok(Some([target("select")?, target("deselect")?]))
}

/// The limits of a profile.
pub fn limits(p: &CardProfile) -> Limits {
    Limits {
        persistent: p.heap_memory,
        transient: p.transient_memory,
        commit_capacity: p.commit_capacity,
        budget: p.instruction_budget,
        max_frames: p.max_frames,
        max_words: p.max_stack_words,
    }
}

/// Applet method tokens, from the API table.
fn applet_token(api: ApiVersion, name: &str) -> Option<u8> {
    api::table(api)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .find(|c| c.name == "javacard/framework/Applet")?
        .methods
        .iter()
        .find(|m| m.name == name && m.flags & api::ACC_STATIC == 0)
        .map(|m| m.token)
}

impl Jcvm {
    /// Whether the SELECT being handled re-selects the applet already
    /// selected on its channel (Applet.reSelectingApplet is then true in
    /// its select() and process()).
    pub fn set_reselecting(&mut self, on: bool) {
        self.reselecting = on;
    }

    /// The applet instances selected on the open channels, as the card
    /// last set them (channel, AID).
    pub fn active(&self) -> &[(u8, Vec<u8>)] {
        &self.active
    }

    /// The applets active on the open logical channels, (channel, AID):
    /// the card manager tells the VM after every change of selection, for
    /// JCSystem.isAppletActive.
    pub fn set_active(&mut self, active: Vec<(u8, Vec<u8>)>) {
        if let Some(env) = &mut self.env {
            env.active.clone_from(&active);
        }
        self.active = active;
    }

    /// The transmission protocol the card runs now: 0 (T=0) or 1 (T=1).
    pub fn set_protocol(&mut self, protocol: u8) {
        self.protocol = protocol;
    }

    /// An applet's context and the interfaces that decide how it is
    /// selected and what APDUs it takes.
    pub fn applet_info(&mut self, state: &mut CardState, aid: &[u8]) -> Result<AppletInfo, String> {
        self.ready(state)?;
        let c = match self.cache.take() {
            Some(c) if c.aid == aid => c,
            _ => self.resolve(state, aid)?,
        };
        let info = AppletInfo {
            context: c.context,
            multiselectable: c.multi.is_some(),
            extended_length: c.extended,
            personalizable: c.process_data.is_some(),
        };
        self.cache = Some(c);
        Ok(info)
    }

    /// The card's source of randomness, for RandomData and key generation.
    pub fn set_rng(&mut self, rng: crate::natives::crypto::random::SharedRng) {
        if let Some(env) = &mut self.env {
            env.rng = Some(rng.clone());
        }
        self.rng = Some(rng);
    }

    /// Forgets the linked program (after a failed change of the state it
    /// was linked into, or a DELETE): the next call links again.
    pub fn invalidate(&mut self) {
        self.rt = None;
        self.cache = None;
    }

    /// Power up: transients are cleared, PINs lose their validation.
    pub fn power_on(&mut self, heap: &mut Heap) {
        heap.clear_transients(CLEAR_ON_RESET, None);
        heap.clear_transients(CLEAR_ON_DESELECT, None);
        for o in heap.objects.values_mut() {
            if let Obj::Instance {
                native: NativeData::Pin { validated, .. },
                ..
            } = o
            {
                *validated = false;
            }
        }
        self.active.clear();
        if let Some(env) = &mut self.env {
            env.active.clear();
            env.crypto.clear();
            env.gp.power_on();
        }
        self.session = crate::session::Session::None;
    }

    /// Where the card puts the logical channel's secure channel session
    /// before an applet call and takes it back after: an applet's
    /// SecureChannel (processSecurity, unwrap, wrap...) works on it.
    pub fn session_slot(&mut self) -> &mut crate::session::Session {
        &mut self.session
    }

    /// Arms the fault injection of [`crate::danger::cut_power_after`].
    pub(crate) fn cut_after(&mut self, bytecodes: u64) {
        self.cut_after = Some(bytecodes);
    }

    /// Heap memory in use (persistent, transient) and the limits.
    pub fn memory(state: &CardState) -> ((usize, usize), (usize, usize)) {
        let l = limits(&state.profile);
        (state.heap.used(), (l.persistent, l.transient))
    }

    fn ready(&mut self, state: &mut CardState) -> Result<(), String> {
        if self.rt.is_some() && self.env.is_some() {
            return Ok(());
        }
        if self.rt.is_none() {
            let api = state.profile.api_version()?;
            self.rt = Some(Runtime::new(api, &mut state.heap)?);
        }
        let l = limits(&state.profile);
        let version = match state.profile.api_version()? {
            ApiVersion::V2_2_2 => 0x0202,
            ApiVersion::V3_0_4 => 0x0300,
            ApiVersion::V3_0_5 => 0x0305,
            ApiVersion::V3_2_0 => 0x0302,
        };
        let algorithms = state
            .profile
            .algorithms
            .resolve(state.profile.api_version()?)?;
        let env = self.env.get_or_insert_with(|| Env::new(l, version));
        env.limits = l;
        env.algorithms = algorithms;
        env.rng.clone_from(&self.rng);
        env.registry = state
            .heap
            .applets
            .keys()
            .filter_map(|k| hex::decode(k).ok())
            .collect();
        // The JCRE's own objects: the APDU (a temporary entry point
        // object) and its buffer (a global array).
        if !state.heap.system.contains_key("apdu") {
            let rt = self.rt.as_ref().ok_or("no runtime")?;
            let buffer = state
                .heap
                .alloc(
                    Obj::Array {
                        data: ArrayData::Byte(vec![0; BUFFER_SIZE]),
                        transient: CLEAR_ON_RESET,
                        owner: JCRE_TEMP,
                        global: true,
                    },
                    (usize::MAX, usize::MAX),
                )
                .map_err(|_| "no memory for the APDU buffer")?;
            let apdu = state
                .heap
                .alloc(
                    Obj::Instance {
                        class: rt.sys.apdu,
                        fields: Vec::new(),
                        native: NativeData::None,
                        owner: JCRE_TEMP,
                    },
                    (usize::MAX, usize::MAX),
                )
                .map_err(|_| "no memory for the APDU object")?;
            state.heap.system.insert("apdu".into(), apdu);
            state.heap.system.insert("apdu.buffer".into(), buffer);
        }
        env.apdu.object = state.heap.system["apdu"];
        env.apdu.buffer = state.heap.system["apdu.buffer"];
        Ok(())
    }

    /// Links a package (and what it imports) into the runtime.
    fn link(&mut self, state: &mut CardState, aid: &[u8]) -> Result<u32, String> {
        self.ready(state)?;
        let rt = self.rt.as_mut().ok_or("no runtime")?;
        if let Some(i) = rt.package_index(aid) {
            return Ok(i);
        }
        let CardState { packages, heap, .. } = state;
        let find = |want: &[u8]| -> Option<Cap> {
            let p = packages.iter().find(|p| p.aid == want)?;
            Cap::from_load_file(&p.load_file).ok()
        };
        let cap = find(aid)
            .ok_or_else(|| format!("package {} is not on the card", hex::encode_upper(aid)))?;
        rt.link(heap, &cap, &find)
    }

    /// Links a load file that is about to be stored (LOAD), so that a
    /// package that cannot run is refused at load time.
    pub fn link_new(&mut self, state: &mut CardState, cap: &Cap) -> Result<(), String> {
        self.ready(state)?;
        let rt = self.rt.as_mut().ok_or("no runtime")?;
        let CardState { packages, heap, .. } = state;
        let find = |want: &[u8]| -> Option<Cap> {
            let p = packages.iter().find(|p| p.aid == want)?;
            Cap::from_load_file(&p.load_file).ok()
        };
        // The linker faces hostile CAP bytes: a panic would be a bug, and
        // still only refuses the load.
        let linked =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.link(heap, cap, &find)));
        match linked {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err("the linker failed internally".into()),
        }
    }

    /// INSTALL [for install]: runs the applet class's install(bArray,
    /// bOffset, bLength) with bArray = instance AID, privileges and
    /// application parameters, each length-prefixed. Returns the AID the
    /// applet registered under; `Err` (with the state to be discarded by
    /// the caller) when install throws or never calls register().
    pub fn install(
        &mut self,
        state: &mut CardState,
        request: &InstallRequest<'_>,
    ) -> Result<Vec<u8>, InstallFailure> {
        let InstallRequest {
            package,
            module,
            instance,
            privileges,
            parameters,
            quota,
        } = *request;
        let p = self.link(state, package)?;
        let rt = self.rt.as_ref().ok_or("no runtime")?;
        let pkg = &rt.packages[p as usize];
        let method = pkg
            .applets
            .iter()
            .find(|(a, _)| a == module)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("no applet {} in the package", hex::encode_upper(module)))?;
        let context = pkg.context;
        let mut params =
            Vec::with_capacity(3 + instance.len() + privileges.len() + parameters.len());
        for part in [instance, privileges, parameters] {
            let len = u8::try_from(part.len()).map_err(|_| "install parameters too long")?;
            params.push(len);
            params.extend_from_slice(part);
        }
        let len = i32::try_from(params.len()).map_err(|_| "install parameters too long")?;
        if params.len() > 255 {
            return Err("install parameters longer than 255 bytes".into());
        }
        // A card hands install() its APDU buffer: the bytes after the
        // parameters are there to read (JCAlgTest reads the byte after
        // an empty application parameter field).
        params.resize(BUFFER_SIZE, 0);
        let barray = state
            .heap
            .alloc(
                Obj::Array {
                    data: ArrayData::Byte(params),
                    transient: CLEAR_ON_RESET,
                    owner: JCRE_TEMP,
                    global: true,
                },
                (usize::MAX, usize::MAX),
            )
            .map_err(|_| "no memory for the install parameters")?;
        let env = self.env.as_mut().ok_or("no environment")?;
        env.context = context;
        env.applet = instance.to_vec();
        env.selecting = false;
        // No channel is assigned during install() (JCSystem.getAssignedChannel).
        env.channel = 0;
        env.installing = Some(Installing {
            aid: instance.to_vec(),
            registered: None,
        });
        crate::natives::globalplatform::enter(env, state, Some(privileges));
        std::mem::swap(&mut env.gp.session, &mut self.session);
        // What install() makes (the applet object, its arrays) counts
        // against the quotas the install parameters set.
        state.heap.set_quota(heap_quota(context, quota));
        let exit = self.machine.call(
            rt,
            &mut state.heap,
            env,
            Target::Code(method),
            &[barray as i32, 0, len],
        );
        state.heap.set_quota(None);
        std::mem::swap(&mut env.gp.session, &mut self.session);
        crate::natives::globalplatform::leave(env, state);
        state.heap.free(barray);
        if state.heap.in_transaction() {
            let _ = state.heap.abort();
        }
        let registered = env.installing.take().and_then(|i| i.registered);
        match exit {
            Exit::Return(_) => {}
            other => {
                return Err(InstallFailure {
                    why: format!("install() failed: {}", describe(rt, &state.heap, &other)),
                    out_of_memory: out_of_memory(rt, &state.heap, &other),
                })
            }
        }
        let (aid, obj) = registered.ok_or("install() returned without calling register()")?;
        state.heap.applets.insert(hex::encode_upper(&aid), obj);
        env.registry.push(aid.clone());
        state.heap.dirty = true;
        Ok(aid)
    }

    /// select() of an applet on a logical channel: 9000 when it accepts.
    /// `multi` calls MultiSelectable.select(appInstAlreadyActive) instead
    /// of Applet.select(), as the JCRE does when the applet's context is
    /// already active on another channel (JCRE 3.0.5 4.2).
    pub fn select(
        &mut self,
        state: &mut CardState,
        aid: &[u8],
        channel: u8,
        multi: Option<bool>,
    ) -> Answer {
        let (method, flag) = match multi {
            Some(f) => (MULTI_SELECT, Some(f)),
            None => (SELECT, None),
        };
        match self.call(
            state,
            aid,
            method,
            Call {
                channel,
                apdu: None,
                flag,
                forward: false,
            },
        ) {
            Ok(Exit::Return(Some(v))) if v != 0 => Answer::Response {
                data: Vec::new(),
                sw: SW_NO_ERROR,
                note: None,
            },
            Ok(Exit::Mute(why)) => Answer::Mute(why),
            Ok(other) => {
                let why = self.describe_exit(state, &other);
                Answer::sw(SW_APPLET_SELECT_FAILED, format!("select() refused: {why}"))
            }
            Err(why) => Answer::sw(SW_APPLET_SELECT_FAILED, why),
        }
    }

    /// deselect() of an applet active on `channel`; `multi` calls
    /// MultiSelectable.deselect(appInstStillActive) instead, as the JCRE
    /// does when its context stays active on another channel. `clear`
    /// then clears the context's CLEAR_ON_DESELECT transients (when no
    /// applet of the context stays selected on any channel).
    pub fn deselect(
        &mut self,
        state: &mut CardState,
        aid: &[u8],
        channel: u8,
        multi: Option<bool>,
        clear: bool,
    ) -> Option<Answer> {
        let (method, flag) = match multi {
            Some(f) => (MULTI_DESELECT, Some(f)),
            None => (DESELECT, None),
        };
        let r = self.call(
            state,
            aid,
            method,
            Call {
                channel,
                apdu: None,
                flag,
                forward: false,
            },
        );
        let ctx = self.context_of(state, aid);
        if let (Some(c), true) = (ctx, clear) {
            state.heap.clear_transients(CLEAR_ON_DESELECT, Some(c));
        }
        match r {
            Ok(Exit::Mute(why)) => Some(Answer::Mute(why)),
            _ => None,
        }
    }

    fn context_of(&self, state: &CardState, aid: &[u8]) -> Option<u32> {
        let inst = state.instance(aid)?;
        state
            .heap
            .contexts
            .iter()
            .position(|c| *c == inst.load_file)
            .map(|i| i as u32)
    }

    /// process(apdu) of the applet selected on `channel`.
    pub fn process(
        &mut self,
        state: &mut CardState,
        aid: &[u8],
        cmd: &gp::apdu::CommandApdu,
        selecting: bool,
        channel: u8,
    ) -> Answer {
        let call = Call {
            channel,
            apdu: Some((cmd, selecting)),
            flag: None,
            forward: false,
        };
        match self.call(state, aid, PROCESS, call) {
            Ok(Exit::Return(_)) => {
                let data = self
                    .env
                    .as_ref()
                    .map(|e| e.apdu.out.clone())
                    .unwrap_or_default();
                Answer::Response {
                    data,
                    sw: SW_NO_ERROR,
                    note: None,
                }
            }
            Ok(Exit::Mute(why)) => Answer::Mute(why),
            Ok(Exit::Uncaught(obj)) => {
                match self.iso_reason(state, obj) {
                    // The data the applet sent before throwing goes out
                    // with the exception's status word, as on cards (and
                    // in jCardSim): the idiom of sendBytes then
                    // ISOException.throwIt(0x61xx) for more data to come,
                    // or of data with a warning such as 6310.
                    Some(r) => Answer::Response {
                        data: self
                            .env
                            .as_ref()
                            .map(|e| e.apdu.out.clone())
                            .unwrap_or_default(),
                        sw: r,
                        note: Some(format!("ISOException {r:04X}")),
                    },
                    None => {
                        let why = self.describe_exit(state, &Exit::Uncaught(obj));
                        Answer::sw(SW_UNKNOWN, format!("process() ended with {why}"))
                    }
                }
            }
            Ok(other) => {
                let why = self.describe_exit(state, &other);
                Answer::sw(SW_UNKNOWN, why)
            }
            Err(why) => Answer::sw(SW_UNKNOWN, why),
        }
    }

    /// Application.processData of an instance, the STORE DATA its
    /// security domain forwards (GP 2.3.1 11.11; GP Card API
    /// org.globalplatform.Application): the command whole (header, secure
    /// messaging already removed, and data) in the APDU buffer, passed as
    /// (buffer, 0, 5 + Lc). It runs in the applet's context while the
    /// security domain stays the selected application, so the applet
    /// sends no response data; an ISOException it throws becomes the
    /// status word.
    pub fn process_data(
        &mut self,
        state: &mut CardState,
        aid: &[u8],
        cmd: &gp::apdu::CommandApdu,
        channel: u8,
    ) -> Answer {
        let call = Call {
            channel,
            apdu: Some((cmd, false)),
            flag: None,
            forward: true,
        };
        match self.call(state, aid, PROCESS_DATA, call) {
            Ok(Exit::Return(_)) => Answer::Response {
                data: Vec::new(),
                sw: SW_NO_ERROR,
                note: None,
            },
            Ok(Exit::Mute(why)) => Answer::Mute(why),
            Ok(Exit::Uncaught(obj)) => match self.iso_reason(state, obj) {
                Some(r) => Answer::Response {
                    data: Vec::new(),
                    sw: r,
                    note: Some(format!("processData threw ISOException {r:04X}")),
                },
                None => {
                    let why = self.describe_exit(state, &Exit::Uncaught(obj));
                    Answer::sw(SW_UNKNOWN, format!("processData ended with {why}"))
                }
            },
            Ok(other) => {
                let why = self.describe_exit(state, &other);
                Answer::sw(SW_UNKNOWN, why)
            }
            Err(why) => Answer::sw(SW_UNKNOWN, why),
        }
    }

    /// The reason of an uncaught ISOException (none for other throwables).
    fn iso_reason(&self, state: &CardState, obj: ObjId) -> Option<u16> {
        let rt = self.rt.as_ref()?;
        match state.heap.get(obj) {
            Some(Obj::Instance {
                class,
                native: NativeData::Reason(r),
                ..
            }) if rt.assignable(*class, rt.sys.iso_exception) => Some(*r as u16),
            _ => None,
        }
    }

    fn describe_exit(&self, state: &CardState, exit: &Exit) -> String {
        match &self.rt {
            Some(rt) => describe(rt, &state.heap, exit),
            None => format!("{exit:?}"),
        }
    }

    /// Resolves an applet instance: its package linked, its object, the
    /// targets of select, deselect and process in its class.
    fn resolve(&mut self, state: &mut CardState, aid: &[u8]) -> Result<AppletCache, String> {
        let inst = state
            .instance(aid)
            .ok_or_else(|| format!("no instance {}", hex::encode_upper(aid)))?
            .load_file
            .clone();
        let p = self.link(state, &inst)?;
        let rt = self.rt.as_ref().ok_or("no runtime")?;
        let obj: ObjId = *state
            .heap
            .applets
            .get(&hex::encode_upper(aid))
            .ok_or("the instance has no applet object")?;
        let class = match state.heap.get(obj) {
            Some(Obj::Instance { class, .. }) => *class,
            _ => return Err("the applet object is no instance".into()),
        };
        let mut methods = [Target::None; 3];
        for (i, name) in ["select", "deselect", "process"].iter().enumerate() {
            let token = applet_token(rt.api, name).ok_or("no such Applet method")?;
            methods[i] = rt
                .class(class)
                .and_then(|k| k.public.get(usize::from(token)))
                .copied()
                .ok_or("the applet class has no such method")?;
        }
        let context = rt.packages[p as usize].context;
        let rt = self.rt.as_mut().ok_or("no runtime")?;
        let multi = multiselectable_targets(rt, &mut state.heap, class)?;
        // An API without javacardx.apdu (2.2.1 and before) has no
        // extended length for applets.
        let extended = rt
            .api_class_by_name(&mut state.heap, "javacardx/apdu/ExtendedLength")
            .is_ok_and(|i| rt.assignable(class, i));
        let process_data = match rt.api_class_by_name(&mut state.heap, APPLICATION) {
            Ok(iface) if rt.assignable(class, iface) => {
                let target = interface_target(rt, class, iface, APPLICATION, "processData")
                    .ok_or("the applet's Application.processData is not linked")?;
                Some(target)
            }
            // An API without org.globalplatform has no Application.
            _ => None,
        };
        Ok(AppletCache {
            aid: aid.to_vec(),
            obj,
            context,
            methods,
            multi,
            extended,
            process_data,
        })
    }

    /// DELETE of an applet instance: when its class implements
    /// javacard.framework.AppletEvent, its uninstall() runs first, in its
    /// context and as the selected applet (JCRE 11.3.4). What uninstall
    /// throws is ignored, as the deletion goes ahead; a card that goes
    /// mute meanwhile is reported.
    pub fn uninstall(&mut self, state: &mut CardState, aid: &[u8]) -> Option<Answer> {
        self.ready(state).ok()?;
        let cached = match self.cache.take() {
            Some(c) if c.aid == aid => c,
            _ => self.resolve(state, aid).ok()?,
        };
        let rt = self.rt.as_ref()?;
        let class = match state.heap.get(cached.obj) {
            Some(Obj::Instance { class, .. }) => *class,
            _ => return None,
        };
        let target = applet_event_target(rt, class)?;
        let env = self.env.as_mut()?;
        env.context = cached.context;
        env.applet = aid.to_vec();
        env.installing = None;
        env.selecting = false;
        // uninstall() runs as the selected applet (AppletEvent).
        let active = std::mem::replace(&mut env.active, vec![(0, aid.to_vec())]);
        let exit = self
            .machine
            .call(rt, &mut state.heap, env, target, &[cached.obj as i32]);
        env.active = active;
        if state.heap.in_transaction() {
            let _ = state.heap.abort();
        }
        env.deletion_requested = false;
        self.cache = None;
        match exit {
            Exit::Mute(why) => Some(Answer::Mute(why)),
            _ => None,
        }
    }

    /// Object deletion: every package linked first, so that the reference
    /// fields of every object's class are known; an object of a class
    /// that still cannot be resolved stops the collection (nothing is
    /// freed rather than something live).
    fn delete_unreachable(&mut self, state: &mut CardState) {
        let aids: Vec<Vec<u8>> = state.packages.iter().map(|p| p.aid.clone()).collect();
        for aid in aids {
            let _ = self.link(state, &aid);
        }
        let Some(rt) = self.rt.as_ref() else { return };
        let refs = |class: u32| rt.class(class).map(|k| k.refs.clone());
        state.heap.collect(&refs);
    }

    /// Calls one of the applet's life-cycle methods.
    fn call(
        &mut self,
        state: &mut CardState,
        aid: &[u8],
        method: usize,
        how: Call<'_>,
    ) -> Result<Exit, String> {
        self.ready(state)?;
        let cached = match self.cache.take() {
            Some(c) if c.aid == aid => c,
            _ => self.resolve(state, aid)?,
        };
        let rt = self.rt.as_ref().ok_or("no runtime")?;
        let obj = cached.obj;
        let target = match method {
            MULTI_SELECT | MULTI_DESELECT => cached
                .multi
                .map(|m| m[method - MULTI_SELECT])
                .ok_or("the applet is not MultiSelectable")?,
            PROCESS_DATA => cached
                .process_data
                .ok_or("the applet does not implement org.globalplatform.Application")?,
            _ => cached.methods[method],
        };
        let context = cached.context;
        let extended = cached.extended;
        self.cache = Some(cached);
        let env = self.env.as_mut().ok_or("no environment")?;
        env.context = context;
        env.channel = how.channel;
        env.active.clone_from(&self.active);
        env.reselecting = self.reselecting;
        if env.applet != aid {
            env.applet = aid.to_vec();
        }
        env.installing = None;
        let mut args = [obj as i32, 0, 0, 0];
        let mut n = 1;
        if let Some((cmd, selecting)) = how.apdu {
            env.selecting = selecting;
            env.apdu.start(cmd, self.protocol, extended);
            // The JCRE zeroes the buffer for each command (APDU class
            // description), then writes the header as received. A SELECT
            // the JCRE has read whole to find the applet: its data (the
            // AID) is in the buffer too, as on cards, and applets read it
            // there without setIncomingAndReceive (which still works).
            // Under T=1 every short command arrives whole in one block
            // before process() runs, and cards (and jCardSim) leave its
            // data in the buffer, where applets such as ykneo-openpgp read
            // it without receiving it; under T=0 the data comes only when
            // the card asks for it (a procedure byte), so it is not there.
            let header = env.apdu.buffer_header();
            let whole = selecting
                || how.forward
                || (self.protocol == crate::natives::apdu::PROTOCOL_T1 && !cmd.is_extended());
            let data = if whole { cmd.data() } else { &[] };
            if let Some(Obj::Array {
                data: ArrayData::Byte(b),
                ..
            }) = state.heap.objects.get_mut(&env.apdu.buffer)
            {
                b.fill(0);
                b[..header.len()].copy_from_slice(&header);
                let room = b.len().saturating_sub(header.len()).min(data.len());
                b[header.len()..header.len() + room].copy_from_slice(&data[..room]);
            }
            if how.forward {
                // processData(baBuffer, sOffset, sLength): the APDU
                // buffer (a global array) from its first byte, header
                // and data.
                let len = header.len() + data.len();
                args[1] = env.apdu.buffer as i32;
                args[3] = i32::try_from(len).map_err(|_| "command too long")?;
                n = 4;
            } else {
                args[1] = env.apdu.object as i32;
                n = 2;
            }
        } else {
            env.selecting = false;
            if let Some(f) = how.flag {
                args[1] = i32::from(f);
                n = 2;
            }
        }
        let budget = env.limits.budget;
        if let Some(cut) = self.cut_after.take() {
            env.limits.budget = cut;
        }
        crate::natives::globalplatform::enter(env, state, None);
        std::mem::swap(&mut env.gp.session, &mut self.session);
        let quota = state
            .instance(aid)
            .and_then(|i| heap_quota(context, i.quota));
        state.heap.set_quota(quota);
        let exit = self
            .machine
            .call(rt, &mut state.heap, env, target, &args[..n]);
        state.heap.set_quota(None);
        std::mem::swap(&mut env.gp.session, &mut self.session);
        crate::natives::globalplatform::leave(env, state);
        env.limits.budget = budget;
        if state.heap.in_transaction() {
            // The JCRE aborts a transaction still open when the applet returns.
            let _ = state.heap.abort();
        }
        if std::mem::take(&mut env.deletion_requested) {
            self.delete_unreachable(state);
        }
        Ok(exit)
    }
}

/// What an INSTALL [for install] asks of install(): the load file and
/// applet class, the instance AID, and what the instance gets.
#[derive(Debug, Clone, Copy)]
pub struct InstallRequest<'a> {
    pub package: &'a [u8],
    pub module: &'a [u8],
    pub instance: &'a [u8],
    pub privileges: &'a [u8],
    /// The applet specific parameters (C9's value).
    pub parameters: &'a [u8],
    /// The memory quotas of the install parameters (EF).
    pub quota: crate::state::MemoryQuota,
}

/// Why an install() failed, and whether for want of memory (the card
/// manager then answers 6A84, not enough memory, rather than 6A80).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallFailure {
    pub why: String,
    pub out_of_memory: bool,
}

impl From<String> for InstallFailure {
    fn from(why: String) -> InstallFailure {
        InstallFailure {
            why,
            out_of_memory: false,
        }
    }
}

impl From<&str> for InstallFailure {
    fn from(why: &str) -> InstallFailure {
        InstallFailure::from(why.to_string())
    }
}

impl std::fmt::Display for InstallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// Whether a call ended with an uncaught SystemException NO_RESOURCE or
/// NO_TRANSIENT_SPACE: the memory (or the instance's quota) ran out.
fn out_of_memory(rt: &Runtime, heap: &Heap, exit: &Exit) -> bool {
    use crate::natives::system_reason::{NO_RESOURCE, NO_TRANSIENT_SPACE};
    let Exit::Uncaught(obj) = exit else {
        return false;
    };
    let system = rt.sys.exceptions.get(Sys::System.index()).copied();
    matches!(
        heap.get(*obj),
        Some(Obj::Instance { class, native: NativeData::Reason(r), .. })
            if Some(*class) == system && (*r == NO_RESOURCE || *r == NO_TRANSIENT_SPACE)
    )
}

/// The heap quota of an instance running in `context`; none when its
/// install parameters set no quota.
fn heap_quota(context: u32, q: crate::state::MemoryQuota) -> Option<heap::Quota> {
    (!q.is_none()).then_some(heap::Quota {
        context,
        persistent: q.non_volatile,
        transient: q.volatile,
    })
}

/// AppletEvent.uninstall() of an applet class, when the class (or a
/// superclass) implements AppletEvent.
/// org.globalplatform.Application, whose processData receives STORE DATA.
const APPLICATION: &str = "org/globalplatform/Application";

/// The method an instance of `class` runs for `method` of the API
/// interface `iface` (named `iface_name`): the interface token maps to a
/// virtual method token in the class (or superclass) that declares the
/// interface, public or package (high bit) table.
fn interface_target(
    rt: &Runtime,
    class: u32,
    iface: u32,
    iface_name: &str,
    method: &str,
) -> Option<Target> {
    let token = api::table(rt.api)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .find(|c| c.name == iface_name)?
        .methods
        .iter()
        .find(|m| m.name == method)?
        .token;
    let target_class = rt.class(class)?;
    let mut cur = Some(class);
    for _ in 0..64 {
        let k = rt.class(cur?)?;
        if let Some((_, map)) = k.interfaces.iter().find(|(i, _)| *i == iface) {
            let vt = *map.get(usize::from(token))?;
            let table = if vt & 0x80 != 0 {
                &target_class.package
            } else {
                &target_class.public
            };
            return table.get(usize::from(vt & 0x7F)).copied();
        }
        cur = k.super_class;
    }
    None
}

/// AppletEvent.uninstall of an applet class, when it implements it.
fn applet_event_target(rt: &Runtime, class: u32) -> Option<Target> {
    interface_target(
        rt,
        class,
        rt.sys.applet_event,
        "javacard/framework/AppletEvent",
        "uninstall",
    )
}

/// A readable account of how a call ended.
fn describe(rt: &Runtime, heap: &Heap, exit: &Exit) -> String {
    match exit {
        Exit::Return(_) => "a normal return".into(),
        Exit::Fatal(why) | Exit::Mute(why) => why.clone(),
        Exit::Uncaught(obj) => {
            let (name, reason) = match heap.get(*obj) {
                Some(Obj::Instance { class, native, .. }) => (
                    rt.class(*class).map_or("?".to_string(), |k| k.name.clone()),
                    match native {
                        NativeData::Reason(r) => format!(" (reason {:04X})", *r as u16),
                        _ => String::new(),
                    },
                ),
                _ => ("an array".into(), String::new()),
            };
            let _ = Sys::Iso;
            format!("an uncaught {name}{reason}")
        }
    }
}
