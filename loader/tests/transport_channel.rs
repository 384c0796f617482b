//! CardChannel's T=0 status handling (61xx, 6Cxx) checked against replayed
//! traces: the replay fails on any command the channel should not send, so
//! these tests pin the exact wire bytes.

use std::sync::{Arc, Mutex};

use loader::transport::replay::Replay;
use loader::transport::{CardChannel, Transport, TransportError};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test hex")
}

fn bytes(n: usize, seed: u8) -> String {
    (0..n)
        .map(|i| format!("{:02X}", seed.wrapping_add(i as u8)))
        .collect()
}

fn channel(trace: &str) -> CardChannel<Replay> {
    CardChannel::new(Replay::from_text("test.trace", trace).expect("valid trace"))
}

#[test]
fn get_response_after_61xx_concatenates_all_rounds() {
    let d16 = bytes(16, 0x10);
    let d5 = bytes(5, 0x40);
    let trace = format!(
        "# GET STATUS, answered in two GET RESPONSE rounds\n\
         >> 80F24002024F0000\n<< 6110\n\
         >> 00C0000010\n<< {d16}6105\n\
         >> 00C0000005\n<< {d5}9000\n"
    );
    let mut ch = channel(&trace);
    let response = ch.transmit(&h("80F24002024F0000")).unwrap();
    assert_eq!(response, h(&format!("{d16}{d5}9000")));
    ch.into_inner().finish().unwrap();
}

#[test]
fn wrong_le_6cxx_reissues_with_the_right_le() {
    let d45 = bytes(45, 0x00);
    let trace = format!(
        ">> 80CA9F7F00\n<< 6C2D\n>> 80CA9F7F2D\n<< {d45}9000\n\
         # case 1 gains an Le\n>> 00CA0066\n<< 6C03\n>> 00CA006603\n<< 0102039000\n\
         # case 4 gets its Le replaced\n>> 00A4040002A00100\n<< 6C01\n>> 00A4040002A00101\n<< 6F9000\n"
    );
    let mut ch = channel(&trace);
    assert_eq!(
        ch.transmit(&h("80CA9F7F00")).unwrap(),
        h(&format!("{d45}9000"))
    );
    assert_eq!(ch.transmit(&h("00CA0066")).unwrap(), h("0102039000"));
    assert_eq!(ch.transmit(&h("00A4040002A00100")).unwrap(), h("6F9000"));
    ch.into_inner().finish().unwrap();
}

#[test]
fn get_response_keeps_the_logical_channel() {
    let trace = "\
        # GP command on logical channel 1\n>> 81CA006600\n<< 6102\n>> 01C0000002\n<< AABB9000\n\
        # secure messaging on channel 3: GET RESPONSE is plain, same channel\n\
        >> 8FCA00E000\n<< 6101\n>> 03C0000001\n<< CC9000\n\
        # further interindustry class, channel 9\n>> C5CA00CF00\n<< 6101\n>> 45C0000001\n<< DD9000\n";
    let mut ch = channel(trace);
    assert_eq!(ch.transmit(&h("81CA006600")).unwrap(), h("AABB9000"));
    assert_eq!(ch.transmit(&h("8FCA00E000")).unwrap(), h("CC9000"));
    assert_eq!(ch.transmit(&h("C5CA00CF00")).unwrap(), h("DD9000"));
    ch.into_inner().finish().unwrap();
}

#[test]
fn wrong_le_on_get_response_is_followed_too() {
    let d8 = bytes(8, 0x80);
    let trace =
        format!(">> 00CA004200\n<< 6110\n>> 00C0000010\n<< 6C08\n>> 00C0000008\n<< {d8}9000\n");
    let mut ch = channel(&trace);
    assert_eq!(
        ch.transmit(&h("00CA004200")).unwrap(),
        h(&format!("{d8}9000"))
    );
    ch.into_inner().finish().unwrap();
}

#[test]
fn other_status_words_and_unfixable_6cxx_pass_through() {
    let trace = "\
        >> 00A4040005A0000000AA\n<< 6A82\n\
        # a second 6Cxx after the re-issue is returned, not chased\n\
        >> 00B0000000\n<< 6C10\n>> 00B0000010\n<< 6C20\n\
        # extended-length command: Le cannot be rewritten to a short one\n\
        >> 00B00000000100\n<< 6C10\n";
    let mut ch = channel(trace);
    assert_eq!(ch.transmit(&h("00A4040005A0000000AA")).unwrap(), h("6A82"));
    assert_eq!(ch.transmit(&h("00B0000000")).unwrap(), h("6C20"));
    assert_eq!(ch.transmit(&h("00B00000000100")).unwrap(), h("6C10"));
    ch.into_inner().finish().unwrap();
}

#[test]
fn observer_sees_every_raw_exchange() {
    let trace = ">> 00A4040000\n<< 6103\n>> 00C0000003\n<< 6F01009000\n";
    type Seen = Vec<(Vec<u8>, Vec<u8>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let sink = Arc::clone(&seen);
    let mut ch = channel(trace).with_observer(Box::new(move |ex| {
        assert!(ex.duration.as_secs() < 5);
        sink.lock()
            .unwrap()
            .push((ex.command.to_vec(), ex.response.to_vec()));
    }));
    assert_eq!(ch.transmit(&h("00A4040000")).unwrap(), h("6F01009000"));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (h("00A4040000"), h("6103")),
            (h("00C0000003"), h("6F01009000")),
        ]
    );
}

#[test]
fn replay_mismatch_names_line_expected_and_actual() {
    let trace = "# header\n>> 00A4040000\n<< 9000\n\n>> 80CA9F7F00\n<< 9000\n";
    let mut ch = channel(trace);
    ch.transmit(&h("00A4040000")).unwrap();
    let err = ch.transmit(&h("80CA006600")).unwrap_err();
    match &err {
        TransportError::ReplayMismatch {
            line,
            expected,
            actual,
            ..
        } => {
            assert_eq!(*line, 5);
            assert_eq!(expected, "80CA9F7F00");
            assert_eq!(actual, "80CA006600");
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("test.trace:5"), "{text}");
    // Unconsumed exchanges are reported by finish().
    let err = ch.into_inner().finish().unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::ReplayUnconsumed {
                remaining: 1,
                line: 5,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn replay_past_the_end_is_an_error() {
    let mut ch = channel(">> 00A4040000\n<< 9000\n");
    ch.transmit(&h("00A4040000")).unwrap();
    let err = ch.transmit(&h("00A4040000")).unwrap_err();
    assert!(
        matches!(err, TransportError::ReplayExhausted { .. }),
        "{err}"
    );
}

/// A card that misbehaves in ways a trace file cannot express.
struct Broken {
    answer: Vec<u8>,
}

impl Transport for Broken {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.answer.clone())
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(Vec::new())
    }
    fn atr(&self) -> Option<&[u8]> {
        None
    }
    fn describe(&self) -> String {
        "broken card".into()
    }
}

#[test]
fn malformed_card_answers_are_errors_not_panics() {
    let mut ch = CardChannel::new(Broken { answer: vec![0x90] });
    let err = ch.transmit(&h("00A4040000")).unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseTooShort { len: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("00A4040000"));

    // A card answering 61xx forever is cut off.
    let mut ch = CardChannel::new(Box::new(Broken {
        answer: vec![0xAA; 255].into_iter().chain([0x61, 0xFF]).collect(),
    }) as Box<dyn Transport>);
    let err = ch.transmit(&h("00A4040000")).unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseChainTooLong { .. }),
        "{err}"
    );

    // Commands shorter than a header are refused before reaching the card.
    let err = ch.transmit(&[0x00, 0xA4]).unwrap_err();
    assert!(matches!(err, TransportError::BadCommand { .. }), "{err}");
}

#[test]
fn host_challenge_comes_from_the_first_initialize_update() {
    let trace = "\
        >> 00A4040000\n<< 9000\n\
        >> 8050000008 1122334455667788 00\n<< 00000000000000000000FF0201000000000000000000000000009000\n\
        >> 8050000008 99999999999999990\n<< 6985\n";
    // The second INITIALIZE UPDATE line has an odd digit count: invalid.
    assert!(Replay::from_text("t", trace).is_err());
    let trace = trace.replace("99999999999999990", "9999999999999999 00");
    let replay = Replay::from_text("t", &trace).unwrap();
    assert_eq!(
        replay.host_challenge(),
        Some(*b"\x11\x22\x33\x44\x55\x66\x77\x88")
    );
    let none = Replay::from_text("t", ">> 00A4040000\n<< 9000\n").unwrap();
    assert_eq!(none.host_challenge(), None);
    // Logical channel 1 and a C-MAC class still count.
    let ch1 = Replay::from_text("t", ">> 8550000008 0102030405060708 00\n<< 9000\n").unwrap();
    assert_eq!(ch1.host_challenge(), Some([1, 2, 3, 4, 5, 6, 7, 8]));
}
