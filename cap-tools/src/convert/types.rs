//! Typing the JVM operand stack and locals for Java Card.
//!
//! javac computes every byte, short and boolean expression in 32-bit int.
//! A Java Card VM without int support computes in 16 bits, which gives the
//! same result only while the low 16 bits are all that matters. So each
//! value carries what is known about its JVM int ([`Kind::Short`]):
//!
//! - `s`: the int is the sign extension of its low 16 bits (a genuine short:
//!   a load, a cast, a constant in short range);
//! - `u`: the int is the zero extension of its low 16 bits (`x & 0xFFFF`);
//! - neither: only the low 16 bits are right (`a + b`, `a * b`), which is
//!   enough for a cast back to short, a store into a short array, more
//!   low-bit arithmetic — but not for a comparison, an index or a division.
//!
//! When a value that is not exact reaches an instruction that needs its
//! whole int, the program needs int arithmetic: with int support the
//! instructions that produced it are *forced* to int (a load becomes
//! `sload; s2i`, an add `iadd`, a compare `icmp; if<cond>`), and the
//! analysis runs again until nothing more needs forcing; without it the
//! conversion fails naming the source line. Values with a declared int type
//! (int fields, parameters, returns, arrays) are ints from the start.
//!
//! The analysis is a forward data flow over the instructions (worklist,
//! exception handlers receiving the locals of every instruction they cover),
//! so code after joins is typed with what every path brings.

use std::collections::{BTreeSet, HashMap};

use crate::classfile::insn::Insn;

use super::error::{Error, Result};
use super::jc::JcOp;
use super::step::{step, Env};

/// The source of a local that holds a parameter (it cannot be widened).
pub const PARAM: u32 = u32::MAX;

/// What is known about a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 16-bit word on the Java Card stack standing for a JVM int.
    Short { s: bool, u: bool },
    /// A 32-bit int (two words).
    Int,
    /// A reference (or null).
    Ref,
}

impl Kind {
    /// A genuine short.
    pub const EXACT: Kind = Kind::Short { s: true, u: false };
    /// A value in 0..=32767 (booleans, lengths, masks with 0x7FFF).
    pub const SMALL: Kind = Kind::Short { s: true, u: true };
    /// Only the low 16 bits are known.
    pub const LOW16: Kind = Kind::Short { s: false, u: false };

    /// Java Card stack words.
    pub fn words(self) -> u32 {
        match self {
            Kind::Int => 2,
            _ => 1,
        }
    }
}

/// A value on the stack or in a local: its kind, the instructions that may
/// have produced it (what to force to make it an int) and its value when it
/// is a known constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val {
    pub kind: Kind,
    /// Producing instruction indices, sorted; [`PARAM`] for parameters.
    pub src: Vec<u32>,
    pub konst: Option<i32>,
}

impl Val {
    pub fn new(kind: Kind, src: u32) -> Val {
        Val {
            kind,
            src: vec![src],
            konst: None,
        }
    }
}

/// The frame before an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub stack: Vec<Val>,
    /// One entry per JVM local slot; `None` when unset or unusable here.
    pub locals: Vec<Option<Val>>,
}

impl State {
    /// Java Card stack words in use.
    pub fn depth(&self) -> u32 {
        self.stack.iter().map(|v| v.kind.words()).sum()
    }
}

/// Instructions that must become int (see the module documentation).
#[derive(Debug, Default)]
pub struct Demands {
    pub force: BTreeSet<u32>,
}

/// The typed method, ready to translate.
#[derive(Debug)]
pub struct Analysis {
    /// The Java Card code of each reachable instruction and its successors.
    pub plans: Vec<Option<(Vec<JcOp>, Vec<usize>)>>,
    /// Maximum Java Card stack words.
    pub max_stack: u32,
    /// Per JVM local slot: does it ever hold an int (two JC words)?
    pub wide_slots: Vec<bool>,
    /// Any int instruction, value or local at all.
    pub uses_int: bool,
}

/// Merges `b` into `a`; `None` when they cannot share a slot.
fn merge_val(a: &Val, b: &Val, demands: &mut Demands) -> Option<Val> {
    let kind = match (a.kind, b.kind) {
        (Kind::Ref, Kind::Ref) => Kind::Ref,
        (Kind::Int, Kind::Int) => Kind::Int,
        (Kind::Short { s: s1, u: u1 }, Kind::Short { s: s2, u: u2 }) => Kind::Short {
            s: s1 && s2,
            u: u1 && u2,
        },
        (Kind::Int, Kind::Short { .. }) => {
            demands.force.extend(&b.src);
            Kind::Int
        }
        (Kind::Short { .. }, Kind::Int) => {
            demands.force.extend(&a.src);
            Kind::Int
        }
        _ => return None,
    };
    let mut src = a.src.clone();
    for s in &b.src {
        if let Err(at) = src.binary_search(s) {
            src.insert(at, *s);
        }
    }
    Some(Val {
        kind,
        src,
        konst: if a.konst == b.konst { a.konst } else { None },
    })
}

/// Merges `incoming` into `slot`; true when `slot` changed.
fn merge_into(
    slot: &mut Option<State>,
    incoming: &State,
    demands: &mut Demands,
) -> std::result::Result<bool, String> {
    let Some(cur) = slot else {
        *slot = Some(incoming.clone());
        return Ok(true);
    };
    if cur.stack.len() != incoming.stack.len() {
        return Err(format!(
            "operand stacks of {} and {} values meet at a join",
            cur.stack.len(),
            incoming.stack.len()
        ));
    }
    let mut next = State {
        stack: Vec::with_capacity(cur.stack.len()),
        locals: Vec::with_capacity(cur.locals.len()),
    };
    for (a, b) in cur.stack.iter().zip(&incoming.stack) {
        next.stack.push(
            merge_val(a, b, demands)
                .ok_or_else(|| "a reference and a number meet on the operand stack".to_string())?,
        );
    }
    for (a, b) in cur.locals.iter().zip(&incoming.locals) {
        next.locals.push(match (a, b) {
            (Some(a), Some(b)) => merge_val(a, b, demands),
            _ => None,
        });
    }
    let changed = next != *cur;
    *cur = next;
    Ok(changed)
}

/// Types a method, forcing ints until the typing is consistent.
pub fn analyse(env: &Env<'_>, insns: &[Insn], entry: State) -> Result<Analysis> {
    let by_pc: HashMap<u32, usize> = insns.iter().enumerate().map(|(i, x)| (x.pc, i)).collect();
    let handlers = handler_ranges(env, insns, &by_pc);
    let mut forced: BTreeSet<u32> = BTreeSet::new();
    loop {
        let mut demands = Demands::default();
        let states = flow(env, insns, &by_pc, &handlers, &entry, &forced, &mut demands)?;
        let new: Vec<u32> = demands.force.difference(&forced).copied().collect();
        if new.is_empty() {
            return finish(env, insns, &by_pc, states, &forced);
        }
        if new.contains(&PARAM) {
            return Err(Error::at(
                env.place(None),
                "a parameter's slot would have to hold an int; use a separate local variable",
            ));
        }
        forced.extend(new);
    }
}

/// (first index, end index, handler index) of every exception table entry.
fn handler_ranges(
    env: &Env<'_>,
    insns: &[Insn],
    by_pc: &HashMap<u32, usize>,
) -> Vec<(usize, usize, usize)> {
    let index_at = |pc: u16| {
        insns
            .iter()
            .position(|x| x.pc >= u32::from(pc))
            .unwrap_or(insns.len())
    };
    env.code()
        .exception_table
        .iter()
        .filter_map(|e| {
            let h = *by_pc.get(&u32::from(e.handler_pc))?;
            Some((index_at(e.start_pc), index_at(e.end_pc), h))
        })
        .collect()
}

/// One pass of the data flow with a fixed set of forced instructions.
fn flow(
    env: &Env<'_>,
    insns: &[Insn],
    by_pc: &HashMap<u32, usize>,
    handlers: &[(usize, usize, usize)],
    entry: &State,
    forced: &BTreeSet<u32>,
    demands: &mut Demands,
) -> Result<Vec<Option<State>>> {
    let mut states: Vec<Option<State>> = vec![None; insns.len()];
    states[0] = Some(entry.clone());
    let mut work: BTreeSet<usize> = BTreeSet::from([0]);
    while let Some(i) = work.pop_first() {
        let before = states[i].clone().expect("queued instructions have a state");
        let st = step(env, insns, by_pc, i, &before, forced, demands)?;
        let err = |m: String| Error::at(env.place(Some(insns[i].pc)), m);
        for &s in &st.succ {
            if merge_into(&mut states[s], &st.after, demands).map_err(err)? {
                work.insert(s);
            }
        }
        for &(start, end, h) in handlers {
            if (start..end).contains(&i) {
                let at_handler = State {
                    stack: vec![Val {
                        kind: Kind::Ref,
                        src: Vec::new(),
                        konst: None,
                    }],
                    locals: before.locals.clone(),
                };
                if merge_into(&mut states[h], &at_handler, demands).map_err(err)? {
                    work.insert(h);
                }
            }
        }
    }
    Ok(states)
}

/// The final pass: plans, stack depth and local widths.
fn finish(
    env: &Env<'_>,
    insns: &[Insn],
    by_pc: &HashMap<u32, usize>,
    states: Vec<Option<State>>,
    forced: &BTreeSet<u32>,
) -> Result<Analysis> {
    let mut demands = Demands::default();
    let mut plans = Vec::with_capacity(insns.len());
    let mut max_stack = 0u32;
    let slots = env.code().max_locals as usize;
    let mut wide_slots = vec![false; slots];
    let mut uses_int = !forced.is_empty();
    for (i, st) in states.iter().enumerate() {
        let Some(before) = st else {
            plans.push(None);
            continue;
        };
        let s = step(env, insns, by_pc, i, before, forced, &mut demands)?;
        max_stack = max_stack.max(s.peak);
        for state in [before, &s.after] {
            for v in state.stack.iter() {
                uses_int |= v.kind == Kind::Int;
            }
            for (k, l) in state.locals.iter().enumerate() {
                if l.as_ref().is_some_and(|v| v.kind == Kind::Int) {
                    if let Some(w) = wide_slots.get_mut(k) {
                        *w = true;
                    }
                    uses_int = true;
                }
            }
        }
        plans.push(Some((s.plan, s.succ)));
    }
    Ok(Analysis {
        plans,
        max_stack,
        wide_slots,
        uses_int,
    })
}
