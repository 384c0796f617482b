//! Scripts run on the in-process card, using what the card manager does
//! today: SELECT of the ISD, GET DATA, GET STATUS inside a secure channel,
//! installing a corpus CAP and selecting its instance.

use std::path::{Path, PathBuf};

use cardtest::{script, EmulatedCard, Status, TestCard};

fn shared() -> PathBuf {
    std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn run(text: &str) -> cardtest::Outcome {
    let mut card = TestCard::emulated().unwrap();
    run_on(&mut card, text)
}

fn run_on(card: &mut TestCard, text: &str) -> cardtest::Outcome {
    let base = shared().join("cap-corpus");
    let parsed = script::parse("t.apdu", &base, text).unwrap_or_else(|e| panic!("{e}"));
    cardtest::run(&parsed, card, &mut |_| {})
}

fn statuses(o: &cardtest::Outcome) -> Vec<Status> {
    o.reports.iter().map(|r| r.status).collect()
}

#[test]
fn isd_select_and_get_data_pass() {
    let o = run("select A000000151000000 << 6F * 9000\n\
                 >> 80CA9F7F00 << 9F7F 2A * 9000\n\
                 >> 80CA006600 << 66 XX 73 * 9000\n\
                 >> 80CA00E000 << any");
    o.assert_passed();
    assert_eq!(o.summary.passed, 4);
    assert_eq!(o.reports[1].sw, Some(0x9000));
    assert_eq!(o.reports[1].data.as_ref().unwrap().len(), 45);
}

#[test]
fn a_mismatch_fails_its_step_marks_the_bytes_and_goes_on() {
    let o = run(">> 80CA9F7F00 << 9F7F 2B * 9000\n\
                 >> 00A4040008A000000151000099 << 9000\n\
                 >> 80CA9F7F00 << 9F7F 2A *  9000");
    assert_eq!(statuses(&o), [Status::Fail, Status::Fail, Status::Pass]);
    let r = &o.reports[0];
    assert_eq!(r.differing_bytes, [2]);
    assert!(!r.sw_differs);
    let r = &o.reports[1];
    assert!(r.sw_differs);
    assert_eq!(r.sw, Some(0x6A82));
    let text = cardtest::report::render(r, false);
    assert!(text.contains("status word 6A82 is not 9000"), "{text}");
    assert!(text.contains("^^^^"), "{text}");
    assert!(!o.summary.ok());
}

#[test]
fn captures_feed_later_commands_and_expectations() {
    // The ISD's AID is captured from its FCI and selected again with it.
    let o = run(
        ">> 00A4040008A000000151000000 << 6F XX 84 08 $isd:8 * 9000\n\
                 >> 00A40400 ($isd) 00 << 6F XX 84 08 $isd * 9000\n\
                 let cplc_tag = 9F7F\n\
                 >> 80CA $cplc_tag 00 << $cplc_tag 2A * 9000",
    );
    o.assert_passed();
    assert_eq!(
        hex::encode_upper(o.reports[1].command.as_ref().unwrap()),
        "00A4040008A00000015100000000"
    );
}

#[test]
fn a_failed_capture_skips_the_steps_that_need_it() {
    let o = run(">> 80CA9F7F00 << 9F7E $c:2 * 9000\n>> 80CA ($c) 00\n>> 80CA9F7F00");
    assert_eq!(statuses(&o), [Status::Fail, Status::Skipped, Status::Pass]);
    assert!(o.reports[1].messages[0].contains("$c has no value"));
}

#[test]
fn get_status_through_a_secure_channel() {
    let o = run("secure\n\
                 >> 80F28002024F00 << E3 * 9000\n\
                 >> 80F24002024F00 << 6A88\n\
                 select A000000151000000\n\
                 >> 80F28002024F00 << 6982");
    o.assert_passed();
    assert!(
        o.reports[0].messages[0].contains("secure channel"),
        "{:?}",
        o.reports[0]
    );
    // Every level opens, and GET STATUS works at each.
    for level in ["mac", "enc", "rmac", "renc"] {
        run(&format!("secure {level}\n>> 80F28002024F00 << E3 * 9000")).assert_passed();
    }
}

#[test]
fn installs_a_corpus_cap_and_selects_the_instance() {
    // Oracle's hello (its SELECT answers 9000; gppro's Empty throws
    // CryptoException from process() now that the emulator runs applets).
    let o = run("install ../converter-reference/oracle-3.0.5/hello.cap\n\
                 select F0000000010101 << 9000\n\
                 secure\n\
                 >> 80F24002024F00 << E3 XX 4F 07 F0000000010101 * 9000\n\
                 install ../converter-reference/oracle-3.0.5/hello.cap instance F00000000101FF applet F0000000010101");
    // The second install loads the package again: the card refuses (6985).
    assert_eq!(
        statuses(&o),
        [
            Status::Pass,
            Status::Pass,
            Status::Pass,
            Status::Pass,
            Status::Error
        ]
    );
    assert_eq!(o.reports[0].messages, ["installed F0000000010101"]);
    assert!(
        o.reports[4].messages[0].contains("6985"),
        "{:?}",
        o.reports[4]
    );
}

#[test]
fn an_error_stops_the_script() {
    let o = run("install no-such.cap\n>> 80CA9F7F00");
    assert_eq!(statuses(&o), [Status::Error, Status::Skipped]);
    assert!(o.reports[0].messages[0].contains("no-such.cap"));
    assert!(o.reports[1].messages[0].contains("error at line 1"));
}

#[test]
fn reset_and_power_cycle_end_the_secure_channel() {
    let o = run("secure\nreset\n>> 80F28002024F00 << 9000\n\
                 secure\npower-cycle\n>> 80F28002024F00 << 6982");
    // After a reset GET STATUS goes plain: the card wants a session (6982).
    assert_eq!(statuses(&o)[2], Status::Fail);
    assert_eq!(o.reports[2].sw, Some(0x6982));
    assert_eq!(statuses(&o)[5], Status::Pass);
    assert!(o.reports[1].messages[0].starts_with("ATR 3B"));
}

#[test]
fn seeded_cards_answer_the_same() {
    let cplc = |seed| {
        let mut card = EmulatedCard::new().seed(seed).build().unwrap();
        card.send_hex("80CA9F7F00").unwrap()
    };
    assert_eq!(cplc(1), cplc(1));
    assert_ne!(cplc(1), cplc(2));
}

#[test]
fn counted_data_too_long_at_run_time_is_an_error() {
    let long = "00".repeat(200);
    let o = run(&format!(
        "let a = {long}\nlet b = {long}\n>> 80CA0000 ($a $b)"
    ));
    assert_eq!(o.reports[2].status, Status::Error);
    assert!(o.reports[2].messages[0].contains("400 bytes"));
}

/// A T=0-style card: every command but GET RESPONSE answers 6105, and
/// GET RESPONSE with Le 05 answers "Hello" 9000.
struct T0Card;

impl loader::transport::Transport for T0Card {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, loader::transport::TransportError> {
        Ok(match apdu {
            [_, 0xC0, 0, 0, 5] => b"Hello\x90\x00".to_vec(),
            _ => vec![0x61, 0x05],
        })
    }
    fn reset(&mut self) -> Result<Vec<u8>, loader::transport::TransportError> {
        Ok(vec![0x3B, 0x00])
    }
    fn atr(&self) -> Option<&[u8]> {
        None
    }
    fn describe(&self) -> String {
        "T=0 test card".into()
    }
}

#[test]
fn get_response_off_shows_the_first_answer() {
    let keys = scp::keys::SoftwareKeys::from_bytes(&[0x40; 16], &[0x40; 16], &[0x40; 16], 0);
    let mut card = TestCard::over(Box::new(T0Card), loader::client::ChannelOptions::new(keys));
    let o = run_on(
        &mut card,
        ">> 8001000000 << 48656C6C6F 9000\n\
         get-response off\n\
         >> 8001000000 << 61XX\n\
         >> 00C0000005 << 48656C6C6F 9000\n\
         get-response on\n\
         >> 8001000000 << 6105",
    );
    assert_eq!(
        statuses(&o),
        [
            Status::Pass,
            Status::Pass,
            Status::Pass,
            Status::Pass,
            Status::Pass,
            Status::Fail
        ]
    );
    assert_eq!(o.reports[2].sw, Some(0x6105));
    assert_eq!(o.reports[5].data.as_deref(), Some(&b"Hello"[..]));
}
