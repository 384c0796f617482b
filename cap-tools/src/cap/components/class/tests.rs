//! Class component tests: the CAP 2.3 oop reference applet field by field,
//! the whole corpus, and hand-built CAP 2.2 remote and extended entries.

use super::*;
use crate::cap::components::method::tests::corpus_caps;
use crate::cap::{Cap, Component, Format};

fn ctx(format: Format) -> Context {
    Context { format }
}

fn class_component(cap: &Cap) -> &ClassComponent {
    cap.components
        .iter()
        .find_map(|c| match c {
            Component::Class(c) => Some(c),
            _ => None,
        })
        .unwrap()
}

fn round_trip(bytes: &[u8], format: Format) -> ClassComponent {
    let mut r = Reader::new(bytes, "Class component");
    let c = ClassComponent::decode(&mut r, &ctx(format)).unwrap();
    r.expect_end().unwrap();
    let mut out = Vec::new();
    c.encode(&ctx(format), &mut out).unwrap();
    assert_eq!(out, bytes);
    c
}

fn ext(package_token: u8, class_token: u8) -> ClassRef {
    ClassRef::External {
        package_token,
        class_token,
    }
}

#[test]
fn oop_class_component_matches_the_jca() {
    let path = corpus_caps()
        .into_iter()
        .find(|p| p.ends_with("oracle-3.2.0/oop.cap"))
        .unwrap();
    let cap = Cap::from_path(path).unwrap();
    let c = class_component(&cap);
    assert!(c.signature_pool.is_empty());
    assert_eq!(
        c.entries.iter().map(ClassEntry::offset).collect::<Vec<_>>(),
        [0x02, 0x05, 0x1C, 0x2A, 0x3C, 0x4E]
    );
    // .interface public abstract MyService: shareable, extends 1.2 (Shareable).
    let ClassEntry::Interface(my_service) = &c.entries[0] else {
        panic!("{:?}", c.entries[0])
    };
    assert_eq!(my_service.flags, ACC_INTERFACE | ACC_SHAREABLE);
    assert_eq!(my_service.superinterfaces, [ext(1, 2)]);
    // .class abstract OopApplet$Base extends 0.0, publicMethodTable 1 3 {equals 0; kind 255; area 255}
    let ClassEntry::Class(base) = &c.entries[1] else {
        panic!()
    };
    assert_eq!(base.super_class_ref, Some(ext(0, 0)));
    assert_eq!(
        (
            base.declared_instance_size,
            base.first_reference_token,
            base.reference_count
        ),
        (1, 0xFF, 0)
    );
    assert_eq!(base.public_method_table_base, 1);
    assert_eq!(base.public_virtual_method_table.len(), 2);
    assert_eq!(
        base.interfaces,
        [ImplementedInterface {
            interface: ext(2, 0),
            index: vec![2, 1]
        }]
    );
    assert_eq!(
        base.public_virtual_method_token_mapping,
        Some(vec![0, 0xFF, 0xFF])
    );
    assert_eq!(base.cap22_inheritable_public_method_token_count, Some(3));
    // OopApplet$Square extends OopApplet$Base: an internal class_ref.
    let ClassEntry::Class(square) = &c.entries[3] else {
        panic!()
    };
    assert_eq!(square.super_class_ref, Some(ClassRef::Internal(0x05)));
    // .class public OopApplet extends 1.3, publicMethodTable 5 9, two interfaces.
    let ClassEntry::Class(applet) = &c.entries[5] else {
        panic!()
    };
    assert_eq!(applet.flags, ACC_SHAREABLE);
    assert_eq!(applet.super_class_ref, Some(ext(1, 3)));
    assert_eq!(applet.reference_count, 2);
    assert_eq!(applet.public_method_table_base, 5);
    assert_eq!(applet.public_virtual_method_table.len(), 4);
    // select() is inherited from Applet: 0xFFFF, not a method start.
    assert!(!applet.public_virtual_method_table[1].is_defined());
    assert_eq!(applet.method_locations().count(), 3);
    assert_eq!(applet.interfaces[1].interface, ClassRef::Internal(0x02));
    assert_eq!(applet.interfaces[1].index, [8]);
    assert_eq!(
        applet.public_virtual_method_token_mapping,
        Some(vec![0, 1, 2, 3, 4, 5, 6, 7, 0xFF])
    );
    assert_eq!(applet.cap22_inheritable_public_method_token_count, Some(9));
    assert_eq!(c.entry_at(0x4E), Some(&c.entries[5]));
    // OopApplet$Rect extends OopApplet$Square.
    let ClassEntry::Class(rect) = &c.entries[4] else {
        panic!()
    };
    assert_eq!(rect.super_class_ref, Some(ClassRef::Internal(0x2A)));
}

#[test]
fn corpus_class_components_follow_their_format() {
    for path in corpus_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let c = class_component(&cap);
        assert!(!c.entries.is_empty(), "{}", path.display());
        for e in &c.entries {
            if let ClassEntry::Class(k) = e {
                assert_eq!(
                    k.public_virtual_method_token_mapping.is_some(),
                    cap.format.at_least(2, 3),
                    "{}",
                    path.display()
                );
                for l in k.method_locations() {
                    assert!(l.block_index.is_none());
                }
            }
        }
    }
}

#[test]
fn cap_2_2_remote_interface_and_class_round_trip() {
    let bytes = [
        0x00, 0x04, // signature_pool_length
        0x02, 0x41, // (S)V
        0x01, 0x10, // ()V  (offset 2 in the pool)
        // @6 remote interface with one superinterface and a name
        0xA1, 0x81, 0x04, 0x02, b'R', b'I', //
        // @0xC remote class
        0x21, 0x80, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, // no tables
        0x00, 0x06, 0x01, 0x00, // implements @6, index [0]
        0x01, 0xBE, 0xEF, 0x00, 0x02, 0x00, // one remote method, signature at 2, token 0
        0x00, // no hash modifier
        0x01, b'C', // class name
        0x01, 0x00, 0x06, // remote interfaces [@6]
    ];
    let c = round_trip(&bytes, Format::V2_2);
    assert_eq!(c.signature_pool.len(), 2);
    assert_eq!(c.signature_pool[1].offset, 2);
    assert_eq!(c.signature_pool[0].render_method(), "(S)V");
    let ClassEntry::Interface(i) = &c.entries[0] else {
        panic!()
    };
    assert_eq!(i.offset, 6);
    assert_eq!(i.interface_name.as_deref(), Some("RI"));
    let ClassEntry::Class(k) = &c.entries[1] else {
        panic!()
    };
    let remote = k.remote_interfaces.as_ref().unwrap();
    assert_eq!(remote.remote_methods[0].remote_method_hash, 0xBEEF);
    assert_eq!(remote.class_name, "C");
    assert_eq!(remote.remote_interfaces, [ClassRef::Internal(6)]);
    assert!(k.public_virtual_method_token_mapping.is_none());
    // In CAP 2.1 the same bytes do not parse: no signature pool, no remote data.
    let mut r = Reader::new(&bytes, "Class component");
    assert!(ClassComponent::decode(&mut r, &ctx(Format::V2_1)).is_err());
}

#[test]
fn extended_method_tables_carry_block_indexes() {
    let bytes = [
        0x00, 0x00, // empty signature pool
        // class, no interfaces, super 0.0, base 1, 2 public entries, 1 package entry
        0x00, 0x80, 0x00, 0x00, 0xFF, 0x00, 0x01, 0x02, 0x80, 0x01, //
        0x00, 0x00, 0x10, // block 0 @0x10
        0xFF, 0xFF, 0xFF, // not in this package
        0x01, 0x00, 0x05, // block 1 @5 (package method)
        0x00, 0xFF, 0x01, // token mapping (base 1 + 2 entries)
        0x02, // CAP22 inheritable count
    ];
    let c = round_trip(&bytes, Format::V2_3_EXTENDED);
    let locations: Vec<_> = c.method_locations().collect();
    assert_eq!(
        locations,
        [
            MethodLocation {
                block_index: Some(0),
                offset: 0x10
            },
            MethodLocation {
                block_index: Some(1),
                offset: 5
            }
        ]
    );
    // The same bytes read as compact CAP 2.3 leave bytes over or fail.
    let mut r = Reader::new(&bytes, "Class component");
    let compact = ClassComponent::decode(&mut r, &ctx(Format::V2_3));
    assert!(compact.is_err() || !r.is_empty());
}

#[test]
fn malformed_class_components_are_errors() {
    // Truncated super_class_ref.
    let mut r = Reader::new(&[0x00, 0x80], "Class component");
    let e = ClassComponent::decode(&mut r, &ctx(Format::V2_1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("super_class_ref"), "{e}");
    // A table count larger than the bytes left.
    let mut r = Reader::new(
        &[0x00, 0x80, 0x00, 0x00, 0xFF, 0x00, 0x00, 0xFF, 0x00, 0x00],
        "Class component",
    );
    let e = ClassComponent::decode(&mut r, &ctx(Format::V2_1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("public_virtual_method_table count"), "{e}");
    // Signature pool length past the end.
    let mut r = Reader::new(&[0x00, 0x09, 0x01], "Class component");
    assert!(ClassComponent::decode(&mut r, &ctx(Format::V2_2)).is_err());
}

#[test]
fn inconsistent_models_do_not_encode() {
    let class = ClassInfo {
        offset: 0,
        flags: 0,
        super_class_ref: None,
        declared_instance_size: 0,
        first_reference_token: 0xFF,
        reference_count: 0,
        public_method_table_base: 1,
        public_virtual_method_table: vec![MethodLocation::compact(0x10)],
        package_method_table_base: 0,
        package_virtual_method_table: vec![],
        interfaces: vec![],
        remote_interfaces: None,
        public_virtual_method_token_mapping: Some(vec![0]),
        cap22_inheritable_public_method_token_count: Some(1),
    };
    let c = ClassComponent {
        signature_pool: vec![],
        entries: vec![ClassEntry::Class(class.clone())],
    };
    // Mapping must have base + count = 2 entries.
    assert!(c.encode(&ctx(Format::V2_3), &mut Vec::new()).is_err());
    // CAP 2.2 has no mapping.
    assert!(c.encode(&ctx(Format::V2_2), &mut Vec::new()).is_err());
    let fixed = ClassInfo {
        public_virtual_method_token_mapping: Some(vec![0, 1]),
        ..class
    };
    let c = ClassComponent {
        signature_pool: vec![],
        entries: vec![ClassEntry::Class(fixed)],
    };
    let mut out = Vec::new();
    c.encode(&ctx(Format::V2_3), &mut out).unwrap();
    assert_eq!(&out[2..5], &[0x00, 0xFF, 0xFF]);
    // A CAP 2.1 file has no signature pool.
    let pooled = ClassComponent {
        signature_pool: vec![TypeDescriptor {
            offset: 0,
            types: vec![crate::cap::components::descriptor::JcType::Void],
        }],
        entries: vec![],
    };
    assert!(pooled.encode(&ctx(Format::V2_1), &mut Vec::new()).is_err());
}
