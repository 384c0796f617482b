//! Header component (tag 1): magic, CAP format, package flags and identity.

use serde::Serialize;

use crate::aid::Aid;
use crate::bytes::{Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Format, Tag};
use crate::error::Result;

/// The magic number every CAP Header starts with.
pub const MAGIC: u32 = 0xDECA_FFED;

/// Package flag: the package uses the int type.
pub const ACC_INT: u8 = 0x01;
/// Package flag: the CAP has an Export component.
pub const ACC_EXPORT: u8 = 0x02;
/// Package flag: the CAP has an Applet component.
pub const ACC_APPLET: u8 = 0x04;
/// Package flag: extended CAP format (2.3).
pub const ACC_EXTENDED: u8 = 0x08;

/// PLACEHOLDER fields; the full decoder replaces this file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    pub magic: u32,
    pub minor_version: u8,
    pub major_version: u8,
    pub flags: u8,
    pub rest: Vec<u8>,
}

impl Header {
    /// The CAP format this header declares.
    pub fn format(&self) -> Format {
        Format {
            major: self.major_version,
            minor: self.minor_version,
            extended: self.flags & ACC_EXTENDED != 0,
        }
    }
    /// PLACEHOLDER.
    pub fn package_aid(&self) -> Option<Aid> {
        None
    }
    /// PLACEHOLDER.
    pub fn package_name(&self) -> Option<&str> {
        None
    }
}

impl ComponentBody for Header {
    const TAG: Tag = Tag::Header;
    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        Ok(Header {
            magic: r.u4("magic")?,
            minor_version: r.u1("minor_version")?,
            major_version: r.u1("major_version")?,
            flags: r.u1("flags")?,
            rest: r.take_rest().to_vec(),
        })
    }
    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.put_u4(self.magic);
        out.put_u1(self.minor_version);
        out.put_u1(self.major_version);
        out.put_u1(self.flags);
        out.put_bytes(&self.rest);
        Ok(())
    }
}
