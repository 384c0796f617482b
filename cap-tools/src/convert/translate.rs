//! From typed JVM code to the Java Card instruction list of one method:
//! labels where branches, handlers and source lines need them, the plans
//! of the reachable instructions (unreachable code is dropped), two
//! peephole forms Oracle's converter also uses (`getfield_<t>_this` for
//! `aload_0; getfield` and `putfield_<t>_this` for `aload_0; <push>;
//! putfield`, `sinc` for `x = (short)(x + c)`), the exception
//! handlers and the mapping of JVM local slots to Java Card locals (an int
//! takes two words).

use std::collections::BTreeSet;

use crate::classfile::insn::{op, Insn, Operands};

use super::error::{Error, Result};
use super::jc::{CpKey, JcOp};
use super::step::Env;
use super::types::{Analysis, Kind, MAX_WORDS};

/// An element of a method's code: a position other things refer to, or an
/// instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The position of JVM instruction `n` (or the end of the code, `n` =
    /// instruction count).
    Label(usize),
    Op(JcOp),
}

/// An exception handler in JVM instruction indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    pub start: usize,
    /// Exclusive.
    pub end: usize,
    pub handler: usize,
    /// `None` catches everything (`finally`).
    pub catch: Option<CpKey>,
}

/// One method, translated but not yet assembled.
#[derive(Debug, Clone)]
pub struct Translated {
    pub items: Vec<Item>,
    pub handlers: Vec<Handler>,
    pub max_stack: u32,
    /// Local words beyond the parameters.
    pub max_locals: u32,
    /// Java Card local index of each JVM slot.
    pub local_index: Vec<u32>,
    pub uses_int: bool,
    /// (JVM instruction index, source line) for the Debug component.
    pub lines: Vec<(usize, u16)>,
    /// Local variables for the Debug component: JVM slot, name,
    /// descriptor, and the instruction index range where they are live.
    pub vars: Vec<(u16, String, String, usize, usize)>,
}

/// Translates one method with code.
pub fn translate(
    env: &Env<'_>,
    insns: &[Insn],
    a: Analysis,
    param_slots: &[Kind],
) -> Result<Translated> {
    let code = env.code();
    let index_at = |pc: u16| {
        insns
            .iter()
            .position(|x| x.pc >= u32::from(pc))
            .unwrap_or(insns.len())
    };
    let by_pc = |pc: u16| insns.iter().position(|x| x.pc == u32::from(pc));

    // Handlers whose code is reachable and whose range covers code.
    let mut handlers = Vec::new();
    for e in &code.exception_table {
        let Some(h) = by_pc(e.handler_pc) else {
            continue;
        };
        if a.plans[h].is_none() {
            continue;
        }
        let (start, end) = (index_at(e.start_pc), index_at(e.end_pc));
        if !(start..end).any(|k| a.plans[k].is_some()) {
            continue;
        }
        handlers.push(Handler {
            start,
            end,
            handler: h,
            catch: e.catch_type.clone().map(CpKey::Class),
        });
    }
    let lines: Vec<(usize, u16)> = code
        .line_numbers
        .iter()
        .map(|l| (index_at(l.start_pc), l.line))
        .collect();

    let vars: Vec<(u16, String, String, usize, usize)> = code
        .local_variables
        .iter()
        .map(|v| {
            let end = u32::from(v.start_pc) + u32::from(v.length);
            let end = insns
                .iter()
                .position(|x| x.pc >= end)
                .unwrap_or(insns.len());
            (
                v.index,
                v.name.clone(),
                v.descriptor.clone(),
                index_at(v.start_pc),
                end,
            )
        })
        .collect();

    // Positions something refers to.
    let mut labelled: BTreeSet<usize> = BTreeSet::new();
    for (plan, _) in a.plans.iter().flatten() {
        for o in plan {
            match o {
                JcOp::Branch { target, .. } => {
                    labelled.insert(*target);
                }
                JcOp::TableSwitch {
                    default, targets, ..
                } => {
                    labelled.insert(*default);
                    labelled.extend(targets);
                }
                JcOp::LookupSwitch { default, pairs, .. } => {
                    labelled.insert(*default);
                    labelled.extend(pairs.iter().map(|p| p.1));
                }
                _ => {}
            }
        }
    }
    for h in &handlers {
        labelled.extend([h.start, h.end, h.handler]);
    }
    labelled.extend(lines.iter().map(|l| l.0));
    for v in &vars {
        labelled.extend([v.3, v.4]);
    }

    // `_this` forms need local 0 to hold `this` — and, in a constructor, an
    // initialised `this`: only after the superclass (or this(...))
    // constructor call.
    let this_from = if env.method.name == "<init>" {
        constructor_call(env, insns).map_or(insns.len(), |i| i + 1)
    } else {
        0
    };
    let this_fixed = !env.method.is_static() && !stores_slot0(insns);
    let mut items = Vec::new();
    let mut k = 0;
    while k < insns.len() {
        if labelled.contains(&k) {
            items.push(Item::Label(k));
        }
        let Some((plan, _)) = &a.plans[k] else {
            k += 1;
            continue;
        };
        let free = |n: usize| !labelled.contains(&n) && n < insns.len() && a.plans[n].is_some();
        // aload_0; getfield -> getfield_<t>_this
        if this_fixed && k >= this_from && insns[k].opcode == op::ALOAD_0 && free(k + 1) {
            if let Some((next, _)) = &a.plans[k + 1] {
                if let [JcOp::Field {
                    base,
                    key,
                    this: false,
                }, rest @ ..] = next.as_slice()
                {
                    if base.starts_with("getfield") {
                        items.push(Item::Op(JcOp::Field {
                            base,
                            key: key.clone(),
                            this: true,
                        }));
                        items.extend(rest.iter().cloned().map(Item::Op));
                        k += 2;
                        continue;
                    }
                }
            }
        }
        // aload_0; <push>; putfield -> <push>; putfield_<t>_this
        if this_fixed
            && k >= this_from
            && insns[k].opcode == op::ALOAD_0
            && free(k + 1)
            && free(k + 2)
            && pushes_only(&insns[k + 1])
        {
            if let (Some((value, _)), Some((store, _))) = (&a.plans[k + 1], &a.plans[k + 2]) {
                if let [JcOp::Field {
                    base,
                    key,
                    this: false,
                }] = store.as_slice()
                {
                    if base.starts_with("putfield") {
                        items.extend(value.iter().cloned().map(Item::Op));
                        items.push(Item::Op(JcOp::Field {
                            base,
                            key: key.clone(),
                            this: true,
                        }));
                        k += 3;
                        continue;
                    }
                }
            }
        }
        // x = (short)(x + c) -> sinc x, c
        if let Some(inc) = short_increment(insns, &a, k, &free) {
            items.push(Item::Op(inc));
            k += 5;
            continue;
        }
        items.extend(plan.iter().cloned().map(Item::Op));
        k += 1;
    }
    items.push(Item::Label(insns.len()));

    // JC locals: JVM slots in order, two words for an int slot.
    let mut wide = a.wide_slots.clone();
    for (slot, kind) in param_slots.iter().enumerate() {
        if *kind == Kind::Int {
            if let Some(w) = wide.get_mut(slot) {
                *w = true;
            }
        }
    }
    let mut local_index = Vec::with_capacity(wide.len());
    let mut at = 0u32;
    for &w in &wide {
        local_index.push(at);
        at += if w { 2 } else { 1 };
    }
    let nargs: u32 = param_slots
        .iter()
        .enumerate()
        .map(|(s, _)| {
            if wide.get(s).copied().unwrap_or(false) {
                2
            } else {
                1
            }
        })
        .sum();
    if at > MAX_WORDS {
        return Err(Error::at(
            env.place(None),
            format!("needs {at} local words; Java Card allows {MAX_WORDS}"),
        ));
    }
    Ok(Translated {
        items,
        handlers,
        max_stack: a.max_stack,
        max_locals: at.saturating_sub(nargs),
        local_index,
        uses_int: a.uses_int,
        lines,
        vars,
    })
}

/// The index of a constructor's call to its superclass's (or its own
/// class's other) constructor.
fn constructor_call(env: &Env<'_>, insns: &[Insn]) -> Option<usize> {
    let file = env.pkg.classes[env.class].file;
    insns.iter().position(|i| {
        i.opcode == op::INVOKESPECIAL
            && match i.operands {
                Operands::Cp(index) => file.constant_pool.member_ref(index).is_ok_and(|m| {
                    m.name == "<init>"
                        && (Some(&m.class) == file.super_class.as_ref()
                            || m.class == file.this_class)
                }),
                _ => false,
            }
    })
}

/// True when some instruction stores into local 0 (then it may not hold `this`).
fn stores_slot0(insns: &[Insn]) -> bool {
    insns.iter().any(|i| match i.opcode {
        op::ASTORE_0 | op::ISTORE_0 => true,
        op::ASTORE | op::ISTORE => matches!(i.operands, Operands::Local(0)),
        op::IINC => matches!(i.operands, Operands::Iinc { index: 0, .. }),
        _ => false,
    })
}

/// True for an instruction that pushes one value and pops nothing, so that
/// the `this` below it can be left to `putfield_<t>_this`.
fn pushes_only(i: &Insn) -> bool {
    matches!(
        i.opcode,
        op::ACONST_NULL
            | op::ICONST_M1..=op::ICONST_5
            | op::BIPUSH
            | op::SIPUSH
            | op::LDC
            | op::LDC_W
            | op::ILOAD
            | op::ILOAD_0..=op::ILOAD_3
            | op::ALOAD
            | op::ALOAD_0..=op::ALOAD_3
            | op::GETSTATIC
    )
}

/// Recognises `iload x; push c; iadd|isub; i2s; istore x` in 16 bits.
fn short_increment(
    insns: &[Insn],
    a: &Analysis,
    k: usize,
    free: &dyn Fn(usize) -> bool,
) -> Option<JcOp> {
    if k + 4 >= insns.len() || !(1..=4).all(|d| free(k + d)) {
        return None;
    }
    let plan = |n: usize| a.plans[n].as_ref().map(|p| p.0.as_slice());
    let (
        Some(
            [JcOp::Local {
                base: "sload",
                slot,
            }],
        ),
        Some([JcOp::PushShort(c)]),
        Some([JcOp::Simple(arith)]),
        Some([]),
        Some(
            [JcOp::Local {
                base: "sstore",
                slot: store,
            }],
        ),
    ) = (plan(k), plan(k + 1), plan(k + 2), plan(k + 3), plan(k + 4))
    else {
        return None;
    };
    if slot != store || insns[k + 3].opcode != op::I2S {
        return None;
    }
    let delta = match *arith {
        "sadd" => *c,
        "ssub" => c.checked_neg()?,
        _ => return None,
    };
    Some(JcOp::Inc {
        int: false,
        slot: *slot,
        delta,
    })
}
