//! Descriptor component tests: the oop reference applet against its JCA,
//! hand-built extended descriptors, and malformed input.

use super::*;
use crate::cap::components::method::tests::corpus_caps;
use crate::cap::{Cap, Component, Format};

fn ctx(format: Format) -> Context {
    Context { format }
}

fn oop() -> Cap {
    let path = corpus_caps()
        .into_iter()
        .find(|p| p.ends_with("oracle-3.2.0/oop.cap"))
        .unwrap();
    Cap::from_path(path).unwrap()
}

fn descriptor(cap: &Cap) -> &Descriptor {
    cap.components
        .iter()
        .find_map(|c| match c {
            Component::Descriptor(d) => Some(d),
            _ => None,
        })
        .unwrap()
}

#[test]
fn oop_descriptor_matches_the_jca() {
    let cap = oop();
    let d = descriptor(&cap);
    assert!(d.package_class_counts.is_none());
    assert_eq!(d.classes.len(), 6);
    // .interface public abstract MyService 0 { serve(S)S 0 }
    let my_service = &d.classes[0];
    assert_eq!(my_service.token, 0);
    assert!(my_service.is_interface());
    assert_eq!(my_service.this_class_ref, ClassRef::Internal(2));
    assert_eq!(my_service.methods.len(), 1);
    let serve = &my_service.methods[0];
    assert_eq!(serve.access_flags, ACC_PUBLIC | METHOD_ACC_ABSTRACT);
    assert_eq!(
        d.type_descriptor_at(serve.type_offset).as_deref(),
        Some("(S)S")
    );
    // Interface methods have no method_info, so they are no method starts.
    let starts: Vec<_> = d.method_locations().collect();
    assert!(starts.iter().all(|l| l.offset != 0));
    // One entry per constant-pool entry (the JCA lists 35); class refs have no type.
    assert_eq!(d.types.constant_pool_types.len(), 35);
    assert_eq!(d.types.constant_pool_types[9], 0xFFFF, ".classRef 2.1");
    // process(Ljavacard/framework/APDU;)V: APDU is class 10 of package 1.
    let rendered: Vec<String> = d
        .classes
        .iter()
        .flat_map(|c| &c.methods)
        .filter_map(|m| d.type_descriptor_at(m.type_offset))
        .collect();
    assert!(rendered.iter().any(|s| s == "(L1.10;)V"), "{rendered:?}");
    assert!(
        rendered.iter().any(|s| s == "([BSB)V"),
        "install: {rendered:?}"
    );
    // OopApplet's fields: counter (Lcom/example/lib/Counter;) and shapes ([Lcom/example/lib/Shape;).
    let applet = d
        .classes
        .iter()
        .find(|c| c.this_class_ref == ClassRef::Internal(0x4E))
        .unwrap();
    let types: Vec<String> = applet
        .fields
        .iter()
        .map(|f| match f.field_type {
            FieldType::Reference { type_offset } => d.field_type_at(type_offset).unwrap(),
            FieldType::Primitive(p) => format!("{p:?}"),
        })
        .collect();
    assert_eq!(types, ["L2.1;", "[L2.0;"]);
    assert!(applet.fields.iter().all(|f| matches!(
        f.field_ref,
        FieldRef::Instance {
            class: ClassRef::Internal(0x4E),
            ..
        }
    )));
    // OopApplet$Base.w is a protected short.
    let base = d
        .classes
        .iter()
        .find(|c| c.this_class_ref == ClassRef::Internal(0x05))
        .unwrap();
    assert_eq!(base.fields[0].access_flags, ACC_PROTECTED);
    assert_eq!(
        base.fields[0].field_type,
        FieldType::Primitive(PrimitiveType::Short)
    );
}

#[test]
fn corpus_type_offsets_resolve() {
    for path in corpus_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let d = descriptor(&cap);
        for m in d.classes.iter().flat_map(|c| &c.methods) {
            let sig = d.type_descriptor_at(m.type_offset);
            assert!(
                sig.is_some_and(|s| s.starts_with('(')),
                "{}",
                path.display()
            );
        }
        for &t in &d.types.constant_pool_types {
            assert!(
                t == 0xFFFF || d.type_at(t).is_some(),
                "{}: {t:#x}",
                path.display()
            );
        }
        for f in d.classes.iter().flat_map(|c| &c.fields) {
            if let FieldType::Reference { type_offset } = f.field_type {
                assert!(d.field_type_at(type_offset).is_some(), "{}", path.display());
            }
            let is_static = f.access_flags & ACC_STATIC != 0;
            assert_eq!(is_static, matches!(f.field_ref, FieldRef::Static(_)));
        }
    }
}

/// Two packages (one class each) with block-indexed method descriptors.
fn extended_bytes() -> Vec<u8> {
    vec![
        0x02, // package_count
        0x01, // package 0: one class
        0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x01, 0x00,
        0x01, // token 0, public, @5, 0 ifaces, 1 field, 1 method
        0xFF, 0x0A, 0x00, 0x00, 0x10, 0x80, 0x03, // private static byte at image offset 0x10
        0x00, 0x09, 0x01, 0x00, 0x20, 0x00, 0x06, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x00, // method: block 1 @0x20
        0x01, // package 1: one class
        0xFF, 0x00, 0x00, 0x12, 0x00, 0x00, 0x01, 0x00, 0x01, //
        0x00, 0x02, 0x00, 0x12, 0x00, 0x00,
        0x08, // instance field of @0x12, token 0, type at 8
        0xFF, 0x82, 0x00, 0x00, 0x04, 0x00, 0x06, 0x00, 0x05, 0x00, 0x01, 0x00,
        0x00, // <init>: block 0 @4
        0x00, 0x02, 0x00, 0x06, 0xFF, 0xFF, // two constant-pool types
        0x01, 0x10, // @6: ()V
        0x05, 0xE0, 0x01, 0x20, // @8: [L@0x0012;
    ]
}

#[test]
fn extended_descriptor_round_trips() {
    let bytes = extended_bytes();
    let mut r = Reader::new(&bytes, "Descriptor component");
    let d = Descriptor::decode(&mut r, &ctx(Format::V2_3_EXTENDED)).unwrap();
    r.expect_end().unwrap();
    assert_eq!(d.package_class_counts, Some(vec![1, 1]));
    assert_eq!(d.classes.len(), 2);
    let m0 = &d.classes[0].methods[0];
    assert_eq!(
        (m0.method_component_block_index, m0.method_offset),
        (Some(1), 0x20)
    );
    assert_eq!(
        d.classes[0].fields[0].field_ref,
        FieldRef::Static(StaticFieldRef::Internal { offset: 0x10 })
    );
    assert_eq!(
        d.classes[0].fields[0].field_type,
        FieldType::Primitive(PrimitiveType::Byte)
    );
    assert_eq!(d.type_descriptor_at(6).as_deref(), Some("()V"));
    assert_eq!(d.field_type_at(8).as_deref(), Some("[L@0x0012;"));
    assert_eq!(d.types.constant_pool_types, [6, 0xFFFF]);
    assert_eq!(
        d.method_locations().collect::<Vec<_>>(),
        [
            MethodLocation {
                block_index: Some(1),
                offset: 0x20
            },
            MethodLocation {
                block_index: Some(0),
                offset: 4
            }
        ]
    );
    let mut out = Vec::new();
    d.encode(&ctx(Format::V2_3_EXTENDED), &mut out).unwrap();
    assert_eq!(out, bytes);
    // The compact layout has no package counts and no block indexes.
    assert!(d.encode(&ctx(Format::V2_3), &mut Vec::new()).is_err());
    let mut broken = d.clone();
    broken.package_class_counts = Some(vec![1]);
    assert!(broken
        .encode(&ctx(Format::V2_3_EXTENDED), &mut Vec::new())
        .is_err());
}

#[test]
fn malformed_descriptors_are_errors() {
    // Static field with a non-zero padding byte.
    let mut bytes = extended_bytes();
    bytes[13] = 0x01;
    let mut r = Reader::new(&bytes, "Descriptor component");
    let e = Descriptor::decode(&mut r, &ctx(Format::V2_3_EXTENDED))
        .unwrap_err()
        .to_string();
    assert!(e.contains("padding"), "{e}");
    // An unknown primitive type code.
    let mut bytes = extended_bytes();
    bytes[17] = 0x07;
    let mut r = Reader::new(&bytes, "Descriptor component");
    let e = Descriptor::decode(&mut r, &ctx(Format::V2_3_EXTENDED))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no primitive type"), "{e}");
    // A class count the bytes cannot hold.
    let mut r = Reader::new(&[0xFF, 0x00], "Descriptor component");
    let e = Descriptor::decode(&mut r, &ctx(Format::V2_1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("class descriptors count"), "{e}");
    // Truncated type table.
    let mut r = Reader::new(&[0x00, 0x00, 0x00, 0x03, 0x43], "Descriptor component");
    assert!(Descriptor::decode(&mut r, &ctx(Format::V2_1)).is_err());
}
