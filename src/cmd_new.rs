//! `jct new NAME`: a new applet project (see `crate::scaffold`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::scaffold::NewProject;

// Options of `jct new`.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// The project's name: its directory, and the default package and class
    /// (`my-wallet`: com.example.mywallet, MyWalletApplet).
    pub name: String,
    /// The Java package (dotted), instead of com.example.<name>.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// The package AID (hex, 5 to 15 bytes; the applet's is it plus 01),
    /// instead of one in the proprietary range F06A637400.
    #[arg(long, value_name = "HEX")]
    pub aid: Option<String>,
    /// Where to create the project (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: NewArgs) -> Result<()> {
    let project = NewProject::plan(&args.name, args.package.as_deref(), args.aid.as_deref())?;
    for n in &project.notes {
        note!("note: {n}");
    }
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let written = project.create(&dir)?;
    crate::out::line(format_args!(
        "created {}: package {} (AID {}), applet {} (AID {})",
        dir.display(),
        project.package,
        hex::encode_upper(&project.package_aid),
        project.class,
        hex::encode_upper(&project.applet_aid)
    ))?;
    for f in &written {
        crate::out::line(format_args!("  {}", f.display()))?;
    }
    crate::out::line(format_args!(
        "next: cd {} && jct run   (builds, then runs tests/*.apdu on an emulated card)",
        dir.display()
    ))
}
