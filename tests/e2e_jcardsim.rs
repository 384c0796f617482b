//! End to end: the unchanged `jct` binary against jCardSim through
//! jcardsim-harness/ — the ISD served by the secure-channel applet running
//! inside jCardSim, applets installed from their CAP and run as their Java
//! classes. install / list / apdu / delete with SCP03 at every security
//! level and each i; a MAC flipped in transit in one LOAD block; a wrong
//! key; the state file across a restart; the converter-reference applets.
//!
//! Needs java, javac, ../shared/jcardsim/jcardsim.jar (or $JCARDSIM_JAR)
//! and applets/secure-channel: outside CI a missing one skips the tests
//! with a note, under CI it fails them (tests/support/require.rs).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use assert_cmd::Command;
use predicates::prelude::*;

use support::java::{self, java_files};
use support::{require, shared, TEST_KEY};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn jcardsim_jar() -> PathBuf {
    std::env::var_os("JCARDSIM_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared().join("jcardsim/jcardsim.jar"))
}

/// Whether everything the harness needs is on the machine (see the module comment).
fn available() -> bool {
    let jar = jcardsim_jar();
    require::java()
        && require::javac()
        && require::require(
            "the jCardSim jar",
            if jar.is_file() {
                Ok(())
            } else {
                Err(format!("{} is missing (set JCARDSIM_JAR)", jar.display()))
            },
        )
        && require::require(
            "the secure-channel applet",
            if root().join("applets/secure-channel/src").is_dir() {
                Ok(())
            } else {
                Err("applets/secure-channel/src is missing".into())
            },
        )
}

/// What the tests install, built once per test binary from source.
struct Built {
    _dir: tempfile::TempDir,
    /// The secure-channel applet's classes (the ISD front).
    secure_channel: PathBuf,
    /// applets/hello: its classes (below its jct.toml) and its CAP.
    hello_classes: PathBuf,
    hello_cap: PathBuf,
    /// The converter-reference packages' classes, all in one directory.
    reference: PathBuf,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let api = java::api_jar(dir.path(), None);
        // The secure-channel applet as a project: its jct.toml beside its
        // classes names its package's AID, so the harness lists the ISD
        // package in GET STATUS.
        let secure_channel = java::build_applet(dir.path(), &api, "secure-channel", None).classes;
        // applets/hello as a project of its own: classes under build/, the
        // CAP from `jct build`, its jct.toml beside them.
        let hello = java::build_applet(dir.path(), &api, "hello", None);
        let reference = dir.path().join("reference");
        let sources: Vec<PathBuf> = ["hello", "lib", "oop", "crypto"]
            .iter()
            .flat_map(|p| java_files(&shared().join("converter-reference/src/com/example").join(p)))
            .collect();
        java::javac(&api, None, &reference, &sources);
        Built {
            secure_channel,
            hello_cap: hello.cap,
            hello_classes: hello.classes,
            reference,
            _dir: dir,
        }
    })
}

/// The converter-reference packages: the Header of Oracle's CAPs names no
/// package, so the harness is told which Java package each AID is.
const REFERENCE_PACKAGES: [&str; 4] = [
    "F00000000101=com.example.hello",
    "F0000000014C=com.example.lib",
    "F00000000103=com.example.oop",
    "F00000000104=com.example.crypto",
];

/// jcardsim-harness started by its script on a free loopback port, killed when dropped.
struct Harness {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Harness {
    fn start(state: &Path, extra: &[&str]) -> Harness {
        let b = built();
        let log = state.with_extension("log");
        let mut cmd = StdCommand::new(root().join("jcardsim-harness/bin/jcardsim-harness"));
        cmd.args(["--listen", "127.0.0.1:0", "--classes"])
            .arg(&b.secure_channel)
            .arg("--classes")
            .arg(&b.hello_classes)
            .arg("--classes")
            .arg(&b.reference)
            .arg("--state")
            .arg(state)
            .arg("--log")
            .arg(&log)
            .args(REFERENCE_PACKAGES.iter().flat_map(|p| ["--package", p]))
            .args(extra)
            .env("JCARDSIM_JAR", jcardsim_jar())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("jcardsim-harness starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("listening ") else {
            let _ = child.wait();
            panic!(
                "the harness did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Harness {
            addr: addr.to_string(),
            child,
            log,
        }
    }

    /// `jct` with `--emu` pointing here and the key `key`.
    fn jct_with_key(&self, key: &str, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("jct").unwrap();
        c.args(args).args(["--emu", &self.addr, "--key", key]);
        c.env_remove("JCT_KEY").env_remove("JCT_EMU");
        c
    }

    fn jct(&self, args: &[&str]) -> Command {
        self.jct_with_key(TEST_KEY, args)
    }

    fn list(&self, mode: &str) -> String {
        let out = self.jct(&["list", "--mode", mode]).output().unwrap();
        assert!(
            out.status.success(),
            "jct list: {}\nharness log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hello_cap() -> String {
    built().hello_cap.display().to_string()
}

fn reference_cap(name: &str) -> String {
    shared()
        .join("converter-reference/oracle-3.2.0")
        .join(format!("{name}.cap"))
        .display()
        .to_string()
}

#[test]
fn install_list_select_delete_hello_through_the_secure_channel_applet() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    h.jct(&["install", &hello_cap(), "--mode", "enc"])
        .assert()
        .success()
        .stderr(predicate::str::contains("installed F000000001A101"));
    let list = h.list("enc");
    assert!(list.contains("ISD: A000000151000000"), "{list}");
    assert!(list.contains("APP: F000000001A101 (SELECTABLE)"), "{list}");
    assert!(list.contains("PKG: F000000001A1"), "{list}");
    // The real HelloApplet, running in jCardSim.
    h.jct(&["apdu", "--select", "F000000001A101", "8001000000"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
    assert!(
        h.log()
            .contains("installed F000000001A101 (com.jct.hello.HelloApplet)"),
        "{}",
        h.log()
    );
    // GET DATA: key information from the applet, CPLC and card recognition
    // data from the card manager.
    h.jct(&["info"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "key id 01 version 30: AES (88) 16 bytes",
        ))
        .stdout(predicate::str::contains("SCP03 i=70"))
        .stdout(predicate::str::contains("IC fabricator"));
    // GET STATUS in the legacy format (P2 00), inside a secure channel:
    // applications (AID, life cycle, privileges), load files with modules.
    h.jct(&["apdu", "--secure", "80F24000024F00", "80F21000024F00"])
        .assert()
        .success()
        .stdout(predicate::str::contains("07F000000001A10107009000"))
        .stdout(predicate::str::contains(
            "06F000000001A101000107F000000001A1019000",
        ));
    h.jct(&["delete", "F000000001A1", "--related", "--mode", "enc"])
        .assert()
        .success();
    let list = h.list("mac");
    assert!(!list.contains("F000000001A1"), "{list}");
    h.jct(&["apdu", "00A4040007F000000001A101"])
        .assert()
        .stdout(predicate::str::contains("6A82"));
}

#[test]
fn scp03_at_every_security_level_and_each_i() {
    if !available() {
        return;
    }
    // i=00 and 10 offer C-MAC and C-ENC only; 70 adds R-MAC and R-ENC.
    let cases: [(&str, &[&str]); 3] = [
        ("00", &["mac", "enc"]),
        ("10", &["mac", "enc"]),
        ("70", &["mac", "enc", "rmac", "renc"]),
    ];
    for (i, modes) in cases {
        let dir = tempfile::tempdir().unwrap();
        let h = Harness::start(&dir.path().join("card.state"), &["--scp-i", i]);
        for &mode in modes {
            let what = format!("i={i} --mode {mode}");
            let out = h
                .jct(&["install", &hello_cap(), "--hash", "sha256", "--mode", mode])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{what}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                h.log()
            );
            let list = h.list(mode);
            assert!(
                list.contains("APP: F000000001A101 (SELECTABLE)"),
                "{what}: {list}"
            );
            h.jct(&["apdu", "--select", "F000000001A101", "8001000000"])
                .assert()
                .success()
                .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
            h.jct(&["delete", "F000000001A1", "--related", "--mode", mode])
                .assert()
                .success();
            assert!(!h.list(mode).contains("F000000001A1"), "{what}");
        }
    }
}

/// A loopback proxy that flips the last data byte (part of the C-MAC) of
/// the `nth` LOAD command on its way to the harness.
fn flipping_proxy(upstream: String, nth: usize) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut server = TcpStream::connect(&upstream).unwrap();
        let mut loads = 0;
        loop {
            let mut len = [0u8; 2];
            if client.read_exact(&mut len).is_err() {
                return;
            }
            let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if client.read_exact(&mut frame).is_err() {
                return;
            }
            if frame.len() > 5 && frame[1] == 0xE8 {
                loads += 1;
                if loads == nth {
                    let last_data = 4 + usize::from(frame[4]);
                    frame[last_data] ^= 0x01;
                }
            }
            if server.write_all(&len).is_err() || server.write_all(&frame).is_err() {
                return;
            }
            if frame.len() == 1 && frame[0] != 0x04 {
                continue;
            }
            let mut rlen = [0u8; 2];
            if server.read_exact(&mut rlen).is_err() {
                return;
            }
            let mut resp = vec![0u8; usize::from(u16::from_be_bytes(rlen))];
            if server.read_exact(&mut resp).is_err() {
                return;
            }
            if client.write_all(&rlen).is_err() || client.write_all(&resp).is_err() {
                return;
            }
        }
    });
    (addr, handle)
}

#[test]
fn a_flipped_mac_in_a_load_block_gets_6982_from_the_applet_and_leaves_no_package() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    let (proxy, handle) = flipping_proxy(h.addr.clone(), 1);
    Command::cargo_bin("jct")
        .unwrap()
        .args(["install", &hello_cap(), "--block-size", "64"])
        .args(["--emu", &proxy, "--key", TEST_KEY])
        .env_remove("JCT_KEY")
        .env_remove("JCT_EMU")
        .assert()
        .failure()
        .stderr(predicate::str::contains("6982"));
    handle.join().unwrap();
    assert!(
        h.log()
            .contains("6982: the ISD applet answered 84E80000 itself"),
        "{}",
        h.log()
    );
    let list = h.list("mac");
    assert!(!list.contains("F000000001A1"), "{list}");
    // The next install, untouched, goes through.
    h.jct(&["install", &hello_cap()]).assert().success();
}

#[test]
fn a_wrong_key_stops_jct_before_external_authenticate() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    let trace = dir.path().join("wrong-key.trace");
    h.jct_with_key(
        "000102030405060708090A0B0C0D0E0F",
        &["list", "--record", trace.to_str().unwrap()],
    )
    .assert()
    .failure()
    .stderr(predicate::str::contains("card cryptogram mismatch"));
    let trace = std::fs::read_to_string(&trace).unwrap();
    assert!(trace.contains(">> 8050"), "{trace}");
    assert!(!trace.contains(">> 8482"), "{trace}");
    // No authentication try was spent: the right key still opens a session.
    h.list("mac");
}

/// The SCP03 sequence counter in the first INITIALIZE UPDATE response of a
/// trace (i=10: the 3 bytes after KDD, key information, challenge and
/// cryptogram).
fn sequence_counter(trace: &Path) -> u32 {
    let text = std::fs::read_to_string(trace).unwrap();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(">> 8050") {
            let response = lines
                .next()
                .unwrap()
                .trim_start_matches("<< ")
                .replace(' ', "");
            let bytes = hex::decode(&response[..response.len() - 4]).unwrap();
            assert_eq!(bytes.len(), 32, "{response}");
            return u32::from_be_bytes([0, bytes[29], bytes[30], bytes[31]]);
        }
    }
    panic!("no INITIALIZE UPDATE in {text}");
}

#[test]
fn state_survives_a_harness_restart() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card.state");
    let hello = reference_cap("hello");
    let before = dir.path().join("before.trace");
    let after = dir.path().join("after.trace");
    {
        let h = Harness::start(&state, &["--scp-i", "10"]);
        h.jct(&["list", "--record", before.to_str().unwrap()])
            .assert()
            .success();
        h.jct(&["install", &hello, "--mode", "enc"])
            .assert()
            .success();
        // The reference HelloApplet counts in a persistent field (INS 02).
        h.jct(&["apdu", "--select", "F0000000010101", "8002000000"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("9000\n00019000"));
    }
    let mode = std::fs::metadata(&state).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    }
    let h = Harness::start(&state, &[]);
    assert!(h.log().contains("state restored"), "{}", h.log());
    // The registry, the applet's field, and the ISD applet's keys and
    // sequence counter (a pseudo-random challenge with i=10 depends on it).
    let list = h.list("enc");
    assert!(list.contains("APP: F0000000010101 (SELECTABLE)"), "{list}");
    h.jct(&["list", "--record", after.to_str().unwrap()])
        .assert()
        .success();
    let (first, later) = (sequence_counter(&before), sequence_counter(&after));
    assert!(
        later > first + 1,
        "the sequence counter went from {first} to {later}"
    );
    h.jct(&["apdu", "--select", "F0000000010101", "8002000000"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("9000\n00029000"));
    h.list("mac");
    h.jct(&["delete", "F00000000101", "--related"])
        .assert()
        .success();
    drop(h);
    let h = Harness::start(&state, &[]);
    assert!(!h.list("mac").contains("F00000000101"));
}

#[test]
fn converter_reference_applets_install_and_answer() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    h.jct(&["install", &reference_cap("hello"), "--mode", "enc"])
        .assert()
        .success();
    h.jct(&["apdu", "--select", "F0000000010101", "8001000000"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
    // crypto: OwnerPIN, AES key, CBC cipher.
    h.jct(&["install", &reference_cap("crypto")])
        .assert()
        .success();
    h.jct(&[
        "apdu",
        "--select",
        "F0000000010401",
        "002000000401020305",
        "002000000401020304",
        "00220000100102030405060708090A0B0C0D0E0F10",
    ])
    .assert()
    .success()
    .stdout(predicate::str::starts_with("9000\n63C2\n9000\n9000"));
    // oop imports lib: lib is loaded first; deleting it while oop uses it is refused.
    h.jct(&["load", &reference_cap("lib")]).assert().success();
    h.jct(&["install", &reference_cap("oop")])
        .assert()
        .success();
    h.jct(&[
        "apdu",
        "--select",
        "F0000000010301",
        "0001000000",
        "0001000000",
    ])
    .assert()
    .success()
    .stdout(predicate::str::is_match("^9000\n[0-9A-F]{4}9000\n[0-9A-F]{4}9000").unwrap());
    h.jct(&["delete", "F0000000014C"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6985"));
    let list = h.list("mac");
    for aid in ["F0000000010101", "F0000000010401", "F0000000010301"] {
        assert!(list.contains(&format!("APP: {aid} (SELECTABLE)")), "{list}");
    }
}

#[test]
fn a_package_without_classes_is_refused_with_6a80() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    // arith's classes were not given to the harness.
    h.jct(&["install", &reference_cap("arith")])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6A80"));
    assert!(
        h.log().contains("6A80: INSTALL of F0000000010201"),
        "{}",
        h.log()
    );
    // jct deleted the package again after the failed install.
    assert!(!h.list("mac").contains("F00000000102"));
}

// pcscd.rs brings its own copy of require.rs (as in e2e_pcsc.rs): the
// same functions, so the second copy is harmless.
#[cfg(feature = "pcsc")]
#[allow(clippy::duplicate_mod)]
#[path = "support/pcscd.rs"]
mod pcscd;

/// `--vpcd`: the harness connects to pcscd's vpcd driver as a card, and
/// jct reaches it as a PC/SC reader.
#[cfg(feature = "pcsc")]
#[test]
fn through_pcscd_and_vpcd_as_a_pcsc_reader() {
    if !available() {
        return;
    }
    let Some(daemon) = pcscd::require_pcscd() else {
        return;
    };
    let b = built();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("harness.log");
    let child = StdCommand::new(root().join("jcardsim-harness/bin/jcardsim-harness"))
        .args(["--vpcd", "127.0.0.1:35963", "--classes"])
        .arg(&b.secure_channel)
        .arg("--classes")
        .arg(&b.hello_classes)
        .arg("--state")
        .arg(dir.path().join("card.state"))
        .arg("--log")
        .arg(&log)
        .env("JCARDSIM_JAR", jcardsim_jar())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let h = Harness {
        child,
        addr: String::new(),
        log,
    };
    pcscd::wait_for(std::time::Duration::from_secs(30), || {
        pcscd::vpcd_readers().into_iter().find(|r| r.card_present)
    })
    .unwrap_or_else(|| {
        panic!(
            "the harness never appeared in the Virtual PCD reader\n{}",
            h.log()
        )
    });
    let jct = |args: &[&str]| {
        let mut c = Command::cargo_bin("jct").unwrap();
        c.args(args)
            .args(["-r", pcscd::READER, "--key", TEST_KEY])
            .env_remove("JCT_EMU")
            .env_remove("JCT_KEY");
        c
    };
    jct(&["install", &hello_cap(), "--mode", "enc"])
        .assert()
        .success();
    jct(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("APP: F000000001A101 (SELECTABLE)"));
    jct(&["apdu", "--select", "F000000001A101", "8001000000"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
    drop(h);
    drop(daemon);
}

/// applets/secure-channel and applets/wallet built as sibling projects (the
/// wallet's jct.toml finds the secure channel's export file beside it):
/// the wallet's classes and CAP.
fn wallet() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static WALLET: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    WALLET.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let api = java::api_jar(dir.path(), None);
        let sc = java::build_applet(dir.path(), &api, "secure-channel", None);
        let w = java::build_applet(dir.path(), &api, "wallet", Some(&sc.classes));
        (dir, w.classes, w.cap)
    })
}

/// The wallet leaves its secure messaging to the ISD applet through the
/// SecureChannelService Shareable interface: the loader opens an SCP03
/// channel with the wallet itself, and the wallet's balance moves only
/// under a C-MAC the service checked.
#[test]
fn the_wallet_round_trip_through_the_shareable_secure_channel_service() {
    use gp::apdu::CommandApdu;
    use loader::client::{ChannelOptions, GpClient};
    use scp::keys::{Key, StaticKeys};

    if !available() {
        return;
    }
    let (_, classes, cap) = wallet();
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(
        &dir.path().join("card.state"),
        &["--classes", classes.to_str().unwrap()],
    );
    // The harness's ISD is the secure-channel applet from --classes: its
    // package is on the card from the start, listed by GET STATUS, so the
    // check before LOAD finds the wallet's import of it; it is not deleted.
    h.jct(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("PKG: F000000001A3"));
    h.jct(&["install", cap.to_str().unwrap(), "--mode", "enc"])
        .assert()
        .success()
        .stderr(predicate::str::contains("MISMATCH").not());
    h.jct(&["delete", "F000000001A3"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6985"));
    // Without a session the wallet refuses to credit.
    h.jct(&["apdu", "--select", "F000000001A401", "80120000020064"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("9000\n6982"));

    let transport = loader::transport::vpcd::VpcdClient::connect(&h.addr).unwrap();
    let mut client = GpClient::over(Box::new(transport));
    client
        .select(&hex::decode("F000000001A401").unwrap())
        .unwrap();
    let keys = StaticKeys::single(Key::aes(&hex::decode(TEST_KEY).unwrap()).unwrap(), 0);
    client
        .open_secure_channel(&ChannelOptions::new(keys))
        .unwrap_or_else(|e| panic!("{e}\n{}", h.log()));
    let mut send = |ins: u8, data: &[u8]| {
        let r = client
            .transmit(&CommandApdu::new(0x80, ins, 0, 0, data.to_vec(), None).unwrap())
            .unwrap();
        (r.data, r.sw)
    };
    assert_eq!(send(0x12, &[0x00, 0x64]), (vec![0x00, 0x64], 0x9000));
    assert_eq!(send(0x14, &[0x00, 0x10]), (vec![0x00, 0x54], 0x9000));
    assert_eq!(send(0x10, &[]), (vec![0x00, 0x54], 0x9000));
    assert_eq!(send(0x14, &[0x01, 0x00]).1, 0x6985);
    drop(client);

    // A second instance with a PIN in its install parameters (C9 02 L PIN,
    // passed through to install() as a card does): no debit before VERIFY.
    h.jct(&[
        "install",
        cap.to_str().unwrap(),
        "--no-load",
        "--instance",
        "F000000001A402",
        "--params",
        "020431323334",
    ])
    .assert()
    .success();
    let transport = loader::transport::vpcd::VpcdClient::connect(&h.addr).unwrap();
    let mut client = GpClient::over(Box::new(transport));
    client
        .select(&hex::decode("F000000001A402").unwrap())
        .unwrap();
    let keys = StaticKeys::single(Key::aes(&hex::decode(TEST_KEY).unwrap()).unwrap(), 0);
    client
        .open_secure_channel(&ChannelOptions::new(keys))
        .unwrap();
    let mut send = |cla: u8, ins: u8, p2: u8, data: &[u8]| {
        client
            .transmit(&CommandApdu::new(cla, ins, 0, p2, data.to_vec(), None).unwrap())
            .unwrap()
            .sw
    };
    assert_eq!(send(0x80, 0x12, 0, &[0x00, 0x64]), 0x9000);
    assert_eq!(send(0x80, 0x14, 0, &[0x00, 0x10]), 0x6982);
    assert_eq!(send(0x00, 0x20, 0x80, b"1234"), 0x9000);
    assert_eq!(send(0x80, 0x14, 0, &[0x00, 0x10]), 0x9000);
}

/// Malformed and hostile commands get status words, never a dead harness.
#[test]
fn bad_commands_get_status_words_and_the_harness_keeps_serving() {
    use loader::transport::Transport;

    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    let mut t = loader::transport::vpcd::VpcdClient::connect(&h.addr).unwrap();
    let mut sw = |apdu: &str| {
        let r = t.transmit(&hex::decode(apdu).unwrap()).unwrap();
        assert!(r.len() >= 2, "{}: {r:?}", &apdu[..apdu.len().min(40)]);
        u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
    };
    // The largest command a vpcd frame carries (65,535 bytes).
    let mut big = String::from("80E6020000FFF8");
    big.push_str(&"00".repeat(0xFFF8));
    let cases: &[(&str, u16)] = &[
        ("01A4040008A000000151000000", 0x6881), // logical channel 1
        ("0070000001", 0x6881),                 // MANAGE CHANNEL
        ("FFA4040000", 0x6E00),
        ("00A4040011F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0", 0x6A80), // a 17-byte AID
        ("00A4040005F0F0F0F0F0", 0x6A82),
        ("00A4040008A000000151000000", 0x9000),
        // Card content management without a session: the applet hands
        // the plain command over at level 00 and the card manager refuses.
        ("80E602000B06F0000000019900000000", 0x6982),
        ("80F24002024F00", 0x6982),
        ("80E8800003C40100", 0x6982),
    ];
    for (apdu, want) in cases {
        assert_eq!(sw(apdu), *want, "{apdu}\n{}", h.log());
    }
    // Lengths that do not add up, a 64 KiB command: answered, whatever the word.
    for apdu in ["80E6020005AA", "80E60200000005AABB", big.as_str()] {
        let answer = sw(apdu);
        assert_ne!(answer, 0x9000, "{}", &apdu[..apdu.len().min(40)]);
    }
    drop(t);
    // The harness still serves, with its secure channel intact.
    assert!(h.list("mac").contains("ISD: A000000151000000"));
}

/// A state file that does not decode stops the harness with a message and
/// is left as it was.
#[test]
fn a_corrupt_state_file_is_an_error_and_stays_untouched() {
    if !available() {
        return;
    }
    let b = built();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card.state");
    std::fs::write(&state, b"JCTHST02 not a snapshot").unwrap();
    let out = StdCommand::new(root().join("jcardsim-harness/bin/jcardsim-harness"))
        .args(["--listen", "127.0.0.1:0", "--once", "--classes"])
        .arg(&b.secure_channel)
        .arg("--state")
        .arg(&state)
        .env("JCARDSIM_JAR", jcardsim_jar())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot start"), "{stderr}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"JCTHST02 not a snapshot".to_vec()
    );
}

#[test]
fn put_key_replaces_the_key_set_inside_the_applet_and_it_survives_a_restart() {
    if !available() {
        return;
    }
    const NEW: &str = "000102030405060708090A0B0C0D0E0F";
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card.state");
    {
        let h = Harness::start(&state, &[]);
        // Key version 0x30 (48) becomes 0x31 (49), new keys under the session DEK.
        h.jct(&[
            "put-key",
            "--new-key",
            NEW,
            "--new-key-ver",
            "49",
            "--replace",
            "48",
        ])
        .assert()
        .success();
        h.jct(&["list"])
            .assert()
            .failure()
            .stderr(predicate::str::contains("card cryptogram mismatch"));
        h.jct_with_key(NEW, &["info"])
            .assert()
            .success()
            .stdout(predicate::str::contains(
                "key id 01 version 31: AES (88) 16 bytes",
            ));
    }
    let h = Harness::start(&state, &[]);
    h.jct_with_key(NEW, &["install", &hello_cap(), "--mode", "enc"])
        .assert()
        .success();
    h.jct(&["list"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("card cryptogram mismatch"));
}

#[test]
fn set_status_locks_and_unlocks_an_application_and_the_card() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    h.jct(&["install", &hello_cap()]).assert().success();
    h.jct(&["set-status", "lock", "F000000001A101"])
        .assert()
        .success();
    h.jct(&["apdu", "00A4040007F000000001A101"])
        .assert()
        .stdout(predicate::str::contains("6A82"));
    h.jct(&["set-status", "unlock", "F000000001A101"])
        .assert()
        .success();
    h.jct(&["apdu", "--select", "F000000001A101", "8001000000"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
    // OP_READY -> SECURED -> CARD_LOCKED: no content management, no applets.
    h.jct(&["apdu", "--secure", "80F0800F00"])
        .assert()
        .success()
        .stdout(predicate::str::contains("9000"));
    h.jct(&["set-status", "lock-card"]).assert().success();
    assert!(h.list("mac").contains("CARD_LOCKED"), "{}", h.list("mac"));
    h.jct(&["delete", "F000000001A1", "--related"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6985"));
    h.jct(&["apdu", "00A4040007F000000001A101"])
        .assert()
        .stdout(predicate::str::contains("6A82"));
    h.jct(&["set-status", "unlock-card"]).assert().success();
    h.jct(&["delete", "F000000001A1", "--related"])
        .assert()
        .success();
}

/// AES-192 static keys given to the applet as C9 parameters; AES-256 ones
/// by PUT KEY (three of them and the other parameters exceed the 127 bytes
/// of Java Card install data, which the harness says when asked).
#[test]
fn aes_192_and_256_key_sets() {
    if !available() {
        return;
    }
    const AES192: &str = "404142434445464748494A4B4C4D4E4F5051525354555657";
    const AES256: &str = "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F";
    let check = |h: &Harness, key: &str, version: &str| {
        h.jct_with_key(key, &["install", &hello_cap(), "--mode", "renc"])
            .assert()
            .success();
        h.jct_with_key(key, &["info"])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "key id 01 version {version}: AES (88) {} bytes",
                key.len() / 2
            )));
        h.jct_with_key(key, &["apdu", "--select", "F000000001A101", "8001000000"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
        h.jct_with_key(key, &["delete", "F000000001A1", "--related"])
            .assert()
            .success();
        h.jct(&["list"])
            .assert()
            .failure()
            .stderr(predicate::str::contains("card cryptogram mismatch"));
    };
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("192.state"), &["--key", AES192]);
    check(&h, AES192, "30");

    let h = Harness::start(&dir.path().join("256.state"), &[]);
    h.jct(&[
        "put-key",
        "--new-key",
        AES256,
        "--new-key-ver",
        "49",
        "--replace",
        "48",
    ])
    .assert()
    .success();
    check(&h, AES256, "31");

    let out = StdCommand::new(root().join("jcardsim-harness/bin/jcardsim-harness"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--once",
            "--key",
            AES256,
            "--classes",
        ])
        .arg(&built().secure_channel)
        .env("JCARDSIM_JAR", jcardsim_jar())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("jct put-key"),
        "{out:?}"
    );
}

/// Several instances of one applet class; GET STATUS pages them (6310 and
/// 'next occurrence') and `jct list` follows.
#[test]
fn many_instances_of_one_package_and_a_paged_list() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    h.jct(&["install", &hello_cap()]).assert().success();
    let extra: Vec<String> = (2..10).map(|n| format!("F000000001A1010{n}")).collect();
    for aid in &extra {
        h.jct(&["install", &hello_cap(), "--no-load", "--instance", aid])
            .assert()
            .success();
    }
    let list = h.list("enc");
    for aid in extra.iter().map(String::as_str).chain(["F000000001A101"]) {
        assert!(list.contains(&format!("APP: {aid} (SELECTABLE)")), "{list}");
        h.jct(&["apdu", "--select", aid, "8001000000"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
    }
    // Nine applications of 38 bytes each do not fit one 232-byte page.
    h.jct(&["apdu", "--secure", "80F24002024F00", "80F24003024F00"])
        .assert()
        .success()
        .stdout(predicate::str::is_match("6310\n[0-9A-F]+9000\n$").unwrap());
    h.jct(&["delete", "F000000001A1", "--related"])
        .assert()
        .success();
    assert!(!h.list("mac").contains("F000000001A1"));
}

/// The card challenge in the first INITIALIZE UPDATE response of a trace
/// (after the key diversification data and the key information).
fn card_challenge(trace: &Path) -> String {
    let text = std::fs::read_to_string(trace).unwrap();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(">> 8050") {
            let response = lines
                .next()
                .unwrap()
                .trim_start_matches("<< ")
                .replace(' ', "");
            return response[26..42].to_string();
        }
    }
    panic!("no INITIALIZE UPDATE in {text}");
}

/// --random fixes the bytes the applets draw (with i=00 the card challenge
/// is random), then the generator's own bytes follow.
#[test]
fn the_random_hook_fixes_the_card_challenge() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(
        &dir.path().join("card.state"),
        &["--scp-i", "00", "--random", "0102030405060708"],
    );
    let (first, second) = (dir.path().join("1.trace"), dir.path().join("2.trace"));
    h.jct(&["list", "--record", first.to_str().unwrap()])
        .assert()
        .success();
    h.jct(&["list", "--record", second.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(card_challenge(&first), "0102030405060708");
    assert_ne!(card_challenge(&second), "0102030405060708");
}

/// The application with the Card Reset privilege (`--default`) is selected
/// after power on, without a SELECT.
#[test]
fn the_default_application_is_selected_at_power_on() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&dir.path().join("card.state"), &[]);
    h.jct(&["install", &hello_cap(), "--default"])
        .assert()
        .success();
    // A reader that powers the card on and sends the command right away
    // (`jct apdu` would select a security domain first).
    use loader::transport::Transport;
    let mut t = loader::transport::vpcd::VpcdClient::connect(&h.addr).unwrap();
    assert_eq!(
        t.transmit(&hex::decode("8001000000").unwrap()).unwrap(),
        hex::decode("48656C6C6F9000").unwrap()
    );
    drop(t);
    // jct selects the ISD itself for card management.
    assert!(h.list("mac").contains("APP: F000000001A101 (SELECTABLE)"));
}
