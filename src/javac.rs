//! Finding and running javac for `jct build`: the applet's sources compiled
//! against jct's own Java Card API jar (`jct api-jar`), which *replaces* the
//! JDK's classes on the boot class path so that an applet cannot use what a
//! card does not have (String, long, ...): the compiler says so at once,
//! with the source line, instead of the converter later.
//!
//! JDK 9 and later refuse `-bootclasspath` with `--release`, so the line is
//! `-source 8 -target 8 -bootclasspath api.jar` (JDK 8: `1.8`): class files
//! of version 52, which jct's converter reads. `-Xlint:-options` silences
//! the newer JDKs' "source value 8 is obsolete" warning, which says nothing
//! about the applet.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::errors::HintExt;

/// What to do when there is no usable JDK.
pub const INSTALL_JDK: &str =
    "install a JDK (8 or later; e.g. `sudo apt install default-jdk-headless`) \
     and put its bin/ on PATH, or set JAVA_HOME to it";

/// A javac found on this machine.
#[derive(Debug, Clone)]
pub struct Javac {
    /// The program: $JAVA_HOME/bin/javac, or `javac` from PATH.
    pub program: PathBuf,
    /// Where it came from, for messages: "JAVA_HOME" or "PATH".
    pub origin: &'static str,
    /// `javac -version`'s answer, e.g. "javac 17.0.15".
    pub version_text: String,
    /// The feature release: 8 for "1.8.0_392", 17 for "17.0.15".
    pub major: u32,
}

impl Javac {
    /// $JAVA_HOME/bin/javac when JAVA_HOME is set (an unusable one is an
    /// error, not silently passed over), else `javac` on PATH.
    pub fn find() -> Result<Javac> {
        match std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
            Some(home) => {
                let program = Path::new(&home).join("bin").join("javac");
                Javac::probe(program.clone(), "JAVA_HOME").with_context(|| {
                    format!(
                        "JAVA_HOME is {} but {} does not run",
                        Path::new(&home).display(),
                        program.display()
                    )
                })
            }
            None => Javac::probe(PathBuf::from("javac"), "PATH")
                .context("no javac on PATH")
                .hint(INSTALL_JDK),
        }
    }

    /// Which javac [`Javac::find`] would run, without running it: the
    /// program, where it came from, and an identity of the real file
    /// (symbolic links such as /usr/bin/javac -> /etc/alternatives/...
    /// resolved; its size and modification time), so that a build can
    /// reuse the version it read last time instead of starting a JVM.
    /// None when there is no such file (then `find` says why).
    pub fn identity() -> Option<(PathBuf, &'static str, String)> {
        let (program, origin) = match std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
            Some(home) => (Path::new(&home).join("bin").join("javac"), "JAVA_HOME"),
            None => (PathBuf::from("javac"), "PATH"),
        };
        let file = if origin == "PATH" {
            which(&program)?
        } else {
            program.clone()
        };
        let real = std::fs::canonicalize(&file).ok()?;
        let meta = std::fs::metadata(&real).ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some((
            program,
            origin,
            format!("{} {} {mtime}", real.display(), meta.len()),
        ))
    }

    /// A javac known from an earlier [`Javac::find`] of the same identity.
    pub fn known(program: PathBuf, origin: &'static str, version_text: String) -> Option<Javac> {
        let major = parse_major(&version_text)?;
        Some(Javac {
            program,
            origin,
            version_text,
            major,
        })
    }

    /// Runs `program -version` and reads the version from its answer
    /// (javac 8 writes it on stderr, later ones on stdout).
    fn probe(program: PathBuf, origin: &'static str) -> Result<Javac> {
        let out = Command::new(&program)
            .arg("-version")
            .output()
            .with_context(|| format!("running {}", program.display()))
            .hint(INSTALL_JDK)?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let version_text = text
            .lines()
            .find(|l| l.trim_start().starts_with("javac"))
            .unwrap_or("")
            .trim()
            .to_string();
        if !out.status.success() {
            bail!(
                "`{} -version` failed ({}): {}",
                program.display(),
                out.status,
                text.trim()
            );
        }
        let major = parse_major(&version_text).with_context(|| {
            format!(
                "cannot read the version in `{} -version`'s answer {:?}",
                program.display(),
                text.trim()
            )
        })?;
        if major < 8 {
            bail!(
                "{version_text} is too old: jct needs javac 8 or later (class files of version 52)"
            )
        }
        Ok(Javac {
            program,
            origin,
            version_text,
            major,
        })
    }

    /// The arguments for compiling `sources` against `api_jar` (and the
    /// classes of imported packages on `classpath`) into `classes`, with
    /// the local variable tables the converter reads.
    pub fn args(
        &self,
        api_jar: &Path,
        classpath: &[PathBuf],
        classes: &Path,
        sources: &[PathBuf],
    ) -> Vec<OsString> {
        let level = if self.major == 8 { "1.8" } else { "8" };
        let mut args: Vec<OsString> = ["-g", "-source", level, "-target", level]
            .iter()
            .map(OsString::from)
            .collect();
        if self.major > 8 {
            args.push("-Xlint:-options".into());
        }
        args.extend([
            OsString::from("-encoding"),
            "UTF-8".into(),
            "-bootclasspath".into(),
            api_jar.into(),
        ]);
        if let Ok(cp) = std::env::join_paths(classpath) {
            if !classpath.is_empty() {
                args.extend([OsString::from("-cp"), cp]);
            }
        }
        args.extend(["-d".into(), classes.into()]);
        args.extend(sources.iter().map(OsString::from));
        args
    }

    /// The command line as a shell would show it (for `--verbose`).
    pub fn command_line(&self, args: &[OsString]) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(args.iter().map(OsString::as_os_str))
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs javac with `args`; its diagnostics go straight to the user's
    /// stderr (they name file and line themselves).
    pub fn run(&self, args: &[OsString]) -> Result<()> {
        let status = Command::new(&self.program)
            .args(args)
            .status()
            .with_context(|| format!("running {}", self.program.display()))?;
        if !status.success() {
            bail!(
                "javac failed ({status}): fix the errors it reported above, then run `jct build` again"
            );
        }
        Ok(())
    }
}

/// The first `program` on PATH.
pub fn which(program: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The feature release in a `javac -version` line: "javac 1.8.0_392" is 8,
/// "javac 17.0.15" 17, "javac 21" 21, "javac 24-ea" 24.
pub fn parse_major(line: &str) -> Option<u32> {
    let v = line.trim().strip_prefix("javac")?.trim();
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Every `.java` file under `dir`, sorted (so the command line and the
/// build state are the same from run to run).
pub fn java_sources(dir: &Path) -> Result<Vec<PathBuf>> {
    crate::fsutil::files_with_extension(dir, "java")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_every_jdk_generation() {
        assert_eq!(parse_major("javac 1.8.0_392"), Some(8));
        assert_eq!(parse_major("javac 17.0.15"), Some(17));
        assert_eq!(parse_major("javac 21"), Some(21));
        assert_eq!(parse_major("javac 24-ea"), Some(24));
        assert_eq!(parse_major("java 17"), None);
        assert_eq!(parse_major("javac"), None);
    }

    #[test]
    fn the_command_line_is_quoted_for_a_shell() {
        assert_eq!(shell_quote("src/A.java"), "src/A.java");
        assert_eq!(shell_quote("my dir/A.java"), "'my dir/A.java'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn jdk_8_and_later_get_their_own_source_level() {
        let j = |major| Javac {
            program: "javac".into(),
            origin: "PATH",
            version_text: String::new(),
            major,
        };
        let args = |major| {
            j(major)
                .args(
                    Path::new("api.jar"),
                    &[],
                    Path::new("out"),
                    &["A.java".into()],
                )
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            args(8),
            "-g -source 1.8 -target 1.8 -encoding UTF-8 -bootclasspath api.jar -d out A.java"
        );
        assert_eq!(
            args(17),
            "-g -source 8 -target 8 -Xlint:-options -encoding UTF-8 -bootclasspath api.jar -d out A.java"
        );
        let with_lib = j(17).args(
            Path::new("api.jar"),
            &["../lib/build/classes".into()],
            Path::new("out"),
            &["A.java".into()],
        );
        let text: Vec<String> = with_lib
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(text
            .join(" ")
            .contains("-bootclasspath api.jar -cp ../lib/build/classes -d out"));
    }
}
