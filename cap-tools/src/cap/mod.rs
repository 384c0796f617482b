//! The CAP file model (JCVM specification chapter 6).
//!
//! A [`Cap`] is a list of decoded [`Component`]s plus the container it came in
//! (a JAR, or a raw load file). Decoding then encoding is byte-exact for every
//! component, which is what lets jct re-write CAP files and compute load-file
//! hashes that match other tools.

// Input parsers: every narrowing cast is checked (try_from with an error
// naming the field) or marked where it provably fits.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

pub mod bytecode;
pub mod components;
pub mod container;
pub mod dump;
pub mod file;
pub mod info;
pub mod load_file;

use serde::Serialize;

use crate::bytes::{Reader, WriteExt};
use crate::error::{Error, Result};

pub use components::*;
pub use container::{Container, EntryData, JarEntry};
pub use file::Cap;

/// CAP file format version and layout, from the Header component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Format {
    pub major: u8,
    pub minor: u8,
    /// Extended format (CAP 2.3 with ACC_EXTENDED): component sizes are u4 and
    /// several packages may share one CAP file.
    pub extended: bool,
}

impl Format {
    /// CAP 2.1, the format of most cards in the field.
    pub const V2_1: Format = Format {
        major: 2,
        minor: 1,
        extended: false,
    };
    /// CAP 2.2 (Java Card 2.2 to 3.0.5).
    pub const V2_2: Format = Format {
        major: 2,
        minor: 2,
        extended: false,
    };
    /// CAP 2.3 compact (Java Card 3.1+).
    pub const V2_3: Format = Format {
        major: 2,
        minor: 3,
        extended: false,
    };
    /// CAP 2.3 extended.
    pub const V2_3_EXTENDED: Format = Format {
        major: 2,
        minor: 3,
        extended: true,
    };

    /// Parses `2.1`, `2.2`, `2.3` or `2.3-extended`, as `jct build
    /// --cap-format` takes them.
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim() {
            "2.1" => Some(Format::V2_1),
            "2.2" => Some(Format::V2_2),
            "2.3" => Some(Format::V2_3),
            "2.3-extended" => Some(Format::V2_3_EXTENDED),
            _ => None,
        }
    }

    /// True when this format is `major.minor` or later.
    pub fn at_least(&self, major: u8, minor: u8) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// Width of a component's size field. Compact files use u2, except Static
    /// Resources (u4 in every format); extended files use u4 for the components
    /// that may outgrow 64 KiB (Method, RefLocation, Descriptor, Debug) and for
    /// custom components, u2 for the others (JCVM 3.1 section 6.2).
    pub fn size_width(&self, tag: u8) -> usize {
        match Tag::from_u8(tag) {
            Some(Tag::StaticResources) => 4,
            Some(Tag::Method | Tag::RefLocation | Tag::Descriptor | Tag::Debug) | None
                if self.extended =>
            {
                4
            }
            _ => 2,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.extended {
            f.write_str(" extended")?;
        }
        Ok(())
    }
}

/// Component tags (JCVM table 6-1, plus Static Resources from 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Tag {
    Header = 1,
    Directory = 2,
    Applet = 3,
    Import = 4,
    ConstantPool = 5,
    Class = 6,
    Method = 7,
    StaticField = 8,
    RefLocation = 9,
    Export = 10,
    Descriptor = 11,
    Debug = 12,
    StaticResources = 13,
}

impl Tag {
    /// All standard tags in numeric order.
    pub const ALL: [Tag; 13] = [
        Tag::Header,
        Tag::Directory,
        Tag::Applet,
        Tag::Import,
        Tag::ConstantPool,
        Tag::Class,
        Tag::Method,
        Tag::StaticField,
        Tag::RefLocation,
        Tag::Export,
        Tag::Descriptor,
        Tag::Debug,
        Tag::StaticResources,
    ];

    /// The tag for a byte, if it is a standard one.
    pub fn from_u8(v: u8) -> Option<Tag> {
        Tag::ALL.get((v as usize).wrapping_sub(1)).copied()
    }

    /// The component's name as used for `<Name>.cap` entries in a CAP JAR.
    pub fn name(&self) -> &'static str {
        match self {
            Tag::Header => "Header",
            Tag::Directory => "Directory",
            Tag::Applet => "Applet",
            Tag::Import => "Import",
            Tag::ConstantPool => "ConstantPool",
            Tag::Class => "Class",
            Tag::Method => "Method",
            Tag::StaticField => "StaticField",
            Tag::RefLocation => "RefLocation",
            Tag::Export => "Export",
            Tag::Descriptor => "Descriptor",
            Tag::Debug => "Debug",
            Tag::StaticResources => "StaticResources",
        }
    }

    /// Looks a tag up by JAR entry name (`Header`, `header`, `RefLocation` ...).
    pub fn from_name(name: &str) -> Option<Tag> {
        Tag::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Location string used in errors about this component.
    pub fn location(&self) -> &'static str {
        match self {
            Tag::Header => "Header component",
            Tag::Directory => "Directory component",
            Tag::Applet => "Applet component",
            Tag::Import => "Import component",
            Tag::ConstantPool => "ConstantPool component",
            Tag::Class => "Class component",
            Tag::Method => "Method component",
            Tag::StaticField => "StaticField component",
            Tag::RefLocation => "RefLocation component",
            Tag::Export => "Export component",
            Tag::Descriptor => "Descriptor component",
            Tag::Debug => "Debug component",
            Tag::StaticResources => "StaticResources component",
        }
    }
}

/// Everything a component decoder may need to know about the file around it.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub format: Format,
}

/// One component's body (the `info` bytes after tag and size), decoded.
///
/// `decode` receives a reader over exactly the body; it must consume all of it
/// (the caller checks). `encode` appends the body. Decoding then encoding must
/// give back the same bytes.
pub trait ComponentBody: Sized {
    const TAG: Tag;
    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self>;
    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()>;
}

/// A decoded component.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "component")]
pub enum Component {
    Header(Header),
    Directory(Directory),
    Applet(AppletComponent),
    Import(ImportComponent),
    ConstantPool(ConstantPool),
    Class(ClassComponent),
    Method(MethodComponent),
    StaticField(StaticFieldComponent),
    RefLocation(RefLocation),
    Export(ExportComponent),
    Descriptor(Descriptor),
    Debug(Debug),
    StaticResources(StaticResources),
    /// A custom component (tag 128..=255) or an unknown tag, carried unchanged.
    Custom {
        tag: u8,
        info: Vec<u8>,
    },
}

impl Component {
    /// The tag byte.
    pub fn tag_byte(&self) -> u8 {
        match self {
            Component::Custom { tag, .. } => *tag,
            other => other.tag().map(|t| t as u8).unwrap_or(0),
        }
    }

    /// The standard tag, `None` for custom components.
    pub fn tag(&self) -> Option<Tag> {
        Some(match self {
            Component::Header(_) => Tag::Header,
            Component::Directory(_) => Tag::Directory,
            Component::Applet(_) => Tag::Applet,
            Component::Import(_) => Tag::Import,
            Component::ConstantPool(_) => Tag::ConstantPool,
            Component::Class(_) => Tag::Class,
            Component::Method(_) => Tag::Method,
            Component::StaticField(_) => Tag::StaticField,
            Component::RefLocation(_) => Tag::RefLocation,
            Component::Export(_) => Tag::Export,
            Component::Descriptor(_) => Tag::Descriptor,
            Component::Debug(_) => Tag::Debug,
            Component::StaticResources(_) => Tag::StaticResources,
            Component::Custom { .. } => return None,
        })
    }

    /// Display name: the standard name or `Custom(0x80)`.
    pub fn name(&self) -> String {
        match self.tag() {
            Some(t) => t.name().to_string(),
            None => format!("Custom({:#04x})", self.tag_byte()),
        }
    }

    /// Encodes the body (without tag and size).
    pub fn encode_body(&self, ctx: &Context) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            Component::Header(c) => c.encode(ctx, &mut out)?,
            Component::Directory(c) => c.encode(ctx, &mut out)?,
            Component::Applet(c) => c.encode(ctx, &mut out)?,
            Component::Import(c) => c.encode(ctx, &mut out)?,
            Component::ConstantPool(c) => c.encode(ctx, &mut out)?,
            Component::Class(c) => c.encode(ctx, &mut out)?,
            Component::Method(c) => c.encode(ctx, &mut out)?,
            Component::StaticField(c) => c.encode(ctx, &mut out)?,
            Component::RefLocation(c) => c.encode(ctx, &mut out)?,
            Component::Export(c) => c.encode(ctx, &mut out)?,
            Component::Descriptor(c) => c.encode(ctx, &mut out)?,
            Component::Debug(c) => c.encode(ctx, &mut out)?,
            Component::StaticResources(c) => c.encode(ctx, &mut out)?,
            Component::Custom { info, .. } => out.extend_from_slice(info),
        }
        Ok(out)
    }

    /// Encodes the whole component: tag, size (u2 or u4, see [`Format::size_width`]), body.
    pub fn encode(&self, ctx: &Context) -> Result<Vec<u8>> {
        let body = self.encode_body(ctx)?;
        let mut out = Vec::with_capacity(body.len() + 5);
        out.put_u1(self.tag_byte());
        if ctx.format.size_width(self.tag_byte()) == 4 {
            let n = u32::try_from(body.len()).map_err(|_| {
                Error::encode("component", format!("{} is larger than 4 GiB", self.name()))
            })?;
            out.put_u4(n);
        } else {
            let n =
                u16::try_from(body.len()).map_err(|_| {
                    Error::encode(
                        "component",
                        format!(
                        "{} body of {} bytes exceeds the 65535 bytes its u2 size field allows{}",
                        self.name(),
                        body.len(),
                        if ctx.format.extended { "" } else { " (a compact CAP file)" }
                    ),
                    )
                })?;
            out.put_u2(n);
        }
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decodes one whole component (tag, size, body) from `raw`, which must hold
    /// exactly one component. `hints` tells the Method decoder where methods start
    /// (see [`MethodBoundaries`]); it is ignored by other components.
    pub fn decode(raw: &[u8], ctx: &Context, hints: &MethodBoundaries) -> Result<Component> {
        let mut r = Reader::new(raw, "component");
        let tag = r.u1("component tag")?;
        let size = if ctx.format.size_width(tag) == 4 {
            r.u4("component size")? as usize
        } else {
            r.u2("component size")? as usize
        };
        let location = Tag::from_u8(tag)
            .map(|t| t.location())
            .unwrap_or("custom component");
        if size != r.remaining() {
            return Err(Error::invalid(
                location,
                0,
                format!(
                    "size field says {size} byte(s) but the component holds {}",
                    r.remaining()
                ),
            ));
        }
        let mut body = Reader::new(r.rest(), location);
        let c = match Tag::from_u8(tag) {
            Some(Tag::Header) => Component::Header(Header::decode(&mut body, ctx)?),
            Some(Tag::Directory) => Component::Directory(Directory::decode(&mut body, ctx)?),
            Some(Tag::Applet) => Component::Applet(AppletComponent::decode(&mut body, ctx)?),
            Some(Tag::Import) => Component::Import(ImportComponent::decode(&mut body, ctx)?),
            Some(Tag::ConstantPool) => {
                Component::ConstantPool(ConstantPool::decode(&mut body, ctx)?)
            }
            Some(Tag::Class) => Component::Class(ClassComponent::decode(&mut body, ctx)?),
            Some(Tag::Method) => {
                Component::Method(MethodComponent::decode_with(&mut body, ctx, hints)?)
            }
            Some(Tag::StaticField) => {
                Component::StaticField(StaticFieldComponent::decode(&mut body, ctx)?)
            }
            Some(Tag::RefLocation) => Component::RefLocation(RefLocation::decode(&mut body, ctx)?),
            Some(Tag::Export) => Component::Export(ExportComponent::decode(&mut body, ctx)?),
            Some(Tag::Descriptor) => Component::Descriptor(Descriptor::decode(&mut body, ctx)?),
            Some(Tag::Debug) => Component::Debug(Debug::decode(&mut body, ctx)?),
            Some(Tag::StaticResources) => {
                Component::StaticResources(StaticResources::decode(&mut body, ctx)?)
            }
            None => Component::Custom {
                tag,
                info: body.take_rest().to_vec(),
            },
        };
        body.expect_end()?;
        Ok(c)
    }
}
