//! Expected responses and matching a response against one.
//!
//! An expectation is a data pattern then one or more status-word patterns.
//! The data pattern is a sequence of fixed-length elements (bytes with
//! nibble wildcards, fixed-length captures, earlier variables) with at most
//! one variable-length element (`*` or `$name:*`). That restriction keeps
//! matching linear and unambiguous: the fixed elements before it are
//! aligned to the start of the data, those after it to the end, and the
//! variable element takes what is left — no backtracking, and a mismatch
//! can point at the exact bytes that differ.

use std::collections::HashMap;
use std::fmt::Write as _;

/// One element of a data pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    /// A byte; `mask` has 0 nibbles where the pattern said `X` (any nibble).
    Byte { value: u8, mask: u8 },
    /// `*`: any number of bytes, none included.
    Star,
    /// `$name:N` (`len` = Some(N)) or `$name:*`: capture bytes into a
    /// variable for later steps.
    Capture { name: String, len: Option<usize> },
    /// `$name`: exactly the bytes of an earlier variable.
    Var(String),
}

impl Elem {
    fn is_variable_length(&self) -> bool {
        matches!(self, Elem::Star | Elem::Capture { len: None, .. })
    }
}

/// A status word pattern: `9000`, `61XX`, `6A8X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwPattern {
    pub value: u16,
    pub mask: u16,
}

impl SwPattern {
    pub fn matches(&self, sw: u16) -> bool {
        sw & self.mask == self.value & self.mask
    }
}

impl std::fmt::Display for SwPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for shift in [12u16, 8, 4, 0] {
            if (self.mask >> shift) & 0xF == 0 {
                f.write_str("X")?;
            } else {
                write!(f, "{:X}", (self.value >> shift) & 0xF)?;
            }
        }
        Ok(())
    }
}

/// What a response must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// `any`: whatever the card answers.
    Any,
    /// Data pattern and status word alternatives (at least one).
    Match { data: Vec<Elem>, sw: Vec<SwPattern> },
}

impl Expectation {
    /// The default of a command step: status 9000, any data.
    pub fn ok_any_data() -> Expectation {
        Expectation::Match {
            data: vec![Elem::Star],
            sw: vec![SwPattern {
                value: 0x9000,
                mask: 0xFFFF,
            }],
        }
    }

    /// The variables this expectation captures.
    pub fn captures(&self) -> impl Iterator<Item = &str> {
        let data: &[Elem] = match self {
            Expectation::Any => &[],
            Expectation::Match { data, .. } => data,
        };
        data.iter().filter_map(|e| match e {
            Elem::Capture { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// The variables this expectation reads.
    pub fn uses(&self) -> impl Iterator<Item = &str> {
        let data: &[Elem] = match self {
            Expectation::Any => &[],
            Expectation::Match { data, .. } => data,
        };
        data.iter().filter_map(|e| match e {
            Elem::Var(name) => Some(name.as_str()),
            _ => None,
        })
    }
}

impl std::fmt::Display for Expectation {
    /// The canonical spelling: bytes spaced, wildcards as X.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (data, sw) = match self {
            Expectation::Any => return f.write_str("any"),
            Expectation::Match { data, sw } => (data, sw),
        };
        let mut s = String::new();
        for e in data {
            match e {
                Elem::Byte { value, mask } => {
                    for (shift, m) in [(4, 0xF0), (0, 0x0F)] {
                        if mask & m == 0 {
                            s.push('X');
                        } else {
                            let _ = write!(s, "{:X}", (value >> shift) & 0xF);
                        }
                    }
                }
                Elem::Star => s.push('*'),
                Elem::Capture { name, len: Some(n) } => {
                    let _ = write!(s, "${name}:{n}");
                }
                Elem::Capture { name, len: None } => {
                    let _ = write!(s, "${name}:*");
                }
                Elem::Var(name) => {
                    let _ = write!(s, "${name}");
                }
            }
            s.push(' ');
        }
        let alternatives: Vec<String> = sw.iter().map(SwPattern::to_string).collect();
        s.push_str(&alternatives.join("|"));
        f.write_str(&s)
    }
}

/// The result of matching one response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// For each byte of the actual data, whether it is wrong (missing
    /// bytes cannot be marked; `problems` says so).
    pub bad_bytes: Vec<bool>,
    /// Whether the status word is wrong.
    pub bad_sw: bool,
    /// What is wrong, in words; empty when the response matches.
    pub problems: Vec<String>,
    /// The variables captured (only meaningful when it matches).
    pub captured: Vec<(String, Vec<u8>)>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A variable a pattern reads that has no value (the step that captures
/// it failed or was skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unset(pub String);

/// Matches `data` and `sw` against `expect`, with `vars` for `$name`.
pub fn check(
    expect: &Expectation,
    data: &[u8],
    sw: u16,
    vars: &HashMap<String, Vec<u8>>,
) -> Result<Verdict, Unset> {
    let mut v = Verdict {
        bad_bytes: vec![false; data.len()],
        ..Verdict::default()
    };
    let (pattern, sws) = match expect {
        Expectation::Any => return Ok(v),
        Expectation::Match { data, sw } => (data, sw),
    };
    if !sws.iter().any(|p| p.matches(sw)) {
        v.bad_sw = true;
        let alternatives: Vec<String> = sws.iter().map(SwPattern::to_string).collect();
        v.problems.push(format!(
            "status word {sw:04X} is not {} ({})",
            alternatives.join(" or "),
            gp::sw::explain(gp::sw::CommandKind::Other, sw)
        ));
    }
    // Resolve variables into bytes: every element but one has a length now.
    let mut fixed: Vec<Fixed<'_>> = Vec::with_capacity(pattern.len());
    for e in pattern {
        fixed.push(match e {
            Elem::Byte { value, mask } => Fixed::Byte(*value, *mask),
            Elem::Var(name) => Fixed::Bytes(vars.get(name).ok_or_else(|| Unset(name.clone()))?),
            Elem::Capture { name, len: Some(n) } => Fixed::Capture(name, *n),
            Elem::Star | Elem::Capture { len: None, .. } => Fixed::Rest(e),
        });
    }
    let split = fixed.iter().position(|f| matches!(f, Fixed::Rest(_)));
    let (head, rest, tail) = match split {
        Some(i) => (&fixed[..i], Some(&fixed[i]), &fixed[i + 1..]),
        None => (&fixed[..], None, &fixed[..0]),
    };
    let head_len: usize = head.iter().map(Fixed::len).sum();
    let tail_len: usize = tail.iter().map(Fixed::len).sum();
    let needed = head_len + tail_len;
    let length_ok = match rest {
        Some(_) => data.len() >= needed,
        None => data.len() == needed,
    };
    if !length_ok {
        v.problems.push(match rest {
            Some(_) => format!(
                "data has {} byte(s), the pattern needs at least {needed}",
                data.len()
            ),
            None => format!("data has {} byte(s), expected {needed}", data.len()),
        });
    }
    // The head is compared from the start, the tail from the end (when the
    // lengths are wrong and there is no `*`, everything from the start, so
    // the marks show where the two part).
    let tail_start = match rest {
        Some(_) if length_ok => data.len() - tail_len,
        _ => head_len,
    };
    let mut differing = 0usize;
    compare(head, data, 0, &mut v, &mut differing);
    if let Some(Fixed::Rest(e)) = rest {
        if let (Elem::Capture { name, .. }, true) = (e, length_ok) {
            v.captured
                .push((name.clone(), data[head_len..tail_start].to_vec()));
        }
    }
    compare(tail, data, tail_start, &mut v, &mut differing);
    if rest.is_none() {
        // Bytes beyond the expected length are all wrong.
        for b in v.bad_bytes.iter_mut().skip(needed) {
            *b = true;
        }
    }
    if differing > 0 {
        v.problems
            .push(format!("{differing} data byte(s) differ from the pattern"));
    }
    if !v.passed() {
        v.captured.clear();
    }
    Ok(v)
}

/// A pattern element with its length known.
enum Fixed<'a> {
    Byte(u8, u8),
    Bytes(&'a [u8]),
    Capture(&'a str, usize),
    Rest(&'a Elem),
}

impl Fixed<'_> {
    fn len(&self) -> usize {
        match self {
            Fixed::Byte(..) => 1,
            Fixed::Bytes(b) => b.len(),
            Fixed::Capture(_, n) => *n,
            Fixed::Rest(_) => 0,
        }
    }
}

/// Compares fixed elements with `data` from `at`, marking wrong bytes and
/// recording captures; elements beyond the data count as missing.
fn compare(
    elems: &[Fixed<'_>],
    data: &[u8],
    mut at: usize,
    v: &mut Verdict,
    differing: &mut usize,
) {
    for e in elems {
        match e {
            Fixed::Byte(value, mask) => {
                if let Some(&b) = data.get(at) {
                    if b & mask != value & mask {
                        v.bad_bytes[at] = true;
                        *differing += 1;
                    }
                }
            }
            Fixed::Bytes(bytes) => {
                for (i, expected) in bytes.iter().enumerate() {
                    if let Some(&b) = data.get(at + i) {
                        if b != *expected {
                            v.bad_bytes[at + i] = true;
                            *differing += 1;
                        }
                    }
                }
            }
            Fixed::Capture(name, n) => {
                if let Some(bytes) = data.get(at..at + n) {
                    v.captured.push((name.to_string(), bytes.to_vec()));
                }
            }
            Fixed::Rest(_) => {}
        }
        at += e.len();
    }
}

/// Checks the one-variable-length-element rule; returns the offending
/// element's index.
pub(crate) fn second_variable_length(data: &[Elem]) -> Option<usize> {
    data.iter()
        .enumerate()
        .filter(|(_, e)| e.is_variable_length())
        .nth(1)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte(b: u8) -> Elem {
        Elem::Byte {
            value: b,
            mask: 0xFF,
        }
    }

    fn sw(value: u16, mask: u16) -> SwPattern {
        SwPattern { value, mask }
    }

    fn exp(data: Vec<Elem>) -> Expectation {
        Expectation::Match {
            data,
            sw: vec![sw(0x9000, 0xFFFF)],
        }
    }

    fn no_vars() -> HashMap<String, Vec<u8>> {
        HashMap::new()
    }

    #[test]
    fn exact_bytes_and_status() {
        let e = exp(vec![byte(0x48), byte(0x65)]);
        assert!(check(&e, &[0x48, 0x65], 0x9000, &no_vars())
            .unwrap()
            .passed());
        let v = check(&e, &[0x48, 0x66], 0x9000, &no_vars()).unwrap();
        assert_eq!(v.bad_bytes, [false, true]);
        assert!(!v.bad_sw);
        let v = check(&e, &[0x48, 0x65], 0x6D00, &no_vars()).unwrap();
        assert!(v.bad_sw);
        assert!(
            v.problems[0].contains("6D00 is not 9000"),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn length_mismatch_marks_extra_bytes() {
        let e = exp(vec![byte(1)]);
        let v = check(&e, &[1, 2, 3], 0x9000, &no_vars()).unwrap();
        assert_eq!(v.bad_bytes, [false, true, true]);
        assert!(v.problems[0].contains("3 byte(s), expected 1"));
        let v = check(&e, &[], 0x9000, &no_vars()).unwrap();
        assert!(v.problems[0].contains("0 byte(s), expected 1"));
    }

    #[test]
    fn nibble_wildcards_in_data_and_status() {
        let e = Expectation::Match {
            data: vec![Elem::Byte {
                value: 0x60,
                mask: 0xF0,
            }],
            sw: vec![sw(0x6100, 0xFF00), sw(0x6A80, 0xFFF0)],
        };
        assert!(check(&e, &[0x6F], 0x61FF, &no_vars()).unwrap().passed());
        assert!(check(&e, &[0x61], 0x6A86, &no_vars()).unwrap().passed());
        assert!(!check(&e, &[0x7F], 0x6100, &no_vars()).unwrap().passed());
        assert!(!check(&e, &[0x6F], 0x6B00, &no_vars()).unwrap().passed());
        assert_eq!(e.to_string(), "6X 61XX|6A8X");
    }

    #[test]
    fn star_aligns_head_and_tail() {
        let e = exp(vec![byte(0x6F), Elem::Star, byte(0x01)]);
        assert!(check(&e, &[0x6F, 0x01], 0x9000, &no_vars())
            .unwrap()
            .passed());
        assert!(check(&e, &[0x6F, 9, 9, 9, 0x01], 0x9000, &no_vars())
            .unwrap()
            .passed());
        let v = check(&e, &[0x6F, 9, 9, 9, 0x02], 0x9000, &no_vars()).unwrap();
        assert_eq!(v.bad_bytes, [false, false, false, false, true]);
        let v = check(&e, &[0x6F], 0x9000, &no_vars()).unwrap();
        assert!(v.problems[0].contains("at least 2"));
    }

    #[test]
    fn captures_and_variables() {
        let e = exp(vec![
            byte(0xAA),
            Elem::Capture {
                name: "x".into(),
                len: Some(2),
            },
            Elem::Capture {
                name: "rest".into(),
                len: None,
            },
        ]);
        let v = check(&e, &[0xAA, 1, 2, 3, 4], 0x9000, &no_vars()).unwrap();
        assert!(v.passed());
        assert_eq!(
            v.captured,
            [
                ("x".to_string(), vec![1, 2]),
                ("rest".to_string(), vec![3, 4])
            ]
        );
        // A failed match captures nothing.
        let v = check(&e, &[0xAB, 1, 2], 0x9000, &no_vars()).unwrap();
        assert!(v.captured.is_empty());

        let mut vars = no_vars();
        vars.insert("x".into(), vec![1, 2]);
        let e = exp(vec![Elem::Var("x".into()), byte(3)]);
        assert!(check(&e, &[1, 2, 3], 0x9000, &vars).unwrap().passed());
        assert_eq!(
            check(&e, &[1, 9, 3], 0x9000, &vars).unwrap().bad_bytes,
            [false, true, false]
        );
        let e = exp(vec![Elem::Var("y".into())]);
        assert_eq!(check(&e, &[], 0x9000, &vars), Err(Unset("y".into())));
    }

    #[test]
    fn any_matches_everything() {
        assert!(check(&Expectation::Any, &[1, 2], 0x6F00, &no_vars())
            .unwrap()
            .passed());
        assert!(
            check(&Expectation::ok_any_data(), &[1, 2], 0x9000, &no_vars())
                .unwrap()
                .passed()
        );
        assert!(!check(&Expectation::ok_any_data(), &[], 0x6A82, &no_vars())
            .unwrap()
            .passed());
    }

    #[test]
    fn one_variable_length_element_only() {
        assert_eq!(second_variable_length(&[Elem::Star, byte(1)]), None);
        assert_eq!(
            second_variable_length(&[
                Elem::Star,
                byte(1),
                Elem::Capture {
                    name: "a".into(),
                    len: None
                }
            ]),
            Some(2)
        );
    }
}
