//! Object and array creation and type checks: `new`, `newarray` (no char,
//! long, float or double arrays), `anewarray` (one dimension),
//! `arraylength`, `checkcast` and `instanceof` with their Java Card atype.

use crate::cap::bytecode::atype;
use crate::classfile::insn::{op, Operands};

use super::super::error::Result;
use super::super::jc::{CpKey, JcOp};
use super::super::types::Kind;
use super::Exec;

impl Exec<'_, '_, '_> {
    /// new, newarray, anewarray, arraylength, checkcast and instanceof.
    pub(super) fn object_op(&mut self, o: u8) -> Result<()> {
        match o {
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
            _ => return Err(self.err("not an object instruction")),
        }
        Ok(())
    }

    pub(super) fn class_operand(&self) -> Result<String> {
        self.env
            .cp()
            .class_name(self.cp_index()?)
            .map(str::to_string)
            .map_err(|e| self.err(e.to_string()))
    }

    /// The atype and class of a checkcast/instanceof operand.
    pub(super) fn type_check_operand(&self, name: &str) -> Result<(u8, Option<CpKey>)> {
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
}
