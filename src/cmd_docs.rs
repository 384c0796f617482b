//! `jct completions SHELL` and `jct man`: shell completions and manual
//! pages generated from the clap definitions in `crate::cli`, so they
//! always match the binary that writes them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

// Options of `jct completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

// Options of `jct man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write jct.1 and a page per subcommand (jct-build.1, ...) into DIR
    /// instead of jct.1 to standard output.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// Completions on stdout, e.g. `jct completions bash > ~/.local/share/bash-completion/completions/jct`.
pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = full_command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "jct", &mut buf);
    crate::out::text(&String::from_utf8_lossy(&buf))
}

/// The whole command tree with every argument: subcommands are `defer`red
/// (built when named), so the tree is built out before anything describes it.
fn full_command() -> clap::Command {
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    cmd
}

/// The manual page(s).
pub fn man(args: ManArgs) -> Result<()> {
    let cmd = full_command();
    match args.output {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing manual pages into {}", dir.display()))?;
            note!(
                "wrote the manual pages into {} (man -l {}/jct.1)",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .context("rendering the manual page")?;
            crate::out::text(&String::from_utf8_lossy(&buf))
        }
    }
}
