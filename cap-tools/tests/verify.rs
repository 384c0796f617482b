//! `verify` on real and deliberately broken CAP files: every corpus and
//! reference CAP is clean, and each kind of damage, made in the decoded model
//! or by patching bytes of a raw load file, is reported under the right rule
//! with a message that names the offset.

mod common;

use std::path::PathBuf;

use cap_tools::cap::bytecode::{Instruction, Operands};
use cap_tools::cap::components::applet::AppletComponent;
use cap_tools::cap::components::constant_pool::{ClassRef, CpEntry};
use cap_tools::cap::components::header::{ACC_APPLET, ACC_EXTENDED};
use cap_tools::cap::components::method::MethodInfo;
use cap_tools::cap::load_file::LoadFile;
use cap_tools::cap::{Component, Format, Tag};
use cap_tools::verify::{rule, verify, Finding};
use cap_tools::Cap;

fn shared(path: &str) -> PathBuf {
    common::shared().join(path)
}

fn load(path: &str) -> Cap {
    Cap::from_path(shared(path)).unwrap()
}

/// An applet CAP with several methods (Oracle 3.2.0, CAP 2.3).
fn hello() -> Cap {
    load("converter-reference/oracle-3.2.0/hello.cap")
}

/// A CAP with many exception handlers and static arrays.
fn algtest() -> Cap {
    load("cap-corpus/jcalgtest-AlgTest_v1.8.2_jc305.cap")
}

/// A library CAP with an Export component.
fn library() -> Cap {
    load("cap-corpus/openjavacard-lib-debug.cap")
}

fn component_mut(cap: &mut Cap, tag: Tag) -> &mut Component {
    cap.components
        .iter_mut()
        .find(|c| c.tag() == Some(tag))
        .unwrap_or_else(|| panic!("no {tag:?} component"))
}

macro_rules! part {
    ($cap:expr, $variant:ident) => {
        match component_mut($cap, Tag::$variant) {
            Component::$variant(x) => x,
            _ => unreachable!(),
        }
    };
}

/// Rewrites the Directory's component sizes from the bodies, so that a
/// change that alters a component's length shows only its own finding.
fn resize(cap: &mut Cap) {
    let ctx = cap.context();
    let sizes: Vec<(Tag, u32)> = cap
        .components
        .iter()
        .filter_map(|c| Some((c.tag()?, c.encode_body(&ctx).unwrap().len() as u32)))
        .collect();
    let d = part!(cap, Directory);
    for (tag, size) in sizes {
        if let Some(s) = d.component_sizes.get_mut(tag as usize - 1) {
            *s = size;
        }
    }
}

/// The findings of `cap`, asserting they are all of one rule.
fn only(cap: &Cap, want: &str) -> Vec<Finding> {
    let found = verify(cap);
    assert!(!found.is_empty(), "expected [{want}], found nothing");
    for f in &found {
        assert_eq!(f.rule, want, "unexpected finding: {f}");
    }
    found
}

/// The single finding of `cap`, of rule `want`.
fn single(cap: &Cap, want: &str) -> Finding {
    let found = only(cap, want);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.into_iter().next().unwrap()
}

fn hex(v: impl Into<u64>) -> String {
    format!("{:#x}", v.into())
}

fn methods(cap: &Cap) -> Vec<MethodInfo> {
    match cap.component(Tag::Method) {
        Some(Component::Method(m)) => m.methods.clone(),
        _ => panic!("no Method component"),
    }
}

#[test]
fn every_corpus_and_reference_cap_verifies_clean() {
    let all = common::all_caps();
    assert!(all.len() >= 29);
    for path in all {
        let cap = Cap::from_path(&path).unwrap();
        let found = verify(&cap);
        assert!(
            found.is_empty(),
            "{}:\n{}",
            path.display(),
            found
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        // The raw load file, with and without Descriptor, is clean too: load
        // files leave the Descriptor (and Debug) out but keep their sizes.
        for with_descriptor in [true, false] {
            let lf = LoadFile::build(&cap, with_descriptor).unwrap();
            let again = Cap::from_load_file(&lf.bytes).unwrap();
            let found = verify(&again);
            assert!(
                found.is_empty(),
                "{} (load file, descriptor {with_descriptor}): {found:#?}",
                path.display()
            );
        }
    }
}

#[test]
fn findings_display_and_serialize() {
    let f = Finding {
        component: "Applet".into(),
        offset: Some(0x1a),
        rule: rule::METHOD_OFFSET,
        message: "m".into(),
    };
    assert_eq!(
        f.to_string(),
        "Applet component at offset 0x1a: [method-offset] m"
    );
    let whole = Finding {
        offset: None,
        ..f.clone()
    };
    assert_eq!(whole.to_string(), "Applet component: [method-offset] m");
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["rule"], "method-offset");
    assert_eq!(json["offset"], 0x1a);
    assert_eq!(json["component"], "Applet");
}

// ---- Directory ----

#[test]
fn directory_size_of_a_component_differs() {
    let mut cap = hello();
    let d = part!(&mut cap, Directory);
    d.component_sizes[Tag::Method as usize - 1] += 1;
    let listed = d.component_sizes[Tag::Method as usize - 1];
    let f = single(&cap, rule::DIRECTORY_SIZE);
    assert_eq!(f.component, "Directory");
    // Compact sizes are u2 entries indexed by tag - 1.
    assert_eq!(f.offset, Some(2 * (Tag::Method as usize - 1)));
    assert!(
        f.message
            .contains(&format!("lists {listed} byte(s) for the Method")),
        "{f}"
    );
    assert!(f.message.contains(&format!("holds {}", listed - 1)), "{f}");
}

#[test]
fn directory_size_for_absent_and_zero_size_for_present_components() {
    let mut cap = hello();
    assert!(cap.component(Tag::Export).is_none());
    let d = part!(&mut cap, Directory);
    d.component_sizes[Tag::Export as usize - 1] = 4;
    d.component_sizes[Tag::Applet as usize - 1] = 0;
    let found = only(&cap, rule::DIRECTORY_SIZE);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found
        .iter()
        .any(|f| f.message.contains("Export component, which is absent")
            && f.offset == Some(2 * (Tag::Export as usize - 1))));
    assert!(found
        .iter()
        .any(|f| f.message.contains("size 0 for the Applet component")
            && f.offset == Some(2 * (Tag::Applet as usize - 1))));
}

#[test]
fn directory_counts_must_match_import_and_applet() {
    let mut cap = hello();
    part!(&mut cap, Directory).import_count += 1;
    let f = single(&cap, rule::IMPORT_COUNT);
    assert!(f.message.contains("import_count is"), "{f}");
    let mut cap = hello();
    part!(&mut cap, Directory).applet_count = 3;
    let f = single(&cap, rule::APPLET_COUNT);
    assert!(f.message.contains("applet_count is 3"), "{f}");
}

#[test]
fn listed_custom_component_must_exist() {
    use cap_tools::cap::components::directory::CustomComponentInfo;
    let mut cap = hello();
    part!(&mut cap, Directory)
        .custom_components
        .push(CustomComponentInfo {
            tag: 0x90,
            size: 3,
            aid: cap_tools::Aid(vec![0xA0, 0, 0, 0, 0x62]),
        });
    resize(&mut cap);
    let f = single(&cap, rule::CUSTOM_COMPONENT);
    assert!(
        f.message.contains("0x90") && f.message.contains("absent"),
        "{f}"
    );
    cap.components.push(Component::Custom {
        tag: 0x90,
        info: vec![1, 2],
    });
    let f = single(&cap, rule::CUSTOM_COMPONENT);
    assert!(
        f.message.contains("lists 3 byte(s)") && f.message.contains("holds 2"),
        "{f}"
    );
}

// ---- bytecode ----

/// The first instruction with a 2-byte constant-pool operand whose opcode is `opcode`.
fn find_cp2(cap: &Cap, opcode: u8) -> Instruction {
    methods(cap)
        .into_iter()
        .flat_map(|m| m.code)
        .find(|i| i.opcode == opcode && matches!(i.operands, Operands::Cp2(_)))
        .expect("instruction present")
}

fn replace_instruction(cap: &mut Cap, new: Instruction) {
    let m = part!(cap, Method);
    let slot = m
        .methods
        .iter_mut()
        .flat_map(|m| m.code.iter_mut())
        .find(|i| i.offset == new.offset)
        .unwrap();
    *slot = new;
}

const INVOKESTATIC: u8 = 0x8D;

#[test]
fn cp_index_out_of_range_names_the_operand() {
    let mut cap = hello();
    let mut ins = find_cp2(&cap, INVOKESTATIC);
    ins.operands = Operands::Cp2(0x7FFF);
    let at = ins.offset;
    replace_instruction(&mut cap, ins);
    let f = single(&cap, rule::CP_INDEX_RANGE);
    assert_eq!(f.component, "Method");
    assert_eq!(f.offset, Some(at as usize + 1));
    assert!(
        f.message.contains(&format!("invokestatic at {}", hex(at))),
        "{f}"
    );
    assert!(f.message.contains("32767"), "{f}");
}

#[test]
fn cp_index_of_the_wrong_kind() {
    let mut cap = hello();
    let class_index = match cap.component(Tag::ConstantPool) {
        Some(Component::ConstantPool(cp)) => cp
            .entries
            .iter()
            .position(|e| matches!(e, CpEntry::ClassRef(_)))
            .unwrap(),
        _ => unreachable!(),
    };
    let mut ins = find_cp2(&cap, INVOKESTATIC);
    ins.operands = Operands::Cp2(class_index as u16);
    let at = ins.offset;
    replace_instruction(&mut cap, ins);
    let f = single(&cap, rule::CP_KIND);
    assert_eq!(f.offset, Some(at as usize + 1));
    assert!(f.message.contains("CONSTANT_Classref"), "{f}");
    assert!(f.message.contains(&hex(at + 1)), "{f}");
}

#[test]
fn branch_into_the_middle_of_an_instruction() {
    let mut cap = algtest();
    let all = methods(&cap);
    // A short branch whose target can be moved onto the second byte of a
    // multi-byte instruction of the same method.
    let (ins, target) = all
        .iter()
        .flat_map(|m| m.code.iter().map(move |i| (m, i)))
        .filter(|(_, i)| matches!(i.operands, Operands::Branch(_)))
        .find_map(|(m, i)| {
            let t = m.code.iter().find(|t| t.len() > 1 && t.offset > i.offset)?;
            let d = i64::from(t.offset) + 1 - i64::from(i.offset);
            i8::try_from(d).ok().map(|_| (i.clone(), t.offset + 1))
        })
        .unwrap();
    let mut broken = ins.clone();
    broken.operands = Operands::Branch((target - ins.offset) as i8);
    replace_instruction(&mut cap, broken);
    let f = single(&cap, rule::BRANCH_TARGET);
    assert_eq!(f.offset, Some(ins.offset as usize));
    assert!(
        f.message.contains(&format!("jumps to {}", hex(target))),
        "{f}"
    );
    assert!(f.message.contains("inside an instruction"), "{f}");
}

// ---- RefLocation ----

#[test]
fn missing_and_extra_reflocation_offsets_are_reported_separately() {
    let mut cap = hello();
    let r = part!(&mut cap, RefLocation);
    let dropped = r.byte2_index_offsets.remove(2);
    let one = r.byte_index_offsets[0];
    let extra = one + 1;
    r.byte_index_offsets.insert(1, extra);
    resize(&mut cap);
    let found = only(&cap, rule::REFLOCATION_MISMATCH);
    assert_eq!(found.len(), 2, "{found:#?}");
    let missing = found
        .iter()
        .find(|f| f.message.contains("missing"))
        .unwrap();
    assert_eq!(missing.offset, Some(dropped as usize));
    assert!(
        missing.message.contains("offsets_to_byte2_indices"),
        "{missing}"
    );
    assert!(missing.message.contains(&hex(dropped)), "{missing}");
    let added = found.iter().find(|f| f.message.contains("extra")).unwrap();
    assert_eq!(added.offset, Some(extra as usize));
    assert!(added.message.contains("offsets_to_byte_indices"), "{added}");
    assert!(added.message.contains(&hex(extra)), "{added}");
}

#[test]
fn reflocation_lists_catch_types_in_the_two_byte_list() {
    let mut cap = algtest();
    let r = part!(&mut cap, RefLocation);
    // Handler 0's catch_type_index sits at 1 + 6 (after handler_count).
    assert_eq!(r.byte2_index_offsets[0], 7);
    r.byte2_index_offsets.remove(0);
    resize(&mut cap);
    let f = single(&cap, rule::REFLOCATION_MISMATCH);
    assert_eq!(f.offset, Some(7));
    assert!(f.message.contains("lacks Method offset 0x7"), "{f}");
}

// ---- offsets into other components ----

#[test]
fn applet_install_offset_into_the_middle_of_a_method() {
    let mut cap = hello();
    let a = part!(&mut cap, Applet);
    let start = a.applets[0].install_method_offset;
    a.applets[0].install_method_offset = start + 3;
    let aid_len = a.applets[0].aid.as_bytes().len();
    let f = single(&cap, rule::METHOD_OFFSET);
    assert_eq!(f.component, "Applet");
    // count, AID_length, AID, then the offset field.
    assert_eq!(f.offset, Some(2 + aid_len));
    assert!(f.message.contains(&hex(start + 3)), "{f}");
    assert!(f.message.contains("no method_info starts"), "{f}");
}

#[test]
fn export_and_constant_pool_offsets_must_name_entries() {
    let mut cap = library();
    let e = part!(&mut cap, Export);
    // (+1 could be the next entry: an interface without superinterfaces is 1 byte.)
    let bad: u16 = 0x7FF0;
    e.classes[0].class_offset = bad;
    let f = single(&cap, rule::CLASS_OFFSET);
    assert_eq!((f.component.as_str(), f.offset), ("Export", Some(1)));
    assert!(f.message.contains(&hex(bad)), "{f}");

    let mut cap = library();
    let e = part!(&mut cap, Export);
    let class = e
        .classes
        .iter_mut()
        .find(|c| !c.static_method_offsets.is_empty())
        .unwrap();
    class.static_method_offsets[0] = 0x7FF0;
    let f = single(&cap, rule::METHOD_OFFSET);
    assert!(f.message.contains("0x7ff0"), "{f}");

    let mut cap = library();
    let cp = part!(&mut cap, ConstantPool);
    let i = cp
        .entries
        .iter()
        .position(|e| matches!(e, CpEntry::ClassRef(ClassRef::Internal(_))))
        .unwrap();
    cp.entries[i] = CpEntry::ClassRef(ClassRef::Internal(0x7FF0));
    let f = single(&cap, rule::CLASS_OFFSET);
    assert_eq!(f.component, "ConstantPool");
    assert_eq!(f.offset, Some(2 + 4 * i + 1));
    assert!(f.message.contains("0x7ff0"), "{f}");
}

#[test]
fn descriptor_method_offsets_and_bytecode_counts() {
    let mut cap = hello();
    let d = part!(&mut cap, Descriptor);
    let m = d
        .classes
        .iter_mut()
        .flat_map(|c| c.methods.iter_mut())
        .find(|m| m.bytecode_count > 0)
        .unwrap();
    m.bytecode_count += 1;
    let f = single(&cap, rule::BYTECODE_COUNT);
    assert!(f.message.contains("bytecode_count"), "{f}");
}

// ---- handlers ----

#[test]
fn handler_range_past_its_method() {
    let mut cap = algtest();
    let m = part!(&mut cap, Method);
    let h = &mut m.handlers[0];
    h.active_length = 0x7FFF;
    let start = h.start_offset;
    let f = single(&cap, rule::HANDLER_RANGE);
    assert_eq!((f.component.as_str(), f.offset), ("Method", Some(1)));
    assert!(f.message.contains(&hex(start)), "{f}");
    assert!(f.message.contains("ends past the end"), "{f}");
}

#[test]
fn handler_offset_outside_its_method_and_bad_catch_type() {
    let mut cap = algtest();
    let m = part!(&mut cap, Method);
    m.handlers[1].handler_offset = 0;
    let f = single(&cap, rule::HANDLER_RANGE);
    assert_eq!(f.offset, Some(1 + 8));
    assert!(f.message.contains("handler at 0x0 lies outside"), "{f}");

    let mut cap = algtest();
    let non_class = match cap.component(Tag::ConstantPool) {
        Some(Component::ConstantPool(cp)) => cp
            .entries
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, e)| !matches!(e, CpEntry::ClassRef(_)))
            .map(|(i, _)| i)
            .unwrap(),
        _ => unreachable!(),
    };
    part!(&mut cap, Method).handlers[2].catch_type_index = non_class as u16;
    let f = single(&cap, rule::CATCH_TYPE);
    assert_eq!(f.offset, Some(1 + 2 * 8 + 6));
    assert!(
        f.message.contains(&format!("catch_type_index {non_class}")),
        "{f}"
    );
}

// ---- AIDs ----

#[test]
fn applet_aid_with_another_rid() {
    let mut cap = hello();
    part!(&mut cap, Applet).applets[0].aid.0[0] ^= 0xFF;
    let f = single(&cap, rule::APPLET_RID);
    assert_eq!((f.component.as_str(), f.offset), ("Applet", Some(1)));
    assert!(f.message.contains("RID"), "{f}");
}

#[test]
fn four_byte_aids_are_too_short() {
    let mut cap = hello();
    part!(&mut cap, Applet).applets[0].aid.0.truncate(4);
    resize(&mut cap);
    let f = single(&cap, rule::AID_LENGTH);
    assert_eq!((f.component.as_str(), f.offset), ("Applet", Some(1)));
    assert!(f.message.contains("has 4 byte(s)"), "{f}");

    let mut cap = hello();
    part!(&mut cap, Import).packages[0].aid.0.extend([0u8; 12]);
    resize(&mut cap);
    let f = single(&cap, rule::AID_LENGTH);
    assert_eq!((f.component.as_str(), f.offset), ("Import", Some(3)));
    assert!(f.message.contains("imported package"), "{f}");
}

// ---- static fields and header ----

#[test]
fn static_field_sizes_must_add_up() {
    let mut cap = algtest();
    part!(&mut cap, Directory).static_field_size.array_init_size += 1;
    let f = single(&cap, rule::STATIC_FIELD_SIZES);
    assert_eq!(f.component, "Directory");
    assert!(f.message.contains("array_init_size"), "{f}");

    let mut cap = algtest();
    part!(&mut cap, StaticField).default_value_count += 2;
    let f = single(&cap, rule::STATIC_FIELD_SIZES);
    assert_eq!((f.component.as_str(), f.offset), ("StaticField", Some(0)));
    assert!(f.message.contains("image_size is"), "{f}");
}

#[test]
fn header_flags_follow_the_components() {
    let mut cap = hello();
    part!(&mut cap, Header).flags &= !ACC_APPLET;
    let f = single(&cap, rule::HEADER_FLAGS);
    assert_eq!((f.component.as_str(), f.offset), ("Header", Some(6)));
    assert!(f.message.contains("lack ACC_APPLET"), "{f}");
}

#[test]
fn missing_components_are_reported() {
    let mut cap = hello();
    cap.components.retain(|c| c.tag() != Some(Tag::RefLocation));
    let found = verify(&cap);
    assert!(found
        .iter()
        .any(|f| f.rule == rule::COMPONENT_PRESENCE && f.component == "RefLocation"));
}

// ---- byte patches of a raw load file ----

/// Body start of the component with `tag` in a compact raw load file.
fn body_of(lf: &[u8], tag: Tag) -> usize {
    let mut pos = 0;
    while pos < lf.len() {
        let size = usize::from(u16::from_be_bytes([lf[pos + 1], lf[pos + 2]]));
        if lf[pos] == tag as u8 {
            return pos + 3;
        }
        pos += 3 + size;
    }
    panic!("no {tag:?} in the load file");
}

/// `cap` as a raw load file with the byte at `at` in the body of `tag`
/// changed by `patch`, read back.
fn patched(cap: &Cap, tag: Tag, at: usize, patch: impl FnOnce(&mut u8)) -> Cap {
    let mut lf = LoadFile::build(cap, true).unwrap().bytes;
    let pos = body_of(&lf, tag) + at;
    patch(&mut lf[pos]);
    Cap::from_load_file(&lf).unwrap()
}

#[test]
fn byte_patches_of_a_load_file_are_found() {
    let cap = hello();

    let broken = patched(&cap, Tag::Header, 6, |b| *b &= !ACC_APPLET);
    assert_eq!(single(&broken, rule::HEADER_FLAGS).offset, Some(6));

    // The applet AID's first byte (after count and AID_length).
    let broken = patched(&cap, Tag::Applet, 2, |b| *b ^= 0x55);
    assert_eq!(single(&broken, rule::APPLET_RID).offset, Some(1));

    // The Directory's Class size entry (compact: u2 at 2 * (tag - 1)).
    let at = 2 * (Tag::Class as usize - 1);
    let broken = patched(&cap, Tag::Directory, at + 1, |b| *b ^= 0x01);
    let f = single(&broken, rule::DIRECTORY_SIZE);
    assert_eq!(f.offset, Some(at));
    assert!(f.message.contains("Class component"), "{f}");

    // The last 2-byte index distance: one offset goes missing, one appears.
    let r = match cap.component(Tag::RefLocation) {
        Some(Component::RefLocation(r)) => r.clone(),
        _ => unreachable!(),
    };
    let last = *r.byte2_index_offsets.last().unwrap();
    let broken = patched(&cap, Tag::RefLocation, r_len(&cap) - 1, |b| {
        assert!(*b < 254);
        *b += 1;
    });
    let found = only(&broken, rule::REFLOCATION_MISMATCH);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found
        .iter()
        .any(|f| f.offset == Some(last as usize) && f.message.contains("missing")));
    assert!(found
        .iter()
        .any(|f| f.offset == Some(last as usize + 1) && f.message.contains("extra")));

    // A constant-pool index in the bytecode: the operand of the first invokestatic.
    let ins = find_cp2(&cap, INVOKESTATIC);
    let broken = patched(&cap, Tag::Method, ins.offset as usize + 1, |b| *b = 0x7F);
    let f = single(&broken, rule::CP_INDEX_RANGE);
    assert_eq!(f.offset, Some(ins.offset as usize + 1));
}

fn r_len(cap: &Cap) -> usize {
    cap.component(Tag::RefLocation)
        .unwrap()
        .encode_body(&cap.context())
        .unwrap()
        .len()
}

// ---- extended format ----

/// `hello` rewritten as an extended CAP 2.3 file with one Method block, the
/// Directory sizes recomputed for the extended layout.
fn extended_hello() -> Cap {
    use cap_tools::cap::components::header::ExtendedPackage;
    use cap_tools::cap::components::method::MethodBlock;
    use cap_tools::cap::components::ref_location::RefLocationBlock;
    let mut cap = hello();
    cap.format = Format::V2_3_EXTENDED;
    let h = part!(&mut cap, Header);
    h.flags |= ACC_EXTENDED;
    let name = h.package_name.take().unwrap_or_default();
    h.packages = vec![ExtendedPackage {
        package: h.package.clone(),
        name,
    }];
    let m = part!(&mut cap, Method);
    m.blocks = vec![MethodBlock {
        handlers: std::mem::take(&mut m.handlers),
        methods: std::mem::take(&mut m.methods),
    }];
    let r = part!(&mut cap, RefLocation);
    r.blocks = vec![RefLocationBlock {
        byte_index_offsets: std::mem::take(&mut r.byte_index_offsets),
        byte2_index_offsets: std::mem::take(&mut r.byte2_index_offsets),
    }];
    let c = part!(&mut cap, Class);
    for e in &mut c.entries {
        if let cap_tools::cap::components::class::ClassEntry::Class(info) = e {
            for m in info
                .public_virtual_method_table
                .iter_mut()
                .chain(info.package_virtual_method_table.iter_mut())
            {
                m.block_index = Some(0);
            }
        }
    }
    let d = part!(&mut cap, Descriptor);
    d.package_class_counts = Some(vec![d.classes.len() as u8]);
    for m in d.classes.iter_mut().flat_map(|c| c.methods.iter_mut()) {
        m.method_component_block_index = Some(0);
    }
    let dir = part!(&mut cap, Directory);
    dir.method_component_block_count = Some(1);
    resize(&mut cap);
    cap
}

#[test]
fn extended_files_are_checked_per_block() {
    let cap = extended_hello();
    assert_eq!(verify(&cap), Vec::<Finding>::new());
    // The model encodes and decodes as an extended load file, still clean.
    let again = Cap::from_load_file(&LoadFile::build(&cap, true).unwrap().bytes).unwrap();
    assert!(again.format.extended);
    assert_eq!(verify(&again), Vec::<Finding>::new());

    let mut broken = cap.clone();
    part!(&mut broken, Applet).applets[0].install_method_block = 1;
    let f = single(&broken, rule::METHOD_OFFSET);
    assert!(f.message.contains("in block 1"), "{f}");

    let mut broken = cap.clone();
    part!(&mut broken, RefLocation).blocks[0]
        .byte2_index_offsets
        .remove(0);
    resize(&mut broken);
    let f = single(&broken, rule::REFLOCATION_MISMATCH);
    assert!(f.message.contains("in block 0"), "{f}");

    let mut broken = cap;
    part!(&mut broken, Directory).method_component_block_count = Some(2);
    single(&broken, rule::METHOD_BLOCK_COUNT);
}

#[test]
fn applet_component_layout_is_what_the_offsets_assume() {
    // Guards the offsets the Applet findings report: count, then per applet
    // AID_length, AID, install_method_offset.
    let cap = hello();
    let a: &AppletComponent = match cap.component(Tag::Applet) {
        Some(Component::Applet(a)) => a,
        _ => unreachable!(),
    };
    let body = Component::Applet(a.clone())
        .encode_body(&cap.context())
        .unwrap();
    let n = a.applets[0].aid.as_bytes().len();
    assert_eq!(usize::from(body[1]), n);
    let off = u16::from_be_bytes([body[2 + n], body[3 + n]]);
    assert_eq!(u32::from(off), a.applets[0].install_method_offset);
}

// ---- hostile models ----

/// Values no decoder produces, in a model built by hand: the checks report
/// them (or skip what they cannot judge) without panicking.
#[test]
fn hostile_models_do_not_panic() {
    use cap_tools::cap::components::directory::CustomComponentInfo;
    use cap_tools::cap::components::method::ExceptionHandler;
    let empty = Cap {
        format: Format::V2_1,
        components: Vec::new(),
        container: cap_tools::cap::Container::LoadFile,
    };
    assert!(verify(&empty)
        .iter()
        .all(|f| f.rule == rule::COMPONENT_PRESENCE));

    let mut cap = algtest();
    let d = part!(&mut cap, Directory);
    d.component_sizes = vec![u32::MAX; 20];
    d.custom_components.push(CustomComponentInfo {
        tag: 0xFF,
        size: u32::MAX,
        aid: cap_tools::Aid(Vec::new()),
    });
    d.static_field_size.image_size = u16::MAX;
    let a = part!(&mut cap, Applet);
    a.applets[0].install_method_offset = u32::MAX;
    a.applets[0].install_method_block = u8::MAX;
    a.applets[0].aid = cap_tools::Aid(Vec::new());
    let m = part!(&mut cap, Method);
    m.handlers.push(ExceptionHandler {
        start_offset: u16::MAX,
        stop_bit: true,
        active_length: 0x7FFF,
        handler_offset: u16::MAX,
        catch_type_index: u16::MAX,
    });
    let code = &mut m.methods[0].code;
    code[0].operands = Operands::Branch(i8::MIN);
    code[0].opcode = 0x70; // goto
    code[1].opcode = 0xA8; // goto_w
    code[1].operands = Operands::BranchWide(i16::MIN);
    code[2].offset = u32::MAX;
    let r = part!(&mut cap, RefLocation);
    r.byte_index_offsets.push(u32::MAX);
    r.byte2_index_offsets.insert(0, u32::MAX);
    let s = part!(&mut cap, StaticField);
    s.reference_count = u16::MAX;
    s.default_value_count = u16::MAX;
    let desc = part!(&mut cap, Descriptor);
    desc.package_class_counts = Some(vec![255; 3]);
    for m in desc.classes.iter_mut().flat_map(|c| c.methods.iter_mut()) {
        m.method_offset = u16::MAX;
        m.method_component_block_index = Some(9);
    }
    let cp = part!(&mut cap, ConstantPool);
    cp.entries.truncate(1);
    let h = part!(&mut cap, Header);
    h.flags = 0xFF;
    h.package.aid = cap_tools::Aid(vec![0; 40]);
    cap.components.push(Component::Custom {
        tag: 0x10,
        info: Vec::new(),
    });
    let first = part!(&mut cap, Header).clone();
    cap.components.push(Component::Header(first));
    let found = verify(&cap);
    assert!(found.len() > 10, "{found:#?}");
    for f in &found {
        assert!(!f.to_string().is_empty());
    }
    // The same model read as an extended file: offsets without blocks.
    cap.format = Format::V2_3_EXTENDED;
    assert!(!verify(&cap).is_empty());
}

// ---- tokens ----

/// The library's Descriptor: the class with the most static method tokens.
fn static_token_class(
    cap: &mut Cap,
) -> &mut cap_tools::cap::components::descriptor::ClassDescriptor {
    use cap_tools::cap::components::descriptor::{ACC_STATIC, METHOD_ACC_INIT};
    let d = part!(cap, Descriptor);
    d.classes
        .iter_mut()
        .max_by_key(|c| {
            c.methods
                .iter()
                .filter(|m| m.access_flags & (ACC_STATIC | METHOD_ACC_INIT) != 0 && m.token != 0xFF)
                .count()
        })
        .unwrap()
}

#[test]
fn duplicate_and_missing_tokens_are_findings() {
    use cap_tools::cap::components::descriptor::{ACC_STATIC, METHOD_ACC_INIT};
    let is_static = |m: &cap_tools::cap::components::descriptor::MethodDescriptor| {
        m.access_flags & (ACC_STATIC | METHOD_ACC_INIT) != 0 && m.token != 0xFF
    };
    // Two static methods with one token (what 0xFF on two public static
    // methods of a package-visible class amounts to).
    let mut cap = library();
    let c = static_token_class(&mut cap);
    let tokens: Vec<usize> = (0..c.methods.len())
        .filter(|&k| is_static(&c.methods[k]))
        .collect();
    assert!(
        tokens.len() >= 2,
        "the library has a class with two static methods"
    );
    let first = c.methods[tokens[0]].token;
    let max = tokens.iter().map(|&k| c.methods[k].token).max().unwrap();
    let k = tokens
        .iter()
        .copied()
        .find(|&k| c.methods[k].token == max)
        .unwrap();
    c.methods[k].token = if first == max { 0 } else { first };
    // The Export component, which lists the method at its old token, and
    // the gap the move left are findings too.
    let found = verify(&cap);
    assert!(
        found.iter().any(|f| f.rule == rule::DUPLICATE_TOKEN
            && f.message.contains("twice among the static method tokens")),
        "{found:#?}"
    );
    assert!(found
        .iter()
        .all(|f| [rule::DUPLICATE_TOKEN, rule::TOKEN_RANGE, rule::EXPORT_TOKEN].contains(&f.rule)));

    // A public static method without a token.
    let mut cap = library();
    let c = static_token_class(&mut cap);
    let k = (0..c.methods.len())
        .filter(|&k| is_static(&c.methods[k]))
        .max_by_key(|&k| c.methods[k].token)
        .unwrap();
    c.methods[k].token = 0xFF;
    // The Export component still lists the method at its old token.
    let found = verify(&cap);
    assert!(
        found
            .iter()
            .any(|f| f.rule == rule::TOKEN_RANGE && f.message.contains("has no token")),
        "{found:#?}"
    );
    assert!(found
        .iter()
        .all(|f| f.rule == rule::TOKEN_RANGE || f.rule == rule::EXPORT_TOKEN));

    // A token past the consecutive numbering.
    let mut cap = library();
    let c = static_token_class(&mut cap);
    let k = (0..c.methods.len())
        .find(|&k| is_static(&c.methods[k]))
        .unwrap();
    let n = c.methods.iter().filter(|m| is_static(m)).count();
    let was = c.methods[k].token;
    c.methods[k].token = 200;
    let found = verify(&cap);
    assert!(
        found
            .iter()
            .any(|f| f.rule == rule::TOKEN_RANGE && f.message.contains("out of range")),
        "{found:#?}"
    );
    assert!(n <= 200 && was < 200);
}

#[test]
fn export_entries_must_sit_at_their_tokens() {
    let mut cap = library();
    let e = part!(&mut cap, Export);
    assert!(e.classes.len() >= 2, "the library exports two classes");
    e.classes.swap(0, 1);
    let found = only(&cap, rule::EXPORT_TOKEN);
    assert!(
        found[0].message.contains("the index must be its token"),
        "{found:#?}"
    );

    let mut cap = library();
    let e = part!(&mut cap, Export);
    let class = e
        .classes
        .iter_mut()
        .find(|c| c.static_method_offsets.len() >= 2)
        .expect("a class exporting two static methods");
    class.static_method_offsets.swap(0, 1);
    let found = only(&cap, rule::EXPORT_TOKEN);
    assert_eq!(found.len(), 2, "{found:#?}");
}
