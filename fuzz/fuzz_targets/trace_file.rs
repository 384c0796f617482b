//! The loader's trace file parser: any text gives a trace or an error,
//! never a panic. A parsed trace written back in the canonical form
//! parses to the same exchanges and ATR, and a replay of it answers every
//! recorded command with its recorded response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loader::transport::replay::Replay;
use loader::transport::trace_file::{self, atr_line, command_line, response_line};
use loader::transport::Transport;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(trace) = trace_file::parse("fuzz.trace", &text) else {
        return;
    };
    let mut canonical = String::new();
    if let Some(atr) = &trace.atr {
        canonical.push_str(&atr_line(atr));
        canonical.push('\n');
    }
    for ex in &trace.exchanges {
        assert!(!ex.command.is_empty() && ex.response.len() >= 2);
        canonical.push_str(&command_line(&ex.command));
        canonical.push('\n');
        canonical.push_str(&response_line(&ex.response));
        canonical.push('\n');
    }
    let again = trace_file::parse("canonical.trace", &canonical).expect("canonical trace parses");
    assert_eq!(again.atr, trace.atr, "ATR round trip");
    assert_eq!(again.exchanges.len(), trace.exchanges.len());
    for (a, b) in again.exchanges.iter().zip(&trace.exchanges) {
        assert_eq!((&a.command, &a.response), (&b.command, &b.response));
    }

    let mut replay = Replay::from_text("fuzz.trace", &text).expect("the same text parses");
    let _ = replay.host_challenge();
    assert_eq!(replay.atr(), trace.atr.as_deref());
    for ex in &trace.exchanges {
        let answer = replay
            .transmit(&ex.command)
            .expect("replaying a recorded command");
        assert_eq!(answer, ex.response);
    }
    assert_eq!(replay.remaining(), 0);
    replay.finish().expect("every exchange replayed");
});
