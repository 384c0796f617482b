//! Writes the seeds of `emulator_apdu` into `fuzz/seeds/emulator_apdu/`
//! (and two state journals into `fuzz/seeds/state_file/`):
//! sessions recorded against the same card the target prepares, so their
//! MACs verify when the fuzzer replays them.
//!
//! `cd fuzz && cargo run --example write_seeds` (needs ../shared).

use std::path::Path;

use gp::apdu::CommandApdu;
use gp::install::{p1, InstallForInstall};
use gp::Privileges;
use jct_fuzz::emu::{self, gp as gp_cmd, load_block, Setup};
use jct_fuzz::push_frame;

/// The rest of an installation: the LOAD blocks not sent yet, INSTALL [for
/// install and make selectable], GET STATUS, GET DATA, then SELECT of the
/// new applet.
fn finish_install(next_block: usize) -> Vec<CommandApdu> {
    let hello = emu::hello();
    let mut cmds: Vec<CommandApdu> = (next_block..hello.blocks.blocks.len())
        .map(load_block)
        .collect();
    let install = InstallForInstall {
        load_file_aid: hello.package_aid.clone(),
        module_aid: hello.applet_aid.clone(),
        application_aid: hello.applet_aid.clone(),
        privileges: Privileges::default(),
        parameters: InstallForInstall::applet_parameters(&[]).expect("parameters"),
        token: vec![],
    }
    .to_data()
    .expect("INSTALL [for install] data");
    cmds.push(gp_cmd(
        0xE6,
        p1::FOR_INSTALL_AND_MAKE_SELECTABLE,
        0x00,
        install,
    ));
    cmds.push(gp_cmd(0xF2, 0x40, 0x02, vec![0x4F, 0x00]));
    cmds.push(gp_cmd(0xF2, 0x20, 0x02, vec![0x4F, 0x00]));
    cmds.push(gp_cmd(0xCA, 0x00, 0xE0, vec![]));
    cmds.push(
        CommandApdu::new(0x00, 0xA4, 0x04, 0x00, hello.applet_aid.clone(), Some(256))
            .expect("SELECT"),
    );
    cmds
}

/// Content management on the ISD: DELETE of the half-loaded package,
/// GET STATUS of every scope, GET DATA objects, SET STATUS.
fn manage() -> Vec<CommandApdu> {
    let hello = emu::hello();
    let mut delete = vec![0x4F, hello.package_aid.len() as u8];
    delete.extend_from_slice(&hello.package_aid);
    vec![
        gp_cmd(0xE4, 0x00, 0x80, delete),
        gp_cmd(0xF2, 0x80, 0x02, vec![0x4F, 0x00]),
        gp_cmd(0xF2, 0x10, 0x02, vec![0x4F, 0x00]),
        gp_cmd(0xCA, 0x9F, 0x7F, vec![]),
        gp_cmd(0xCA, 0x00, 0x66, vec![]),
        gp_cmd(0xCA, 0x00, 0xCF, vec![]),
        gp_cmd(0xF0, 0x80, 0x0F, vec![]),
    ]
}

/// A seed whose APDUs the target wraps itself.
fn wrapped(setup: Setup, cmds: &[CommandApdu]) -> Vec<u8> {
    assert!(setup.wrapped);
    let mut seed = vec![setup.to_byte()];
    for c in cmds {
        push_frame(&mut seed, &c.to_bytes());
    }
    seed
}

/// A seed of wire bytes: the commands wrapped by the prepared card's own
/// channel (`new_session`: after a fresh SELECT and handshake instead).
fn plain(setup: Setup, new_session: bool, cmds: &[CommandApdu], dir: &Path) -> Vec<u8> {
    assert!(!setup.wrapped);
    let emu::Prepared {
        mut card,
        mut channel,
        ..
    } = emu::prepare(setup, dir);
    let mut seed = vec![setup.to_byte()];
    let record = |seed: &mut Vec<u8>, card: &mut emulator::Card, wire: &[u8]| {
        push_frame(seed, wire);
        card.transmit(wire)
    };
    if new_session {
        let select = CommandApdu::new(
            0x00,
            0xA4,
            0x04,
            0x00,
            emulator::DEFAULT_ISD_AID.to_vec(),
            Some(256),
        )
        .expect("SELECT")
        .to_bytes();
        assert_eq!(emu::sw(&record(&mut seed, &mut card, &select)), 0x9000);
        channel = emu::open_session(setup.host_config(), &mut |c| {
            record(&mut seed, &mut card, c)
        });
    }
    for c in cmds {
        if c.ins() == 0xA4 {
            // SELECT of an applet goes in plain (a secured one is 6882).
            assert_eq!(
                emu::sw(&record(&mut seed, &mut card, &c.to_bytes())),
                0x9000
            );
            continue;
        }
        let wire = channel.wrap_apdu(c).expect("wrapping");
        let answer = record(&mut seed, &mut card, &wire);
        let sw = channel.unwrap_response(&answer).expect("unwrapping").sw;
        assert!(
            matches!(sw, 0x9000 | 0x6310 | 0x6A88 | 0x6A82),
            "{c:?} answered {sw:04X}"
        );
    }
    seed
}

/// Copies the prepared card's journal into `seeds/state_file/` (the target
/// supplies the hello load file blob it names).
fn write_state(dir: &Path, name: &str) {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/state_file");
    std::fs::create_dir_all(&out).expect("seed directory");
    std::fs::copy(dir.join("card/journal"), out.join(name)).expect("copying a journal");
}

fn main() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/emulator_apdu");
    std::fs::create_dir_all(&out).expect("seed directory");
    let dir = jct_fuzz::scratch_dir();
    let setup = |wrapped, scp02, level, blocks| Setup {
        wrapped,
        scp02,
        level,
        blocks,
    };
    // Each prepared card has `1 + blocks` LOAD blocks accepted.
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "wrapped-scp03-cmac-install",
            wrapped(setup(true, false, 0, 0), &finish_install(1)),
        ),
        (
            "wrapped-scp02-cenc-install",
            wrapped(setup(true, true, 1, 2), &finish_install(3)),
        ),
        (
            "wrapped-scp03-rmac-manage",
            wrapped(setup(true, false, 2, 1), &manage()),
        ),
        (
            "plain-scp03-renc-install",
            plain(setup(false, false, 3, 1), false, &finish_install(2), &dir),
        ),
        (
            "plain-scp02-cmac-install",
            plain(setup(false, true, 0, 0), false, &finish_install(1), &dir),
        ),
        (
            "plain-scp02-new-session-manage",
            plain(setup(false, true, 1, 0), true, &manage(), &dir),
        ),
        (
            "plain-scp03-new-session-manage",
            plain(setup(false, false, 0, 3), true, &manage(), &dir),
        ),
    ];
    for (name, seed) in seeds {
        // The target must take each seed without failing.
        let card = emu::run(&seed, &dir).expect("a seed has a mode byte");
        let installed = card.state().instance(&emu::hello().applet_aid).is_some();
        assert_eq!(installed, name.ends_with("-install"), "{name}: the applet");
        std::fs::write(out.join(name), &seed).expect("writing a seed");
        println!("{name}: {} bytes", seed.len());
        if name == "plain-scp03-renc-install" {
            // The state file of a card with a package and an applet.
            write_state(&dir, "scp03-installed.jrnl");
        }
    }
    // The state file of a fresh SCP02 card.
    emu::prepare(setup(false, true, 0, 0), &dir);
    write_state(&dir, "scp02-fresh.jrnl");
    std::fs::remove_dir_all(&dir).expect("removing the scratch directory");
}
