//! Loads, stores and `iinc` of number locals: a short local is `sload`/
//! `sstore`/`sinc`, an int one `iload`/`istore`/`iinc`; a forced load of a
//! short widens it with `s2i`.

use crate::classfile::insn::Operands;

use super::super::error::Result;
use super::super::jc::JcOp;
use super::super::types::{Kind, Val};
use super::Exec;

impl Exec<'_, '_, '_> {
    pub(super) fn load_number(&mut self, slot: u16) -> Result<()> {
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
                    src: std::rc::Rc::from([self.idx]),
                    konst: None,
                });
            }
            Kind::Ref => {
                return Err(self.err(format!("iload of local {slot}, which holds a reference")))
            }
        }
        Ok(())
    }

    pub(super) fn store_number(&mut self, slot: u16) -> Result<()> {
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

    pub(super) fn iinc(&mut self) -> Result<()> {
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
}
