//! Tearing: what the emulated card keeps when it loses power in the middle
//! of an applet's work. A test applet (tests/jcvm/tearing) keeps `a == b`
//! through transactions, `seq` by single writes and a 32-byte block
//! rewritten whole by Util.arrayCopy; after every cut, at every moment:
//! a transaction is all or nothing, each single write whole, the registry
//! intact, and nothing the card answered is lost.
//!
//! Two ways to cut: the emulator process killed with SIGKILL at random
//! moments while a host drives it (hundreds of times), and — through the
//! library's fault injection — a cut after every bytecode of one APDU in
//! turn.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use emulator::{Card, CardProfile};
use loader::transport::vpcd::VpcdClient;
use loader::transport::Transport;
use support::XorShift;

const PACKAGE_AID: &str = "F000000001F1";
const APPLET_AID: &str = "F000000001F101";
const TRANSACTION: u8 = 0x10;
const ABORTED: u8 = 0x12;
const SINGLE_WRITES: u8 = 0x14;
const READ: u8 = 0x16;

/// The applet's persistent data as it answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Data {
    a: u16,
    b: u16,
    seq: u16,
    /// The block's bytes when they are all equal; `None` when torn.
    block: Option<u8>,
}

impl Data {
    fn parse(response: &[u8]) -> Data {
        assert_eq!(response.len(), 40, "answer {}", hex::encode_upper(response));
        assert_eq!(&response[38..], [0x90, 0x00]);
        let block = &response[6..38];
        Data {
            a: u16::from_be_bytes([response[0], response[1]]),
            b: u16::from_be_bytes([response[2], response[3]]),
            seq: u16::from_be_bytes([response[4], response[5]]),
            block: block.iter().all(|&x| x == block[0]).then_some(block[0]),
        }
    }

    /// What must hold in any state the card can be found in.
    fn check(&self, context: &str) {
        assert_eq!(
            self.a, self.b,
            "{context}: a transaction came apart: {self:?}"
        );
        let block = self
            .block
            .unwrap_or_else(|| panic!("{context}: the block was written in part: {self:?}"));
        let low = self.seq as u8;
        assert!(
            block == low || block == low.wrapping_sub(1),
            "{context}: block {block:02X} belongs to no recent seq: {self:?}"
        );
    }

    /// Nothing answered is lost, and at most the command in flight is new.
    fn follows(&self, acked: &Data, context: &str) {
        let grew = |now: u16, then: u16| now.wrapping_sub(then);
        assert!(
            grew(self.a, acked.a) <= 1 && grew(self.seq, acked.seq) <= 1,
            "{context}: the card has {self:?} after answering {acked:?}"
        );
    }
}

fn command(ins: u8) -> Vec<u8> {
    vec![0x80, ins, 0x00, 0x00, 0x00]
}

fn select_applet() -> Vec<u8> {
    let aid = hex::decode(APPLET_AID).unwrap();
    let mut c = vec![0x00, 0xA4, 0x04, 0x00, aid.len() as u8];
    c.extend_from_slice(&aid);
    c
}

/// The tearing applet's CAP, built with javac and `jct build`.
fn tearing_cap(work: &Path) -> PathBuf {
    let sources = support::java::java_files(Path::new("tests/jcvm/tearing/src"));
    let classes = support::java::compile(work, "tearing", &sources, None);
    support::java::build(
        work,
        &classes,
        "com.jct.tearing",
        PACKAGE_AID,
        Some(&format!("{APPLET_AID}=TearingApplet")),
        &[],
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn open_card(state: &Path) -> Card {
    // The other test forks `jct emu` processes; a child holds a copy of
    // every descriptor (the journal's lock with it) until it execs, so a
    // card just dropped can look in use for a moment.
    for _ in 0..200 {
        match Card::open(state, CardProfile::default(), common::aes_keys(1)) {
            Ok(mut card) => {
                card.power_on();
                return card;
            }
            Err(emulator::CardError::Store(emulator::StoreError::InUse { .. })) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => panic!("{}: {e}", state.display()),
        }
    }
    panic!("{}: still locked after a second", state.display());
}

fn read(card: &mut Card) -> Data {
    assert_eq!(
        common::sw(&card.transmit(&select_applet())),
        0x9000,
        "SELECT"
    );
    Data::parse(&card.transmit(&command(READ)))
}

/// A power cut after each bytecode of each kind of command, in turn: the
/// card reopened from its state directory holds the data before the
/// command or after it, never a mix.
#[test]
fn a_cut_at_every_bytecode_keeps_the_invariants() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = tearing_cap(work.path());
    let template = work.path().join("template");
    {
        let mut card = open_card(&template);
        common::scripts::install_all(&mut card, &[(&cap, Some(APPLET_AID))], &[]);
        read(&mut card);
        for ins in [TRANSACTION, SINGLE_WRITES, SINGLE_WRITES] {
            Data::parse(&card.transmit(&command(ins))).check("set-up");
        }
    }
    let before = read(&mut open_card(&template));
    assert_eq!((before.a, before.seq), (1, 2));
    for ins in [TRANSACTION, ABORTED, SINGLE_WRITES] {
        let mut cuts = 0;
        for at in 1.. {
            let case = work.path().join(format!("case-{ins:02X}-{at}"));
            copy_dir(&template, &case);
            let mut card = open_card(&case);
            assert_eq!(read(&mut card), before);
            emulator::danger::cut_power_after(&mut card, at);
            let answer = card.transmit(&command(ins));
            drop(card);
            let after = read(&mut open_card(&case));
            let context = format!("INS {ins:02X} cut after {at} bytecodes");
            after.check(&context);
            after.follows(&before, &context);
            std::fs::remove_dir_all(&case).unwrap();
            if !answer.is_empty() {
                // The command finished within `at` bytecodes: no cut.
                let done = Data::parse(&answer);
                assert_eq!(after, done, "{context}: the answer is what the card keeps");
                match ins {
                    TRANSACTION => assert_eq!(done.a, before.a + 1),
                    ABORTED => assert_eq!(done, before),
                    _ => assert_eq!(done.seq, before.seq + 1),
                }
                break;
            }
            cuts += 1;
            // Each cut leaves one of the two whole states.
            match ins {
                TRANSACTION | ABORTED => assert_eq!(after.seq, before.seq, "{context}"),
                _ => assert_eq!(after.a, before.a, "{context}"),
            }
        }
        assert!(cuts > 10, "INS {ins:02X}: only {cuts} cut points");
    }
}

/// `jct emu --listen 127.0.0.1:0 --state DIR`, and the address it bound.
fn start_emu(state: &Path) -> (Child, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("jct"))
        .args(["emu", "--listen", "127.0.0.1:0", "--state"])
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("jct emu ended before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the emulator never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// The emulator process killed (SIGKILL) at random moments while a host
/// sends transactions and single writes, 200 times: after each restart the
/// invariants hold, the applet is still installed and selectable, and
/// every answered command is kept.
#[test]
fn sigkill_at_random_moments_keeps_the_invariants() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = tearing_cap(work.path());
    let state = work.path().join("card");
    let (mut emu, addr) = start_emu(&state);
    let installed = Command::new(assert_cmd::cargo::cargo_bin("jct"))
        .args(["install"])
        .arg(&cap)
        .args(["--emu", &addr, "--key", support::TEST_KEY])
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    emu.kill().unwrap();
    emu.wait().unwrap();

    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut acked: Option<Data> = None;
    let mut answered = 0u64;
    for round in 0..200 {
        let (mut emu, addr) = start_emu(&state);
        let mut reader = VpcdClient::connect(&addr).unwrap();
        let select = reader.transmit(&select_applet()).unwrap();
        assert_eq!(select, [0x90, 0x00], "round {round}: the applet is gone");
        let now = Data::parse(&reader.transmit(&command(READ)).unwrap());
        let context = format!("round {round}");
        now.check(&context);
        if let Some(acked) = &acked {
            now.follows(acked, &context);
        }
        let last = Arc::new(Mutex::new(now));
        let seen = Arc::clone(&last);
        let seed = rng.next();
        let host = std::thread::spawn(move || {
            let mut rng = XorShift(seed | 1);
            let mut n = 0u64;
            loop {
                let ins = [TRANSACTION, ABORTED, SINGLE_WRITES][(rng.next() % 3) as usize];
                match reader.transmit(&command(ins)) {
                    Ok(answer) => {
                        let data = Data::parse(&answer);
                        data.check("an answer");
                        *seen.lock().unwrap() = data;
                        n += 1;
                    }
                    // The card died under the command.
                    Err(_) => return n,
                }
            }
        });
        std::thread::sleep(std::time::Duration::from_micros(rng.next() % 20_000));
        emu.kill().unwrap();
        emu.wait().unwrap();
        answered += host.join().unwrap();
        acked = Some(*last.lock().unwrap());
    }
    assert!(
        answered > 200,
        "only {answered} commands answered in 200 rounds"
    );
    let (mut emu, addr) = start_emu(&state);
    let list = Command::new(assert_cmd::cargo::cargo_bin("jct"))
        .args(["list", "--emu", &addr, "--key", support::TEST_KEY])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(listing.contains(APPLET_AID), "registry: {listing}");
    assert!(listing.contains(PACKAGE_AID), "registry: {listing}");
    emu.kill().unwrap();
    emu.wait().unwrap();
}
