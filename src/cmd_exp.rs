//! `jct exp ...`: export files.

use anyhow::Result;

use crate::cli::ExpCommand;
use crate::out;

pub fn run(cmd: ExpCommand) -> Result<()> {
    match cmd {
        ExpCommand::Dump { file, json } => {
            let exp = cap_tools::exp::ExportFile::read(&file)?;
            if json {
                out::line(format_args!("{}", exp.to_json_view()?))?;
            } else {
                out::text(&cap_tools::exp::dump::render_text(&exp))?;
            }
            Ok(())
        }
    }
}
