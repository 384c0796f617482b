//! The components the checks read, looked up once, and an index of the
//! decoded methods by where they start, so that offset checks are lookups.

use std::collections::{BTreeMap, BTreeSet};

use crate::cap::components::method::{MethodInfo, MethodLocation};
use crate::cap::{
    AppletComponent, Cap, ClassComponent, Component, ConstantPool, Descriptor, Directory,
    ExportComponent, Header, ImportComponent, MethodComponent, RefLocation, StaticFieldComponent,
};

/// Typed views of a CAP's components (the first of each kind, as
/// [`Cap::component`] returns) plus derived indices.
pub(super) struct Parts<'a> {
    pub cap: &'a Cap,
    /// Extended format: Method offsets elsewhere are relative to a block.
    pub extended: bool,
    pub header: Option<&'a Header>,
    pub directory: Option<&'a Directory>,
    pub applet: Option<&'a AppletComponent>,
    pub import: Option<&'a ImportComponent>,
    pub cp: Option<&'a ConstantPool>,
    pub class: Option<&'a ClassComponent>,
    pub method: Option<&'a MethodComponent>,
    pub static_field: Option<&'a StaticFieldComponent>,
    pub ref_location: Option<&'a RefLocation>,
    pub export: Option<&'a ExportComponent>,
    pub descriptor: Option<&'a Descriptor>,
    /// Every method_info by (block, header offset).
    pub methods: BTreeMap<(Option<u8>, u32), &'a MethodInfo>,
    /// Offsets of the Class component's interface_info and class_info entries.
    pub class_offsets: BTreeSet<u16>,
}

impl<'a> Parts<'a> {
    pub fn of(cap: &'a Cap) -> Self {
        let mut p = Parts {
            cap,
            extended: cap.format.extended,
            header: None,
            directory: None,
            applet: None,
            import: None,
            cp: None,
            class: None,
            method: None,
            static_field: None,
            ref_location: None,
            export: None,
            descriptor: None,
            methods: BTreeMap::new(),
            class_offsets: BTreeSet::new(),
        };
        for c in &cap.components {
            match c {
                Component::Header(x) => p.header = p.header.or(Some(x)),
                Component::Directory(x) => p.directory = p.directory.or(Some(x)),
                Component::Applet(x) => p.applet = p.applet.or(Some(x)),
                Component::Import(x) => p.import = p.import.or(Some(x)),
                Component::ConstantPool(x) => p.cp = p.cp.or(Some(x)),
                Component::Class(x) => p.class = p.class.or(Some(x)),
                Component::Method(x) => p.method = p.method.or(Some(x)),
                Component::StaticField(x) => p.static_field = p.static_field.or(Some(x)),
                Component::RefLocation(x) => p.ref_location = p.ref_location.or(Some(x)),
                Component::Export(x) => p.export = p.export.or(Some(x)),
                Component::Descriptor(x) => p.descriptor = p.descriptor.or(Some(x)),
                _ => {}
            }
        }
        if let Some(m) = p.method {
            for b in m.iter_blocks() {
                for info in b.methods {
                    p.methods.insert((b.index, info.offset), info);
                }
            }
        }
        if let Some(c) = p.class {
            p.class_offsets = c.entries.iter().map(|e| e.offset()).collect();
        }
        p
    }

    /// The block key a location has in [`Parts::methods`]: compact files
    /// have one implicit block, whatever an extended-only field says.
    pub fn block_key(&self, block: Option<u8>) -> Option<u8> {
        if self.extended {
            Some(block.unwrap_or(0))
        } else {
            None
        }
    }

    /// The method whose header is at a location.
    pub fn method_at(&self, at: MethodLocation) -> Option<&'a MethodInfo> {
        self.methods
            .get(&(self.block_key(at.block_index), u32::from(at.offset)))
            .copied()
    }

    /// The method whose bytecode holds `offset` in a block.
    pub fn method_containing(&self, block: Option<u8>, offset: u32) -> Option<&'a MethodInfo> {
        let (_, m) = self
            .methods
            .range((block, 0)..=(block, offset))
            .next_back()?;
        let start = u64::from(m.code_offset());
        (start..code_end(m))
            .contains(&u64::from(offset))
            .then_some(*m)
    }

    /// Number of constant-pool entries (0 without a Constant Pool).
    pub fn cp_len(&self) -> usize {
        self.cp.map_or(0, |c| c.entries.len())
    }

    /// Number of imported packages (0 without an Import component).
    pub fn import_len(&self) -> usize {
        self.import.map_or(0, |i| i.packages.len())
    }

    /// The static field image size: the StaticField component's, else the Directory's.
    pub fn image_size(&self) -> Option<u16> {
        self.static_field
            .map(|s| s.image_size)
            .or(self.directory.map(|d| d.static_field_size.image_size))
    }
}

/// How a message names a Method component offset: `0x1a`, or `0x1a in block 2`.
pub(super) fn method_place(block: Option<u8>, offset: impl Into<u64>) -> String {
    let offset = offset.into();
    match block {
        Some(b) => format!("{offset:#x} in block {b}"),
        None => format!("{offset:#x}"),
    }
}

/// True when an instruction of `m` starts at `offset`.
pub(super) fn is_boundary(m: &MethodInfo, offset: u64) -> bool {
    u32::try_from(offset)
        .ok()
        .is_some_and(|o| m.code.binary_search_by_key(&o, |i| i.offset).is_ok())
}

/// One past the last bytecode of `m`, from its last instruction (decoded
/// code is contiguous), so that per-instruction checks stay linear.
pub(super) fn code_end(m: &MethodInfo) -> u64 {
    m.code.last().map_or(u64::from(m.code_offset()), |i| {
        u64::from(i.offset) + i.len() as u64
    })
}
