//! `jct exp ...`: export files.

use anyhow::Result;

use crate::cli::ExpCommand;

pub fn run(cmd: ExpCommand) -> Result<()> {
    match cmd {
        ExpCommand::Dump { file, json } => {
            let exp = cap_tools::exp::ExportFile::read(&file)?;
            if json {
                println!("{}", exp.to_json_view()?);
            } else {
                print!("{}", cap_tools::exp::dump::render_text(&exp));
            }
            Ok(())
        }
    }
}
