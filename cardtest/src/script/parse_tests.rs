//! The parser: every statement, every pattern element, every error with
//! its line and column.

use super::*;

fn ok(text: &str) -> Script {
    match parse("t.apdu", Path::new("/base"), text) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// The error for `text`, as "line:column: message".
fn err(text: &str) -> String {
    match parse("t.apdu", Path::new("/base"), text) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => {
            assert_eq!(e.file, "t.apdu");
            format!("{}:{}: {}", e.line, e.column, e.message)
        }
    }
}

fn bytes(b: &[u8]) -> Part {
    Part::Bytes(b.to_vec())
}

fn byte(v: u8) -> Elem {
    Elem::Byte {
        value: v,
        mask: 0xFF,
    }
}

fn sw(v: u16) -> SwPattern {
    SwPattern {
        value: v,
        mask: 0xFFFF,
    }
}

fn only(text: &str) -> Step {
    let s = ok(text);
    assert_eq!(s.steps.len(), 1, "{s:?}");
    s.steps.into_iter().next().unwrap()
}

#[test]
fn comments_and_blank_lines_are_skipped() {
    let s = ok("# a comment\n\n   \n>> 00A4040000   # trailing comment\n  # indented comment\n");
    assert_eq!(s.steps.len(), 1);
    assert_eq!(s.steps[0].line, 4);
    assert_eq!(s.steps[0].text, ">> 00A4040000");
    assert_eq!(
        s.steps[0].action,
        Action::Send(vec![bytes(&[0, 0xA4, 4, 0, 0])])
    );
    assert_eq!(s.steps[0].expect, None);
    assert_eq!(s.name, "t.apdu");
}

#[test]
fn command_hex_may_be_spaced_and_any_case() {
    let s = only(">> 80 ca 9F7F 00");
    assert_eq!(
        s.action,
        Action::Send(vec![bytes(&[0x80, 0xCA, 0x9F, 0x7F, 0])])
    );
}

#[test]
fn expectation_on_the_same_line_or_the_next() {
    let a = only(">> 8001000000 << 48656C6C6F 9000");
    let b = only(">> 8001000000\n<< 48 65 6C 6C 6F 9000");
    let expected = Expectation::Match {
        data: b"Hello".iter().map(|b| byte(*b)).collect(),
        sw: vec![sw(0x9000)],
    };
    assert_eq!(a.expect.as_ref(), Some(&expected));
    assert_eq!(b.expect.as_ref(), Some(&expected));
    assert_eq!(b.line, 1);
    assert_eq!(b.text, ">> 8001000000 << 48 65 6C 6C 6F 9000");
}

#[test]
fn a_trace_line_with_the_sw_glued_to_the_data_is_an_expectation() {
    let s = only(">> 00A4040000\n<< 6F009000");
    assert_eq!(
        s.expect,
        Some(Expectation::Match {
            data: vec![byte(0x6F), byte(0)],
            sw: vec![sw(0x9000)]
        })
    );
}

#[test]
fn status_word_patterns_and_alternatives() {
    let s = only(">> 00C0000000 << 61XX|6a8x | 9000");
    assert_eq!(
        s.expect,
        Some(Expectation::Match {
            data: vec![],
            sw: vec![
                SwPattern {
                    value: 0x6100,
                    mask: 0xFF00
                },
                SwPattern {
                    value: 0x6A80,
                    mask: 0xFFF0
                },
                sw(0x9000)
            ]
        })
    );
}

#[test]
fn data_wildcards_star_and_any() {
    let s = only(">> 00A4040000 << 6F X5 * 9000");
    assert_eq!(
        s.expect,
        Some(Expectation::Match {
            data: vec![
                byte(0x6F),
                Elem::Byte {
                    value: 0x05,
                    mask: 0x0F
                },
                Elem::Star
            ],
            sw: vec![sw(0x9000)]
        })
    );
    assert_eq!(only(">> 00A4040000 << any").expect, Some(Expectation::Any));
    assert_eq!(only(">> 00A4040000 << ANY").expect, Some(Expectation::Any));
}

#[test]
fn captures_then_uses_in_commands_and_expectations() {
    let s = ok(">> 80CA9F7F00 << 9F7F 2A $cplc:42 9000\n\
                >> 80500000 ($cplc) 00 << $rest:* 9000\n\
                >> 80CA9F7F00 << 9F7F 2A $cplc 9000");
    assert_eq!(
        s.steps[0].expect,
        Some(Expectation::Match {
            data: vec![
                byte(0x9F),
                byte(0x7F),
                byte(0x2A),
                Elem::Capture {
                    name: "cplc".into(),
                    len: Some(42)
                }
            ],
            sw: vec![sw(0x9000)]
        })
    );
    assert_eq!(
        s.steps[1].action,
        Action::Send(vec![
            bytes(&[0x80, 0x50, 0, 0]),
            Part::Counted(vec![Part::Var("cplc".into())]),
            bytes(&[0])
        ])
    );
    assert_eq!(
        s.steps[1].expect,
        Some(Expectation::Match {
            data: vec![Elem::Capture {
                name: "rest".into(),
                len: None
            }],
            sw: vec![sw(0x9000)]
        })
    );
    assert_eq!(
        s.steps[2].expect,
        Some(Expectation::Match {
            data: vec![byte(0x9F), byte(0x7F), byte(0x2A), Elem::Var("cplc".into())],
            sw: vec![sw(0x9000)]
        })
    );
}

#[test]
fn counted_data_gets_its_length() {
    let s = only(">> 80120000 (00 05) 02");
    assert_eq!(
        s.action,
        Action::Send(vec![
            bytes(&[0x80, 0x12, 0, 0]),
            Part::Counted(vec![bytes(&[0, 5])]),
            bytes(&[2])
        ])
    );
}

#[test]
fn let_sets_a_variable() {
    let s = ok("let pin = 31 32 33 34\n>> 00200000 ($pin)");
    assert_eq!(
        s.steps[0].action,
        Action::Let {
            name: "pin".into(),
            value: vec![0x31, 0x32, 0x33, 0x34]
        }
    );
    let s = ok("let $empty =\n>> 80000000 ($empty)");
    assert_eq!(
        s.steps[0].action,
        Action::Let {
            name: "empty".into(),
            value: vec![]
        }
    );
}

#[test]
fn select_with_and_without_expectation() {
    let s = only("select A000000151000000");
    assert_eq!(s.action, Action::Select(vec![0xA0, 0, 0, 1, 0x51, 0, 0, 0]));
    assert_eq!(s.expect, None);
    let s = only("select F0 00 00 00 01 A1 01 << 9000");
    assert_eq!(s.action, Action::Select(vec![0xF0, 0, 0, 0, 1, 0xA1, 1]));
    assert_eq!(
        s.expect,
        Some(Expectation::Match {
            data: vec![],
            sw: vec![sw(0x9000)]
        })
    );
    let s = ok("select F000000001A101\n<< 6A82");
    assert_eq!(
        s.steps[0].expect,
        Some(Expectation::Match {
            data: vec![],
            sw: vec![sw(0x6A82)]
        })
    );
}

#[test]
fn install_with_every_option() {
    let s = only(
        "install build/hello.cap applet F000000001A101 instance F000000001A199 params 0102 privs CardReset",
    );
    let Action::Install(i) = s.action else {
        panic!()
    };
    assert_eq!(i.cap, Path::new("/base/build/hello.cap"));
    assert_eq!(i.applet, Some(hex::decode("F000000001A101").unwrap()));
    assert_eq!(i.instance, Some(hex::decode("F000000001A199").unwrap()));
    assert_eq!(i.params, [1, 2]);
    assert!(i.privileges.has("CardReset"));
    let s = only("install \"/abs/my caps/x#1.cap\"");
    let Action::Install(i) = s.action else {
        panic!()
    };
    assert_eq!(i.cap, Path::new("/abs/my caps/x#1.cap"));
    assert_eq!(i.applet, None);
    assert!(i.params.is_empty());
}

#[test]
fn secure_reset_power_cycle_get_response() {
    let s = ok("secure\nsecure enc\nsecure mac\nsecure rmac\nsecure renc\nreset\npower-cycle\nget-response off\nget-response on");
    let actions: Vec<Action> = s.steps.into_iter().map(|s| s.action).collect();
    assert_eq!(
        actions,
        [
            Action::Secure(None),
            Action::Secure(Some(SecurityLevel::C_MAC_C_ENC)),
            Action::Secure(Some(SecurityLevel::C_MAC)),
            Action::Secure(Some(SecurityLevel::C_MAC_C_ENC_R_MAC)),
            Action::Secure(Some(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC)),
            Action::Reset,
            Action::PowerCycle,
            Action::GetResponse(false),
            Action::GetResponse(true),
        ]
    );
}

#[test]
fn statement_errors_name_line_and_column() {
    assert_eq!(err("\n  frobnicate 01"), "2:3: unknown statement 'frobnicate': expected >>, <<, select, install, secure, reset, power-cycle, let or get-response");
    assert_eq!(err("reset now"), "1:7: reset takes no arguments");
    assert_eq!(err("power-cycle 1"), "1:13: power-cycle takes no arguments");
    assert_eq!(err("secure fast"), "1:8: unknown security level 'fast': use mac, enc, rmac or renc (or nothing for the default)");
    assert_eq!(err("secure mac mac"), "1:12: secure takes no arguments");
    assert_eq!(
        err("get-response"),
        "1:13: get-response takes 'on' or 'off'"
    );
    assert_eq!(
        err("get-response maybe"),
        "1:14: get-response takes 'on' or 'off'"
    );
    assert_eq!(err("let"), "1:4: let NAME = HEX: the name is missing");
    assert_eq!(err("let x"), "1:6: let NAME = HEX: '=' is missing");
    assert_eq!(err("let x 01"), "1:7: let NAME = HEX: '=' is missing");
    assert_eq!(
        err("let 9x = 01"),
        "1:5: '9x' is not a variable name: a letter or _, then letters, digits or _"
    );
    assert_eq!(err("let x = 0G"), "1:10: let: 'G' is not a hex digit");
    assert_eq!(err("let x = 012"), "1:9: let: odd number of hex digits (3)");
    let long = format!("let {} = 00", "a".repeat(33));
    assert_eq!(err(&long), "1:5: variable names have at most 32 characters");
}

#[test]
fn select_and_install_errors() {
    assert_eq!(
        err("select A0000001"),
        "1:8: select: an AID has 5 to 16 bytes, this one has 4"
    );
    assert_eq!(
        err("select"),
        "1:7: select: an AID has 5 to 16 bytes, this one has 0"
    );
    assert_eq!(
        err("select A00000015Z"),
        "1:17: select: 'Z' is not a hex digit"
    );
    assert_eq!(err("install"), "1:8: install needs a CAP file: install PATH [applet AID] [instance AID] [params HEX] [privs LIST]");
    assert_eq!(
        err("install x.cap applet"),
        "1:21: install: applet needs a value"
    );
    assert_eq!(
        err("install x.cap colour red"),
        "1:15: install: unknown option 'colour': use applet, instance, params or privs"
    );
    assert_eq!(
        err("install x.cap params 01 params 02"),
        "1:25: install: params given twice"
    );
    assert_eq!(
        err("install x.cap instance 0102"),
        "1:24: instance: an AID has 5 to 16 bytes, this one has 2"
    );
    assert!(err("install x.cap privs Flying").starts_with("1:21: install: privs: "));
    assert_eq!(err("install \"x.cap"), "1:9: unclosed quote");
}

#[test]
fn command_errors() {
    assert_eq!(
        err(">> 00A404"),
        "1:3: a command needs at least CLA INS P1 P2 (4 bytes), this one has 3"
    );
    assert_eq!(
        err(">> 00A40400 0"),
        "1:4: odd number of hex digits (9): bytes are two digits each"
    );
    assert_eq!(
        err(">> 00A4040G"),
        "1:11: unexpected 'G' in a command: write hex bytes, $name or ( ... )"
    );
    assert_eq!(err(">> 00A40400 $nope"), "1:13: unknown variable $nope: capture it in an earlier response ($nope:N or $nope:*) or set it with let");
    assert_eq!(
        err(">> 00A40400 (01 (02))"),
        "1:17: ( inside ( ... ): counted data does not nest"
    );
    assert_eq!(err(">> 00A40400 01)"), "1:15: ) without (");
    assert_eq!(err(">> 00A40400 (01"), "1:13: ( without )");
    let big = format!(">> 00A40400 ({})", "00".repeat(256));
    assert_eq!(
        err(&big),
        "1:13: ( ... ) holds 256 bytes; a one-byte Lc counts at most 255"
    );
    // A variable captured by a step's own response is not known to its command.
    assert!(err(">> 00A40400 ($x) << $x:2 9000").starts_with("1:14: unknown variable $x"));
}

#[test]
fn expectation_errors() {
    assert_eq!(
        err(">> 00A4040000 <<"),
        "1:17: an expectation is missing: e.g. << 9000, << * 9000, << 6F XX * 61XX, << any"
    );
    assert_eq!(err(">> 00A4040000 << 900"), "1:20: the expectation must end with a status word: 4 hex digits or X (9000, 61XX, 6A8X), alternatives separated by |");
    assert_eq!(err(">> 00A4040000 << * 9000 *"), "1:25: the expectation must end with a status word: 4 hex digits or X (9000, 61XX, 6A8X), alternatives separated by |");
    assert_eq!(
        err(">> 00A4040000 << 6F0 9000"),
        "1:18: odd number of hex digits (3): bytes are two digits each"
    );
    assert_eq!(
        err(">> 00A4040000 << 01 | 02 9000"),
        "1:21: | separates status word alternatives, at the end only"
    );
    assert_eq!(
        err(">> 00A4040000 << * 01 * 9000"),
        "1:23: a pattern holds at most one * or $name:* (so that it matches one way only)"
    );
    assert_eq!(
        err(">> 00A4040000 << * $a:* 9000"),
        "1:20: a pattern holds at most one * or $name:* (so that it matches one way only)"
    );
    assert_eq!(
        err(">> 00A4040000 << $a:0 9000"),
        "1:21: $a:0: a capture takes 1 to 65536 bytes"
    );
    assert_eq!(
        err(">> 00A4040000 << $a: 9000"),
        "1:21: $a: give a length ($a:4) or * ($a:*)"
    );
    assert_eq!(
        err(">> 00A4040000 << $a:2 $a:2 9000"),
        "1:23: $a is captured twice in one response"
    );
    assert_eq!(err(">> 00A4040000 << $b 9000"), "1:18: unknown variable $b: capture it in an earlier response ($b:N or $b:*) or set it with let");
    assert_eq!(err(">> 00A4040000 << $a:2 $a 9000"), "1:23: unknown variable $a: capture it in an earlier response ($a:N or $a:*) or set it with let");
    assert_eq!(
        err(">> 00A4040000 << 9000 << 9000"),
        "1:23: one << per step: a response does not hold << or >>"
    );
    assert_eq!(err(">> 00A4040000 << 90G0"), "1:20: unexpected 'G' in an expectation: write hex bytes, X for any nibble, * for any bytes, $name:N to capture, $name to compare, then the status word");
    assert_eq!(
        err(">> 00A4040000 << $ 9000"),
        "1:19: '' is not a variable name: a letter or _, then letters, digits or _"
    );
}

#[test]
fn misplaced_expectations() {
    assert_eq!(
        err("<< 9000"),
        "1:1: << without a command before it: write >> APDU or select AID first"
    );
    assert_eq!(
        err("reset\n<< 9000"),
        "2:1: << without a command before it: write >> APDU or select AID first"
    );
    assert_eq!(
        err(">> 00A4040000 << 9000\n  << 9000"),
        "2:3: this step has an expectation already"
    );
    assert_eq!(
        err(">> 00A4040000\n<< 9000\n<< 9000"),
        "3:1: this step has an expectation already"
    );
    assert_eq!(
        err(">> 00A4040000\nreset\n<< 9000"),
        "3:1: << without a command before it: write >> APDU or select AID first"
    );
}

#[test]
fn bounds() {
    let line = format!(">> {}", "00".repeat(MAX_LINE_BYTES));
    assert_eq!(
        err(&line),
        format!("1:1: line longer than {MAX_LINE_BYTES} bytes")
    );
    let many = "reset\n".repeat(MAX_STEPS + 1);
    assert_eq!(
        err(&many),
        format!(
            "{}:1: more than {MAX_STEPS} steps in one script",
            MAX_STEPS + 1
        )
    );
    let vars: String = (0..=MAX_VARIABLES)
        .map(|i| format!("let v{i} = 00\n"))
        .collect();
    assert_eq!(
        err(&vars),
        format!(
            "{}:1: more than {MAX_VARIABLES} variables",
            MAX_VARIABLES + 1
        )
    );
    let huge = "#".repeat(MAX_SCRIPT_BYTES + 1);
    assert_eq!(
        err(&huge),
        format!("0:0: the script is larger than {MAX_SCRIPT_BYTES} bytes")
    );
}

#[test]
fn files_too_large_or_not_utf8_or_missing() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.apdu");
    std::fs::write(&big, vec![b'#'; MAX_SCRIPT_BYTES + 1]).unwrap();
    let e = parse_file(&big).unwrap_err();
    assert!(
        e.to_string().ends_with(&format!(
            ":0:0: the script is larger than {MAX_SCRIPT_BYTES} bytes"
        )),
        "{e}"
    );
    let bad = dir.path().join("bad.apdu");
    std::fs::write(&bad, b"reset\n>> 00\xFF").unwrap();
    let e = parse_file(&bad).unwrap_err();
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (2, 6, "the script is not UTF-8 text")
    );
    let e = parse_file(&dir.path().join("missing.apdu")).unwrap_err();
    assert!(e.message.starts_with("cannot read the script: "), "{e}");
    // Relative CAP paths are resolved against the script's directory.
    let good = dir.path().join("good.apdu");
    std::fs::write(&good, "install caps/a.cap\n").unwrap();
    let s = parse_file(&good).unwrap();
    let Action::Install(i) = &s.steps[0].action else {
        panic!()
    };
    assert_eq!(i.cap, dir.path().join("caps/a.cap"));
    assert_eq!(s.name, good.display().to_string());
}

#[test]
fn expectation_display_is_canonical() {
    let s = only(">> 00A4040000 << 6fX1 $a:2 * 61xx|9000");
    assert_eq!(s.expect.unwrap().to_string(), "6F X1 $a:2 * 61XX|9000");
}
