//! `jct cap info` facts equal those recorded in the shared MANIFEST.json files.

mod common;

use std::path::PathBuf;

use cap_tools::cap::info::CapInfo;
use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;
use serde_json::Value;

fn manifest(dir: &str) -> Vec<Value> {
    let p = common::shared().join(dir).join("MANIFEST.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v.as_array().unwrap().clone()
}

/// Pairs each manifest entry with its file. The converter-reference manifest
/// lists kit 3.0.5's files, then kit 3.2.0's, each in name order.
fn entries() -> Vec<(PathBuf, Value)> {
    let s = common::shared();
    let mut out: Vec<(PathBuf, Value)> = manifest("cap-corpus")
        .into_iter()
        .map(|e| (s.join("cap-corpus").join(e["file"].as_str().unwrap()), e))
        .collect();
    let reference = manifest("converter-reference");
    let mut kit_files = Vec::new();
    for kit in ["oracle-3.0.5", "oracle-3.2.0"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(s.join("converter-reference").join(kit))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cap"))
            .collect();
        files.sort();
        kit_files.extend(files);
    }
    assert_eq!(kit_files.len(), reference.len());
    for (path, e) in kit_files.into_iter().zip(reference) {
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            e["file"].as_str().unwrap()
        );
        out.push((path, e));
    }
    out
}

#[test]
fn info_matches_manifest_for_every_cap() {
    let all = entries();
    assert_eq!(all.len(), 29);
    for (path, e) in all {
        let name = path.display().to_string();
        let cap = Cap::from_path(&path).unwrap();
        let info = CapInfo::of(&cap).unwrap();
        assert_eq!(info.cap_format, e["cap_format"].as_str().unwrap(), "{name}");
        assert_eq!(info.flags as u64, e["flags"].as_u64().unwrap(), "{name}");
        assert_eq!(
            info.package_aid.as_ref().unwrap().to_hex(),
            e["package_aid"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            info.package_version.as_deref(),
            e["package_version"].as_str(),
            "{name}"
        );
        assert_eq!(
            info.package_name.as_deref(),
            e["package_name"].as_str(),
            "{name}"
        );
        let applets: Vec<String> = info.applets.iter().map(|a| a.aid.to_hex()).collect();
        let expected: Vec<String> = e["applets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(applets, expected, "{name}");
        let imports: Vec<(String, String)> = info
            .imports
            .iter()
            .map(|i| (i.aid.to_hex(), i.version.clone()))
            .collect();
        let expected: Vec<(String, String)> = e["imports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["aid"].as_str().unwrap().to_string(),
                    i["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(imports, expected, "{name}");
        let mut components: Vec<String> = info.components.iter().map(|c| c.name.clone()).collect();
        components.sort();
        let expected: Vec<String> = e["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(components, expected, "{name}");
        assert_eq!(
            info.load_file.size as u64,
            e["load_file_size_no_descriptor"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            info.load_file_size_with_descriptor as u64,
            e["load_file_size_with_descriptor"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            info.load_file.sha256,
            e["load_file_sha256_no_descriptor"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn load_file_round_trips_through_the_raw_reader() {
    for (path, _) in entries() {
        let cap = Cap::from_path(&path).unwrap();
        let lf = LoadFile::build(&cap, true).unwrap();
        let from_raw = Cap::from_load_file(&lf.bytes).unwrap();
        assert_eq!(
            LoadFile::build(&from_raw, true).unwrap(),
            lf,
            "{}",
            path.display()
        );
        let wrapped = Cap::from_load_file(&lf.with_c4_tag()).unwrap();
        assert_eq!(
            wrapped.components,
            from_raw.components,
            "{}",
            path.display()
        );
        // The raw form has no Debug component, so the models agree on everything else.
        for c in &from_raw.components {
            assert!(
                cap.components.contains(c),
                "{}: {}",
                path.display(),
                c.name()
            );
        }
    }
}

#[test]
fn applet_class_names_come_from_manifest_or_debug() {
    let s = common::shared();
    let cap = Cap::from_path(s.join("converter-reference/oracle-3.2.0/oop.cap")).unwrap();
    let info = CapInfo::of(&cap).unwrap();
    assert_eq!(
        info.applets[0]
            .class_name
            .as_deref()
            .map(|n| n.ends_with("OopApplet")),
        Some(true)
    );
    let framework = info
        .imports
        .iter()
        .find(|i| i.aid.to_hex() == "A0000000620101")
        .unwrap();
    assert_eq!(framework.name.as_deref(), Some("javacard.framework"));
}
