//! The converter: JVM class files of one package to a CAP file (and an
//! export file), as `jct build` runs it.
//!
//! The steps, each in its own module:
//!
//! 1. `model`: the package's classes in Class component order, checked for
//!    what Java Card lacks (long, float, char, String, threads, ...);
//! 2. `link`: the classes of imported packages, from the target's API
//!    tables and the export files on the export path;
//! 3. `tokens`: class, field and method tokens (JCVM 4.3.7);
//! 4. `statics`: `<clinit>` folded into the static field image;
//! 5. `types` + `step` + `translate`: each method typed (16-bit shorts
//!    where Java's int arithmetic allows, ints otherwise — with int support
//!    only) and translated to Java Card instructions;
//! 6. `cp`, `asm`, `methods`, `classes`: constant pool, assembly and the
//!    layout of the Method and Class components;
//! 7. `components`, `descriptor`, `export`, `debug`, `jar`: the remaining
//!    components, the export file and the CAP JAR.
//!
//! The CAP format is the one Oracle's converter writes for the target
//! ([`default_format`]: 2.3 compact for 3.2.0, 2.1 or with the Debug
//! component 2.2 before) unless [`Options::cap_format`] names one; the
//! export file is format 2.3 with a 2.3 CAP, 2.1 otherwise. A 2.3 CAP is
//! compact when the package fits 64 KiB, extended (Method component
//! blocks, u4 sizes) when it does not, or when `2.3-extended` is asked for.
//!
//! Whatever cannot be translated exactly is refused with the class, method
//! and source line; the CAP written is verified (`crate::verify`) before it
//! is returned.

mod asm;
mod classes;
mod components;
mod cp;
mod debug;
mod descriptor;
mod error;
mod export;
mod jar;
mod jc;
mod link;
mod load;
mod methods;
mod model;
mod parallel;
pub mod project;
mod range;
mod statics;
mod step;
mod tokens;
mod translate;
mod types;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::aid::Aid;
use crate::api::ApiVersion;
use crate::cap::components::method::MethodLocation;
use crate::cap::{Cap, Component, Format};
use crate::classfile::ClassFile;
use crate::exp::ExportFile;

pub use error::{Error, Place, Result};
pub use load::load_classes;
pub use project::Project;

use cp::{Imports, Offsets, Pool, Resolver};
use link::Linker;
use model::{acc, is_constant, uses_int, ClassKey, Package};

/// What to convert and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The package, dotted (`com.example.hello`).
    pub package: String,
    pub package_aid: Aid,
    /// (major, minor).
    pub version: (u8, u8),
    /// (applet AID, class): the class by simple name, dotted or internal name.
    pub applets: Vec<(Aid, String)>,
    /// The Java Card API to link against (its package AIDs and versions).
    pub target: ApiVersion,
    /// Allow the 32-bit int type.
    pub int_support: bool,
    /// Translate `>>>` of a short that may be negative to `sushr`, as
    /// Oracle's converter does (which differs from Java for negative
    /// values), with a note at each site, instead of refusing it.
    pub oracle_ushr: bool,
    /// Write the Debug component (CAP format 2.2 instead of 2.1 where the
    /// format is chosen by the target).
    pub debug: bool,
    /// The CAP format to write; `None`: what Oracle's converter writes for
    /// the target (see [`default_format`]).
    pub cap_format: Option<Format>,
    /// More packages (dotted) to put into the same CAP file, which is then
    /// extended (JCVM 3.1 §6.1: only that format holds several packages).
    /// They are private: the CAP file's own packages use them, through
    /// internal references, and none is exported (no AID, no export file).
    pub private_packages: Vec<String>,
    /// Export files of imported packages: files or directories.
    pub export_path: Vec<PathBuf>,
    /// The version of org.globalplatform to link against instead of the
    /// one the target's cards offer ([`ApiVersion::globalplatform`]): an
    /// older one makes a CAP that also loads on cards of older
    /// GlobalPlatform versions (a newer card links an older import).
    pub gp_api: Option<(u8, u8)>,
}

impl Options {
    /// Options for a library (no applets) with the defaults: target 3.0.5,
    /// no int support, no debug information.
    pub fn new(package: &str, package_aid: Aid, version: (u8, u8)) -> Options {
        Options {
            package: package.to_string(),
            package_aid,
            version,
            applets: Vec::new(),
            target: ApiVersion::V3_0_5,
            int_support: false,
            oracle_ushr: false,
            debug: false,
            cap_format: None,
            private_packages: Vec::new(),
            export_path: Vec::new(),
            gp_api: None,
        }
    }
}

/// The CAP format Oracle's converter writes for a target: 2.3 (compact)
/// for Java Card 3.1 and later, whose converters write nothing older; for
/// earlier targets 2.1, or 2.2 when the Debug component (new in 2.2) is
/// asked for.
pub fn default_format(target: ApiVersion, debug: bool) -> Format {
    if target >= ApiVersion::V3_2_0 {
        Format::V2_3
    } else if debug {
        Format::V2_2
    } else {
        Format::V2_1
    }
}

/// The format to write for these options, checked against them. A 2.3
/// format that is not marked extended is the one chosen when the package
/// fits it: [`convert`] writes the extended layout instead when it does
/// not.
fn chosen_format(opts: &Options) -> Result<Format> {
    let several = !opts.private_packages.is_empty();
    let format = match opts.cap_format {
        Some(f) => f,
        // Only the extended format holds several packages.
        None if several && opts.target >= ApiVersion::V3_2_0 => Format::V2_3_EXTENDED,
        None => default_format(opts.target, opts.debug),
    };
    if several && !format.extended {
        return Err(Error::general(format!(
            "--private-package {}: CAP format {format} holds one package; only the extended \
             CAP 2.3 format holds several (--cap-format 2.3-extended, for Java Card 3.1+ \
             cards that support extended CAP files)",
            opts.private_packages.join(", ")
        )));
    }
    // The Descriptor's package_count is a u1.
    if opts.private_packages.len() > 254 {
        return Err(Error::general(format!(
            "{} packages for one CAP file: an extended CAP file holds at most 255",
            opts.private_packages.len() + 1
        )));
    }
    if format.major != 2 || !(1..=3).contains(&format.minor) {
        return Err(Error::general(format!(
            "CAP format {format}: jct writes 2.1, 2.2, 2.3 and 2.3 extended"
        )));
    }
    if format.extended && format.minor != 3 {
        return Err(Error::general(format!(
            "CAP format {format}: only CAP 2.3 has the extended format"
        )));
    }
    if opts.debug && !format.at_least(2, 2) {
        return Err(Error::general(
            "--debug needs CAP format 2.2 or later: CAP 2.1 has no Debug component",
        ));
    }
    if opts.debug && format.extended {
        return Err(Error::general(NO_EXTENDED_DEBUG));
    }
    Ok(format)
}

/// Why `--debug` and the extended format do not go together.
const NO_EXTENDED_DEBUG: &str =
    "--debug: jct does not write the Debug component of an extended CAP file \
     (its extended layout is not specified in the sources jct follows); build \
     without --debug";

/// The result of a conversion.
#[derive(Debug, Clone)]
pub struct Output {
    /// The CAP file, verified.
    pub cap: Cap,
    /// The export file, for libraries and for applet packages with
    /// shareable interfaces.
    pub export: Option<ExportFile>,
    /// Remarks worth showing the user.
    pub notes: Vec<String>,
}

/// Converts the class files of one package.
///
/// With CAP format 2.3 the compact layout is written when the package
/// fits it, the extended one (with a note saying why) when its Method
/// component would pass 64 KiB or 255 exception handlers, or another
/// component with a u2 size would pass 64 KiB (the extended format widens
/// Method, RefLocation and Descriptor sizes to u4).
pub fn convert(classes: &[ClassFile], opts: &Options) -> Result<Output> {
    check_options(opts)?;
    let requested = chosen_format(opts)?;
    for c in classes {
        crate::classfile::check_supported_version(c)
            .map_err(|e| Error::at(Place::class(&c.this_class), e.to_string()))?;
    }
    let linker = Linker::new(opts.target, opts.gp_api, &opts.export_path)?;
    let mut notes = linker.notes.clone();
    let pkg = Package::with_private(&opts.package, &opts.private_packages, classes)?;
    for name in &pkg.packages {
        if linker.packages.iter().any(|p| &p.name == name) {
            return Err(Error::general(format!(
                "package {} is also on the export path or in the API; it cannot import itself",
                name.replace('/', ".")
            )));
        }
    }
    let declared_int = check_int_declarations(&pkg, opts.int_support)?;
    let tokens = tokens::assign(&pkg, &linker)?;
    let image = statics::build(&pkg)?;
    let (mut units, code_notes) = methods::translate_all(&pkg, &linker, &tokens, opts)?;
    notes.extend(code_notes);
    let pool = Pool::new(methods::cp_uses(&units), &|k| {
        cp::canonical(&pkg, &linker, &tokens, k)
    })?;
    methods::assemble_all(&pkg, &mut units, &pool)?;
    let parts = Parts {
        pkg: &pkg,
        linker: &linker,
        tokens: &tokens,
        image: &image,
        units: &units,
        pool: &pool,
        opts,
        declared_int,
    };
    // May the compact 2.3 format give way to the extended one?
    let auto = requested.at_least(2, 3) && !requested.extended;
    let mut format = requested;
    let mut why_extended = None;
    if !requested.extended {
        if let Some(over) = methods::compact_overflow(&pkg, &units)? {
            if !auto {
                return Err(Error::at(
                    over.place,
                    format!(
                        "{}: CAP format {requested} cannot hold the package. The extended CAP \
                         format (Method component blocks, up to 8 MiB) can, for cards of Java \
                         Card 3.1 and later that support it: build with --cap-format 2.3 (or \
                         --target 3.2.0); or split the package (e.g. move code into a library)",
                        over.reason
                    ),
                ));
            }
            format = extended_for(opts, &over.reason)?;
            why_extended = Some(over.reason);
        }
    }
    let built = match parts.emit(format)? {
        Emission::Done(built) => built,
        Emission::TooBig(over) => {
            if !auto {
                return Err(Error::general(format!(
                    "{over}: CAP format {format} cannot hold the package; the extended \
                     2.3 format can (--cap-format 2.3, for Java Card 3.1+ cards), or \
                     split the package"
                )));
            }
            format = extended_for(opts, &over)?;
            why_extended = Some(over);
            match parts.emit(format)? {
                Emission::Done(built) => built,
                Emission::TooBig(over) => {
                    return Err(Error::general(format!("internal: extended layout: {over}")))
                }
            }
        }
    };
    if let Some(why) = why_extended {
        let blocks = built
            .components
            .iter()
            .find_map(|c| match c {
                Component::Method(m) => Some(m.blocks.len()),
                _ => None,
            })
            .unwrap_or_default();
        notes.push(format!(
            "{why}: wrote the extended CAP 2.3 format instead ({blocks} Method component \
             block{}); it loads on Java Card 3.1+ cards that support extended CAP files",
            if blocks == 1 { "" } else { "s" }
        ));
    }
    let Emitted {
        components,
        manifest,
        export,
    } = built;
    let cap = jar::cap(format, &opts.package, components, manifest);
    // What is returned is what a reader of the JAR gets, checked.
    let cap = Cap::from_bytes(&cap.to_jar()?)?;
    let findings = crate::verify::verify(&cap);
    if let Some(f) = findings.first() {
        return Err(Error::general(format!(
            "internal error: the CAP file jct built fails verification: {f} ({} finding(s)); please report it",
            findings.len()
        )));
    }
    if opts.target >= ApiVersion::V3_2_0 && !format.at_least(2, 3) {
        notes.push(format!(
            "target {}: wrote CAP format {format}, which Java Card 3.1+ cards accept \
             (Oracle's converter writes 2.3 for this target)",
            opts.target
        ));
    }
    Ok(Output { cap, export, notes })
}

/// The extended format, chosen because the compact one cannot hold the
/// package (`why`); refused with `--debug`, whose component jct writes
/// only in the compact layout.
fn extended_for(opts: &Options, why: &str) -> Result<Format> {
    if opts.debug {
        return Err(Error::general(format!(
            "{why}, so the extended CAP format is needed. {NO_EXTENDED_DEBUG}"
        )));
    }
    Ok(Format::V2_3_EXTENDED)
}

/// A compact component whose body passes the 65535 bytes its u2 size
/// allows (the Method component was checked before; the extended format
/// gives RefLocation and Descriptor a u4 size, and the others the same u2,
/// so their overflow fails both layouts alike). `None` when all fit; an
/// error for a Debug component past it.
fn compact_size_overflow(components: &[Component], format: Format) -> Result<Option<String>> {
    let ctx = crate::cap::Context { format };
    for c in components {
        if !matches!(
            c,
            Component::RefLocation(_) | Component::Descriptor(_) | Component::Debug(_)
        ) {
            continue;
        }
        let n = c.encode_body(&ctx)?.len();
        if n > usize::from(u16::MAX) {
            let why = format!(
                "the {} component would be {n} bytes, over the 65535 bytes (64 KiB) \
                 of a compact CAP file",
                c.name()
            );
            // jct writes the Debug component in the compact layout only.
            if matches!(c, Component::Debug(_)) {
                return Err(Error::general(format!("{why}: build without --debug")));
            }
            return Ok(Some(why));
        }
    }
    Ok(None)
}

/// Everything a conversion decided before the CAP layout: the package,
/// its tokens, static image, translated and assembled methods and
/// constant pool keys. The components are laid out from these for one
/// format ([`Parts::emit`]), once more should the compact layout not hold
/// them.
struct Parts<'a> {
    pkg: &'a Package<'a>,
    linker: &'a Linker,
    tokens: &'a [tokens::ClassTokens],
    image: &'a statics::Image,
    units: &'a [methods::Unit<'a>],
    pool: &'a Pool,
    opts: &'a Options,
    declared_int: bool,
}

/// What laying the components out for one format gave.
enum Emission {
    Done(Emitted),
    /// Compact format: a component outgrew its u2 size (why).
    TooBig(String),
}

/// The components of one layout, the manifest and the export file.
struct Emitted {
    /// All components, Directory included, in JAR order.
    components: Vec<Component>,
    manifest: String,
    export: Option<ExportFile>,
}

impl Parts<'_> {
    /// Lays the components out for `format`.
    fn emit(&self, format: Format) -> Result<Emission> {
        let Parts {
            pkg,
            linker,
            tokens,
            image,
            units,
            pool,
            opts,
            declared_int,
        } = *self;
        let method_layout = methods::layout(pkg, units, format.extended)?;
        let class_offsets = classes::offsets(pkg, linker, tokens, format)?;
        let offsets = Offsets {
            classes: &class_offsets,
            methods: &method_layout.offsets,
            statics: &image.offsets,
        };
        let applets = applet_entries(pkg, linker, tokens, opts, &method_layout.offsets)?;

        let mut imports = Imports::default();
        let mut r = Resolver {
            pkg,
            linker,
            tokens,
            imports: &mut imports,
        };
        register_imports(pkg, tokens, &mut r)?;
        let constant_pool = crate::cap::ConstantPool {
            entries: pool
                .keys
                .iter()
                .map(|k| r.entry(k, &offsets))
                .collect::<Result<Vec<_>>>()?,
        };
        let class = classes::component(pkg, tokens, &mut r, &offsets, format)?;
        let method = methods::component(units, &method_layout, &|k| pool.index(k))?;
        let library = opts.applets.is_empty();
        let exported = export::exported(pkg, tokens, library);
        let export_component = export::component(
            tokens,
            &exported,
            &class_offsets,
            &method_layout.offsets,
            &image.offsets,
            format.extended,
        )?;
        let export_file = if exported.is_empty() && !library {
            None
        } else {
            Some(export::file(
                pkg, linker, tokens, &exported, opts, library, format,
            )?)
        };
        let descriptor =
            descriptor::component(pkg, tokens, units, &method_layout, pool, &mut r, &offsets)?;
        r.touch("java/lang/Object")?;
        let debug = if opts.debug {
            Some(debug::component(
                pkg,
                tokens,
                units,
                &method_layout,
                &image.offsets,
                &class_offsets,
            )?)
        } else {
            None
        };

        let uses_int = declared_int
            || units
                .iter()
                .filter_map(|u| u.body.as_ref())
                .any(|b| b.t.uses_int);
        let import = components::import(linker, &imports.packages);
        let header = components::header(
            format,
            (uses_int, export_component.is_some(), !applets.is_empty()),
            &opts.package_aid,
            opts.version,
            &pkg.name,
        );
        let public = !header.packages.is_empty();
        let mut others = vec![Component::Header(header), Component::Import(import)];
        if !applets.is_empty() {
            others.push(Component::Applet(components::applet(&applets)));
        }
        let ref_location = components::ref_location(&method, format.extended);
        others.push(Component::Class(class));
        others.push(Component::Method(method));
        others.push(Component::StaticField(image.component.clone()));
        if let Some(e) = export_component {
            others.push(Component::Export(e));
        }
        others.push(Component::ConstantPool(constant_pool));
        others.push(Component::RefLocation(ref_location));
        others.push(Component::Descriptor(descriptor));
        if let Some(d) = debug {
            others.push(Component::Debug(d));
        }
        if !format.extended {
            if let Some(over) = compact_size_overflow(&others, format)? {
                return Ok(Emission::TooBig(over));
            }
        }
        let directory = components::directory(
            format,
            &others,
            &image.component,
            imports.packages.len() as u8,
            applets.len() as u8,
        )?;
        others.insert(1, Component::Directory(directory));

        let manifest = jar::manifest(&jar::ManifestInfo {
            package: &opts.package,
            aid: &opts.package_aid,
            version: opts.version,
            format,
            applets: opts
                .applets
                .iter()
                .map(|(aid, c)| {
                    (
                        c.rsplit(['.', '/']).next().unwrap_or(c).to_string(),
                        aid.clone(),
                    )
                })
                .collect(),
            imports: imports
                .packages
                .iter()
                .map(|&p| (linker.packages[p].aid.clone(), linker.packages[p].version))
                .collect(),
            int: uses_int,
            public,
            private_packages: pkg.packages[1..]
                .iter()
                .map(|p| p.replace('/', "."))
                .collect(),
        });
        Ok(Emission::Done(Emitted {
            components: others,
            manifest,
            export: export_file,
        }))
    }
}

/// Options that are wrong whatever the classes.
fn check_options(opts: &Options) -> Result<()> {
    if !opts.package_aid.is_valid_length() {
        return Err(Error::general(format!(
            "package AID {} has {} bytes; an AID has 5 to 16",
            opts.package_aid,
            opts.package_aid.as_bytes().len()
        )));
    }
    for (aid, class) in &opts.applets {
        if !aid.is_valid_length() {
            return Err(Error::general(format!(
                "applet {class}: AID {aid} has {} bytes; an AID has 5 to 16",
                aid.as_bytes().len()
            )));
        }
        if aid.rid() != opts.package_aid.rid() {
            return Err(Error::general(format!(
                "applet {class}: AID {aid} does not start with the package's RID {}",
                hex::encode_upper(opts.package_aid.rid())
            )));
        }
        if aid == &opts.package_aid {
            return Err(Error::general(format!(
                "applet {class}: its AID is the package AID"
            )));
        }
    }
    for (i, (aid, _)) in opts.applets.iter().enumerate() {
        if opts.applets[..i].iter().any(|(a, _)| a == aid) {
            return Err(Error::general(format!("applet AID {aid} is given twice")));
        }
    }
    Ok(())
}

/// Int-typed fields and method signatures; refused without int support.
fn check_int_declarations(pkg: &Package<'_>, int_support: bool) -> Result<bool> {
    let mut any = false;
    for c in &pkg.classes {
        // Int constants are inlined by javac; only stored ints need int support.
        for f in c.file.fields.iter().filter(|f| !is_constant(f)) {
            if uses_int(&f.descriptor) {
                if !int_support {
                    return Err(Error::at(
                        c.place(),
                        format!("field {} has type int: needs int support (--int)", f.name),
                    ));
                }
                any = true;
            }
        }
        for m in &c.file.methods {
            let args = crate::classfile::descriptor_args(&m.descriptor).unwrap_or_default();
            let ret = crate::classfile::descriptor_return(&m.descriptor).unwrap_or_default();
            if args
                .iter()
                .chain(std::iter::once(&ret))
                .any(|t| uses_int(t))
            {
                if !int_support {
                    return Err(Error::at(
                        Place::method(c.name, &m.name, &m.descriptor),
                        "has int in its signature: needs int support (--int)",
                    ));
                }
                any = true;
            }
        }
    }
    Ok(any)
}

/// Imports in the order Oracle's converter gives them: the packages of
/// superclasses first, then of interfaces and field types; the constant
/// pool, the Descriptor and java.lang follow as they are resolved.
fn register_imports(
    pkg: &Package<'_>,
    tokens: &[tokens::ClassTokens],
    r: &mut Resolver<'_, '_>,
) -> Result<()> {
    for c in pkg.classes.iter().filter(|c| !c.is_interface()) {
        if let Some(s) = &c.file.super_class {
            r.touch(s)?;
        }
    }
    for (i, c) in pkg.classes.iter().enumerate() {
        if c.is_interface() {
            for s in classes::superinterfaces(pkg, r.linker, i) {
                r.touch(&s)?;
            }
        } else {
            for x in &tokens[i].interfaces {
                r.touch(&x.interface)?;
            }
        }
        for f in c.file.fields.iter().filter(|f| !is_constant(f)) {
            let elem = f.descriptor.trim_start_matches('[');
            if let Some(name) = elem.strip_prefix('L').and_then(|n| n.strip_suffix(';')) {
                r.touch(name)?;
            }
        }
    }
    Ok(())
}

/// Each applet's AID and the offset of its class's install method.
fn applet_entries(
    pkg: &Package<'_>,
    linker: &Linker,
    tokens: &[tokens::ClassTokens],
    opts: &Options,
    method_offsets: &HashMap<(usize, usize), MethodLocation>,
) -> Result<Vec<(Aid, MethodLocation)>> {
    let _ = tokens;
    let mut out = Vec::new();
    for (aid, class) in &opts.applets {
        let name = class.replace('.', "/");
        let name = if name.contains('/') {
            name
        } else {
            format!("{}/{name}", pkg.name)
        };
        let i = pkg.class_index(&name).ok_or_else(|| {
            Error::general(format!(
                "applet class {class} is not among the package's classes"
            ))
        })?;
        let c = &pkg.classes[i];
        if c.is_interface() || c.file.access_flags & acc::ABSTRACT != 0 {
            return Err(Error::at(
                c.place(),
                "is abstract or an interface, so it cannot be an applet",
            ));
        }
        // Its superclasses must reach javacard.framework.Applet.
        let mut at = c.file.super_class.clone();
        let mut is_applet = false;
        while let Some(s) = at.take() {
            match pkg.resolve(linker, &s) {
                Some(ClassKey::Internal(j)) => at = pkg.classes[j].file.super_class.clone(),
                Some(ClassKey::External(e)) => {
                    is_applet = linker.is_subtype(e, "javacard/framework/Applet");
                }
                None => {}
            }
        }
        if !is_applet {
            return Err(Error::at(
                c.place(),
                "does not extend javacard.framework.Applet",
            ));
        }
        let k = c
            .file
            .methods
            .iter()
            .position(|m| {
                m.name == "install"
                    && m.descriptor == "([BSB)V"
                    && m.access_flags & acc::STATIC != 0
            })
            .ok_or_else(|| {
                Error::at(
                    c.place(),
                    "has no static install(byte[], short, byte) method",
                )
            })?;
        out.push((aid.clone(), method_offsets[&(i, k)]));
    }
    Ok(out)
}
