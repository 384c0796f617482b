//! Splitting a run of method_info structures into methods.
//!
//! Known starts (from [`super::MethodBoundaries`]) cut the run into regions.
//! With a complete set of starts, a region is one method, unless it begins
//! with an abstract method's lone header. Without one, a method ends after an
//! instruction that does not fall through once no branch target, try block or
//! handler of the method lies further on: what follows is then unreachable
//! from this method, so it is the next method's header.

use std::collections::BTreeSet;

use crate::bytes::Reader;
use crate::cap::bytecode::{decode_all, decode_instruction, Instruction};
use crate::error::Result;

use super::{ExceptionHandler, MethodHeader, MethodInfo};

/// Decodes every method from `r` (which must start at a method header) to its end.
pub fn split_methods(
    r: &mut Reader<'_>,
    starts: &BTreeSet<usize>,
    complete: bool,
    handlers: &[ExceptionHandler],
) -> Result<Vec<MethodInfo>> {
    let region_start = r.offset();
    let end = region_start + r.remaining();
    if region_start == end {
        return Ok(Vec::new());
    }
    let mut cuts: Vec<usize> = starts.range(region_start + 1..end).copied().collect();
    cuts.push(end);
    let mut methods = Vec::new();
    let mut from = region_start;
    for cut in cuts {
        let mut region = r.sub(cut - from, "method_info")?;
        while !region.is_empty() {
            methods.push(decode_method(&mut region, complete, handlers, cut)?);
        }
        from = cut;
    }
    Ok(methods)
}

/// Decodes one method at the reader's position; `next` is the next known start.
fn decode_method(
    r: &mut Reader<'_>,
    complete: bool,
    handlers: &[ExceptionHandler],
    next: usize,
) -> Result<MethodInfo> {
    let at = r.offset();
    let offset = u32::try_from(at).map_err(|_| r.error("method offset exceeds 4 GiB"))?;
    let header = MethodHeader::decode(r)?;
    if header.is_abstract() {
        return Ok(MethodInfo {
            offset,
            header,
            code: Vec::new(),
        });
    }
    let code = if complete {
        decode_all(r)?
    } else {
        walk_to_end(r, handlers)?
    };
    if code.is_empty() {
        return Err(r.error_at(
            at,
            format!(
                "method at {at:#x} is not abstract but no bytecode follows its header before the next method at {next:#x}"
            ),
        ));
    }
    Ok(MethodInfo {
        offset,
        header,
        code,
    })
}

/// Decodes instructions until the method's natural end or the end of `r`.
fn walk_to_end(r: &mut Reader<'_>, handlers: &[ExceptionHandler]) -> Result<Vec<Instruction>> {
    let code_start = r.offset();
    let mut code = Vec::new();
    // One past the furthest byte this method's control flow can reach so far.
    let mut needed = code_start;
    while !r.is_empty() {
        let ins = decode_instruction(r)?;
        for t in ins.branch_targets() {
            if let Ok(t) = usize::try_from(t) {
                needed = needed.max(t.saturating_add(1));
            }
        }
        let stops = !ins.falls_through();
        code.push(ins);
        let pos = r.offset();
        if stops {
            for h in handlers
                .iter()
                .filter(|h| (code_start..pos).contains(&usize::from(h.start_offset)))
            {
                needed = needed
                    .max(h.end_offset())
                    .max(usize::from(h.handler_offset) + 1);
            }
            if needed <= pos {
                break;
            }
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(bytes: &[u8], starts: &[usize], complete: bool) -> Result<Vec<MethodInfo>> {
        let mut r = Reader::new(bytes, "Method component");
        let starts: BTreeSet<usize> = starts.iter().copied().collect();
        let m = split_methods(&mut r, &starts, complete, &[])?;
        r.expect_end()?;
        Ok(m)
    }

    // m0: header, sconst_0, sreturn ; m1: abstract header ; m2: header, ifeq +3, return, return
    const THREE: [u8; 13] = [
        0x01, 0x10, 0x03, 0x78, // m0 @0
        0x40, 0x10, // m1 @4 (abstract)
        0x01, 0x10, 0x60, 0x03, 0x7A, 0x7A, 0x00, // m2 @6: ifeq -> 0xB, return, return, nop
    ];

    #[test]
    fn walk_finds_method_ends_without_hints() {
        let m = split(&THREE[..12], &[], false).unwrap();
        assert_eq!(m.iter().map(|m| m.offset).collect::<Vec<_>>(), [0, 4, 6]);
        assert!(m[1].header.is_abstract() && m[1].code.is_empty());
        // The first return at 0xA does not end m2: the branch reaches 0xB.
        assert_eq!(m[2].code.len(), 3);
    }

    #[test]
    fn complete_hints_are_trusted() {
        let m = split(&THREE, &[0, 4, 6], true).unwrap();
        assert_eq!(m.len(), 3);
        // With complete hints the trailing nop belongs to m2.
        assert_eq!(m[2].code.len(), 4);
        // Hints alone, incomplete: m2 stops after its last reachable return and
        // the lone nop is taken for a method header, which is truncated.
        let e = split(&THREE, &[0, 4, 6], false).unwrap_err().to_string();
        assert!(e.contains("offset 0xd"), "{e}");
    }

    #[test]
    fn region_without_code_is_a_clear_error() {
        // A non-abstract header directly followed by the next known method.
        let e = split(&[0x01, 0x10, 0x01, 0x10, 0x7A], &[2], true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no bytecode"), "{e}");
        assert!(e.contains("0x2"), "{e}");
    }

    #[test]
    fn instruction_across_a_known_start_is_an_error() {
        // sspush straddles the start at 4.
        assert!(split(&[0x01, 0x10, 0x11, 0x00, 0x01, 0x10, 0x7A], &[4], true).is_err());
    }

    #[test]
    fn handlers_keep_the_walk_going() {
        // m @0: aload_0 ; athrow ; (handler code) return
        let bytes = [0x01, 0x10, 0x18, 0x93, 0x7A];
        let h = ExceptionHandler {
            start_offset: 2,
            stop_bit: true,
            active_length: 2,
            handler_offset: 4,
            catch_type_index: 0,
        };
        let mut r = Reader::new(&bytes, "m");
        let m = split_methods(&mut r, &BTreeSet::new(), false, &[h]).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].code.len(), 3);
    }
}
