//! Loads, stores and `iinc` of number locals: a short local is `sload`/
//! `sstore`/`sinc`, an int one `iload`/`istore`/`iinc`; a forced load of a
//! short widens it with `s2i`.

use crate::classfile::insn::{op, Operands};

use super::super::error::Result;
use super::super::jc::JcOp;
use super::super::range::{self, Range};
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
                let mut loaded = Val::ranged(Kind::Short { s, u }, self.idx, v.range);
                // A local's value is not a compile-time constant of the load.
                loaded.konst = None;
                self.stack.push(loaded);
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
        let range = if kind == Kind::Int { None } else { v.range };
        let mut stored = Val::ranged(kind, self.idx, range);
        stored.konst = None;
        self.set_local(slot, Some(stored))
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
        if int {
            return self.set_local(slot, Some(Val::new(Kind::Int, self.idx)));
        }
        let range = v
            .range
            .and_then(|r| range::binary(op::IADD, r, Range::of(i32::from(delta))));
        let mut inc = Val::ranged(Kind::LOW16, self.idx, range);
        inc.konst = None;
        self.set_local(slot, Some(inc))
    }
}
