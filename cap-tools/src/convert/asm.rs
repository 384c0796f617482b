//! Assembling a translated method: constant pool indices, Java Card local
//! numbers, branch offsets. Branches start in their one-byte form and are
//! widened (`goto_w`, `if<cond>_w`, ...) while any offset does not fit,
//! which terminates because widening only ever grows the code.

use std::collections::HashMap;

use crate::cap::bytecode::{opcode_by_mnemonic, Instruction, Operands, SwitchPair};

use super::error::{Error, Place, Result};
use super::jc::{CpKey, JcOp};
use super::translate::Item;

/// A method's code, offsets counted from its first instruction.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub code: Vec<Instruction>,
    /// JVM instruction index (or code end) -> offset of its first JC byte.
    pub labels: HashMap<usize, u32>,
    pub len: u32,
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
    // Each op's encoded size depends only on its own width: sized once,
    // and again only for the branches that widen.
    let none = HashMap::new();
    let mut sizes = items
        .iter()
        .map(|item| match item {
            Item::Label(_) => Ok(0),
            Item::Op(o) => encode_sized(o, false, local_index, cp, place, &none),
        })
        .collect::<Result<Vec<usize>>>()?;
    loop {
        let (labels, len) = layout(items, &sizes);
        let mut grew = false;
        let mut at = 0u32;
        let mut code = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let Item::Op(o) = item else { continue };
            let ins = encode(o, wide[k], at, &labels, local_index, cp, place)?;
            if let JcOp::Branch { target, .. } = o {
                let to = labels.get(target).ok_or_else(|| {
                    Error::at(place.clone(), "internal: a branch to an unknown label")
                })?;
                let d = i64::from(*to) - i64::from(at);
                if !wide[k] && i8::try_from(d).is_err() {
                    wide[k] = true;
                    sizes[k] = encode_sized(o, true, local_index, cp, place, &none)?;
                    grew = true;
                }
                if i16::try_from(d).is_err() {
                    return Err(Error::at(
                        place.clone(),
                        "is too large: a branch spans more than 32767 bytes",
                    ));
                }
            }
            at += ins.iter().map(|i| i.len() as u32).sum::<u32>();
            code.extend(ins);
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
fn layout(items: &[Item], sizes: &[usize]) -> (HashMap<usize, u32>, u32) {
    let mut labels = HashMap::new();
    let mut at = 0u32;
    for (item, size) in items.iter().zip(sizes) {
        match item {
            Item::Label(n) => {
                labels.insert(*n, at);
            }
            Item::Op(_) => at += *size as u32,
        }
    }
    (labels, at)
}

/// The encoded size of an op (branch and switch offsets do not change it).
fn encode_sized(
    o: &JcOp,
    wide: bool,
    local_index: &[u32],
    cp: &dyn Fn(&CpKey) -> Option<u16>,
    place: &Place,
    labels: &HashMap<usize, u32>,
) -> Result<usize> {
    let ins = encode(o, wide, 0, labels, local_index, cp, place)?;
    Ok(ins.iter().map(Instruction::len).sum())
}

fn opcode(m: &str, place: &Place) -> Result<u8> {
    opcode_by_mnemonic(m).ok_or_else(|| {
        Error::at(
            place.clone(),
            format!("internal: no Java Card instruction {m}"),
        )
    })
}

fn simple(m: &str, place: &Place) -> Result<Instruction> {
    Ok(Instruction {
        offset: 0,
        opcode: opcode(m, place)?,
        operands: Operands::None,
    })
}

/// Encodes one op at offset `at`. Labels may be missing while sizing;
/// offsets are then 0.
fn encode(
    o: &JcOp,
    wide: bool,
    at: u32,
    labels: &HashMap<usize, u32>,
    local_index: &[u32],
    cp: &dyn Fn(&CpKey) -> Option<u16>,
    place: &Place,
) -> Result<Vec<Instruction>> {
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
    let mut out = Vec::with_capacity(1);
    let mut ins = |opcode: u8, operands: Operands| {
        out.push(Instruction {
            offset: 0,
            opcode,
            operands,
        })
    };
    match o {
        JcOp::Simple(m) => {
            let i = simple(m, place)?;
            ins(i.opcode, i.operands);
        }
        JcOp::PushShort(c) => match *c {
            -1..=5 => ins(
                opcode(
                    &format!(
                        "sconst_{}",
                        if *c < 0 { "m1".into() } else { c.to_string() }
                    ),
                    place,
                )?,
                Operands::None,
            ),
            c if i8::try_from(c).is_ok() => ins(opcode("bspush", place)?, Operands::Byte(c as i8)),
            c => ins(opcode("sspush", place)?, Operands::Short(c)),
        },
        JcOp::PushInt(c) => match *c {
            -1..=5 => ins(
                opcode(
                    &format!(
                        "iconst_{}",
                        if *c < 0 { "m1".into() } else { c.to_string() }
                    ),
                    place,
                )?,
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
                ins(opcode(&format!("{base}_{n}"), place)?, Operands::None);
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
                    opcode(&format!("{base}_w"), place)?,
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
                    opcode(&format!("{mnemonic}_w"), place)?,
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
                Ok(b) if *this => ins(opcode(&format!("{base}_this"), place)?, Operands::Cp1(b)),
                Ok(b) => ins(opcode(base, place)?, Operands::Cp1(b)),
                Err(_) => {
                    if *this {
                        ins(opcode("aload_0", place)?, Operands::None);
                    }
                    ins(opcode(&format!("{base}_w"), place)?, Operands::Cp2(i));
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
    for i in &mut out {
        i.offset = off;
        off += i.len() as u32;
    }
    Ok(out)
}
