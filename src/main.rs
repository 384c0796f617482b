//! jct: one binary for Java Card development — CAP and export file tools, and
//! (as the project grows) the converter, the GlobalPlatform loader and the
//! emulator. This file only parses arguments and dispatches; the work is done
//! by the library crates.

/// `eprintln!` that cannot panic: a line on stderr through [`out::err`].
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::out::err(format_args!($($arg)*))
    };
}

mod ca;
mod card_args;
mod cli;
mod cmd_api;
mod cmd_build;
mod cmd_ca;
mod cmd_cap;
mod cmd_card;
mod cmd_dap;
mod cmd_docs;
mod cmd_doctor;
mod cmd_emu;
mod cmd_emu_stats;
mod cmd_exp;
mod cmd_hsm;
mod cmd_keys;
mod cmd_keyserver;
mod cmd_new;
mod cmd_script;
mod cmd_station;
mod cmd_test;
mod compile;
mod doctor;
mod errors;
mod fsutil;
mod javac;
mod out;
mod scaffold;
mod script_tls;
mod secret;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let cli = parse_command_line();
    let result = match cli.command {
        cli::Command::New(args) => cmd_new::run(args),
        cli::Command::Run(args) => cmd_test::run(args),
        cli::Command::Doctor(args) => cmd_doctor::run(args),
        cli::Command::Completions(args) => cmd_docs::completions(args),
        cli::Command::Man(args) => cmd_docs::man(args),
        cli::Command::Cap(cmd) => cmd_cap::run(cmd),
        cli::Command::Exp(cmd) => cmd_exp::run(cmd),
        cli::Command::Card(cmd) => cmd_card::run(cmd),
        cli::Command::Emu(args) => cmd_emu::run(args),
        cli::Command::Test(args) => cmd_test::run(args),
        cli::Command::Script(cmd) => cmd_script::run(cmd),
        cli::Command::Hsm(cmd) => cmd_hsm::run(cmd),
        cli::Command::Station(args) => cmd_station::run(args),
        cli::Command::Keyserver(args) => cmd_keyserver::run(args),
        cli::Command::Keys(cmd) => cmd_keys::run(cmd),
        cli::Command::Dap(cmd) => cmd_dap::run(cmd),
        cli::Command::Token(cmd) => cmd_dap::run_token(cmd),
        cli::Command::Ca(cmd) => cmd_ca::run(cmd),
        cli::Command::Build(args) => cmd_build::run(args),
        cli::Command::ApiJar(args) => cmd_api::run_jar(args),
        cli::Command::ApiSrc(args) => cmd_api::run_src(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): it has what it
        // wanted, so this is a quiet success, not an error.
        Err(e) if e.is::<out::StdoutClosed>() => ExitCode::SUCCESS,
        // `jct test` and `jct doctor` have reported already; only the status is left.
        Err(e) if e.is::<cmd_test::Exit>() => {
            ExitCode::from(e.downcast_ref::<cmd_test::Exit>().map_or(1, |x| x.0))
        }
        Err(e) => {
            note!("error: {}", errors::render(&e));
            ExitCode::FAILURE
        }
    }
}

/// `Cli::parse()`, without dropping clap's command tree: freeing it, node by
/// node, cost as many instructions as a small conversion's constant pool,
/// and the process is about to end anyway.
fn parse_command_line() -> cli::Cli {
    let mut command = cli::Cli::command();
    let matches = command.get_matches_mut();
    let parsed =
        cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    std::mem::forget(command);
    parsed
}
