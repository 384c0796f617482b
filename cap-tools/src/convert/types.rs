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
//! The analysis is a forward data flow over the basic blocks (worklist,
//! exception handlers receiving the locals of every instruction they cover),
//! so code after joins is typed with what every path brings. Only the state
//! at the entry of each block is kept; a block is walked with one working
//! state. Inside a block every instruction has exactly one predecessor, so
//! the states met on the walk are those a per-instruction data flow would
//! store — but memory stays proportional to the number of blocks instead of
//! instructions × locals (a class file may declare 255 locals and thousands
//! of instructions; the limits are checked before typing, in `methods`).

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use std::rc::Rc;

use crate::classfile::insn::{op, Insn};

use super::error::{Error, Result};
use super::jc::JcOp;
use super::range::Range;
use super::step::{step, Env, Step};

/// The most stack words (and argument plus local words) of a Java Card
/// method: each is one byte in the method header (JCVM 6.9.1).
pub const MAX_WORDS: u32 = 255;

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
    pub src: Sources,
    pub konst: Option<i32>,
    /// The interval its JVM int lies in, when more is known than its kind
    /// says (see `range`); the kind's flags always agree with it.
    pub range: Option<Range>,
}

/// The instructions that may have produced a value, sorted. Most values
/// have one producer, which is kept inline: a push costs no allocation.
/// Values that went through joins have several, shared: a value passed from
/// frame to frame (block entries keep one frame each) costs no copy of its
/// sources, which after joins can be long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    None,
    One(u32),
    Many(Rc<[u32]>),
}

impl Sources {
    pub fn as_slice(&self) -> &[u32] {
        match self {
            Sources::None => &[],
            Sources::One(s) => std::slice::from_ref(s),
            Sources::Many(m) => m,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, u32> {
        self.as_slice().iter()
    }

    fn from_vec(v: Vec<u32>) -> Sources {
        match v[..] {
            [] => Sources::None,
            [s] => Sources::One(s),
            _ => Sources::Many(v.into()),
        }
    }
}

impl Val {
    pub fn new(kind: Kind, src: u32) -> Val {
        Val {
            kind,
            src: Sources::One(src),
            konst: None,
            range: Range::of_kind(kind),
        }
    }

    /// A number produced by instruction `src` whose JVM int lies in
    /// `range` (when known): its kind gains what the range proves.
    pub fn ranged(kind: Kind, src: u32, range: Option<Range>) -> Val {
        let range = Range::meet(range, Range::of_kind(kind));
        Val {
            kind: range.map_or(kind, |r| r.refine(kind)),
            src: Sources::One(src),
            konst: range.and_then(|r| (r.lo == r.hi).then_some(r.lo)),
            range,
        }
    }
}

/// The frame before an instruction. Stack and locals are shared between
/// frames until one of them changes (copy on write), so that block entry
/// states that agree — a chain of `goto`s through a deep stack, blocks that
/// leave the locals alone — share their memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub stack: Rc<[Val]>,
    /// One entry per JVM local slot; `None` when unset or unusable here.
    pub locals: Rc<[Option<Val>]>,
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
    pub plans: Vec<Option<(Vec<JcOp>, super::step::Succ)>>,
    /// Maximum Java Card stack words.
    pub max_stack: u32,
    /// Per JVM local slot: does it ever hold an int (two JC words)?
    pub wide_slots: Vec<bool>,
    /// Any int instruction, value or local at all.
    pub uses_int: bool,
    /// Remarks for the user, one per instruction that made one.
    pub notes: Vec<String>,
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
            demands.force.extend(b.src.iter());
            Kind::Int
        }
        (Kind::Short { .. }, Kind::Int) => {
            demands.force.extend(a.src.iter());
            Kind::Int
        }
        _ => return None,
    };
    let src = union(&a.src, &b.src);
    let range = match (kind, a.range, b.range) {
        (Kind::Short { .. }, Some(ra), Some(rb)) => Some(ra.widen(rb)),
        _ => None,
    };
    Some(Val {
        kind: range.map_or(kind, |r| r.refine(kind)),
        src,
        konst: if a.konst == b.konst { a.konst } else { None },
        range,
    })
}

/// The sorted union of two sorted source lists, sharing one of them when
/// it holds the other.
fn union(a: &Sources, b: &Sources) -> Sources {
    let (sa, sb) = (a.as_slice(), b.as_slice());
    let same = matches!((a, b), (Sources::Many(x), Sources::Many(y)) if Rc::ptr_eq(x, y));
    if same || sb.iter().all(|s| sa.binary_search(s).is_ok()) {
        return a.clone();
    }
    if sa.iter().all(|s| sb.binary_search(s).is_ok()) {
        return b.clone();
    }
    // Both are sorted: one pass, linear in their lengths.
    let mut src = Vec::with_capacity(sa.len() + sb.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (sa.get(i), sb.get(j)) {
        src.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    src.extend_from_slice(&sa[i..]);
    src.extend_from_slice(&sb[j..]);
    Sources::from_vec(src)
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
    let stack_changed = merge_slots(&mut cur.stack, &incoming.stack, |a, b| {
        merge_val(a, b, demands)
            .ok_or_else(|| "a reference and a number meet on the operand stack".to_string())
    })?;
    let locals_changed = merge_slots(&mut cur.locals, &incoming.locals, |a, b| {
        Ok(match (a, b) {
            (Some(a), Some(b)) => merge_val(a, b, demands),
            _ => None,
        })
    })?;
    Ok(stack_changed || locals_changed)
}

/// Merges `incoming` into the shared slots `cur` element by element with
/// `merge`; true when `cur` changed. Joins are met once per instruction a
/// handler covers and once per branch, and most change nothing: the slots
/// are copied only at the first element that differs, so an unchanged join
/// costs no allocation (an identical frame not even a comparison).
fn merge_slots<T: Clone + PartialEq>(
    cur: &mut Rc<[T]>,
    incoming: &Rc<[T]>,
    mut merge: impl FnMut(&T, &T) -> std::result::Result<T, String>,
) -> std::result::Result<bool, String> {
    if Rc::ptr_eq(cur, incoming) {
        return Ok(false);
    }
    let n = cur.len().min(incoming.len());
    let mut merged: Option<Vec<T>> = None;
    for k in 0..n {
        let m = merge(&cur[k], &incoming[k])?;
        match &mut merged {
            Some(v) => v.push(m),
            None if m != cur[k] => {
                let mut v = Vec::with_capacity(n);
                v.extend_from_slice(&cur[..k]);
                v.push(m);
                merged = Some(v);
            }
            None => {}
        }
    }
    match merged {
        Some(v) => *cur = Rc::from(v),
        // Slots beyond the shorter frame are dropped, as a join keeps
        // only what both frames have.
        None if cur.len() > n => *cur = Rc::from(&cur[..n]),
        None => return Ok(false),
    }
    Ok(true)
}

/// Types a method, forcing ints until the typing is consistent.
pub fn analyse(env: &Env<'_>, insns: &[Insn], entry: State) -> Result<Analysis> {
    let by_pc: FxHashMap<u32, usize> = insns.iter().enumerate().map(|(i, x)| (x.pc, i)).collect();
    let handlers = handler_ranges(env, insns, &by_pc);
    let blocks = Blocks::new(insns, &by_pc, &handlers);
    let cx = Flow {
        env,
        insns,
        by_pc: &by_pc,
        handlers: &handlers,
        blocks: &blocks,
    };
    let mut forced: BTreeSet<u32> = BTreeSet::new();
    loop {
        let mut demands = Demands::default();
        let states = cx.flow(&entry, &forced, &mut demands)?;
        let new: Vec<u32> = demands.force.difference(&forced).copied().collect();
        if new.is_empty() {
            return cx.finish(&states, &forced);
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
    by_pc: &FxHashMap<u32, usize>,
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

/// The basic blocks of a method, as the instructions that start one.
struct Blocks {
    /// `leader[i]`: instruction `i` starts a block (it is the entry, a
    /// branch, switch or handler target, or follows an instruction that
    /// does not simply fall through).
    leader: Vec<bool>,
}

impl Blocks {
    fn new(
        insns: &[Insn],
        by_pc: &FxHashMap<u32, usize>,
        handlers: &[(usize, usize, usize)],
    ) -> Blocks {
        let mut leader = vec![false; insns.len()];
        if let Some(first) = leader.first_mut() {
            *first = true;
        }
        for (i, insn) in insns.iter().enumerate() {
            let targets = insn.targets();
            for t in &targets {
                if let Some(&k) = u32::try_from(*t).ok().and_then(|p| by_pc.get(&p)) {
                    leader[k] = true;
                }
            }
            if !targets.is_empty() || ends_block(insn.opcode) {
                if let Some(next) = leader.get_mut(i + 1) {
                    *next = true;
                }
            }
        }
        for &(_, _, h) in handlers {
            leader[h] = true;
        }
        Blocks { leader }
    }

    fn starts_block(&self, i: usize) -> bool {
        self.leader.get(i).copied().unwrap_or(false)
    }
}

/// Instructions after which control never simply goes on to the next one
/// (besides those with branch targets): returns, `athrow`, switches and
/// subroutines (the last are refused by `step`, but end a block all the same).
fn ends_block(opcode: u8) -> bool {
    matches!(
        opcode,
        op::JSR | op::RET | op::TABLESWITCH..=op::RETURN | op::ATHROW | op::JSR_W
    )
}

/// What the data flow of one method works on.
struct Flow<'f, 'a> {
    env: &'f Env<'a>,
    insns: &'f [Insn],
    by_pc: &'f FxHashMap<u32, usize>,
    handlers: &'f [(usize, usize, usize)],
    blocks: &'f Blocks,
}

impl Flow<'_, '_> {
    /// Walks the block that starts at `start` from its entry state,
    /// calling `visit` with each instruction's index, its state before and
    /// its step (whose plan `visit` may take; built only when `planning`),
    /// until control leaves the block.
    fn walk(
        &self,
        start: usize,
        entry: &State,
        forced: &BTreeSet<u32>,
        demands: &mut Demands,
        planning: bool,
        visit: &mut dyn FnMut(usize, &State, &mut Step, &mut Demands) -> Result<()>,
    ) -> Result<()> {
        let mut i = start;
        let mut before = entry.clone();
        let mut scratch = Vec::new();
        loop {
            let mut st = step(
                self.env,
                self.insns,
                self.by_pc,
                i,
                &before,
                forced,
                demands,
                planning,
                &mut scratch,
            )?;
            if st.peak > MAX_WORDS {
                // Forcing only widens values, so the final typing would need
                // at least as many words: refuse now, which also bounds the
                // frames kept per block.
                return Err(Error::at(
                    self.env.place(Some(self.insns[i].pc)),
                    format!(
                        "{}: the operand stack needs {} words; Java Card allows {MAX_WORDS}",
                        self.insns[i].mnemonic(),
                        st.peak
                    ),
                ));
            }
            visit(i, &before, &mut st, demands)?;
            let mut next = None;
            for &s in &st.succ {
                if self.blocks.starts_block(s) {
                    continue;
                }
                if s != i + 1 {
                    return Err(Error::at(
                        self.env.place(Some(self.insns[i].pc)),
                        format!(
                            "internal: instruction {s} is reached from {i} but starts no basic block"
                        ),
                    ));
                }
                next = Some(s);
            }
            match next {
                Some(s) => {
                    before = st.after;
                    i = s;
                }
                None => return Ok(()),
            }
        }
    }

    /// One pass of the data flow with a fixed set of forced instructions:
    /// the entry state of every reachable block (`None` elsewhere).
    fn flow(
        &self,
        entry: &State,
        forced: &BTreeSet<u32>,
        demands: &mut Demands,
    ) -> Result<Vec<Option<State>>> {
        let mut states: Vec<Option<State>> = vec![None; self.insns.len()];
        states[0] = Some(entry.clone());
        let mut work: BTreeSet<usize> = BTreeSet::from([0]);
        // A handler's stack: the exception reference alone.
        let caught: Rc<[Val]> = Rc::new([Val {
            kind: Kind::Ref,
            src: Sources::None,
            konst: None,
            range: None,
        }]);
        while let Some(b) = work.pop_first() {
            let Some(at_entry) = states[b].clone() else {
                continue;
            };
            self.walk(
                b,
                &at_entry,
                forced,
                demands,
                false,
                &mut |i, before, st, demands| {
                    let err = |m: String| Error::at(self.env.place(Some(self.insns[i].pc)), m);
                    for &s in &st.succ {
                        if self.blocks.starts_block(s)
                            && merge_into(&mut states[s], &st.after, demands).map_err(err)?
                        {
                            work.insert(s);
                        }
                    }
                    for &(start, end, h) in self.handlers {
                        if (start..end).contains(&i) {
                            let at_handler = State {
                                stack: caught.clone(),
                                locals: before.locals.clone(),
                            };
                            if merge_into(&mut states[h], &at_handler, demands).map_err(err)? {
                                work.insert(h);
                            }
                        }
                    }
                    Ok(())
                },
            )?;
        }
        Ok(states)
    }

    /// The final pass: plans, stack depth and local widths, walking every
    /// reachable block from its final entry state.
    fn finish(&self, states: &[Option<State>], forced: &BTreeSet<u32>) -> Result<Analysis> {
        let mut demands = Demands::default();
        let mut plans: Vec<Option<(Vec<JcOp>, super::step::Succ)>> = vec![None; self.insns.len()];
        let mut max_stack = 0u32;
        let slots = usize::from(self.env.code().max_locals);
        let mut wide_slots = vec![false; slots];
        let mut uses_int = !forced.is_empty();
        let mut notes = Vec::new();
        for (b, st) in states.iter().enumerate() {
            let Some(at_entry) = st else {
                continue;
            };
            self.walk(
                b,
                at_entry,
                forced,
                &mut demands,
                true,
                &mut |i, before, s, _| {
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
                    plans[i] = Some((std::mem::take(&mut s.plan), s.succ.clone()));
                    notes.extend(s.note.take());
                    Ok(())
                },
            )?;
        }
        Ok(Analysis {
            plans,
            max_stack,
            wide_slots,
            uses_int,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classfile::insn::decode;

    #[test]
    fn union_is_sorted_and_shares_a_superset() {
        let a = Sources::Many(Rc::from([1, 4, 9]));
        let b = Sources::Many(Rc::from([2, 4, 10, PARAM]));
        assert_eq!(union(&a, &b).as_slice(), &[1, 2, 4, 9, 10, PARAM]);
        let sub = Sources::One(4);
        let shares = |u: Sources, with: &Sources| match (u, with) {
            (Sources::Many(x), Sources::Many(y)) => Rc::ptr_eq(&x, y),
            _ => false,
        };
        assert!(shares(union(&a, &sub), &a));
        assert!(shares(union(&sub, &b), &b));
        assert!(shares(union(&a, &Sources::None), &a));
        assert_eq!(union(&Sources::One(3), &Sources::One(3)), Sources::One(3));
        assert_eq!(
            union(&Sources::One(5), &Sources::One(2)).as_slice(),
            &[2, 5]
        );
        assert_eq!(union(&Sources::None, &Sources::None), Sources::None);
    }

    #[test]
    fn blocks_start_at_targets_handlers_and_after_jumps() {
        // 0: iconst_0  1: ifeq 7  4: iconst_1  5: pop  6: return
        // 7: iconst_2  8: pop  9: goto 6
        let insns = decode(&[
            0x03, 0x99, 0x00, 0x06, 0x04, 0x57, 0xb1, 0x05, 0x57, 0xa7, 0xff, 0xfd,
        ])
        .unwrap();
        let by_pc: FxHashMap<u32, usize> =
            insns.iter().enumerate().map(|(i, x)| (x.pc, i)).collect();
        let blocks = Blocks::new(&insns, &by_pc, &[(2, 3, 4)]);
        let leaders: Vec<usize> = (0..insns.len())
            .filter(|&i| blocks.starts_block(i))
            .collect();
        // 0: the entry; 2: after ifeq; 4: goto's target and the handler of
        // the range (2, 3); 5: ifeq's target, after return.
        assert_eq!(leaders, vec![0, 2, 4, 5]);
    }
}
