//! Int arithmetic: in 16 bits where that gives Java's result (see
//! `types`), in 32 bits (forced, with int support) otherwise.

use crate::classfile::insn::op;

use super::super::error::Result;
use super::super::jc::JcOp;
use super::super::range;
use super::super::types::{Kind, Val};
use super::Exec;

impl Exec<'_, '_, '_> {
    /// Binary int arithmetic, in 16 bits when that gives Java's result.
    pub(super) fn binary(&mut self, o: u8) -> Result<()> {
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
        // What Java's 32-bit result can be: a sum of bytes stays a short.
        let range = match (a.range, b.range) {
            (Some(ra), Some(rb)) => range::binary(o, ra, rb),
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
                self.stack.push(Val::ranged(kind, self.idx, range));
            }
            None if o == op::IUSHR && self.is_negative_short_ushr(&a) => {
                if self.env.oracle_ushr {
                    // Oracle's translation: the 16 bits shifted with zeros.
                    self.emit(JcOp::Simple("sushr"));
                    self.push(Kind::LOW16);
                    self.note = Some(format!(
                        "{}: `>>>` of a short translated to sushr as Oracle's converter does \
                         (--oracle-ushr); for a negative value the result differs from Java's",
                        self.env.place(Some(self.insn.pc))
                    ));
                } else {
                    return Err(self.err(
                        "`>>>` of a short that may be negative: Java shifts its 32-bit sign \
                         extension, which 16-bit sushr cannot do; write `(short) ((v & 0xFFFF) \
                         >>> n)` for a shift of the 16 bits, `>>` if v is never negative, build \
                         with --int, or with --oracle-ushr to get sushr as Oracle's converter \
                         emits it",
                    ));
                }
            }
            None => {
                self.int_mode(&[a, b], "arithmetic")?;
                self.emit(JcOp::Simple(int_name));
                self.push(Kind::Int);
            }
        }
        Ok(())
    }

    /// `>>>` of a short that may be negative, whose Java result 16 bits
    /// cannot give: refused (or translated as Oracle does) unless int
    /// support computes it in 32 bits.
    fn is_negative_short_ushr(&self, a: &Val) -> bool {
        !self.forced && !self.env.int_support && matches!(a.kind, Kind::Short { s: true, u: false })
    }
}

/// A 16-bit translation of a binary int operation, when one gives Java's
/// result: the Java Card instruction (`None`: nothing to compute, drop the
/// second operand) and what is known of the result. `None` when the
/// operation needs int arithmetic.
pub(super) fn short_binary(
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
    pub(super) fn short_arithmetic_rules() {
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
