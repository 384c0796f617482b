//! Remote personalization end to end: real `jct emu` processes as cards,
//! real `jct station` processes holding them, one real `jct keyserver`
//! driving both stations over TLS 1.3; afterwards every card is checked
//! directly (which keys open it, what it holds) against the audit log.
//! The keys come from the passphrase-encrypted key file, or from a SoftHSM2
//! token of this test process's own (`[keys] backend = "pkcs11"`).

// tests/support and the SoftHSM support both include require.rs, the one
// place that decides skip-or-fail for a missing component.
#![allow(clippy::duplicate_mod)]

mod support;

#[path = "../hsm/tests/support/softhsm.rs"]
mod softhsm;
// pcscd.rs brings its own copy of support/require.rs (it is also used
// without `support`); both decide the same way.
#[cfg(feature = "pcsc")]
#[allow(clippy::duplicate_mod)]
#[path = "support/pcscd.rs"]
mod pcscd;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use loader::client::{ChannelOptions, GpClient};
use loader::transport::vpcd::VpcdClient;
use perso::audit::{AuditLog, JobRecord, SqliteLog};
use scp::keys::{Diversification, KeyType, SoftwareKeys, StaticKeys};

const FACTORY: &str = support::TEST_KEY;
const ISSUER_AES: &str = "00112233445566778899AABBCCDDEEFF";
const ISSUER_DES: &str = "0123456789ABCDEFFEDCBA9876543210";
const WRONG: &str = "DEADBEEFDEADBEEFDEADBEEFDEADBEEF";
const HELLO_PACKAGE: &str = "F00000000101";
const HELLO_APPLET: &str = "F0000000010101";
/// Guard against a hung run; never a measure of speed.
const DEADLINE: Duration = Duration::from_secs(600);

fn jct() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("jct"));
    c.env_remove("JCT_KEY").env_remove("JCT_EMU");
    c
}

fn ok(c: &mut Command) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        c,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `jct emu` process with its state directory; killed when dropped.
struct Card {
    child: Arc<Mutex<Child>>,
    addr: String,
    state: PathBuf,
    cin: String,
    scp02: bool,
}

impl Drop for Card {
    fn drop(&mut self) {
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `jct emu`; with `kill_on_load`, the process is killed as soon
/// as it logs its first LOAD command (the card pulled mid-LOAD).
fn card(dir: &Path, name: &str, scp02: bool, iin: &str, kill_on_load: bool) -> Card {
    card_in(dir, name, scp02, iin, kill_on_load, None)
}

/// [`card`], plugged into pcscd's vpcd driver at `vpcd` when given (the
/// card then sits in a PC/SC reader; its `addr` is that address) instead
/// of listening on TCP.
fn card_in(
    dir: &Path,
    name: &str,
    scp02: bool,
    iin: &str,
    kill_on_load: bool,
    vpcd: Option<&str>,
) -> Card {
    let state = dir.join(name);
    let mut cmd = jct();
    match vpcd {
        Some(addr) => cmd.args(["emu", "--vpcd", addr]),
        None => cmd.args(["emu", "--listen", "127.0.0.1:0"]),
    };
    cmd.args(["--iin", iin, "--state"]).arg(&state);
    if scp02 {
        cmd.args(["--scp", "02"]);
    }
    if kill_on_load {
        cmd.arg("-v");
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut serial = None;
    let addr = loop {
        let line = lines
            .next()
            .expect("jct emu ended before listening")
            .unwrap();
        if let Some(rest) = line.split("jct emu: card ").nth(1) {
            serial = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        if let Some(addr) = vpcd.filter(|_| line.contains("connecting to pcscd's vpcd driver")) {
            break addr.to_string();
        }
    };
    let cin = format!("4A430001{}0001", serial.expect("the card's serial"));
    let child = Arc::new(Mutex::new(child));
    let killer = Arc::clone(&child);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            // C-MAC'd LOAD: CLA 84, INS E8.
            if kill_on_load && line.trim_start().starts_with("> 84E8") {
                if let Ok(mut c) = killer.lock() {
                    let _ = c.kill();
                }
            }
        }
    });
    Card {
        child,
        addr,
        state,
        cin,
        scp02,
    }
}

/// A `jct station` process; its control address from its first JSON event.
struct Station {
    child: Child,
    control: String,
}

impl Drop for Station {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn station(pki: &Path, name: &str, listen: &str, cards: &[&Card]) -> Station {
    let readers: Vec<String> = cards.iter().map(|c| c.addr.clone()).collect();
    station_events(pki, name, listen, &readers).0
}

/// A `jct station` with the readers `-r` names, and its `--json` events
/// as they come.
fn station_events(pki: &Path, name: &str, listen: &str, readers: &[String]) -> (Station, Events) {
    let mut cmd = jct();
    cmd.args([
        "station",
        "--json",
        "--poll-ms",
        "50",
        "--name",
        name,
        "--listen",
        listen,
        "--tls-dir",
    ])
    .arg(pki);
    for r in readers {
        cmd.args(["-r", r]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("jct station ended at once").unwrap();
    let event: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(event["event"], "listening", "{first}");
    let control = event["control"].as_str().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end whether or not anyone listens: a full pipe
        // would stop the station.
        for line in lines.map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    (
        Station { child, control },
        Events {
            rx,
            seen: Vec::new(),
        },
    )
}

/// A station's `--json` events, read in order.
struct Events {
    rx: std::sync::mpsc::Receiver<serde_json::Value>,
    seen: Vec<serde_json::Value>,
}

impl Events {
    /// The next event for which `want` holds (the ones before it are
    /// passed over); fails after `limit`, listing what came.
    fn until(
        &mut self,
        what: &str,
        limit: Duration,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if want(&e) {
                        return e;
                    }
                }
                Err(_) => panic!(
                    "no station event: {what} within {limit:?}; events: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// The next state event of reader 0 whose state is `state`.
    fn state(&mut self, state: &str, limit: Duration) -> serde_json::Value {
        self.until(&format!("reader state {state}"), limit, |e| {
            e["event"] == "reader" && e["reader"] == 0 && e["state"] == state
        })
    }
}

struct KeyServerProc {
    child: Child,
}

impl Drop for KeyServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The PKI, the key file and the jobs in `dir`.
fn setup(dir: &Path) -> PathBuf {
    let pki = dir.join("pki");
    ok(jct().args(["keyserver", "init", "--out"]).arg(&pki).args([
        "--station",
        "s1",
        "--station",
        "s2",
    ]));
    let keys = dir.join("keys.json");
    ok(jct()
        .args(["keyserver", "keyfile", "new"])
        .arg(&keys)
        .env("JCT_KEYFILE_PASSPHRASE", "pw"));
    for (name, key, kvn) in [
        ("factory-aes", FACTORY, "1"),
        ("factory-des", FACTORY, "1"),
        ("issuer-aes", ISSUER_AES, "0x30"),
        ("issuer-des", ISSUER_DES, "0x31"),
        ("wrong", WRONG, "1"),
    ] {
        ok(jct()
            .args(["keyserver", "keyfile", "add"])
            .arg(&keys)
            .args([name, "--key-ver", kvn])
            .env("JCT_KEYFILE_PASSPHRASE", "pw")
            .env("JCT_KEY", key));
    }
    let hello = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/hello.cap");
    std::fs::write(
        dir.join("hello.toml"),
        format!(
            "security_level = \"mac\"\nretries = 1\n[[install]]\ncap = {:?}\n[put_keys]\n",
            hello.display().to_string()
        ),
    )
    .unwrap();
    let (_, big) = largest_corpus_cap();
    std::fs::write(
        dir.join("big.toml"),
        format!(
            "[[install]]\ncap = {:?}\n[put_keys]\n",
            big.display().to_string()
        ),
    )
    .unwrap();
    pki
}

fn largest_corpus_cap() -> (u64, PathBuf) {
    std::fs::read_dir(support::shared().join("cap-corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cap"))
        .map(|p| (std::fs::metadata(&p).unwrap().len(), p))
        .max()
        .unwrap()
}

/// `[keys]` of the key file (its passphrase in the key server's environment).
const FILE_KEYS: &str = "file = \"keys.json\"\n";

fn config(dir: &Path, stations: &[(&str, &str)]) -> PathBuf {
    config_with(
        dir,
        "keyserver",
        FILE_KEYS,
        "sqlite = \"audit.db\"",
        stations,
    )
}

/// A key server configuration named `name`, with `keys` as its [keys] and
/// `audit` as its [audit].
fn config_with(
    dir: &Path,
    name: &str,
    keys: &str,
    audit: &str,
    stations: &[(&str, &str)],
) -> PathBuf {
    let mut text = format!(
        "name = \"{name}\"\ntls_dir = \"pki\"\n[audit]\n{audit}\n[jobs]\ndefault = \"hello.toml\"\nbig = \"big.toml\"\n",
    );
    for (name, addr) in stations {
        text += &format!(
            "[[station]]\nname = \"{name}\"\naddress = \"{addr}\"\nserver_name = \"localhost\"\n"
        );
    }
    text += "[[card]]\nname = \"aes\"\niin = \"A1\"\ntransport_keys = \"factory-aes\"\nissuer_keys = \"issuer-aes\"\nissuer_diversification = \"kdf3\"\n";
    text += "[[card]]\nname = \"aes-big\"\niin = \"A9\"\ntransport_keys = \"factory-aes\"\nissuer_keys = \"issuer-aes\"\nissuer_diversification = \"kdf3\"\njob = \"big\"\n";
    text += "[[card]]\nname = \"des\"\niin = \"B2\"\ntransport_keys = \"factory-des\"\nissuer_keys = \"issuer-des\"\nissuer_diversification = \"emv\"\n";
    text += "[[card]]\nname = \"jcardsim\"\niin = \"6A6374\"\ntransport_keys = \"factory-aes\"\nissuer_keys = \"issuer-aes\"\nissuer_diversification = \"kdf3\"\n";
    text += "[[card]]\nname = \"des-wrong-master\"\niin = \"C3\"\ntransport_keys = \"wrong\"\nissuer_keys = \"issuer-des\"\nissuer_diversification = \"emv\"\n";
    // TOML keeps [keys] whole when it comes last.
    text += &format!("[keys]\n{keys}");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn keyserver(config: &Path) -> KeyServerProc {
    keyserver_logged(config, None, None)
}

/// The key server, its events (stdout) and messages (stderr) written to
/// `log` when given, reaching the SoftHSM2 token `hsm` when given.
fn keyserver_logged(
    config: &Path,
    log: Option<&Path>,
    hsm: Option<&softhsm::SoftHsm>,
) -> KeyServerProc {
    let (out, err) = match log {
        Some(p) => {
            let f = std::fs::File::create(p).unwrap();
            (Stdio::from(f.try_clone().unwrap()), Stdio::from(f))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let mut cmd = jct();
    cmd.args(["keyserver", "--json", "--config"])
        .arg(config)
        .env("JCT_KEYFILE_PASSPHRASE", "pw");
    if let Some(s) = hsm {
        cmd.env("SOFTHSM2_CONF", &s.conf);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    KeyServerProc { child }
}

/// This process's SoftHSM2 token with the tests' key sets in it, imported
/// once with `jct hsm import` before any key server opens the token (key
/// servers only read it, so no two processes ever write it at once). None
/// when SoftHSM2 is missing outside CI; under CI a missing SoftHSM2 fails.
fn softhsm_keys() -> Option<&'static softhsm::SoftHsm> {
    static IMPORTED: OnceLock<Option<&'static softhsm::SoftHsm>> = OnceLock::new();
    *IMPORTED.get_or_init(|| {
        let s = softhsm::softhsm()?;
        for (label, kind, key, kvn) in [
            ("factory-aes", "aes", FACTORY, "1"),
            ("factory-des", "des3", FACTORY, "1"),
            ("issuer-aes", "aes", ISSUER_AES, "0x30"),
            ("issuer-des", "des3", ISSUER_DES, "0x31"),
            ("wrong", "des3", WRONG, "1"),
        ] {
            let mut c = assert_cmd::Command::cargo_bin("jct").unwrap();
            c.env("SOFTHSM2_CONF", &s.conf)
                .env("JCT_HSM_PIN", softhsm::PIN)
                .args(["hsm", "import", "--module", softhsm::MODULE, "--token"])
                .args([softhsm::TOKEN, "--label", label, "--kind", kind])
                .args(["--key-ver", kvn])
                .write_stdin(format!("{key}\n"))
                .assert()
                .success();
        }
        Some(s)
    })
}

/// `[keys]` for the token, the PIN in a file of `dir`; `clear_keys` as given.
fn hsm_keys(dir: &Path, clear_keys: &str) -> String {
    std::fs::write(dir.join("hsm-pin.txt"), format!("{}\n", softhsm::PIN)).unwrap();
    format!(
        "backend = \"pkcs11\"\nmodule = \"{}\"\ntoken = \"{}\"\npin_file = \"hsm-pin.txt\"\n\
         clear_keys = \"{clear_keys}\"\n\
         [keys.sets.issuer-aes]\nversion = 0x30\n\
         [keys.sets.issuer-des]\nlabel = \"issuer-des\"\nversion = 0x31\n",
        softhsm::MODULE,
        softhsm::TOKEN
    )
}

/// Waits until `done` holds for the audit log's rows (polling the file).
fn wait_for(db: &Path, what: &str, done: impl Fn(&[JobRecord]) -> bool) -> Vec<JobRecord> {
    wait_rows(
        &|| {
            if db.exists() {
                SqliteLog::open(db).and_then(|l| l.all()).ok()
            } else {
                None
            }
        },
        what,
        done,
    )
}

fn wait_rows(
    read: &dyn Fn() -> Option<Vec<JobRecord>>,
    what: &str,
    done: impl Fn(&[JobRecord]) -> bool,
) -> Vec<JobRecord> {
    let start = Instant::now();
    loop {
        {
            if let Some(rows) = read() {
                if done(&rows) {
                    return rows;
                }
                if start.elapsed() > DEADLINE {
                    panic!("gave up waiting for {what}; audit log: {rows:#?}");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The latest row of each card.
fn latest(rows: &[JobRecord]) -> HashMap<String, JobRecord> {
    let mut m = HashMap::new();
    for r in rows {
        m.insert(r.card.clone(), r.clone());
    }
    m
}

/// What a card holds, read directly: whether `keys` open it, and its
/// applications' and load files' AIDs.
fn inspect(
    addr: &str,
    key: &str,
    kvn: u8,
    method: Diversification,
) -> Result<(Vec<String>, Vec<String>), String> {
    inspect_kdd(addr, key, kvn, method).map(|(apps, files, _)| (apps, files))
}

/// A card's applications, load files (AIDs, hex) and KDD.
type Holdings = (Vec<String>, Vec<String>, [u8; 10]);

/// As [`inspect`], with the card's key diversification data.
fn inspect_kdd(
    addr: &str,
    key: &str,
    kvn: u8,
    method: Diversification,
) -> Result<Holdings, String> {
    let t = VpcdClient::connect(addr).map_err(|e| e.to_string())?;
    let mut c = GpClient::over(Box::new(t));
    c.select_security_domain(None).map_err(|e| e.to_string())?;
    let k = hex::decode(key).unwrap();
    let keys = SoftwareKeys::from_bytes(&k, &k, &k, kvn).diversified(method);
    let info = c
        .open_secure_channel(&ChannelOptions::new(keys))
        .map_err(|e| e.to_string())?;
    let reg = c.list().map_err(|e| e.to_string())?;
    let aids = |v: &[gp::registry::Entry]| {
        v.iter()
            .map(|e| hex::encode_upper(&e.aid))
            .collect::<Vec<_>>()
    };
    Ok((aids(&reg.applications), aids(&reg.load_files), info.kdd))
}

/// The card's own keys (ENC, MAC, DEK), diversified from the issuer master
/// for its KDD: what must never show in a log.
fn card_keys(card: &Card) -> Vec<Vec<u8>> {
    let (key, kvn, method) = issuer(card);
    let (_, _, kdd) = inspect_kdd(&card.addr, key, kvn, method).unwrap();
    let kind = if card.scp02 {
        KeyType::Des3
    } else {
        KeyType::Aes
    };
    let k = hex::decode(key).unwrap();
    let keys = StaticKeys::from_bytes(kind, &k, &k, &k, kvn)
        .unwrap()
        .diversify(method, &kdd)
        .unwrap();
    [keys.enc, keys.mac, keys.dek]
        .iter()
        .map(|k| k.expose_secret().to_vec())
        .collect()
}

/// Fails when any of `secrets` is in `bytes` (as hex in either case, or
/// raw); `what` names the place.
fn assert_absent(what: &str, bytes: &[u8], secrets: &[Vec<u8>]) {
    let text = String::from_utf8_lossy(bytes).to_ascii_uppercase();
    for s in secrets {
        assert!(
            !text.contains(&hex::encode_upper(s)),
            "{what} shows a key or the PIN as hex"
        );
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_slice()),
            "{what} holds a key or the PIN in raw bytes"
        );
    }
}

fn issuer(card: &Card) -> (&'static str, u8, Diversification) {
    if card.scp02 {
        (ISSUER_DES, 0x31, Diversification::EmvCps11)
    } else {
        (ISSUER_AES, 0x30, Diversification::Kdf3)
    }
}

/// A personalized card: the new keys open it (the factory keys no longer
/// do) and it holds the hello applet.
fn assert_personalized(card: &Card) {
    let (key, kvn, method) = issuer(card);
    let (apps, files) = inspect(&card.addr, key, kvn, method)
        .unwrap_or_else(|e| panic!("{}: new keys: {e}", card.cin));
    assert!(
        apps.contains(&HELLO_APPLET.to_string()),
        "{}: {apps:?}",
        card.cin
    );
    assert!(
        files.contains(&HELLO_PACKAGE.to_string()),
        "{}: {files:?}",
        card.cin
    );
    assert!(
        inspect(&card.addr, FACTORY, 0, Diversification::None).is_err(),
        "{}: factory keys still open it",
        card.cin
    );
}

/// An untouched card: the factory keys open it and nothing is loaded.
fn assert_untouched(card: &Card) {
    let (apps, files) = inspect(&card.addr, FACTORY, 0, Diversification::None)
        .unwrap_or_else(|e| panic!("{}: factory keys: {e}", card.cin));
    assert!(
        apps.is_empty(),
        "{}: half-written: applications {apps:?}",
        card.cin
    );
    // The card's ROM packages (the Java Card and GlobalPlatform APIs) are
    // listed too; nothing else may be.
    let loaded: Vec<&String> = files
        .iter()
        .filter(|f| !f.starts_with("A000000062") && !f.starts_with("A000000151"))
        .collect();
    assert!(
        loaded.is_empty(),
        "{}: half-written: load files {loaded:?}",
        card.cin
    );
}

/// Where the 32-card runs keep their keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    File,
    SoftHsm2,
}

impl Backend {
    /// The SoftHSM2 token for this backend (`Some(None)` for the key file);
    /// `None` when SoftHSM2 is missing and the test is to skip.
    fn token(self) -> Option<Option<&'static softhsm::SoftHsm>> {
        match self {
            Backend::File => Some(None),
            Backend::SoftHsm2 => softhsm_keys().map(Some),
        }
    }

    /// The key server's [keys] for this backend. SoftHSM2 lacks what EMV
    /// diversification and SCP02 PUT KEY need inside the token (see the
    /// README): those card keys may pass through the key server.
    fn keys(self, dir: &Path) -> String {
        match self {
            Backend::File => FILE_KEYS.to_string(),
            Backend::SoftHsm2 => hsm_keys(dir, "allow-where-token-lacks"),
        }
    }
}

/// 2 stations × 16 emulated cards, one key server: all 32 personalized,
/// and the audit log says so for each; one more card, of a type whose
/// transport key set is wrong, fails at authentication and is untouched.
/// Says how long the key server took.
fn thirty_two_cards(backend: Backend) {
    let Some(hsm) = backend.token() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let aes: Vec<Card> = (0..16)
        .map(|i| card(dir.path(), &format!("a{i}"), false, "A1", false))
        .collect();
    let des: Vec<Card> = (0..16)
        .map(|i| card(dir.path(), &format!("d{i}"), true, "B2", false))
        .collect();
    let wrong = card(dir.path(), "w0", true, "C3", false);
    let mut on2: Vec<&Card> = des.iter().collect();
    on2.push(&wrong);
    let s1 = station(&pki, "s1", "127.0.0.1:0", &aes.iter().collect::<Vec<_>>());
    let s2 = station(&pki, "s2", "127.0.0.1:0", &on2);
    let keys = backend.keys(dir.path());
    let cfg = config_with(
        dir.path(),
        "keyserver",
        &keys,
        "sqlite = \"audit.db\"",
        &[("s1", &s1.control), ("s2", &s2.control)],
    );
    let log = dir.path().join("keyserver.log");
    let started = Instant::now();
    let ks = keyserver_logged(&cfg, Some(&log), hsm);
    let all: Vec<&Card> = aes.iter().chain(&des).collect();
    let db = dir.path().join("audit.db");
    let rows = wait_for(&db, "33 jobs", |rows| {
        let l = latest(rows);
        all.iter()
            .chain([&&wrong])
            .all(|c| l.get(&c.cin).is_some_and(|r| r.state != "running"))
    });
    let took = started.elapsed();
    drop(ks);
    drop(s1);
    drop(s2);
    let l = latest(&rows);
    // The jobs' own span: first start to last end of the 32, from the audit log.
    let span = {
        let ok: Vec<&JobRecord> = all.iter().map(|c| &l[&c.cin]).collect();
        let first = ok.iter().map(|r| r.started_ms).min().unwrap_or(0);
        let last = ok.iter().filter_map(|r| r.ended_ms).max().unwrap_or(first);
        last - first
    };
    eprintln!(
        "32 cards personalized with the {} key backend: jobs {span} ms (first start to last end), \
         {:.2} s from key server start (polled every 200 ms)",
        match backend {
            Backend::File => "file",
            Backend::SoftHsm2 => "pkcs11 (SoftHSM2)",
        },
        took.as_secs_f64()
    );
    for c in &all {
        let r = &l[&c.cin];
        assert_eq!(r.state, "ok", "{r:#?}");
        assert_eq!(r.card_type, if c.scp02 { "des" } else { "aes" });
        assert!(r.apdus.unwrap_or(0) > 5, "{r:#?}");
        assert_personalized(c);
    }
    assert_eq!(
        rows.iter().filter(|r| r.state == "ok").count(),
        32,
        "{rows:#?}"
    );
    let r = &l[&wrong.cin];
    assert_eq!(r.state, "failed", "{r:#?}");
    assert_eq!(
        r.step.as_deref(),
        Some("authenticate (transport keys)"),
        "{r:#?}"
    );
    assert!(
        r.message
            .as_deref()
            .unwrap_or("")
            .contains("des-wrong-master"),
        "{r:#?}"
    );
    assert_untouched(&wrong);

    // No key — master, transport or any card's own — and not the PIN in
    // the key server's output or in the audit log.
    let mut secrets: Vec<Vec<u8>> = [FACTORY, ISSUER_AES, ISSUER_DES, WRONG]
        .iter()
        .map(|k| hex::decode(k).unwrap())
        .collect();
    secrets.push(softhsm::PIN.as_bytes().to_vec());
    for c in &all {
        secrets.extend(card_keys(c));
    }
    let output = std::fs::read(&log).unwrap();
    assert!(!output.is_empty(), "the key server wrote no events");
    assert_absent("the key server's output", &output, &secrets);
    // The database and what the audit log API gives back.
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let p = file.unwrap().path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("audit.db"))
        {
            assert_absent(
                &p.display().to_string(),
                &std::fs::read(&p).unwrap(),
                &secrets,
            );
        }
    }
    assert_absent("the audit rows", format!("{rows:?}").as_bytes(), &secrets);
}

#[test]
fn two_stations_sixteen_cards_each_all_personalized() {
    thirty_two_cards(Backend::File);
}

/// The same with the master keys in a SoftHSM2 token: sessions, card keys
/// and the sealed new keys all from the token.
#[test]
fn two_stations_sixteen_cards_each_keys_in_softhsm2() {
    thirty_two_cards(Backend::SoftHsm2);
}

/// With `clear_keys = "refuse"` (the default) every card key stays in the
/// token: an SCP03 card (KDF3 and AES wrapping in the token) is
/// personalized; an SCP02 card with EMV diversification is not (SoftHSM2
/// through cryptoki can neither derive its keys nor wrap with 3DES), and
/// its job fails at PUT KEY naming what is missing, and rolls back.
#[test]
fn softhsm2_refusing_clear_card_keys_fails_scp02_put_key_only() {
    let Some(hsm) = softhsm_keys() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let a = card(dir.path(), "a0", false, "A1", false);
    let d = card(dir.path(), "d0", true, "B2", false);
    let s1 = station(&pki, "s1", "127.0.0.1:0", &[&a, &d]);
    let keys = hsm_keys(dir.path(), "refuse");
    let cfg = config_with(
        dir.path(),
        "keyserver",
        &keys,
        "sqlite = \"audit.db\"",
        &[("s1", &s1.control)],
    );
    let ks = keyserver_logged(&cfg, None, Some(hsm));
    let rows = wait_for(&dir.path().join("audit.db"), "2 jobs", |rows| {
        let l = latest(rows);
        [&a, &d]
            .iter()
            .all(|c| l.get(&c.cin).is_some_and(|r| r.state != "running"))
    });
    drop(ks);
    drop(s1);
    let l = latest(&rows);
    assert_eq!(l[&a.cin].state, "ok", "{:#?}", l[&a.cin]);
    assert_personalized(&a);
    let r = &l[&d.cin];
    assert_eq!(r.state, "failed", "{r:#?}");
    assert_eq!(r.step.as_deref(), Some("PUT KEY"), "{r:#?}");
    let message = r.message.as_deref().unwrap_or("");
    assert!(
        message.contains("emv diversification cannot run inside the token")
            && message.contains("clear_keys = \"refuse\""),
        "{r:#?}"
    );
    assert_eq!(r.rolled_back, Some(true), "{r:#?}");
    assert_eq!(r.keys_changed, Some(false), "{r:#?}");
    assert_untouched(&d);
}

/// Faults, while healthy cards finish: a card pulled mid-LOAD (its
/// emulator killed), a card type with a wrong master key, and a station
/// killed and restarted (its connection cut) — after which it takes jobs
/// again. Nothing half-written anywhere; the audit log agrees with every
/// card.
#[test]
fn faults_fail_their_own_jobs_only() {
    faults(Backend::File);
}

/// The same faults with the master keys in a SoftHSM2 token.
#[test]
fn faults_fail_their_own_jobs_only_keys_in_softhsm2() {
    faults(Backend::SoftHsm2);
}

fn faults(backend: Backend) {
    let Some(hsm) = backend.token() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let healthy1: Vec<Card> = (0..3)
        .map(|i| card(dir.path(), &format!("a{i}"), false, "A1", false))
        .collect();
    let victim = card(dir.path(), "victim", false, "A9", true);
    let healthy2: Vec<Card> = (0..3)
        .map(|i| card(dir.path(), &format!("d{i}"), true, "B2", false))
        .collect();
    let wrong: Vec<Card> = (0..2)
        .map(|i| card(dir.path(), &format!("w{i}"), true, "C3", false))
        .collect();
    let mut on1: Vec<&Card> = healthy1.iter().collect();
    on1.push(&victim);
    let on2: Vec<&Card> = healthy2.iter().chain(&wrong).collect();
    let s1 = station(&pki, "s1", "127.0.0.1:0", &on1);
    let mut s2 = station(&pki, "s2", "127.0.0.1:0", &on2);
    let s2_control = s2.control.clone();
    let keys = backend.keys(dir.path());
    let cfg = config_with(
        dir.path(),
        "keyserver",
        &keys,
        "sqlite = \"audit.db\"",
        &[("s1", &s1.control), ("s2", &s2_control)],
    );
    let ks = keyserver_logged(&cfg, None, hsm);
    let db = dir.path().join("audit.db");
    // The station's connection is cut once it has started jobs.
    wait_for(&db, "a job on s2", |rows| {
        rows.iter().any(|r| r.station == "s2")
    });
    let _ = s2.child.kill();
    let _ = s2.child.wait();
    let rows_at_cut = SqliteLog::open(&db).unwrap().all().unwrap().len();
    // It comes back on the same address and takes jobs again.
    s2 = station(&pki, "s2", &s2_control, &on2);
    let rows = wait_for(&db, "every card's job after the cut", |rows| {
        let l = latest(rows);
        let done = |c: &Card| l.get(&c.cin).is_some_and(|r| r.state != "running");
        // Each of s2's cards has had a job since the station came back.
        let since_cut = |c: &Card| {
            rows[rows_at_cut.min(rows.len())..]
                .iter()
                .any(|r| r.card == c.cin && r.state != "running")
        };
        healthy1.iter().chain(&healthy2).chain(&wrong).all(done)
            && done(&victim)
            && healthy2.iter().chain(&wrong).all(since_cut)
    });
    drop(ks);
    drop(s1);
    drop(s2);
    let l = latest(&rows);
    for c in healthy1.iter().chain(&healthy2) {
        assert_eq!(l[&c.cin].state, "ok", "{:#?}", l[&c.cin]);
        assert_personalized(c);
    }
    for c in &wrong {
        let r = &l[&c.cin];
        assert_eq!(r.state, "failed", "{r:#?}");
        assert_eq!(
            r.step.as_deref(),
            Some("authenticate (transport keys)"),
            "{r:#?}"
        );
        assert!(
            r.message
                .as_deref()
                .unwrap_or("")
                .contains("des-wrong-master"),
            "{r:#?}"
        );
        assert_untouched(c);
    }
    let v = &l[&victim.cin];
    assert_eq!(v.state, "failed", "{v:#?}");
    assert!(
        v.step.as_deref().unwrap_or("").starts_with("LOAD block"),
        "{v:#?}"
    );
    assert_eq!(v.card_type, "aes-big");
    // The pulled card, put back: nothing of the load was kept.
    let revived = {
        let mut cmd = jct();
        cmd.args(["emu", "--listen", "127.0.0.1:0", "--state"])
            .arg(&victim.state);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("jct emu ended").unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Card {
            child: Arc::new(Mutex::new(child)),
            addr,
            state: victim.state.clone(),
            cin: victim.cin.clone(),
            scp02: false,
        }
    };
    assert_untouched(&revived);
    // No job is left running.
    assert!(rows.iter().all(|r| r.state != "running"), "{rows:#?}");
}

/// Two key servers, one PostgreSQL: each drives its own station, both
/// write one shared job table, and the table refuses a second running job
/// for a card whichever server asks.
#[test]
fn two_key_servers_share_one_postgresql_job_table() {
    let Some(pg) = support::postgres::Postgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let aes: Vec<Card> = (0..4)
        .map(|i| card(dir.path(), &format!("a{i}"), false, "A1", false))
        .collect();
    let des: Vec<Card> = (0..4)
        .map(|i| card(dir.path(), &format!("d{i}"), true, "B2", false))
        .collect();
    let s1 = station(&pki, "s1", "127.0.0.1:0", &aes.iter().collect::<Vec<_>>());
    let s2 = station(&pki, "s2", "127.0.0.1:0", &des.iter().collect::<Vec<_>>());
    let audit = format!("postgres = \"{}\"", pg.conninfo());
    let ka = keyserver(&config_with(
        dir.path(),
        "ks-a",
        FILE_KEYS,
        &audit,
        &[("s1", &s1.control)],
    ));
    let kb = keyserver(&config_with(
        dir.path(),
        "ks-b",
        FILE_KEYS,
        &audit,
        &[("s2", &s2.control)],
    ));
    let conninfo = pg.conninfo();
    let all: Vec<&Card> = aes.iter().chain(&des).collect();
    let rows = wait_rows(
        &|| {
            perso::audit::PostgresLog::connect(&conninfo)
                .and_then(|l| l.all())
                .ok()
        },
        "8 jobs in PostgreSQL",
        |rows| {
            let l = latest(rows);
            all.iter()
                .all(|c| l.get(&c.cin).is_some_and(|r| r.state != "running"))
        },
    );
    drop(ka);
    drop(kb);
    drop(s1);
    drop(s2);
    let l = latest(&rows);
    for c in &all {
        let r = &l[&c.cin];
        assert_eq!(r.state, "ok", "{r:#?}");
        assert_eq!(r.instance, if c.scp02 { "ks-b" } else { "ks-a" }, "{r:#?}");
        assert_personalized(c);
    }
    // The job table: one running job per card, across connections.
    let one = perso::audit::PostgresLog::connect(&pg.conninfo()).unwrap();
    let two = perso::audit::PostgresLog::connect(&pg.conninfo()).unwrap();
    let start = perso::audit::JobStart {
        instance: "ks-a".into(),
        station: "s1".into(),
        reader: "0".into(),
        request_id: "x".into(),
        card: "CARD-X".into(),
        cin: None,
        iin: None,
        cplc: None,
        card_type: "aes".into(),
        job: "default".into(),
        attempt: 1,
    };
    let id = one.start(&start).unwrap();
    assert!(matches!(
        two.start(&start),
        Err(perso::audit::AuditError::Busy { .. })
    ));
    one.finish(
        id,
        &perso::audit::JobEnd {
            ok: true,
            step: None,
            sw: None,
            message: "done".into(),
            apdus: 1,
            rolled_back: false,
            keys_changed: false,
        },
    )
    .unwrap();
    two.start(&start).unwrap();
}

/// A job refused after its LOAD (STORE DATA to the ISD, whose certificate
/// store refuses a block that is not A6 {83} BF21 {chain}: 6A80) fails naming the step and the status word, and rolls
/// back: the card holds nothing of it, its keys are unchanged.
#[test]
fn a_refusal_after_load_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let hello = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/hello.cap");
    std::fs::write(
        dir.path().join("hello.toml"),
        format!(
            "[[install]]\ncap = {:?}\n[store_data]\nfile = \"data.json\"\n[put_keys]\n",
            hello.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("data.json"),
        r#"{"default": ["DF0102AABB"]}"#,
    )
    .unwrap();
    let c = card(dir.path(), "a0", false, "A1", false);
    let s = station(&pki, "s1", "127.0.0.1:0", &[&c]);
    let ks = keyserver(&config(dir.path(), &[("s1", &s.control)]));
    let rows = wait_for(&dir.path().join("audit.db"), "the job", |rows| {
        rows.iter().any(|r| r.state != "running")
    });
    drop(ks);
    drop(s);
    let r = &rows[0];
    assert_eq!(r.state, "failed", "{r:#?}");
    assert_eq!(r.step.as_deref(), Some("STORE DATA block 1/1"), "{r:#?}");
    assert_eq!(r.sw.as_deref(), Some("6A80"), "{r:#?}");
    assert_eq!(r.rolled_back, Some(true), "{r:#?}");
    assert_eq!(r.keys_changed, Some(false), "{r:#?}");
    assert_untouched(&c);
}

/// Per-card personalization data for an applet: the job installs
/// applets/perso-data and names it in `[store_data] applet`, so each card
/// gets INSTALL [for personalization] and the STORE DATA blocks of its own
/// CIN from the data file, which the applet then reads back (GET DATA);
/// a card whose CIN the file does not list gets the "default" blocks.
#[test]
fn store_data_reaches_the_applet_with_each_cards_own_data() {
    if !support::require::javac() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let api = support::java::api_jar(dir.path(), None);
    let cap = support::java::build_applet(dir.path(), &api, "perso-data", None).cap;
    let applet = "F000000001A501";
    std::fs::write(
        dir.path().join("hello.toml"),
        format!(
            "[[install]]\ncap = {:?}\n[store_data]\nfile = \"data.json\"\napplet = \"{applet}\"\n",
            cap.display().to_string()
        ),
    )
    .unwrap();
    let cards = [
        card(dir.path(), "a0", false, "A1", false),
        card(dir.path(), "a1", false, "A1", false),
        card(dir.path(), "a2", false, "A1", false),
    ];
    // Tag 01: the card's own CIN; tag 02 the same for the first two.
    let mut data = serde_json::Map::new();
    for c in &cards[..2] {
        data.insert(
            c.cin.clone(),
            serde_json::json!([format!("01{:02X}{}", c.cin.len() / 2, c.cin), "020155"]),
        );
    }
    data.insert("default".into(), serde_json::json!(["0101DD"]));
    std::fs::write(
        dir.path().join("data.json"),
        serde_json::Value::Object(data).to_string(),
    )
    .unwrap();
    let refs: Vec<&Card> = cards.iter().collect();
    let s = station(&pki, "s1", "127.0.0.1:0", &refs);
    let ks = keyserver(&config(dir.path(), &[("s1", &s.control)]));
    let rows = wait_for(&dir.path().join("audit.db"), "the jobs", |rows| {
        rows.len() == cards.len() && rows.iter().all(|r| r.state != "running")
    });
    drop(ks);
    drop(s);
    for r in &rows {
        assert_eq!(r.state, "ok", "{r:#?}");
    }
    for (i, c) in cards.iter().enumerate() {
        let out = jct()
            .args(["apdu", "--emu", &c.addr, "--select", applet])
            .args(["80CA000100", "80CA000200"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let expected = if i < 2 {
            format!("9000\n{}9000\n559000\n", c.cin)
        } else {
            "9000\nDD9000\n6A88\n".to_string()
        };
        assert_eq!(
            text,
            expected,
            "{}: {}",
            c.cin,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A PC/SC reader (pcscd with vsmartcard's vpcd driver) in a station: a
/// card inserted (`jct emu --vpcd` plugs in) is noticed, identified and
/// announced in a personalization request; removed (the emulator
/// stopped), the reader is empty again. With a key server, a card pulled
/// mid-LOAD fails its job with a result naming the LOAD block, on the
/// station's events and in the audit log, and the reader, empty again,
/// personalizes the next card. Under CI a missing pcscd or vpcd fails.
#[cfg(feature = "pcsc")]
#[test]
fn a_pcsc_reader_notices_cards_coming_and_going() {
    let Some(daemon) = pcscd::require_pcscd() else {
        return;
    };
    let vpcd = gp::vpcd_frame::pcscd_vpcd_default_addr();
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let reader = format!("pcsc:{}", pcscd::READER);
    let (s, mut events) = station_events(&pki, "s1", "127.0.0.1:0", &[reader]);
    let wait = Duration::from_secs(60);
    let empty = events.state("empty", wait);
    assert_eq!(empty["name"], format!("pcsc:{}", pcscd::READER), "{empty}");

    // Inserted: present, then a request with the card's identification.
    let c = card_in(dir.path(), "a0", false, "A1", false, Some(&vpcd));
    events.state("present", wait);
    let request = events.until("a request", wait, |e| e["event"] == "request");
    assert_eq!(request["reader"], 0, "{request}");
    assert_eq!(request["card"]["iin"], "A1", "{request}");
    assert_eq!(request["card"]["cin"], c.cin.as_str(), "{request}");
    assert_eq!(request["card"]["security_domain"], "A000000151000000");
    events.state("waiting", wait);
    // Removed: the reader says so, without a command sent to find out.
    drop(c);
    let gone = events.state("empty", wait);
    assert_eq!(gone["detail"], "card removed", "{gone}");

    // A key server; a card pulled at its first LOAD block.
    let ks = keyserver(&config(dir.path(), &[("s1", &s.control)]));
    events.until("the key server", wait, |e| {
        e["event"] == "key_server" && e["connected"] == true
    });
    let victim = card_in(dir.path(), "victim", false, "A9", true, Some(&vpcd));
    let mark = events.seen.len();
    events.state("present", wait);
    let request = events.until("the victim's request", wait, |e| e["event"] == "request");
    assert_eq!(request["card"]["cin"], victim.cin.as_str(), "{request}");
    events.state("personalizing", wait);
    let result = events.until("the victim's result", Duration::from_secs(300), |e| {
        e["event"] == "result"
    });
    assert_eq!(result["id"], request["id"], "{result}");
    assert_eq!(result["ok"], false, "{result}");
    assert!(
        result["step"]
            .as_str()
            .unwrap_or("")
            .starts_with("LOAD block"),
        "{result}"
    );
    // The removal, noticed before or after the result came.
    let removed = |e: &serde_json::Value| {
        e["event"] == "reader" && e["state"] == "empty" && e["detail"] == "card removed"
    };
    if !events.seen[mark..].iter().any(removed) {
        events.until("the victim's removal", wait, removed);
    }
    let db = dir.path().join("audit.db");
    let rows = wait_for(&db, "the victim's job", |rows| {
        rows.iter()
            .any(|r| r.card == victim.cin && r.state != "running")
    });
    let v = latest(&rows)[&victim.cin].clone();
    assert_eq!(v.state, "failed", "{v:#?}");
    assert_eq!(v.step.as_deref(), result["step"].as_str(), "{v:#?}");
    drop(victim);

    // The reader takes the next card and personalizes it.
    let next = card_in(dir.path(), "a1", false, "A1", false, Some(&vpcd));
    let result = events.until("the next card's result", Duration::from_secs(300), |e| {
        e["event"] == "result"
    });
    assert_eq!(result["ok"], true, "{result}");
    events.state("done", wait);
    let rows = wait_for(&db, "the next card's job", |rows| {
        rows.iter()
            .any(|r| r.card == next.cin && r.state != "running")
    });
    assert_eq!(latest(&rows)[&next.cin].state, "ok", "{rows:#?}");
    drop(next);
    events.state("empty", wait);
    drop(ks);
    drop(s);
    drop(daemon);
}

/// jcardsim-harness started by its script on a free loopback port; killed
/// when dropped.
struct Harness {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The jCardSim harness as a station's reader through its TCP address
/// (`-r jcardsim:HOST:PORT`): its ISD (the secure-channel applet inside
/// jCardSim) is identified, the key server personalizes it through the
/// station (hello loaded and installed, new KDF3-diversified keys put),
/// and the card, read directly afterwards, opens with the new keys only
/// and holds the applet. Under CI a missing java, javac or jCardSim jar
/// fails.
#[test]
fn a_jcardsim_harness_card_is_personalized_through_a_station() {
    if !support::jcardsim::available() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    // The ISD front's classes and those of samples/hello.cap's package.
    let api = support::java::api_jar(dir.path(), None);
    let front = dir.path().join("secure-channel");
    support::java::javac(
        &api,
        None,
        &front,
        &support::java::java_files(&root.join("applets/secure-channel/src")),
    );
    let hello = dir.path().join("hello-classes");
    support::java::javac(
        &api,
        None,
        &hello,
        &support::java::java_files(
            &support::shared().join("converter-reference/src/com/example/hello"),
        ),
    );
    let log = dir.path().join("jcardsim.log");
    let mut child = Command::new(root.join("jcardsim-harness/bin/jcardsim-harness"))
        .args(["--listen", "127.0.0.1:0", "--classes"])
        .arg(&front)
        .arg("--classes")
        .arg(&hello)
        .args(["--package", &format!("{HELLO_PACKAGE}=com.example.hello")])
        // The transport key set as the key file has it: version 1.
        .args(["--key", FACTORY, "--key-ver", "1", "--state"])
        .arg(dir.path().join("jcardsim.state"))
        .arg("--log")
        .arg(&log)
        .env("JCARDSIM_JAR", support::jcardsim::jar())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("jcardsim-harness starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| {
            panic!(
                "the harness did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        })
        .to_string();
    let harness = Harness { child, addr, log };
    let harness_log = || std::fs::read_to_string(&harness.log).unwrap_or_default();

    let (s, mut events) = station_events(
        &pki,
        "s1",
        "127.0.0.1:0",
        &[format!("jcardsim:{}", harness.addr)],
    );
    let wait = Duration::from_secs(60);
    let present = events.state("present", wait);
    assert_eq!(
        present["name"],
        format!("tcp:{}", harness.addr),
        "{present}"
    );
    let request = events.until("a request", wait, |e| e["event"] == "request");
    // "jct", the harness's IIN; its CIN is its key diversification data.
    assert_eq!(request["card"]["iin"], "6A6374", "{request}");
    assert_eq!(request["card"]["security_domain"], "A000000151000000");
    let cin = request["card"]["cin"]
        .as_str()
        .expect("the harness answers GET DATA 45")
        .to_string();
    let ks = keyserver(&config(dir.path(), &[("s1", &s.control)]));
    let result = events.until("the result", Duration::from_secs(300), |e| {
        e["event"] == "result"
    });
    assert_eq!(
        result["ok"],
        true,
        "{result}\nharness log:\n{}",
        harness_log()
    );
    events.state("done", wait);
    let rows = wait_for(&dir.path().join("audit.db"), "the job", |rows| {
        rows.iter().any(|r| r.card == cin && r.state != "running")
    });
    let row = latest(&rows)[&cin].clone();
    assert_eq!(row.state, "ok", "{row:#?}");
    assert_eq!(row.card_type, "jcardsim", "{row:#?}");
    // The harness serves one connection at a time: the station lets go.
    drop(ks);
    drop(s);
    let (apps, files) = inspect(&harness.addr, ISSUER_AES, 0x30, Diversification::Kdf3)
        .unwrap_or_else(|e| panic!("new keys: {e}\nharness log:\n{}", harness_log()));
    assert!(apps.contains(&HELLO_APPLET.to_string()), "{apps:?}");
    assert!(files.contains(&HELLO_PACKAGE.to_string()), "{files:?}");
    assert!(
        inspect(&harness.addr, FACTORY, 0, Diversification::None).is_err(),
        "the factory keys still open the harness's card"
    );
}
