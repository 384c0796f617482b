//! `jct exp ...`: export files.

use anyhow::{Context, Result};

use crate::cli::ExpCommand;

pub fn run(cmd: ExpCommand) -> Result<()> {
    match cmd {
        ExpCommand::Dump { file, json } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let exp = cap_tools::exp::ExportFile::decode(&bytes).with_context(|| file.display().to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&exp.to_json_view())?);
            } else {
                print!("{}", cap_tools::exp::dump::render_text(&exp));
            }
            Ok(())
        }
    }
}
