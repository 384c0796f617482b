//! What one JVM instruction does to the typed frame, and the Java Card code
//! that does the same: the translation table of the converter (JCVM
//! chapter 7 for the target instructions).
//!
//! [`step`] is used twice: by the data flow in `types` (which needs the
//! frame after the instruction and the demands for int) and, once the
//! typing is final, by the translation (which needs the plan). Keeping both
//! in one function means the code emitted is exactly the code that was typed.
//!
//! The instructions are grouped by submodule: `locals` (loads, stores,
//! `iinc`), `arith` (int arithmetic in 16 or 32 bits), `control` (branches
//! and switches), `stack` (pop, dup, swap by words), `arrays` (element
//! loads and stores), `objects` (new, arrays, type checks) and `members`
//! (fields and calls).

mod arith;
mod arrays;
mod control;
mod locals;
mod members;
mod objects;
mod stack;

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use std::rc::Rc;

use crate::classfile::insn::{op, Insn, Operands};
use crate::classfile::{Code, Constant, ConstantPool, MemberRef, Method};

use super::error::{Error, Place, Result};
use super::jc::JcOp;
use super::link::Linker;
use super::model::Package;
use super::range::Range;
use super::tokens::ClassTokens;
use super::types::{Demands, Kind, State, Val};

/// The method being translated and what it may refer to.
pub struct Env<'a> {
    pub pkg: &'a Package<'a>,
    pub linker: &'a Linker,
    pub tokens: &'a [ClassTokens],
    /// Index of the class in the package.
    pub class: usize,
    pub method: &'a Method,
    pub int_support: bool,
    /// `>>>` of a possibly negative short as Oracle's `sushr` (see Options).
    pub oracle_ushr: bool,
}

impl<'a> Env<'a> {
    /// The method's Code attribute (translation only runs on methods with one).
    pub fn code(&self) -> &'a Code {
        static EMPTY: std::sync::OnceLock<Code> = std::sync::OnceLock::new();
        self.method.code.as_ref().unwrap_or_else(|| {
            EMPTY.get_or_init(|| Code {
                max_stack: 0,
                max_locals: 0,
                bytecode: Vec::new(),
                exception_table: Vec::new(),
                line_numbers: Vec::new(),
                local_variables: Vec::new(),
                stack_map_present: false,
            })
        })
    }

    pub fn class_name(&self) -> &'a str {
        self.pkg.classes[self.class].name
    }

    fn cp(&self) -> &'a ConstantPool {
        &self.pkg.classes[self.class].file.constant_pool
    }

    /// The source line of a pc, from the LineNumberTable.
    pub fn line(&self, pc: u32) -> Option<u32> {
        self.code()
            .line_numbers
            .iter()
            .filter(|l| u32::from(l.start_pc) <= pc)
            .max_by_key(|l| l.start_pc)
            .map(|l| u32::from(l.line))
    }

    /// `class.method(desc):line` for messages.
    pub fn place(&self, pc: Option<u32>) -> Place {
        Place::method(
            self.class_name(),
            &self.method.name,
            &self.method.descriptor,
        )
        .at_line(pc.and_then(|p| self.line(p)))
    }
}

/// Successor instruction indices: one or two for all but switches, kept
/// inline (an instruction's step is the typing's innermost loop).
pub type Succ = smallvec::SmallVec<[usize; 2]>;

/// The outcome of one instruction.
#[derive(Debug)]
pub struct Step {
    pub after: State,
    /// Successor instruction indices (fall through and branch targets).
    pub succ: Succ,
    pub plan: Vec<JcOp>,
    /// Highest stack depth in words while the plan runs.
    pub peak: u32,
    /// A remark for the user about this instruction's translation.
    pub note: Option<String>,
}

/// Interprets instruction `i`; the plan is built only when `planning`.
#[allow(clippy::too_many_arguments)]
pub fn step(
    env: &Env<'_>,
    insns: &[Insn],
    by_pc: &FxHashMap<u32, usize>,
    i: usize,
    before: &State,
    forced: &BTreeSet<u32>,
    demands: &mut Demands,
    planning: bool,
    scratch: &mut Vec<Val>,
) -> Result<Step> {
    let insn = &insns[i];
    scratch.clear();
    scratch.extend_from_slice(&before.stack);
    let mut x = Exec {
        env,
        insn,
        idx: i as u32,
        planning,
        forced: forced.contains(&(i as u32)),
        stack: scratch,
        locals: before.locals.clone(),
        plan: Vec::new(),
        demands,
        extra: 0,
        note: None,
    };
    let target = |pc: i32| -> Result<usize> {
        u32::try_from(pc)
            .ok()
            .and_then(|p| by_pc.get(&p).copied())
            .ok_or_else(|| {
                Error::at(
                    env.place(Some(insn.pc)),
                    format!("branch to {pc} is not an instruction"),
                )
            })
    };
    let mut succ = Succ::new();
    let falls = x.exec(&target, &mut succ)?;
    if falls {
        if i + 1 >= insns.len() {
            return Err(x.err("control falls off the end of the code"));
        }
        succ.push(i + 1);
    }
    // An unchanged stack stays shared with the frame before.
    let stack = if x.stack[..] == before.stack[..] {
        before.stack.clone()
    } else {
        Rc::from(&x.stack[..])
    };
    let after = State {
        stack,
        locals: x.locals,
    };
    let peak = before.depth().max(after.depth()) + x.extra;
    Ok(Step {
        after,
        succ,
        plan: x.plan,
        peak,
        note: x.note,
    })
}

/// The working frame of [`step`].
struct Exec<'e, 'a, 'd> {
    env: &'e Env<'a>,
    insn: &'e Insn,
    idx: u32,
    forced: bool,
    /// Whether the plan is wanted (the final pass) or only the frame after
    /// and the demands (the data flow's passes, which discard the plan):
    /// the ops that name a member are then not built at all.
    planning: bool,
    /// The caller's scratch buffer, refilled from the frame before at each
    /// instruction: the stack costs an allocation only when it changes.
    stack: &'d mut Vec<Val>,
    /// Copied only when the instruction writes a local.
    locals: Rc<[Option<Val>]>,
    plan: Vec<JcOp>,
    demands: &'d mut Demands,
    /// Words pushed above both the before and after depths (int compares).
    extra: u32,
    note: Option<String>,
}

impl<'a> Exec<'_, 'a, '_> {
    fn err(&self, m: impl Into<String>) -> Error {
        Error::at(self.env.place(Some(self.insn.pc)), m)
    }

    fn needs_int_support(&self, what: &str) -> Error {
        self.err(format!(
            "{what}: needs int support (--int), or a cast to short or byte"
        ))
    }

    fn pop(&mut self) -> Result<Val> {
        self.stack
            .pop()
            .ok_or_else(|| self.err(format!("{}: operand stack underflow", self.insn.mnemonic())))
    }

    fn push(&mut self, kind: Kind) {
        self.stack.push(Val::new(kind, self.idx));
    }

    /// Adds an op to the plan; outside the final pass (`planning` off) the
    /// plan is thrown away, so nothing is kept.
    fn emit(&mut self, op: JcOp) {
        if self.planning {
            self.plan.push(op);
        }
    }

    /// [`Exec::emit`] of an op that is costly to build (it names a member
    /// by owned strings): built only when the plan is wanted.
    fn emit_with(&mut self, op: impl FnOnce() -> JcOp) {
        if self.planning {
            self.plan.push(op());
        }
    }

    /// A value that must be an int: forces its producers to int.
    fn need_int(&mut self, v: &Val, what: &str) -> Result<()> {
        match v.kind {
            Kind::Int => Ok(()),
            Kind::Short { .. } if self.env.int_support => {
                self.demands.force.extend(v.src.iter());
                Ok(())
            }
            Kind::Short { .. } => Err(self.err(format!("{what}: needs int support (--int)"))),
            Kind::Ref => Err(self.err(format!("{what}: a reference where an int is expected"))),
        }
    }

    /// A value that must be a genuine short (argument, field, return, size).
    fn need_short(&mut self, v: &Val, what: &str) -> Result<()> {
        match v.kind {
            Kind::Short { s: true, .. } => Ok(()),
            Kind::Short { .. } => Err(self.err(format!(
                "{what} is an int expression that may exceed 16 bits; cast it to short or byte"
            ))),
            Kind::Int => Err(self.err(format!("{what} is an int; cast it to short"))),
            Kind::Ref => Err(self.err(format!("{what}: a reference where a number is expected"))),
        }
    }

    /// An array index: a short, or a value in 0..=65535 (whose JC reading
    /// is negative exactly when the Java index is out of any array's bounds).
    fn need_index(&mut self, v: &Val) -> Result<()> {
        match v.kind {
            Kind::Short { s, u } if s || u => Ok(()),
            _ => self.need_short(v, "an array index"),
        }
    }

    fn need_ref(&self, v: &Val) -> Result<()> {
        if v.kind == Kind::Ref {
            Ok(())
        } else {
            Err(self.err(format!(
                "{}: a number where a reference is expected",
                self.insn.mnemonic()
            )))
        }
    }

    /// [`Exec::need_type`] with the value's name made only for a message:
    /// most values pass, and the check runs for every field store and
    /// argument in each pass of the data flow.
    fn need_type_of(&mut self, v: &Val, desc: &str, what: impl FnOnce() -> String) -> Result<()> {
        let passes = match desc.as_bytes().first() {
            Some(b'I') => v.kind == Kind::Int,
            Some(b'Z' | b'B' | b'S') => matches!(v.kind, Kind::Short { s: true, .. }),
            _ => v.kind == Kind::Ref,
        };
        if passes {
            Ok(())
        } else {
            self.need_type(v, desc, &what())
        }
    }

    /// Checks a value against a declared type and returns nothing; `what`
    /// names the value for messages.
    fn need_type(&mut self, v: &Val, desc: &str, what: &str) -> Result<()> {
        match desc.as_bytes().first() {
            Some(b'I') => self.need_int(v, what),
            Some(b'Z' | b'B' | b'S') => self.need_short(v, what),
            _ => self.need_ref(v),
        }
    }

    /// The kind a declared type gives a value read from somewhere.
    fn kind_of(&self, desc: &str) -> Result<Kind> {
        Ok(match desc.as_bytes().first() {
            Some(b'Z') => Kind::SMALL,
            Some(b'B' | b'S') => Kind::EXACT,
            Some(b'I') => {
                if !self.env.int_support {
                    return Err(self.err("uses the int type: needs int support (--int)"));
                }
                Kind::Int
            }
            Some(b'L' | b'[') => Kind::Ref,
            _ => return Err(self.err(format!("type {desc} is not supported by Java Card"))),
        })
    }

    /// Pushes a value read with type `desc`; a forced short read is widened.
    fn push_read(&mut self, desc: &str) -> Result<()> {
        let kind = self.kind_of(desc)?;
        if self.forced && matches!(kind, Kind::Short { .. }) {
            self.emit(JcOp::Simple("s2i"));
            self.push(Kind::Int);
        } else {
            let range = declared_range(desc);
            self.stack.push(Val::ranged(kind, self.idx, range));
        }
        Ok(())
    }

    /// Pushes an int constant, as a short unless forced.
    fn constant(&mut self, c: i32) {
        if self.forced {
            self.emit(JcOp::PushInt(c));
            self.push(Kind::Int);
            return;
        }
        self.emit(JcOp::PushShort(c as i16));
        self.stack
            .push(Val::ranged(Kind::LOW16, self.idx, Some(Range::of(c))));
    }

    fn member(&self, index: u16) -> Result<&'a MemberRef> {
        self.env
            .cp()
            .member_ref(index)
            .map_err(|e| self.err(e.to_string()))
    }

    fn cp_index(&self) -> Result<u16> {
        match self.insn.operands {
            Operands::Cp(i) | Operands::InvokeInterface { index: i, .. } => Ok(i),
            _ => Err(self.err("missing constant pool operand")),
        }
    }

    /// The JVM local slot of a load or store, `_<n>` forms included.
    fn slot(&self, base: u8) -> u16 {
        match self.insn.operands {
            Operands::Local(n) => n,
            _ => u16::from(self.insn.opcode - base),
        }
    }

    fn local(&self, slot: u16) -> Result<Val> {
        self.locals
            .get(usize::from(slot))
            .cloned()
            .flatten()
            .ok_or_else(|| self.err(format!("local {slot} is read before it is set")))
    }

    fn set_local(&mut self, slot: u16, v: Option<Val>) -> Result<()> {
        if usize::from(slot) >= self.locals.len() {
            return Err(Error::at(
                self.env.place(Some(self.insn.pc)),
                format!("local {slot} is beyond max_locals"),
            ));
        }
        Rc::make_mut(&mut self.locals)[usize::from(slot)] = v;
        Ok(())
    }

    /// Runs the instruction; returns whether control falls through.
    fn exec(&mut self, target: &dyn Fn(i32) -> Result<usize>, succ: &mut Succ) -> Result<bool> {
        let o = self.insn.opcode;
        match o {
            op::NOP => {}
            op::ACONST_NULL => {
                self.emit(JcOp::Simple("aconst_null"));
                self.push(Kind::Ref);
            }
            op::ICONST_M1..=op::ICONST_5 => self.constant(i32::from(o) - i32::from(op::ICONST_0)),
            op::BIPUSH | op::SIPUSH => {
                let c = match self.insn.operands {
                    Operands::Byte(b) => i32::from(b),
                    Operands::Short(s) => i32::from(s),
                    _ => return Err(self.err("missing push operand")),
                };
                self.constant(c);
            }
            op::LDC | op::LDC_W => match self.env.cp().get(self.cp_index()?) {
                Some(Constant::Integer(c)) => self.constant(*c),
                Some(Constant::String(_)) => {
                    return Err(self.err("String literals are not supported by Java Card"))
                }
                Some(Constant::Class(_)) => {
                    return Err(self.err("class literals are not supported by Java Card"))
                }
                Some(Constant::Float(_)) => {
                    return Err(self.err("floating point is not supported by Java Card"))
                }
                _ => return Err(self.err("this constant is not supported by Java Card")),
            },
            op::LDC2_W => return Err(self.err("long and double are not supported by Java Card")),
            op::ILOAD | op::ILOAD_0..=op::ILOAD_3 => {
                let slot = self.slot(if o == op::ILOAD { o } else { op::ILOAD_0 });
                self.load_number(slot)?;
            }
            op::ALOAD | op::ALOAD_0..=op::ALOAD_3 => {
                let slot = self.slot(if o == op::ALOAD { o } else { op::ALOAD_0 });
                let v = self.local(slot)?;
                self.need_ref(&v)?;
                self.emit(JcOp::Local {
                    base: "aload",
                    slot,
                });
                self.push(Kind::Ref);
            }
            op::ISTORE | op::ISTORE_0..=op::ISTORE_3 => {
                let slot = self.slot(if o == op::ISTORE { o } else { op::ISTORE_0 });
                self.store_number(slot)?;
            }
            op::ASTORE | op::ASTORE_0..=op::ASTORE_3 => {
                let slot = self.slot(if o == op::ASTORE { o } else { op::ASTORE_0 });
                let v = self.pop()?;
                if v.kind != Kind::Ref {
                    return Err(self.err("astore of a number (or a jsr return address)"));
                }
                self.emit(JcOp::Local {
                    base: "astore",
                    slot,
                });
                self.set_local(slot, Some(Val::new(Kind::Ref, self.idx)))?;
            }
            op::IINC => self.iinc()?,
            op::IALOAD | op::BALOAD | op::SALOAD | op::AALOAD => self.array_load(o)?,
            op::IASTORE | op::BASTORE | op::SASTORE | op::AASTORE => self.array_store(o)?,
            op::POP
            | op::POP2
            | op::DUP
            | op::DUP_X1
            | op::DUP_X2
            | op::DUP2
            | op::DUP2_X1
            | op::DUP2_X2
            | op::SWAP => self.stack_op(o)?,
            op::IADD
            | op::ISUB
            | op::IMUL
            | op::IDIV
            | op::IREM
            | op::ISHL
            | op::ISHR
            | op::IUSHR
            | op::IAND
            | op::IOR
            | op::IXOR => self.binary(o)?,
            op::INEG => {
                let a = self.pop()?;
                if self.forced || a.kind == Kind::Int {
                    self.int_mode(&[a], "a negation")?;
                    self.emit(JcOp::Simple("ineg"));
                    self.push(Kind::Int);
                } else {
                    self.emit(JcOp::Simple("sneg"));
                    let range = a.range.and_then(Range::neg);
                    self.stack.push(Val::ranged(Kind::LOW16, self.idx, range));
                }
            }
            op::I2B => {
                let a = self.pop()?;
                match a.kind {
                    Kind::Int => self.emit(JcOp::Simple("i2b")),
                    Kind::Short { .. } => self.emit(JcOp::Simple("s2b")),
                    Kind::Ref => return Err(self.err("i2b of a reference")),
                }
                let range = a.range.map_or(Range::BYTE, Range::to_byte);
                self.stack
                    .push(Val::ranged(Kind::EXACT, self.idx, Some(range)));
            }
            op::I2S => {
                let a = self.pop()?;
                let kind = match a.kind {
                    Kind::Int => {
                        self.emit(JcOp::Simple("i2s"));
                        Kind::EXACT
                    }
                    Kind::Short { s: true, u } => Kind::Short { s: true, u },
                    Kind::Short { .. } => Kind::EXACT,
                    Kind::Ref => return Err(self.err("i2s of a reference")),
                };
                // The cast keeps the value's producers: forcing them is
                // never needed through a cast, but the value stays traceable.
                let range = a.range.map_or(Range::SHORT, Range::to_short);
                let mut v = Val::ranged(kind, self.idx, Some(range));
                v.konst = a.konst.map(|c| i32::from(c as i16));
                self.stack.push(v);
            }
            op::I2C => return Err(self.err("char is not supported by Java Card")),
            op::IFEQ..=op::IF_ACMPNE | op::IFNULL | op::IFNONNULL | op::GOTO | op::GOTO_W => {
                return self.branch_op(o, target, succ);
            }
            op::JSR | op::JSR_W | op::RET => {
                return Err(self.err(
                    "subroutines (jsr/ret) are not supported; recompile with a current javac",
                ))
            }
            op::TABLESWITCH | op::LOOKUPSWITCH => {
                self.switch(target, succ)?;
                return Ok(false);
            }
            op::IRETURN => {
                let v = self.pop()?;
                let ret = crate::classfile::descriptor_return(&self.env.method.descriptor)
                    .map_err(|e| self.err(e.to_string()))?;
                self.need_type(&v, &ret, "the returned value")?;
                self.emit(JcOp::Simple(if ret == "I" { "ireturn" } else { "sreturn" }));
                return Ok(false);
            }
            op::ARETURN => {
                let v = self.pop()?;
                self.need_ref(&v)?;
                self.emit(JcOp::Simple("areturn"));
                return Ok(false);
            }
            op::RETURN => {
                self.emit(JcOp::Simple("return"));
                return Ok(false);
            }
            op::GETSTATIC | op::PUTSTATIC | op::GETFIELD | op::PUTFIELD => self.field(o)?,
            op::INVOKEVIRTUAL | op::INVOKESPECIAL | op::INVOKESTATIC | op::INVOKEINTERFACE => {
                self.invoke(o)?
            }
            op::INVOKEDYNAMIC => {
                return Err(self.err(
                    "invokedynamic (lambdas, string concatenation) is not supported by Java Card",
                ))
            }
            op::NEW
            | op::NEWARRAY
            | op::ANEWARRAY
            | op::ARRAYLENGTH
            | op::CHECKCAST
            | op::INSTANCEOF => self.object_op(o)?,
            op::ATHROW => {
                let a = self.pop()?;
                self.need_ref(&a)?;
                self.emit(JcOp::Simple("athrow"));
                return Ok(false);
            }
            op::MONITORENTER | op::MONITOREXIT => {
                return Err(
                    self.err("synchronized blocks are not supported (Java Card has no threads)")
                )
            }
            op::MULTIANEWARRAY => {
                return Err(self.err("multi-dimensional arrays are not supported by Java Card"))
            }
            _ => {
                let name = self.insn.mnemonic();
                let is = |t: char| {
                    name.starts_with(t)
                        || name.ends_with(&format!("2{t}"))
                        || name.contains(&format!("{t}2"))
                };
                let what = if is('l') {
                    "long is not supported by Java Card"
                } else if is('f') || is('d') {
                    "floating point is not supported by Java Card"
                } else if is('c') {
                    "char is not supported by Java Card"
                } else {
                    "is not supported by Java Card"
                };
                return Err(self.err(format!("{name}: {what}")));
            }
        }
        Ok(true)
    }

    /// Int mode for an instruction: forces it and its inputs to int.
    fn int_mode(&mut self, inputs: &[Val], what: &str) -> Result<()> {
        if !self.env.int_support {
            return Err(self.needs_int_support(&format!("{what} of int values")));
        }
        if !self.forced {
            self.demands.force.insert(self.idx);
        }
        for v in inputs {
            self.need_int(v, what)?;
        }
        Ok(())
    }
}

/// The range a value of declared type `desc` lies in (`None` beyond what
/// its kind says).
pub(super) fn declared_range(desc: &str) -> Option<Range> {
    match desc.as_bytes().first() {
        Some(b'Z') => Some(Range::BOOLEAN),
        Some(b'B') => Some(Range::BYTE),
        _ => None,
    }
}
