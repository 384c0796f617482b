//! [`MethodBoundaries`]: where methods start in the Method component.
//!
//! method_info structures carry no length, so the Method component can only be
//! split into methods with outside knowledge. Every component that names a
//! method offset contributes it here before the Method component is decoded.

use std::collections::BTreeSet;

use crate::cap::components::{AppletComponent, ExportComponent};
use crate::cap::Component;

use super::MethodLocation;

/// Method start offsets gathered from the other components.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodBoundaries {
    /// Compact format: offsets within the component body.
    pub starts: BTreeSet<usize>,
    /// Extended format: (block index, offset within that block).
    pub block_starts: BTreeSet<(u8, usize)>,
    /// True when a Descriptor component contributed: it names every method,
    /// so each region between two starts holds exactly one method (or an
    /// abstract header followed by more methods). When false, the decoder also
    /// looks for method ends by following the code.
    pub complete: bool,
}

impl MethodBoundaries {
    /// Gathers the method starts that the decoded components name: Descriptor
    /// method descriptors, Class virtual method tables, Applet install
    /// methods, Export static methods and the Constant Pool's internal static
    /// method references. The more sources, the fewer methods the decoder has
    /// to find by following code (a file without a Descriptor still splits
    /// at every method some other component points at).
    pub fn collect(components: &[Component]) -> Self {
        let extended = components.iter().any(|c| match c {
            Component::Header(h) => h.is_extended(),
            _ => false,
        });
        let mut b = MethodBoundaries::default();
        for c in components {
            match c {
                Component::Descriptor(d) => {
                    b.complete = true;
                    b.extend(d.method_locations());
                }
                Component::Class(c) => b.extend(c.method_locations()),
                Component::Applet(a) => b.extend(applet_starts(a, extended)),
                Component::Export(e) => b.extend(export_starts(e)),
                Component::ConstantPool(cp) => b.extend(cp.method_locations(extended)),
                _ => {}
            }
        }
        b
    }

    /// Records one method start.
    pub fn add(&mut self, at: MethodLocation) {
        match at.block_index {
            None => {
                self.starts.insert(usize::from(at.offset));
            }
            Some(block) => {
                self.block_starts.insert((block, usize::from(at.offset)));
            }
        }
    }

    /// Records many method starts.
    pub fn extend(&mut self, all: impl IntoIterator<Item = MethodLocation>) {
        all.into_iter().for_each(|at| self.add(at));
    }

    /// The starts inside one block of an extended Method component.
    pub fn in_block(&self, block: u8) -> BTreeSet<usize> {
        self.block_starts
            .range((block, 0)..=(block, usize::MAX))
            .map(|(_, o)| *o)
            .collect()
    }
}

/// Install method starts of the Applet component. Its entries hold a u2
/// offset (kept in a u32) and a block index that only extended files have;
/// an offset that does not fit a u2 names no method and is left out.
fn applet_starts(a: &AppletComponent, extended: bool) -> Vec<MethodLocation> {
    a.applets
        .iter()
        .filter_map(|e| {
            let offset = u16::try_from(e.install_method_offset).ok()?;
            Some(MethodLocation {
                block_index: extended.then_some(e.install_method_block),
                offset,
            })
        })
        .collect()
}

/// Static method starts of the Export component: compact classes carry bare
/// offsets, extended ones pair each offset with its block index.
fn export_starts(e: &ExportComponent) -> Vec<MethodLocation> {
    let compact = e.classes.iter().flat_map(|c| {
        c.static_method_offsets
            .iter()
            .map(|&o| MethodLocation::compact(o))
    });
    let extended = e.packages.iter().flat_map(|p| &p.classes).flat_map(|c| {
        c.static_method_blocks
            .iter()
            .zip(&c.static_method_offsets)
            .map(|(&block, &offset)| MethodLocation {
                block_index: Some(block),
                offset,
            })
    });
    compact.chain(extended).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_block_starts_are_kept_apart() {
        let mut b = MethodBoundaries::default();
        b.add(MethodLocation::compact(0x20));
        b.extend([
            MethodLocation {
                block_index: Some(1),
                offset: 0x10,
            },
            MethodLocation {
                block_index: Some(0),
                offset: 0x05,
            },
            MethodLocation {
                block_index: Some(1),
                offset: 0x03,
            },
        ]);
        assert_eq!(b.starts.iter().copied().collect::<Vec<_>>(), [0x20]);
        assert_eq!(b.in_block(1).into_iter().collect::<Vec<_>>(), [0x03, 0x10]);
        assert_eq!(b.in_block(0).into_iter().collect::<Vec<_>>(), [0x05]);
        assert!(b.in_block(2).is_empty());
        assert!(!b.complete);
    }

    #[test]
    fn collect_without_sources_is_empty() {
        let b = MethodBoundaries::collect(&[Component::Custom {
            tag: 0x80,
            info: vec![1, 2],
        }]);
        assert_eq!(b, MethodBoundaries::default());
    }

    fn sources(extended: bool) -> Vec<Component> {
        use crate::aid::Aid;
        use crate::cap::components::applet::AppletEntry;
        use crate::cap::components::constant_pool::{ConstantPool, CpEntry, StaticRef};
        use crate::cap::components::export::{ClassExport, PackageExport};
        use crate::cap::header::{Header, PackageInfo, ACC_EXTENDED, MAGIC};
        let header = Header {
            magic: MAGIC,
            minor_version: 3,
            major_version: 2,
            flags: if extended { ACC_EXTENDED } else { 0 },
            package: PackageInfo {
                minor_version: 0,
                major_version: 1,
                aid: Aid(vec![1, 2, 3, 4, 5]),
            },
            package_name: None,
            packages: Vec::new(),
        };
        let applet = AppletComponent {
            applets: vec![AppletEntry {
                aid: Aid(vec![1, 2, 3, 4, 5, 6]),
                install_method_block: u8::from(extended),
                install_method_offset: 0x30,
            }],
        };
        let class = ClassExport {
            class_offset: 0,
            static_field_offsets: Vec::new(),
            static_method_offsets: vec![0x40],
            static_method_blocks: if extended { vec![2] } else { Vec::new() },
        };
        let export = if extended {
            ExportComponent {
                classes: Vec::new(),
                packages: vec![PackageExport {
                    classes: vec![class],
                }],
            }
        } else {
            ExportComponent {
                classes: vec![class],
                packages: Vec::new(),
            }
        };
        let cp = ConstantPool {
            entries: vec![
                CpEntry::StaticMethodRef(StaticRef::Internal {
                    block: u8::from(extended) * 3,
                    offset: 0x50,
                }),
                CpEntry::StaticMethodRef(StaticRef::External {
                    package_token: 0,
                    class_token: 1,
                    token: 2,
                }),
            ],
        };
        vec![
            Component::Header(header),
            Component::Applet(applet),
            Component::Export(export),
            Component::ConstantPool(cp),
        ]
    }

    #[test]
    fn applet_export_and_constant_pool_name_method_starts() {
        let b = MethodBoundaries::collect(&sources(false));
        assert_eq!(
            b.starts.iter().copied().collect::<Vec<_>>(),
            [0x30, 0x40, 0x50]
        );
        assert!(b.block_starts.is_empty());
        assert!(!b.complete, "only a Descriptor names every method");
    }

    #[test]
    fn extended_sources_keep_their_block_indices() {
        let b = MethodBoundaries::collect(&sources(true));
        assert!(b.starts.is_empty());
        assert_eq!(
            b.block_starts.iter().copied().collect::<Vec<_>>(),
            [(1, 0x30), (2, 0x40), (3, 0x50)]
        );
    }
}
