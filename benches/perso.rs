//! Remote personalization throughput: cards personalized per second with
//! 1, 8, 32 and 64 emulated cards at once, and the key server's CPU time
//! per card.
//!
//! Each round: two `jct station` processes (one for a single card) and a
//! `jct keyserver` start first; once the key server is connected, the
//! cards (`jct emu` processes) are "inserted" (started) at once. The job:
//! authenticate with the factory keys, load and install samples/hello.cap,
//! PUT KEY of KDF3-diversified keys, authenticate with them. Throughput is
//! the cards over the span from the first job's start to the last job's
//! end (audit log timestamps); CPU is the key server's user+system time
//! (/proc) during the round, over the cards.
//!
//! Sizes below 16 cards run in several rounds (16 cards in all, or
//! JCT_BENCH_MIN_CARDS): the CPU time comes in ticks of 10 ms.
//!
//! Run: cargo build --release --bin jct && cargo bench --bench perso
//! (JCT_BIN picks another binary; JCT_BENCH_CARDS="1 8" other sizes.)

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use perso::audit::{AuditLog, SqliteLog};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn jct_bin() -> PathBuf {
    std::env::var("JCT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/jct"))
}

fn jct() -> Command {
    let mut c = Command::new(jct_bin());
    c.env_remove("JCT_KEY").env_remove("JCT_EMU");
    c.env("JCT_KEYFILE_PASSPHRASE", "bench");
    c
}

fn ok(c: &mut Command) {
    let out = c.output().expect("jct runs");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free port for a card, below Linux's default ephemeral range (32768
/// and up): the stations' and the key server's own sockets bind port 0
/// while the cards are not started yet, and an ephemeral port could take
/// a card's address.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(20_000);
    loop {
        let p = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(p < 32_768, "no free port below the ephemeral range");
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name in parentheses: utime is the 14th
    // field of the line, stime the 15th.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // CLK_TCK is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn setup(dir: &Path) {
    ok(jct()
        .args(["keyserver", "init", "--out"])
        .arg(dir.join("pki"))
        .args(["--station", "s1", "--station", "s2"]));
    let keys = dir.join("keys.json");
    ok(jct().args(["keyserver", "keyfile", "new"]).arg(&keys));
    ok(jct()
        .args(["keyserver", "keyfile", "add"])
        .arg(&keys)
        .args(["factory", "--key-ver", "1"])
        .env("JCT_KEY", "404142434445464748494A4B4C4D4E4F"));
    ok(jct()
        .args(["keyserver", "keyfile", "add"])
        .arg(&keys)
        .args(["issuer", "--key-ver", "0x30", "--random", "16"]));
    let hello = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/hello.cap");
    std::fs::write(
        dir.join("job.toml"),
        format!(
            "[[install]]\ncap = {:?}\n[put_keys]\n",
            hello.display().to_string()
        ),
    )
    .unwrap();
}

fn station(dir: &Path, name: &str, ports: &[u16]) -> (Kill, String) {
    let mut cmd = jct();
    cmd.args([
        "station",
        "--json",
        "--poll-ms",
        "20",
        "--name",
        name,
        "--listen",
        "127.0.0.1:0",
        "--tls-dir",
    ])
    .arg(dir.join("pki"));
    for p in ports {
        cmd.args(["-r", &format!("127.0.0.1:{p}")]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let control = first["control"].as_str().unwrap().to_string();
    std::thread::spawn(move || for _ in lines {});
    (Kill(child), control)
}

/// One round with `n` cards: (cards, seconds from the first job's start to
/// the last one's end, key server CPU seconds).
fn round(n: usize) -> (usize, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let halves: Vec<&[u16]> = if n == 1 {
        vec![&ports[..]]
    } else {
        let (a, b) = ports.split_at(n / 2);
        vec![a, b]
    };
    let stations: Vec<(Kill, String)> = halves
        .iter()
        .enumerate()
        .map(|(i, p)| station(dir.path(), &format!("s{}", i + 1), p))
        .collect();
    let mut cfg = String::from(
        "tls_dir = \"pki\"\n[keys]\nfile = \"keys.json\"\n[jobs]\ndefault = \"job.toml\"\n[[card]]\nname = \"aes\"\ntransport_keys = \"factory\"\nissuer_keys = \"issuer\"\nissuer_diversification = \"kdf3\"\n",
    );
    for (i, (_, control)) in stations.iter().enumerate() {
        cfg += &format!(
            "[[station]]\nname = \"s{}\"\naddress = \"{control}\"\nserver_name = \"localhost\"\n",
            i + 1
        );
    }
    std::fs::write(dir.path().join("ks.toml"), cfg).unwrap();
    let mut ks = jct()
        .args(["keyserver", "--json", "--config"])
        .arg(dir.path().join("ks.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = ks.id();
    let mut lines = BufReader::new(ks.stdout.take().unwrap()).lines();
    let mut connected = 0;
    while connected < stations.len() {
        let line = lines.next().expect("key server ended").unwrap();
        if line.contains("\"connected\":true") {
            connected += 1;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let _ks = Kill(ks);
    let cpu_before = cpu_seconds(pid);
    let _cards: Vec<Kill> = ports
        .iter()
        .map(|p| {
            Kill(
                jct()
                    .args(["emu", "--listen", &format!("127.0.0.1:{p}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let db = dir.path().join("audit.db");
    let deadline = Instant::now() + Duration::from_secs(600);
    let rows = loop {
        if let Ok(rows) = SqliteLog::open(&db).and_then(|l| l.all()) {
            if rows.iter().filter(|r| r.state != "running").count() >= n {
                break rows;
            }
        }
        assert!(Instant::now() < deadline, "round of {n} cards hung");
        std::thread::sleep(Duration::from_millis(20));
    };
    let cpu = cpu_seconds(pid) - cpu_before;
    let failed: Vec<_> = rows.iter().filter(|r| r.state != "ok").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let first = rows.iter().map(|r| r.started_ms).min().unwrap_or(0);
    let last = rows
        .iter()
        .filter_map(|r| r.ended_ms)
        .max()
        .unwrap_or(first);
    let span = ((last - first).max(1)) as f64 / 1000.0;
    (n, span, cpu)
}

/// Rounds of `n` cards until at least `min_cards` were personalized: the
/// CPU time comes in 10 ms ticks, so one card alone would be measured to
/// a tick. (cards per second over the rounds' spans, CPU ms per card,
/// rounds.)
fn measure(n: usize, min_cards: usize) -> (f64, f64, usize) {
    let rounds = min_cards.div_ceil(n).max(1);
    let (mut cards, mut span, mut cpu) = (0, 0.0, 0.0);
    for _ in 0..rounds {
        let (c, s, u) = round(n);
        cards += c;
        span += s;
        cpu += u;
    }
    (cards as f64 / span, cpu * 1000.0 / cards as f64, rounds)
}

fn main() {
    // `cargo test --benches` runs benches with --bench absent: do nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    assert!(
        jct_bin().exists(),
        "build it first: cargo build --release --bin jct"
    );
    let sizes: Vec<usize> = std::env::var("JCT_BENCH_CARDS")
        .ok()
        .map(|s| {
            s.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1, 8, 32, 64]);
    let min_cards = std::env::var("JCT_BENCH_MIN_CARDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    println!("| cards at once | cards/s | key server CPU per card | rounds |");
    println!("|---:|---:|---:|---:|");
    for n in sizes {
        let (rate, cpu, rounds) = measure(n, min_cards);
        println!("| {n} | {rate:.1} | {cpu:.2} ms | {rounds} |");
    }
}
