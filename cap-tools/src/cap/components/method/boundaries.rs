//! [`MethodBoundaries`]: where methods start in the Method component.
//!
//! method_info structures carry no length, so the Method component can only be
//! split into methods with outside knowledge. Every component that names a
//! method offset contributes it here before the Method component is decoded.

use std::collections::BTreeSet;

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
    /// Gathers the method starts that the decoded components name. Each source
    /// is one line; components with nothing to say are skipped.
    pub fn collect(components: &[Component]) -> Self {
        let mut b = MethodBoundaries::default();
        for c in components {
            match c {
                Component::Descriptor(d) => {
                    b.complete = true;
                    b.extend(d.method_locations());
                }
                Component::Class(c) => b.extend(c.method_locations()),
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
}
