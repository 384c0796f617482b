//! The components that say what the file is: Header, Directory, Applet, Import.

use std::collections::HashMap;

use super::flags::{self, with_hex};
use super::names::{location_text, Names};
use super::Out;
use crate::api;
use crate::cap::components::directory::Directory;
use crate::cap::components::header::{Header, PackageInfo, MAGIC};
use crate::cap::components::method::MethodLocation;
use crate::cap::{AppletComponent, ImportComponent, Tag};

pub fn header(h: &Header, out: &mut Out) {
    let magic = if h.magic == MAGIC {
        ""
    } else {
        " (not 0xDECAFFED)"
    };
    out.line(1, format!("magic         {:#010X}{magic}", h.magic));
    out.line(
        1,
        format!("CAP format    {}.{}", h.major_version, h.minor_version),
    );
    out.line(
        1,
        format!(
            "flags         {}",
            with_hex(h.flags.into(), flags::HEADER, 2)
        ),
    );
    if h.is_extended() {
        out.line(1, format!("CAP AID       {}", h.package.aid));
        out.line(1, format!("CAP version   {}", version(&h.package)));
        out.line(1, format!("packages      {}", h.packages.len()));
        for (i, p) in h.packages.iter().enumerate() {
            let name = if p.name.is_empty() {
                "(no name)"
            } else {
                &p.name
            };
            out.line(
                2,
                format!("[{i}] {} v{} {name}", p.package.aid, version(&p.package)),
            );
        }
    } else {
        out.line(1, format!("package AID   {}", h.package.aid));
        out.line(1, format!("version       {}", version(&h.package)));
        match &h.package_name {
            Some(n) if !n.is_empty() => out.line(1, format!("package name  {n}")),
            Some(_) => out.line(1, "package name  (empty)"),
            None => out.line(1, "package name  (none in this format)"),
        }
    }
}

/// `major.minor`.
fn version(p: &PackageInfo) -> String {
    format!("{}.{}", p.major_version, p.minor_version)
}

pub fn directory(d: &Directory, actual: &HashMap<u8, usize>, out: &mut Out) {
    out.line(
        1,
        "component sizes (as declared; actual size when it differs):",
    );
    for (i, size) in d.component_sizes.iter().enumerate() {
        let tag = u8::try_from(i + 1).ok();
        let name = tag.and_then(Tag::from_u8).map(|t| t.name()).unwrap_or("?");
        let real = tag.and_then(|t| actual.get(&t)).copied();
        let note = match real {
            Some(n) if n as u64 != u64::from(*size) => format!("  (actual {n})"),
            None if *size != 0 => "  (component absent)".to_string(),
            _ => String::new(),
        };
        out.line(2, format!("{:>2} {name:<16} {size:>6}{note}", i + 1));
    }
    let s = &d.static_field_size;
    out.line(
        1,
        format!(
            "static field image {} byte(s); array init count {}, array init size {}",
            s.image_size, s.array_init_count, s.array_init_size
        ),
    );
    out.line(1, format!("import count  {}", d.import_count));
    out.line(1, format!("applet count  {}", d.applet_count));
    if let Some(n) = d.method_component_block_count {
        out.line(1, format!("method component blocks {n}"));
    }
    out.line(
        1,
        format!("custom components {}", d.custom_components.len()),
    );
    for c in &d.custom_components {
        out.line(
            2,
            format!("tag {:#04x}, {} byte(s), AID {}", c.tag, c.size, c.aid),
        );
    }
}

pub fn applets(a: &AppletComponent, names: &Names<'_>, out: &mut Out) {
    out.line(1, format!("{} applet(s)", a.applets.len()));
    for (i, app) in a.applets.iter().enumerate() {
        let at = MethodLocation {
            block_index: names.extended.then_some(app.install_method_block),
            offset: u16::try_from(app.install_method_offset).unwrap_or(u16::MAX),
        };
        out.line(
            2,
            format!(
                "[{i}] AID {}  install method {}  {}",
                app.aid,
                location_text(at),
                names.method_at(at).text
            ),
        );
    }
}

pub fn imports(i: &ImportComponent, names: &Names<'_>, out: &mut Out) {
    out.line(
        1,
        format!(
            "{} imported package(s); the index is the package token",
            i.packages.len()
        ),
    );
    for (token, p) in i.packages.iter().enumerate() {
        let version_pair = (p.major_version, p.minor_version);
        let known = match api::identify(&p.aid, p.major_version, p.minor_version) {
            // An org.globalplatform version no card table carries but jct
            // converts against (`jct build --gp-api`).
            Some(k)
                if k.api_versions.is_empty()
                    && p.aid.to_hex() == api::gp::GP_AID
                    && api::gp::package(version_pair).is_some() =>
            {
                format!("{} (jct's GlobalPlatform API table)", k.name)
            }
            Some(k) if k.api_versions.is_empty() => {
                let near = names
                    .linked
                    .get(token)
                    .copied()
                    .flatten()
                    .filter(|l| !l.exact)
                    .map(|l| format!(", names from v{} of API {}", l.package.version, l.api))
                    .unwrap_or_default();
                format!("{} (this version is in no API table{near})", k.name)
            }
            Some(k) => {
                let apis: Vec<&str> = k.api_versions.iter().map(|v| v.as_str()).collect();
                format!("{} (API {})", k.name, apis.join(", "))
            }
            None => "(not an API package)".to_string(),
        };
        out.line(2, format!("[{token}] {} v{}  {known}", p.aid, version(p)));
    }
}
