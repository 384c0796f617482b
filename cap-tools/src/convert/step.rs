//! What one JVM instruction does to the typed frame, and the Java Card code
//! that does the same: the translation table of the converter (JCVM
//! chapter 7 for the target instructions).
//!
//! [`step`] is used twice: by the data flow in `types` (which needs the
//! frame after the instruction and the demands for int) and, once the
//! typing is final, by the translation (which needs the plan). Keeping both
//! in one function means the code emitted is exactly the code that was typed.

use std::collections::{BTreeSet, HashMap};

use crate::cap::bytecode::atype;
use crate::classfile::insn::{op, Insn, Operands};
use crate::classfile::{Code, Constant, ConstantPool, MemberRef, Method};

use super::error::{Error, Place, Result};
use super::jc::{CpKey, JcOp};
use super::link::Linker;
use super::model::{acc, ClassKey, Package};
use super::tokens::{ClassTokens, MethodToken};
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

/// The outcome of one instruction.
#[derive(Debug)]
pub struct Step {
    pub after: State,
    /// Successor instruction indices (fall through and branch targets).
    pub succ: Vec<usize>,
    pub plan: Vec<JcOp>,
    /// Highest stack depth in words while the plan runs.
    pub peak: u32,
}

/// Interprets instruction `i`.
pub fn step(
    env: &Env<'_>,
    insns: &[Insn],
    by_pc: &HashMap<u32, usize>,
    i: usize,
    before: &State,
    forced: &BTreeSet<u32>,
    demands: &mut Demands,
) -> Result<Step> {
    let insn = &insns[i];
    let mut x = Exec {
        env,
        insn,
        idx: i as u32,
        forced: forced.contains(&(i as u32)),
        stack: before.stack.clone(),
        locals: before.locals.clone(),
        plan: Vec::new(),
        demands,
        extra: 0,
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
    let mut succ = Vec::new();
    let falls = x.exec(&target, &mut succ)?;
    if falls {
        if i + 1 >= insns.len() {
            return Err(x.err("control falls off the end of the code"));
        }
        succ.push(i + 1);
    }
    let after = State {
        stack: x.stack,
        locals: x.locals,
    };
    let peak = before.depth().max(after.depth()) + x.extra;
    Ok(Step {
        after,
        succ,
        plan: x.plan,
        peak,
    })
}

/// The working frame of [`step`].
struct Exec<'e, 'a, 'd> {
    env: &'e Env<'a>,
    insn: &'e Insn,
    idx: u32,
    forced: bool,
    stack: Vec<Val>,
    locals: Vec<Option<Val>>,
    plan: Vec<JcOp>,
    demands: &'d mut Demands,
    /// Words pushed above both the before and after depths (int compares).
    extra: u32,
}

fn if_mnemonic(cond: usize) -> &'static str {
    ["ifeq", "ifne", "iflt", "ifge", "ifgt", "ifle"][cond]
}

fn if_scmp_mnemonic(cond: usize) -> &'static str {
    [
        "if_scmpeq",
        "if_scmpne",
        "if_scmplt",
        "if_scmpge",
        "if_scmpgt",
        "if_scmple",
    ][cond]
}

impl Exec<'_, '_, '_> {
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

    fn emit(&mut self, op: JcOp) {
        self.plan.push(op);
    }

    /// A value that must be an int: forces its producers to int.
    fn need_int(&mut self, v: &Val, what: &str) -> Result<()> {
        match v.kind {
            Kind::Int => Ok(()),
            Kind::Short { .. } if self.env.int_support => {
                self.demands.force.extend(&v.src);
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
            self.push(kind);
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
        self.stack.push(Val {
            kind: Kind::Short {
                s: i16::try_from(c).is_ok(),
                u: (0..=0xFFFF).contains(&c),
            },
            src: vec![self.idx],
            konst: Some(c),
        });
    }

    fn member(&self, index: u16) -> Result<&MemberRef> {
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
        let at = self.locals.get_mut(usize::from(slot)).ok_or_else(|| {
            Error::at(
                self.env.place(Some(self.insn.pc)),
                format!("local {slot} is beyond max_locals"),
            )
        })?;
        *at = v;
        Ok(())
    }

    /// Runs the instruction; returns whether control falls through.
    fn exec(
        &mut self,
        target: &dyn Fn(i32) -> Result<usize>,
        succ: &mut Vec<usize>,
    ) -> Result<bool> {
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
                    self.push(Kind::LOW16);
                }
            }
            op::I2B => {
                let a = self.pop()?;
                match a.kind {
                    Kind::Int => self.emit(JcOp::Simple("i2b")),
                    Kind::Short { .. } => self.emit(JcOp::Simple("s2b")),
                    Kind::Ref => return Err(self.err("i2b of a reference")),
                }
                self.push(Kind::EXACT);
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
                self.stack.push(Val {
                    kind,
                    src: vec![self.idx],
                    konst: a.konst.map(|c| i32::from(c as i16)),
                });
            }
            op::I2C => return Err(self.err("char is not supported by Java Card")),
            op::IFEQ..=op::IFLE => {
                let cond = usize::from(o - op::IFEQ);
                let a = self.pop()?;
                let t = target(self.branch()?)?;
                let short_ok = match a.kind {
                    Kind::Short { s, u } => s || (cond < 2 && u),
                    _ => false,
                };
                if !self.forced && short_ok {
                    self.emit(JcOp::Branch {
                        mnemonic: if_mnemonic(cond),
                        target: t,
                    });
                } else {
                    self.int_mode(&[a], "a comparison")?;
                    self.emit(JcOp::PushInt(0));
                    self.emit(JcOp::Simple("icmp"));
                    self.emit(JcOp::Branch {
                        mnemonic: if_mnemonic(cond),
                        target: t,
                    });
                    self.extra = 2;
                }
                succ.push(t);
            }
            op::IF_ICMPEQ..=op::IF_ICMPLE => {
                let cond = usize::from(o - op::IF_ICMPEQ);
                let b = self.pop()?;
                let a = self.pop()?;
                let t = target(self.branch()?)?;
                let short_ok = match (a.kind, b.kind) {
                    (Kind::Short { s: s1, u: u1 }, Kind::Short { s: s2, u: u2 }) => {
                        (s1 && s2) || (cond < 2 && u1 && u2)
                    }
                    _ => false,
                };
                if !self.forced && short_ok {
                    self.emit(JcOp::Branch {
                        mnemonic: if_scmp_mnemonic(cond),
                        target: t,
                    });
                } else {
                    self.int_mode(&[a, b], "a comparison")?;
                    self.emit(JcOp::Simple("icmp"));
                    self.emit(JcOp::Branch {
                        mnemonic: if_mnemonic(cond),
                        target: t,
                    });
                }
                succ.push(t);
            }
            op::IF_ACMPEQ | op::IF_ACMPNE => {
                let b = self.pop()?;
                let a = self.pop()?;
                self.need_ref(&a)?;
                self.need_ref(&b)?;
                let t = target(self.branch()?)?;
                let m = if o == op::IF_ACMPEQ {
                    "if_acmpeq"
                } else {
                    "if_acmpne"
                };
                self.emit(JcOp::Branch {
                    mnemonic: m,
                    target: t,
                });
                succ.push(t);
            }
            op::IFNULL | op::IFNONNULL => {
                let a = self.pop()?;
                self.need_ref(&a)?;
                let t = target(self.branch()?)?;
                let m = if o == op::IFNULL {
                    "ifnull"
                } else {
                    "ifnonnull"
                };
                self.emit(JcOp::Branch {
                    mnemonic: m,
                    target: t,
                });
                succ.push(t);
            }
            op::GOTO | op::GOTO_W => {
                let t = target(self.branch()?)?;
                self.emit(JcOp::Branch {
                    mnemonic: "goto",
                    target: t,
                });
                succ.push(t);
                return Ok(false);
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
            op::NEW => {
                let name = self.class_operand()?;
                if name.starts_with('[') {
                    return Err(self.err("new of an array class"));
                }
                self.emit(JcOp::Cp {
                    mnemonic: "new",
                    key: CpKey::Class(name),
                });
                self.push(Kind::Ref);
            }
            op::NEWARRAY => {
                let n = self.pop()?;
                self.need_short(&n, "an array size")?;
                let t = match self.insn.operands {
                    Operands::NewArray(t) => t,
                    _ => return Err(self.err("missing newarray type")),
                };
                let jc = match t {
                    4 => atype::T_BOOLEAN,
                    8 => atype::T_BYTE,
                    9 => atype::T_SHORT,
                    10 => {
                        self.kind_of("I")?;
                        atype::T_INT
                    }
                    5 => return Err(self.err("char arrays are not supported by Java Card")),
                    _ => {
                        return Err(self
                            .err("long, float and double arrays are not supported by Java Card"))
                    }
                };
                self.emit(JcOp::NewArray(jc));
                self.push(Kind::Ref);
            }
            op::ANEWARRAY => {
                let n = self.pop()?;
                self.need_short(&n, "an array size")?;
                let name = self.class_operand()?;
                if name.starts_with('[') {
                    return Err(self.err("multi-dimensional arrays are not supported by Java Card"));
                }
                self.emit(JcOp::Cp {
                    mnemonic: "anewarray",
                    key: CpKey::Class(name),
                });
                self.push(Kind::Ref);
            }
            op::ARRAYLENGTH => {
                let a = self.pop()?;
                self.need_ref(&a)?;
                self.emit(JcOp::Simple("arraylength"));
                if self.forced {
                    self.emit(JcOp::Simple("s2i"));
                    self.push(Kind::Int);
                } else {
                    self.push(Kind::SMALL);
                }
            }
            op::ATHROW => {
                let a = self.pop()?;
                self.need_ref(&a)?;
                self.emit(JcOp::Simple("athrow"));
                return Ok(false);
            }
            op::CHECKCAST | op::INSTANCEOF => {
                let a = self.pop()?;
                self.need_ref(&a)?;
                let name = self.class_operand()?;
                let (t, key) = self.type_check_operand(&name)?;
                if o == op::CHECKCAST {
                    self.emit(JcOp::TypeCheck {
                        mnemonic: "checkcast",
                        atype: t,
                        key,
                    });
                    self.push(Kind::Ref);
                } else {
                    self.emit(JcOp::TypeCheck {
                        mnemonic: "instanceof",
                        atype: t,
                        key,
                    });
                    if self.forced {
                        self.emit(JcOp::Simple("s2i"));
                        self.push(Kind::Int);
                    } else {
                        self.push(Kind::SMALL);
                    }
                }
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

    fn branch(&self) -> Result<i32> {
        match self.insn.operands {
            Operands::Branch(t) => Ok(t),
            _ => Err(self.err("missing branch target")),
        }
    }

    fn class_operand(&self) -> Result<String> {
        self.env
            .cp()
            .class_name(self.cp_index()?)
            .map(str::to_string)
            .map_err(|e| self.err(e.to_string()))
    }

    /// The atype and class of a checkcast/instanceof operand.
    fn type_check_operand(&self, name: &str) -> Result<(u8, Option<CpKey>)> {
        Ok(match name {
            "[Z" => (atype::T_BOOLEAN, None),
            "[B" => (atype::T_BYTE, None),
            "[S" => (atype::T_SHORT, None),
            "[I" => {
                self.kind_of("I")?;
                (atype::T_INT, None)
            }
            n if n.starts_with("[L") && n.ends_with(';') => (
                atype::T_REFERENCE,
                Some(CpKey::Class(n[2..n.len() - 1].to_string())),
            ),
            n if n.starts_with('[') => {
                return Err(self.err(format!("type {n} is not supported by Java Card")))
            }
            n => (atype::CLASS_OR_INTERFACE, Some(CpKey::Class(n.to_string()))),
        })
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

    fn load_number(&mut self, slot: u16) -> Result<()> {
        let v = self.local(slot)?;
        match v.kind {
            Kind::Int => {
                self.emit(JcOp::Local {
                    base: "iload",
                    slot,
                });
                self.push(Kind::Int);
            }
            Kind::Short { s, .. } if self.forced => {
                if !s {
                    // Only the low 16 bits are in the local: the stores
                    // that filled it must store ints instead.
                    self.need_int(&v, "a local variable")?;
                }
                self.emit(JcOp::Local {
                    base: "sload",
                    slot,
                });
                self.emit(JcOp::Simple("s2i"));
                self.push(Kind::Int);
            }
            Kind::Short { s, u } => {
                self.emit(JcOp::Local {
                    base: "sload",
                    slot,
                });
                self.stack.push(Val {
                    kind: Kind::Short { s, u },
                    src: vec![self.idx],
                    konst: None,
                });
            }
            Kind::Ref => {
                return Err(self.err(format!("iload of local {slot}, which holds a reference")))
            }
        }
        Ok(())
    }

    fn store_number(&mut self, slot: u16) -> Result<()> {
        let v = self.pop()?;
        let kind = match v.kind {
            Kind::Int => Kind::Int,
            Kind::Short { .. } if self.forced => {
                self.need_int(&v, "a local variable")?;
                Kind::Int
            }
            k @ Kind::Short { .. } => k,
            Kind::Ref => return Err(self.err("istore of a reference")),
        };
        let base = if kind == Kind::Int {
            "istore"
        } else {
            "sstore"
        };
        self.emit(JcOp::Local { base, slot });
        self.set_local(slot, Some(Val::new(kind, self.idx)))
    }

    fn iinc(&mut self) -> Result<()> {
        let (slot, delta) = match self.insn.operands {
            Operands::Iinc { index, delta } => (index, delta),
            _ => return Err(self.err("missing iinc operands")),
        };
        let v = self.local(slot)?;
        let int = match v.kind {
            Kind::Int => true,
            Kind::Short { .. } if self.forced => {
                self.need_int(&v, "a local variable")?;
                true
            }
            Kind::Short { .. } => false,
            Kind::Ref => return Err(self.err("iinc of a reference")),
        };
        self.emit(JcOp::Inc { int, slot, delta });
        let kind = if int { Kind::Int } else { Kind::LOW16 };
        self.set_local(slot, Some(Val::new(kind, self.idx)))
    }

    fn array_load(&mut self, o: u8) -> Result<()> {
        let index = self.pop()?;
        let array = self.pop()?;
        self.need_ref(&array)?;
        self.need_index(&index)?;
        match o {
            op::AALOAD => {
                self.emit(JcOp::Simple("aaload"));
                self.push(Kind::Ref);
            }
            op::IALOAD => {
                self.kind_of("I")?;
                self.emit(JcOp::Simple("iaload"));
                self.push(Kind::Int);
            }
            _ => {
                self.emit(JcOp::Simple(if o == op::BALOAD {
                    "baload"
                } else {
                    "saload"
                }));
                self.push_read("S")?;
            }
        }
        Ok(())
    }

    fn array_store(&mut self, o: u8) -> Result<()> {
        let value = self.pop()?;
        let index = self.pop()?;
        let array = self.pop()?;
        self.need_ref(&array)?;
        self.need_index(&index)?;
        match o {
            op::AASTORE => {
                self.need_ref(&value)?;
                self.emit(JcOp::Simple("aastore"));
            }
            op::IASTORE => {
                self.need_int(&value, "a value stored into an int array")?;
                self.emit(JcOp::Simple("iastore"));
            }
            _ => {
                // bastore and sastore truncate, in Java as on the card: any
                // 16-bit value will do, an int is narrowed first.
                match value.kind {
                    Kind::Int => self.emit(JcOp::Simple("i2s")),
                    Kind::Short { .. } => {}
                    Kind::Ref => {
                        return Err(self.err("a reference stored into a byte or short array"))
                    }
                }
                self.emit(JcOp::Simple(if o == op::BASTORE {
                    "bastore"
                } else {
                    "sastore"
                }));
            }
        }
        Ok(())
    }

    /// pop, dup and swap forms, by Java Card words.
    fn stack_op(&mut self, o: u8) -> Result<()> {
        let w = |v: &Val| v.kind.words() as u8;
        match o {
            op::POP => {
                let v = self.pop()?;
                self.emit(JcOp::Simple(if w(&v) == 2 { "pop2" } else { "pop" }));
            }
            op::POP2 => {
                let v1 = self.pop()?;
                let v2 = self.pop()?;
                match (w(&v1), w(&v2)) {
                    (1, 1) => self.emit(JcOp::Simple("pop2")),
                    (2, 1) => {
                        self.emit(JcOp::Simple("pop2"));
                        self.emit(JcOp::Simple("pop"));
                    }
                    (1, _) => {
                        self.emit(JcOp::Simple("pop"));
                        self.emit(JcOp::Simple("pop2"));
                    }
                    _ => {
                        self.emit(JcOp::Simple("pop2"));
                        self.emit(JcOp::Simple("pop2"));
                    }
                }
            }
            op::DUP => {
                let v = self.pop()?;
                self.emit(JcOp::Simple(if w(&v) == 2 { "dup2" } else { "dup" }));
                self.stack.push(v.clone());
                self.stack.push(v);
            }
            op::DUP_X1 => {
                let v1 = self.pop()?;
                let v2 = self.pop()?;
                self.emit(JcOp::DupX((w(&v1) << 4) | (w(&v1) + w(&v2))));
                self.stack.extend([v1.clone(), v2, v1]);
            }
            op::DUP_X2 => {
                let v1 = self.pop()?;
                let v2 = self.pop()?;
                let v3 = self.pop()?;
                self.emit(JcOp::DupX((w(&v1) << 4) | (w(&v1) + w(&v2) + w(&v3))));
                self.stack.extend([v1.clone(), v3, v2, v1]);
            }
            op::DUP2 => {
                let v1 = self.pop()?;
                let v2 = self.pop()?;
                let m = w(&v1) + w(&v2);
                if m == 2 {
                    self.emit(JcOp::Simple("dup2"));
                } else {
                    self.emit(JcOp::DupX(m << 4));
                }
                self.stack.extend([v2.clone(), v1.clone(), v2, v1]);
            }
            op::DUP2_X1 => {
                let v1 = self.pop()?;
                let v2 = self.pop()?;
                let v3 = self.pop()?;
                let m = w(&v1) + w(&v2);
                self.emit(JcOp::DupX((m << 4) | (m + w(&v3))));
                self.stack.extend([v2.clone(), v1.clone(), v3, v2, v1]);
            }
            op::DUP2_X2 => {
                let v1 = self.pop()?;
                let v2 = self.pop()?;
                let v3 = self.pop()?;
                let v4 = self.pop()?;
                let m = w(&v1) + w(&v2);
                self.emit(JcOp::DupX((m << 4) | (m + w(&v3) + w(&v4))));
                self.stack.extend([v2.clone(), v1.clone(), v4, v3, v2, v1]);
            }
            _ => {
                let v1 = self.pop()?;
                let v2 = self.pop()?;
                self.emit(JcOp::SwapX((w(&v1) << 4) | w(&v2)));
                self.stack.extend([v1, v2]);
            }
        }
        Ok(())
    }

    /// Binary int arithmetic, in 16 bits when that gives Java's result.
    fn binary(&mut self, o: u8) -> Result<()> {
        let b = self.pop()?;
        let a = self.pop()?;
        let int_names = [
            (op::IADD, "iadd"),
            (op::ISUB, "isub"),
            (op::IMUL, "imul"),
            (op::IDIV, "idiv"),
            (op::IREM, "irem"),
            (op::ISHL, "ishl"),
            (op::ISHR, "ishr"),
            (op::IUSHR, "iushr"),
            (op::IAND, "iand"),
            (op::IOR, "ior"),
            (op::IXOR, "ixor"),
        ];
        let int_name = int_names
            .iter()
            .find(|(c, _)| *c == o)
            .map(|(_, n)| *n)
            .unwrap_or("iadd");
        let short = match (a.kind, b.kind) {
            _ if self.forced => None,
            (Kind::Short { s: s1, u: u1 }, Kind::Short { s: s2, u: u2 }) => {
                short_binary(o, (s1, u1), (s2, u2), b.konst)
            }
            (Kind::Ref, _) | (_, Kind::Ref) => {
                return Err(self.err(format!(
                    "{}: a reference where a number is expected",
                    self.insn.mnemonic()
                )))
            }
            _ => None,
        };
        match short {
            Some((name, kind)) => {
                if let Some(name) = name {
                    self.emit(JcOp::Simple(name));
                }
                if name.is_none() {
                    // `x >>> 0` and friends: the value stays on the stack;
                    // drop the shift amount.
                    self.emit(JcOp::Simple("pop"));
                }
                self.stack.push(Val {
                    kind,
                    src: vec![self.idx],
                    konst: None,
                });
            }
            None => {
                self.int_mode(&[a, b], "arithmetic")?;
                self.emit(JcOp::Simple(int_name));
                self.push(Kind::Int);
            }
        }
        Ok(())
    }

    fn switch(
        &mut self,
        target: &dyn Fn(i32) -> Result<usize>,
        succ: &mut Vec<usize>,
    ) -> Result<()> {
        let key = self.pop()?;
        let short = !self.forced && matches!(key.kind, Kind::Short { s: true, .. });
        if !short {
            self.int_mode(&[key], "a switch")?;
        }
        let (default, pairs): (i32, Vec<(i32, i32)>) = match &self.insn.operands {
            Operands::TableSwitch {
                default,
                low,
                targets,
                ..
            } => (
                *default,
                targets
                    .iter()
                    .enumerate()
                    .map(|(k, t)| (low + k as i32, *t))
                    .collect(),
            ),
            Operands::LookupSwitch { default, pairs } => (*default, pairs.clone()),
            _ => return Err(self.err("missing switch operands")),
        };
        let default = target(default)?;
        succ.push(default);
        let mut resolved = Vec::with_capacity(pairs.len());
        for (k, t) in pairs {
            // A short key never equals a case outside the short range.
            if short && i16::try_from(k).is_err() {
                continue;
            }
            let t = target(t)?;
            succ.push(t);
            resolved.push((k, t));
        }
        let dense = match (resolved.first(), resolved.last()) {
            (Some(f), Some(l)) => {
                self.insn.opcode == op::TABLESWITCH && (l.0 - f.0 + 1) as usize == resolved.len()
            }
            _ => false,
        };
        if dense {
            self.emit(JcOp::TableSwitch {
                int: !short,
                default,
                low: resolved[0].0,
                high: resolved[resolved.len() - 1].0,
                targets: resolved.iter().map(|p| p.1).collect(),
            });
        } else {
            self.emit(JcOp::LookupSwitch {
                int: !short,
                default,
                pairs: resolved,
            });
        }
        Ok(())
    }

    /// Field access; constants of other classes are inlined.
    fn field(&mut self, o: u8) -> Result<()> {
        let m = self.member(self.cp_index()?)?.clone();
        let t = match m.descriptor.as_bytes().first() {
            Some(b'Z' | b'B') => "b",
            Some(b'S') => "s",
            Some(b'I') => "i",
            Some(b'L' | b'[') => "a",
            _ => {
                return Err(self.err(format!(
                    "field type {} is not supported by Java Card",
                    m.descriptor
                )))
            }
        };
        let is_static = o == op::GETSTATIC || o == op::PUTSTATIC;
        if is_static {
            if let Some(c) = self.constant_field(&m) {
                if o == op::PUTSTATIC {
                    return Err(self.err(format!("assigns the constant {}", m.name)));
                }
                self.constant(c);
                return Ok(());
            }
        }
        match o {
            op::GETSTATIC => {
                self.emit(JcOp::Cp {
                    mnemonic: static_mnemonic("getstatic", t),
                    key: CpKey::StaticField {
                        class: m.class,
                        name: m.name,
                        desc: m.descriptor.clone(),
                    },
                });
                self.push_read(&m.descriptor)?;
            }
            op::PUTSTATIC => {
                let v = self.pop()?;
                self.need_type(&v, &m.descriptor, &format!("the value of {}", m.name))?;
                self.emit(JcOp::Cp {
                    mnemonic: static_mnemonic("putstatic", t),
                    key: CpKey::StaticField {
                        class: m.class,
                        name: m.name,
                        desc: m.descriptor,
                    },
                });
            }
            op::GETFIELD => {
                let obj = self.pop()?;
                self.need_ref(&obj)?;
                self.emit(JcOp::Field {
                    base: field_mnemonic("getfield", t),
                    key: CpKey::InstanceField {
                        class: m.class,
                        name: m.name,
                        desc: m.descriptor.clone(),
                    },
                    this: false,
                });
                self.push_read(&m.descriptor)?;
            }
            _ => {
                let v = self.pop()?;
                let obj = self.pop()?;
                self.need_ref(&obj)?;
                self.need_type(&v, &m.descriptor, &format!("the value of {}", m.name))?;
                self.emit(JcOp::Field {
                    base: field_mnemonic("putfield", t),
                    key: CpKey::InstanceField {
                        class: m.class,
                        name: m.name,
                        desc: m.descriptor,
                    },
                    this: false,
                });
            }
        }
        Ok(())
    }

    /// The value of a compile-time constant field, wherever it is declared.
    fn constant_field(&self, m: &MemberRef) -> Option<i32> {
        match self.env.pkg.resolve(self.env.linker, &m.class)? {
            ClassKey::Internal(i) => {
                let f = self.env.pkg.classes[i]
                    .file
                    .fields
                    .iter()
                    .find(|f| f.name == m.name)?;
                match (&f.constant_value, f.access_flags & acc::STATIC != 0) {
                    (Some(Constant::Integer(v)), true) => Some(*v),
                    _ => None,
                }
            }
            ClassKey::External(e) => {
                let owner = self.env.linker.field_owner(e, &m.name, &m.descriptor)?;
                owner.field(&m.name, &m.descriptor)?.value
            }
        }
    }

    fn invoke(&mut self, o: u8) -> Result<()> {
        let m = self.member(self.cp_index()?)?.clone();
        if m.class.starts_with('[') {
            return Err(self.err(format!(
                "{} on an array is not supported by Java Card",
                m.name
            )));
        }
        let args = crate::classfile::descriptor_args(&m.descriptor)
            .map_err(|e| self.err(e.to_string()))?;
        let ret = crate::classfile::descriptor_return(&m.descriptor)
            .map_err(|e| self.err(e.to_string()))?;
        let mut words = 0u32;
        for (k, a) in args.iter().enumerate().rev() {
            let v = self.pop()?;
            self.need_type(&v, a, &format!("argument {} of {}", k + 1, m.name))?;
            words += match a.as_bytes().first() {
                Some(b'I') => 2,
                _ => 1,
            };
        }
        if o != op::INVOKESTATIC {
            let obj = self.pop()?;
            self.need_ref(&obj)?;
            words += 1;
        }
        let key = |k: fn(String, String, String) -> CpKey| {
            k(m.class.clone(), m.name.clone(), m.descriptor.clone())
        };
        match o {
            op::INVOKESTATIC => self.emit(JcOp::Cp {
                mnemonic: "invokestatic",
                key: key(|class, name, desc| CpKey::StaticMethod { class, name, desc }),
            }),
            op::INVOKESPECIAL if m.name == "<init>" || self.is_private_here(&m) => {
                self.emit(JcOp::Cp {
                    mnemonic: "invokespecial",
                    key: key(|class, name, desc| CpKey::StaticMethod { class, name, desc }),
                })
            }
            op::INVOKESPECIAL => {
                let here = self.env.class_name().to_string();
                self.emit(JcOp::Cp {
                    mnemonic: "invokespecial",
                    key: CpKey::SuperMethod {
                        class: here,
                        name: m.name.clone(),
                        desc: m.descriptor.clone(),
                    },
                })
            }
            op::INVOKEVIRTUAL if self.is_private_here(&m) => self.emit(JcOp::Cp {
                mnemonic: "invokespecial",
                key: key(|class, name, desc| CpKey::StaticMethod { class, name, desc }),
            }),
            op::INVOKEVIRTUAL => self.emit(JcOp::Cp {
                mnemonic: "invokevirtual",
                key: key(|class, name, desc| CpKey::VirtualMethod { class, name, desc }),
            }),
            _ => match self.interface_method(&m)? {
                Some((itf, token)) => {
                    let nargs = u8::try_from(words).map_err(|_| self.err("too many arguments"))?;
                    self.emit(JcOp::InvokeInterface {
                        nargs,
                        key: CpKey::Class(itf),
                        token,
                    });
                }
                None => self.emit(JcOp::Cp {
                    mnemonic: "invokevirtual",
                    key: CpKey::VirtualMethod {
                        class: "java/lang/Object".into(),
                        name: m.name.clone(),
                        desc: m.descriptor.clone(),
                    },
                }),
            },
        }
        if ret != "V" {
            self.push_read(&ret)?;
        }
        Ok(())
    }

    /// True when the method named is a private method of this package
    /// (called statically: `invokespecial` with a static method reference).
    fn is_private_here(&self, m: &MemberRef) -> bool {
        match self.env.pkg.class_index(&m.class) {
            Some(i) => self.env.pkg.classes[i]
                .file
                .method(&m.name, &m.descriptor)
                .is_some_and(|x| x.access_flags & acc::PRIVATE != 0),
            None => false,
        }
    }

    /// The interface declaring an interface method and the method's token;
    /// `None` for java.lang.Object methods called through an interface.
    fn interface_method(&self, m: &MemberRef) -> Result<Option<(String, u8)>> {
        let mut queue = vec![m.class.clone()];
        let mut seen = Vec::new();
        while let Some(name) = queue.pop() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            match self.env.pkg.require(
                self.env.linker,
                &name,
                &self.env.place(Some(self.insn.pc)),
            )? {
                ClassKey::Internal(i) => {
                    let c = &self.env.pkg.classes[i];
                    for (k, x) in c.file.methods.iter().enumerate() {
                        if x.name == m.name && x.descriptor == m.descriptor {
                            if let MethodToken::Interface(t) = self.env.tokens[i].methods[k] {
                                return Ok(Some((name, t)));
                            }
                        }
                    }
                    queue.extend(c.file.interfaces.iter().cloned());
                }
                ClassKey::External(e) => {
                    if let Some(x) = e.virtual_method(&m.name, &m.descriptor) {
                        if e.is_interface() {
                            return Ok(Some((name, x.token)));
                        }
                    }
                    queue.extend(e.interfaces.iter().cloned());
                }
            }
        }
        let object = self.env.linker.class("java/lang/Object");
        if object.is_some_and(|o| o.virtual_method(&m.name, &m.descriptor).is_some()) {
            return Ok(None);
        }
        Err(self.err(format!(
            "interface method {}.{}{} not found",
            m.class, m.name, m.descriptor
        )))
    }
}

/// `getstatic_<t>` / `putstatic_<t>`.
fn static_mnemonic(base: &str, t: &str) -> &'static str {
    match (base, t) {
        ("getstatic", "a") => "getstatic_a",
        ("getstatic", "b") => "getstatic_b",
        ("getstatic", "s") => "getstatic_s",
        ("getstatic", _) => "getstatic_i",
        (_, "a") => "putstatic_a",
        (_, "b") => "putstatic_b",
        (_, "s") => "putstatic_s",
        _ => "putstatic_i",
    }
}

/// `getfield_<t>` / `putfield_<t>` (the one-byte index form).
fn field_mnemonic(base: &str, t: &str) -> &'static str {
    match (base, t) {
        ("getfield", "a") => "getfield_a",
        ("getfield", "b") => "getfield_b",
        ("getfield", "s") => "getfield_s",
        ("getfield", _) => "getfield_i",
        (_, "a") => "putfield_a",
        (_, "b") => "putfield_b",
        (_, "s") => "putfield_s",
        _ => "putfield_i",
    }
}

/// A 16-bit translation of a binary int operation, when one gives Java's
/// result: the Java Card instruction (`None`: nothing to compute, drop the
/// second operand) and what is known of the result. `None` when the
/// operation needs int arithmetic.
fn short_binary(
    o: u8,
    (s1, u1): (bool, bool),
    (s2, u2): (bool, bool),
    amount: Option<i32>,
) -> Option<(Option<&'static str>, Kind)> {
    let k = |s, u| Kind::Short { s, u };
    // A known shift amount as Java uses it (low five bits).
    let shift = amount.map(|c| c & 0x1F);
    Some(match o {
        // Low 16 bits of the result depend on low 16 bits of the operands only.
        op::IADD => (Some("sadd"), Kind::LOW16),
        op::ISUB => (Some("ssub"), Kind::LOW16),
        op::IMUL => (Some("smul"), Kind::LOW16),
        op::ISHL => (Some("sshl"), Kind::LOW16),
        op::IAND => (Some("sand"), k((s1 && (s2 || u1)) || (s2 && u2), u1 || u2)),
        op::IOR => (Some("sor"), k(s1 && s2, u1 && u2)),
        op::IXOR => (Some("sxor"), k(s1 && s2, u1 && u2)),
        // Division and remainder need the operands' whole values.
        op::IDIV if s1 && s2 => (Some("sdiv"), Kind::LOW16),
        op::IREM if s1 && s2 => (Some("srem"), Kind::EXACT),
        // Right shifts bring in high bits: sign bits for a short, zeros
        // for a value in 0..=65535.
        op::ISHR | op::IUSHR if u1 => (Some("sushr"), k(shift.is_some_and(|c| c >= 1) || s1, true)),
        op::ISHR if s1 => (Some("sshr"), k(true, false)),
        // A short's int has sign bits above bit 15, which >>> brings in for
        // shifts up to 16; beyond, the result has zeros Java Card cannot
        // produce in 16 bits.
        op::IUSHR if s1 => match shift? {
            0 => (None, k(true, false)),
            1..=16 => (Some("sshr"), Kind::LOW16),
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_arithmetic_rules() {
        let exact = (true, false);
        let low = (false, false);
        let unsigned = (false, true);
        assert_eq!(
            short_binary(op::IADD, exact, exact, None),
            Some((Some("sadd"), Kind::LOW16))
        );
        // Division of values that are not genuine shorts needs ints.
        assert_eq!(short_binary(op::IDIV, low, exact, None), None);
        assert_eq!(
            short_binary(op::IREM, exact, exact, None),
            Some((Some("srem"), Kind::EXACT))
        );
        // x & 0xFF of anything is in 0..=255.
        assert_eq!(
            short_binary(op::IAND, low, (true, true), Some(0xFF)),
            Some((Some("sand"), Kind::SMALL))
        );
        // (x & 0xFFFF) >>> 8 is a short computed by sushr.
        assert_eq!(
            short_binary(op::IUSHR, unsigned, exact, Some(8)),
            Some((Some("sushr"), Kind::SMALL))
        );
        // short >>> 2 keeps Java's sign bits in the low half: sshr.
        assert_eq!(
            short_binary(op::IUSHR, exact, exact, Some(2)),
            Some((Some("sshr"), Kind::LOW16))
        );
        assert_eq!(short_binary(op::IUSHR, exact, exact, Some(20)), None);
        assert_eq!(short_binary(op::IUSHR, exact, exact, None), None);
        assert_eq!(short_binary(op::ISHR, low, exact, Some(1)), None);
        assert_eq!(
            short_binary(op::IOR, exact, low, None),
            Some((Some("sor"), Kind::LOW16))
        );
    }
}
