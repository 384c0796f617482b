//! Any bytes given to the export file reader give a file or an error, never a
//! panic; a decoded file re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(exp) = cap_tools::exp::ExportFile::decode(data) {
        let _ = cap_tools::exp::dump::render_text(&exp);
        if let Ok(bytes) = exp.encode() {
            assert_eq!(bytes, data, "export file round trip");
        }
    }
});
