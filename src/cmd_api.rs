//! `jct api-jar` and `jct api-src`: the Java Card API that applets compile
//! against, made from jct's embedded export tables, so that building an
//! applet needs a JDK but no Oracle kit. The work is in `cap_tools::api`.
//!
//! Compile against the jar with the API *replacing* the JDK's classes, which
//! keeps applets to what a card has:
//!
//!     javac -source 8 -target 8 -bootclasspath api.jar -d classes Applet.java
//!
//! (`--release 8 -cp api.jar` also compiles, but lets JDK classes such as
//! `String` through, which the converter then rejects. With `-bootclasspath`,
//! leave out `-Xlint:overrides`: that lint looks for `Object.hashCode`, which
//! Java Card does not have, and javac 17 crashes.)

use std::path::PathBuf;

use anyhow::{Context, Result};
use cap_tools::api::{jar, javasrc, ApiVersion};
use clap::Args;

use crate::fsutil::write_atomic;

// Options of `jct api-jar`.
#[derive(Args, Debug, Clone)]
pub struct ApiJarArgs {
    /// Where to write the jar of API class files.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Java Card API version: 2.2.2, 3.0.4, 3.0.5 or 3.2.0.
    #[arg(long, value_name = "VERSION", default_value = "3.0.5", value_parser = parse_api)]
    pub api: ApiVersion,
}

// Options of `jct api-src`.
#[derive(Args, Debug, Clone)]
pub struct ApiSrcArgs {
    /// Directory to write the .java files under (package directories are
    /// created; existing files of the same name are replaced).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Java Card API version: 2.2.2, 3.0.4, 3.0.5 or 3.2.0.
    #[arg(long, value_name = "VERSION", default_value = "3.0.5", value_parser = parse_api)]
    pub api: ApiVersion,
}

/// `jct api-jar -o api.jar [--api 3.0.5]`.
pub fn run_jar(args: ApiJarArgs) -> Result<()> {
    let bytes = jar::build(args.api).with_context(|| format!("Java Card API {}", args.api))?;
    write_atomic(&args.output, &bytes)?;
    note!(
        "wrote {} (Java Card API {}, {} bytes)",
        args.output.display(),
        args.api,
        bytes.len()
    );
    Ok(())
}

/// `jct api-src -o DIR [--api 3.0.5]`.
pub fn run_src(args: ApiSrcArgs) -> Result<()> {
    let files =
        javasrc::generate(args.api).with_context(|| format!("Java Card API {}", args.api))?;
    for (path, text) in &files {
        let file = args.output.join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_atomic(&file, text.as_bytes())?;
    }
    note!(
        "wrote {} Java files of the Java Card API {} under {}",
        files.len(),
        args.api,
        args.output.display()
    );
    Ok(())
}

fn parse_api(s: &str) -> Result<ApiVersion, String> {
    ApiVersion::parse(s).ok_or_else(|| {
        let known: Vec<&str> = ApiVersion::ALL.iter().map(|v| v.as_str()).collect();
        format!("unknown API version {s:?}; jct has {}", known.join(", "))
    })
}
