//! `jct keys probe`'s inputs (scp::probe): any candidates text parses to
//! key sets or names a line that exists; any INITIALIZE UPDATE answer
//! parses or is refused, and probing it with the parsed candidates never
//! panics and only ever reports candidates that exist.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scp::probe::{parse_candidates, probe, Candidate};
use scp::InitUpdateResponse;

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input: candidates text, then the answer.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(split).min(rest.len());
    let (text, answer) = rest.split_at(at);
    let mut candidates = vec![Candidate::single("gp", &[0x40; 16])];
    if let Ok(text) = std::str::from_utf8(text) {
        match parse_candidates(text) {
            Ok(list) => candidates.extend(list),
            Err(e) => assert!(e.line >= 1 && e.line <= text.lines().count(), "{e}"),
        }
    }
    if let Ok(hello) = InitUpdateResponse::parse(answer) {
        let report = probe(&hello, &[0x11; 8], &candidates, &[0x15, 0x14]);
        assert!(report.matches.iter().all(|m| m.candidate < candidates.len()));
        assert!(report.matches.len() <= report.tried);
    }
});
