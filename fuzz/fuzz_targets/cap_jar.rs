//! Any bytes given to the CAP JAR reader give a CAP or an error, never a panic;
//! whatever decodes must also survive verification, info and re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cap) = cap_tools::Cap::from_jar(data) {
        jct_fuzz_checks(&cap);
    }
});

fn jct_fuzz_checks(cap: &cap_tools::Cap) {
    let _ = cap_tools::verify::verify(cap);
    let _ = cap_tools::cap::info::CapInfo::of(cap);
    let _ = cap.to_jar();
}
