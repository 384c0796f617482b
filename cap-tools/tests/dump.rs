//! `cap dump` text: every component of every shared CAP is rendered, API
//! references are named, the disassembly agrees with Oracle's JCA listings,
//! and models with broken cross-references render without panicking.

mod common;

use cap_tools::cap::bytecode::Operands;
use cap_tools::cap::components::constant_pool::{ClassRef, CpEntry, StaticRef};
use cap_tools::cap::dump::{render_text, section_title};
use cap_tools::{Cap, Component, Tag};

fn reference(kit: &str, name: &str) -> std::path::PathBuf {
    common::shared()
        .join("converter-reference")
        .join(kit)
        .join(name)
}

#[test]
fn every_cap_renders_every_component_with_its_title() {
    for path in common::all_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let text = render_text(&cap);
        assert!(text.starts_with("CAP file, format "), "{}", path.display());
        for c in &cap.components {
            let title = format!("== {} (tag {}", section_title(c), c.tag_byte());
            assert!(text.contains(&title), "{}: no {title}", path.display());
        }
        // Every instruction of every method is listed.
        let Some(Component::Method(m)) = cap.component(Tag::Method) else {
            panic!("{}: no Method component", path.display());
        };
        let listed = text
            .lines()
            .filter(|l| instruction_mnemonic(l).is_some())
            .count();
        let decoded: usize = m
            .iter_blocks()
            .flat_map(|b| b.methods)
            .map(|m| m.code.len())
            .sum();
        assert_eq!(listed, decoded, "{}", path.display());
    }
}

#[test]
fn hello_names_api_calls() {
    let cap = Cap::from_path(reference("oracle-3.0.5", "hello.cap")).unwrap();
    let text = render_text(&cap);
    let has = |mnemonic: &str, name: &str| {
        text.lines()
            .any(|l| instruction_mnemonic(l) == Some(mnemonic) && l.contains(name))
    };
    assert!(
        has("invokevirtual", "javacard/framework/APDU.getBuffer()[B"),
        "{text}"
    );
    assert!(
        has("invokevirtual", "javacard/framework/Applet.register([BSB)V"),
        "{text}"
    );
    assert!(
        has(
            "invokestatic",
            "javacard/framework/ISOException.throwIt(S)V"
        ),
        "{text}"
    );
    assert!(has("sspush", "0x6D00"), "{text}");
    // The applet's methods are named by what they must be.
    assert!(text.contains(".install([BSB)V"), "{text}");
    assert!(
        text.contains(".process(Ljavacard/framework/APDU;)V"),
        "{text}"
    );
    assert!(text.contains("javacard.framework (API 3.0.5)"), "{text}");
    assert!(text.contains("flags         0x04 (applet)"), "{text}");
}

#[test]
fn debug_names_classes_fields_and_lines() {
    let cap = Cap::from_path(reference("oracle-3.2.0", "arith.cap")).unwrap();
    let text = render_text(&cap);
    assert!(text.contains("== Debug component (tag 12"), "{text}");
    assert!(
        text.contains("com/example/arith/ArithApplet.fib(S)S"),
        "{text}"
    );
    assert!(
        text.contains("com/example/arith/ArithApplet.TABLE:[B"),
        "{text}"
    );
    assert!(text.contains("[line "), "{text}");
    assert!(text.contains("stableswitch 16..21"), "{text}");
}

#[test]
fn oop_disassembly_matches_the_jca_listing() {
    let cap = Cap::from_path(reference("oracle-3.2.0", "oop.cap")).unwrap();
    let text = render_text(&cap);
    let jca = std::fs::read_to_string(reference("oracle-3.2.0", "oop.jca")).unwrap();
    let mut ours = dump_bodies(&text);
    let mut theirs = jca_bodies(&jca);
    assert!(
        theirs.len() >= 10,
        "JCA parse found {} methods",
        theirs.len()
    );
    // The longest method (process, with its switch and handlers) first.
    let longest = theirs.iter().max_by_key(|b| b.len()).unwrap().clone();
    assert!(ours.contains(&longest), "{longest:?} not in the dump");
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    // A super call resolves from the superclass of the class it names.
    assert!(
        text.contains("catch 22 java/lang/ArrayIndexOutOfBoundsException"),
        "{text}"
    );
    assert!(text.contains("SuperMethodref"), "{text}");
}

#[test]
fn every_reference_disassembly_matches_its_jca_listing() {
    for kit in ["oracle-3.0.5", "oracle-3.2.0"] {
        for entry in std::fs::read_dir(reference(kit, "")).unwrap() {
            let jca = entry.unwrap().path();
            if jca.extension() != Some(std::ffi::OsStr::new("jca")) {
                continue;
            }
            let cap = Cap::from_path(jca.with_extension("cap")).unwrap();
            let mut ours = dump_bodies(&render_text(&cap));
            let mut theirs = jca_bodies(&std::fs::read_to_string(&jca).unwrap());
            ours.sort();
            theirs.sort();
            assert_eq!(ours, theirs, "{}", jca.display());
        }
    }
}

/// The mnemonic of a disassembly line (`    0x0012: sload_1 ...`).
fn instruction_mnemonic(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("0x")?;
    let (offset, rest) = rest.split_once(": ")?;
    if !offset.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    rest.split_whitespace().next()
}

/// The mnemonic sequence of every method with code in a dump.
fn dump_bodies(text: &str) -> Vec<Vec<String>> {
    let mut bodies = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("method @") || line.starts_with("==") {
            bodies.extend(current.take().filter(|b| !b.is_empty()));
            current = line.trim_start().starts_with("method @").then(Vec::new);
        } else if let (Some(body), Some(m)) = (current.as_mut(), instruction_mnemonic(line)) {
            body.push(m.to_string());
        }
    }
    bodies.extend(current.filter(|b| !b.is_empty()));
    bodies
}

/// The mnemonic sequence of every method with code in a JCA file: in a
/// `.method` block, each line that is not a directive, after its label.
fn jca_bodies(jca: &str) -> Vec<Vec<String>> {
    let mut bodies = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut in_table = false;
    for raw in jca.lines() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if line.starts_with(".method") {
            current = Some(Vec::new());
            continue;
        }
        let Some(body) = current.as_mut() else {
            continue;
        };
        if line.starts_with(".exceptionTable") {
            in_table = true;
        } else if line == "}" {
            if in_table {
                in_table = false;
            } else {
                bodies.extend(current.take().filter(|b| !b.is_empty()));
            }
        } else if !in_table && !line.is_empty() && !line.starts_with('.') {
            let insn = match line.split_once(':') {
                Some((label, rest)) if label.starts_with('L') => rest.trim(),
                _ => line,
            };
            if let Some(m) = insn.split_whitespace().next() {
                body.push(m.trim_end_matches(';').to_string());
            }
        }
    }
    bodies
}

/// Renders after `damage` has broken the model of every shared CAP.
fn render_damaged(damage: impl Fn(&mut Cap)) -> Vec<String> {
    common::all_caps()
        .into_iter()
        .map(|p| {
            let mut cap = Cap::from_path(&p).unwrap();
            damage(&mut cap);
            render_text(&cap)
        })
        .collect()
}

#[test]
fn damaged_constant_pools_render_without_panicking() {
    let texts = render_damaged(|cap| {
        for c in &mut cap.components {
            match c {
                Component::ConstantPool(cp) => {
                    cp.entries
                        .push(CpEntry::ClassRef(ClassRef::Internal(0x7777)));
                    cp.entries.push(CpEntry::VirtualMethodRef {
                        class: ClassRef::External {
                            package_token: 9,
                            class_token: 200,
                        },
                        token: 3,
                    });
                    cp.entries
                        .push(CpEntry::StaticMethodRef(StaticRef::Internal {
                            block: 0,
                            offset: 0x7FF0,
                        }));
                    cp.entries
                        .push(CpEntry::StaticFieldRef(StaticRef::External {
                            package_token: 0,
                            class_token: 250,
                            token: 250,
                        }));
                    cp.entries.push(CpEntry::SuperMethodRef {
                        class: ClassRef::Internal(0x7777),
                        token: 0x90,
                    });
                }
                Component::Method(m) => {
                    // Every constant pool operand now points past the pool,
                    // every branch far outside its method.
                    for ins in m.methods.iter_mut().flat_map(|m| &mut m.code) {
                        match &mut ins.operands {
                            Operands::Cp2(i) => *i = 1077,
                            Operands::Cp1(i) => *i = 250,
                            Operands::Branch(d) => *d = -128,
                            Operands::BranchWide(d) => *d = i16::MAX,
                            _ => {}
                        }
                    }
                    for h in &mut m.handlers {
                        h.catch_type_index = 0xFFFF;
                    }
                }
                _ => {}
            }
        }
    });
    for t in &texts {
        assert!(t.contains("<bad class offset 0x7777>"), "{t}");
        assert!(t.contains("<bad package token 9>"), "{t}");
        assert!(t.contains("<no method at 0x7ff0>"), "{t}");
        assert!(t.contains("<bad cp index 1077>"), "{t}");
    }
    assert!(texts.iter().any(|t| t.contains("<bad cp index 250>")));
    assert!(texts
        .iter()
        .any(|t| t.contains("catch 65535 <bad cp index 65535>")));
    assert!(texts.iter().any(|t| t.contains("<outside the method>")));
}

#[test]
fn missing_or_emptied_components_render() {
    // Each component removed in turn: names fall back, nothing panics.
    for tag in Tag::ALL {
        let texts = render_damaged(|cap| cap.components.retain(|c| c.tag() != Some(tag)));
        assert!(texts.iter().all(|t| t.starts_with("CAP file")));
    }
    // Components whose tables are all emptied while the code still refers to them.
    let texts = render_damaged(|cap| {
        for c in &mut cap.components {
            match c {
                Component::ConstantPool(cp) => cp.entries.clear(),
                Component::Import(i) => i.packages.clear(),
                Component::Class(c) => c.entries.clear(),
                Component::Descriptor(d) => {
                    d.types.type_desc.clear();
                    d.types.constant_pool_types.clear();
                }
                Component::Debug(d) => d.strings.clear(),
                _ => {}
            }
        }
    });
    assert!(texts
        .iter()
        .all(|t| t.contains("<bad cp index 0>") || !t.contains("invoke")));
    assert!(texts.iter().any(|t| t.contains("<no type at")));
}

/// A small extended-format CAP built in the model: the corpus has none.
fn extended_cap() -> Cap {
    use cap_tools::aid::Aid;
    use cap_tools::cap::bytecode::Instruction;
    use cap_tools::cap::components::applet::AppletEntry;
    use cap_tools::cap::components::export::{ClassExport, PackageExport};
    use cap_tools::cap::components::header::{ExtendedPackage, PackageInfo};
    use cap_tools::cap::components::method::{MethodBlock, MethodHeader, MethodInfo};
    use cap_tools::cap::components::ref_location::RefLocationBlock;
    use cap_tools::cap::components::static_resources::StaticResource;
    use cap_tools::cap::{
        AppletComponent, ConstantPool, Container, ExportComponent, Format, Header, MethodComponent,
        RefLocation, StaticResources,
    };
    let info = |aid: &str| PackageInfo {
        minor_version: 0,
        major_version: 1,
        aid: Aid::from_hex(aid).unwrap(),
    };
    let method = |offset: u32| MethodInfo {
        offset,
        header: MethodHeader {
            flags: 0,
            padding: 0,
            max_stack: 1,
            nargs: 0,
            max_locals: 0,
        },
        code: vec![
            Instruction {
                offset: offset + 2,
                opcode: 0x8D, // invokestatic
                operands: Operands::Cp2(0),
            },
            Instruction {
                offset: offset + 5,
                opcode: 0x7A, // return
                operands: Operands::None,
            },
        ],
    };
    let header = Header {
        magic: 0xDECA_FFED,
        minor_version: 3,
        major_version: 2,
        flags: 0x0C,
        package: info("F000000001"),
        package_name: None,
        packages: vec![ExtendedPackage {
            package: info("F00000000101"),
            name: "com/example/x".into(),
        }],
    };
    Cap {
        format: Format::V2_3_EXTENDED,
        container: Container::LoadFile,
        components: vec![
            Component::Header(header),
            Component::Applet(AppletComponent {
                applets: vec![AppletEntry {
                    aid: Aid::from_hex("F0000000010101").unwrap(),
                    install_method_block: 1,
                    install_method_offset: 1,
                }],
            }),
            Component::ConstantPool(ConstantPool {
                entries: vec![CpEntry::StaticMethodRef(StaticRef::Internal {
                    block: 1,
                    offset: 1,
                })],
            }),
            Component::Method(MethodComponent {
                handlers: Vec::new(),
                methods: Vec::new(),
                blocks: vec![
                    MethodBlock {
                        handlers: Vec::new(),
                        methods: vec![method(1)],
                    },
                    MethodBlock {
                        handlers: Vec::new(),
                        methods: vec![method(1)],
                    },
                ],
            }),
            Component::RefLocation(RefLocation {
                byte_index_offsets: Vec::new(),
                byte2_index_offsets: Vec::new(),
                blocks: vec![
                    RefLocationBlock {
                        byte_index_offsets: Vec::new(),
                        byte2_index_offsets: vec![4],
                    },
                    RefLocationBlock {
                        byte_index_offsets: vec![9],
                        byte2_index_offsets: Vec::new(),
                    },
                ],
            }),
            Component::Export(ExportComponent {
                classes: Vec::new(),
                packages: vec![PackageExport {
                    classes: vec![ClassExport {
                        class_offset: 0,
                        static_field_offsets: Vec::new(),
                        static_method_offsets: vec![1],
                        static_method_blocks: vec![1],
                    }],
                }],
            }),
            Component::StaticResources(StaticResources {
                resources: vec![StaticResource {
                    id: 7,
                    data: (0u8..20).collect(),
                }],
            }),
            Component::Custom {
                tag: 0x80,
                info: vec![0xAB; 3],
            },
        ],
    }
}

#[test]
fn extended_layout_renders_blocks_resources_and_custom_components() {
    let text = render_text(&extended_cap());
    for want in [
        "flags         0x0c (applet extended)",
        "CAP AID       F000000001",
        "[0] F00000000101 v1.0 com/example/x",
        "install method @1:0x0001",
        "block 1",
        "method @1:0x0001: method@1:0x0001",
        "invokestatic 0                   // method@1:0x0001",
        "0x0004  invokestatic 0",
        "0x0009  <no constant pool operand here>",
        "package [0] F00000000101 com/example/x",
        "static method #0 @1:0x0001",
        "id 7 (0x0007), 20 byte(s)",
        "0010: 10 11 12 13",
        "== Custom(0x80) component (tag 128, 3 bytes) ==",
        "0000: AB AB AB",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
}
