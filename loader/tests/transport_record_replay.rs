//! Recording a session and replaying it gives the same responses, and the
//! file on disk is the documented text format.

use loader::transport::record::Record;
use loader::transport::replay::Replay;
use loader::transport::{CardChannel, Transport, TransportError};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test hex")
}

/// A small deterministic card: T=0 style answers for SELECT, a 6Cxx for
/// GET DATA, a card challenge for INITIALIZE UPDATE, and a failure mode.
struct ScriptedCard {
    atr: Vec<u8>,
    pending: Vec<u8>,
}

impl ScriptedCard {
    fn new() -> ScriptedCard {
        ScriptedCard {
            atr: h("3B021450"),
            pending: Vec::new(),
        }
    }
}

impl Transport for ScriptedCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let with_sw = |data: &[u8], sw: [u8; 2]| [data, &sw].concat();
        Ok(match (apdu[0] & 0x80, apdu[1]) {
            (0x00, 0xA4) => {
                self.pending = h("6F108408A000000151000000A5049F6501FF");
                vec![0x61, self.pending.len() as u8]
            }
            (0x00, 0xC0) => with_sw(&std::mem::take(&mut self.pending), [0x90, 0x00]),
            (0x80, 0xCA) if apdu.get(4) == Some(&3) => h("0102039000"),
            (0x80, 0xCA) => h("6C03"),
            (0x80, 0x50) => with_sw(&[0x42; 28], [0x90, 0x00]),
            (0x80, 0xEE) => {
                return Err(TransportError::Timeout {
                    context: "scripted".into(),
                    timeout: std::time::Duration::from_secs(1),
                })
            }
            _ => h("6D00"),
        })
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(self.atr.clone())
    }

    fn atr(&self) -> Option<&[u8]> {
        Some(&self.atr)
    }

    fn describe(&self) -> String {
        "scripted card".into()
    }
}

const SESSION: &[&str] = &[
    "00A4040008A000000151000000",
    "80CA9F7F00",
    "8050000008112233445566778800",
    "00B0000000",
];

#[test]
fn record_then_replay_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.trace");

    let mut live = CardChannel::new(Record::create(ScriptedCard::new(), &path).unwrap());
    let live_responses: Vec<Vec<u8>> = SESSION
        .iter()
        .map(|c| live.transmit(&h(c)).unwrap())
        .collect();
    assert_eq!(
        live_responses[0],
        h("6F108408A000000151000000A5049F6501FF9000")
    );
    assert_eq!(live_responses[1], h("0102039000"));
    live.into_inner().finish().unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# jct trace: scripted card");
    assert_eq!(lines[1], "# ATR: 3B021450");
    // Raw wire exchanges, GET RESPONSE and the re-issued command included.
    assert_eq!(
        &lines[2..8],
        &[
            ">> 00A4040008A000000151000000",
            "<< 6112",
            ">> 00C0000012",
            "<< 6F108408A000000151000000A5049F6501FF9000",
            ">> 80CA9F7F00",
            "<< 6C03",
        ]
    );

    let mut replay = CardChannel::new(Replay::open(&path).unwrap());
    assert_eq!(replay.atr(), Some(&h("3B021450")[..]));
    assert_eq!(replay.reset().unwrap(), h("3B021450"));
    for (command, expected) in SESSION.iter().zip(&live_responses) {
        assert_eq!(&replay.transmit(&h(command)).unwrap(), expected);
    }
    let replay = replay.into_inner();
    assert_eq!(
        replay.host_challenge(),
        Some([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
    );
    assert_eq!(replay.exchanges().len(), 6);
    replay.finish().unwrap();
}

#[test]
fn a_failed_exchange_is_noted_and_the_trace_stays_replayable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("failed.trace");
    let mut live = Record::create(ScriptedCard::new(), &path).unwrap();
    live.comment("step: select\nsecond line").unwrap();
    live.transmit(&h("00A4040000")).unwrap();
    let err = live.transmit(&h("80EE000000")).unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }));
    live.reset().unwrap();
    // Not finished: everything must already be on disk (flushed per line).
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# step: select\n# second line\n"), "{text}");
    assert!(
        text.contains("# failed: >> 80EE000000 : scripted"),
        "{text}"
    );
    assert!(text.contains("# reset\n# ATR: 3B021450\n"), "{text}");
    drop(live);

    let mut replay = Replay::open(&path).unwrap();
    assert_eq!(replay.transmit(&h("00A4040000")).unwrap(), h("6112"));
    replay.finish().unwrap();
}

#[test]
fn trace_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.trace");
    std::fs::write(&path, ">> 00A4040000\n<< 9000\n>> 00A4 zz\n<< 9000\n").unwrap();
    let err = Replay::open(&path).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bad.trace:3"), "{text}");
    let missing = Replay::open(dir.path().join("missing.trace")).unwrap_err();
    assert!(missing.to_string().contains("missing.trace"), "{missing}");
}
