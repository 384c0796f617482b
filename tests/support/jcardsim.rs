//! jCardSim behind tools/jcardsim-runner's line protocol (one hex command
//! in, one hex response out), for tests that run the same applet classes
//! in jCardSim and in jct emu.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// The jCardSim jar: `$JCARDSIM_JAR`, else the one in ../shared.
pub fn jar() -> PathBuf {
    std::env::var("JCARDSIM_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| super::shared().join("jcardsim/jcardsim.jar"))
}

/// Whether java, javac and the jar are there (under CI their absence fails
/// the test; see require.rs).
pub fn available() -> bool {
    super::require::javac()
        && super::require::java()
        && super::require::require(
            "the jCardSim jar",
            if jar().is_file() {
                Ok(())
            } else {
                Err(format!("no jar at {}", jar().display()))
            },
        )
}

/// The runner compiled once per test binary, so runners started by tests
/// in parallel never race to build it.
fn runner_build() -> &'static Path {
    static BUILD: OnceLock<PathBuf> = OnceLock::new();
    BUILD.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("jct-jcardsim-runner-{}", std::process::id()));
        let status = Command::new("javac")
            .args(["-nowarn", "-source", "8", "-target", "8", "-cp"])
            .arg(jar())
            .arg("-d")
            .arg(dir.join("classes"))
            .arg("tools/jcardsim-runner/src/com/jct/runner/JcardsimRunner.java")
            .status()
            .expect("javac runs");
        assert!(status.success(), "the jCardSim runner does not compile");
        dir
    })
}

/// One jCardSim process.
pub struct Runner {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    log: PathBuf,
}

impl Runner {
    /// jCardSim with the applet classes in `classes` and `installs`
    /// (instance AID, fully qualified class, C9 parameters in hex); its log
    /// goes to `log`.
    pub fn start(classes: &[&Path], installs: &[(&str, &str, &str)], log: &Path) -> Runner {
        let mut cmd = Command::new("tools/jcardsim-runner/bin/jcardsim-runner");
        cmd.env("JCARDSIM_JAR", jar())
            .env("JCARDSIM_RUNNER_BUILD", runner_build());
        for c in classes {
            cmd.arg("--classes").arg(c);
        }
        for (aid, class, params) in installs {
            cmd.arg("--install").arg(format!("{aid}:{class}:{params}"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("the runner starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Runner {
            child,
            stdin,
            stdout,
            log: log.to_path_buf(),
        }
    }

    /// One line in, its answer out.
    pub fn line(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        assert!(
            !answer.is_empty(),
            "the runner ended; its log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        answer.trim().to_string()
    }

    /// One command APDU to the simulated card, its response.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        hex::decode(self.line(&hex::encode_upper(apdu))).expect("the runner answers hex")
    }

    /// Selects an applet by AID (hex) the way jCardSim's own API does.
    pub fn select(&mut self, aid: &str) -> Vec<u8> {
        hex::decode(self.line(&format!("select {aid}"))).expect("the runner answers hex")
    }

    /// Resets the simulated card (CLEAR_ON_RESET memory is cleared).
    pub fn reset(&mut self) {
        self.line("reset");
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
