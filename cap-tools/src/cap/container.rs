//! The two containers a CAP comes in: a JAR (zip) with one `<Name>.cap` entry per
//! component, and a raw load file (the components concatenated, as GlobalPlatform
//! LOAD sends them; also called IJC).

// A reader of untrusted sizes: arithmetic on them is checked or saturating.
#![cfg_attr(not(test), warn(clippy::arithmetic_side_effects))]

use std::io::{Cursor, Read, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::cap::{Format, Tag};
use crate::error::{Error, Result};

/// Largest JAR entry jct will inflate. Extended CAP files cap the Method
/// component at 8 MiB, so 32 MiB leaves room while bounding a zip bomb.
pub const MAX_ENTRY_SIZE: u64 = 32 * 1024 * 1024;

/// Most bytes jct inflates from one CAP JAR, all entries together. A CAP
/// holds at most a dozen standard components (plus custom ones) and a
/// manifest; even extended CAP files stay far below this, while a JAR of
/// many entries at [`MAX_ENTRY_SIZE`] each is refused early instead of
/// inflating gigabytes.
pub const MAX_JAR_INFLATED: u64 = 64 * 1024 * 1024;

/// Most entries a CAP JAR may have. Components, directories, a manifest and
/// an `APPLET-INF/` copy of a package's classes (a package has at most 255
/// classes) stay well below it.
pub const MAX_JAR_ENTRIES: usize = 4096;

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
        data: EntryData,
    },
}

/// The contents of a [`JarEntry::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum EntryData {
    /// Bytes jct reads or wrote itself (the manifest).
    Inflated(Vec<u8>),
    /// An entry jct does not need, kept compressed as the JAR held it and
    /// copied back unchanged when the JAR is written, so that reading a CAP
    /// never inflates what it does not use.
    Carried(CarriedEntry),
}

impl EntryData {
    /// The bytes, when jct inflated them.
    pub fn inflated(&self) -> Option<&[u8]> {
        match self {
            EntryData::Inflated(d) => Some(d),
            EntryData::Carried(_) => None,
        }
    }
}

impl From<Vec<u8>> for EntryData {
    fn from(data: Vec<u8>) -> Self {
        EntryData::Inflated(data)
    }
}

/// A still compressed entry of a JAR that was read: the JAR's bytes
/// (shared by all its carried entries) and the entry's index in it.
#[derive(Clone)]
pub struct CarriedEntry {
    jar: Arc<[u8]>,
    index: usize,
    /// What the entry declares: CRC-32, compressed and inflated sizes.
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
}

impl CarriedEntry {
    /// The entry's compressed bytes are the same when the declared CRC and
    /// sizes are: comparing those keeps equality independent of which JAR
    /// (the original or a rewritten copy) the entry was read from.
    fn key(&self) -> (u32, u64, u64) {
        (self.crc32, self.compressed_size, self.size)
    }
}

impl PartialEq for CarriedEntry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl std::fmt::Debug for CarriedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarriedEntry")
            .field("index", &self.index)
            .field("crc32", &self.crc32)
            .field("compressed_size", &self.compressed_size)
            .field("size", &self.size)
            .finish()
    }
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

/// True for the extensions of component entries: `.cap`, and `.capx` for a
/// component of an extended CAP file in its extended layout (JCVM 3.1 6.2).
fn is_component_extension(ext: &str) -> bool {
    ext.eq_ignore_ascii_case("cap") || ext.eq_ignore_ascii_case("capx")
}

/// The standard tag a JAR entry stands for, by its file name (matched
/// case-insensitively), if it is a `<Name>.cap` or `<Name>.capx` component entry.
fn component_tag_for_path(path: &str) -> Option<Tag> {
    let file = path.rsplit('/').next()?;
    let (stem, ext) = file.rsplit_once('.')?;
    if !is_component_extension(ext) {
        return None;
    }
    Tag::from_name(stem)
}

/// True when a `.cap` (or `.capx`) entry sits in a `javacard/` directory but
/// is no standard component: a custom component, identified by its first
/// (tag) byte.
fn is_custom_component_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let component = lower
        .rsplit_once('.')
        .is_some_and(|(_, ext)| is_component_extension(ext));
    component && (lower.contains("/javacard/") || lower.starts_with("javacard/"))
}

/// The JAR entry name of a component: `<Name>.cap`, or `<Name>.capx` in an
/// extended CAP file for the components whose extended layout has a u4 size
/// (Method, RefLocation, Descriptor, Debug, Static Resources and custom
/// components), the names JCVM 3.1 section 6.2 gives them.
pub fn entry_name(format: Format, tag: u8) -> String {
    let name = Tag::from_u8(tag)
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| format!("Custom{tag}"));
    let x = if format.extended && format.size_width(tag) == 4 {
        "x"
    } else {
        ""
    };
    format!("{name}.cap{x}")
}

/// True for the entries jct reads from a CAP JAR besides the components:
/// the manifest (for the applets' class names).
fn is_needed_path(path: &str) -> bool {
    path.eq_ignore_ascii_case("META-INF/MANIFEST.MF")
}

/// Reads the entries of a CAP JAR: the component bytes in entry order, and the layout.
///
/// Only components and the manifest are inflated, each at most
/// [`MAX_ENTRY_SIZE`] and all together at most [`MAX_JAR_INFLATED`]: the
/// declared size is checked before inflating and the bytes actually
/// inflated are counted, so a header that lies about its size cannot get
/// past the budget. Other entries are carried compressed
/// ([`EntryData::Carried`]); at most [`MAX_JAR_ENTRIES`] entries are accepted.
pub fn read_jar(bytes: &[u8]) -> Result<(Vec<RawComponent>, Vec<JarEntry>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Error::Container(format!("not a readable CAP JAR: {e}")))?;
    if zip.len() > MAX_JAR_ENTRIES {
        return Err(Error::Container(format!(
            "the JAR has {} entries, more than the limit of {MAX_JAR_ENTRIES} for a CAP file",
            zip.len()
        )));
    }
    let mut components = Vec::new();
    let mut entries = Vec::new();
    let mut inflated = 0u64;
    let mut shared: Option<Arc<[u8]>> = None;
    for i in 0..zip.len() {
        let path = zip
            .name_for_index(i)
            .ok_or_else(|| Error::Container(format!("JAR entry #{i}: no name")))?
            .to_string();
        let tag_by_name = component_tag_for_path(&path).map(|t| t as u8);
        let wanted =
            tag_by_name.is_some() || is_custom_component_path(&path) || is_needed_path(&path);
        if !wanted {
            let f = zip
                .by_index_raw(i)
                .map_err(|e| Error::Container(format!("JAR entry {path}: {e}")))?;
            if f.is_dir() {
                entries.push(JarEntry::Directory { path });
                continue;
            }
            let jar = shared.get_or_insert_with(|| Arc::from(bytes)).clone();
            let data = EntryData::Carried(CarriedEntry {
                jar,
                index: i,
                crc32: f.crc32(),
                compressed_size: f.compressed_size(),
                size: f.size(),
            });
            entries.push(JarEntry::Other { path, data });
            continue;
        }
        let mut f = zip
            .by_index(i)
            .map_err(|e| Error::Container(format!("JAR entry {path}: {e}")))?;
        if f.is_dir() {
            entries.push(JarEntry::Directory { path });
            continue;
        }
        let room = MAX_ENTRY_SIZE.min(MAX_JAR_INFLATED.saturating_sub(inflated));
        let over = |what: String| {
            if room < MAX_ENTRY_SIZE {
                format!(
                    "JAR entry {path}: {what} the {MAX_JAR_INFLATED}-byte budget for all entries of a CAP JAR ({inflated} bytes already inflated)"
                )
            } else {
                format!("JAR entry {path}: {what} the {MAX_ENTRY_SIZE}-byte limit for one entry")
            }
        };
        if f.size() > room {
            return Err(Error::Container(over(format!(
                "{} bytes uncompressed exceed",
                f.size()
            ))));
        }
        let mut data = Vec::with_capacity(usize::try_from(f.size()).unwrap_or(0));
        (&mut f)
            .take(room.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| Error::Container(format!("JAR entry {path}: {e}")))?;
        let got = u64::try_from(data.len()).unwrap_or(u64::MAX);
        if got > room {
            return Err(Error::Container(over(format!(
                "declares {} bytes but inflates beyond",
                f.size()
            ))));
        }
        inflated = inflated.saturating_add(got);
        let tag = match tag_by_name {
            Some(t) => Some(t),
            None if is_custom_component_path(&path) => data.first().copied(),
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
            None => entries.push(JarEntry::Other {
                path,
                data: data.into(),
            }),
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
        let head_len = width.saturating_add(1);
        let head = body
                        .get(pos..pos.saturating_add(head_len))
            .ok_or_else(|| {
                Error::Container(format!(
                    "load file: truncated component header at offset {pos:#x} ({} byte(s) left, need {head_len})",
                    body.len().saturating_sub(pos),
                ))
            })?;
        let size = head[1..]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        // A size of up to four bytes cannot overflow on 64-bit targets, but
        // it could on 32-bit ones.
        let end = pos
            .checked_add(head_len)
            .and_then(|p| p.checked_add(size))
            .filter(|&e| e <= body.len())
            .ok_or_else(|| {
                Error::Container(format!(
                    "load file: component tag {tag} at offset {pos:#x} declares {size} byte(s) but only {} remain",
                    body.len().saturating_sub(pos).saturating_sub(head_len)
                ))
            })?;
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
    let bad = || Error::Container("load file: bad BER length after tag C4".into());
    let (len, hdr) = match bytes.get(1) {
        Some(&n) if n < 0x80 => (usize::from(n), 2),
        // One to four length bytes: what LoadFile::with_c4_tag writes for
        // any load file below 4 GiB.
        Some(&n @ 0x81..=0x84) => {
            let k = usize::from(n & 0x7F);
            let digits = bytes.get(2..2 + k).ok_or_else(bad)?;
            let len = digits
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            (usize::try_from(len).map_err(|_| bad())?, 2 + k)
        }
        _ => return Err(bad()),
    };
    if hdr.checked_add(len) != Some(bytes.len()) {
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
    let end = size.saturating_add(3).min(body.len());
    crate::cap::file::header_format(&body[..end])
}

/// A JAR that carried entries are copied from: its bytes, to tell it apart
/// from another, and the archive read over them.
type SourceJar = (Arc<[u8]>, zip::ZipArchive<Cursor<Arc<[u8]>>>);

/// Writes a CAP JAR. Entries keep the original layout where there was one; new
/// components go under `<package path>/javacard/`.
pub fn write_jar(
    entries: &[JarEntry],
    components: &[(u8, Vec<u8>)],
    default_dir: &str,
    format: Format,
) -> Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    let zerr = |e: zip::result::ZipError| Error::Container(format!("writing JAR: {e}"));
    let ioerr = |e: std::io::Error| Error::Container(format!("writing JAR: {e}"));
    let mut written = std::collections::HashSet::new();
    // The JAR that carried entries come from, opened once.
    let mut source: Option<SourceJar> = None;
    for entry in entries {
        match entry {
            JarEntry::Directory { path } => w.add_directory(path.as_str(), stored).map_err(zerr)?,
            JarEntry::Other {
                path,
                data: EntryData::Inflated(data),
            } => {
                let opts = if path.ends_with(".MF") {
                    deflated
                } else {
                    stored
                };
                w.start_file(path.as_str(), opts).map_err(zerr)?;
                w.write_all(data).map_err(ioerr)?;
            }
            JarEntry::Other {
                path,
                data: EntryData::Carried(c),
            } => {
                let source = match &mut source {
                    Some((jar, zip)) if Arc::ptr_eq(jar, &c.jar) => zip,
                    slot => {
                        let zip =
                            zip::ZipArchive::new(Cursor::new(c.jar.clone())).map_err(|e| {
                                Error::Container(format!("re-reading JAR entry {path}: {e}"))
                            })?;
                        &mut slot.insert((c.jar.clone(), zip)).1
                    }
                };
                let f = source
                    .by_index_raw(c.index)
                    .map_err(|e| Error::Container(format!("re-reading JAR entry {path}: {e}")))?;
                // The time is reset as for every entry written (same input,
                // same bytes); the compressed data is copied as it was.
                w.raw_copy_file_touch(f, zip::DateTime::default(), None)
                    .map_err(|e| Error::Container(format!("writing JAR entry {path}: {e}")))?;
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
        let path = format!("{default_dir}{}", entry_name(format, *tag));
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

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    /// A JAR of (path, bytes, deflated?) entries.
    fn jar(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (path, data, deflate) in entries {
            let method = if *deflate {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            w.start_file(
                *path,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn unneeded_entries_are_carried_compressed_and_copied_back() {
        let blob = vec![b'x'; 100_000];
        let bytes = jar(&[
            ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n", true),
            ("p/javacard/Header.cap", &[1, 0, 0], false),
            ("APPLET-INF/classes/p/A.class", &blob, true),
        ]);
        let (components, entries) = read_jar(&bytes).unwrap();
        assert_eq!(components.len(), 1);
        let JarEntry::Other { data, .. } = &entries[0] else {
            panic!("{entries:?}")
        };
        assert_eq!(data.inflated(), Some(&b"Manifest-Version: 1.0\r\n"[..]));
        let JarEntry::Other {
            data: EntryData::Carried(c),
            ..
        } = &entries[2]
        else {
            panic!("{entries:?}")
        };
        assert_eq!(c.size, 100_000);
        assert!(c.compressed_size < 1_000);

        let raw: Vec<(u8, Vec<u8>)> = components.into_iter().map(|c| (c.tag, c.bytes)).collect();
        let written = write_jar(&entries, &raw, "p/javacard/", Format::V2_1).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(&written)).unwrap();
        let mut f = zip.by_name("APPLET-INF/classes/p/A.class").unwrap();
        assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
        assert_eq!(f.compressed_size(), c.compressed_size);
        let mut back = Vec::new();
        f.read_to_end(&mut back).unwrap();
        assert_eq!(back, blob);
        drop(f);
        // Read again, the entry is the same (equality ignores which JAR it
        // is carried from).
        let (_, again) = read_jar(&written).unwrap();
        assert_eq!(again, entries);
    }

    #[test]
    fn capx_entries_are_components_named_for_the_extended_layout() {
        // Read: .capx (any case) as .cap; one component under both names is refused.
        let bytes = jar(&[
            ("p/javacard/Header.cap", &[1, 0, 0], false),
            ("p/javacard/Method.CAPX", &[7, 0, 0, 0, 0], false),
        ]);
        let (components, entries) = read_jar(&bytes).unwrap();
        assert_eq!(components.iter().map(|c| c.tag).collect::<Vec<_>>(), [1, 7]);
        assert!(matches!(&entries[1], JarEntry::Component { tag: 7, .. }));
        let both = jar(&[
            ("p/javacard/Method.cap", &[7, 0, 0], false),
            ("p/javacard/Method.capx", &[7, 0, 0, 0, 0], false),
        ]);
        let Err(e) = read_jar(&both) else {
            panic!("Method.cap and Method.capx both read")
        };
        let e = e.to_string();
        assert!(
            e.contains("Method.capx") && e.contains("second component"),
            "{e}"
        );
        // Written: .capx exactly for the u4-sized components of an extended file.
        let x = Format::V2_3_EXTENDED;
        assert_eq!(entry_name(x, 7), "Method.capx");
        assert_eq!(entry_name(x, 9), "RefLocation.capx");
        assert_eq!(entry_name(x, 11), "Descriptor.capx");
        assert_eq!(entry_name(x, 13), "StaticResources.capx");
        assert_eq!(entry_name(x, 6), "Class.cap");
        assert_eq!(entry_name(x, 10), "Export.cap");
        assert_eq!(entry_name(Format::V2_3, 7), "Method.cap");
        assert_eq!(entry_name(Format::V2_3, 13), "StaticResources.cap");
        let raw = vec![(1u8, vec![1, 0, 0]), (7u8, vec![7, 0, 0, 0, 0])];
        let written = write_jar(&[], &raw, "q/javacard/", x).unwrap();
        let zip = zip::ZipArchive::new(Cursor::new(&written)).unwrap();
        let names: Vec<&str> = zip.file_names().collect();
        assert!(names.contains(&"q/javacard/Method.capx"), "{names:?}");
        assert!(names.contains(&"q/javacard/Header.cap"), "{names:?}");
    }

    #[test]
    fn c4_lengths_of_one_to_four_bytes_are_read() {
        assert_eq!(strip_c4(&[0xC4, 2, 7, 8]).unwrap(), &[7, 8]);
        assert_eq!(strip_c4(&[0xC4, 0x84, 0, 0, 0, 2, 7, 8]).unwrap(), &[7, 8]);
        for bad in [
            &[0xC4, 0x81][..],
            &[0xC4, 0x85, 0, 0, 0, 0, 0],
            &[0xC4, 0x82, 0, 3, 1],
        ] {
            assert!(strip_c4(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn too_many_entries_are_refused_before_reading_any() {
        let names: Vec<String> = (0..=MAX_JAR_ENTRIES).map(|i| format!("e{i}")).collect();
        let entries: Vec<(&str, &[u8], bool)> = names
            .iter()
            .map(|n| (n.as_str(), &b""[..], false))
            .collect();
        let Err(err) = read_jar(&jar(&entries)) else {
            panic!("read {} entries", names.len())
        };
        let err = err.to_string();
        assert!(err.contains("4097 entries"), "{err}");
        assert!(err.contains("limit of 4096"), "{err}");
    }
}
