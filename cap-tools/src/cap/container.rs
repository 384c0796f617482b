//! The two containers a CAP comes in: a JAR (zip) with one `<Name>.cap` entry per
//! component, and a raw load file (the components concatenated, as GlobalPlatform
//! LOAD sends them; also called IJC).

use std::io::{Cursor, Read, Write};

use serde::Serialize;

use crate::cap::{Format, Tag};
use crate::error::{Error, Result};

/// Largest JAR entry jct will inflate. Extended CAP files cap the Method
/// component at 8 MiB, so 32 MiB leaves room while bounding a zip bomb.
pub const MAX_ENTRY_SIZE: u64 = 32 * 1024 * 1024;

/// Where the components were read from, and what else the container held.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Container {
    /// A CAP JAR: entries in their original order.
    Jar { entries: Vec<JarEntry> },
    /// A raw load file (IJC), optionally wrapped in the C4 load-file tag.
    LoadFile,
}

/// One entry of a CAP JAR.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum JarEntry {
    /// A component, stored at `path`; its bytes come from the decoded model.
    Component { path: String, tag: u8 },
    /// A directory entry.
    Directory { path: String },
    /// Anything else (META-INF/MANIFEST.MF, APPLET-INF/..., class files), kept as is.
    Other {
        path: String,
        #[serde(skip)]
        data: Vec<u8>,
    },
}

/// A component's raw bytes and, for JAR input, its entry path.
pub struct RawComponent {
    pub tag: u8,
    pub bytes: Vec<u8>,
}

/// True when `bytes` start like a zip archive.
pub fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The standard tag a JAR entry stands for, by its file name (matched
/// case-insensitively), if it is a `<Name>.cap` component entry.
fn component_tag_for_path(path: &str) -> Option<Tag> {
    let file = path.rsplit('/').next()?;
    let (stem, ext) = file.rsplit_once('.')?;
    if !ext.eq_ignore_ascii_case("cap") {
        return None;
    }
    Tag::from_name(stem)
}

/// True when a `.cap` entry sits in a `javacard/` directory but is no standard
/// component: a custom component, identified by its first (tag) byte.
fn is_custom_component_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".cap") && (lower.contains("/javacard/") || lower.starts_with("javacard/"))
}

/// Reads the entries of a CAP JAR: the component bytes in entry order, and the layout.
pub fn read_jar(bytes: &[u8]) -> Result<(Vec<RawComponent>, Vec<JarEntry>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Error::Container(format!("not a readable CAP JAR: {e}")))?;
    let mut components = Vec::new();
    let mut entries = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| Error::Container(format!("JAR entry #{i}: {e}")))?;
        let path = f.name().to_string();
        if f.is_dir() {
            entries.push(JarEntry::Directory { path });
            continue;
        }
        if f.size() > MAX_ENTRY_SIZE {
            return Err(Error::Container(format!(
                "JAR entry {path}: {} bytes uncompressed exceeds the {MAX_ENTRY_SIZE}-byte limit",
                f.size()
            )));
        }
        let mut data = Vec::with_capacity(f.size() as usize);
        (&mut f)
            .take(MAX_ENTRY_SIZE + 1)
            .read_to_end(&mut data)
            .map_err(|e| Error::Container(format!("JAR entry {path}: {e}")))?;
        if data.len() as u64 > MAX_ENTRY_SIZE {
            return Err(Error::Container(format!(
                "JAR entry {path}: inflates beyond the {MAX_ENTRY_SIZE}-byte limit"
            )));
        }
        let tag = match component_tag_for_path(&path) {
            Some(t) => Some(t as u8),
            None if is_custom_component_path(&path) && !data.is_empty() => Some(data[0]),
            None => None,
        };
        match tag {
            Some(tag) => {
                if components.iter().any(|c: &RawComponent| c.tag == tag) {
                    return Err(Error::Container(format!(
                        "JAR entry {path}: a second component with tag {tag}"
                    )));
                }
                if data.first() != Some(&tag) {
                    return Err(Error::Container(format!(
                        "JAR entry {path}: starts with tag byte {:#04x}, expected {tag:#04x} for its name",
                        data.first().copied().unwrap_or(0)
                    )));
                }
                components.push(RawComponent { tag, bytes: data });
                entries.push(JarEntry::Component { path, tag });
            }
            None => entries.push(JarEntry::Other { path, data }),
        }
    }
    if components.is_empty() {
        return Err(Error::Container(
            "the JAR holds no CAP components (no entry named like javacard/Header.cap)".into(),
        ));
    }
    Ok((components, entries))
}

/// Splits a raw load file into its components. Accepts the bare concatenation
/// and the form wrapped in the Load File Data Block tag C4 with a BER length.
/// `format` gives each component's size-field width.
pub fn split_load_file(bytes: &[u8], format: Format) -> Result<Vec<RawComponent>> {
    let body = strip_c4(bytes)?;
    let mut out: Vec<RawComponent> = Vec::new();
    let mut pos = 0usize;
    while pos < body.len() {
        let tag = body[pos];
        let width = format.size_width(tag);
        let head = body.get(pos..pos + 1 + width).ok_or_else(|| {
            Error::Container(format!(
                "load file: truncated component header at offset {pos:#x} ({} byte(s) left, need {})",
                body.len() - pos,
                1 + width
            ))
        })?;
        let size = head[1..]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        let end = pos + 1 + width + size;
        if end > body.len() {
            return Err(Error::Container(format!(
                "load file: component tag {tag} at offset {pos:#x} declares {size} byte(s) but only {} remain",
                body.len() - pos - 1 - width
            )));
        }
        if out.iter().any(|c| c.tag == tag) {
            return Err(Error::Container(format!(
                "load file: a second component with tag {tag} at offset {pos:#x}"
            )));
        }
        out.push(RawComponent {
            tag,
            bytes: body[pos..end].to_vec(),
        });
        pos = end;
    }
    if out.is_empty() {
        return Err(Error::Container("load file is empty".into()));
    }
    Ok(out)
}

/// Removes a leading `C4 len` (BER length) when present and consistent.
fn strip_c4(bytes: &[u8]) -> Result<&[u8]> {
    if bytes.first() != Some(&0xC4) {
        return Ok(bytes);
    }
    let (len, hdr) = match bytes.get(1) {
        Some(&n) if n < 0x80 => (n as usize, 2),
        Some(0x81) => (*bytes.get(2).unwrap_or(&0) as usize, 3),
        Some(0x82) if bytes.len() >= 4 => (((bytes[2] as usize) << 8) | bytes[3] as usize, 4),
        Some(0x83) if bytes.len() >= 5 => (
            ((bytes[2] as usize) << 16) | ((bytes[3] as usize) << 8) | bytes[4] as usize,
            5,
        ),
        _ => {
            return Err(Error::Container(
                "load file: bad BER length after tag C4".into(),
            ))
        }
    };
    if hdr + len != bytes.len() {
        return Err(Error::Container(format!(
            "load file: tag C4 announces {len} byte(s) but {} follow",
            bytes.len().saturating_sub(hdr)
        )));
    }
    Ok(&bytes[hdr..])
}

/// The format a raw load file declares, read from its Header component (which
/// comes first and always has a u2 size) before anything else is decoded.
pub fn load_file_format(bytes: &[u8]) -> Result<Format> {
    let body = strip_c4(bytes)?;
    if body.first() != Some(&(Tag::Header as u8)) {
        return Err(Error::Container(format!(
            "load file: starts with component tag {}, but the Header (tag 1) must come first",
            body.first().copied().unwrap_or(0)
        )));
    }
    let size = body
        .get(1..3)
        .map(|s| u16::from_be_bytes([s[0], s[1]]) as usize)
        .unwrap_or(0);
    let end = (3 + size).min(body.len());
    crate::cap::file::header_format(&body[..end])
}

/// Writes a CAP JAR. Entries keep the original layout where there was one; new
/// components go under `<package path>/javacard/`.
pub fn write_jar(
    entries: &[JarEntry],
    components: &[(u8, Vec<u8>)],
    default_dir: &str,
) -> Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    let zerr = |e: zip::result::ZipError| Error::Container(format!("writing JAR: {e}"));
    let ioerr = |e: std::io::Error| Error::Container(format!("writing JAR: {e}"));
    let mut written = std::collections::HashSet::new();
    for entry in entries {
        match entry {
            JarEntry::Directory { path } => w.add_directory(path.as_str(), stored).map_err(zerr)?,
            JarEntry::Other { path, data } => {
                let opts = if path.ends_with(".MF") {
                    deflated
                } else {
                    stored
                };
                w.start_file(path.as_str(), opts).map_err(zerr)?;
                w.write_all(data).map_err(ioerr)?;
            }
            JarEntry::Component { path, tag } => {
                if let Some((_, bytes)) = components.iter().find(|(t, _)| t == tag) {
                    w.start_file(path.as_str(), stored).map_err(zerr)?;
                    w.write_all(bytes).map_err(ioerr)?;
                    written.insert(*tag);
                }
            }
        }
    }
    for (tag, bytes) in components {
        if written.contains(tag) {
            continue;
        }
        let name = Tag::from_u8(*tag)
            .map(|t| t.name().to_string())
            .unwrap_or_else(|| format!("Custom{tag}"));
        let path = format!("{default_dir}{name}.cap");
        w.start_file(path, stored).map_err(zerr)?;
        w.write_all(bytes).map_err(ioerr)?;
    }
    Ok(w.finish().map_err(zerr)?.into_inner())
}

/// Names the order GlobalPlatform loads components in (JCVM 6.2 / GP 2.3.1 11.6):
/// the position of a tag in that order, `None` for components never loaded.
pub fn load_order(tag: u8, with_descriptor: bool) -> Option<usize> {
    const ORDER: [Tag; 12] = [
        Tag::Header,
        Tag::Directory,
        Tag::Import,
        Tag::Applet,
        Tag::Class,
        Tag::Method,
        Tag::StaticField,
        Tag::Export,
        Tag::ConstantPool,
        Tag::RefLocation,
        Tag::StaticResources,
        Tag::Descriptor,
    ];
    let t = Tag::from_u8(tag)?;
    if t == Tag::Descriptor && !with_descriptor {
        return None;
    }
    ORDER.iter().position(|o| *o == t)
}
