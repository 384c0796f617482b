//! Secured scripts (issue 14) end to end on emulated cards: the key holder
//! builds, offline, one script per card for a batch of 20 cards whose keys
//! are diversified from one master key (KDF3 for SCP03, EMV CPS 1.1 for
//! SCP02); the thin client, holding only the key holder's public key,
//! checks and plays each; every card ends with the applet installed and
//! selectable. Then the refusals: a script played twice stops before
//! EXTERNAL AUTHENTICATE, a script for another card is refused before any
//! command of the script, a tampered packet fails its signature, and a MAC
//! broken inside a (re-signed) script earns 6982 from the card, after
//! which the signed rollback leaves nothing on the card.
//!
//! The applet is applets/hello, built from source with javac and
//! `jct build` (skipped without javac, failed under CI).

mod support;

use std::sync::{Arc, Mutex, OnceLock};

use cap_tools::Cap;
use cardtest::InProcess;
use emulator::{Card, CardProfile};
use loader::client::{ChannelOptions, GpClient};
use loader::plan::InstallOptions;
use loader::script::build::{Builder, CardRecord, Operation};
use loader::script::identify::identify;
use loader::script::packet::Packet;
use loader::script::play::{self, Stage};
use loader::script::{ScriptError, ScriptSigner};
use loader::transport::{CardChannel, Exchange};
use scp::keys::{Diversification, Key, KeyType, SoftwareKeys, StaticKeys};
use scp::{ChallengeSource, OsRng, ScpError, SecurityLevel};
use support::java;

const PACKAGE: &str = "F000000001A1";
const APPLET: &str = "F000000001A101";
const MASTER: &str = "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF";
const NOW: u64 = 1_800_000_000;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn hello_cap() -> Option<Arc<Cap>> {
    static CAP: OnceLock<Option<Arc<Cap>>> = OnceLock::new();
    CAP.get_or_init(|| {
        if !support::require::javac() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let api = java::api_jar(dir.path(), Some("3.0.5"));
        let built = java::build_applet(dir.path(), &api, "hello", None);
        Some(Arc::new(Cap::from_path(&built.cap).unwrap()))
    })
    .clone()
}

/// The card's first random bytes are its serial number (and so its key
/// diversification data); the rest come from the operating system.
struct Serial([u8; 4], bool);

impl ChallengeSource for Serial {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError> {
        if !self.1 && out.len() == 4 {
            out.copy_from_slice(&self.0);
            self.1 = true;
            return Ok(());
        }
        OsRng.fill(out)
    }
}

#[derive(Clone, Copy)]
struct Setup {
    scp02: bool,
    i: u8,
    level: SecurityLevel,
}

impl Setup {
    fn kind(self) -> KeyType {
        if self.scp02 {
            KeyType::Des3
        } else {
            KeyType::Aes
        }
    }

    fn method(self) -> Diversification {
        if self.scp02 {
            Diversification::EmvCps11
        } else {
            Diversification::Kdf3
        }
    }

    fn master(self) -> StaticKeys {
        StaticKeys::single(Key::new(self.kind(), &h(MASTER)).unwrap(), 1)
    }

    fn keys(self) -> SoftwareKeys {
        SoftwareKeys::new(self.master()).diversified(self.method())
    }

    /// Emulated card number `n`: its own serial, its keys diversified from
    /// the master key with its key diversification data.
    fn card(self, n: u8) -> Arc<Mutex<Card>> {
        self.card_with_memory(n, CardProfile::default().memory)
    }

    /// As [`Setup::card`], with `memory` bytes for load files.
    fn card_with_memory(self, n: u8, memory: usize) -> Arc<Mutex<Card>> {
        let serial = [0x5C, 0x00, self.i, n];
        let mut kdd = [0x4A, 0x43, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x01];
        kdd[4..8].copy_from_slice(&serial);
        let keys = self.master().diversify(self.method(), &kdd).unwrap();
        let profile = CardProfile {
            scp02_i: if self.scp02 { self.i } else { 0x55 },
            scp03_i: if self.scp02 { 0x70 } else { self.i },
            memory,
            ..CardProfile::default()
        };
        let card = Card::with_rng(profile, keys, Box::new(Serial(serial, false))).unwrap();
        assert_eq!(emulator::recognition::kdd(card.state()), kdd);
        Arc::new(Mutex::new(card))
    }

    fn builder(self, cap: &Arc<Cap>) -> Builder {
        Builder::new(
            Arc::new(self.keys()),
            self.level,
            3600,
            vec![Operation::Install {
                cap: Arc::clone(cap),
                load: Box::default(),
                install: Some(InstallOptions::default()),
            }],
        )
    }
}

/// A channel to an emulated card that counts the INITIALIZE UPDATE and
/// EXTERNAL AUTHENTICATE commands it carries.
fn channel(card: &Arc<Mutex<Card>>, seen: &Arc<Mutex<Vec<Vec<u8>>>>) -> CardChannel {
    let transport: Box<dyn loader::transport::Transport> =
        Box::new(InProcess::shared(Arc::clone(card)));
    let mut c = CardChannel::new(transport);
    let seen = Arc::clone(seen);
    c.set_observer(Box::new(move |e: &Exchange<'_>| {
        seen.lock().unwrap().push(e.command.to_vec());
    }));
    c
}

fn count_ins(seen: &Arc<Mutex<Vec<Vec<u8>>>>, ins: u8) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|c| c.len() > 1 && c[1] == ins)
        .count()
}

/// The card's registry, read with the card's own keys (the test's, not the
/// client's: the client has none).
fn registry(setup: Setup, card: &Arc<Mutex<Card>>) -> String {
    let mut client = GpClient::over(Box::new(InProcess::shared(Arc::clone(card))));
    client.select_security_domain(None).unwrap();
    let mut options = ChannelOptions::new(setup.keys());
    options.scp02_i = Some(setup.i);
    client.open_secure_channel(&options).unwrap();
    client.list().unwrap().to_text()
}

fn selectable(card: &Arc<Mutex<Card>>) -> bool {
    let mut t = InProcess::shared(Arc::clone(card));
    let select = gp::commands::select(&h(APPLET), false).unwrap().to_bytes();
    let r = loader::transport::Transport::transmit(&mut t, &select).unwrap();
    r.ends_with(&[0x90, 0x00])
}

fn batch(setup: Setup) {
    let Some(cap) = hello_cap() else { return };
    let signer = ScriptSigner::generate().unwrap();
    // The client's copy of the public key goes through its file.
    let verifier =
        loader::script::ScriptVerifier::from_file_bytes(&signer.verifier().to_file_bytes())
            .unwrap();
    let cards: Vec<_> = (0..20).map(|n| setup.card(n)).collect();
    let seen = Arc::new(Mutex::new(Vec::new()));

    // The client reads each card's record; the key holder gets them as a
    // batch file (JSON Lines).
    let mut lines = String::new();
    for card in &cards {
        let record = identify(&mut channel(card, &seen), None).unwrap();
        lines.push_str(&serde_json::to_string(&record).unwrap());
        lines.push('\n');
    }
    let records = CardRecord::parse_batch(&lines).unwrap();
    assert_eq!(records.len(), 20);
    assert_eq!(records[0].i, setup.i);
    assert_eq!(records[0].scp, if setup.scp02 { 2 } else { 3 });

    // The key holder builds and signs all 20 without a card.
    let builder = setup.builder(&cap);
    let packets: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            let body = builder.build_offline(r, NOW, &mut OsRng).unwrap();
            signer.sign(body).unwrap().to_bytes().unwrap()
        })
        .collect();

    // The thin client plays each on its card.
    for (card, bytes) in cards.iter().zip(&packets) {
        let packet = play::open(bytes, &verifier, NOW + 60).unwrap();
        let report = play::play_offline(&mut channel(card, &seen), &packet.body);
        assert!(report.completed, "{}", report.to_text());
        assert_eq!(report.commands_done, report.commands_total);
        assert!(report.commands_total > 3);
        assert!(selectable(card), "the applet is not selectable");
    }
    let listing = registry(setup, &cards[0]);
    assert!(
        listing.contains(APPLET) && listing.contains(PACKAGE),
        "{listing}"
    );

    // Played a second time: the counter moved, so the INITIALIZE UPDATE
    // answer differs, and the play stops before EXTERNAL AUTHENTICATE.
    seen.lock().unwrap().clear();
    let packet = play::open(&packets[0], &verifier, NOW + 60).unwrap();
    let again = play::play_offline(&mut channel(&cards[0], &seen), &packet.body);
    assert!(
        !again.completed && !again.authenticated,
        "{}",
        again.to_text()
    );
    assert_eq!(again.stage, Stage::InitializeUpdate);
    let why = again.error.clone().unwrap();
    assert!(why.contains("sequence counter moved"), "{why}");
    assert_eq!(count_ins(&seen, 0x82), 0, "EXTERNAL AUTHENTICATE was sent");
    let json = serde_json::to_value(&again).unwrap();
    assert_eq!(json["stage"], "initialize_update");
    assert_eq!(json["authenticated"], false);

    // A script for card 1 on card 2: refused on its identity, before any
    // command of the script (only SELECT and GET DATA went out).
    seen.lock().unwrap().clear();
    let packet = play::open(&packets[1], &verifier, NOW + 60).unwrap();
    let other = play::play_offline(&mut channel(&cards[2], &seen), &packet.body);
    assert_eq!(other.stage, Stage::Identity, "{}", other.to_text());
    assert!(other.error.clone().unwrap().contains("another card"));
    for c in seen.lock().unwrap().iter() {
        assert!(matches!(c[1], 0xA4 | 0xCA), "sent {}", hex::encode_upper(c));
    }

    // A tampered packet: one byte of one LOAD changed in the file.
    let mut doc: serde_json::Value = serde_json::from_slice(&packets[3]).unwrap();
    let apdu = doc["body"]["commands"][2]["apdu"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = format!(
        "{}{}",
        &apdu[..20],
        if &apdu[20..21] == "0" { "1" } else { "0" }
    ) + &apdu[21..];
    doc["body"]["commands"][2]["apdu"] = serde_json::Value::String(flipped);
    let err = play::open(&serde_json::to_vec(&doc).unwrap(), &verifier, NOW).unwrap_err();
    assert!(matches!(err, ScriptError::Signature(_)), "{err}");
    // Signed by another key holder.
    let stranger = ScriptSigner::generate().unwrap();
    let foreign = stranger
        .sign(Packet::parse(&packets[3]).unwrap().body)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert!(matches!(
        play::open(&foreign, &verifier, NOW),
        Err(ScriptError::Signature(_))
    ));
    // Expired.
    assert!(matches!(
        play::open(&packets[3], &verifier, NOW + 3601),
        Err(ScriptError::Expired(_))
    ));

    // A MAC broken inside a script (as a faulty key holder would sign it):
    // the card answers 6982 and the rollback deletes what was loaded.
    let card = setup.card(99);
    let record = identify(&mut channel(&card, &seen), None).unwrap();
    let mut body = builder.build_offline(&record, NOW, &mut OsRng).unwrap();
    let last = body.commands.len() - 1;
    assert_eq!(body.commands[last].kind, "INSTALL [for install]");
    // The last byte of the data field: the MAC's (a Le may follow).
    let mac = 4 + usize::from(body.commands[last].apdu.0[4]);
    body.commands[last].apdu.0[mac] ^= 0x01;
    let bytes = signer.sign(body).unwrap().to_bytes().unwrap();
    let packet = play::open(&bytes, &verifier, NOW).unwrap();
    let report = play::play_offline(&mut channel(&card, &seen), &packet.body);
    assert!(!report.completed);
    let failed = report.failed_command.clone().unwrap();
    assert_eq!((failed.index, failed.sw.as_str()), (last, "6982"));
    let rollback = report.rollback.clone().unwrap();
    assert!(rollback.completed, "{}", report.to_text());
    assert!(report.to_text().contains("Rollback: done"));
    let listing = registry(setup, &card);
    assert!(
        !listing.contains(PACKAGE) && !listing.contains(APPLET),
        "{listing}"
    );
    assert!(!selectable(&card));

    // The same in a LOAD block halfway: the card holds a partial load when
    // it answers 6982; the rollback's DELETE finds no package (6A88, as
    // good as deleted) and the card is as before.
    let card = setup.card(98);
    let record = identify(&mut channel(&card, &seen), None).unwrap();
    let mut body = builder.build_offline(&record, NOW, &mut OsRng).unwrap();
    let load = body.commands.len() / 2;
    assert_eq!(body.commands[load].kind, "LOAD");
    let mac = 4 + usize::from(body.commands[load].apdu.0[4]);
    body.commands[load].apdu.0[mac] ^= 0x80;
    let bytes = signer.sign(body).unwrap().to_bytes().unwrap();
    let packet = play::open(&bytes, &verifier, NOW).unwrap();
    let report = play::play_offline(&mut channel(&card, &seen), &packet.body);
    let failed = report.failed_command.clone().unwrap();
    assert_eq!((failed.index, failed.sw.as_str()), (load, "6982"));
    assert!(
        report.rollback.clone().unwrap().completed,
        "{}",
        report.to_text()
    );
    let listing = registry(setup, &card);
    assert!(!listing.contains(PACKAGE), "{listing}");
    // And the card takes the package afterwards.
    let record = identify(&mut channel(&card, &seen), None).unwrap();
    let body = builder.build_offline(&record, NOW, &mut OsRng).unwrap();
    let bytes = signer.sign(body).unwrap().to_bytes().unwrap();
    let packet = play::open(&bytes, &verifier, NOW).unwrap();
    let report = play::play_offline(&mut channel(&card, &seen), &packet.body);
    assert!(report.completed, "{}", report.to_text());
    assert!(selectable(&card));
}

#[test]
fn scp03_i10_c_mac() {
    batch(Setup {
        scp02: false,
        i: 0x10,
        level: SecurityLevel::C_MAC,
    });
}

#[test]
fn scp03_i10_c_mac_c_enc() {
    batch(Setup {
        scp02: false,
        i: 0x10,
        level: SecurityLevel::C_MAC_C_ENC,
    });
}

#[test]
fn scp03_i70_c_mac() {
    batch(Setup {
        scp02: false,
        i: 0x70,
        level: SecurityLevel::C_MAC,
    });
}

#[test]
fn scp03_i70_c_mac_c_enc() {
    batch(Setup {
        scp02: false,
        i: 0x70,
        level: SecurityLevel::C_MAC_C_ENC,
    });
}

#[test]
fn scp02_i55_c_mac() {
    batch(Setup {
        scp02: true,
        i: 0x55,
        level: SecurityLevel::C_MAC,
    });
}

#[test]
fn scp02_i55_c_mac_c_enc() {
    batch(Setup {
        scp02: true,
        i: 0x55,
        level: SecurityLevel::C_MAC_C_ENC,
    });
}

/// A random challenge cannot be predicted: offline is refused, with the
/// way out named.
#[test]
fn offline_needs_a_predictable_challenge() {
    let Some(cap) = hello_cap() else { return };
    let setup = Setup {
        scp02: false,
        i: 0x00,
        level: SecurityLevel::C_MAC,
    };
    let card = setup.card(1);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = identify(&mut channel(&card, &seen), None).unwrap();
    let err = setup
        .builder(&cap)
        .build_offline(&record, NOW, &mut OsRng)
        .unwrap_err()
        .to_string();
    assert!(err.contains("online"), "{err}");
}

/// The command line end to end against `jct emu` over TCP: the thin
/// client's `identify` and `play`, the key holder's `keygen`, `build`,
/// `tls-cert`, `serve` and `verify-log`; offline, then online through the
/// TLS service at C-MAC+C-ENC+R-MAC, the R-MACs checked afterwards.
#[test]
fn command_line_offline_and_online() {
    let Some(_) = hello_cap() else { return };
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let api = java::api_jar(dir, Some("3.0.5"));
    let cap = java::build_applet(dir, &api, "hello", None).cap;
    let emu = support::Emu::start_profile(
        false,
        CardProfile {
            scp03_i: 0x70,
            ..CardProfile::default()
        },
    );
    let jct = || {
        let mut c = assert_cmd::Command::cargo_bin("jct").unwrap();
        c.current_dir(dir)
            .env_remove("JCT_KEY")
            .env_remove("JCT_EMU");
        c
    };
    jct()
        .args(["script", "keygen", "--out", "holder"])
        .assert()
        .success();
    let record = jct()
        .args(["script", "identify", "--emu", &emu.addr])
        .output()
        .unwrap();
    assert!(record.status.success());
    std::fs::write(dir.join("cards.jsonl"), &record.stdout).unwrap();
    let key = support::TEST_KEY;
    jct()
        .args(["script", "build", "--cards", "cards.jsonl", "--out", "out"])
        .args([
            "--sign",
            "holder.key",
            "--key",
            key,
            "--mode",
            "enc",
            "--install",
        ])
        .arg(&cap)
        .assert()
        .success();
    let script = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let play = |extra: &[&str]| {
        let mut c = jct();
        c.args(["script", "play"])
            .arg(&script)
            .args(["--pub", "holder.pub", "--emu", &emu.addr])
            .args(extra);
        c.output().unwrap()
    };
    let first = play(&[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("Result: completed"));
    assert!(emu.list().contains(APPLET));
    // Again: refused before EXTERNAL AUTHENTICATE, exit status 1, and why.
    let again = play(&["--json"]);
    assert_eq!(again.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["authenticated"], false);
    assert!(report["error"].as_str().unwrap().contains("counter moved"));
    // The wrong public key: refused before the card is touched.
    jct()
        .args(["script", "keygen", "--out", "stranger"])
        .assert()
        .success();
    jct()
        .args(["script", "play"])
        .arg(&script)
        .args(["--pub", "stranger.pub", "--emu", "127.0.0.1:1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("signature check failed"));

    // Online: the key holder as a TLS service, for a card whose challenge
    // is random (SCP03 i=00 would do too; here the same card).
    jct()
        .args(["script", "tls-cert", "--out", "tls"])
        .assert()
        .success();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("jct"))
        .current_dir(dir)
        .args(["script", "serve", "--listen", &addr, "--tls-dir", "tls"])
        .args(["--sign", "holder.key", "--key", key, "--mode", "rmac"])
        .args(["--delete", PACKAGE, "--install"])
        .arg(&cap)
        .args(["--max-connections", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The listener is up once the service says so on stderr.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serve.stderr.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("serving"), "{line}");
    let online = jct()
        .args([
            "script",
            "play",
            "--server",
            &addr,
            "--server-ca",
            "tls/ca.pem",
        ])
        .args([
            "--pub",
            "holder.pub",
            "--emu",
            &emu.addr,
            "--log",
            "play.log",
        ])
        .output()
        .unwrap();
    let _ = serve.wait();
    assert!(
        online.status.success(),
        "{}",
        String::from_utf8_lossy(&online.stdout)
    );
    assert!(String::from_utf8_lossy(&online.stdout).contains("(Online)"));
    assert!(emu.list().contains(APPLET));
    // The key holder checks the card's R-MACs.
    jct()
        .args(["script", "verify-log", "play.log", "--key", key])
        .assert()
        .success()
        .stdout(predicates::str::contains("0 not authentic"));
}

/// Online mode for cards whose challenge is random (SCP03 i=00, SCP02
/// i=15), keys diversified from the master: the key holder's service in
/// process, every request and reply through the wire framing. And a card
/// too small for the package: LOAD fails, the client asks the key holder
/// for the rollback of that script, and nothing stays on the card.
#[test]
fn online_for_random_challenges_with_rollback() {
    use loader::script::online::{self, Reply, Request, Service};
    let Some(cap) = hello_cap() else { return };
    for (scp02, i) in [(false, 0x00), (true, 0x15)] {
        let setup = Setup {
            scp02,
            i,
            level: SecurityLevel::C_MAC_C_ENC,
        };
        let signer = ScriptSigner::generate().unwrap();
        let verifier = signer.verifier();
        let service = Service {
            builder: setup.builder(&cap),
            signer,
        };
        let requests = std::cell::Cell::new(0);
        let mut exchange = |r: &Request| -> Result<Reply, String> {
            requests.set(requests.get() + 1);
            let mut wire = Vec::new();
            online::write_message(&mut wire, r)?;
            let request: Request = online::read_message(&mut wire.as_slice())?;
            let mut back = Vec::new();
            online::write_message(&mut back, &service.handle(request, NOW))?;
            online::read_message(&mut back.as_slice())
        };
        for n in 0..3 {
            let card = setup.card(n);
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (_, report) = online::play_via_server(
                &mut channel(&card, &seen),
                None,
                &verifier,
                NOW,
                &mut exchange,
            )
            .unwrap();
            assert!(report.completed, "{}", report.to_text());
            assert!(selectable(&card));
        }
        assert_eq!(requests.get(), 3, "one exchange per card");

        let small = setup.card_with_memory(50, 64);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (_, report) = online::play_via_server(
            &mut channel(&small, &seen),
            None,
            &verifier,
            NOW,
            &mut exchange,
        )
        .unwrap();
        assert!(!report.completed);
        let failed = report.failed_command.clone().unwrap();
        assert_eq!(failed.kind, "LOAD", "{}", report.to_text());
        assert!(
            report.rollback.clone().unwrap().completed,
            "{}",
            report.to_text()
        );
        assert_eq!(requests.get(), 5, "the rollback took a second exchange");
        let listing = registry(setup, &small);
        assert!(!listing.contains(PACKAGE), "{listing}");
    }
}

/// A script that personalizes instead of installing: PUT KEY of a new key
/// set (encrypted under the session's Key-DEK by the key holder) and raw
/// commands with wildcard status words; afterwards the card opens a
/// session with the new keys.
#[test]
fn put_key_and_raw_commands_in_a_script() {
    let setup = Setup {
        scp02: false,
        i: 0x70,
        level: SecurityLevel::C_MAC_C_ENC,
    };
    let card = setup.card(7);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = identify(&mut channel(&card, &seen), None).unwrap();
    let new_keys = StaticKeys::single(Key::aes(&[0x5A; 16]).unwrap(), 2);
    let builder = Builder::new(
        Arc::new(setup.keys()),
        setup.level,
        60,
        vec![
            Operation::PutKey {
                keys: new_keys.clone(),
                replace: None,
            },
            Operation::Raw {
                command: gp::CommandApdu::parse(&h("80CA00E000")).unwrap(),
                accept: vec![loader::script::packet::SwPattern::parse("90XX").unwrap()],
            },
        ],
    )
    .with_description("new key set 02");
    let signer = ScriptSigner::generate().unwrap();
    let body = builder.build_offline(&record, NOW, &mut OsRng).unwrap();
    assert!(
        body.rollback.is_none(),
        "nothing loaded, nothing to roll back"
    );
    let bytes = signer.sign(body).unwrap().to_bytes().unwrap();
    let packet = play::open(&bytes, &signer.verifier(), NOW).unwrap();
    let report = play::play_offline(&mut channel(&card, &seen), &packet.body);
    assert!(report.completed, "{}", report.to_text());
    // The new key set opens a session (key version 02, not diversified).
    let mut client = GpClient::over(Box::new(InProcess::shared(Arc::clone(&card))));
    client.select_security_domain(None).unwrap();
    let options = ChannelOptions::new(SoftwareKeys::new(new_keys));
    let info = client.open_secure_channel(&options).unwrap();
    assert_eq!(info.key_version, 2);
}
