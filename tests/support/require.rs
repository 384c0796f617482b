//! Test support: what a test does when a real component it needs (pcscd,
//! the vpcd driver, javac, java, javap) is missing from the machine.
//!
//! Outside CI a developer may lack a JDK or pcscd: the test says on stderr
//! that it skipped and why, and passes (libtest has no "skipped" state).
//! Under CI (`CI` set) the components are installed on purpose
//! (scripts/setup-system.sh), so a missing one is a broken environment and
//! a silent pass would hide it: the test fails, naming what is missing.
//!
//! Shared by the root package's tests and cap-tools' (`#[path]`), so every
//! test decides the same way.
#![allow(dead_code)]

use std::process::Command;

/// `Ok(())` when `component` is usable; otherwise skips (returns false,
/// saying so on stderr) or, under CI, panics naming the component.
pub fn require(component: &str, available: Result<(), String>) -> bool {
    match available {
        Ok(()) => true,
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("{component} is required under CI but missing: {reason}")
        }
        Err(reason) => {
            eprintln!(
                "SKIPPED {}: {component} is missing: {reason}",
                std::thread::current().name().unwrap_or("test")
            );
            false
        }
    }
}

/// Whether `tool -version` runs and succeeds (the JDK tools all take it).
pub fn tool_runs(tool: &str) -> Result<(), String> {
    match Command::new(tool).arg("-version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("`{tool} -version` failed with {}", o.status)),
        Err(e) => Err(format!("`{tool}` cannot run ({e}); install a JDK")),
    }
}

/// javac, to compile applets and test sources.
pub fn javac() -> bool {
    require("javac", tool_runs("javac"))
}

/// java, to run compiled code for differential tests.
pub fn java() -> bool {
    require("java", tool_runs("java"))
}

/// javap, to inspect generated class files.
pub fn javap() -> bool {
    require("javap", tool_runs("javap"))
}
