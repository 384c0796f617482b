//! The interpreter: runs pre-decoded methods ([`super::code::Op`]) on one
//! word stack shared by all frames (a frame's locals are its arguments in
//! place, then its other locals, then its operand stack), with the
//! budgets of [`Limits`]: frame depth, stack words, instructions per call.
//!
//! Words are `i32` holding a sign-extended short, a reference (object id,
//! 0 for null) or one half of an int (high word first, JCVM 3.1.1).
//! Runtime errors become the Java Card exceptions; what cannot be an
//! exception (a budget spent, hostile code) ends the call with [`Exit::Fatal`]
//! or [`Exit::Mute`].

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

use super::heap::{
    is_jcre, read_elem, ArrayData, Heap, Obj, ObjId, TxError, CLEAR_ON_DESELECT, JCRE_TEMP,
    NOT_TRANSIENT,
};
use super::runtime::{Cp, Runtime, Target};
use crate::natives::{self, Sys};

/// Limits of a card, from its profile.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub persistent: usize,
    pub transient: usize,
    pub commit_capacity: usize,
    /// Instructions per APDU (or per install).
    pub budget: u64,
    pub max_frames: usize,
    pub max_words: usize,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Return(Option<i32>),
    Uncaught(ObjId),
    /// The call cannot go on: hostile code, an unimplemented API method,
    /// a stack limit. The card answers 6F00.
    Fatal(String),
    /// The instruction budget is spent: the card goes mute.
    Mute(String),
}

/// An exception in flight, or the end of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exc {
    Throw(ObjId),
    Fatal(String),
    Mute(String),
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    method: u32,
    /// Index of the next op.
    pc: u32,
    /// First local.
    base: u32,
    /// First operand stack word.
    sp0: u32,
    /// The call switched context (a Shareable interface method of another
    /// context): returning from it, or unwinding past it, switches back.
    switched: bool,
}

/// A context the firewall left for a call into another one, restored when
/// that call ends: the context and the applet whose AID
/// JCSystem.getAID answers in it.
#[derive(Debug, Clone, Default)]
pub struct Saved {
    pub context: u32,
    pub applet: Vec<u8>,
}

/// Per-card execution context the natives see.
pub use super::env::Env;

/// A machine: the word stack and frames, reused across calls so a call
/// allocates nothing once warm.
#[derive(Debug, Default)]
pub struct Machine {
    stack: Vec<i32>,
    frames: Vec<Frame>,
    saved: Vec<Saved>,
}

/// One call in progress: what natives get.
pub struct Vm<'a> {
    pub rt: &'a Runtime,
    pub heap: &'a mut Heap,
    pub env: &'a mut Env,
    pub stack: &'a mut Vec<i32>,
    frames: &'a mut Vec<Frame>,
    /// The contexts left for the calls in progress, innermost last.
    saved: &'a mut Vec<Saved>,
    budget: u64,
}

/// A native's result.
pub enum Ret {
    Void,
    Word(i32),
    Int(i32),
    /// Call a method instead, with these argument words (the first `n`),
    /// and return what it returns (an API method that calls applet code,
    /// such as getAppletShareableInterfaceObject).
    Call(Target, [i32; 3], u8),
    /// The same, the method running in another context (the context and
    /// the applet it runs as): JCSystem.getAppletShareableInterfaceObject
    /// calls the server's getShareableInterfaceObject in the server's.
    CallIn(Target, [i32; 3], u8, u32, Vec<u8>),
}

impl Machine {
    /// Calls `target` with `args` (words, `this` first) to the end. A
    /// panic in the interpreter (a bug, never input's fault) ends the call
    /// as [`Exit::Fatal`] instead of taking the emulator down.
    pub fn call(
        &mut self,
        rt: &Runtime,
        heap: &mut Heap,
        env: &mut Env,
        target: Target,
        args: &[i32],
    ) -> Exit {
        let run = std::panic::AssertUnwindSafe(|| self.call_inner(rt, heap, env, target, args));
        std::panic::catch_unwind(run)
            .unwrap_or_else(|_| Exit::Fatal("internal error in the interpreter".into()))
    }

    fn call_inner(
        &mut self,
        rt: &Runtime,
        heap: &mut Heap,
        env: &mut Env,
        target: Target,
        args: &[i32],
    ) -> Exit {
        self.stack.clear();
        self.frames.clear();
        self.saved.clear();
        if self.stack.capacity() < env.limits.max_words {
            self.stack.reserve(env.limits.max_words);
        }
        let budget = env.limits.budget;
        // The applet the JCRE calls is the currently selected one for the
        // whole call (its install(), select(), process(), deselect() or
        // uninstall()), whatever Shareable calls switch to.
        env.selected_context = env.context;
        let mut vm = Vm {
            rt,
            heap,
            env,
            stack: &mut self.stack,
            frames: &mut self.frames,
            saved: &mut self.saved,
            budget,
        };
        vm.stack.extend_from_slice(args);
        let nargs = args.len() as u8;
        let first = vm.invoke(target, nargs);
        let exit = match first {
            Ok(Some(v)) => Exit::Return(v),
            Ok(None) => vm.run(),
            Err(e) => match vm.unwind_from(e) {
                Ok(()) => vm.run(),
                Err(exit) => exit,
            },
        };
        // A call that ended inside another context (a budget spent, a
        // fatal error) leaves the caller's context as it found it.
        if let Some(first) = self.saved.drain(..).next() {
            env.context = first.context;
            env.applet = first.applet;
        }
        exit
    }
}

macro_rules! fatal {
    ($($t:tt)*) => { return Err(Exc::Fatal(format!($($t)*))) };
}

impl Vm<'_> {
    /// Runs until the outermost frame returns.
    fn run(&mut self) -> Exit {
        loop {
            match self.exec() {
                Ok(v) => return Exit::Return(v),
                Err(e) => {
                    if let Err(exit) = self.unwind_from(e) {
                        return exit;
                    }
                }
            }
        }
    }

    /// Finds a handler for an exception; `Err` when the call is over.
    fn unwind_from(&mut self, e: Exc) -> Result<(), Exit> {
        let obj = match e {
            Exc::Throw(o) => o,
            Exc::Fatal(why) => return Err(Exit::Fatal(why)),
            Exc::Mute(why) => return Err(Exit::Mute(why)),
        };
        let class = self.class_of(obj);
        while let Some(f) = self.frames.last_mut() {
            let m = &self.rt.methods[f.method as usize];
            let at = f.pc.saturating_sub(1);
            let found = m.handlers.iter().find(|h| {
                h.start <= at
                    && at < h.end
                    && h.catch
                        .is_none_or(|c| class.is_some_and(|k| self.rt.assignable(k, c)))
            });
            if let Some(h) = found {
                f.pc = h.target;
                let sp0 = f.sp0 as usize;
                self.stack.truncate(sp0);
                self.stack.push(obj as i32);
                return Ok(());
            }
            let base = f.base as usize;
            let switched = f.switched;
            self.frames.pop();
            self.stack.truncate(base);
            if switched {
                self.leave();
            }
        }
        Err(Exit::Uncaught(obj))
    }

    /// The class of an object (arrays: Object).
    pub fn class_of(&self, obj: ObjId) -> Option<u32> {
        match self.heap.get(obj)? {
            Obj::Instance { class, .. } => Some(*class),
            Obj::Array { .. } => Some(self.rt.sys.object),
        }
    }

    /// Throws a framework exception (a JCRE-owned singleton per class, as
    /// on a card) with a reason.
    pub fn throw(&mut self, sys: Sys, reason: i16) -> Exc {
        let key = sys.class_name();
        let id = match self.heap.system.get(key) {
            Some(id) => *id,
            None => {
                let class = self.rt.sys.exceptions[sys.index()];
                let obj = Obj::Instance {
                    class,
                    fields: Vec::new(),
                    native: super::heap::NativeData::Reason(0),
                    owner: JCRE_TEMP,
                };
                match self.heap.alloc(obj, (usize::MAX, usize::MAX)) {
                    Ok(id) => {
                        self.heap.system.insert(key.to_string(), id);
                        id
                    }
                    Err(_) => return Exc::Fatal("no memory for an exception object".into()),
                }
            }
        };
        if let Some(Obj::Instance { native, .. }) = self.heap.objects.get_mut(&id) {
            *native = super::heap::NativeData::Reason(reason);
        }
        Exc::Throw(id)
    }

    /// Switches to `context` for the call whose frame was just pushed
    /// (JCRE 6.2.7): the running context and applet are saved, and
    /// restored when that frame returns or is unwound.
    fn enter(&mut self, context: u32, applet: Vec<u8>) {
        if let Some(f) = self.frames.last_mut() {
            f.switched = true;
            let applet = std::mem::replace(&mut self.env.applet, applet);
            self.saved.push(Saved {
                context: self.env.context,
                applet,
            });
            self.env.context = context;
        }
    }

    /// Back to the context a switched call left.
    fn leave(&mut self) {
        if let Some(s) = self.saved.pop() {
            self.env.context = s.context;
            self.env.applet = s.applet;
        }
    }

    /// The applet of the context the running one was called from
    /// (JCSystem.getPreviousContextAID); `None` when that is the JCRE.
    pub fn previous_applet(&self) -> Option<&[u8]> {
        self.saved.last().map(|s| s.applet.as_slice())
    }

    /// The applet a call into `context` through `obj` runs as: the applet
    /// itself when `obj` is one, else an applet of that package (objects
    /// record their package's context, not their applet instance).
    pub fn applet_of(&self, context: u32, obj: ObjId) -> Vec<u8> {
        let of_context = |id: &ObjId| self.heap.get(*id).is_some_and(|o| o.owner() == context);
        let found = self
            .heap
            .applets
            .iter()
            .find(|(_, id)| **id == obj)
            .or_else(|| self.heap.applets.iter().find(|(_, id)| of_context(id)));
        found
            .and_then(|(aid, _)| hex::decode(aid).ok())
            .unwrap_or_default()
    }

    /// Whether class `c` is an interface that is or extends Shareable.
    fn shareable(&self, c: u32) -> bool {
        self.rt.class(c).is_some_and(|k| k.interface)
            && self.rt.extends_interface(c, self.rt.sys.shareable)
    }

    /// The store half of the firewall (JCRE 6.2.8.1-3): a reference to a
    /// temporary JCRE entry point object or a global array cannot be
    /// kept in a field, a static or an array element.
    fn storable(&self, v: i32) -> bool {
        v == 0 || !self.heap.get(v as ObjId).is_some_and(Obj::is_temporary)
    }

    fn tx(&mut self, e: TxError) -> Exc {
        self.throw(Sys::Transaction, e as i16)
    }

    /// Starts a call: natives run at once (`Ok(Some(result))` only for the
    /// outermost call); methods get a frame.
    fn invoke(&mut self, target: Target, nargs: u8) -> Result<Option<Option<i32>>, Exc> {
        let n = usize::from(nargs);
        let len = self.stack.len();
        let sp0 = self.frames.last().map_or(0, |f| f.sp0 as usize);
        if len < sp0 + n {
            fatal!("stack underflow at a call");
        }
        match target {
            Target::Code(m) => {
                let method = &self.rt.methods[m as usize];
                if method.is_abstract {
                    fatal!("call of an abstract method");
                }
                if usize::from(method.nargs) != n {
                    fatal!(
                        "call with {n} argument words of a method taking {}",
                        method.nargs
                    );
                }
                if self.frames.len() >= self.env.limits.max_frames {
                    return Err(self.throw(Sys::System, natives::system_reason::NO_RESOURCE));
                }
                let base = len - n;
                let sp0 = len + usize::from(method.max_locals);
                if sp0 + usize::from(method.max_stack) + 2 > self.env.limits.max_words {
                    return Err(self.throw(Sys::System, natives::system_reason::NO_RESOURCE));
                }
                self.stack.resize(sp0, 0);
                self.frames.push(Frame {
                    method: m,
                    pc: 0,
                    base: base as u32,
                    sp0: sp0 as u32,
                    switched: false,
                });
                Ok(None)
            }
            Target::Native(nat) => {
                let base = len - n;
                let r = natives::framework::call(self, nat, base)?;
                self.stack.truncate(base);
                let top = self.frames.is_empty();
                let v = match r {
                    Ret::Void => None,
                    Ret::Word(w) => {
                        self.stack.push(w);
                        Some(w)
                    }
                    Ret::Int(i) => {
                        self.stack.push(i >> 16);
                        self.stack.push(i32::from(i as i16));
                        Some(i)
                    }
                    Ret::Call(target, args, n) => {
                        // The native's result is the call's: its arguments
                        // replace the native's, and its return value
                        // lands where the native's would have.
                        let n = n.min(3);
                        self.stack.extend_from_slice(&args[..usize::from(n)]);
                        return self.invoke(target, n);
                    }
                    Ret::CallIn(target, args, n, context, applet) => {
                        let n = n.min(3);
                        self.stack.extend_from_slice(&args[..usize::from(n)]);
                        let depth = self.frames.len();
                        let r = self.invoke(target, n)?;
                        if self.frames.len() > depth {
                            self.enter(context, applet);
                        }
                        return Ok(r);
                    }
                };
                Ok(top.then_some(v))
            }
            Target::Missing(i) => fatal!(
                "{} is not implemented by this emulator",
                self.rt
                    .missing
                    .get(i as usize)
                    .map_or("an API method", |s| s.as_str())
            ),
            Target::Abstract => fatal!("call of an abstract method"),
            Target::None => fatal!("call of a method that does not exist"),
        }
    }

    /// The object at a reference, or NullPointerException.
    fn obj(&mut self, r: i32) -> Result<&Obj, Exc> {
        if r == 0 {
            return Err(self.throw(Sys::NullPointer, 0));
        }
        match self.heap.objects.get(&(r as ObjId)) {
            Some(o) => Ok(o),
            None => fatal!("reference {r} to no object"),
        }
    }

    /// An array the running context may access (its own or a global
    /// one, JCRE 6.2.8.2; a CLEAR_ON_DESELECT one only while its context
    /// is the selected applet's, 6.1.5) and its length.
    fn array_len(&mut self, r: i32) -> Result<usize, Exc> {
        let ctx = self.env.context;
        let selected = self.env.selected_context;
        let (len, ok) = match self.obj(r)? {
            Obj::Array {
                data,
                owner,
                global,
                transient,
            } => (
                data.len(),
                (*owner == ctx || *global) && (*transient != CLEAR_ON_DESELECT || ctx == selected),
            ),
            Obj::Instance { .. } => (0, false),
        };
        if !ok {
            return Err(self.throw(Sys::Security, 0));
        }
        Ok(len)
    }

    /// aaload, baload, saload, iaload (`code`) of element `idx` of array
    /// `r`, in one object lookup (the commonest heap access of applet
    /// code): the access rules of [`Vm::array_len`], the bounds, and an
    /// element type that matches the instruction, else the exception to
    /// throw (the verifier rules out a mismatch in verified code; it is a
    /// SecurityException here, not a crash); `None` for a reference to no
    /// object at all, which only a broken heap has.
    fn array_load(&self, code: u8, r: i32, idx: i32) -> Result<i32, Option<Sys>> {
        if r == 0 {
            return Err(Some(Sys::NullPointer));
        }
        let Some(Obj::Array {
            data,
            owner,
            global,
            transient,
        }) = self.heap.objects.get(&(r as ObjId))
        else {
            return Err(self
                .heap
                .objects
                .contains_key(&(r as ObjId))
                .then_some(Sys::Security));
        };
        let ctx = self.env.context;
        if !((*owner == ctx || *global)
            && (*transient != CLEAR_ON_DESELECT || ctx == self.env.selected_context))
        {
            return Err(Some(Sys::Security));
        }
        if idx < 0 || idx as usize >= data.len() {
            return Err(Some(Sys::ArrayIndex));
        }
        let typed = matches!(
            (code, data),
            (0x24, ArrayData::Ref { .. })
                | (0x25, ArrayData::Byte(_) | ArrayData::Boolean(_))
                | (0x26, ArrayData::Short(_))
                | (0x27, ArrayData::Int(_))
        );
        if !typed {
            return Err(Some(Sys::Security));
        }
        Ok(read_elem(data, idx as usize))
    }

    /// An accessible array and a checked index.
    fn array_index(&mut self, r: i32, idx: i32) -> Result<usize, Exc> {
        let len = self.array_len(r)?;
        if idx < 0 || idx as usize >= len {
            return Err(self.throw(Sys::ArrayIndex, 0));
        }
        Ok(idx as usize)
    }

    fn exec(&mut self) -> Result<Option<i32>, Exc> {
        // The budget lives in a local for the loop (a register, not a
        // store per instruction) and goes back however the loop ends.
        let mut budget = self.budget;
        let r = self.exec_loop(&mut budget);
        self.budget = budget;
        r
    }

    /// The interpreter loop proper; `budget` is the instructions left.
    fn exec_loop(&mut self, budget: &mut u64) -> Result<Option<i32>, Exc> {
        let rt = self.rt;
        let Some(&f) = self.frames.last() else {
            return Ok(None);
        };
        let mut method = &rt.methods[f.method as usize];
        let mut ops = &method.code.ops[..];
        let mut cp = &rt.packages[method.package as usize].cp[..];
        let mut pc = f.pc as usize;
        let mut base = f.base as usize;
        let mut sp0 = f.sp0 as usize;
        // The running context, for the firewall's owner compares; it
        // changes only at calls and returns (reload!).
        let mut ctx = self.env.context;

        macro_rules! save_pc {
            () => {
                if let Some(fr) = self.frames.last_mut() {
                    fr.pc = pc as u32;
                }
            };
        }
        macro_rules! throw {
            ($sys:expr) => {{
                save_pc!();
                return Err(self.throw($sys, 0));
            }};
        }
        macro_rules! check {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => {
                        save_pc!();
                        return Err(e);
                    }
                }
            };
        }
        macro_rules! pop {
            () => {{
                if self.stack.len() <= sp0 {
                    fatal!("operand stack underflow");
                }
                self.stack.pop().unwrap_or(0)
            }};
        }
        macro_rules! push {
            ($v:expr) => {{
                let v: i32 = $v;
                self.stack.push(v)
            }};
        }
        macro_rules! pop_int {
            () => {{
                let lo = pop!();
                let hi = pop!();
                (hi << 16) | (lo & 0xFFFF)
            }};
        }
        macro_rules! push_int {
            ($v:expr) => {{
                let v: i32 = $v;
                self.stack.push(v >> 16);
                self.stack.push(i32::from(v as i16));
            }};
        }
        macro_rules! short {
            ($v:expr) => {
                i32::from(($v) as i16)
            };
        }
        macro_rules! local {
            ($i:expr) => {
                base + ($i as usize)
            };
        }
        macro_rules! reload {
            () => {{
                let Some(&f) = self.frames.last() else {
                    return Ok(None);
                };
                method = &rt.methods[f.method as usize];
                ops = &method.code.ops[..];
                cp = &rt.packages[method.package as usize].cp[..];
                pc = f.pc as usize;
                base = f.base as usize;
                sp0 = f.sp0 as usize;
                ctx = self.env.context;
            }};
        }
        macro_rules! jump {
            ($t:expr) => {{
                pc = $t as usize;
                if self.stack.len() > self.env.limits.max_words {
                    return Err(Exc::Fatal("operand stack overflow".into()));
                }
            }};
        }
        macro_rules! ret {
            ($words:expr) => {{
                let words: usize = $words;
                let len = self.stack.len();
                if len < sp0 + words {
                    fatal!("operand stack underflow at return");
                }
                let lo = if words > 0 { self.stack[len - 1] } else { 0 };
                let hi = if words > 1 { self.stack[len - 2] } else { 0 };
                let popped = self.frames.pop();
                self.stack.truncate(base);
                if popped.is_some_and(|f| f.switched) {
                    self.leave();
                }
                if words == 2 {
                    self.stack.push(hi);
                }
                if words > 0 {
                    self.stack.push(lo);
                }
                if self.frames.is_empty() {
                    return Ok(match words {
                        0 => None,
                        1 => Some(lo),
                        _ => Some((hi << 16) | (lo & 0xFFFF)),
                    });
                }
                reload!();
            }};
        }
        macro_rules! cmp_branch {
            ($cond:expr, $t:expr) => {{
                if $cond {
                    jump!($t);
                }
            }};
        }

        loop {
            let Some(&op) = ops.get(pc) else {
                fatal!("execution ran off the end of a method");
            };
            if *budget == 0 {
                return Err(Exc::Mute(format!(
                    "the instruction budget of {} per APDU is spent",
                    self.env.limits.budget
                )));
            }
            *budget -= 1;
            pc += 1;
            match op.code {
                0x00 => {}
                0x01 => push!(0),
                0x02..=0x08 => push!(i32::from(op.code) - 3),
                0x09..=0x0F => push_int!(i32::from(op.code) - 0x0A),
                0x10 | 0x11 => push!(op.a),
                0x12..=0x14 => push_int!(op.a),
                0x15 | 0x16 => push!(self.stack[local!(op.a)]),
                0x17 => {
                    let i = local!(op.a);
                    push!(self.stack[i]);
                    push!(self.stack[i + 1]);
                }
                0x18..=0x1B => push!(self.stack[local!(op.code - 0x18)]),
                0x1C..=0x1F => push!(self.stack[local!(op.code - 0x1C)]),
                0x20..=0x23 => {
                    let i = local!(op.code - 0x20);
                    push!(self.stack[i]);
                    push!(self.stack[i + 1]);
                }
                0x24..=0x27 => {
                    let idx = pop!();
                    let r = pop!();
                    let v = match self.array_load(op.code, r, idx) {
                        Ok(v) => v,
                        Err(Some(sys)) => throw!(sys),
                        Err(None) => fatal!("reference {r} to no object"),
                    };
                    if op.code == 0x27 {
                        push_int!(v);
                    } else {
                        push!(v);
                    }
                }
                0x28 | 0x29 => {
                    let v = pop!();
                    self.stack[local!(op.a)] = v;
                }
                0x2A => {
                    let lo = pop!();
                    let hi = pop!();
                    let i = local!(op.a);
                    self.stack[i] = hi;
                    self.stack[i + 1] = lo;
                }
                0x2B..=0x2E => {
                    let v = pop!();
                    self.stack[local!(op.code - 0x2B)] = v;
                }
                0x2F..=0x32 => {
                    let v = pop!();
                    self.stack[local!(op.code - 0x2F)] = v;
                }
                0x33..=0x36 => {
                    let lo = pop!();
                    let hi = pop!();
                    let i = local!(op.code - 0x33);
                    self.stack[i] = hi;
                    self.stack[i + 1] = lo;
                }
                0x37..=0x3A => {
                    let v = if op.code == 0x3A { pop_int!() } else { pop!() };
                    let idx = pop!();
                    let r = pop!();
                    let i = check!(self.array_index(r, idx));
                    let Some(Obj::Array { data, .. }) = self.heap.objects.get(&(r as ObjId)) else {
                        fatal!("array vanished");
                    };
                    let ok = match (op.code, data) {
                        (0x37, ArrayData::Ref { class, .. }) => {
                            let elem = *class;
                            if !self.storable(v) {
                                throw!(Sys::Security);
                            }
                            v == 0 || self.instance_of(v as ObjId, elem)
                        }
                        (0x38, ArrayData::Byte(_) | ArrayData::Boolean(_))
                        | (0x39, ArrayData::Short(_))
                        | (0x3A, ArrayData::Int(_)) => true,
                        (0x37, _) => false,
                        _ => throw!(Sys::Security),
                    };
                    if !ok {
                        throw!(Sys::ArrayStore);
                    }
                    if let Err(e) = self.heap.set_elem(r as ObjId, i, v) {
                        save_pc!();
                        return Err(self.tx(e));
                    }
                }
                0x3B => {
                    pop!();
                }
                0x3C => {
                    pop!();
                    pop!();
                }
                0x3D => {
                    let v = pop!();
                    push!(v);
                    push!(v);
                }
                0x3E => {
                    let b = pop!();
                    let a = pop!();
                    push!(a);
                    push!(b);
                    push!(a);
                    push!(b);
                }
                0x3F => {
                    // dup_x: copy the top m words n words down (n = 0: on top).
                    let (m, n) = (op.a as usize, op.b as usize);
                    let len = self.stack.len();
                    if m == 0 || m > 4 || (n != 0 && (n < m || n > 8)) || len < sp0 + m.max(n) {
                        fatal!("bad dup_x");
                    }
                    let at = if n == 0 { len } else { len - n };
                    let mut top = [0i32; 4];
                    top[..m].copy_from_slice(&self.stack[len - m..]);
                    for (k, w) in top[..m].iter().enumerate() {
                        self.stack.insert(at + k, *w);
                    }
                }
                0x40 => {
                    // swap_x: swap the top m words with the n words below.
                    let (m, n) = (op.a as usize, op.b as usize);
                    let len = self.stack.len();
                    if m == 0 || m > 2 || n == 0 || n > 2 || len < sp0 + m + n {
                        fatal!("bad swap_x");
                    }
                    self.stack[len - m - n..].rotate_left(n);
                }
                0x41 => {
                    let b = pop!();
                    let a = pop!();
                    push!(short!(a.wrapping_add(b)));
                }
                0x43 => {
                    let b = pop!();
                    let a = pop!();
                    push!(short!(a.wrapping_sub(b)));
                }
                0x45 => {
                    let b = pop!();
                    let a = pop!();
                    push!(short!(a.wrapping_mul(b)));
                }
                0x47 | 0x49 => {
                    let b = pop!();
                    let a = pop!();
                    if b == 0 {
                        throw!(Sys::Arithmetic);
                    }
                    let (a, b) = (a as i16, b as i16);
                    push!(i32::from(if op.code == 0x47 {
                        a.wrapping_div(b)
                    } else {
                        a.wrapping_rem(b)
                    }));
                }
                0x4B => {
                    let a = pop!();
                    push!(short!(a.wrapping_neg()));
                }
                0x4D => {
                    let b = pop!();
                    let a = pop!();
                    push!(short!(a << (b & 0x1F)));
                }
                0x4F => {
                    let b = pop!();
                    let a = pop!();
                    push!(short!(a >> (b & 0x1F)));
                }
                0x51 => {
                    let b = pop!();
                    let a = pop!();
                    push!(short!((a as u32) >> (b & 0x1F)));
                }
                0x53 => {
                    let b = pop!();
                    let a = pop!();
                    push!(a & b);
                }
                0x55 => {
                    let b = pop!();
                    let a = pop!();
                    push!(a | b);
                }
                0x57 => {
                    let b = pop!();
                    let a = pop!();
                    push!(a ^ b);
                }
                0x42 | 0x44 | 0x46 | 0x48 | 0x4A | 0x4E | 0x50 | 0x52 | 0x54 | 0x56 | 0x58
                | 0x5F => {
                    let b = pop_int!();
                    let a = pop_int!();
                    match op.code {
                        0x42 => push_int!(a.wrapping_add(b)),
                        0x44 => push_int!(a.wrapping_sub(b)),
                        0x46 => push_int!(a.wrapping_mul(b)),
                        0x48 | 0x4A => {
                            if b == 0 {
                                throw!(Sys::Arithmetic);
                            }
                            push_int!(if op.code == 0x48 {
                                a.wrapping_div(b)
                            } else {
                                a.wrapping_rem(b)
                            })
                        }
                        0x4E => push_int!(a.wrapping_shl(b as u32 & 0x1F)),
                        0x50 => push_int!(a >> (b & 0x1F)),
                        0x52 => push_int!(((a as u32) >> (b & 0x1F)) as i32),
                        0x54 => push_int!(a & b),
                        0x56 => push_int!(a | b),
                        0x58 => push_int!(a ^ b),
                        _ => push!(match a.cmp(&b) {
                            std::cmp::Ordering::Less => -1,
                            std::cmp::Ordering::Equal => 0,
                            std::cmp::Ordering::Greater => 1,
                        }),
                    }
                }
                0x4C => {
                    let a = pop_int!();
                    push_int!(a.wrapping_neg());
                }
                0x59 | 0x96 => {
                    let i = local!(op.a);
                    self.stack[i] = short!(self.stack[i].wrapping_add(op.b));
                }
                0x5A | 0x97 => {
                    let i = local!(op.a);
                    let v = (self.stack[i] << 16) | (self.stack[i + 1] & 0xFFFF);
                    let v = v.wrapping_add(op.b);
                    self.stack[i] = v >> 16;
                    self.stack[i + 1] = i32::from(v as i16);
                }
                0x5B => {
                    let a = pop!();
                    push!(i32::from(a as i8));
                }
                0x5C => {
                    let a = pop!();
                    push_int!(a);
                }
                0x5D => {
                    let a = pop_int!();
                    push!(i32::from(a as i8));
                }
                0x5E => {
                    let a = pop_int!();
                    push!(short!(a));
                }
                0x60..=0x65 | 0x98..=0x9D => {
                    let v = pop!();
                    let c = if op.code >= 0x98 {
                        op.code - 0x98
                    } else {
                        op.code - 0x60
                    };
                    let t = match c {
                        0 => v == 0,
                        1 => v != 0,
                        2 => v < 0,
                        3 => v >= 0,
                        4 => v > 0,
                        _ => v <= 0,
                    };
                    cmp_branch!(t, op.a);
                }
                0x66 | 0x9E => {
                    let v = pop!();
                    cmp_branch!(v == 0, op.a);
                }
                0x67 | 0x9F => {
                    let v = pop!();
                    cmp_branch!(v != 0, op.a);
                }
                0x68 | 0xA0 => {
                    let b = pop!();
                    let a = pop!();
                    cmp_branch!(a == b, op.a);
                }
                0x69 | 0xA1 => {
                    let b = pop!();
                    let a = pop!();
                    cmp_branch!(a != b, op.a);
                }
                0x6A..=0x6F | 0xA2..=0xA7 => {
                    let b = pop!();
                    let a = pop!();
                    let c = if op.code >= 0xA2 {
                        op.code - 0xA2
                    } else {
                        op.code - 0x6A
                    };
                    let t = match c {
                        0 => a == b,
                        1 => a != b,
                        2 => a < b,
                        3 => a >= b,
                        4 => a > b,
                        _ => a <= b,
                    };
                    cmp_branch!(t, op.a);
                }
                0x70 | 0xA8 => jump!(op.a),
                0x71 => {
                    push!(pc as i32);
                    jump!(op.a);
                }
                0x72 => {
                    let t = self.stack[local!(op.a)];
                    if t < 0 || t as usize >= ops.len() {
                        fatal!("ret to a bad address");
                    }
                    jump!(t);
                }
                0x73..=0x76 => {
                    let key = if op.code == 0x74 || op.code == 0x76 {
                        pop_int!()
                    } else {
                        pop!()
                    };
                    let t = match &method.code.switches[op.a as usize] {
                        super::code::Switch::Table {
                            low,
                            targets,
                            default,
                        } => {
                            let k = i64::from(key) - i64::from(*low);
                            if k >= 0 && (k as usize) < targets.len() {
                                targets[k as usize]
                            } else {
                                *default
                            }
                        }
                        super::code::Switch::Lookup { pairs, default } => pairs
                            .iter()
                            .find(|(m, _)| *m == key)
                            .map_or(*default, |(_, t)| *t),
                    };
                    jump!(t);
                }
                0x77 | 0x78 => ret!(1),
                0x79 => ret!(2),
                0x7A => ret!(0),
                0x7B..=0x7E => match cp[op.a as usize] {
                    Cp::StaticRef { image, slot } => {
                        push!(self.heap.statics[image as usize].refs[usize::from(slot)] as i32)
                    }
                    Cp::Static { image, offset } => {
                        let b = &self.heap.statics[image as usize].bytes;
                        let o = usize::from(offset);
                        let v = match op.code {
                            0x7C => b.get(o).map(|x| i32::from(*x as i8)),
                            0x7D => b
                                .get(o..o + 2)
                                .map(|x| i32::from(i16::from_be_bytes([x[0], x[1]]))),
                            _ => b
                                .get(o..o + 4)
                                .map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]])),
                        };
                        let Some(v) = v else {
                            fatal!("static field beyond the image")
                        };
                        if op.code == 0x7E {
                            push_int!(v);
                        } else {
                            push!(v);
                        }
                    }
                    Cp::Constant(v) => {
                        if op.code == 0x7E {
                            push_int!(v);
                        } else {
                            push!(v);
                        }
                    }
                    _ => fatal!("getstatic of a non-static-field entry"),
                },
                0x7F..=0x82 => {
                    let v = if op.code == 0x82 { pop_int!() } else { pop!() };
                    if op.code == 0x7F && !self.storable(v) {
                        throw!(Sys::Security);
                    }
                    let r = match cp[op.a as usize] {
                        Cp::StaticRef { image, slot } if op.code == 0x7F => self
                            .heap
                            .set_static_ref(image as usize, usize::from(slot), v as ObjId),
                        Cp::Static { image, offset } if op.code != 0x7F => {
                            let w = match op.code {
                                0x80 => 1,
                                0x81 => 2,
                                _ => 4,
                            };
                            let img = image as usize;
                            if self.heap.statics[img].bytes.len() < usize::from(offset) + w {
                                fatal!("static field beyond the image");
                            }
                            self.heap.set_static(img, usize::from(offset), w, v)
                        }
                        _ => fatal!("putstatic of a non-static-field entry"),
                    };
                    if let Err(e) = r {
                        save_pc!();
                        return Err(self.tx(e));
                    }
                }
                0x83..=0x86 | 0xA9..=0xAC | 0xAD..=0xB0 => {
                    let kind = match op.code {
                        0x83..=0x86 => op.code - 0x83,
                        0xA9..=0xAC => op.code - 0xA9,
                        _ => op.code - 0xAD,
                    };
                    let r = if op.code >= 0xAD {
                        self.stack[base]
                    } else {
                        pop!()
                    };
                    let Cp::Field(slot) = cp[op.a as usize] else {
                        fatal!("getfield of a non-field entry");
                    };
                    let s = usize::from(slot);
                    let o = check!(self.obj(r));
                    let Obj::Instance { fields, owner, .. } = o else {
                        throw!(Sys::Security)
                    };
                    // The firewall (JCRE 6.2.8.3): only the owning context
                    // reads an object's fields.
                    if *owner != ctx {
                        throw!(Sys::Security)
                    }
                    let Some(&w) = fields.get(s) else {
                        fatal!("field beyond the object")
                    };
                    if kind == 3 {
                        let Some(&lo) = fields.get(s + 1) else {
                            fatal!("field beyond the object")
                        };
                        push!(w);
                        push!(lo);
                    } else {
                        push!(w);
                    }
                }
                0x87..=0x8A | 0xB1..=0xB4 | 0xB5..=0xB8 => {
                    let kind = match op.code {
                        0x87..=0x8A => op.code - 0x87,
                        0xB1..=0xB4 => op.code - 0xB1,
                        _ => op.code - 0xB5,
                    };
                    let (hi, v) = if kind == 3 {
                        let lo = pop!();
                        let hi = pop!();
                        (hi, lo)
                    } else {
                        (0, pop!())
                    };
                    let r = if op.code >= 0xB5 {
                        self.stack[base]
                    } else {
                        pop!()
                    };
                    let Cp::Field(slot) = cp[op.a as usize] else {
                        fatal!("putfield of a non-field entry");
                    };
                    let s = usize::from(slot);
                    let len = match check!(self.obj(r)) {
                        Obj::Instance { fields, owner, .. } if *owner == ctx => fields.len(),
                        _ => throw!(Sys::Security),
                    };
                    if kind == 0 && !self.storable(v) {
                        throw!(Sys::Security);
                    }
                    if s + usize::from(kind == 3) >= len {
                        fatal!("field beyond the object");
                    }
                    let v = if kind == 1 { i32::from(v as i8) } else { v };
                    let mut res = if kind == 3 {
                        self.heap.set_field(r as ObjId, s, hi)
                    } else {
                        Ok(())
                    };
                    if res.is_ok() {
                        res = self
                            .heap
                            .set_field(r as ObjId, s + usize::from(kind == 3), v);
                    }
                    if let Err(e) = res {
                        save_pc!();
                        return Err(self.tx(e));
                    }
                }
                0x8B..=0x8E => {
                    save_pc!();
                    let mut switch = None;
                    let (target, nargs) = match (op.code, cp[op.a as usize]) {
                        (0x8B, Cp::Virtual { token, nargs }) => {
                            let len = self.stack.len();
                            if len < sp0 + usize::from(nargs) || nargs == 0 {
                                fatal!("stack underflow at invokevirtual");
                            }
                            let r = self.stack[len - usize::from(nargs)];
                            (check!(self.virtual_target(r, token)), nargs)
                        }
                        (0x8C | 0x8D, Cp::Direct { target, nargs }) => (target, nargs),
                        (0x8E, Cp::Class(iface)) => {
                            let nargs = (op.b & 0xFF) as u8;
                            let token = (op.b >> 8) as u8;
                            let len = self.stack.len();
                            if len < sp0 + usize::from(nargs) || nargs == 0 {
                                fatal!("stack underflow at invokeinterface");
                            }
                            let r = self.stack[len - usize::from(nargs)];
                            let (t, to) = check!(self.interface_target(r, iface, token));
                            switch = to.map(|c| (c, r as ObjId));
                            (t, nargs)
                        }
                        _ => fatal!("invoke through a constant of the wrong kind"),
                    };
                    if op.code == 0x8C {
                        let len = self.stack.len();
                        if nargs > 0 && self.stack[len - usize::from(nargs)] == 0 {
                            throw!(Sys::NullPointer);
                        }
                    }
                    let depth = self.frames.len();
                    if self.invoke(target, nargs)?.is_some() {
                        return Err(Exc::Fatal("native returned at the top".into()));
                    }
                    if let Some((context, obj)) = switch {
                        if self.frames.len() > depth {
                            let applet = self.applet_of(context, obj);
                            self.enter(context, applet);
                        }
                    }
                    reload!();
                }
                0x8F => {
                    let Cp::Class(c) = cp[op.a as usize] else {
                        fatal!("new of a non-class entry");
                    };
                    let Some(k) = rt.class(c) else {
                        fatal!("unlinked class")
                    };
                    if k.interface {
                        fatal!("new of an interface");
                    }
                    let obj = Obj::Instance {
                        class: c,
                        fields: vec![0; usize::from(k.words)],
                        native: super::heap::NativeData::None,
                        owner: ctx,
                    };
                    let r = self.alloc(obj);
                    let id = check!(r);
                    push!(id as i32);
                }
                0x90 | 0x91 => {
                    let n = pop!();
                    if n < 0 {
                        throw!(Sys::NegativeArraySize);
                    }
                    let n = n as usize;
                    let data = if op.code == 0x91 {
                        let Cp::Class(c) = cp[op.a as usize] else {
                            fatal!("anewarray of a non-class entry");
                        };
                        ArrayData::Ref {
                            class: c,
                            data: vec![0; n],
                        }
                    } else {
                        match op.a {
                            10 => ArrayData::Boolean(vec![0; n]),
                            11 => ArrayData::Byte(vec![0; n]),
                            12 => ArrayData::Short(vec![0; n]),
                            13 => ArrayData::Int(vec![0; n]),
                            t => fatal!("newarray of type {t}"),
                        }
                    };
                    let owner = self.env.context;
                    let r = self.alloc(Obj::Array {
                        data,
                        transient: NOT_TRANSIENT,
                        owner,
                        global: false,
                    });
                    let id = check!(r);
                    push!(id as i32);
                }
                0x92 => {
                    let r = pop!();
                    let len = check!(self.array_len(r));
                    push!(len as i32);
                }
                0x93 => {
                    let r = pop!();
                    if r == 0 {
                        throw!(Sys::NullPointer);
                    }
                    // JCRE 6.2.8.7: an exception of the running context or
                    // a JCRE entry point (the framework's exceptions).
                    let owner = check!(self.obj(r)).owner();
                    if owner != ctx && !is_jcre(owner) {
                        throw!(Sys::Security);
                    }
                    save_pc!();
                    return Err(Exc::Throw(r as ObjId));
                }
                0x94 | 0x95 => {
                    let r = if op.code == 0x94 {
                        *self.stack.last().unwrap_or(&0)
                    } else {
                        pop!()
                    };
                    if r != 0 && !self.may_cast(r as ObjId, op.a as u8, cp, op.b) {
                        throw!(Sys::Security);
                    }
                    let ok = r != 0 && self.type_check(r as ObjId, op.a as u8, cp, op.b);
                    if op.code == 0x94 {
                        if self.stack.len() <= sp0 {
                            fatal!("operand stack underflow");
                        }
                        if r != 0 && !ok {
                            throw!(Sys::ClassCast);
                        }
                    } else {
                        push!(i32::from(ok));
                    }
                }
                c => fatal!("opcode {c:#04X} is not defined"),
            }
        }
    }

    /// Allocates with the card's limits: NO_RESOURCE beyond them.
    pub fn alloc(&mut self, obj: Obj) -> Result<ObjId, Exc> {
        let limits = (self.env.limits.persistent, self.env.limits.transient);
        match self.heap.alloc(obj, limits) {
            Ok(id) => Ok(id),
            Err(_) => Err(self.throw(Sys::System, natives::system_reason::NO_RESOURCE)),
        }
    }

    /// invokevirtual (JCRE 6.2.8.4, 6.2.8.11): an object of the running
    /// context, a JCRE entry point object or a global array (whose
    /// methods are the JCRE's, run natively).
    fn virtual_target(&mut self, r: i32, token: u8) -> Result<Target, Exc> {
        if r == 0 {
            return Err(self.throw(Sys::NullPointer, 0));
        }
        let ctx = self.env.context;
        let c = match self.heap.get(r as ObjId) {
            Some(Obj::Instance { class, owner, .. }) if *owner == ctx || is_jcre(*owner) => *class,
            Some(Obj::Array { owner, global, .. }) if *owner == ctx || *global => {
                self.rt.sys.object
            }
            Some(_) => return Err(self.throw(Sys::Security, 0)),
            None => return Err(Exc::Fatal(format!("reference {r} to no object"))),
        };
        self.dispatch(c, token)
    }

    /// The method of class `c` with a virtual method token.
    fn dispatch(&self, c: u32, token: u8) -> Result<Target, Exc> {
        let k = self
            .rt
            .class(c)
            .ok_or_else(|| Exc::Fatal("unlinked class".into()))?;
        let table = if token & 0x80 != 0 {
            &k.package
        } else {
            &k.public
        };
        match table.get(usize::from(token & 0x7F)) {
            Some(t) => Ok(*t),
            None => Err(Exc::Fatal(format!(
                "{} has no method token {token}",
                k.name
            ))),
        }
    }

    /// invokeinterface (JCRE 6.2.8.5, 6.2.8.6): an object of the running
    /// context or a JCRE entry point object, or — through an interface
    /// that extends Shareable — a Shareable interface object of another
    /// context, whose method then runs in its owner's context (the
    /// context returned with the target).
    fn interface_target(
        &mut self,
        r: i32,
        iface: u32,
        token: u8,
    ) -> Result<(Target, Option<u32>), Exc> {
        if r == 0 {
            return Err(self.throw(Sys::NullPointer, 0));
        }
        let ctx = self.env.context;
        let (c, switch) = match self.heap.get(r as ObjId) {
            Some(Obj::Instance { class, owner, .. }) if *owner == ctx || is_jcre(*owner) => {
                (*class, None)
            }
            Some(Obj::Instance { class, owner, .. }) if self.shareable(iface) => {
                (*class, Some(*owner))
            }
            Some(Obj::Array { owner, global, .. }) if *owner == ctx || *global => {
                (self.rt.sys.object, None)
            }
            Some(_) => return Err(self.throw(Sys::Security, 0)),
            None => return Err(Exc::Fatal(format!("reference {r} to no object"))),
        };
        let mut cur = Some(c);
        while let Some(ci) = cur {
            let k = self
                .rt
                .class(ci)
                .ok_or_else(|| Exc::Fatal("unlinked class".into()))?;
            // The Class component lists every interface a class implements,
            // superinterfaces included, each with its own token map.
            if let Some((_, map)) = k.interfaces.iter().find(|(i, _)| *i == iface) {
                if let Some(&vt) = map.get(usize::from(token)) {
                    return Ok((self.dispatch(c, vt)?, switch));
                }
            }
            cur = k.super_class;
        }
        Err(self.throw(Sys::Security, 0))
    }

    /// The firewall of checkcast and instanceof (JCRE 6.2.8.2, 6.2.8.8-10):
    /// an object of the running context, a JCRE entry point object, a
    /// global array, or another context's object cast to (or tested
    /// against) an interface that extends Shareable.
    fn may_cast(&self, obj: ObjId, atype: u8, cp: &[Cp], cp_index: i32) -> bool {
        let ctx = self.env.context;
        match self.heap.get(obj) {
            Some(Obj::Instance { owner, .. }) if *owner == ctx || is_jcre(*owner) => true,
            Some(Obj::Instance { .. }) => {
                atype == 0
                    && matches!(cp.get(cp_index as usize), Some(Cp::Class(c)) if self.shareable(*c))
            }
            Some(Obj::Array { owner, global, .. }) => *owner == ctx || *global,
            None => true,
        }
    }

    /// instanceof against a class index.
    fn instance_of(&self, obj: ObjId, class: u32) -> bool {
        match self.heap.get(obj) {
            Some(Obj::Instance { class: c, .. }) => self.rt.assignable(*c, class),
            Some(Obj::Array { .. }) => class == self.rt.sys.object,
            None => false,
        }
    }

    /// checkcast/instanceof: `atype` 0 (class or interface at `cp_index`),
    /// 10..13 (primitive arrays), 14 (arrays of the class at `cp_index`).
    fn type_check(&self, obj: ObjId, atype: u8, cp: &[Cp], cp_index: i32) -> bool {
        let target = match cp.get(cp_index as usize) {
            Some(Cp::Class(c)) => Some(*c),
            _ => None,
        };
        match (self.heap.get(obj), atype) {
            (Some(Obj::Instance { class, .. }), 0) => {
                target.is_some_and(|t| self.rt.assignable(*class, t))
            }
            (Some(Obj::Array { .. }), 0) => target == Some(self.rt.sys.object),
            (Some(Obj::Array { data, .. }), t) => match (data, t) {
                (ArrayData::Boolean(_), 10)
                | (ArrayData::Byte(_), 11)
                | (ArrayData::Short(_), 12)
                | (ArrayData::Int(_), 13) => true,
                (ArrayData::Ref { class, .. }, 14) => {
                    target.is_some_and(|t| self.rt.assignable(*class, t))
                }
                _ => false,
            },
            _ => false,
        }
    }
}

impl Runtime {
    /// Whether class `s` is `t`, a subclass of it or implements it.
    pub fn assignable(&self, s: u32, t: u32) -> bool {
        if t == self.sys.object {
            return true;
        }
        let mut cur = Some(s);
        let mut depth = 0;
        while let Some(c) = cur {
            if c == t {
                return true;
            }
            let Some(k) = self.class(c) else { return false };
            if k.interfaces
                .iter()
                .any(|(i, _)| *i == t || self.extends_interface(*i, t))
            {
                return true;
            }
            depth += 1;
            if depth > 64 {
                return false;
            }
            cur = k.super_class;
        }
        false
    }

    /// Whether interface `i` extends `t` (directly or not).
    pub fn extends_interface(&self, i: u32, t: u32) -> bool {
        let mut todo = vec![i];
        let mut seen = 0;
        while let Some(x) = todo.pop() {
            if x == t {
                return true;
            }
            seen += 1;
            if seen > 256 {
                return false;
            }
            if let Some(k) = self.class(x) {
                if k.interface {
                    todo.extend(k.interfaces.iter().map(|(s, _)| *s));
                }
            }
        }
        false
    }
}
