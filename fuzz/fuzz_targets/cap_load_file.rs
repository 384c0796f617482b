//! Any bytes given to the raw load file (IJC) reader give a CAP or an error,
//! never a panic; a decoded CAP re-encodes to the same components.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cap) = cap_tools::Cap::from_load_file(data) {
        let _ = cap_tools::verify::verify(&cap);
        let _ = cap_tools::cap::info::CapInfo::of(&cap);
        let _ = cap_tools::cap::dump::render_text(&cap);
        if let Ok(lf) = cap_tools::cap::load_file::LoadFile::build(&cap, true) {
            // Re-reading what we wrote must work and give the same model.
            let again =
                cap_tools::Cap::from_load_file(&lf.bytes).expect("re-read of encoded load file");
            assert_eq!(again.format, cap.format);
        }
    }
});
