//! The javac step of `jct build` in a project, run only when something it
//! depends on changed.
//!
//! The unit of compilation is the package: Java inlines constants across
//! classes (`static final short INS_X = 1` used in another file), so
//! recompiling only the edited file could leave a class holding a stale
//! value. A Java Card package is small, so when anything changed every
//! source is recompiled into an emptied class directory (no class of a
//! deleted source survives to be converted), and when nothing changed javac
//! is not run at all.
//!
//! "Changed" is decided by content, not timestamps (a checkout or a copy
//! changes times without changing sources): the build state file
//! (`.jct-build-state.json` beside the class directory) keeps a SHA-256
//! fingerprint of the javac version and command line, the API jar and every
//! source, and the hash of every class file javac wrote. The javac version
//! is read once per javac file (path, size, modification time): asking it
//! again would start a JVM on every build. The build is up to
//! date when the fingerprint is the same and the class files are still
//! those javac wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cap_tools::api::{jar, ApiVersion};
use cap_tools::convert::Project;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsutil::write_atomic;
use crate::javac::{java_sources, Javac};

/// The state file's name, beside the class directory.
pub const STATE_FILE: &str = ".jct-build-state.json";

/// Bumped when the fingerprint's recipe changes, so an old state is stale.
const STATE_VERSION: u32 = 2;

/// What the javac step did.
#[derive(Debug)]
pub enum Compiled {
    /// The project has no Java sources: its classes are taken as they are.
    NoSources,
    /// Nothing changed since the last build: javac was not run.
    UpToDate { sources: usize },
    /// javac compiled every source.
    Ran { sources: usize, javac: String },
}

#[derive(Serialize, Deserialize, Default, PartialEq, Debug)]
struct State {
    version: u32,
    fingerprint: String,
    /// Class file (relative to the class directory) -> SHA-256.
    classes: BTreeMap<String, String>,
    /// The javac file's identity ([`Javac::identity`]) and the version it
    /// answered: the same file need not be asked again (a JVM start costs
    /// more than the rest of an up-to-date build).
    #[serde(default)]
    javac_identity: String,
    #[serde(default)]
    javac_version: String,
}

/// Compiles `project`'s sources into its class directory when they, the
/// API or the JDK changed. `verbose` prints the javac command line.
pub fn compile(project: &Project, verbose: bool) -> Result<Compiled> {
    if !project.sources.is_dir() {
        return Ok(Compiled::NoSources);
    }
    let sources = java_sources(&project.sources)?;
    if sources.is_empty() {
        return Ok(Compiled::NoSources);
    }
    let classes = &project.classes;
    if classes
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("jar"))
    {
        bail!(
            "{}: [build] classes is a JAR ({}), but javac writes a directory: \
             remove the key to compile into build/classes",
            project.path.display(),
            classes.display()
        );
    }
    let build_dir = classes
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&build_dir)
        .with_context(|| format!("creating {}", build_dir.display()))?;
    let api = api_jar(&build_dir, project.target)?;
    let state_path = build_dir.join(STATE_FILE);
    let previous = load_state(&state_path);
    let identity = Javac::identity();
    let known = match (&previous, &identity) {
        (Some(prev), Some((program, origin, id))) if *id == prev.javac_identity => {
            Javac::known(program.clone(), origin, prev.javac_version.clone())
        }
        _ => None,
    };
    let javac = match known {
        Some(j) => j,
        None => Javac::find()?,
    };
    let classpath = library_classes(project);
    let args = javac.args(&api, &classpath, classes, &sources);
    let line = javac.command_line(&args);
    if verbose {
        note!("{line}");
    }

    let mut h = Sha256::new();
    h.update(STATE_VERSION.to_le_bytes());
    field(&mut h, javac.version_text.as_bytes());
    for a in &args {
        field(&mut h, a.to_string_lossy().as_bytes());
    }
    field(&mut h, &read(&api)?);
    for s in &sources {
        field(&mut h, &read(s)?);
    }
    // An imported library's classes changing (its constants are inlined
    // here) is a change too.
    for dir in &classpath {
        for (name, hash) in class_hashes(dir)? {
            field(&mut h, name.as_bytes());
            field(&mut h, hash.as_bytes());
        }
    }
    let fingerprint = hex::encode(h.finalize());

    if let Some(prev) = &previous {
        if prev.fingerprint == fingerprint && class_hashes(classes)? == prev.classes {
            return Ok(Compiled::UpToDate {
                sources: sources.len(),
            });
        }
    }
    clear_classes(classes)?;
    std::fs::create_dir_all(classes).with_context(|| format!("creating {}", classes.display()))?;
    // A failed compile leaves no state: the next build compiles again.
    let _ = std::fs::remove_file(&state_path);
    javac.run(&args)?;
    let state = State {
        version: STATE_VERSION,
        fingerprint,
        classes: class_hashes(classes)?,
        javac_identity: identity.map(|(_, _, id)| id).unwrap_or_default(),
        javac_version: javac.version_text.clone(),
    };
    let text = serde_json::to_vec_pretty(&state).context("encoding the build state")?;
    write_atomic(&state_path, &text)?;
    Ok(Compiled::Ran {
        sources: sources.len(),
        javac: javac.version_text,
    })
}

/// The class directories of the libraries the project imports: for each
/// `exportpath` entry (a library's build directory, or an export file in
/// it), the `classes` directory beside the export files, where `jct build`
/// puts a library project's classes. javac needs them to compile the
/// imports; the converter reads the export files.
fn library_classes(project: &Project) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in &project.export_path {
        let dir = if entry.is_dir() {
            entry.clone()
        } else {
            entry.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let classes = dir.join("classes");
        if classes.is_dir() && !out.contains(&classes) {
            out.push(classes);
        }
    }
    out
}

/// `build_dir/api-VERSION.jar`, written when missing or different from
/// what this jct makes (a newer jct may carry a corrected table).
fn api_jar(build_dir: &Path, api: ApiVersion) -> Result<PathBuf> {
    let path = build_dir.join(format!("api-{api}.jar"));
    let bytes = jar::build(api).with_context(|| format!("Java Card API {api}"))?;
    if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
        write_atomic(&path, &bytes)?;
    }
    Ok(path)
}

/// A length-prefixed field of the fingerprint, so that no two different
/// inputs hash the same bytes.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// A state file that cannot be read or parsed is no state: compile.
fn load_state(path: &Path) -> Option<State> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice::<State>(&text)
        .ok()
        .filter(|s| s.version == STATE_VERSION)
}

/// Every class file under `dir` (relative path -> SHA-256); none if `dir`
/// does not exist.
fn class_hashes(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for file in class_files(dir)? {
        let rel = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        out.insert(rel, hex::encode(Sha256::digest(read(&file)?)));
    }
    Ok(out)
}

fn class_files(dir: &Path) -> Result<Vec<PathBuf>> {
    crate::fsutil::files_with_extension(dir, "class")
}

/// Removes the class files under `dir` (and nothing else: the directory
/// may be one the user chose, holding other files).
fn clear_classes(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for f in class_files(dir)? {
        std::fs::remove_file(&f).with_context(|| format!("removing {}", f.display()))?;
    }
    Ok(())
}
