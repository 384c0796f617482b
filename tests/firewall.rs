//! The JCVM firewall (JCRE 3.0.5 chapter 6) in jct emu, with two packages
//! built from source by javac and `jct build` (tests/jcvm/firewall): a
//! server, com.jct.fwserver (F000000001D1: ServerApplet F000000001D101 and
//! PeerApplet F000000001D102), sharing a Shareable `Service`, and a client,
//! com.jct.fwclient (F000000001D2: ClientApplet F000000001D201), compiled
//! against the server's classes and converted with its export file. A
//! library both import, com.jct.fwlib (F000000001D3), gives the client a
//! class to name for the server's plain object: an applet package exports
//! only its Shareable interfaces.
//!
//! What is checked: the Service obtained through
//! getAppletShareableInterfaceObject works and runs in the server's
//! context (getPreviousContextAID is the client there, getAID the server);
//! the server sees the client's AID and parameter and may refuse (null);
//! every reach for the server's other objects (an array, a plain object's
//! field or method, a cast) is a SecurityException; the APDU buffer and
//! the APDU object cannot be kept in a field, a static or an array; an
//! ISOException thrown in the server is caught by the client, and the
//! server's own exception object is caught but not readable; two applets
//! of the server's package share their objects; DELETE runs
//! AppletEvent.uninstall() in the deleted applet's context, and one that
//! never returns fails the DELETE with its writes undone.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::scripts::{install_all, run};
use common::{aes_keys, delete, hex, install_for_install_with, open, send};
use emulator::{Card, CardProfile};
use scp::SecurityLevel;
use support::java::{build, compile, java_files};

const LIB_PKG: &str = "F000000001D3";
const SERVER_PKG: &str = "F000000001D1";
const SERVER: &str = "F000000001D101";
const PEER: &str = "F000000001D102";
const CLIENT: &str = "F000000001D201";

/// The client's answer when it caught a SecurityException.
const DENIED: &str = "6F5E";

/// The three CAPs: the library, the server's (with both applets) and the
/// client's.
fn caps(w: &Path) -> [PathBuf; 3] {
    let src = Path::new("tests/jcvm/firewall");
    let lib_classes = compile(w, "fwlib", &java_files(&src.join("lib")), None);
    let lib = build(w, &lib_classes, "com.jct.fwlib", LIB_PKG, None, &[]);
    let lib_exp = w.join("com.jct.fwlib.exp");
    let server_classes = compile(
        w,
        "fwserver",
        &java_files(&src.join("server")),
        Some(&lib_classes),
    );
    let server = build(
        w,
        &server_classes,
        "com.jct.fwserver",
        SERVER_PKG,
        Some(&format!("{SERVER}=ServerApplet")),
        &[
            "--applet",
            &format!("{PEER}=PeerApplet"),
            "--exportpath",
            lib_exp.to_str().unwrap(),
        ],
    );
    let server_exp = w.join("com.jct.fwserver.exp");
    let classpath = std::env::join_paths([&lib_classes, &server_classes]).unwrap();
    let client_classes = compile(
        w,
        "fwclient",
        &java_files(&src.join("client")),
        Some(Path::new(&classpath)),
    );
    let client = build(
        w,
        &client_classes,
        "com.jct.fwclient",
        "F000000001D2",
        Some(&format!("{CLIENT}=ClientApplet")),
        &[
            "--exportpath",
            lib_exp.to_str().unwrap(),
            "--exportpath",
            server_exp.to_str().unwrap(),
        ],
    );
    [lib, server, client]
}

fn select(aid: &str) -> String {
    format!("00A40400{:02X}{aid}", aid.len() / 2)
}

/// DELETE of an applet instance through a secure channel to the ISD.
fn delete_instance(card: &mut Card, aid: &str) {
    let mut sc = open(card, SecurityLevel::C_MAC);
    let r = send(card, &mut sc, &delete(&hex(aid), false));
    assert_eq!(r.sw, 0x9000, "DELETE {aid}: {:?}", card.last_note());
}

#[test]
fn the_firewall_separates_packages_and_lets_shareable_interfaces_through() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let [lib, server, client] = caps(work.path());
    // A small instruction budget, for the uninstall() that never ends.
    let profile = CardProfile {
        api: "3.0.5".into(),
        instruction_budget: 200_000,
        ..CardProfile::default()
    };
    let mut card = Card::new(profile, aes_keys(1)).unwrap();
    card.power_on();
    install_all(
        &mut card,
        &[
            (&lib, None),
            (&server, Some(SERVER)),
            (&client, Some(CLIENT)),
        ],
        &[],
    );
    {
        let mut sc = open(&mut card, SecurityLevel::C_MAC);
        let peer = hex(PEER);
        let r = send(
            &mut card,
            &mut sc,
            &install_for_install_with(&hex(SERVER_PKG), &peer, &peer, &[]),
        );
        assert_eq!(r.sw, 0x9000, "install the peer: {:?}", card.last_note());
    }
    let client_aid = format!("07{CLIENT}");
    let server_aid = format!("07{SERVER}");
    // What getShareableInterfaceObject saw: the parameter, the client AID
    // passed in and the previous context (the client), padded to 40 bytes.
    let request = |param: &str| {
        let mut s = format!("{param}{client_aid}{client_aid}");
        s.push_str(&"00".repeat(40 - s.len() / 2));
        s + "9000"
    };
    run(
        &mut card,
        &[
            (&select(CLIENT), "9000"),
            // The server shares with parameter 0 and refuses otherwise.
            ("8010000000", "01 9000"),
            ("8010010000", "00 9000"),
            // A Service method runs; the client is itself again after it.
            ("8011030400", "0007 01 9000"),
            // In the server: getPreviousContextAID is the client, getAID the server.
            ("8017000000", &format!("{client_aid}{server_aid} 9000")),
            // The server's array: read, write, length.
            ("8012000000", DENIED),
            ("8012010000", DENIED),
            ("8012020000", DENIED),
            // API methods check the arrays they are given for the caller.
            ("8012030000", DENIED),
            ("8012040000", DENIED),
            // The server's plain object (a library class), leaked by the
            // Service or read from a static (statics are open, the object
            // is not): getfield, putfield, invokevirtual, checkcast, instanceof.
            ("8013000000", DENIED),
            ("8013010000", DENIED),
            ("8013020000", DENIED),
            ("8013030000", DENIED),
            ("8013040000", DENIED),
            ("8013000100", DENIED),
            ("8013010100", DENIED),
            ("8013020100", DENIED),
            ("8013030100", DENIED),
            ("8013040100", DENIED),
            // The APDU buffer (a global array) in a field, a static, an array.
            ("8014000000", DENIED),
            ("8014010000", DENIED),
            ("8014020000", DENIED),
            // The APDU object (a temporary JCRE entry point) in a static, a field.
            ("8015000000", DENIED),
            ("8015010000", DENIED),
            // An ISOException from the server is caught by the client, back
            // in its own context (its field counts).
            ("8016000000", "6A88 01 9000"),
            ("8016000000", "6A88 02 9000"),
            // The server's CLEAR_ON_DESELECT memory while the client is the
            // selected applet (JCRE 6.1.5): access denied, making one
            // SystemException.ILLEGAL_TRANSIENT.
            ("8019000000", "005E 9000"),
            ("8019010000", "5103 9000"),
            // The server's own exception object: caught, its reason denied.
            ("8016010000", "6F5F"),
            // At the top level the previous context is the JCRE (null); the
            // client is active, the server is not.
            ("8018000000", "01 01 00 9000"),
            // The last request the server saw (the lookups of the commands
            // above, parameter 0).
            (&select(SERVER), "9000"),
            ("8001000000", &request("00")),
            // The peer applet shares the server applet's context: it reads
            // and writes the server's objects.
            (&select(PEER), "9000"),
            ("8030000000", "5679 0A 03 9000"),
            ("8030000000", "567A 0B 03 9000"),
            // The client's access attempts left the server's objects as they were.
            (&select(CLIENT), "9000"),
            ("8010010000", "00 9000"),
            (&select(SERVER), "9000"),
            ("8001000000", &request("01")),
            ("8003000000", "01 1234 9000"),
            ("8002000000", "0000 0000 00 9000"),
        ],
    );

    // DELETE runs AppletEvent.uninstall(): the client's, in its context,
    // notifies the server through the Service; the peer's counts in a
    // static of the server's package.
    delete_instance(&mut card, CLIENT);
    run(
        &mut card,
        &[
            (&select(SERVER), "9000"),
            ("8002000000", &format!("0000 0001 {client_aid} 9000")),
        ],
    );
    // An uninstall() that spends the instruction budget fails the DELETE
    // (6F00) and its writes are undone; once it returns, the DELETE goes.
    run(
        &mut card,
        &[(&select(PEER), "9000"), ("8031010000", "9000")],
    );
    {
        let mut sc = open(&mut card, SecurityLevel::C_MAC);
        let r = send(&mut card, &mut sc, &delete(&hex(PEER), false));
        assert_eq!(r.sw, 0x6F00, "DELETE of a spinning uninstall()");
        assert!(
            card.last_note().unwrap_or("").contains("budget"),
            "{:?}",
            card.last_note()
        );
    }
    run(
        &mut card,
        &[
            (&select(SERVER), "9000"),
            ("8002000000", &format!("0000 0001 {client_aid} 9000")),
            (&select(PEER), "9000"),
            ("8031000000", "9000"),
        ],
    );
    delete_instance(&mut card, PEER);
    run(
        &mut card,
        &[
            (&select(SERVER), "9000"),
            ("8002000000", &format!("0001 0001 {client_aid} 9000")),
        ],
    );
    let left: Vec<String> = card
        .state()
        .instances
        .iter()
        .map(|i| hex::encode_upper(&i.aid))
        .collect();
    assert!(
        left.contains(&SERVER.to_string())
            && !left.contains(&CLIENT.to_string())
            && !left.contains(&PEER.to_string()),
        "instances left: {left:?}"
    );

    // DELETE of the server's package with its instances: uninstall() runs
    // before the dependency check (JCRE 11.3.4), so the peer counts even
    // though the client's package, which imports the server's, makes the
    // DELETE fail; once the client's package is gone it succeeds.
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let peer = hex(PEER);
    let r = send(
        &mut card,
        &mut sc,
        &install_for_install_with(&hex(SERVER_PKG), &peer, &peer, &[]),
    );
    assert_eq!(
        r.sw,
        0x9000,
        "install the peer again: {:?}",
        card.last_note()
    );
    let r = send(&mut card, &mut sc, &delete(&hex(SERVER_PKG), true));
    assert_eq!(r.sw, 0x6985, "{:?}", card.last_note());
    run(
        &mut card,
        &[
            (&select(SERVER), "9000"),
            ("8002000000", &format!("0002 0001 {client_aid} 9000")),
        ],
    );
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    for package in ["F000000001D2", SERVER_PKG] {
        let r = send(&mut card, &mut sc, &delete(&hex(package), true));
        assert_eq!(r.sw, 0x9000, "DELETE {package}: {:?}", card.last_note());
    }
    assert!(card.state().instances.is_empty());
}
