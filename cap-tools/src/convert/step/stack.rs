//! pop, dup and swap forms, by Java Card words: an int is two words, so
//! JVM `dup_x1` of an int becomes `dup_x 0x23`.

use crate::classfile::insn::op;

use super::super::error::Result;
use super::super::jc::JcOp;
use super::super::types::Val;
use super::Exec;

impl Exec<'_, '_, '_> {
    /// pop, dup and swap forms, by Java Card words.
    pub(super) fn stack_op(&mut self, o: u8) -> Result<()> {
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
}
