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

use std::collections::{BTreeSet, HashMap};
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
    /// Shared: a value passed from frame to frame (block entries keep one
    /// frame each) costs no copy of its sources, which after joins can be
    /// long.
    pub src: Rc<[u32]>,
    pub konst: Option<i32>,
    /// The interval its JVM int lies in, when more is known than its kind
    /// says (see `range`); the kind's flags always agree with it.
    pub range: Option<Range>,
}

impl Val {
    pub fn new(kind: Kind, src: u32) -> Val {
        Val {
            kind,
            src: Rc::from([src]),
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
            src: Rc::from([src]),
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
    pub stack: Rc<Vec<Val>>,
    /// One entry per JVM local slot; `None` when unset or unusable here.
    pub locals: Rc<Vec<Option<Val>>>,
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
fn union(a: &Rc<[u32]>, b: &Rc<[u32]>) -> Rc<[u32]> {
    if Rc::ptr_eq(a, b) || b.iter().all(|s| a.binary_search(s).is_ok()) {
        return a.clone();
    }
    if a.iter().all(|s| b.binary_search(s).is_ok()) {
        return b.clone();
    }
    // Both are sorted: one pass, linear in their lengths.
    let mut src = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        src.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    src.extend_from_slice(&a[i..]);
    src.extend_from_slice(&b[j..]);
    src.into()
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
    let mut stack = Vec::with_capacity(cur.stack.len());
    for (a, b) in cur.stack.iter().zip(incoming.stack.iter()) {
        stack.push(
            merge_val(a, b, demands)
                .ok_or_else(|| "a reference and a number meet on the operand stack".to_string())?,
        );
    }
    let mut locals = Vec::with_capacity(cur.locals.len());
    for (a, b) in cur.locals.iter().zip(incoming.locals.iter()) {
        locals.push(match (a, b) {
            (Some(a), Some(b)) => merge_val(a, b, demands),
            _ => None,
        });
    }
    let mut changed = false;
    if stack != *cur.stack {
        cur.stack = Rc::new(stack);
        changed = true;
    }
    if locals != *cur.locals {
        cur.locals = Rc::new(locals);
        changed = true;
    }
    Ok(changed)
}

/// Types a method, forcing ints until the typing is consistent.
pub fn analyse(env: &Env<'_>, insns: &[Insn], entry: State) -> Result<Analysis> {
    let by_pc: HashMap<u32, usize> = insns.iter().enumerate().map(|(i, x)| (x.pc, i)).collect();
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
        by_pc: &HashMap<u32, usize>,
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
    by_pc: &'f HashMap<u32, usize>,
    handlers: &'f [(usize, usize, usize)],
    blocks: &'f Blocks,
}

impl Flow<'_, '_> {
    /// Walks the block that starts at `start` from its entry state,
    /// calling `visit` with each instruction's index, its state before and
    /// its step (whose plan `visit` may take), until control leaves the block.
    fn walk(
        &self,
        start: usize,
        entry: &State,
        forced: &BTreeSet<u32>,
        demands: &mut Demands,
        visit: &mut dyn FnMut(usize, &State, &mut Step, &mut Demands) -> Result<()>,
    ) -> Result<()> {
        let mut i = start;
        let mut before = entry.clone();
        loop {
            let mut st = step(
                self.env, self.insns, self.by_pc, i, &before, forced, demands,
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
        while let Some(b) = work.pop_first() {
            let Some(at_entry) = states[b].clone() else {
                continue;
            };
            self.walk(
                b,
                &at_entry,
                forced,
                demands,
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
                                stack: Rc::new(vec![Val {
                                    kind: Kind::Ref,
                                    src: Rc::from([]),
                                    konst: None,
                                    range: None,
                                }]),
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
        let mut plans: Vec<Option<(Vec<JcOp>, Vec<usize>)>> = vec![None; self.insns.len()];
        let mut max_stack = 0u32;
        let slots = usize::from(self.env.code().max_locals);
        let mut wide_slots = vec![false; slots];
        let mut uses_int = !forced.is_empty();
        let mut notes = Vec::new();
        for (b, st) in states.iter().enumerate() {
            let Some(at_entry) = st else {
                continue;
            };
            self.walk(b, at_entry, forced, &mut demands, &mut |i, before, s, _| {
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
            })?;
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
        let a: Rc<[u32]> = Rc::from([1, 4, 9]);
        let b: Rc<[u32]> = Rc::from([2, 4, 10, PARAM]);
        assert_eq!(&union(&a, &b)[..], &[1, 2, 4, 9, 10, PARAM]);
        let sub: Rc<[u32]> = Rc::from([4]);
        assert!(Rc::ptr_eq(&union(&a, &sub), &a));
        assert!(Rc::ptr_eq(&union(&sub, &b), &b));
        let empty: Rc<[u32]> = Rc::from([]);
        assert!(Rc::ptr_eq(&union(&a, &empty), &a));
    }

    #[test]
    fn blocks_start_at_targets_handlers_and_after_jumps() {
        // 0: iconst_0  1: ifeq 7  4: iconst_1  5: pop  6: return
        // 7: iconst_2  8: pop  9: goto 6
        let insns = decode(&[
            0x03, 0x99, 0x00, 0x06, 0x04, 0x57, 0xb1, 0x05, 0x57, 0xa7, 0xff, 0xfd,
        ])
        .unwrap();
        let by_pc: HashMap<u32, usize> = insns.iter().enumerate().map(|(i, x)| (x.pc, i)).collect();
        let blocks = Blocks::new(&insns, &by_pc, &[(2, 3, 4)]);
        let leaders: Vec<usize> = (0..insns.len())
            .filter(|&i| blocks.starts_block(i))
            .collect();
        // 0: the entry; 2: after ifeq; 4: goto's target and the handler of
        // the range (2, 3); 5: ifeq's target, after return.
        assert_eq!(leaders, vec![0, 2, 4, 5]);
    }
}
