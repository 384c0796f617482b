//! Test support: a pcscd with vsmartcard's vpcd driver, started for a test
//! (or an already running one reused), and stopped when dropped. Shared by
//! the loader's PC/SC transport test and the workspace's end-to-end test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use loader::transport::pcsc::{list_readers, ReaderInfo};

pub const READER: &str = "Virtual PCD";
const SOCKET: &str = "/run/pcscd/pcscd.comm";
/// The TCP port of the vpcd channel below (CHANNELID 0x8C7B).
const VPCD_PORT: u16 = 0x8C7B;
const DRIVER_DIRS: &[&str] = &[
    "/usr/lib/pcsc/drivers/serial",
    "/usr/lib64/pcsc/drivers/serial",
    "/usr/local/lib/pcsc/drivers/serial",
];

/// A pcscd this test started; stopped (by its own pid) when dropped.
pub struct Daemon {
    child: Option<Child>,
    _config: Option<tempfile::TempDir>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        // SIGTERM lets pcscd remove its socket and pid file; SIGKILL only
        // if it does not exit within 5 s.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let exited = wait_for(Duration::from_secs(5), || child.try_wait().ok().flatten());
        if exited.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `probe` every 100 ms until it yields a value or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

pub fn vpcd_readers() -> Vec<ReaderInfo> {
    list_readers()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.name.contains(READER))
        .collect()
}

fn find_driver() -> Option<PathBuf> {
    DRIVER_DIRS
        .iter()
        .map(|dir| Path::new(dir).join("libifdvpcd.so"))
        .find(|path| path.exists())
}

#[path = "require.rs"]
mod require;

/// [`ensure_pcscd`] for a test: `None` (the test skips, saying why) where
/// pcscd or the vpcd driver is missing, a failure naming them under CI.
pub fn require_pcscd() -> Option<Daemon> {
    match ensure_pcscd() {
        Ok(daemon) => Some(daemon),
        Err(reason) => {
            require::require("pcscd with the vpcd driver", Err(reason));
            None
        }
    }
}

/// Uses a running pcscd that has a vpcd reader, or starts one.
pub fn ensure_pcscd() -> Result<Daemon, String> {
    if Path::new(SOCKET).exists() && !vpcd_readers().is_empty() {
        return Ok(Daemon {
            child: None,
            _config: None,
        });
    }
    if Path::new(SOCKET).exists() && list_readers().is_ok() {
        return Err("a running pcscd has no vpcd reader (and a second one cannot start)".into());
    }
    let driver =
        find_driver().ok_or("vpcd driver libifdvpcd.so not found (install vsmartcard-vpcd)")?;
    // The driver listens on its channel's port when pcscd loads it, and
    // makes no reader if the port is taken: in a test binary whose other
    // tests open sockets on ephemeral ports, one of them can briefly hold
    // it. Wait for it to be free rather than start a pcscd without reader.
    if wait_for(Duration::from_secs(30), || {
        std::net::TcpListener::bind(("0.0.0.0", VPCD_PORT)).ok()
    })
    .is_none()
    {
        return Err(format!(
            "port {VPCD_PORT}, where the vpcd driver listens, stayed taken by another process for 30 s"
        ));
    }
    let config = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let conf = format!(
        "FRIENDLYNAME \"{READER}\"\nDEVICENAME /dev/null:0x8C7B\nLIBPATH {}\nCHANNELID 0x8C7B\n",
        driver.display()
    );
    std::fs::write(config.path().join("vpcd"), conf).map_err(|e| format!("config: {e}"))?;
    let child = Command::new("pcscd")
        .arg("--foreground")
        .arg("--config")
        .arg(config.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start pcscd ({e}); install pcscd"))?;
    let mut daemon = Daemon {
        child: Some(child),
        _config: Some(config),
    };
    // A loaded machine (the other tests of the binary start JVMs) can be
    // slow to bring pcscd up.
    let ready = wait_for(Duration::from_secs(60), || {
        let exited = daemon
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            return Some(Err(format!(
                "pcscd exited at start with {status} (it needs to create {SOCKET}; root?)"
            )));
        }
        (!vpcd_readers().is_empty()).then_some(Ok(()))
    });
    match ready {
        Some(Ok(())) => Ok(daemon),
        Some(Err(reason)) => Err(reason),
        None => Err("pcscd started but no vpcd reader appeared within 60 s".into()),
    }
}
