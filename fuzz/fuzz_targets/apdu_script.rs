//! `jct test`'s script language: any text parses to a script or an error
//! naming a line that exists, never a panic; a script that parses runs on
//! an emulated card (install steps left out: they would read files named
//! by the input) to a report per step, every pattern matched without a
//! panic whatever the card answers.
#![no_main]

use cardtest::script::{self, Action};
use cardtest::{EmulatedCard, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parsed = match script::parse("fuzz.apdu", std::path::Path::new("/nonexistent"), &text) {
        Ok(s) => s,
        Err(e) => {
            assert!(e.line <= text.lines().count().max(1), "{e}");
            return;
        }
    };
    parsed.steps.retain(|s| !matches!(s.action, Action::Install(_)));
    let mut card = EmulatedCard::new().seed(1).build().expect("a card");
    let outcome = cardtest::run(&parsed, &mut card, &mut |_| {});
    assert_eq!(outcome.reports.len(), parsed.steps.len());
    for r in &outcome.reports {
        let _ = cardtest::report::render(r, true);
        if r.status == Status::Pass {
            assert!(r.differing_bytes.is_empty() && !r.sw_differs);
        }
    }
});
