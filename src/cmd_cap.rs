//! `jct cap ...`: CAP file commands.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use cap_tools::cap::info::CapInfo;
use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;

use crate::cli::{CapCommand, Container};
use crate::fsutil::write_atomic;
use crate::out;

pub fn run(cmd: CapCommand) -> Result<()> {
    match cmd {
        CapCommand::Info { input, json } => {
            let cap = read(&input.file)?;
            let info = CapInfo::of(&cap).with_context(|| input.file.display().to_string())?;
            if json {
                out::line(format_args!("{}", serde_json::to_string_pretty(&info)?))?;
            } else {
                out::text(&render_info(&info))?;
            }
            Ok(())
        }
        CapCommand::Dump { input, json } => {
            let cap = read(&input.file)?;
            if json {
                out::line(format_args!("{}", serde_json::to_string_pretty(&cap)?))?;
            } else {
                out::text(&cap_tools::cap::dump::render_text(&cap))?;
            }
            Ok(())
        }
        CapCommand::Verify { input, json } => {
            let cap = read(&input.file)?;
            let findings = cap_tools::verify::verify(&cap);
            if json {
                out::line(format_args!("{}", serde_json::to_string_pretty(&findings)?))?;
            } else if findings.is_empty() {
                out::line(format_args!("{}: OK", input.file.display()))?;
            } else {
                for f in &findings {
                    out::line(format_args!("{}: {f}", input.file.display()))?;
                }
            }
            if findings.is_empty() {
                Ok(())
            } else {
                anyhow::bail!(
                    "{}: {} problem(s) found",
                    input.file.display(),
                    findings.len()
                )
            }
        }
        CapCommand::LoadFile {
            input,
            with_descriptor,
            c4,
            output,
        } => {
            let cap = read(&input.file)?;
            let lf = LoadFile::build(&cap, with_descriptor)?;
            let bytes = if c4 {
                lf.with_c4_tag()
            } else {
                lf.bytes.clone()
            };
            write_atomic(&output, &bytes)?;
            let d = lf.digest();
            note!(
                "wrote {} ({} bytes{}; load file SHA-256 {})",
                output.display(),
                bytes.len(),
                if with_descriptor {
                    ", with Descriptor"
                } else {
                    ""
                },
                d.sha256
            );
            Ok(())
        }
        CapCommand::Convert { input, to, output } => {
            let cap = read(&input.file)?;
            let bytes = match to {
                Container::Jar => cap.to_jar()?,
                Container::Ijc => LoadFile::build(&cap, true)?.bytes,
            };
            write_atomic(&output, &bytes)?;
            note!("wrote {} ({} bytes)", output.display(), bytes.len());
            Ok(())
        }
    }
}

/// Reads and decodes a CAP, naming the file in errors.
fn read(path: &Path) -> Result<Cap> {
    Cap::from_path(path).with_context(|| format!("cannot read CAP {}", path.display()))
}

/// The text form of `jct cap info`.
fn render_info(i: &CapInfo) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "CAP format:      {}{}",
        i.cap_format,
        if i.extended { " (extended)" } else { "" }
    );
    if let Some(name) = i.package_name.as_ref().filter(|n| !n.is_empty()) {
        let _ = writeln!(s, "Package:         {name}");
    }
    if let Some(aid) = &i.package_aid {
        let _ = writeln!(
            s,
            "Package AID:     {aid}  version {}",
            i.package_version.as_deref().unwrap_or("?")
        );
    }
    if let Some(x) = &i.extended_cap {
        let _ = writeln!(
            s,
            "CAP AID:         {}  version {}",
            x.cap_aid, x.cap_version
        );
        let private = x
            .described_packages
            .map_or(0, |n| n.saturating_sub(x.packages.len()));
        let _ = writeln!(
            s,
            "Packages:        {} public{}",
            x.packages.len(),
            if private > 0 {
                format!(", {private} private (described, not exported)")
            } else {
                String::new()
            }
        );
        for p in &x.packages {
            let _ = writeln!(
                s,
                "  {:<32}  {:<5} {}",
                p.aid.to_hex(),
                p.version,
                p.name.replace('/', ".")
            );
        }
        let _ = writeln!(s, "Method blocks:   {}", x.method_blocks);
    }
    let _ = writeln!(
        s,
        "Flags:           {:#04x} {}",
        i.flags,
        i.flag_names.join(" ")
    );
    let _ = writeln!(s, "Applets:         {}", i.applets.len());
    for a in &i.applets {
        let _ = writeln!(
            s,
            "  {:<32}  {}",
            a.aid.to_hex(),
            a.class_name.as_deref().unwrap_or("(class name unknown)")
        );
    }
    let _ = writeln!(s, "Imports:         {}", i.imports.len());
    for imp in &i.imports {
        let name = imp.name.as_deref().unwrap_or("");
        let apis = if imp.api_versions.is_empty() {
            String::new()
        } else {
            let v: Vec<&str> = imp.api_versions.iter().map(|x| x.as_str()).collect();
            format!(" (Java Card {})", v.join(", "))
        };
        let _ = writeln!(
            s,
            "  {:<32}  {:<5} {name}{apis}",
            imp.aid.to_hex(),
            imp.version
        );
    }
    let _ = writeln!(s, "Components:");
    for c in &i.components {
        let _ = writeln!(s, "  {:<16} {:>7} bytes", c.name, c.size);
    }
    let _ = writeln!(
        s,
        "Load file:       {} bytes ({} with Descriptor)",
        i.load_file.size, i.load_file_size_with_descriptor
    );
    let _ = writeln!(s, "  SHA-1:         {}", i.load_file.sha1);
    let _ = writeln!(s, "  SHA-256:       {}", i.load_file.sha256);
    s
}
