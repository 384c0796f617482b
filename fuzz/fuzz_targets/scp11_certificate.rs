//! SCP11 certificates (scp::scp11::cert): any bytes parse to a certificate
//! or are refused with an error naming a field; a parsed certificate
//! re-parses from its own encoding to the same value; chains and GET DATA
//! BF21 stores never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scp::scp11::{parse_certificate_store, Certificate};

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::parse(data) {
        assert_eq!(Certificate::parse(cert.encoded()).as_ref(), Ok(&cert));
        let _ = cert.check_validity(scp::scp11::Date::from_unix(0));
    }
    let _ = scp::scp11::cert::parse_chain(data);
    let _ = parse_certificate_store(data);
});
