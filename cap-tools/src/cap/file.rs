//! [`Cap`]: a whole CAP file, read from a JAR or a raw load file.

use std::path::Path;

use serde::Serialize;

use crate::aid::Aid;
use crate::bytes::Reader;
use crate::cap::container::{self, Container, JarEntry, RawComponent};
use crate::cap::{Component, Context, Format, Header, MethodBoundaries, Tag};
use crate::error::{Error, Result};

/// A decoded CAP file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cap {
    /// The format declared by the Header component.
    pub format: Format,
    /// Components in the order they were read.
    pub components: Vec<Component>,
    /// The container the components came in.
    pub container: Container,
}

impl Cap {
    /// Reads a CAP from a file: a JAR or a raw load file, told apart by content.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Cap> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        Cap::from_bytes(&bytes)
    }

    /// Reads a CAP from bytes: a JAR (zip) or a raw load file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Cap> {
        if bytes.is_empty() {
            return Err(Error::Container(
                "empty input: neither a CAP JAR nor a load file".into(),
            ));
        }
        if container::looks_like_zip(bytes) {
            Cap::from_jar(bytes)
        } else {
            Cap::from_load_file(bytes)
        }
    }

    /// Reads a CAP JAR.
    pub fn from_jar(bytes: &[u8]) -> Result<Cap> {
        let (raw, entries) = container::read_jar(bytes)?;
        Cap::decode_components(raw, Container::Jar { entries })
    }

    /// Reads a raw load file (components concatenated, optionally inside tag C4).
    pub fn from_load_file(bytes: &[u8]) -> Result<Cap> {
        let format = container::load_file_format(bytes)?;
        let raw = container::split_load_file(bytes, format)?;
        Cap::decode_components(raw, Container::LoadFile)
    }

    /// Decodes raw components: the Header first (it fixes the format), then all
    /// others, then the Method component with the method starts the others name.
    fn decode_components(raw: Vec<RawComponent>, container: Container) -> Result<Cap> {
        let header_raw = raw
            .iter()
            .find(|c| c.tag == Tag::Header as u8)
            .ok_or_else(|| Error::Container("no Header component".into()))?;
        let format = header_format(&header_raw.bytes)?;
        let ctx = Context { format };
        let none = MethodBoundaries::default();
        let mut slots: Vec<Option<Component>> = Vec::with_capacity(raw.len());
        for c in &raw {
            if c.tag == Tag::Method as u8 {
                slots.push(None);
            } else {
                slots.push(Some(Component::decode(&c.bytes, &ctx, &none)?));
            }
        }
        let decoded: Vec<Component> = slots.iter().flatten().cloned().collect();
        let hints = MethodBoundaries::collect(&decoded);
        let components = raw
            .iter()
            .zip(slots)
            .map(|(c, slot)| match slot {
                Some(done) => Ok(done),
                None => Component::decode(&c.bytes, &ctx, &hints),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Cap {
            format,
            components,
            container,
        })
    }

    /// The decoding context for this file's components.
    pub fn context(&self) -> Context {
        Context {
            format: self.format,
        }
    }

    /// The component with a tag, if present.
    pub fn component(&self, tag: Tag) -> Option<&Component> {
        self.components.iter().find(|c| c.tag() == Some(tag))
    }

    /// Encodes every component (tag, size, body), in file order.
    pub fn encode_components(&self) -> Result<Vec<(u8, Vec<u8>)>> {
        let ctx = self.context();
        self.components
            .iter()
            .map(|c| Ok((c.tag_byte(), c.encode(&ctx)?)))
            .collect()
    }

    /// Writes the CAP as a JAR, keeping the original entries when it was read from one.
    pub fn to_jar(&self) -> Result<Vec<u8>> {
        let components = self.encode_components()?;
        let entries: &[JarEntry] = match &self.container {
            Container::Jar { entries } => entries,
            Container::LoadFile => &[],
        };
        container::write_jar(entries, &components, &self.default_jar_dir(), self.format)
    }

    /// The directory new component entries go to: `<package/path>/javacard/`
    /// (the first package's, in an extended file).
    fn default_jar_dir(&self) -> String {
        let name = self.header().and_then(|h| {
            h.package_name()
                .or_else(|| h.packages.first().map(|p| p.name.as_str()))
        });
        match name {
            Some(name) if !name.is_empty() => format!("{}/javacard/", name.replace('.', "/")),
            _ => "javacard/".to_string(),
        }
    }

    /// The Header component.
    pub fn header(&self) -> Option<&Header> {
        match self.component(Tag::Header) {
            Some(Component::Header(h)) => Some(h),
            _ => None,
        }
    }

    /// The package AID from the Header (for compact CAP files).
    pub fn package_aid(&self) -> Option<Aid> {
        self.header().and_then(|h| h.package_aid())
    }
}

/// Reads the format from a Header component's raw bytes (tag, u2 size, body)
/// before anything else is decoded.
pub(crate) fn header_format(raw: &[u8]) -> Result<Format> {
    let mut r = Reader::new(raw, Tag::Header.location());
    r.bytes(3, "tag and size")?;
    let magic = r.u4("magic")?;
    if magic != crate::cap::header::MAGIC {
        return Err(r.error_at(
            3,
            format!("magic is {magic:#010x}, a CAP Header starts with 0xDECAFFED"),
        ));
    }
    let minor = r.u1("minor_version")?;
    let major = r.u1("major_version")?;
    let flags = r.u1("flags")?;
    let format = Format {
        major,
        minor,
        extended: flags & crate::cap::header::ACC_EXTENDED != 0,
    };
    if major != 2 || !(1..=3).contains(&minor) {
        return Err(r.error_at(
            7,
            format!("CAP format {major}.{minor} is not supported (2.1, 2.2 and 2.3 are)"),
        ));
    }
    if format.extended && minor < 3 {
        return Err(r.error_at(9, "flag ACC_EXTENDED needs CAP format 2.3"));
    }
    Ok(format)
}
