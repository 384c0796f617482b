//! BER-TLV parsing (gp::tlv): any bytes give objects or an error, never a
//! panic; what parses encodes, and the encoding parses back to the same
//! objects (and is never longer than the input: encoding is minimal).
#![no_main]

use gp::tlv::{encode_all, Tlv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tlv) = Tlv::parse(data) {
        let bytes = tlv.to_bytes().expect("a parsed object encodes");
        assert!(bytes.len() <= data.len(), "encoding longer than the input");
        let again = Tlv::parse(&bytes).expect("an encoded object parses");
        assert_eq!(again, tlv, "decode(encode(x)) == x");
        let tag = tlv.tag();
        assert_eq!(tlv.find_path(&[]), Some(&tlv));
        assert_eq!(tlv.bytes().is_some(), !tag.is_constructed());
        if let Some(first) = tlv.children().first() {
            assert!(tlv.find(first.tag()).is_some());
        }
        let value = tlv.value_bytes().expect("value bytes");
        assert!(bytes.ends_with(&value));
    }
    if let Ok(all) = Tlv::parse_all(data) {
        let bytes = encode_all(&all).expect("parsed objects encode");
        assert!(bytes.len() <= data.len(), "encoding longer than the input");
        let again = Tlv::parse_all(&bytes).expect("encoded objects parse");
        assert_eq!(again, all, "decode(encode(x)) == x");
        assert_eq!(encode_all(&again).expect("re-encoding"), bytes);
        if let Some(first) = all.first() {
            let path = [first.tag().raw()];
            assert!(gp::tlv::find_path(&all, &path).is_some());
        }
    }
});
