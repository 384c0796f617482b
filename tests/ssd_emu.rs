//! Supplementary security domains on `jct emu`, through the CLI: an SSD
//! installed from the card's Security Domain module, its own keys put by
//! PUT KEY through its own secure channel, an applet extradited into it
//! and personalized through it, and the refusals a card gives.

mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use support::{java, Emu};

const SSD: &str = "A000000151000001";
const NEW_KEY: &str = "000102030405060708090A0B0C0D0E0F";

/// `jct` against the emulator with a key of our choosing.
fn jct_with_key(emu: &Emu, key: &str, args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("jct").unwrap();
    c.args(args).args(["--emu", &emu.addr, "--key", key]);
    c.env_remove("JCT_KEY").env_remove("JCT_EMU");
    c
}

/// An SSD installed through the ISD gets a copy of the ISD's keys; PUT
/// KEY through its own channel replaces them: the old keys then fail on
/// the SSD, the new ones work, and the ISD keeps its keys.
#[test]
fn an_ssd_takes_its_own_keys_through_its_own_channel() {
    let emu = Emu::start(false, "3.0.5");
    emu.jct(&["install-sd", SSD, "--json"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("\"aid\": \"A000000151000001\"")
                .and(predicate::str::contains("SecurityDomain")),
        );
    let list = emu.list();
    assert!(list.contains(SSD), "{list}");
    assert!(list.contains("A0000001515350"), "the SD load file: {list}");
    // The SSD's channel opens with the ISD's keys it was given.
    emu.jct(&["list", "--sd", SSD]).assert().success();
    emu.jct(&[
        "put-key",
        "--sd",
        SSD,
        "--new-key",
        NEW_KEY,
        "--new-key-ver",
        "2",
        "--replace",
        "1",
        "--json",
    ])
    .assert()
    .success();
    emu.jct(&["list", "--sd", SSD]).assert().failure();
    let own = jct_with_key(&emu, NEW_KEY, &["list", "--sd", SSD, "--json"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&own.get_output().stdout).to_string();
    assert!(out.contains(SSD), "{out}");
    // The ISD is unaffected: its keys still work, the SSD's do not.
    emu.jct(&["list"]).assert().success();
    jct_with_key(&emu, NEW_KEY, &["list"]).assert().failure();
    // An SSD does no card content management here, and says so.
    jct_with_key(
        &emu,
        NEW_KEY,
        &["install-sd", "A000000151000002", "--sd", SSD],
    )
    .assert()
    .failure()
    .stderr(predicate::str::contains("6A86"));
    // A second SSD with the same AID is refused; bad AIDs are errors,
    // not panics.
    emu.jct(&["install-sd", SSD])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6985"));
    emu.jct(&["install-sd", "ZZ"]).assert().failure();
    emu.jct(&["extradite", "A0", "--to", SSD])
        .assert()
        .failure();
}

/// perso-data extradited into the SSD: GET STATUS shows the association,
/// STORE DATA goes through the SSD, and the ISD refuses to personalize it.
#[test]
fn an_applet_extradited_to_an_ssd_is_personalized_through_it() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let api = java::api_jar(work.path(), None);
    let emu = Emu::start(false, "3.0.5");
    for name in ["perso-data", "hello"] {
        let cap = java::build_applet(work.path(), &api, name, None).cap;
        emu.jct(&["install", cap.to_str().unwrap()])
            .assert()
            .success();
    }
    let applet = "F000000001A501";
    emu.jct(&["install-sd", SSD]).assert().success();
    emu.jct(&["extradite", applet, "--to", SSD, "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"security_domain\": \"A000000151000001\"",
        ));
    // GET STATUS (ISD): the applet's security domain is the SSD.
    let json = emu.jct(&["list", "--json"]).output().unwrap();
    let reg: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let text = reg.to_string();
    let entry = find_entry(&reg, applet).unwrap_or_else(|| panic!("{text}"));
    assert!(entry.to_string().contains(SSD), "{entry}");
    // Through the SSD, GET STATUS shows the SSD and its applet only.
    let own = emu.jct(&["list", "--sd", SSD, "--json"]).output().unwrap();
    let own = String::from_utf8_lossy(&own.stdout).to_string();
    assert!(
        own.contains(applet) && !own.contains("F000000001A101"),
        "{own}"
    );
    // The ISD no longer personalizes it.
    emu.jct(&["store-data", "--applet", applet, "0103414243"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("6A88")
                .and(predicate::str::contains("another security domain")),
        );
    // Its own security domain does.
    emu.jct(&[
        "store-data",
        "--sd",
        SSD,
        "--applet",
        applet,
        "0103414243",
        "--json",
    ])
    .assert()
    .success();
    emu.jct(&["apdu", "--select", applet, "80CA000100"])
        .assert()
        .success()
        .stdout(predicate::str::diff("9000\n4142439000\n"));
    // Refusals: the SSD personalizes only its own applets; nothing is
    // extradited to an applet or to an absent security domain.
    emu.jct(&[
        "store-data",
        "--sd",
        SSD,
        "--applet",
        "F000000001A101",
        "010100",
    ])
    .assert()
    .failure()
    .stderr(predicate::str::contains("6A88"));
    emu.jct(&["extradite", applet, "--to", "F000000001A101"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6A80"));
    emu.jct(&["extradite", applet, "--to", "A000000151999999"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6A88"));
    // Extradition is the ISD's: refused through the SSD.
    emu.jct(&["extradite", applet, "--to", SSD, "--sd", SSD])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6A86"));
}

/// The registry entry (any list in the JSON) whose AID is `aid`.
fn find_entry<'a>(v: &'a serde_json::Value, aid: &str) -> Option<&'a serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => {
            if m.values().any(|x| x.as_str() == Some(aid)) {
                return Some(v);
            }
            m.values().find_map(|x| find_entry(x, aid))
        }
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_entry(x, aid)),
        _ => None,
    }
}
