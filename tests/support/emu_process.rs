//! `jct emu` as a separate process on a loopback port, as a user runs it:
//! for tests of what the command line and the state file do across
//! restarts. Killed (a power loss to the card) when dropped.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::TEST_KEY;

/// The emulator process, the address it listens on and the notes it
/// printed before it listened.
pub struct EmuProcess {
    child: Child,
    pub addr: String,
    pub notes: Vec<String>,
}

impl EmuProcess {
    /// `jct emu --listen 127.0.0.1:0 ARGS`, once it listens.
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> EmuProcess {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("jct"))
            .args(["emu", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut notes = Vec::new();
        let addr = loop {
            let line = match lines.next() {
                Some(line) => line.unwrap(),
                None => panic!("jct emu ended before it listened:\n{}", notes.join("\n")),
            };
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split(' ').next().unwrap().to_string();
            }
            notes.push(line);
        };
        // Keep draining the emulator's notes so it never blocks on them.
        std::thread::spawn(move || for _ in lines {});
        EmuProcess { child, addr, notes }
    }

    /// `jct ARGS --emu ADDR --key TEST_KEY`, untouched by the caller's
    /// JCT_KEY and JCT_EMU.
    pub fn jct(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("jct").unwrap();
        c.args(args).args(["--emu", &self.addr, "--key", TEST_KEY]);
        c.env_remove("JCT_KEY").env_remove("JCT_EMU");
        c
    }
}

impl Drop for EmuProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
