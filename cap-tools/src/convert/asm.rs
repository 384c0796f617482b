//! Assembling a translated method: constant pool indices, Java Card local
//! numbers, branch offsets. Branches start in their one-byte form and are
//! widened (`goto_w`, `if<cond>_w`, ...) while any offset does not fit,
//! which terminates because widening only ever grows the code.

use crate::cap::bytecode::{opcode_by_mnemonic, Instruction, Operands, SwitchPair};

use super::error::{Error, Place, Result};
use super::jc::{CpKey, JcOp};
use super::translate::Item;

/// A method's code, offsets counted from its first instruction.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub code: Vec<Instruction>,
    /// JVM instruction index (or code end) -> offset of its first JC byte.
    pub labels: Labels,
    pub len: u32,
}

/// Label offsets by JVM instruction index. Labels are the instruction
/// indices of the method (and its end), so a vector indexed by them is
/// both smaller and faster than a map; an index that is no label reads as
/// none.
#[derive(Debug, Clone, Default)]
pub struct Labels(Vec<u32>);

impl Labels {
    const NONE: u32 = u32::MAX;

    fn set(&mut self, label: usize, at: u32) {
        if self.0.len() <= label {
            self.0.resize(label + 1, Self::NONE);
        }
        self.0[label] = at;
    }

    /// The offset of `label`, if it is one.
    pub fn get(&self, label: &usize) -> Option<&u32> {
        self.0.get(*label).filter(|&&at| at != Self::NONE)
    }
}

/// Whether an op's encoding depends on where labels are (so it is encoded
/// again once they move); every other op is encoded once.
fn uses_labels(o: &JcOp) -> bool {
    matches!(
        o,
        JcOp::Branch { .. } | JcOp::TableSwitch { .. } | JcOp::LookupSwitch { .. }
    )
}

/// Assembles `items`; `local_index` maps JVM slots to JC locals and `cp`
/// gives constant pool indices.
pub fn assemble(
    items: &[Item],
    local_index: &[u32],
    cp: &dyn Fn(&CpKey) -> Option<u16>,
    place: &Place,
) -> Result<Assembled> {
    let mut wide = vec![false; items.len()];
    // Every op is encoded once here, with no labels known: that gives its
    // size (branch and switch offsets do not change it) and, for the ops
    // that refer to no label, the final instructions. Only the branches
    // and switches are encoded again below, and a branch sized again only
    // when it widens.
    let none = Labels::default();
    let mut first = Vec::with_capacity(items.len());
    let mut spans = Vec::with_capacity(items.len());
    let mut sizes = Vec::with_capacity(items.len());
    for item in items {
        let from = first.len();
        if let Item::Op(o) = item {
            encode(o, false, 0, &none, local_index, cp, place, &mut first)?;
        }
        spans.push(from..first.len());
        sizes.push(first[from..].iter().map(Instruction::len).sum::<usize>());
    }
    let mut scratch = Vec::new();
    loop {
        let (labels, len) = layout(items, &sizes);
        let mut grew = false;
        let mut at = 0u32;
        let mut code = Vec::with_capacity(first.len());
        for (k, item) in items.iter().enumerate() {
            let Item::Op(o) = item else { continue };
            let from = code.len();
            if uses_labels(o) {
                encode(o, wide[k], at, &labels, local_index, cp, place, &mut code)?;
            } else {
                code.extend(first[spans[k].clone()].iter().cloned());
                let mut off = at;
                for i in &mut code[from..] {
                    i.offset = off;
                    off += i.len() as u32;
                }
            }
            if let JcOp::Branch { target, .. } = o {
                let to = labels.get(target).ok_or_else(|| {
                    Error::at(place.clone(), "internal: a branch to an unknown label")
                })?;
                let d = i64::from(*to) - i64::from(at);
                if !wide[k] && i8::try_from(d).is_err() {
                    wide[k] = true;
                    scratch.clear();
                    encode(o, true, 0, &none, local_index, cp, place, &mut scratch)?;
                    sizes[k] = scratch.iter().map(Instruction::len).sum();
                    grew = true;
                }
                if i16::try_from(d).is_err() {
                    return Err(Error::at(
                        place.clone(),
                        "is too large: a branch spans more than 32767 bytes",
                    ));
                }
            }
            at += code[from..].iter().map(|i| i.len() as u32).sum::<u32>();
        }
        if !grew {
            if len > 0x7FFF {
                return Err(Error::at(
                    place.clone(),
                    format!(
                        "is too large: {len} bytes of Java Card code, more than the 32767 a method may have (the reach of a branch offset)"
                    ),
                ));
            }
            return Ok(Assembled { code, labels, len });
        }
    }
}

/// Label offsets and total length for the current branch widths.
fn layout(items: &[Item], sizes: &[usize]) -> (Labels, u32) {
    let mut labels = Labels(Vec::with_capacity(items.len()));
    let mut at = 0u32;
    for (item, size) in items.iter().zip(sizes) {
        match item {
            Item::Label(n) => labels.set(*n, at),
            Item::Op(_) => at += *size as u32,
        }
    }
    (labels, at)
}

fn opcode(m: &str, place: &Place) -> Result<u8> {
    opcode_by_mnemonic(m).ok_or_else(|| {
        Error::at(
            place.clone(),
            format!("internal: no Java Card instruction {m}"),
        )
    })
}

/// The opcode of `base` followed by `suffix` (`sload` `_1`, `goto` `_w`),
/// joined on the stack: the assembler asks for such forms for most
/// instructions it emits.
fn opcode_of(base: &str, suffix: &str, place: &Place) -> Result<u8> {
    let mut buf = [0u8; 32];
    let n = base.len() + suffix.len();
    let joined = buf.get_mut(..n).map(|b| {
        b[..base.len()].copy_from_slice(base.as_bytes());
        b[base.len()..].copy_from_slice(suffix.as_bytes());
        &*b
    });
    match joined.and_then(|b| std::str::from_utf8(b).ok()) {
        Some(m) => opcode(m, place),
        None => opcode(&format!("{base}{suffix}"), place),
    }
}

/// Encodes one op at offset `at`. Labels may be missing while sizing;
/// offsets are then 0.
#[allow(clippy::too_many_arguments)]
fn encode(
    o: &JcOp,
    wide: bool,
    at: u32,
    labels: &Labels,
    local_index: &[u32],
    cp: &dyn Fn(&CpKey) -> Option<u16>,
    place: &Place,
    out: &mut Vec<Instruction>,
) -> Result<()> {
    let from = out.len();
    let rel = |target: &usize| -> i64 {
        labels
            .get(target)
            .map_or(0, |t| i64::from(*t) - i64::from(at))
    };
    let rel16 = |target: &usize| -> Result<i16> {
        i16::try_from(rel(target)).map_err(|_| {
            Error::at(
                place.clone(),
                "is too large: a branch spans more than 32767 bytes",
            )
        })
    };
    let index = |key: &CpKey| -> Result<u16> {
        cp(key).ok_or_else(|| {
            Error::at(
                place.clone(),
                format!("internal: no constant pool entry for {key:?}"),
            )
        })
    };
    let local = |slot: u16| -> Result<u8> {
        let jc = local_index.get(usize::from(slot)).copied().ok_or_else(|| {
            Error::at(
                place.clone(),
                format!("internal: local {slot} has no Java Card index"),
            )
        })?;
        u8::try_from(jc).map_err(|_| Error::at(place.clone(), "needs more than 256 local words"))
    };
    let mut ins = |opcode: u8, operands: Operands| {
        out.push(Instruction {
            offset: 0,
            opcode,
            operands,
        })
    };
    match o {
        JcOp::Simple(m) => ins(opcode(m, place)?, Operands::None),
        JcOp::PushShort(c) => match *c {
            -1..=5 => ins(
                opcode_of("sconst_", CONST_SUFFIX[(c + 1) as usize], place)?,
                Operands::None,
            ),
            c if i8::try_from(c).is_ok() => ins(opcode("bspush", place)?, Operands::Byte(c as i8)),
            c => ins(opcode("sspush", place)?, Operands::Short(c)),
        },
        JcOp::PushInt(c) => match *c {
            -1..=5 => ins(
                opcode_of("iconst_", CONST_SUFFIX[(c + 1) as usize], place)?,
                Operands::None,
            ),
            c if i8::try_from(c).is_ok() => ins(opcode("bipush", place)?, Operands::Byte(c as i8)),
            c if i16::try_from(c).is_ok() => {
                ins(opcode("sipush", place)?, Operands::Short(c as i16))
            }
            c => ins(opcode("iipush", place)?, Operands::Int(c)),
        },
        JcOp::Local { base, slot } => {
            let n = local(*slot)?;
            if n <= 3 {
                ins(
                    opcode_of(base, LOCAL_SUFFIX[usize::from(n)], place)?,
                    Operands::None,
                );
            } else {
                ins(opcode(base, place)?, Operands::Local(n));
            }
        }
        JcOp::Inc { int, slot, delta } => {
            let n = local(*slot)?;
            let base = if *int { "iinc" } else { "sinc" };
            match i8::try_from(*delta) {
                Ok(d) => ins(
                    opcode(base, place)?,
                    Operands::LocalInc {
                        index: n,
                        constant: d,
                    },
                ),
                Err(_) => ins(
                    opcode_of(base, "_w", place)?,
                    Operands::LocalIncWide {
                        index: n,
                        constant: *delta,
                    },
                ),
            }
        }
        JcOp::Branch { mnemonic, target } => {
            if wide {
                ins(
                    opcode_of(mnemonic, "_w", place)?,
                    Operands::BranchWide(rel16(target)?),
                );
            } else {
                let d = i8::try_from(rel(target)).unwrap_or(0);
                ins(opcode(mnemonic, place)?, Operands::Branch(d));
            }
        }
        JcOp::Cp { mnemonic, key } => ins(opcode(mnemonic, place)?, Operands::Cp2(index(key)?)),
        JcOp::Field { base, key, this } => {
            let i = index(key)?;
            match u8::try_from(i) {
                Ok(b) if *this => ins(opcode_of(base, "_this", place)?, Operands::Cp1(b)),
                Ok(b) => ins(opcode(base, place)?, Operands::Cp1(b)),
                Err(_) => {
                    if *this {
                        ins(opcode("aload_0", place)?, Operands::None);
                    }
                    ins(opcode_of(base, "_w", place)?, Operands::Cp2(i));
                }
            }
        }
        JcOp::InvokeInterface { nargs, key, token } => ins(
            opcode("invokeinterface", place)?,
            Operands::InvokeInterface {
                nargs: *nargs,
                index: index(key)?,
                token: *token,
            },
        ),
        JcOp::NewArray(t) => ins(opcode("newarray", place)?, Operands::ArrayType(*t)),
        JcOp::TypeCheck {
            mnemonic,
            atype,
            key,
        } => {
            let i = match key {
                Some(k) => index(k)?,
                None => 0,
            };
            ins(
                opcode(mnemonic, place)?,
                Operands::TypeCheck {
                    atype: *atype,
                    index: i,
                },
            );
        }
        JcOp::DupX(mn) => ins(opcode("dup_x", place)?, Operands::StackWords(*mn)),
        JcOp::SwapX(mn) => ins(opcode("swap_x", place)?, Operands::StackWords(*mn)),
        JcOp::TableSwitch {
            int,
            default,
            low,
            high,
            targets,
        } => {
            let offsets = targets.iter().map(rel16).collect::<Result<Vec<_>>>()?;
            if *int {
                ins(
                    opcode("itableswitch", place)?,
                    Operands::ITableSwitch {
                        default: rel16(default)?,
                        low: *low,
                        high: *high,
                        offsets,
                    },
                );
            } else {
                ins(
                    opcode("stableswitch", place)?,
                    Operands::STableSwitch {
                        default: rel16(default)?,
                        low: *low as i16,
                        high: *high as i16,
                        offsets,
                    },
                );
            }
        }
        JcOp::LookupSwitch {
            int,
            default,
            pairs,
        } => {
            if *int {
                let pairs = pairs
                    .iter()
                    .map(|(k, t)| {
                        Ok(SwitchPair {
                            match_value: *k,
                            offset: rel16(t)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                ins(
                    opcode("ilookupswitch", place)?,
                    Operands::ILookupSwitch {
                        default: rel16(default)?,
                        pairs,
                    },
                );
            } else {
                let pairs = pairs
                    .iter()
                    .map(|(k, t)| {
                        Ok(SwitchPair {
                            match_value: *k as i16,
                            offset: rel16(t)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                ins(
                    opcode("slookupswitch", place)?,
                    Operands::SLookupSwitch {
                        default: rel16(default)?,
                        pairs,
                    },
                );
            }
        }
    }
    // Offsets: consecutive from `at`.
    let mut off = at;
    for i in &mut out[from..] {
        i.offset = off;
        off += i.len() as u32;
    }
    Ok(())
}

/// `sconst_<c>` / `iconst_<c>` for c = -1 to 5.
const CONST_SUFFIX: [&str; 7] = ["m1", "0", "1", "2", "3", "4", "5"];
/// `<load or store>_<n>` for n = 0 to 3.
const LOCAL_SUFFIX: [&str; 4] = ["_0", "_1", "_2", "_3"];
