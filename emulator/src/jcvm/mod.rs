//! The Java Card virtual machine of the emulated card: the linker
//! ([`runtime`]), pre-decoded code ([`code`]), the interpreter
//! ([`interp`]), the persistent heap with its transactions ([`heap`]) and
//! the JCRE state of a call ([`env`]).
//!
//! [`Jcvm`] is what the card manager calls: link a load file, run an
//! applet's install(), select(), deselect() and process(). The linked
//! program is volatile (rebuilt from the load files after a restart); the
//! heap lives in the card state and is saved at commit points by the card.

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

pub mod code;
pub mod env;
pub mod heap;
pub mod interp;
pub mod runtime;

use cap_tools::api::{self, ApiVersion};
use cap_tools::Cap;

use crate::natives::apdu::BUFFER_SIZE;
use crate::natives::Sys;
use crate::profile::CardProfile;
use crate::state::CardState;
use env::{Env, Installing};
use heap::{ArrayData, Heap, NativeData, Obj, ObjId, CLEAR_ON_DESELECT, CLEAR_ON_RESET};
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
}

/// An applet instance with its object, context and life-cycle methods.
#[derive(Debug, Clone)]
struct AppletCache {
    aid: Vec<u8>,
    obj: ObjId,
    context: u32,
    /// select, deselect, process.
    methods: [Target; 3],
}

/// Index of an Applet method in [`AppletCache::methods`].
const SELECT: usize = 0;
const DESELECT: usize = 1;
const PROCESS: usize = 2;

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
        if let Some(env) = &mut self.env {
            env.active = None;
            env.crypto.clear();
        }
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
        // The JCRE's own objects: the APDU and its buffer.
        if !state.heap.system.contains_key("apdu") {
            let rt = self.rt.as_ref().ok_or("no runtime")?;
            let ctx = state.heap.context_index(&state.profile.isd_aid.clone());
            let buffer = state
                .heap
                .alloc(
                    Obj::Array {
                        data: ArrayData::Byte(vec![0; BUFFER_SIZE]),
                        transient: CLEAR_ON_RESET,
                        owner: ctx,
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
        package: &[u8],
        module: &[u8],
        instance: &[u8],
        privileges: &[u8],
        parameters: &[u8],
    ) -> Result<Vec<u8>, String> {
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
                    owner: context,
                    global: true,
                },
                (usize::MAX, usize::MAX),
            )
            .map_err(|_| "no memory for the install parameters")?;
        let env = self.env.as_mut().ok_or("no environment")?;
        env.context = context;
        env.applet = instance.to_vec();
        env.selecting = false;
        env.installing = Some(Installing {
            aid: instance.to_vec(),
            registered: None,
        });
        let exit = self.machine.call(
            rt,
            &mut state.heap,
            env,
            Target::Code(method),
            &[barray as i32, 0, len],
        );
        state.heap.free(barray);
        if state.heap.in_transaction() {
            let _ = state.heap.abort();
        }
        let registered = env.installing.take().and_then(|i| i.registered);
        match exit {
            Exit::Return(_) => {}
            other => {
                return Err(format!(
                    "install() failed: {}",
                    describe(rt, &state.heap, &other)
                ))
            }
        }
        let (aid, obj) = registered.ok_or("install() returned without calling register()")?;
        state.heap.applets.insert(hex::encode_upper(&aid), obj);
        env.registry.push(aid.clone());
        state.heap.dirty = true;
        Ok(aid)
    }

    /// select() of an applet: `Ok(true)` when it accepts.
    pub fn select(&mut self, state: &mut CardState, aid: &[u8]) -> Answer {
        match self.call(state, aid, SELECT, None) {
            Ok(Exit::Return(Some(v))) if v != 0 => {
                if let Some(env) = &mut self.env {
                    env.active = Some(aid.to_vec());
                }
                Answer::Response {
                    data: Vec::new(),
                    sw: SW_NO_ERROR,
                    note: None,
                }
            }
            Ok(Exit::Mute(why)) => Answer::Mute(why),
            Ok(other) => {
                let why = self.describe_exit(state, &other);
                Answer::sw(SW_APPLET_SELECT_FAILED, format!("select() refused: {why}"))
            }
            Err(why) => Answer::sw(SW_APPLET_SELECT_FAILED, why),
        }
    }

    /// deselect() of the active applet, then its CLEAR_ON_DESELECT transients.
    pub fn deselect(&mut self, state: &mut CardState, aid: &[u8]) -> Option<Answer> {
        let r = self.call(state, aid, DESELECT, None);
        if let Some(env) = &mut self.env {
            env.active = None;
        }
        let ctx = self.context_of(state, aid);
        if let Some(c) = ctx {
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

    /// process(apdu) of the selected applet.
    pub fn process(
        &mut self,
        state: &mut CardState,
        aid: &[u8],
        cmd: &gp::apdu::CommandApdu,
        selecting: bool,
    ) -> Answer {
        match self.call(state, aid, PROCESS, Some((cmd, selecting))) {
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
                let rt = self.rt.as_ref();
                let iso = rt.is_some_and(|rt| match state.heap.get(obj) {
                    Some(Obj::Instance { class, .. }) => {
                        rt.assignable(*class, rt.sys.iso_exception)
                    }
                    _ => false,
                });
                let reason = match state.heap.get(obj) {
                    Some(Obj::Instance {
                        native: NativeData::Reason(r),
                        ..
                    }) => Some(*r),
                    _ => None,
                };
                match (iso, reason) {
                    (true, Some(r)) => Answer::Response {
                        data: Vec::new(),
                        sw: r as u16,
                        note: Some(format!("ISOException {:04X}", r as u16)),
                    },
                    _ => {
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
        Ok(AppletCache {
            aid: aid.to_vec(),
            obj,
            context: rt.packages[p as usize].context,
            methods,
        })
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
        apdu: Option<(&gp::apdu::CommandApdu, bool)>,
    ) -> Result<Exit, String> {
        self.ready(state)?;
        let cached = match self.cache.take() {
            Some(c) if c.aid == aid => c,
            _ => self.resolve(state, aid)?,
        };
        let rt = self.rt.as_ref().ok_or("no runtime")?;
        let obj = cached.obj;
        let target = cached.methods[method];
        let context = cached.context;
        self.cache = Some(cached);
        let env = self.env.as_mut().ok_or("no environment")?;
        env.context = context;
        if env.applet != aid {
            env.applet = aid.to_vec();
        }
        env.installing = None;
        let mut args = [obj as i32, 0];
        let mut n = 1;
        if let Some((cmd, selecting)) = apdu {
            env.selecting = selecting;
            env.apdu.start(cmd.header(), cmd.data(), cmd.ne());
            let header = cmd.header();
            let p3 = env.apdu.p3;
            if let Some(Obj::Array {
                data: ArrayData::Byte(b),
                ..
            }) = state.heap.objects.get_mut(&env.apdu.buffer)
            {
                b[..4].copy_from_slice(&header);
                b[4] = p3;
            }
            args[1] = env.apdu.object as i32;
            n = 2;
        } else {
            env.selecting = false;
        }
        let budget = env.limits.budget;
        if let Some(cut) = self.cut_after.take() {
            env.limits.budget = cut;
        }
        let exit = self
            .machine
            .call(rt, &mut state.heap, env, target, &args[..n]);
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
