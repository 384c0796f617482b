//! Decoding then encoding every CAP gives back identical bytes, component by component.

mod common;

use cap_tools::cap::container;
use cap_tools::Cap;

#[test]
fn every_component_of_every_cap_round_trips() {
    for path in common::all_caps() {
        let bytes = std::fs::read(&path).unwrap();
        let (raw, _) = container::read_jar(&bytes).unwrap();
        let cap = Cap::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(cap.components.len(), raw.len(), "{}", path.display());
        let encoded = cap.encode_components().unwrap();
        for (orig, (tag, again)) in raw.iter().zip(&encoded) {
            assert_eq!(orig.tag, *tag, "{}", path.display());
            assert!(
                orig.bytes == *again,
                "{}: component tag {tag} differs after round trip ({} vs {} bytes)",
                path.display(),
                orig.bytes.len(),
                again.len()
            );
        }
    }
}

#[test]
fn jar_and_load_file_rewrites_decode_to_the_same_model() {
    for path in common::all_caps() {
        let cap = Cap::from_path(&path).unwrap();
        let jar = cap.to_jar().unwrap();
        let again = Cap::from_bytes(&jar).unwrap();
        assert_eq!(cap.components, again.components, "{}", path.display());
        assert_eq!(cap.container, again.container, "{}", path.display());
    }
}
