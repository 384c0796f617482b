//! Applets built from Java source by javac and `jct build` run in the
//! emulator's virtual machine, installed through the real card manager:
//! applets/hello and applets/counter answer as applets/README.md says (the
//! counter's balance survives a restart of the emulator with its state
//! file), the converter-reference packages answer the same scripts as
//! Oracle's CAP files do (emulator/tests/jcvm_reference.rs), and a test
//! applet checks the interpreter's exceptions, budgets, transactions and
//! transient arrays.
//!
//! Not run: converter-reference crypto, which needs javacard.security and
//! javacardx.crypto (not in the emulator yet).

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::scripts::{self, card_with, install_all, run};
use emulator::{Card, CardProfile};
use support::java::{build, compile, java_files};

fn reference_sources(package: &str) -> Vec<PathBuf> {
    java_files(
        &support::shared()
            .join("converter-reference/src/com/example")
            .join(package),
    )
}

#[test]
fn reference_packages_built_by_jct_run_their_scripts() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let hello = compile(w, "hello", &reference_sources("hello"), None);
    let hello = build(
        w,
        &hello,
        "com.example.hello",
        "F00000000101",
        Some("F0000000010101=HelloApplet"),
        &[],
    );
    let mut card = card_with(&[(&hello, Some("F0000000010101"))], "3.0.5");
    run(&mut card, scripts::HELLO);

    let arith = compile(w, "arith", &reference_sources("arith"), None);
    let arith = build(
        w,
        &arith,
        "com.example.arith",
        "F00000000102",
        Some("F0000000010201=ArithApplet"),
        &[],
    );
    let mut card = card_with(&[], "3.0.5");
    install_all(&mut card, &[(&arith, Some("F0000000010201"))], &[0xAB]);
    run(&mut card, scripts::ARITH);

    let ints = compile(w, "ints", &reference_sources("ints"), None);
    let ints = build(
        w,
        &ints,
        "com.example.ints",
        "F00000000105",
        Some("F0000000010501=IntApplet"),
        &["--int"],
    );
    let mut card = card_with(&[(&ints, Some("F0000000010501"))], "3.0.5");
    run(&mut card, scripts::INTS);

    let lib_classes = compile(w, "lib", &reference_sources("lib"), None);
    let lib = build(
        w,
        &lib_classes,
        "com.example.lib",
        "F0000000014C",
        None,
        &[],
    );
    let oop = compile(w, "oop", &reference_sources("oop"), Some(&lib_classes));
    let exp = w.join("com.example.lib.exp");
    let oop = build(
        w,
        &oop,
        "com.example.oop",
        "F00000000103",
        Some("F0000000010301=OopApplet"),
        &["--exportpath", exp.to_str().unwrap()],
    );
    let mut card = card_with(&[(&lib, None), (&oop, Some("F0000000010301"))], "3.0.5");
    run(&mut card, scripts::OOP);
}

fn applet_cap(w: &Path, dir: &str, package: &str, aid: &str, applet: &str) -> PathBuf {
    let classes = compile(
        w,
        dir,
        &java_files(&Path::new("applets").join(dir).join("src")),
        None,
    );
    build(w, &classes, package, aid, Some(applet), &[])
}

#[test]
fn hello_and_counter_answer_as_documented_and_the_balance_survives_a_restart() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let hello = applet_cap(
        w,
        "hello",
        "com.jct.hello",
        "F000000001A1",
        "F000000001A101=HelloApplet",
    );
    let mut card = card_with(&[(&hello, Some("F000000001A101"))], "3.0.5");
    run(
        &mut card,
        &[
            ("00A4040007F000000001A101", "9000"),
            ("8001000000", "48656C6C6F9000"),
            ("0001000000", "6E00"),
            ("8002000000", "6D00"),
        ],
    );

    let counter = applet_cap(
        w,
        "counter",
        "com.jct.counter",
        "F000000001A2",
        "F000000001A201=CounterApplet",
    );
    let state = w.join("card.json");
    let keys = common::aes_keys(1);
    let mut card = Card::open(&state, CardProfile::default(), keys.clone()).unwrap();
    card.power_on();
    install_all(&mut card, &[(&counter, Some("F000000001A201"))], &[]);
    run(
        &mut card,
        &[
            ("00A4040007F000000001A201", "9000"),
            ("8010000002", "00009000"),
            ("80120000020100", "01009000"),
            ("8012000002002A", "012A9000"),
            ("8014000002000A", "01209000"),
            // More than the balance: refused, unchanged.
            ("80140000020121", "6985"),
            // Past 32767: refused.
            ("80120000027F00", "6A84"),
            // Negative amount, wrong body length.
            ("8012000002FFFF", "6A80"),
            ("801200000101", "6700"),
            ("8010000002", "01209000"),
            ("0010000002", "6E00"),
            ("8016000000", "6D00"),
        ],
    );
    drop(card);
    // A new emulator process would open the same state file.
    let mut card = Card::open(&state, CardProfile::default(), keys).unwrap();
    card.power_on();
    run(
        &mut card,
        &[
            ("00A4040007F000000001A201", "9000"),
            ("8010000002", "01209000"),
            ("80120000027EDF", "7FFF9000"),
            ("80120000020001", "6A84"),
        ],
    );
}

/// The VM test applet (tests/jcvm/vmtest) on a card with small limits.
fn vmtest_card(w: &Path) -> Card {
    let classes = compile(
        w,
        "vmtest",
        &java_files(Path::new("tests/jcvm/vmtest/src")),
        None,
    );
    let cap = build(
        w,
        &classes,
        "com.jct.vmtest",
        "F000000001B1",
        Some("F000000001B101=VmTestApplet"),
        &[],
    );
    let profile = CardProfile {
        instruction_budget: 100_000,
        commit_capacity: 512,
        transient_memory: 1024,
        heap_memory: 8192,
        ..CardProfile::default()
    };
    let mut card = Card::new(profile, common::aes_keys(1)).unwrap();
    card.power_on();
    install_all(&mut card, &[(&cap, Some("F000000001B101"))], &[]);
    card
}

const SELECT_VMTEST: &str = "00A4040007F000000001B101";

#[test]
fn interpreter_exceptions_budgets_transactions_and_transients() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = vmtest_card(work.path());
    run(
        &mut card,
        &[
            (SELECT_VMTEST, "9000"),
            // Runtime exceptions the applet catches.
            ("8001000000", "00019000"),
            ("8002000000", "00029000"),
            ("8003000000", "00039000"),
            ("8003050000", "00149000"),
            ("8004000000", "00049000"),
            ("8005000000", "00059000"),
            ("8005030000", "00029000"),
            // Uncaught: a NullPointerException is 6F00, an ISOException its reason.
            ("8006000000", "6F00"),
            ("80076A8200", "6A82"),
            // SystemException.ILLEGAL_VALUE caught.
            ("8008000000", "00019000"),
            // Frame depth: SystemException.NO_RESOURCE, caught.
            ("800A000000", "0A059000"),
            // Transactions: commit, abort, nested begin, overflow, an
            // open transaction aborted at the end of process().
            ("8010123400", "12349000"),
            ("8017000000", "00129000"),
            ("8011567800", "12349000"),
            ("8017000000", "00129000"),
            ("8012000000", "00019000"),
            ("8013770000", "03009000"),
            ("8014ABCD00", "00019000"),
            ("8015000000", "12349000"),
            ("8016000000", "00029000"),
            // Non-atomic writes survive an abort.
            ("8018990000", "00999000"),
            ("8032000000", "02009000"),
            // Transient arrays.
            ("8022000000", "01029000"),
            ("8020111200", "00009000"),
            ("8021000000", "11129000"),
            // Memory: an array beyond the heap is NO_RESOURCE.
            ("8030700000", "00059000"),
            ("8030001000", "00109000"),
        ],
    );
    // Object deletion: garbage stays without a request, goes with one,
    // and everything reachable stays.
    let word = |card: &mut Card, cmd: &str| {
        let r = card.transmit(&common::hex(cmd));
        assert_eq!(r.len(), 4, "{cmd}: {r:02X?} {:?}", card.last_note());
        u16::from_be_bytes([r[0], r[1]])
    };
    let before = word(&mut card, "8040000000");
    let after_garbage = word(&mut card, "8041000000");
    assert_eq!(
        before - after_garbage,
        208,
        "200 bytes and the object header"
    );
    // The first deletion also frees the garbage of earlier commands (the
    // arrays of INS 05 and 30: 10 and 24 bytes).
    let before = word(&mut card, "8040010000");
    let after_deletion = word(&mut card, "8041000000");
    assert_eq!(
        after_deletion - before,
        208 + 34,
        "the earlier garbage is gone too"
    );
    let before = word(&mut card, "8040010000");
    assert_eq!(
        word(&mut card, "8041000000"),
        before,
        "nothing left to free"
    );
    run(
        &mut card,
        &[("8015000000", "12349000"), ("8017000000", "00999000")],
    );
    // OwnerPIN: tries, validation, reset, blocking, unblocking.
    run(
        &mut card,
        &[
            ("805000000401020304", "01039000"),
            ("80500000020102", "00029000"),
            ("8051000000", "00029000"),
            ("805000000401020304", "01039000"),
            ("8051000000", "01039000"),
            ("8053000000", "00009000"),
            ("8051000000", "00039000"),
            ("8050000004010203FF", "00029000"),
            ("8050000004010203FF", "00019000"),
            ("8050000004010203FF", "00009000"),
            ("805000000401020304", "00009000"),
            ("8052000000", "00039000"),
            ("805000000401020304", "01039000"),
            // AID: getAID, partialEquals, lookupAID, equals, RIDEquals.
            ("8054000000", "F000000001B1019000"),
            ("8055000007F000000001B101", "00139000"),
            ("8055000005F000000001", "00109000"),
            ("8055000005A000000001", "00009000"),
            // Util.arrayCompare (signed bytes).
            ("8056000003010203", "00009000"),
            ("8056000003010204", "00019000"),
            ("8056000003010202", "FFFF9000"),
        ],
    );
    // Reselecting clears CLEAR_ON_DESELECT, a reset clears both.
    run(
        &mut card,
        &[(SELECT_VMTEST, "9000"), ("8021000000", "11009000")],
    );
    run(&mut card, &[("8020111200", "00009000")]);
    card.reset();
    run(
        &mut card,
        &[(SELECT_VMTEST, "9000"), ("8021000000", "00009000")],
    );
    // The instruction budget: the card goes mute, then answers after a reset.
    assert_eq!(card.transmit(&common::hex("8009000000")), Vec::<u8>::new());
    assert!(
        card.last_note().unwrap_or("").contains("budget"),
        "{:?}",
        card.last_note()
    );
    assert!(!card.is_powered());
    card.power_on();
    run(
        &mut card,
        &[(SELECT_VMTEST, "9000"), ("8015000000", "12349000")],
    );
}

/// install() that never calls register() fails with 6A80 and leaves nothing.
#[test]
fn install_without_register_fails_and_leaves_nothing() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dir = w.join("src/com/jct/noreg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("NoRegister.java"),
        "package com.jct.noreg;\nimport javacard.framework.*;\n\
         public class NoRegister extends Applet {\n\
           public static void install(byte[] b, short o, byte l) { new NoRegister(); }\n\
           public void process(APDU apdu) {}\n}\n",
    )
    .unwrap();
    let classes = compile(w, "noreg", &[dir.join("NoRegister.java")], None);
    let cap = build(
        w,
        &classes,
        "com.jct.noreg",
        "F000000001B2",
        Some("F000000001B201=NoRegister"),
        &[],
    );
    let mut card = card_with(&[], "3.0.5");
    let mut sc = common::open(&mut card, scp::SecurityLevel::C_MAC);
    assert_eq!(common::load_cap(&mut card, &mut sc, &cap), 0x9000);
    let before = card.state().clone();
    let a = common::hex("F000000001B201");
    let r = common::send(
        &mut card,
        &mut sc,
        &common::install_for_install_with(&a[..6], &a, &a, &[]),
    );
    assert_eq!(r.sw, 0x6A80);
    assert!(
        card.last_note().unwrap_or("").contains("register"),
        "{:?}",
        card.last_note()
    );
    assert_eq!(card.state().instances, before.instances);
    assert_eq!(card.state().heap.objects, before.heap.objects);
    assert_eq!(common::select(&mut card, &a).sw, 0x6A82);
}

/// A client applet gets oop's Shareable interface object through
/// JCSystem.getAppletShareableInterfaceObject (which calls oop's
/// getShareableInterfaceObject) and calls it across packages.
#[test]
fn shareable_interface_objects_reach_another_applet() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let lib_classes = compile(w, "lib", &reference_sources("lib"), None);
    let lib = build(
        w,
        &lib_classes,
        "com.example.lib",
        "F0000000014C",
        None,
        &[],
    );
    let lib_exp = w.join("com.example.lib.exp");
    let oop_classes = compile(w, "oop", &reference_sources("oop"), Some(&lib_classes));
    let oop = build(
        w,
        &oop_classes,
        "com.example.oop",
        "F00000000103",
        Some("F0000000010301=OopApplet"),
        &["--exportpath", lib_exp.to_str().unwrap()],
    );
    let oop_exp = w.join("com.example.oop.exp");
    let dir = w.join("src/com/jct/client");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Client.java"),
        "package com.jct.client;\n\
         import javacard.framework.*;\n\
         import com.example.oop.MyService;\n\
         public class Client extends Applet {\n\
           private static final byte[] SERVER = {(byte) 0xF0, 0, 0, 0, 1, 3, 1};\n\
           public static void install(byte[] b, short o, byte l) { new Client().register(); }\n\
           public void process(APDU apdu) {\n\
             if (selectingApplet()) return;\n\
             byte[] buf = apdu.getBuffer();\n\
             AID server = JCSystem.lookupAID(SERVER, (short) 0, (byte) SERVER.length);\n\
             if (server == null) ISOException.throwIt((short) 0x6A88);\n\
             MyService s = (MyService) JCSystem.getAppletShareableInterfaceObject(server, (byte) 0);\n\
             Util.setShort(buf, (short) 0, s.serve(Util.getShort(buf, ISO7816.OFFSET_P1)));\n\
             apdu.setOutgoingAndSend((short) 0, (short) 2);\n\
           }\n\
         }\n",
    )
    .unwrap();
    let cp = format!("{}:{}", oop_classes.display(), lib_classes.display());
    let classes = compile(
        w,
        "client",
        &[dir.join("Client.java")],
        Some(Path::new(&cp)),
    );
    let client = build(
        w,
        &classes,
        "com.jct.client",
        "F000000001B3",
        Some("F000000001B301=Client"),
        &[
            "--exportpath",
            oop_exp.to_str().unwrap(),
            "--exportpath",
            lib_exp.to_str().unwrap(),
        ],
    );
    let mut card = card_with(
        &[
            (&lib, None),
            (&oop, Some("F0000000010301")),
            (&client, Some("F000000001B301")),
        ],
        "3.0.5",
    );
    run(
        &mut card,
        &[
            ("00A4040007F000000001B301", "9000"),
            ("8000012C00", "012C9000"),
            ("80007FFF00", "03E89000"),
            ("8000800000", "00009000"),
        ],
    );
}

/// SELECT runs deselect() of the applet selected before and select() of
/// the new one: select() answering false is 6999 and selects nothing.
#[test]
fn select_and_deselect_are_called_and_a_refusal_is_6999() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dir = w.join("src/com/jct/picky");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Picky.java"),
        "package com.jct.picky;\n\
         import javacard.framework.*;\n\
         public class Picky extends Applet {\n\
           private short selects;\n\
           private short deselects;\n\
           public static void install(byte[] b, short o, byte l) { new Picky().register(); }\n\
           public boolean select() { return selects++ > 0; }\n\
           public void deselect() { deselects++; }\n\
           public void process(APDU apdu) {\n\
             if (selectingApplet()) return;\n\
             byte[] buf = apdu.getBuffer();\n\
             Util.setShort(buf, (short) 0, deselects);\n\
             apdu.setOutgoingAndSend((short) 0, (short) 2);\n\
           }\n\
         }\n",
    )
    .unwrap();
    let classes = compile(w, "picky", &[dir.join("Picky.java")], None);
    let cap = build(
        w,
        &classes,
        "com.jct.picky",
        "F000000001B4",
        Some("F000000001B401=Picky"),
        &[],
    );
    let mut card = card_with(&[(&cap, Some("F000000001B401"))], "3.0.5");
    run(
        &mut card,
        &[
            ("00A4040007F000000001B401", "6999"),
            ("8001000000", "6A82"),
            ("00A4040007F000000001B401", "9000"),
            ("8001000000", "00009000"),
            ("00A4040007F000000001B401", "9000"),
            ("8001000000", "00019000"),
        ],
    );
    // Selecting the ISD deselects the applet too.
    assert_eq!(common::select(&mut card, &common::ISD).sw, 0x9000);
    run(
        &mut card,
        &[
            ("00A4040007F000000001B401", "9000"),
            ("8001000000", "00029000"),
        ],
    );
}
