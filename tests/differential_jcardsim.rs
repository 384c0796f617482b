//! jct emu against jCardSim: the same applet classes, compiled once by
//! javac, run in jCardSim (as JVM classes, through tools/jcardsim-runner)
//! and in jct emu (converted by `jct build`, loaded and installed through
//! the card manager, executed by the JCVM); every response to the same
//! commands must be equal, byte for byte. The commands are the scripts of
//! the converter-reference packages and of applets/, and random command
//! sequences for the counter.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::scripts::{self, card_with, install_all};
use emulator::Card;
use support::java::{build, compile, java_files};
use support::jcardsim::Runner;
use support::XorShift;

/// One package: compiled classes, name, AID, the applet (`AID=Class`) if
/// any, extra `jct build` flags.
type Pkg = (
    PathBuf,
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<String>,
);

/// One applet: where its classes are, how it is installed, what to send.
struct Case {
    name: &'static str,
    /// Packages in load order.
    packages: Vec<Pkg>,
    /// The instance: AID, fully qualified class, C9 parameters.
    instance: (&'static str, &'static str, &'static str),
    commands: Vec<Vec<u8>>,
}

/// Runs `case` in both and compares every answer; returns the answers.
fn compare(work: &Path, case: &Case) -> Vec<Vec<u8>> {
    let mut caps = Vec::new();
    for (classes, package, aid, applet, extra) in &case.packages {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        caps.push((
            build(work, classes, package, aid, *applet, &extra),
            applet.is_some(),
        ));
    }
    let (aid, class, params) = case.instance;
    let mut emu: Card = card_with(&[], "3.0.5");
    let listed: Vec<(&Path, Option<&str>)> = caps
        .iter()
        .map(|(cap, has)| (cap.as_path(), has.then_some(aid)))
        .collect();
    install_all(&mut emu, &listed, &hex::decode(params).unwrap());
    let classes: Vec<&Path> = case.packages.iter().map(|p| p.0.as_path()).collect();
    let mut sim = Runner::start(
        &classes,
        &[(aid, class, params)],
        &work.join(format!("{}.log", case.name)),
    );
    let mut answers = Vec::new();
    for (i, command) in case.commands.iter().enumerate() {
        let ours = emu.transmit(command);
        let theirs = sim.transmit(command);
        assert_eq!(
            hex::encode_upper(&ours),
            hex::encode_upper(&theirs),
            "{}: command {i} {} (jct emu first, jCardSim second; note: {:?})",
            case.name,
            hex::encode_upper(command),
            emu.last_note()
        );
        answers.push(ours);
    }
    answers
}

fn commands(script: scripts::Script) -> Vec<Vec<u8>> {
    script.iter().map(|(c, _)| common::hex(c)).collect()
}

fn reference(work: &Path, package: &str, classpath: Option<&Path>) -> PathBuf {
    let sources = java_files(
        &support::shared()
            .join("converter-reference/src/com/example")
            .join(package),
    );
    compile(work, package, &sources, classpath)
}

fn own_applet(work: &Path, dir: &str) -> PathBuf {
    compile(
        work,
        dir,
        &java_files(&Path::new("applets").join(dir).join("src")),
        None,
    )
}

#[test]
fn reference_packages_answer_alike() {
    if !support::jcardsim::available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let hello = reference(w, "hello", None);
    compare(
        w,
        &Case {
            name: "hello",
            packages: vec![(
                hello,
                "com.example.hello",
                "F00000000101",
                Some("F0000000010101=HelloApplet"),
                vec![],
            )],
            instance: ("F0000000010101", "com.example.hello.HelloApplet", ""),
            commands: commands(scripts::HELLO),
        },
    );
    let arith = reference(w, "arith", None);
    compare(
        w,
        &Case {
            name: "arith",
            packages: vec![(
                arith,
                "com.example.arith",
                "F00000000102",
                Some("F0000000010201=ArithApplet"),
                vec![],
            )],
            instance: ("F0000000010201", "com.example.arith.ArithApplet", "AB"),
            commands: commands(scripts::ARITH),
        },
    );
    let ints = reference(w, "ints", None);
    compare(
        w,
        &Case {
            name: "ints",
            packages: vec![(
                ints,
                "com.example.ints",
                "F00000000105",
                Some("F0000000010501=IntApplet"),
                vec!["--int".into()],
            )],
            instance: ("F0000000010501", "com.example.ints.IntApplet", ""),
            commands: commands(scripts::INTS),
        },
    );
    let lib = reference(w, "lib", None);
    let oop = reference(w, "oop", Some(&lib));
    let exp = w.join("com.example.lib.exp");
    compare(
        w,
        &Case {
            name: "oop",
            packages: vec![
                (lib, "com.example.lib", "F0000000014C", None, vec![]),
                (
                    oop,
                    "com.example.oop",
                    "F00000000103",
                    Some("F0000000010301=OopApplet"),
                    vec!["--exportpath".into(), exp.to_string_lossy().into_owned()],
                ),
            ],
            instance: ("F0000000010301", "com.example.oop.OopApplet", ""),
            commands: commands(scripts::OOP),
        },
    );
}

/// Counter commands as a fuzzer would pick them: valid and invalid amounts,
/// wrong lengths, other instructions and classes.
fn random_counter_commands(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut rng = XorShift(seed);
    let mut out = vec![common::hex("00A4040007F000000001A201")];
    for _ in 0..n {
        let r = rng.next();
        let amount = match r % 5 {
            0 => (r >> 8) as u16 & 0x00FF,
            1 => (r >> 8) as u16 & 0x7FFF,
            2 => 0x8000 | (r >> 8) as u16,
            3 => 0x7FFF,
            _ => 1,
        };
        let [hi, lo] = amount.to_be_bytes();
        let cmd = match (r >> 32) % 8 {
            0 | 1 => vec![0x80, 0x10, 0x00, 0x00, 0x02],
            2 | 3 => vec![0x80, 0x12, 0x00, 0x00, 0x02, hi, lo, 0x02],
            4 | 5 => vec![0x80, 0x14, 0x00, 0x00, 0x02, hi, lo, 0x02],
            6 => vec![0x80, 0x12, 0x00, 0x00, 0x01, hi],
            _ => vec![
                [0x80, 0x00, 0x84][(r >> 40) as usize % 3],
                // Not 70: jct emu has logical channels, so 00 70 is MANAGE
                // CHANNEL for its JCRE (JCRE 3.0.5 4.5.1); jCardSim has
                // none and hands it to the applet.
                match (r >> 48) as u8 {
                    0x70 => 0x71,
                    ins => ins,
                },
                0x00,
                0x00,
                0x00,
            ],
        };
        out.push(cmd);
    }
    out
}

#[test]
fn own_applets_answer_alike_also_to_random_sequences() {
    if !support::jcardsim::available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let hello = own_applet(w, "hello");
    compare(
        w,
        &Case {
            name: "applets-hello",
            packages: vec![(
                hello,
                "com.jct.hello",
                "F000000001A1",
                Some("F000000001A101=HelloApplet"),
                vec![],
            )],
            instance: ("F000000001A101", "com.jct.hello.HelloApplet", ""),
            commands: [
                "00A4040007F000000001A101",
                "8001000000",
                "8002000000",
                "0001000000",
                "80010000",
            ]
            .iter()
            .map(|c| common::hex(c))
            .collect(),
        },
    );
    let counter = own_applet(w, "counter");
    let mut status_words = std::collections::BTreeSet::new();
    for seed in [1u64, 0xDEAD_BEEF, 0x1234_5678_9ABC_DEF1] {
        let answers = compare(
            w,
            &Case {
                name: "applets-counter",
                packages: vec![(
                    counter.clone(),
                    "com.jct.counter",
                    "F000000001A2",
                    Some("F000000001A201=CounterApplet"),
                    vec![],
                )],
                instance: ("F000000001A201", "com.jct.counter.CounterApplet", ""),
                commands: random_counter_commands(seed, 400),
            },
        );
        status_words.extend(answers.iter().map(|a| hex::encode_upper(&a[a.len() - 2..])));
    }
    // The sequences reach every answer the counter has.
    for sw in ["9000", "6A80", "6A84", "6985", "6700", "6D00", "6E00"] {
        assert!(
            status_words.contains(sw),
            "{sw} never answered: {status_words:?}"
        );
    }
}

/// Idioms of real applets (tests/jcvm/idioms): command data read at
/// OFFSET_CDATA without setIncomingAndReceive (ykneo-openpgp's VERIFY),
/// and data sent before an ISOException, which goes out with its status
/// word (PivApplet's SELECT and GET DATA end with ISOException 9000 or
/// 61xx after sendBytes). jct emu answers as jCardSim does.
#[test]
fn data_before_an_iso_exception_and_unreceived_data_answer_alike() {
    if !support::jcardsim::available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let classes = compile(
        w,
        "idioms",
        &java_files(Path::new("tests/jcvm/idioms")),
        None,
    );
    let answers = compare(
        w,
        &Case {
            name: "idioms",
            packages: vec![(
                classes,
                "com.jct.idioms",
                "F000000001D5",
                Some("F000000001D501=IdiomApplet"),
                vec![],
            )],
            instance: ("F000000001D501", "com.jct.idioms.IdiomApplet", ""),
            commands: [
                "00A4040007F000000001D501",
                "8010000003112233",
                "8020000000",
                "8022000000",
                "80300000",
            ]
            .iter()
            .map(|c| common::hex(c))
            .collect(),
        },
    );
    // 11 ^ 22 ^ 33 = 00, Lc 3; the data with 6310; the data with 6102.
    let want = ["9000", "00039000", "0102036310", "AABB6102", "6D00"];
    for (got, want) in answers.iter().zip(want) {
        assert_eq!(hex::encode_upper(got), want);
    }
}
