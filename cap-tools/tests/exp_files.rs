//! Export files of the shared data: byte-exact round trips, agreement with
//! the API facts in javacard-api/exports-<kit>.json, and robustness against
//! truncated and corrupted input.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use cap_tools::exp::{dump, ExportFile};
use serde_json::{json, Value};

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(path: &Path) -> ExportFile {
    ExportFile::decode(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_export_file_round_trips_byte_for_byte() {
    for path in common::all_exps() {
        let bytes = read(&path);
        let file = decode(&path);
        let again = file
            .encode()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            again == bytes,
            "{}: {} bytes re-encoded as {} bytes, first difference at {:?}",
            path.display(),
            bytes.len(),
            again.len(),
            bytes.iter().zip(&again).position(|(a, b)| a != b)
        );
    }
}

#[test]
fn format_decides_the_2_3_items() {
    for path in common::all_exps() {
        let file = decode(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let expect_2_3 = name.starts_with("3.2.0-") || path.to_string_lossy().contains("3.2.0");
        assert_eq!(
            file.format(),
            if expect_2_3 { "2.3" } else { "2.1" },
            "{name}"
        );
        assert_eq!(file.referenced_packages.is_some(), expect_2_3, "{name}");
        for c in &file.classes {
            assert_eq!(
                c.cap22_inheritable_public_method_token_count.is_some(),
                expect_2_3,
                "{name}"
            );
        }
    }
}

/// The view of a package in the shape of the API facts JSON.
fn facts_shape(file: &ExportFile) -> Value {
    let view = file.view().unwrap();
    let classes: Vec<Value> = view
        .classes
        .iter()
        .map(|c| {
            let mut class = json!({
                "name": c.name,
                "token": c.token,
                "flags": c.flags,
                "supers": c.supers,
                "interfaces": c.interfaces,
                "fields": c.fields.iter().map(|f| {
                    let mut v = json!({
                        "name": f.name, "descriptor": f.descriptor,
                        "token": f.token, "flags": f.flags,
                    });
                    if let Some(value) = f.value {
                        v["value"] = json!(value);
                    }
                    v
                }).collect::<Vec<_>>(),
                "methods": c.methods.iter().map(|m| json!({
                    "name": m.name, "descriptor": m.descriptor,
                    "token": m.token, "flags": m.flags,
                })).collect::<Vec<_>>(),
            });
            if let Some(n) = c.cap22_inheritable_public_method_token_count {
                class["cap22_inheritable_public_method_token_count"] = json!(n);
            }
            class
        })
        .collect();
    json!({
        "format": view.format,
        "package": view.package.name,
        "aid": view.package.aid.to_hex(),
        "version": view.package.version,
        "flags": view.package.flags,
        "classes": classes,
    })
}

#[test]
fn api_export_files_agree_with_the_api_facts() {
    let mut checked = 0;
    for kit in ["2.2.2", "3.0.5", "3.2.0"] {
        let facts_path = common::shared().join(format!("javacard-api/exports-{kit}.json"));
        let facts: Value = serde_json::from_slice(&read(&facts_path)).unwrap();
        let packages = facts["packages"].as_array().unwrap();
        for path in common::all_exps() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let Some(package) = name
                .strip_prefix(&format!("{kit}-"))
                .and_then(|n| n.strip_suffix(".exp"))
            else {
                continue;
            };
            let expected = packages
                .iter()
                .find(|p| p["package"] == package)
                .unwrap_or_else(|| panic!("{package} not in exports-{kit}.json"));
            let ours = facts_shape(&decode(&path));
            for key in ["format", "package", "aid", "version", "flags"] {
                assert_eq!(ours[key], expected[key], "{name}: {key}");
            }
            let ours = ours["classes"].as_array().unwrap();
            let theirs = expected["classes"].as_array().unwrap();
            assert_eq!(ours.len(), theirs.len(), "{name}: class count");
            for (a, b) in ours.iter().zip(theirs) {
                assert_eq!(a, b, "{name}: class {}", b["name"]);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 12, "every exp-corpus file has been compared");
}

#[test]
fn package_identity_of_the_reference_applets() {
    let dir = common::shared().join("converter-reference");
    for kit in ["oracle-3.0.5", "oracle-3.2.0"] {
        let lib = decode(&dir.join(kit).join("lib.exp"));
        let p = lib.package().unwrap();
        assert_eq!(p.name, "com.example.lib");
        assert_eq!(p.aid.to_hex(), "F0000000014C");
        assert_eq!(p.version, "1.0");
        assert_eq!(p.flag_words, ["library"]);
        let hello = decode(&dir.join(kit).join("hello.exp")).package().unwrap();
        assert_eq!((hello.name.as_str(), hello.flags), ("com.example.hello", 0));
    }
    let oop = decode(&dir.join("oracle-3.2.0/oop.exp")).view().unwrap();
    let refs: Vec<_> = oop
        .referenced_packages
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| (p.name.as_str(), p.aid.to_hex(), p.version.as_str()))
        .collect();
    assert_eq!(
        refs,
        [
            ("java.lang", "A0000000620001".to_string(), "1.0"),
            ("javacard.framework", "A0000000620101".to_string(), "1.9"),
        ]
    );
    let service = oop.class("com/example/oop/MyService").unwrap();
    assert_eq!(
        service.flag_words,
        ["public", "abstract", "interface", "shareable"]
    );
    assert_eq!(service.interfaces, ["javacard/framework/Shareable"]);
}

#[test]
fn view_resolves_constants_and_kinds() {
    let lib = decode(&common::shared().join("converter-reference/oracle-3.0.5/lib.exp"));
    let view = lib.view().unwrap();
    let counter = view.class("com/example/lib/Counter").unwrap();
    let limit = counter.fields.iter().find(|f| f.name == "LIMIT").unwrap();
    assert_eq!((limit.token, limit.value), (255, Some(1000)));
    assert_eq!(limit.kind.as_str(), "constant");
    assert_eq!(limit.flag_words, ["public", "static", "final"]);
    let init = counter.methods.iter().find(|m| m.name == "<init>").unwrap();
    assert_eq!(
        (init.kind.as_str(), init.descriptor.as_str()),
        ("constructor", "(S)V")
    );

    let json: Value = serde_json::from_str(&lib.to_json_view().unwrap()).unwrap();
    assert_eq!(json["package"]["name"], "com.example.lib");
    assert_eq!(json["package"]["aid"], "F0000000014C");
    assert!(json.get("referenced_packages").is_none(), "2.1 has none");
    let fields = json["classes"][1]["fields"].as_array().unwrap();
    assert!(fields
        .iter()
        .any(|f| f["name"] == "LIMIT" && f["value"] == 1000));
}

#[test]
fn dump_shows_package_classes_and_aligned_members() {
    let path = common::shared().join("exp-corpus/3.0.5-javacard.framework.exp");
    let text = dump::render_text(&decode(&path));
    assert!(
        text.starts_with("package  javacard.framework\nAID      A0000000620101\nversion  1.6\n"),
        "{text}"
    );
    assert!(
        text.contains("\ninterface javacard.framework.ISO7816\n"),
        "{text}"
    );
    let sw = text
        .lines()
        .find(|l| l.contains(" SW_NO_ERROR "))
        .expect("SW_NO_ERROR listed");
    assert!(sw.ends_with(" S           -28672 (0x9000)"), "{sw:?}");
    assert!(
        !text.lines().any(|l| l.ends_with(' ')),
        "no trailing blanks"
    );
    // Every member row of a table starts its name in the same column as the header.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("    token ") {
            let col = l.find("name").unwrap();
            for row in lines[i + 1..].iter().take_while(|r| r.starts_with("    ")) {
                let before = &row[..col];
                assert!(before.ends_with("  "), "misaligned: {row:?} under {l:?}");
            }
        }
    }
}

#[test]
fn errors_name_the_structure_and_offset() {
    let path = common::shared().join("converter-reference/oracle-3.0.5/lib.exp");
    let mut file = decode(&path);
    file.classes[1].methods[2].name_index = 0x4444;
    let e = file.encode().unwrap_err().to_string();
    assert!(
        e.contains("class #1 (com/example/lib/Counter) method #2"),
        "{e}"
    );
    assert!(e.contains("name_index"), "{e}");
    assert!(e.contains("out of range"), "{e}");
    assert!(e.contains("offset 0x"), "{e}");
    assert!(file.view().is_err());

    let bytes = read(&path);
    // Cut inside the last method: the methods count no longer fits.
    let e = ExportFile::decode(&bytes[..bytes.len() - 3])
        .unwrap_err()
        .to_string();
    assert!(e.contains("class #2 (com/example/lib/Util2)"), "{e}");
    assert!(e.contains("methods count 3 cannot fit"), "{e}");
    // Cut inside the constant pool, after the tag of entry #16 (at 0x95).
    let e = ExportFile::decode(&bytes[..0x96]).unwrap_err().to_string();
    assert!(e.contains("constant pool entry #16"), "{e}");
    assert!(e.contains("truncated at offset 0x96"), "{e}");
    assert!(e.contains("CONSTANT_Utf8 length"), "{e}");

    let mut wrong = bytes.clone();
    wrong[0] = 0xCA;
    let e = ExportFile::decode(&wrong).unwrap_err().to_string();
    assert!(e.contains("magic"), "{e}");
    let mut version = bytes.clone();
    version[4] = 0;
    let e = ExportFile::decode(&version).unwrap_err().to_string();
    assert!(e.contains("format 2.0 is not supported"), "{e}");
    let mut longer = bytes;
    longer.push(0);
    let e = ExportFile::decode(&longer).unwrap_err().to_string();
    assert!(e.contains("trailing"), "{e}");
}

#[test]
fn encode_refuses_items_of_the_wrong_format() {
    let path = common::shared().join("converter-reference/oracle-3.2.0/lib.exp");
    let mut file = decode(&path);
    file.minor_version = 1;
    let e = file.encode().unwrap_err().to_string();
    assert!(
        e.contains("referenced_packages must be absent for format 2.1"),
        "{e}"
    );
    file.referenced_packages = None;
    let e = file.encode().unwrap_err().to_string();
    assert!(e.contains("class #0"), "{e}");
    for c in &mut file.classes {
        c.cap22_inheritable_public_method_token_count = None;
    }
    let as_2_1 = file.encode().unwrap();
    assert_eq!(ExportFile::decode(&as_2_1).unwrap(), file);
}

/// Decodes `bytes` with panics caught, so a failure names the input.
fn decode_no_panic(bytes: &[u8], what: &dyn Fn() -> String) -> Option<ExportFile> {
    match catch_unwind(AssertUnwindSafe(|| ExportFile::decode(bytes))) {
        Ok(Ok(file)) => Some(file),
        Ok(Err(_)) => None,
        Err(_) => panic!("decoder panicked on {}", what()),
    }
}

#[test]
fn every_truncation_is_an_error() {
    for path in common::all_exps() {
        let bytes = read(&path);
        for len in 0..bytes.len() {
            let what = || format!("{} cut to {len} bytes", path.display());
            assert!(
                decode_no_panic(&bytes[..len], &what).is_none(),
                "{} decoded",
                what()
            );
        }
    }
}

/// Files up to this size (the reference applets, java.lang) get every byte
/// flipped; the big API files, whose structures repeat, every `STRIDE`th
/// byte (a prime, so the flips fall on every field position), to keep the
/// test quick in debug builds.
const FLIP_ALL_UP_TO: usize = 2000;
const STRIDE: usize = 17;

#[test]
fn single_byte_corruption_gives_an_error_or_a_consistent_file() {
    let (mut accepted, mut rejected) = (0usize, 0usize);
    for path in common::all_exps() {
        let bytes = read(&path);
        let step = if bytes.len() <= FLIP_ALL_UP_TO {
            1
        } else {
            STRIDE
        };
        for offset in (0..bytes.len()).step_by(step) {
            let mut bad = bytes.clone();
            bad[offset] ^= 0xFF;
            let what = || format!("{} with byte {offset:#x} flipped", path.display());
            let Some(file) = decode_no_panic(&bad, &what) else {
                rejected += 1;
                continue;
            };
            // What decodes must re-encode to the same bytes and resolve.
            let again = file.encode().unwrap_or_else(|e| panic!("{}: {e}", what()));
            assert!(again == bad, "{} re-encodes differently", what());
            file.view().unwrap_or_else(|e| panic!("{}: {e}", what()));
            accepted += 1;
        }
    }
    // Flips in names, flags and tokens leave a valid file; flips in tags,
    // counts and indices are caught.
    assert!(
        accepted > 0 && rejected > 0,
        "{accepted} accepted, {rejected} rejected"
    );
}

/// The GlobalPlatform tables jct embeds (`scripts/gp-api-table.sh`): every
/// version of org.globalplatform, securechannel and its provider hold
/// exactly the facts of GlobalPlatform's export file of that version, and
/// each Java Card version's table carries its card's org.globalplatform.
#[test]
fn embedded_globalplatform_tables_agree_with_the_export_files() {
    use cap_tools::api::{self, gp, ApiVersion};
    let dir = common::shared().join("exp-corpus/globalplatform");
    let mut packages: Vec<(String, &api::ApiPackage)> = gp::VERSIONS
        .iter()
        .map(|&(major, minor)| {
            (
                format!("org.globalplatform-{major}.{minor}.exp"),
                gp::package((major, minor)).unwrap(),
            )
        })
        .collect();
    packages.push((
        "org.globalplatform.securechannel-1.1.exp".into(),
        gp::securechannel(),
    ));
    packages.push((
        "org.globalplatform.securechannel.provider-1.1.exp".into(),
        gp::provider(),
    ));
    for (file, embedded) in packages {
        let ours = facts_shape(&decode(&dir.join(&file)));
        let embedded = serde_json::to_value(embedded).unwrap();
        for key in ["format", "package", "aid", "version", "flags"] {
            assert_eq!(ours[key], embedded[key], "{file}: {key}");
        }
        assert_eq!(ours["classes"], embedded["classes"], "{file}: classes");
    }
    for v in ApiVersion::ALL {
        let carried = api::table(v).package_by_name("org.globalplatform").unwrap();
        assert_eq!(carried.version_pair(), Some(v.globalplatform()), "{v}");
    }
}
