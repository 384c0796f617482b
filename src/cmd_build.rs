//! `jct build`: converts a package's class files to a CAP file (and an
//! export file), as described by a `jct.toml` (see
//! `cap_tools::convert::project` for the schema) with command-line
//! overrides, or entirely from the command line (`--package`, `--package-aid`,
//! `--version`, `--applet`). In a project with Java sources it runs javac
//! first (see `crate::compile`: only when something changed).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cap_tools::api::ApiVersion;
use cap_tools::convert::{self, Project};

use crate::compile::{self, Compiled};
use crate::errors::hinted;
use crate::fsutil::write_all_or_none;
use crate::out;

// Arguments of `jct build`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The project: a jct.toml, or the directory holding it. With --package:
    /// the compiled classes (a directory or a JAR).
    #[arg(default_value = "jct.toml", value_name = "PROJECT_OR_CLASSES")]
    pub project: PathBuf,
    /// Build without a jct.toml: the Java package (dotted) to convert.
    #[arg(long, requires_all = ["package_aid", "pkg_version", "output"])]
    pub package: Option<String>,
    /// Package AID (hex), with --package.
    #[arg(long, value_name = "HEX", requires = "package")]
    pub package_aid: Option<String>,
    /// Package version MAJ.MIN, with --package.
    #[arg(long = "version", value_name = "MAJ.MIN", requires = "package")]
    pub pkg_version: Option<String>,
    /// An applet, with --package: AID=Class (repeat for several).
    #[arg(long, value_name = "AID=CLASS", requires = "package")]
    pub applet: Vec<String>,
    /// The compiled classes (directory or JAR) to convert instead of
    /// [build] classes; javac is not run.
    #[arg(long)]
    pub classes: Option<PathBuf>,
    /// The CAP file to write instead of [build] output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Where to write the export file (default: beside the CAP, .exp).
    #[arg(long, visible_alias = "exp")]
    pub export: Option<PathBuf>,
    /// The Java Card API to link against: 2.2.2, 3.0.4, 3.0.5 or 3.2.0.
    #[arg(long, value_parser = parse_target)]
    pub target: Option<ApiVersion>,
    /// The version of org.globalplatform to link against, 1.0 to 1.7
    /// (default: the one the target's cards offer — 1.0 for 2.2.2, 1.5 for
    /// 3.0.4, 1.6 for 3.0.5, 1.7 for 3.2.0). A card links an import whose
    /// minor version is at most its own, so the oldest version with what
    /// the applet uses loads on the most cards.
    #[arg(long = "gp-api", value_name = "VERSION", value_parser = parse_gp_api)]
    pub gp_api: Option<(u8, u8)>,
    /// Allow the 32-bit int type (the card must support it).
    #[arg(long = "int")]
    pub int_support: bool,
    /// Translate `>>>` of a short that may be negative to sushr, as
    /// Oracle's converter does, with a note at each site. Java shifts the
    /// 32-bit sign extension, so for negative values the card's result
    /// differs from Java's; without this flag such a shift is refused with
    /// the rewrites that keep Java's meaning.
    #[arg(long)]
    pub oracle_ushr: bool,
    /// Write the Debug component (needs CAP format 2.2 or later: without
    /// --cap-format a target before 3.1 then gets 2.2).
    #[arg(long)]
    pub debug: bool,
    /// The CAP format to write: 2.1, 2.2, 2.3 or 2.3-extended. Default:
    /// what Oracle's converter writes for the target, 2.3 for 3.2.0, 2.1
    /// for older targets (2.2 with --debug). 2.3 is compact when the package
    /// fits 64 KiB and extended (Method component blocks, for Java Card 3.1+
    /// cards that support extended CAP files) when it does not, which the
    /// build then says; 2.3-extended writes the extended format whatever
    /// the size. The export file is format 2.3 with a 2.3 CAP, 2.1
    /// otherwise.
    #[arg(long, value_name = "FORMAT", value_parser = parse_cap_format)]
    pub cap_format: Option<cap_tools::cap::Format>,
    /// Another Java package (dotted) whose classes go into the same CAP
    /// file, as a private package (repeat for several; `private-packages`
    /// in [build]): the CAP file is then extended (CAP 2.3, the only format
    /// that holds several packages), its packages call each other through
    /// internal references, and the private ones are exported to no one.
    #[arg(long = "private-package", value_name = "PACKAGE")]
    pub private_packages: Vec<String>,
    /// Export files (or directories of them) of imported libraries, in
    /// addition to [build] exportpath.
    #[arg(long = "exportpath", value_name = "PATH")]
    pub export_path: Vec<PathBuf>,
    /// Show the javac command line.
    #[arg(short, long)]
    pub verbose: bool,
    /// Report on stderr instead of stdout (`jct run --json`: stdout is
    /// JSON lines only).
    #[arg(skip)]
    pub report_on_stderr: bool,
}

impl BuildArgs {
    /// The arguments of a plain `jct build` in the project `dir`.
    pub fn in_project(dir: &Path, verbose: bool) -> BuildArgs {
        BuildArgs {
            project: dir.to_path_buf(),
            package: None,
            package_aid: None,
            pkg_version: None,
            applet: Vec::new(),
            classes: None,
            output: None,
            export: None,
            target: None,
            gp_api: None,
            int_support: false,
            oracle_ushr: false,
            debug: false,
            cap_format: None,
            private_packages: Vec::new(),
            export_path: Vec::new(),
            verbose,
            report_on_stderr: false,
        }
    }

    /// One line of the build's report, where `report_on_stderr` says.
    fn report(&self, args: std::fmt::Arguments<'_>) -> Result<()> {
        if self.report_on_stderr {
            note!("{args}");
            Ok(())
        } else {
            out::line(args)
        }
    }
}

/// What to do when there is no jct.toml where `jct build` looks.
const NO_PROJECT: &str =
    "run `jct build` in an applet project's directory (`jct new NAME` makes one), \
     give the project's directory or jct.toml, or convert compiled classes without one: \
     jct build CLASSES --package NAME --package-aid HEX --version 1.0 -o OUT.cap";

fn parse_target(s: &str) -> Result<ApiVersion, String> {
    ApiVersion::parse(s).ok_or_else(|| format!("'{s}' is none of 2.2.2, 3.0.4, 3.0.5 and 3.2.0"))
}

fn parse_cap_format(s: &str) -> Result<cap_tools::cap::Format, String> {
    cap_tools::cap::Format::parse(s)
        .ok_or_else(|| format!("'{s}' is none of 2.1, 2.2, 2.3 and 2.3-extended"))
}

fn parse_gp_api(s: &str) -> Result<(u8, u8), String> {
    cap_tools::api::gp::parse_version(s).ok_or_else(|| {
        format!(
            "'{s}' is none of the org.globalplatform versions {}",
            cap_tools::api::gp::versions_text()
        )
    })
}

/// What to convert, from a jct.toml or from the command line.
struct Plan {
    opts: convert::Options,
    classes: PathBuf,
    output: PathBuf,
}

/// Options from `--package`, `--package-aid`, `--version` and `--applet`.
fn plan_from_flags(args: &BuildArgs, package: &str) -> Result<Plan> {
    let aid = |s: &str, what: &str| {
        cap_tools::Aid::from_hex(s).map_err(|e| anyhow::anyhow!("{what}: {e}"))
    };
    let package_aid = aid(
        args.package_aid.as_deref().unwrap_or_default(),
        "--package-aid",
    )?;
    let version_text = args.pkg_version.as_deref().unwrap_or_default();
    let version = convert::project::parse_version(version_text)
        .with_context(|| format!("--version '{version_text}' is not MAJ.MIN (each 0..=255)"))?;
    let mut opts = convert::Options::new(package, package_aid, version);
    for a in &args.applet {
        let (hex, class) = a
            .split_once('=')
            .with_context(|| format!("--applet '{a}' is not AID=Class"))?;
        opts.applets
            .push((aid(hex, "--applet")?, class.to_string()));
    }
    let output = args
        .output
        .clone()
        .context("--output is needed with --package")?;
    Ok(Plan {
        opts,
        classes: args.project.clone(),
        output,
    })
}

/// The jct.toml `project` names: the file, or the one in the directory.
pub fn project_file(project: &Path) -> Result<PathBuf> {
    let toml = if project.is_dir() {
        in_dir(project, "jct.toml")
    } else {
        project.to_path_buf()
    };
    if !toml.exists() {
        return Err(hinted(
            format!("no project file {}", toml.display()),
            NO_PROJECT,
        ));
    }
    Ok(toml)
}

/// `dir/name`, without a "./" in front when `dir` is "." (so that paths in
/// messages read as the user would type them).
pub fn in_dir(dir: &Path, name: &str) -> PathBuf {
    if dir == Path::new(".") {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

/// Options from a jct.toml; compiles the sources first unless --classes
/// names the classes to convert.
fn plan_from_project(args: &BuildArgs) -> Result<Plan> {
    let toml = project_file(&args.project)?;
    let project = Project::load(&toml)?;
    let classes = match &args.classes {
        Some(c) => c.clone(),
        None => {
            match compile::compile(&project, args.verbose)? {
                Compiled::NoSources => {}
                Compiled::UpToDate { sources } => args.report(format_args!(
                    "javac: {sources} source{} unchanged since the last build, not recompiled",
                    plural(sources)
                ))?,
                Compiled::Ran { sources, javac } => args.report(format_args!(
                    "compiled {sources} source{} with {javac} into {}",
                    plural(sources),
                    project.classes.display()
                ))?,
            }
            project.classes.clone()
        }
    };
    if !classes.exists() {
        return Err(hinted(
            format!(
                "no compiled classes at {} and no Java sources under {}",
                classes.display(),
                project.sources.display()
            ),
            format!(
                "put the applet's .java files under {} (jct build compiles them), or give --classes",
                project.sources.display()
            ),
        ));
    }
    Ok(Plan {
        opts: project.options(),
        classes,
        output: args
            .output
            .clone()
            .unwrap_or_else(|| project.output.clone()),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Runs `jct build`.
pub fn run(args: BuildArgs) -> Result<()> {
    build(&args).map(|_| ())
}

/// Builds as `args` say; returns the CAP file written.
pub fn build(args: &BuildArgs) -> Result<PathBuf> {
    let Plan {
        mut opts,
        classes,
        output: cap_path,
    } = match &args.package {
        Some(package) => plan_from_flags(args, package)?,
        None => plan_from_project(args)?,
    };
    if let Some(t) = args.target {
        opts.target = t;
    }
    if let Some(v) = args.gp_api {
        opts.gp_api = Some(v);
    }
    opts.int_support |= args.int_support;
    opts.oracle_ushr |= args.oracle_ushr;
    opts.debug |= args.debug;
    if let Some(f) = args.cap_format {
        opts.cap_format = Some(f);
    }
    opts.export_path.extend(args.export_path.iter().cloned());
    opts.private_packages
        .extend(args.private_packages.iter().cloned());
    let mut files = convert::load_classes(&classes, &opts.package)?;
    for p in &opts.private_packages {
        let more = convert::load_classes(&classes, p)?;
        let internal = p.replace('.', "/");
        // load_classes falls back to the directory itself; a private
        // package must be found where its name says.
        if !more
            .iter()
            .all(|c| c.this_class.rsplit_once('/').map(|(q, _)| q) == Some(internal.as_str()))
            || more.is_empty()
        {
            anyhow::bail!(
                "--private-package {p}: no classes of package {p} under {} (expected {})",
                classes.display(),
                classes.join(&internal).display()
            );
        }
        files.extend(more);
    }
    let out = convert::convert(&files, &opts)?;
    for note in &out.notes {
        note!("note: {note}");
    }
    let jar = out.cap.to_jar()?;
    if out.export.is_none() {
        if let Some(path) = &args.export {
            note!(
                "note: no export file written to {}: {} is an applet package without \
                 Shareable interfaces, so it exports nothing other packages could import",
                path.display(),
                opts.package
            );
        }
    }
    let export = match &out.export {
        Some(exp) => {
            let path = args
                .export
                .clone()
                .unwrap_or_else(|| cap_path.with_extension("exp"));
            Some((path, exp.encode()?))
        }
        None => None,
    };
    create_parent(&cap_path)?;
    let mut files: Vec<(&Path, &[u8])> = vec![(&cap_path, &jar)];
    if let Some((path, bytes)) = &export {
        create_parent(path)?;
        files.push((path, bytes));
    }
    // Both or neither: a CAP beside the export file of an earlier build
    // would link against tokens it does not have.
    write_all_or_none(&files)?;
    let applets = opts.applets.len();
    args.report(format_args!(
        "wrote {} ({} bytes): {} {} {}.{}, CAP {}, {} applet{}, {} import{}",
        cap_path.display(),
        jar.len(),
        opts.package,
        opts.package_aid,
        opts.version.0,
        opts.version.1,
        out.cap.format,
        applets,
        if applets == 1 { "" } else { "s" },
        imports(&out.cap),
        if imports(&out.cap) == 1 { "" } else { "s" },
    ))?;
    if let Some((path, _)) = &export {
        args.report(format_args!("wrote {} (export file)", path.display()))?;
    }
    Ok(cap_path)
}

fn imports(cap: &cap_tools::Cap) -> usize {
    match cap.component(cap_tools::Tag::Import) {
        Some(cap_tools::Component::Import(i)) => i.packages.len(),
        _ => 0,
    }
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))
        }
        _ => Ok(()),
    }
}
