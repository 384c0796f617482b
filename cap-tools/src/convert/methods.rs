//! Every method of the package through typing, translation and assembly,
//! and the Method component layout (JCVM 6.9): the handler table first, then
//! each class's methods in declaration order, each with a compact header
//! when its sizes fit four bits and an extended one otherwise.

use std::collections::HashMap;
use std::ops::Range;

use crate::cap::bytecode::Instruction;
use crate::cap::components::method::{
    ExceptionHandler, MethodBlock, MethodHeader, MethodInfo, MethodLocation, ACC_ABSTRACT,
    ACC_EXTENDED, MAX_BLOCK_SIZE,
};
use crate::cap::MethodComponent;
use crate::classfile::Method;

use super::asm::{assemble, Assembled};
use super::cp::Pool;
use super::error::{Error, Place, Result};
use super::jc::CpKey;
use super::link::Linker;
use super::model::{acc, Package};
use super::parallel::in_runs;
use super::step::Env;
use super::tokens::ClassTokens;
use super::translate::{translate, Item, Translated};
use super::types::{analyse, Kind, State, Val, MAX_WORDS, PARAM};

/// One method that gets a method_info.
#[derive(Debug)]
pub struct Unit<'a> {
    pub class: usize,
    /// Index in the class file's methods.
    pub index: usize,
    pub method: &'a Method,
    /// Parameter words, `this` included.
    pub nargs: u32,
    /// `None` for abstract methods.
    pub body: Option<Body>,
}

/// A method with code.
#[derive(Debug)]
pub struct Body {
    pub t: Translated,
    pub asm: Option<Assembled>,
}

impl Unit<'_> {
    /// The place of the method, for messages.
    pub fn place(&self, pkg: &Package<'_>) -> Place {
        Place::method(
            pkg.classes[self.class].name,
            &self.method.name,
            &self.method.descriptor,
        )
    }
}

/// Types and translates every method of every class; also the notes the
/// typing made (sites translated as `--oracle-ushr` asks). The typing is
/// most of a conversion's time, so a large package's methods are typed on
/// every core ([`super::parallel`]); results and the first error come in
/// method order.
pub fn translate_all<'a>(
    pkg: &'a Package<'a>,
    linker: &'a Linker,
    tokens: &'a [ClassTokens],
    opts: &super::Options,
) -> Result<(Vec<Unit<'a>>, Vec<String>)> {
    let mut work: Vec<(usize, usize, &'a Method)> = pkg
        .classes
        .iter()
        .enumerate()
        .filter(|(_, class)| !class.is_interface())
        .flat_map(|(ci, class)| class.code_methods().map(move |(mi, m)| (ci, mi, m)))
        .collect();
    let runs = in_runs(
        &mut work,
        |(_, _, m)| m.code.as_ref().map_or(0, |c| c.bytecode.len()),
        |run| -> Result<(Vec<Unit<'a>>, Vec<String>)> {
            let mut units = Vec::with_capacity(run.len());
            let mut notes = Vec::new();
            for &mut (ci, mi, m) in run {
                units.push(translate_one(
                    pkg, linker, tokens, opts, ci, mi, m, &mut notes,
                )?);
            }
            Ok((units, notes))
        },
    );
    let mut units = Vec::with_capacity(work.len());
    let mut notes = Vec::new();
    for run in runs {
        let (mut u, mut n) = run?;
        units.append(&mut u);
        notes.append(&mut n);
    }
    Ok((units, notes))
}

/// Types and translates one method (class `ci`, method `mi`).
#[allow(clippy::too_many_arguments)]
fn translate_one<'a>(
    pkg: &'a Package<'a>,
    linker: &'a Linker,
    tokens: &'a [ClassTokens],
    opts: &super::Options,
    ci: usize,
    mi: usize,
    m: &'a Method,
    notes: &mut Vec<String>,
) -> Result<Unit<'a>> {
    let class = &pkg.classes[ci];
    let env = Env {
        pkg,
        linker,
        tokens,
        class: ci,
        method: m,
        int_support: opts.int_support,
        oracle_ushr: opts.oracle_ushr,
    };
    check_limits(&env)?;
    let (entry, params) = entry_state(&env)?;
    let nargs = params.iter().map(|k| k.words()).sum();
    let body = match &m.code {
        None => None,
        Some(_) => {
            let insns = class
                .file
                .instructions(m)
                .map_err(|e| Error::at(env.place(None), e.to_string()))?;
            if insns.is_empty() {
                return Err(Error::at(env.place(None), "has empty code"));
            }
            let mut a = analyse(&env, &insns, entry)?;
            notes.append(&mut a.notes);
            Some(Body {
                t: translate(&env, &insns, a, &params)?,
                asm: None,
            })
        }
    };
    Ok(Unit {
        class: ci,
        index: mi,
        method: m,
        nargs,
        body,
    })
}

/// The longest code of one method: a JVM limit (JVMS 4.7.3), and the CAP
/// format's too, since methods are located by u2 offsets in a Method
/// component of at most 65535 bytes (JCVM 6.9).
pub const MAX_CODE: usize = 65535;

/// Refuses, before any typing, a method the CAP format cannot hold.
///
/// A Java Card method header holds `max_stack`, `nargs` and `max_locals`
/// in one byte each, compact or extended (JCVM 6.9.1), and local indices
/// are one byte (`sload` ...), so arguments and locals together take at
/// most [`MAX_WORDS`] words, and so does the stack. A JVM local slot or
/// stack slot takes at least one Java Card word, so a declared
/// `max_locals` or `max_stack` above that can never be
/// converted; refusing it here also bounds the typing, whose frames have
/// one entry per declared local (a class file may declare 65535).
fn check_limits(env: &Env<'_>) -> Result<()> {
    let Some(code) = &env.method.code else {
        return Ok(());
    };
    let over = |what: &str, n: u64| {
        Error::at(
            env.place(None),
            format!("{what} {n} exceeds the Java Card limit of {MAX_WORDS}"),
        )
    };
    if u32::from(code.max_locals) > MAX_WORDS {
        return Err(over("max_locals", code.max_locals.into()));
    }
    if u32::from(code.max_stack) > MAX_WORDS {
        return Err(over("max_stack", code.max_stack.into()));
    }
    if code.bytecode.len() > MAX_CODE {
        return Err(Error::at(
            env.place(None),
            format!(
                "code_length {} exceeds the CAP format's limit of {MAX_CODE} bytes",
                code.bytecode.len()
            ),
        ));
    }
    Ok(())
}

/// The frame at a method's entry and the kinds of its parameter slots.
fn entry_state(env: &Env<'_>) -> Result<(State, Vec<Kind>)> {
    let m = env.method;
    let mut params = Vec::new();
    // What each parameter slot's declared type says of its value (a byte
    // parameter is in -128..=127).
    let mut declared = Vec::new();
    if m.access_flags & acc::STATIC == 0 {
        params.push(Kind::Ref);
        declared.push(None);
    }
    let args = crate::classfile::descriptor_args(&m.descriptor)
        .map_err(|e| Error::at(env.place(None), e.to_string()))?;
    for a in &args {
        declared.push(super::step::declared_range(a));
        params.push(match a.as_bytes().first() {
            Some(b'Z') => Kind::SMALL,
            Some(b'B' | b'S') => Kind::EXACT,
            Some(b'I') if env.int_support => Kind::Int,
            Some(b'I') => {
                return Err(Error::at(
                    env.place(None),
                    "has an int parameter: needs int support (--int)",
                ))
            }
            _ => Kind::Ref,
        });
    }
    let slots = m.code.as_ref().map_or(0, |c| usize::from(c.max_locals));
    if slots < params.len() && m.code.is_some() {
        return Err(Error::at(
            env.place(None),
            "max_locals is smaller than its parameters",
        ));
    }
    let mut locals = vec![None; slots];
    for (k, kind) in params.iter().enumerate() {
        if let Some(l) = locals.get_mut(k) {
            *l = Some(Val::ranged(
                *kind,
                PARAM,
                declared.get(k).copied().flatten(),
            ));
        }
    }
    Ok((
        State {
            stack: std::rc::Rc::from([]),
            locals: std::rc::Rc::from(locals),
        },
        params,
    ))
}

/// Every constant pool key the code uses, in first-use order (handlers'
/// catch types with their method).
pub fn cp_uses<'u>(units: &'u [Unit<'_>]) -> impl Iterator<Item = &'u CpKey> + 'u {
    units.iter().filter_map(|u| u.body.as_ref()).flat_map(|b| {
        let ops = b.t.items.iter().filter_map(|i| match i {
            Item::Op(o) => op_key(o),
            Item::Label(_) => None,
        });
        let catches = b.t.handlers.iter().filter_map(|h| h.catch.as_ref());
        ops.chain(catches)
    })
}

fn op_key(o: &super::jc::JcOp) -> Option<&CpKey> {
    use super::jc::JcOp;
    match o {
        JcOp::Cp { key, .. } | JcOp::Field { key, .. } | JcOp::InvokeInterface { key, .. } => {
            Some(key)
        }
        JcOp::TypeCheck { key, .. } => key.as_ref(),
        _ => None,
    }
}

/// Assembles every method against the final constant pool, a large
/// package on every core as for the typing.
pub fn assemble_all(pkg: &Package<'_>, units: &mut [Unit<'_>], pool: &Pool) -> Result<()> {
    let code_len = |u: &Unit<'_>| u.method.code.as_ref().map_or(0, |c| c.bytecode.len());
    in_runs(units, code_len, |run| {
        for u in run.iter_mut() {
            let place = u.place(pkg);
            if let Some(b) = &mut u.body {
                b.asm = Some(assemble(
                    &b.t.items,
                    &b.t.local_index,
                    &|k| pool.index(k),
                    &place,
                )?);
            }
        }
        Ok(())
    })
    .into_iter()
    .collect()
}

/// Where each method is in the Method component.
#[derive(Debug, Clone, Default)]
pub struct MethodLayout {
    /// (class, method index) -> where its method_info is: an offset in the
    /// component (compact) or a block and an offset in it (extended).
    pub offsets: HashMap<(usize, usize), MethodLocation>,
    /// (class, method index) -> (index of the first handler in its
    /// block's table, handler count).
    pub handlers: HashMap<(usize, usize), (u16, u16)>,
    /// The extended layout (blocks), even with no block at all (a package
    /// without a method_info).
    pub extended: bool,
    /// Extended format: the units each method_component_block holds (a
    /// range of `units`), in block order. Empty in the compact format.
    pub blocks: Vec<Range<usize>>,
}

/// The header of a method: compact when every size fits four bits.
fn header(u: &Unit<'_>) -> Result<MethodHeader> {
    let (max_stack, max_locals) = match &u.body {
        Some(b) => (b.t.max_stack, b.t.max_locals),
        None => (0, 0),
    };
    let flags = if u.body.is_none() { ACC_ABSTRACT } else { 0 };
    let too_big = |what: &str| Error::general(format!("{what} exceeds 255"));
    let (ms, na, ml) = (
        u8::try_from(max_stack).map_err(|_| too_big("max_stack"))?,
        u8::try_from(u.nargs).map_err(|_| too_big("nargs"))?,
        u8::try_from(max_locals).map_err(|_| too_big("max_locals"))?,
    );
    Ok(if ms <= 15 && na <= 15 && ml <= 15 {
        MethodHeader {
            flags,
            padding: 0,
            max_stack: ms,
            nargs: na,
            max_locals: ml,
        }
    } else {
        MethodHeader {
            flags: flags | ACC_EXTENDED,
            padding: 0,
            max_stack: ms,
            nargs: na,
            max_locals: ml,
        }
    })
}

/// Bytes of a method_info: header and code.
fn unit_len(u: &Unit<'_>) -> Result<usize> {
    Ok(header(u)?.len()
        + u.body
            .as_ref()
            .and_then(|b| b.asm.as_ref())
            .map_or(0, |a| a.len as usize))
}

/// Exception handlers of a method.
fn handler_count(u: &Unit<'_>) -> usize {
    u.body.as_ref().map_or(0, |b| b.t.handlers.len())
}

/// Why the methods do not fit a compact Method component, and the method
/// at which they stop fitting.
#[derive(Debug, Clone)]
pub struct Overflow {
    pub reason: String,
    pub place: Place,
}

/// `None` when the methods fit a compact Method component (one handler
/// table of at most 255 entries, at most 65535 bytes, JCVM 6.10);
/// otherwise what exceeds it.
pub fn compact_overflow(pkg: &Package<'_>, units: &[Unit<'_>]) -> Result<Option<Overflow>> {
    let handlers: usize = units.iter().map(handler_count).sum();
    if handlers > MAX_HANDLERS {
        let mut seen = 0;
        for u in units {
            seen += handler_count(u);
            if seen > MAX_HANDLERS {
                return Ok(Some(Overflow {
                    reason: format!(
                        "the package has {handlers} exception handlers, over the \
                         {MAX_HANDLERS} of a compact Method component's handler table"
                    ),
                    place: u.place(pkg),
                }));
            }
        }
    }
    let mut at = 1 + ExceptionHandler::SIZE * handlers;
    let mut first_over = None;
    for u in units {
        at += unit_len(u)?;
        if at > MAX_CODE && first_over.is_none() {
            first_over = Some(u.place(pkg));
        }
    }
    Ok(first_over.map(|place| Overflow {
        reason: format!(
            "the Method component would be {at} bytes, over the {MAX_CODE} bytes \
             (64 KiB) of a compact CAP file"
        ),
        place,
    }))
}

/// Most entries of one handler table (its count is a u1).
const MAX_HANDLERS: usize = 255;

/// Largest extended Method component: Oracle's converter splits code into
/// blocks up to 8 MiB in all (Java Card 3.1 user guide, "Design Rules for a
/// Java Card Application with Large Method Component").
pub const MAX_EXTENDED_METHOD: usize = 8 * 1024 * 1024;

/// Lays out the Method component: offsets first (so that constant pool
/// entries naming methods can be resolved), then the component itself
/// with `catch` giving each handler's catch type index.
///
/// Compact: one handler table, then every method, in class and
/// declaration order; the caller has checked [`compact_overflow`].
/// Extended: the methods in the same order, cut into blocks as they come
/// (a block ends when the next method or its handlers would take it past
/// 65535 bytes or 255 handlers; a method and its handlers stay in one
/// block, JCVM 3.1 6.10), each block with its own handler table and
/// offsets counted from the block's first byte.
pub fn layout(pkg: &Package<'_>, units: &[Unit<'_>], extended: bool) -> Result<MethodLayout> {
    let mut out = MethodLayout::default();
    let blocks = if extended {
        pack_blocks(pkg, units)?
    } else {
        std::iter::once(0..units.len()).collect()
    };
    for (b, range) in blocks.iter().enumerate() {
        let block_index = if extended {
            Some(u8::try_from(b).map_err(|_| {
                Error::general("the Method component would have more than 255 blocks")
            })?)
        } else {
            None
        };
        let slice = &units[range.clone()];
        let handlers: usize = slice.iter().map(handler_count).sum();
        let mut at = 1 + ExceptionHandler::SIZE * handlers;
        let mut first_handler = 0usize;
        for u in slice {
            let offset = u16::try_from(at).map_err(|_| {
                Error::at(
                    u.place(pkg),
                    format!("starts past the {MAX_CODE} bytes a Method component (block) holds"),
                )
            })?;
            out.offsets.insert(
                (u.class, u.index),
                MethodLocation {
                    block_index,
                    offset,
                },
            );
            let n = handler_count(u);
            out.handlers
                .insert((u.class, u.index), (first_handler as u16, n as u16));
            first_handler += n;
            at += unit_len(u)?;
        }
        if at > MAX_CODE {
            let what = if extended { "block" } else { "component" };
            return Err(Error::general(format!(
                "internal: a Method {what} of {at} bytes was laid out"
            )));
        }
    }
    if extended {
        out.blocks = blocks;
        out.extended = true;
    }
    Ok(out)
}

/// The block boundaries of an extended Method component (see [`layout`]).
fn pack_blocks(pkg: &Package<'_>, units: &[Unit<'_>]) -> Result<Vec<Range<usize>>> {
    let mut blocks = Vec::new();
    let mut start = 0;
    let mut size = 1usize;
    let mut handlers = 0usize;
    let mut total = 1usize;
    for (i, u) in units.iter().enumerate() {
        let len = unit_len(u)?;
        let h = handler_count(u);
        let own = ExceptionHandler::SIZE * h + len;
        if 1 + own > MAX_BLOCK_SIZE || h > MAX_HANDLERS {
            return Err(Error::at(
                u.place(pkg),
                format!(
                    "takes {len} bytes with {h} exception handler(s); a method and its \
                     handlers must fit one Method component block of {MAX_BLOCK_SIZE} bytes \
                     and {MAX_HANDLERS} handlers (JCVM 3.1 6.10): split the method"
                ),
            ));
        }
        if i > start && (size + own > MAX_BLOCK_SIZE || handlers + h > MAX_HANDLERS) {
            blocks.push(start..i);
            total += 4 + size;
            start = i;
            size = 1;
            handlers = 0;
        }
        size += own;
        handlers += h;
    }
    if start < units.len() {
        blocks.push(start..units.len());
        total += 4 + size;
    }
    if total > MAX_EXTENDED_METHOD {
        return Err(Error::general(format!(
            "the extended Method component would be {total} bytes, over the \
             {MAX_EXTENDED_METHOD} bytes (8 MiB) an extended CAP file holds: split the package"
        )));
    }
    Ok(blocks)
}

/// Builds the Method component; `catch_index` gives a catch type's
/// constant pool index.
pub fn component(
    units: &[Unit<'_>],
    layout: &MethodLayout,
    catch_index: &dyn Fn(&CpKey) -> Option<u16>,
) -> Result<MethodComponent> {
    if !layout.extended {
        let block = block(units, layout, catch_index)?;
        return Ok(MethodComponent {
            handlers: block.handlers,
            methods: block.methods,
            blocks: Vec::new(),
        });
    }
    let blocks = layout
        .blocks
        .iter()
        .map(|r| block(&units[r.clone()], layout, catch_index))
        .collect::<Result<Vec<_>>>()?;
    Ok(MethodComponent {
        handlers: Vec::new(),
        methods: Vec::new(),
        blocks,
    })
}

/// One handler table and its methods: the whole compact component, or one
/// block of an extended one (offsets from `layout`, relative to the block).
fn block(
    units: &[Unit<'_>],
    layout: &MethodLayout,
    catch_index: &dyn Fn(&CpKey) -> Option<u16>,
) -> Result<MethodBlock> {
    let mut handlers = Vec::new();
    let mut methods = Vec::new();
    for u in units {
        let h = header(u)?;
        let offset = layout.offsets[&(u.class, u.index)].offset;
        let code_start = u32::from(offset) + h.len() as u32;
        let mut code: Vec<Instruction> = Vec::new();
        if let Some(b) = &u.body {
            let asm = b
                .asm
                .as_ref()
                .ok_or_else(|| Error::general("internal: method not assembled"))?;
            code = asm.code.clone();
            for i in &mut code {
                i.offset += code_start;
            }
            let label = |n: &usize| -> Result<u32> {
                asm.labels
                    .get(n)
                    .copied()
                    .ok_or_else(|| Error::general("internal: missing label"))
            };
            for hd in &b.t.handlers {
                let start = code_start + label(&hd.start)?;
                let end = code_start + label(&hd.end)?;
                let catch_type_index = match &hd.catch {
                    Some(k) => catch_index(k).ok_or_else(|| {
                        Error::general("internal: catch type not in the constant pool")
                    })?,
                    None => 0,
                };
                handlers.push(ExceptionHandler {
                    start_offset: start as u16,
                    stop_bit: false,
                    active_length: u16::try_from(end - start)
                        .ok()
                        .filter(|&l| l <= 0x7FFF)
                        .ok_or_else(|| Error::general("a try block is too long"))?,
                    handler_offset: (code_start + label(&hd.handler)?) as u16,
                    catch_type_index,
                });
            }
        }
        methods.push(MethodInfo {
            offset: u32::from(offset),
            header: h,
            code,
        });
    }
    // The stop bit: no later handler's range contains this one.
    for i in 0..handlers.len() {
        let (s, e) = (handlers[i].start_offset, handlers[i].end_offset());
        handlers[i].stop_bit = !handlers[i + 1..]
            .iter()
            .any(|h| h.start_offset <= s && h.end_offset() >= e);
    }
    Ok(MethodBlock { handlers, methods })
}
