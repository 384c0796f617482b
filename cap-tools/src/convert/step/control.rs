//! Branches and switches: short compares where both operands are genuine
//! shorts (or both in 0..=65535 for equality), `icmp` and a compare with
//! zero otherwise; switches on a short key drop cases no short can match.

use crate::classfile::insn::{op, Operands};

use super::super::error::Result;
use super::super::jc::JcOp;
use super::super::types::Kind;
use super::{Exec, Succ};

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
    /// Conditional and unconditional branches; returns whether control
    /// falls through.
    pub(super) fn branch_op(
        &mut self,
        o: u8,
        target: &dyn Fn(i32) -> Result<usize>,
        succ: &mut Succ,
    ) -> Result<bool> {
        match o {
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
            _ => return Err(self.err("not a branch")),
        }
        Ok(true)
    }

    pub(super) fn branch(&self) -> Result<i32> {
        match self.insn.operands {
            Operands::Branch(t) => Ok(t),
            _ => Err(self.err("missing branch target")),
        }
    }

    pub(super) fn switch(
        &mut self,
        target: &dyn Fn(i32) -> Result<usize>,
        succ: &mut Succ,
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
}
