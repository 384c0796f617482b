//! Array element loads and stores: an index must be a short (or in
//! 0..=65535); byte and short stores truncate, as in Java.

use crate::classfile::insn::op;

use super::super::error::Result;
use super::super::jc::JcOp;
use super::super::types::Kind;
use super::Exec;

impl Exec<'_, '_, '_> {
    pub(super) fn array_load(&mut self, o: u8) -> Result<()> {
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
                // A byte (or boolean) array element reads as a byte.
                let (name, desc) = if o == op::BALOAD {
                    ("baload", "B")
                } else {
                    ("saload", "S")
                };
                self.emit(JcOp::Simple(name));
                self.push_read(desc)?;
            }
        }
        Ok(())
    }

    pub(super) fn array_store(&mut self, o: u8) -> Result<()> {
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
}
