//! The PC/SC path end to end with real components: pcscd with vsmartcard's
//! vpcd driver plays the reader, a card-side vpcd client (answering 9000)
//! plays the card, and PcscTransport finds the reader by a substring of
//! its name and exchanges APDUs through the real PC/SC stack.
//!
//! The test starts pcscd itself (`pcscd -f -c DIR`, with a reader config
//! of its own) unless one is already running, and stops what it started.
//! Where pcscd or the vpcd driver cannot run, it prints why it skipped.
#![cfg(feature = "pcsc")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use loader::transport::pcsc::{list_readers, select_reader, PcscTransport, ReaderInfo};
use loader::transport::vpcd::{pcscd_vpcd_default_addr, ServeEnd, VpcdCard};
use loader::transport::vpcd_frame::{Control, Frame};
use loader::transport::{CardChannel, Transport};

const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];
const READER: &str = "Virtual PCD";
const SOCKET: &str = "/run/pcscd/pcscd.comm";
const DRIVER_DIRS: &[&str] = &[
    "/usr/lib/pcsc/drivers/serial",
    "/usr/lib64/pcsc/drivers/serial",
    "/usr/local/lib/pcsc/drivers/serial",
];

/// A pcscd this test started; stopped (by its own pid) when dropped.
struct Daemon {
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
fn wait_for<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
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

fn vpcd_readers() -> Vec<ReaderInfo> {
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

/// Uses a running pcscd that has a vpcd reader, or starts one.
fn ensure_pcscd() -> Result<Daemon, String> {
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
    let ready = wait_for(Duration::from_secs(10), || {
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
        None => Err("pcscd started but no vpcd reader appeared within 10 s".into()),
    }
}

#[test]
fn pcsc_reader_backed_by_a_vpcd_card() {
    let daemon = match ensure_pcscd() {
        Ok(daemon) => daemon,
        Err(reason) => {
            // libtest has no "skipped" state: say so where --nocapture and
            // failing runs show it.
            eprintln!("SKIPPED pcsc_reader_backed_by_a_vpcd_card: {reason}");
            return;
        }
    };

    // The card side: connect to the driver (it may take a moment to listen).
    let addr = pcscd_vpcd_default_addr();
    let mut card = wait_for(Duration::from_secs(10), || {
        VpcdCard::connect(&addr, Duration::from_secs(2)).ok()
    })
    .unwrap_or_else(|| panic!("vpcd driver never accepted a card on {addr}"));
    let stop = Arc::new(AtomicBool::new(false));
    let card_stop = Arc::clone(&stop);
    let card_thread = thread::spawn(move || {
        let mut apdus = Vec::new();
        let end = card.serve(
            |frame| match frame {
                Frame::Control(Control::GetAtr) => ATR.to_vec(),
                Frame::Apdu(apdu) => {
                    apdus.push(apdu);
                    vec![0x90, 0x00]
                }
                Frame::Control(_) => Vec::new(),
            },
            &card_stop,
        );
        (end, apdus)
    });

    let present = wait_for(Duration::from_secs(10), || {
        vpcd_readers().into_iter().find(|r| r.card_present)
    })
    .expect("the vpcd reader never showed a card");
    assert_eq!(present.atr.as_deref(), Some(&ATR[..]));
    let readers = list_readers().unwrap();
    assert_eq!(
        select_reader(&readers, Some("virtual pcd")).unwrap().name,
        present.name
    );

    let transport = PcscTransport::connect(Some("virtual pcd")).unwrap();
    assert_eq!(transport.reader(), present.name);
    assert_eq!(transport.atr(), Some(&ATR[..]));
    assert!(
        transport.describe().contains(READER),
        "{}",
        transport.describe()
    );
    let mut channel = CardChannel::new(Box::new(transport) as Box<dyn Transport>);
    assert_eq!(
        channel.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x00]).unwrap(),
        [0x90, 0x00]
    );
    assert_eq!(channel.reset().unwrap(), ATR);
    assert_eq!(
        channel.transmit(&[0x80, 0xCA, 0x9F, 0x7F, 0x00]).unwrap(),
        [0x90, 0x00]
    );
    drop(channel);

    stop.store(true, Ordering::Relaxed);
    let (end, apdus) = card_thread.join().expect("card thread");
    let end = end.expect("card side ended with an error");
    assert!(matches!(end, ServeEnd::Stopped | ServeEnd::PeerClosed));
    assert!(
        apdus.contains(&vec![0x00, 0xA4, 0x04, 0x00, 0x00]),
        "{apdus:02X?}"
    );
    assert!(
        apdus.contains(&vec![0x80, 0xCA, 0x9F, 0x7F, 0x00]),
        "{apdus:02X?}"
    );
    drop(daemon);
}
