//! Command-line grammar (clap derive). Help texts here are the user manual.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// jct — the Java Card toolchain in one binary: CAP and export file tools, a
/// GlobalPlatform loader (SCP02/SCP03 over PC/SC, TCP or recorded traces) and
/// an emulated card with a real card manager.
///
/// Quick start: `jct new demo && cd demo && jct run` (a new applet project,
/// built and tested on an emulated card); `jct doctor` checks the machine.
#[derive(Parser, Debug)]
#[command(name = "jct", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `defer = true` here and on every other subcommand enum: clap then builds
/// the arguments of a subcommand only when the command line names it. Building
/// all of jct's (a few hundred arguments) took most of the instructions and
/// heap page faults of a small `jct build` — its process start is what a small
/// conversion costs. A deferred subcommand applies its variant's doc comment
/// before its arguments, so the `#[derive(Args)]` structs carry plain `//`
/// comments: a doc comment there would become the `about` of every subcommand
/// that uses the struct (the test `every_subcommand_keeps_its_own_about`).
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Create an applet project: jct.toml, the applet's source, a test script, .gitignore, README.
    ///
    /// Example: jct new wallet --package com.example.wallet --aid F000000001A5
    New(crate::cmd_new::NewArgs),
    /// Build the project, then run its tests/*.apdu on a fresh emulated card
    /// each (or on a card: --emu, -r); a summary line per script.
    ///
    /// The same as `jct test` without scripts. Example: jct run --project demo
    #[command(disable_version_flag = true)]
    Run(crate::cmd_test::TestArgs),
    /// Check the machine: javac, pcscd and readers, the vpcd driver, the
    /// emulator's port, SoftHSM2 when configured; says how to get what is missing.
    Doctor(crate::cmd_doctor::DoctorArgs),
    /// Write shell completions to standard output.
    ///
    /// Example: jct completions bash > ~/.local/share/bash-completion/completions/jct
    Completions(crate::cmd_docs::CompletionsArgs),
    /// Write the manual page (jct.1) to standard output, or all pages into a directory.
    ///
    /// Example: jct man -o man/ && man -l man/jct.1
    Man(crate::cmd_docs::ManArgs),
    /// Inspect, check and re-write CAP files (JAR or raw load file).
    #[command(subcommand)]
    Cap(CapCommand),
    /// Inspect export (.exp) files.
    #[command(subcommand)]
    Exp(ExpCommand),
    #[command(flatten)]
    Card(crate::cmd_card::CardCommand),
    /// Compile the project's Java sources (javac, when they changed) and convert them into a CAP
    /// file (and an export file).
    ///
    /// Run it in an applet project (`jct new`) with a jct.toml: javac runs on [build] sources
    /// (default src/) against jct's Java Card API jar, only when a source, the API or the JDK
    /// changed. Or convert compiled classes with the settings as options:
    /// jct build build/classes --package com.example.hello --package-aid F00000000101
    /// --version 1.0 --applet F0000000010101=HelloApplet -o hello.cap
    #[command(disable_version_flag = true)]
    Build(crate::cmd_build::BuildArgs),
    /// Write the Java Card API as a jar to compile applets against with javac.
    ///
    /// Example: jct api-jar -o api.jar && javac -source 8 -target 8 -bootclasspath api.jar ...
    ApiJar(crate::cmd_api::ApiJarArgs),
    /// Write the Java Card API as Java sources (signatures and constants).
    ApiSrc(crate::cmd_api::ApiSrcArgs),
    /// Run APDU scripts as regression tests: on a fresh in-process card, or a card (--emu, -r).
    #[command(long_about = crate::cmd_test::LONG_HELP)]
    Test(crate::cmd_test::TestArgs),
    /// Secured scripts: the key holder builds a card's whole install sequence,
    /// every command MACed and the lot signed; a thin client without keys plays it.
    #[command(subcommand)]
    Script(crate::cmd_script::ScriptCommand),
    /// Master keys in a PKCS#11 token (an HSM, SoftHSM2): import and list.
    /// The PIN comes from an environment variable, keys from stdin or a file.
    #[command(subcommand)]
    Hsm(crate::cmd_hsm::HsmCommand),
    /// A card station for remote personalization: a control socket and a
    /// personalization socket per reader, driven by `jct keyserver` over TLS.
    ///
    /// Example: jct station --listen 127.0.0.1:7000 --tls-dir pki --name s1 -r 127.0.0.1:35963
    Station(crate::cmd_station::StationArgs),
    /// The key server of remote personalization: runs jobs on the cards of
    /// the stations its configuration names; `init` makes the certificates,
    /// `keyfile` the encrypted key file.
    ///
    /// Example: jct keyserver --config keyserver.toml
    #[command(args_conflicts_with_subcommands = true)]
    Keyserver(crate::cmd_keyserver::KeyServerArgs),
    /// Card keys: `jct keys probe` finds which key set and diversification a
    /// card holds without spending an authentication try.
    #[command(subcommand)]
    Keys(crate::cmd_keys::KeysCommand),
    /// DAP signatures of load files: `jct dap sign` makes the DAP file
    /// `jct load/install --dap` sends, for a security domain that verifies DAPs.
    #[command(subcommand)]
    Dap(crate::cmd_dap::DapCommand),
    /// Delegated management tokens: `jct token delete` signs a DELETE with
    /// the card issuer's token key, for `jct delete --token`.
    #[command(subcommand)]
    Token(crate::cmd_dap::TokenCommand),
    /// A certification authority for SCP11: `jct ca init` makes one,
    /// `jct ca sign` certifies card and terminal keys in the SCP11
    /// certificate format, `jct ca show` checks certificates.
    #[command(subcommand)]
    Ca(crate::cmd_ca::CaCommand),
    /// Run an emulated GlobalPlatform card (TCP for --emu, or a vpcd reader for PC/SC tools);
    /// `jct emu stats --state DIR` shows a card's memory.
    #[command(args_conflicts_with_subcommands = true)]
    Emu(crate::cmd_emu::EmuArgs),
}

// A CAP file argument. Both containers are accepted: the `.cap` JAR the
// converter writes, and a raw load file (components concatenated, optionally
// inside the C4 tag), told apart by content.
#[derive(Args, Debug)]
pub struct CapInput {
    /// CAP file: a .cap JAR or a raw load file (IJC).
    pub file: PathBuf,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum CapCommand {
    /// Show the package, applets, imports, component sizes and load file hashes.
    ///
    /// Example: jct cap info applet.cap --json
    Info {
        #[command(flatten)]
        input: CapInput,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show every component decoded, with the bytecode disassembled.
    Dump {
        #[command(flatten)]
        input: CapInput,
        /// Print the decoded model as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the CAP is consistent before it goes to a card.
    ///
    /// Exits with status 1 and lists each problem (component, offset, rule) when
    /// a check fails.
    Verify {
        #[command(flatten)]
        input: CapInput,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the Load File Data Block exactly as `jct load` sends it.
    ///
    /// Components in load order: Header, Directory, Import, Applet, Class, Method,
    /// StaticField, Export, ConstantPool, RefLocation, StaticResources (and the
    /// Descriptor with --with-descriptor). Debug is never included.
    LoadFile {
        #[command(flatten)]
        input: CapInput,
        /// Include the Descriptor component (some cards want it for off-card verification data).
        #[arg(long)]
        with_descriptor: bool,
        /// Wrap the block in the GlobalPlatform C4 tag with its BER length.
        #[arg(long)]
        c4: bool,
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Re-write a CAP as a JAR or as a raw load file, re-encoded from the decoded model.
    Convert {
        #[command(flatten)]
        input: CapInput,
        /// Container to write.
        #[arg(long, value_enum, default_value_t = Container::Jar)]
        to: Container,
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Output container for `jct cap convert`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// A .cap JAR (other entries of an input JAR are kept).
    Jar,
    /// A raw load file: every component concatenated in load order (Descriptor included).
    Ijc,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ExpCommand {
    /// Show the package, classes, tokens, fields and methods of an export file.
    Dump {
        /// Export file (.exp), format 2.1, 2.2 or 2.3.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::collections::HashMap;

    /// Collects `(path, about)` of every subcommand below `cmd`, built.
    fn abouts(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for sub in cmd.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            out.push((name.clone(), about));
            abouts(sub, &name, out);
        }
    }

    /// A deferred subcommand runs its `Args` augmentation after its own doc
    /// comment was applied, so an `Args` struct's doc comment would replace
    /// the about of each subcommand using it. The top level is compared
    /// before and after the deferred arguments are built; below it, a shared
    /// struct's doc would show up as one about on many subcommands.
    #[test]
    fn every_subcommand_keeps_its_own_about() {
        let unbuilt = Cli::command();
        let before: HashMap<String, String> = unbuilt
            .get_subcommands()
            .map(|s| {
                let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
                (s.get_name().to_string(), about)
            })
            .collect();
        let mut built = Cli::command();
        built.build();
        let mut all = Vec::new();
        abouts(&built, "jct", &mut all);
        assert!(all.len() > 40, "only {} subcommands found", all.len());
        for sub in built.get_subcommands() {
            let now = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            if sub.get_name() == "help" {
                continue;
            }
            assert_eq!(
                before[sub.get_name()],
                now,
                "the about of `jct {}` changed when its arguments were built",
                sub.get_name()
            );
        }
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (path, about) in &all {
            // clap's generated `help` subcommands repeat the others' abouts.
            if path.split(' ').any(|word| word == "help") {
                continue;
            }
            assert!(!about.is_empty(), "`{path}` has no about");
            if let Some(other) = seen.insert(about, path) {
                panic!("`{path}` and `{other}` share the about {about:?}");
            }
        }
    }
}
