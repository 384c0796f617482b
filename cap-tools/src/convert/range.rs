//! Value ranges: the interval a JVM int is known to lie in.
//!
//! javac widens every byte and short operand to int, so `b[o + i]` with two
//! byte values is an int addition. Its result cannot leave -256..=254, so
//! the 16-bit `sadd` a Java Card VM without int support computes gives
//! exactly Java's value, and the sum may be used as an index, an array size
//! or compared — which Oracle's converter accepts. The [`Kind`] flags of a
//! value say whether its int is a short (`s`) or in 0..=65535 (`u`); a
//! range says more, and the flags follow from it ([`Range::refine`]):
//! byte loads and casts give -128..=127, constants their value, and every
//! operation below the interval its result can take in Java's 32-bit
//! arithmetic (`None` where it could wrap around, which Java Card's 16 bits
//! would not reproduce).
//!
//! In loops a range could grow by one step per pass of the data flow; at
//! joins it is widened to the next of a few fixed bounds ([`Range::widen`]),
//! so the analysis ends after a bounded number of passes.

use crate::classfile::insn::op;

use super::types::Kind;

/// An inclusive interval of JVM int values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub lo: i32,
    pub hi: i32,
}

/// The bounds a widened range snaps to (outward): byte, unsigned byte,
/// short and unsigned short limits, then the whole int.
const BOUNDS: [i32; 13] = [
    i32::MIN,
    -65536,
    -32768,
    -256,
    -128,
    0,
    1,
    127,
    255,
    32767,
    65535,
    65536,
    i32::MAX,
];

impl Range {
    pub const BYTE: Range = Range { lo: -128, hi: 127 };
    pub const SHORT: Range = Range {
        lo: -32768,
        hi: 32767,
    };
    pub const U16: Range = Range { lo: 0, hi: 65535 };
    pub const BOOLEAN: Range = Range { lo: 0, hi: 1 };

    pub fn of(c: i32) -> Range {
        Range { lo: c, hi: c }
    }

    /// The range a kind alone implies (`None`: any int).
    pub fn of_kind(kind: Kind) -> Option<Range> {
        match kind {
            Kind::Short { s: true, u: true } => Some(Range { lo: 0, hi: 32767 }),
            Kind::Short { s: true, u: false } => Some(Range::SHORT),
            Kind::Short { s: false, u: true } => Some(Range::U16),
            _ => None,
        }
    }

    fn within(self, outer: Range) -> bool {
        outer.lo <= self.lo && self.hi <= outer.hi
    }

    /// The kind flags this range proves, added to `kind`'s (for a 16-bit
    /// value; ints and references are left alone).
    pub fn refine(self, kind: Kind) -> Kind {
        match kind {
            Kind::Short { s, u } => Kind::Short {
                s: s || self.within(Range::SHORT),
                u: u || self.within(Range::U16),
            },
            k => k,
        }
    }

    /// The smallest range holding both.
    pub fn hull(self, other: Range) -> Range {
        Range {
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }

    /// The range of a slot that held `self` and now also `other`: their hull,
    /// pushed out to the next [`BOUNDS`] when it grew, so that a loop that
    /// grows it reaches a fixed point in a few passes.
    pub fn widen(self, other: Range) -> Range {
        let h = self.hull(other);
        if h == self {
            return h;
        }
        let lo = if h.lo < self.lo {
            BOUNDS
                .iter()
                .rev()
                .copied()
                .find(|&b| b <= h.lo)
                .unwrap_or(i32::MIN)
        } else {
            h.lo
        };
        let hi = if h.hi > self.hi {
            BOUNDS
                .iter()
                .copied()
                .find(|&b| b >= h.hi)
                .unwrap_or(i32::MAX)
        } else {
            h.hi
        };
        Range { lo, hi }
    }

    /// The narrower of two facts about one value.
    pub fn meet(a: Option<Range>, b: Option<Range>) -> Option<Range> {
        match (a, b) {
            (Some(a), Some(b)) => {
                let r = Range {
                    lo: a.lo.max(b.lo),
                    hi: a.hi.min(b.hi),
                };
                // Disjoint facts come from dead code; keep the first.
                Some(if r.lo <= r.hi { r } else { a })
            }
            (a, None) => a,
            (None, b) => b,
        }
    }

    /// The value after a cast to byte.
    pub fn to_byte(self) -> Range {
        if self.within(Range::BYTE) {
            self
        } else {
            Range::BYTE
        }
    }

    /// The value after a cast to short.
    pub fn to_short(self) -> Range {
        if self.within(Range::SHORT) {
            self
        } else {
            Range::SHORT
        }
    }

    /// `-x` (`None` for `-MIN_VALUE`, which wraps).
    pub fn neg(self) -> Option<Range> {
        from_i64(-i64::from(self.hi), -i64::from(self.lo))
    }
}

fn from_i64(lo: i64, hi: i64) -> Option<Range> {
    Some(Range {
        lo: i32::try_from(lo).ok()?,
        hi: i32::try_from(hi).ok()?,
    })
}

/// The two's complement width that holds every value of `r`, in bits.
fn signed_bits(r: Range) -> u32 {
    let m = i64::from(r.lo).min(-i64::from(r.hi) - 1);
    // m < 0: the width holding -|m| .. |m|-1.
    65 - (!m).leading_zeros()
}

fn abs_max(r: Range) -> i64 {
    i64::from(r.lo).abs().max(i64::from(r.hi).abs())
}

/// The range of `a <o> b` in Java's int arithmetic; `None` when it may wrap
/// or nothing is known. Division and remainder by zero throw, so their
/// ranges are those of the results that exist.
pub fn binary(o: u8, a: Range, b: Range) -> Option<Range> {
    let (al, ah, bl, bh) = (
        i64::from(a.lo),
        i64::from(a.hi),
        i64::from(b.lo),
        i64::from(b.hi),
    );
    match o {
        op::IADD => from_i64(al + bl, ah + bh),
        op::ISUB => from_i64(al - bh, ah - bl),
        op::IMUL => {
            let c = [al * bl, al * bh, ah * bl, ah * bh];
            from_i64(*c.iter().min()?, *c.iter().max()?)
        }
        op::IDIV => {
            // |a / b| <= |a| for every b != 0; the sign is a's when b > 0.
            let m = abs_max(a);
            if bl >= 1 {
                from_i64(al.min(0), ah.max(0))
            } else {
                from_i64(-m, m)
            }
        }
        op::IREM => {
            // The remainder has the dividend's sign and is smaller than the
            // divisor in magnitude (and than the dividend).
            let m = (abs_max(b) - 1).max(0);
            from_i64((-m).max(al.min(0)), m.min(ah.max(0)))
        }
        op::IAND => {
            if al >= 0 && bl >= 0 {
                from_i64(0, ah.min(bh))
            } else if al >= 0 {
                from_i64(0, ah)
            } else if bl >= 0 {
                from_i64(0, bh)
            } else {
                signed_range(signed_bits(a).max(signed_bits(b)))
            }
        }
        op::IOR | op::IXOR => {
            if al >= 0 && bl >= 0 {
                let bits = 64 - (ah.max(bh)).leading_zeros();
                from_i64(0, (1i64 << bits) - 1)
            } else {
                signed_range(signed_bits(a).max(signed_bits(b)))
            }
        }
        op::ISHL => {
            let n = constant_shift(b)?;
            from_i64(al << n, ah << n)
        }
        op::ISHR => match constant_shift(b) {
            Some(n) => from_i64(al >> n, ah >> n),
            // Shifted right by any amount, x stays between x and its sign.
            None => from_i64(al.min(0), ah.max(-1)),
        },
        op::IUSHR => {
            if al >= 0 {
                return match constant_shift(b) {
                    Some(n) => from_i64(al >> n, ah >> n),
                    None => from_i64(0, ah),
                };
            }
            match constant_shift(b)? {
                0 => Some(a),
                n => from_i64(0, i64::from(u32::MAX >> n)),
            }
        }
        _ => None,
    }
}

/// A shift amount as Java uses it (its low five bits), when it is known.
fn constant_shift(b: Range) -> Option<u32> {
    (b.lo == b.hi).then_some((b.lo & 0x1F) as u32)
}

fn signed_range(bits: u32) -> Option<Range> {
    if bits > 32 {
        return None;
    }
    let half = 1i64 << (bits - 1);
    from_i64(-half, half - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(lo: i32, hi: i32) -> Range {
        Range { lo, hi }
    }

    #[test]
    fn sums_of_bytes_stay_shorts() {
        let s = binary(op::IADD, Range::BYTE, Range::BYTE).unwrap();
        assert_eq!(s, r(-256, 254));
        assert_eq!(s.refine(Kind::LOW16), Kind::Short { s: true, u: false });
        // Two shorts may leave 16 bits.
        let s = binary(op::IADD, Range::SHORT, Range::SHORT).unwrap();
        assert_eq!(s.refine(Kind::LOW16), Kind::LOW16);
    }

    #[test]
    fn division_and_remainder_are_bounded_by_their_operands() {
        let p1 = binary(op::IADD, Range::BYTE, Range::of(1)).unwrap();
        assert_eq!(binary(op::IREM, p1, Range::BYTE), Some(r(-127, 127)));
        assert_eq!(binary(op::IDIV, p1, Range::BYTE), Some(r(-128, 128)));
        // -32768 / -1 is 32768: not a short.
        let q = binary(op::IDIV, Range::SHORT, Range::SHORT).unwrap();
        assert!(!q.within(Range::SHORT));
        assert_eq!(binary(op::IDIV, r(0, 100), r(1, 10)), Some(r(0, 100)));
    }

    #[test]
    fn masks_shifts_and_products() {
        assert_eq!(
            binary(op::IAND, Range::SHORT, Range::of(0xFF)),
            Some(r(0, 255))
        );
        assert_eq!(
            binary(op::IAND, Range::BYTE, Range::BYTE),
            Some(r(-128, 127))
        );
        assert_eq!(binary(op::IOR, r(0, 5), r(0, 9)), Some(r(0, 15)));
        assert_eq!(
            binary(op::ISHL, Range::BYTE, Range::of(8)),
            Some(r(-32768, 32512))
        );
        assert_eq!(
            binary(op::ISHR, Range::SHORT, Range::of(4)),
            Some(r(-2048, 2047))
        );
        assert_eq!(
            binary(op::ISHR, Range::SHORT, Range::BYTE),
            Some(Range::SHORT)
        );
        // >>> of a value that may be negative brings in zeros from bit 31.
        assert_eq!(
            binary(op::IUSHR, Range::SHORT, Range::of(2)),
            Some(r(0, 0x3FFF_FFFF))
        );
        assert_eq!(binary(op::IUSHR, r(0, 300), Range::BYTE), Some(r(0, 300)));
        assert_eq!(binary(op::IUSHR, Range::SHORT, Range::BYTE), None);
        assert_eq!(
            binary(op::IMUL, Range::BYTE, Range::BYTE),
            Some(r(-16256, 16384))
        );
        assert_eq!(
            binary(op::IMUL, r(i32::MIN, 0), Range::of(2)),
            None,
            "may wrap around"
        );
    }

    #[test]
    fn widening_snaps_to_bounds_and_reaches_a_fixed_point() {
        let mut cur = Range::of(0);
        let mut passes = 0;
        // A loop counter growing by one per pass.
        loop {
            let next = cur.widen(binary(op::IADD, cur, Range::of(1)).unwrap_or(cur));
            passes += 1;
            if next == cur || passes > 20 {
                break;
            }
            cur = next;
        }
        assert!(passes <= BOUNDS.len(), "{passes} passes");
        assert_eq!(Range::BYTE.widen(r(-5, 3)), Range::BYTE);
        assert_eq!(Range::of(3).widen(Range::of(200)), r(3, 255));
    }

    #[test]
    fn casts_and_kinds() {
        assert_eq!(r(-300, 5).to_byte(), Range::BYTE);
        assert_eq!(r(-3, 5).to_byte(), r(-3, 5));
        assert_eq!(Range::of_kind(Kind::SMALL), Some(r(0, 32767)));
        assert_eq!(Range::of_kind(Kind::LOW16), None);
        assert_eq!(
            r(0, 40000).refine(Kind::LOW16),
            Kind::Short { s: false, u: true }
        );
        assert_eq!(r(i32::MIN, 0).neg(), None);
        assert_eq!(signed_bits(Range::BYTE), 8);
        assert_eq!(signed_bits(r(-129, 0)), 9);
    }
}
