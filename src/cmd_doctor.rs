//! `jct doctor`: renders `crate::doctor`'s checks (text or --json).

use anyhow::Result;
use clap::Args;

use crate::doctor::{self, Status};

// Options of `jct doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Print the checks as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The exit status when something a command needs is missing.
pub const EXIT_MISSING: u8 = 1;

pub fn run(args: DoctorArgs) -> Result<()> {
    let checks = doctor::run_all();
    let missing = checks
        .iter()
        .filter(|c| c.status == Status::Missing)
        .count();
    if args.json {
        let v = serde_json::json!({ "checks": checks, "ok": missing == 0 });
        crate::out::line(format_args!("{v}"))?;
    } else {
        for c in &checks {
            let status = match c.status {
                Status::Ok => "ok",
                Status::Missing => "MISSING",
                Status::Warning => "warning",
                Status::Skipped => "-",
            };
            crate::out::line(format_args!("{status:<8}{:<10}{}", c.name, c.detail))?;
            if let Some(fix) = &c.fix {
                crate::out::line(format_args!("{:18}-> {fix}", ""))?;
            }
        }
        crate::out::line(format_args!(
            "{}",
            if missing == 0 {
                "nothing missing for jct new / build / run".to_string()
            } else {
                format!("{missing} missing: see the -> lines")
            }
        ))?;
    }
    if missing == 0 {
        Ok(())
    } else {
        Err(crate::cmd_test::Exit(EXIT_MISSING).into())
    }
}
