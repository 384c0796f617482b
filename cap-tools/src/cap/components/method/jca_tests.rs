//! Checks the decoded Method components of the converter-reference CAPs
//! against the JCA assembly Oracle's converter wrote next to them: the same
//! method headers (.stack, .locals), the same instructions with the same
//! non-branch operands, and the same exception handler catch types.

use std::path::Path;

use super::tests::corpus_caps;
use crate::cap::bytecode::Operands;
use crate::cap::{Cap, Component};

/// One method body as the JCA file shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Body {
    stack: u8,
    locals: u8,
    /// Mnemonic and numeric operands, labels left out.
    code: Vec<(String, Vec<i64>)>,
}

/// The method bodies and the catch_type_index of every handler in a JCA file.
fn parse_jca(text: &str) -> (Vec<Body>, Vec<u16>) {
    let mut bodies = Vec::new();
    let mut catches = Vec::new();
    let mut current: Option<Body> = None;
    let mut in_exceptions = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if line.starts_with(".method") {
            current = Some(Body {
                stack: 0,
                locals: 0,
                code: Vec::new(),
            });
            continue;
        }
        let Some(body) = current.as_mut() else {
            continue;
        };
        if line.starts_with(".exceptionTable") {
            in_exceptions = true;
        } else if in_exceptions {
            if line == "}" {
                in_exceptions = false;
            } else if let Some(t) = line.trim_end_matches(';').split_whitespace().last() {
                catches.push(t.parse().unwrap());
            }
        } else if line == "}" {
            let body = current.take().unwrap();
            // Abstract methods have no .stack and no code.
            if !body.code.is_empty() {
                bodies.push(body);
            }
        } else if let Some(v) = line.strip_prefix(".stack ") {
            body.stack = v.trim_end_matches(';').parse().unwrap();
        } else if let Some(v) = line.strip_prefix(".locals ") {
            body.locals = v.trim_end_matches(';').parse().unwrap();
        } else if !line.is_empty() && !line.starts_with('.') {
            let insn = match line.split_once(':') {
                Some((label, rest)) if label.starts_with('L') => rest,
                _ => line,
            };
            let mut tokens = insn.trim().trim_end_matches(';').split_whitespace();
            let mnemonic = tokens.next().unwrap().to_string();
            let nums = tokens
                .filter(|t| !t.starts_with('L'))
                .map(|t| t.parse::<i64>().unwrap())
                .collect();
            body.code.push((mnemonic, nums));
        }
    }
    (bodies, catches)
}

/// The numeric operands the JCA assembler prints for an instruction.
fn jca_operands(ops: &Operands) -> Vec<i64> {
    match ops {
        Operands::None | Operands::Branch(_) | Operands::BranchWide(_) => vec![],
        Operands::Byte(v) => vec![i64::from(*v)],
        Operands::Short(v) => vec![i64::from(*v)],
        Operands::Int(v) => vec![i64::from(*v)],
        Operands::Local(v)
        | Operands::StackWords(v)
        | Operands::Cp1(v)
        | Operands::ArrayType(v) => {
            vec![i64::from(*v)]
        }
        Operands::LocalInc { index, constant } => vec![i64::from(*index), i64::from(*constant)],
        Operands::LocalIncWide { index, constant } => vec![i64::from(*index), i64::from(*constant)],
        Operands::Cp2(v) => vec![i64::from(*v)],
        Operands::TypeCheck { atype, index } => vec![i64::from(*atype), i64::from(*index)],
        Operands::InvokeInterface {
            nargs,
            index,
            token,
        } => vec![i64::from(*nargs), i64::from(*index), i64::from(*token)],
        Operands::STableSwitch { low, high, .. } => vec![i64::from(*low), i64::from(*high)],
        Operands::ITableSwitch { low, high, .. } => vec![i64::from(*low), i64::from(*high)],
        Operands::SLookupSwitch { pairs, .. } => std::iter::once(pairs.len() as i64)
            .chain(pairs.iter().map(|p| i64::from(p.match_value)))
            .collect(),
        Operands::ILookupSwitch { pairs, .. } => std::iter::once(pairs.len() as i64)
            .chain(pairs.iter().map(|p| i64::from(p.match_value)))
            .collect(),
    }
}

fn decoded(cap: &Cap) -> (Vec<Body>, Vec<u16>) {
    let m = cap
        .components
        .iter()
        .find_map(|c| match c {
            Component::Method(m) => Some(m),
            _ => None,
        })
        .unwrap();
    let bodies = m
        .methods
        .iter()
        .filter(|m| !m.header.is_abstract())
        .map(|m| Body {
            stack: m.header.max_stack,
            locals: m.header.max_locals,
            code: m
                .code
                .iter()
                .map(|i| (i.mnemonic().to_string(), jca_operands(&i.operands)))
                .collect(),
        })
        .collect();
    (
        bodies,
        m.handlers.iter().map(|h| h.catch_type_index).collect(),
    )
}

#[test]
fn decoded_methods_match_the_converters_jca_listings() {
    let mut compared = 0;
    for cap_path in corpus_caps() {
        let jca_path = cap_path.with_extension("jca");
        if !Path::new(&jca_path).exists() {
            continue;
        }
        let text = std::fs::read_to_string(&jca_path).unwrap();
        let (mut want, mut want_catches) = parse_jca(&text);
        let cap = Cap::from_path(&cap_path).unwrap();
        let (mut got, mut got_catches) = decoded(&cap);
        assert_eq!(got.len(), want.len(), "{}", cap_path.display());
        want.sort();
        got.sort();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{}", cap_path.display());
        }
        want_catches.sort_unstable();
        got_catches.sort_unstable();
        assert_eq!(got_catches, want_catches, "{}", cap_path.display());
        compared += 1;
    }
    assert_eq!(compared, 10, "expected five applets per kit");
}

#[test]
fn oop_process_method_in_detail() {
    let path = corpus_caps()
        .into_iter()
        .find(|p| p.ends_with("oracle-3.2.0/oop.cap"))
        .unwrap();
    let cap = Cap::from_path(path).unwrap();
    let m = cap
        .components
        .iter()
        .find_map(|c| match c {
            Component::Method(m) => Some(m),
            _ => None,
        })
        .unwrap();
    // process(APDU): .stack 3, .locals 5, nargs 2 (this, apdu).
    let process = m
        .methods
        .iter()
        .find(|m| m.code.iter().any(|i| i.mnemonic() == "stableswitch"))
        .unwrap();
    assert_eq!(
        (
            process.header.max_stack,
            process.header.nargs,
            process.header.max_locals
        ),
        (3, 2, 5)
    );
    // Six handlers: two catch blocks and four finally entries.
    assert_eq!(m.handlers.len(), 6);
    assert_eq!(
        m.handlers
            .iter()
            .map(|h| h.catch_type_index)
            .collect::<Vec<_>>(),
        [21, 22, 0, 0, 0, 0]
    );
    // The three handlers of the try block share its range.
    assert_eq!(m.handlers[0].start_offset, m.handlers[2].start_offset);
    assert_eq!(m.handlers[0].active_length, m.handlers[1].active_length);
    // Every handler and branch lands on an instruction of the method.
    let starts: Vec<i64> = process.code.iter().map(|i| i64::from(i.offset)).collect();
    for i in &process.code {
        for t in i.branch_targets() {
            assert!(starts.contains(&t), "{} -> {t:#x}", i.mnemonic());
        }
    }
    for h in &m.handlers {
        assert!(starts.contains(&i64::from(h.handler_offset)));
        assert!(starts.contains(&i64::from(h.start_offset)));
    }
    // stableswitch L14 1 5 L4 L5 L6 L7 L8: five cases plus the default.
    let switch = process
        .code
        .iter()
        .find(|i| i.mnemonic() == "stableswitch")
        .unwrap();
    assert_eq!(switch.branch_targets().len(), 6);
    // invokeinterface 1 12 0 names the Shape interface class.
    let ii = process
        .code
        .iter()
        .find(|i| i.mnemonic() == "invokeinterface")
        .unwrap();
    let cp = ii.cp_index().unwrap();
    assert_eq!(cp.index, 12);
    assert_eq!(cp.expected, crate::cap::bytecode::ExpectedCp::InterfaceRef);
}
