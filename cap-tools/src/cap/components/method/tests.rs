//! Method component tests: the shared corpus (descriptors against decoded
//! methods, decoding with fewer hints), hand-built extended bodies, and
//! malformed input.

use super::*;
use crate::cap::bytecode::Operands;
use crate::cap::{Cap, Component, Format};

/// Every CAP of the shared corpus and both converter-reference kits.
pub(crate) fn corpus_caps() -> Vec<std::path::PathBuf> {
    let shared = std::env::var("JCT_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
        });
    let mut out = Vec::new();
    for dir in [
        "cap-corpus",
        "converter-reference/oracle-3.0.5",
        "converter-reference/oracle-3.2.0",
    ] {
        let mut v: Vec<_> = std::fs::read_dir(shared.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cap"))
            .collect();
        v.sort();
        out.extend(v);
    }
    assert!(out.len() >= 25, "shared corpus not found");
    out
}

fn parts(cap: &Cap) -> (&MethodComponent, &crate::cap::Descriptor) {
    let method = cap.components.iter().find_map(|c| match c {
        Component::Method(m) => Some(m),
        _ => None,
    });
    let descriptor = cap.components.iter().find_map(|c| match c {
        Component::Descriptor(d) => Some(d),
        _ => None,
    });
    (method.unwrap(), descriptor.unwrap())
}

#[test]
fn corpus_methods_match_their_descriptors() {
    let mut methods_seen = 0;
    for path in corpus_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let (method, descriptor) = parts(&cap);
        let mut described = 0;
        for class in descriptor.classes.iter().filter(|c| !c.is_interface()) {
            for d in &class.methods {
                let m = method.method_at(d.location()).unwrap_or_else(|| {
                    panic!("{}: no method at {:#x}", path.display(), d.method_offset)
                });
                assert_eq!(
                    m.code_len(),
                    usize::from(d.bytecode_count),
                    "{}",
                    path.display()
                );
                assert_eq!(
                    m.header.is_abstract(),
                    d.access_flags & crate::cap::components::descriptor::METHOD_ACC_ABSTRACT != 0
                );
                let first = usize::from(d.exception_handler_index);
                let count = usize::from(d.exception_handler_count);
                if count > 0 {
                    // The method's handlers guard its own code.
                    let start = m.code_offset() as usize;
                    for h in &method.handlers[first..first + count] {
                        assert!(
                            (start..start + m.code_len()).contains(&usize::from(h.start_offset))
                        );
                        assert!(m
                            .code
                            .iter()
                            .any(|i| i.offset == u32::from(h.handler_offset)));
                    }
                }
                described += 1;
            }
        }
        assert_eq!(described, method.methods.len(), "{}", path.display());
        // The typed model serializes for --json output.
        let json = serde_json::to_string(&cap.components).unwrap();
        assert!(json.contains("\"handlers\"") && json.contains("\"opcode\""));
        methods_seen += described;
    }
    assert!(methods_seen > 300, "{methods_seen}");
}

/// Re-decodes the raw Method component with the given hints.
fn redecode(cap: &Cap, hints: &MethodBoundaries) -> MethodComponent {
    let ctx = cap.context();
    let body = cap
        .components
        .iter()
        .find(|c| c.tag() == Some(Tag::Method))
        .unwrap()
        .encode_body(&ctx)
        .unwrap();
    let mut r = Reader::new(&body, "Method component");
    let m = MethodComponent::decode_with(&mut r, &ctx, hints).unwrap();
    r.expect_end().unwrap();
    m
}

#[test]
fn following_the_code_finds_the_same_methods_as_the_descriptor() {
    for path in corpus_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let (method, _) = parts(&cap);
        let no_hints = redecode(&cap, &MethodBoundaries::default());
        assert_eq!(&no_hints, method, "{} without hints", path.display());
        let class_only: Vec<Component> = cap
            .components
            .iter()
            .filter(|c| c.tag() == Some(Tag::Class))
            .cloned()
            .collect();
        let partial = redecode(&cap, &MethodBoundaries::collect(&class_only));
        assert_eq!(&partial, method, "{} with Class hints only", path.display());
    }
}

fn compact() -> Context {
    Context {
        format: Format::V2_1,
    }
}

fn extended() -> Context {
    Context {
        format: Format::V2_3_EXTENDED,
    }
}

/// Two blocks: block 0 has a handler and two methods, block 1 one method
/// with an extended header.
fn extended_body() -> Vec<u8> {
    let block0 = [
        0x01, // handler_count
        0x00, 0x0B, 0x80, 0x02, 0x00, 0x0D, 0x00, 0x03, // handler: 0xB+2 -> 0xD, catch 3
        0x01, 0x10, // @9 header: max_stack 1, nargs 1
        0x18, 0x7A, // @0xB aload_0; return
        0x7A, // @0xD return (handler)
        0x40, 0x10, // @0xE abstract method
    ];
    let block1 = [
        0x00, // no handlers
        0x80, 0x11, 0x02, 0x00, // @1 extended header: max_stack 17, nargs 2
        0x11, 0x01, 0x00, 0x78, // sspush 256; sreturn
    ];
    let mut body = vec![0x02];
    body.extend_from_slice(&(9u32).to_be_bytes());
    body.extend_from_slice(&(9 + block0.len() as u32).to_be_bytes());
    body.extend_from_slice(&block0);
    body.extend_from_slice(&block1);
    body
}

fn extended_hints() -> MethodBoundaries {
    let mut b = MethodBoundaries {
        complete: true,
        ..MethodBoundaries::default()
    };
    b.extend(
        [(0, 9), (0, 0x0E), (1, 1)].map(|(block, offset)| MethodLocation {
            block_index: Some(block),
            offset,
        }),
    );
    b
}

#[test]
fn extended_blocks_decode_and_round_trip() {
    let body = extended_body();
    for hints in [extended_hints(), MethodBoundaries::default()] {
        let mut r = Reader::new(&body, "Method component");
        let m = MethodComponent::decode_with(&mut r, &extended(), &hints).unwrap();
        r.expect_end().unwrap();
        assert!(m.handlers.is_empty() && m.methods.is_empty());
        assert_eq!(m.blocks.len(), 2);
        let b0 = &m.blocks[0];
        assert_eq!(b0.handlers[0].start_offset, 0x0B);
        assert!(b0.handlers[0].stop_bit);
        assert_eq!(b0.handlers[0].catch_type_index, 3);
        assert_eq!(
            b0.methods.iter().map(|m| m.offset).collect::<Vec<_>>(),
            [9, 0x0E]
        );
        assert_eq!(b0.methods[0].code.len(), 3);
        assert!(b0.methods[1].header.is_abstract());
        let x = &m.blocks[1].methods[0];
        assert!(x.header.is_extended());
        assert_eq!(
            (x.header.max_stack, x.header.nargs, x.header.max_locals),
            (0x11, 2, 0)
        );
        assert_eq!(x.code[0].operands, Operands::Short(256));
        // Offsets count from the block start.
        assert_eq!(x.code[0].offset, 5);
        let loc = MethodLocation {
            block_index: Some(1),
            offset: 1,
        };
        assert_eq!(m.method_at(loc), Some(x));
        assert_eq!(
            m.iter_blocks().map(|b| b.index).collect::<Vec<_>>(),
            [Some(0), Some(1)]
        );
        let mut out = Vec::new();
        m.encode(&extended(), &mut out).unwrap();
        assert_eq!(out, body);
        // The compact layout cannot hold blocks.
        assert!(m.encode(&compact(), &mut Vec::new()).is_err());
    }
}

#[test]
fn extended_block_offsets_must_match_the_layout() {
    let mut body = extended_body();
    body[4] = 0x0A; // first block offset 10 instead of 9
    let mut r = Reader::new(&body, "Method component");
    let e = MethodComponent::decode_with(&mut r, &extended(), &extended_hints())
        .unwrap_err()
        .to_string();
    assert!(e.contains("block 0 offset"), "{e}");
    let mut body = extended_body();
    body[8] = 0xFF; // second block starts past the end
    let mut r = Reader::new(&body, "Method component");
    assert!(MethodComponent::decode_with(&mut r, &extended(), &extended_hints()).is_err());
    // Errors inside a block name the block.
    let mut body = extended_body();
    let last = body.len() - 1;
    body[last] = 0xC5;
    let mut r = Reader::new(&body, "Method component");
    let e = MethodComponent::decode_with(&mut r, &extended(), &extended_hints())
        .unwrap_err()
        .to_string();
    assert!(e.contains("block 1") && e.contains("0xc5"), "{e}");
}

#[test]
fn compact_component_round_trips_and_rejects_bad_input() {
    // One handler, one method: aload_0; athrow ; handler: return
    let body = [
        0x01, 0x00, 0x0B, 0x80, 0x02, 0x00, 0x0D, 0x00, 0x00, // handler (finally)
        0x01, 0x10, 0x18, 0x93, 0x7A,
    ];
    let mut r = Reader::new(&body, "Method component");
    let m = MethodComponent::decode(&mut r, &compact()).unwrap();
    assert_eq!(m.methods.len(), 1);
    assert_eq!(m.methods[0].code_offset(), 0x0B);
    assert_eq!(m.iter_blocks().count(), 1);
    let mut out = Vec::new();
    m.encode(&compact(), &mut out).unwrap();
    assert_eq!(out, body);
    // handler_count larger than the bytes behind it.
    let mut r = Reader::new(&[0x20, 0x00], "Method component");
    let e = MethodComponent::decode(&mut r, &compact())
        .unwrap_err()
        .to_string();
    assert!(e.contains("exception handlers count"), "{e}");
    // Unknown opcode inside a method.
    let mut r = Reader::new(&[0x00, 0x01, 0x10, 0xBB], "Method component");
    let e = MethodComponent::decode(&mut r, &compact())
        .unwrap_err()
        .to_string();
    assert!(e.contains("0xbb") && e.contains("offset 0x3"), "{e}");
    // Truncated header.
    let mut r = Reader::new(&[0x00, 0x01], "Method component");
    assert!(MethodComponent::decode(&mut r, &compact()).is_err());
}

/// Decodes a body as the component `tag` in `ctx`; only the absence of a
/// panic matters to the caller.
fn decode_any(tag: Tag, body: &[u8], ctx: &Context, hints: &MethodBoundaries) -> Result<()> {
    use crate::cap::{ClassComponent, Descriptor};
    let mut r = Reader::new(body, tag.location());
    match tag {
        Tag::Class => ClassComponent::decode(&mut r, ctx).map(drop),
        Tag::Descriptor => Descriptor::decode(&mut r, ctx).map(drop),
        _ => MethodComponent::decode_with(&mut r, ctx, hints).map(drop),
    }
}

#[test]
fn truncated_and_corrupted_corpus_bodies_never_panic() {
    let mut errors = 0usize;
    for path in corpus_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let hints = MethodBoundaries::collect(&cap.components);
        for tag in [Tag::Class, Tag::Method, Tag::Descriptor] {
            let body = cap
                .components
                .iter()
                .find(|c| c.tag() == Some(tag))
                .unwrap()
                .encode_body(&cap.context())
                .unwrap();
            let stride = (body.len() / 41).max(1);
            for ctx in [cap.context(), extended(), compact()] {
                for i in (0..body.len()).step_by(stride) {
                    errors += decode_any(tag, &body[..i], &ctx, &hints).is_err() as usize;
                    for v in [0x00, 0x7F, 0xFF] {
                        let mut bad = body.clone();
                        bad[i] = v;
                        errors += decode_any(tag, &bad, &ctx, &hints).is_err() as usize;
                    }
                }
            }
        }
    }
    assert!(errors > 500, "corruption was noticed {errors} times");
}
