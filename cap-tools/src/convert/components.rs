//! The small components: Header, Directory, Applet, Import and RefLocation
//! (JCVM 6.3-6.6, 6.10), built from what the other steps decided.

use crate::aid::Aid;
use crate::cap::components::applet::AppletEntry;
use crate::cap::components::directory::{size_count, StaticFieldSizeInfo};
use crate::cap::components::header::{
    ExtendedPackage, PackageInfo, ACC_APPLET, ACC_EXPORT, ACC_EXTENDED, ACC_INT, MAGIC,
};
use crate::cap::components::method::{ExceptionHandler, MethodInfo, MethodLocation};
use crate::cap::components::ref_location::{RefLocation, RefLocationBlock};
use crate::cap::components::static_field::StaticFieldComponent;
use crate::cap::{
    AppletComponent, Component, Context, Directory, Format, Header, ImportComponent,
    MethodComponent, Tag,
};

use super::error::{Error, Result};
use super::link::Linker;

/// The Header: format, flags, package identity (and name from CAP 2.2).
///
/// An extended Header names the CAP file (its AID, which the card knows
/// the load file by, and its version: jct gives them the package's own)
/// and then its public packages: the package when it exports something (a
/// library, or an applet package with shareable interfaces); an applet
/// package that exports nothing is private, listed in the Descriptor only,
/// as Oracle's converter makes it.
pub fn header(
    format: Format,
    flags: (bool, bool, bool),
    aid: &Aid,
    version: (u8, u8),
    name: &str,
) -> Header {
    let (int, export, applet) = flags;
    let mut f = 0;
    if int {
        f |= ACC_INT;
    }
    if export {
        f |= ACC_EXPORT;
    }
    if applet {
        f |= ACC_APPLET;
    }
    let package = PackageInfo {
        minor_version: version.1,
        major_version: version.0,
        aid: aid.clone(),
    };
    if format.extended {
        let public = export || !applet;
        return Header {
            magic: MAGIC,
            minor_version: format.minor,
            major_version: format.major,
            flags: f | ACC_EXTENDED,
            package: package.clone(),
            package_name: None,
            packages: if public {
                vec![ExtendedPackage {
                    package,
                    name: name.to_string(),
                }]
            } else {
                Vec::new()
            },
        };
    }
    Header {
        magic: MAGIC,
        minor_version: format.minor,
        major_version: format.major,
        flags: f,
        package,
        package_name: format.at_least(2, 2).then(|| name.to_string()),
        packages: Vec::new(),
    }
}

/// The Import component from the linker packages in token order.
pub fn import(linker: &Linker, packages: &[usize]) -> ImportComponent {
    ImportComponent {
        packages: packages
            .iter()
            .map(|&p| {
                let x = &linker.packages[p];
                PackageInfo {
                    minor_version: x.version.1,
                    major_version: x.version.0,
                    aid: x.aid.clone(),
                }
            })
            .collect(),
    }
}

/// The Applet component: each applet's AID and install method (with its
/// Method component block in the extended format).
pub fn applet(applets: &[(Aid, MethodLocation)]) -> AppletComponent {
    AppletComponent {
        applets: applets
            .iter()
            .map(|(aid, at)| AppletEntry {
                aid: aid.clone(),
                install_method_block: at.block_index.unwrap_or(0),
                install_method_offset: u32::from(at.offset),
            })
            .collect(),
    }
}

/// Every constant pool index in the Method component: instruction operands
/// (one- and two-byte) and the catch types of handlers; per block, with
/// offsets from the block's start, in the extended format.
pub fn ref_location(method: &MethodComponent, extended: bool) -> RefLocation {
    let lists = |handlers: &[ExceptionHandler], methods: &[MethodInfo]| {
        let mut one = Vec::new();
        let mut two = Vec::new();
        for (i, h) in handlers.iter().enumerate() {
            if h.catch_type_index != 0 {
                two.push((1 + ExceptionHandler::SIZE * i + 6) as u32);
            }
        }
        for op in methods
            .iter()
            .flat_map(|m| &m.code)
            .filter_map(|i| i.cp_index())
        {
            if op.width == 1 {
                one.push(op.operand_offset);
            } else {
                two.push(op.operand_offset);
            }
        }
        one.sort_unstable();
        two.sort_unstable();
        RefLocationBlock {
            byte_index_offsets: one,
            byte2_index_offsets: two,
        }
    };
    if !extended {
        let all = lists(&method.handlers, &method.methods);
        return RefLocation {
            byte_index_offsets: all.byte_index_offsets,
            byte2_index_offsets: all.byte2_index_offsets,
            blocks: Vec::new(),
        };
    }
    RefLocation {
        byte_index_offsets: Vec::new(),
        byte2_index_offsets: Vec::new(),
        blocks: method
            .blocks
            .iter()
            .map(|b| lists(&b.handlers, &b.methods))
            .collect(),
    }
}

/// The Directory for the other components (all but the Directory itself).
pub fn directory(
    format: Format,
    others: &[Component],
    statics: &StaticFieldComponent,
    import_count: u8,
    applet_count: u8,
) -> Result<Directory> {
    let ctx = Context { format };
    let mut sizes = vec![0u32; size_count(&format)];
    let mut block_count = None;
    for c in others {
        let tag = c
            .tag()
            .ok_or_else(|| Error::general("internal: custom component"))?;
        let body = c.encode_body(&ctx)?;
        if let Some(s) = sizes.get_mut(tag as usize - 1) {
            *s = u32::try_from(body.len())
                .map_err(|_| Error::general(format!("the {} component exceeds 4 GiB", c.name())))?;
        }
        if let Component::Method(m) = c {
            block_count = Some(u8::try_from(m.blocks.len()).map_err(|_| {
                Error::general("the Method component would have more than 255 blocks")
            })?);
        }
    }
    let mut d = Directory {
        component_sizes: sizes,
        static_field_size: StaticFieldSizeInfo {
            image_size: statics.image_size,
            array_init_count: statics.array_init.len() as u16,
            array_init_size: statics
                .array_init
                .iter()
                .map(|a| a.values.len())
                .sum::<usize>() as u16,
        },
        import_count,
        applet_count,
        method_component_block_count: if format.extended {
            Some(block_count.ok_or_else(|| {
                Error::general("internal: an extended Directory without a Method component")
            })?)
        } else {
            None
        },
        custom_components: Vec::new(),
    };
    // The Directory's own size does not depend on the values it holds.
    let own = Component::Directory(d.clone()).encode_body(&ctx)?.len();
    d.component_sizes[Tag::Directory as usize - 1] = own as u32;
    Ok(d)
}
