//! Remote personalization end to end: real `jct emu` processes as cards,
//! real `jct station` processes holding them, one real `jct keyserver`
//! driving both stations over TLS 1.3; afterwards every card is checked
//! directly (which keys open it, what it holds) against the audit log.

mod support;

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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loader::client::{ChannelOptions, GpClient};
use loader::transport::vpcd::VpcdClient;
use perso::audit::{AuditLog, JobRecord, SqliteLog};
use scp::keys::{Diversification, SoftwareKeys};

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
        ("factory", FACTORY, "1"),
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

fn config(dir: &Path, stations: &[(&str, &str)]) -> PathBuf {
    config_with(dir, "keyserver", "sqlite = \"audit.db\"", stations)
}

/// A key server configuration named `name`, with `audit` as its [audit].
fn config_with(dir: &Path, name: &str, audit: &str, stations: &[(&str, &str)]) -> PathBuf {
    let mut text = format!(
        "name = \"{name}\"\ntls_dir = \"pki\"\n[keys]\nfile = \"keys.json\"\n[audit]\n{audit}\n[jobs]\ndefault = \"hello.toml\"\nbig = \"big.toml\"\n",
    );
    for (name, addr) in stations {
        text += &format!(
            "[[station]]\nname = \"{name}\"\naddress = \"{addr}\"\nserver_name = \"localhost\"\n"
        );
    }
    text += "[[card]]\nname = \"aes\"\niin = \"A1\"\ntransport_keys = \"factory\"\nissuer_keys = \"issuer-aes\"\nissuer_diversification = \"kdf3\"\n";
    text += "[[card]]\nname = \"aes-big\"\niin = \"A9\"\ntransport_keys = \"factory\"\nissuer_keys = \"issuer-aes\"\nissuer_diversification = \"kdf3\"\njob = \"big\"\n";
    text += "[[card]]\nname = \"des\"\niin = \"B2\"\ntransport_keys = \"factory\"\nissuer_keys = \"issuer-des\"\nissuer_diversification = \"emv\"\n";
    text += "[[card]]\nname = \"jcardsim\"\niin = \"6A6374\"\ntransport_keys = \"factory\"\nissuer_keys = \"issuer-aes\"\nissuer_diversification = \"kdf3\"\n";
    text += "[[card]]\nname = \"des-wrong-master\"\niin = \"C3\"\ntransport_keys = \"wrong\"\nissuer_keys = \"issuer-des\"\nissuer_diversification = \"emv\"\n";
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn keyserver(config: &Path) -> KeyServerProc {
    let child = jct()
        .args(["keyserver", "--json", "--config"])
        .arg(config)
        .env("JCT_KEYFILE_PASSPHRASE", "pw")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    KeyServerProc { child }
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
    let t = VpcdClient::connect(addr).map_err(|e| e.to_string())?;
    let mut c = GpClient::over(Box::new(t));
    c.select_security_domain(None).map_err(|e| e.to_string())?;
    let k = hex::decode(key).unwrap();
    let keys = SoftwareKeys::from_bytes(&k, &k, &k, kvn).diversified(method);
    c.open_secure_channel(&ChannelOptions::new(keys))
        .map_err(|e| e.to_string())?;
    let reg = c.list().map_err(|e| e.to_string())?;
    let aids = |v: &[gp::registry::Entry]| {
        v.iter()
            .map(|e| hex::encode_upper(&e.aid))
            .collect::<Vec<_>>()
    };
    Ok((aids(&reg.applications), aids(&reg.load_files)))
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

/// 2 stations × 16 emulated cards, one key server: all 32 personalized,
/// and the audit log says so for each.
#[test]
fn two_stations_sixteen_cards_each_all_personalized() {
    let dir = tempfile::tempdir().unwrap();
    let pki = setup(dir.path());
    let aes: Vec<Card> = (0..16)
        .map(|i| card(dir.path(), &format!("a{i}"), false, "A1", false))
        .collect();
    let des: Vec<Card> = (0..16)
        .map(|i| card(dir.path(), &format!("d{i}"), true, "B2", false))
        .collect();
    let s1 = station(&pki, "s1", "127.0.0.1:0", &aes.iter().collect::<Vec<_>>());
    let s2 = station(&pki, "s2", "127.0.0.1:0", &des.iter().collect::<Vec<_>>());
    let cfg = config(dir.path(), &[("s1", &s1.control), ("s2", &s2.control)]);
    let ks = keyserver(&cfg);
    let all: Vec<&Card> = aes.iter().chain(&des).collect();
    let rows = wait_for(&dir.path().join("audit.db"), "32 jobs", |rows| {
        let l = latest(rows);
        all.iter()
            .all(|c| l.get(&c.cin).is_some_and(|r| r.state != "running"))
    });
    drop(ks);
    drop(s1);
    drop(s2);
    let l = latest(&rows);
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
}

/// Faults, while healthy cards finish: a card pulled mid-LOAD (its
/// emulator killed), a card type with a wrong master key, and a station
/// killed and restarted (its connection cut) — after which it takes jobs
/// again. Nothing half-written anywhere; the audit log agrees with every
/// card.
#[test]
fn faults_fail_their_own_jobs_only() {
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
    let cfg = config(dir.path(), &[("s1", &s1.control), ("s2", &s2_control)]);
    let ks = keyserver(&cfg);
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
        &audit,
        &[("s1", &s1.control)],
    ));
    let kb = keyserver(&config_with(
        dir.path(),
        "ks-b",
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

/// A job refused after its LOAD (STORE DATA, which the emulator's ISD does
/// not take: 6D00) fails naming the step and the status word, and rolls
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
    assert_eq!(r.sw.as_deref(), Some("6D00"), "{r:#?}");
    assert_eq!(r.rolled_back, Some(true), "{r:#?}");
    assert_eq!(r.keys_changed, Some(false), "{r:#?}");
    assert_untouched(&c);
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
