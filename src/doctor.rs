//! `jct doctor`: what of jct's surroundings is on this machine, and how to
//! get what is missing. Each check looks at the real thing (runs javac,
//! asks the PC/SC service for its readers, connects to the emulator's
//! port), never just at whether a file name exists where it could.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::javac::{which, Javac, INSTALL_JDK};

/// The emulator's address when JCT_EMU does not say.
pub const DEFAULT_EMU: &str = "127.0.0.1:35963";

/// How a check came out.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Present and working.
    Ok,
    /// Needed by a command and not there (`jct doctor` exits 1).
    Missing,
    /// Not there, but only some uses need it.
    Warning,
    /// Not configured here, so not checked.
    Skipped,
}

/// One check's finding.
#[derive(Serialize, Debug, Clone)]
pub struct Check {
    /// What was checked: "javac", "pcscd", ...
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to get what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check, in the order a new user needs them.
pub fn run_all() -> Vec<Check> {
    let mut checks = vec![javac()];
    checks.extend(pcsc());
    checks.push(vpcd_driver(Path::new("/etc/reader.conf.d")));
    checks.push(emulator_port());
    checks.push(softhsm());
    checks
}

/// javac, which `jct build` runs.
fn javac() -> Check {
    match Javac::find() {
        Ok(j) => {
            let location = if j.origin == "PATH" {
                which(&j.program).unwrap_or_else(|| j.program.clone())
            } else {
                j.program.clone()
            };
            Check::new(
                "javac",
                Status::Ok,
                format!(
                    "{} ({}, from {}); `jct build` compiles with -source/-target {}",
                    j.version_text,
                    location.display(),
                    j.origin,
                    if j.major == 8 { "1.8" } else { "8" }
                ),
            )
        }
        Err(e) => Check::new("javac", Status::Missing, crate::errors::render(&e)).fix(format!(
            "{INSTALL_JDK} (`jct build` compiles applets with it)"
        )),
    }
}

/// The PC/SC service and its readers (cards in readers: `jct list -r`).
#[cfg(feature = "pcsc")]
fn pcsc() -> Vec<Check> {
    match loader::transport::pcsc::list_readers() {
        Ok(readers) if readers.is_empty() => vec![Check::new(
            "pcscd",
            Status::Warning,
            "the PC/SC service runs but knows no reader",
        )
        .fix(
            "attach a reader; or, for an emulated card that PC/SC tools see, configure \
             vsmartcard's vpcd driver (below) and run `jct emu --vpcd 127.0.0.1:35963`",
        )],
        Ok(readers) => {
            let list: Vec<String> = readers
                .iter()
                .map(|r| {
                    format!(
                        "{} ({})",
                        r.name,
                        if r.card_present { "card" } else { "no card" }
                    )
                })
                .collect();
            vec![Check::new(
                "pcscd",
                Status::Ok,
                format!("{} reader(s): {}", readers.len(), list.join(", ")),
            )]
        }
        Err(e) => vec![
            Check::new("pcscd", Status::Warning, e.to_string()).fix(format!(
                "{} (only real cards and vpcd need it)",
                crate::card_args::NO_PCSCD
            )),
        ],
    }
}

#[cfg(not(feature = "pcsc"))]
fn pcsc() -> Vec<Check> {
    vec![Check::new(
        "pcscd",
        Status::Skipped,
        "this jct was built without PC/SC support (--no-default-features)",
    )
    .fix("install libpcsclite-dev and rebuild with the default features for real readers")]
}

/// vsmartcard's vpcd driver, which makes `jct emu --vpcd` a PC/SC reader:
/// its reader.conf entry and the library the entry names.
fn vpcd_driver(conf_dir: &Path) -> Check {
    let fix = "install vsmartcard's vpcd driver (`sudo apt install vsmartcard-vpcd`) and restart \
               pcscd; only PC/SC tools talking to `jct emu --vpcd` need it";
    let entries = std::fs::read_dir(conf_dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for conf in entries {
        let Ok(text) = std::fs::read_to_string(&conf) else {
            continue;
        };
        let Some(lib) = conf_value(&text, "LIBPATH") else {
            continue;
        };
        if !lib.contains("vpcd") {
            continue;
        }
        let port = conf_value(&text, "CHANNELID")
            .and_then(|v| u16::from_str_radix(v.trim_start_matches("0x"), 16).ok());
        return if Path::new(lib).exists() {
            Check::new(
                "vpcd",
                Status::Ok,
                format!(
                    "driver {lib} ({}), reader port {}: `jct emu --vpcd 127.0.0.1:{}`",
                    conf.display(),
                    port.map_or("?".into(), |p| p.to_string()),
                    port.unwrap_or(35963)
                ),
            )
        } else {
            Check::new(
                "vpcd",
                Status::Warning,
                format!("{} names {lib}, which does not exist", conf.display()),
            )
            .fix(fix)
        };
    }
    Check::new(
        "vpcd",
        Status::Warning,
        format!("no vpcd entry in {}", conf_dir.display()),
    )
    .fix(fix)
}

/// The value of `key` in a reader.conf entry (`KEY value`).
fn conf_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let mut parts = l.split_whitespace();
        (parts.next()? == key).then(|| parts.next()).flatten()
    })
}

/// Whether something listens where `--emu` goes (JCT_EMU or the default).
fn emulator_port() -> Check {
    let (addr, origin) = match std::env::var("JCT_EMU") {
        Ok(a) if !a.is_empty() => (a, "JCT_EMU"),
        _ => (DEFAULT_EMU.to_string(), "the default"),
    };
    let start = format!("start one with `jct emu --listen {addr}` to use --emu {addr}");
    let resolved = match addr.to_socket_addrs() {
        Ok(mut a) => a.next(),
        Err(e) => {
            return Check::new(
                "emulator",
                Status::Warning,
                format!("{addr} ({origin}) is not an address: {e}"),
            )
            .fix("set JCT_EMU to HOST:PORT, e.g. 127.0.0.1:35963");
        }
    };
    let Some(sock) = resolved else {
        return Check::new(
            "emulator",
            Status::Warning,
            format!("{addr} ({origin}) resolves to no address"),
        );
    };
    match TcpStream::connect_timeout(&sock, Duration::from_millis(500)) {
        Ok(_) => Check::new(
            "emulator",
            Status::Ok,
            format!("a card answers connections at {addr} ({origin}): --emu {addr}"),
        ),
        Err(e) => Check::new(
            "emulator",
            Status::Skipped,
            format!("nothing listens at {addr} ({origin}): {e}"),
        )
        .fix(format!(
            "{start} (`jct run` and `jct test` need none: they use an in-process card)"
        )),
    }
}

/// SoftHSM2, for keys in a PKCS#11 token: checked when SOFTHSM2_CONF names
/// a configuration.
fn softhsm() -> Check {
    let Some(conf) = std::env::var_os("SOFTHSM2_CONF").filter(|c| !c.is_empty()) else {
        return Check::new(
            "softhsm2",
            Status::Skipped,
            "not configured (SOFTHSM2_CONF is not set); only keys kept in a PKCS#11 token need it",
        );
    };
    let conf = PathBuf::from(conf);
    let text = match std::fs::read_to_string(&conf) {
        Ok(t) => t,
        Err(e) => {
            return Check::new(
                "softhsm2",
                Status::Missing,
                format!("SOFTHSM2_CONF is {}: {e}", conf.display()),
            )
            .fix("point SOFTHSM2_CONF at a softhsm2.conf (`sudo apt install softhsm2` writes /etc/softhsm/softhsm2.conf)");
        }
    };
    let tokendir = text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "directories.tokendir").then(|| v.trim().to_string())
    });
    let module = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists());
    match (tokendir, module) {
        (Some(dir), Some(module)) if Path::new(&dir).is_dir() => Check::new(
            "softhsm2",
            Status::Ok,
            format!("module {module}, tokens in {dir} ({})", conf.display()),
        ),
        (Some(dir), Some(_)) => Check::new(
            "softhsm2",
            Status::Missing,
            format!(
                "{}: directories.tokendir {dir} does not exist",
                conf.display()
            ),
        )
        .fix(format!(
            "mkdir -p {dir}, then `softhsm2-util --init-token --free --label jct`"
        )),
        (None, _) => Check::new(
            "softhsm2",
            Status::Missing,
            format!("{} has no directories.tokendir", conf.display()),
        )
        .fix("add `directories.tokendir = /path/to/tokens` to it"),
        (_, None) => Check::new(
            "softhsm2",
            Status::Missing,
            "SOFTHSM2_CONF is set but the SoftHSM2 module (libsofthsm2.so) is not installed",
        )
        .fix("sudo apt install softhsm2"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_conf_values() {
        let text = "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x8C7B\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x8C7B\n";
        assert_eq!(
            conf_value(text, "LIBPATH"),
            Some("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
        );
        assert_eq!(conf_value(text, "CHANNELID"), Some("0x8C7B"));
        assert_eq!(conf_value(text, "NONE"), None);
    }

    #[test]
    fn a_missing_vpcd_entry_says_how_to_get_it() {
        let dir = std::env::temp_dir().join(format!("jct-doctor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = vpcd_driver(&dir);
        assert_eq!(c.status, Status::Warning);
        assert!(c.fix.unwrap().contains("vsmartcard-vpcd"));
        std::fs::write(dir.join("vpcd"), "LIBPATH /nonexistent/libifdvpcd.so\n").unwrap();
        let c = vpcd_driver(&dir);
        assert!(c.detail.contains("does not exist"), "{}", c.detail);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
