//! PLACEHOLDER: to be replaced by the typed decoder of the Method component.

use serde::Serialize;

use crate::bytes::Reader;
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::Result;

/// PLACEHOLDER (opaque bytes) until the typed decoder lands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodComponent {
    pub raw: Vec<u8>,
}

impl ComponentBody for MethodComponent {
    const TAG: Tag = Tag::Method;
    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        Ok(MethodComponent {
            raw: r.take_rest().to_vec(),
        })
    }
    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(&self.raw);
        Ok(())
    }
}

/// Where methods start in the Method component (offsets from the start of the
/// component's info), gathered from the other components before the Method
/// component is decoded.
#[derive(Debug, Clone, Default)]
pub struct MethodBoundaries {
    pub starts: std::collections::BTreeSet<usize>,
}

impl MethodBoundaries {
    /// PLACEHOLDER: gathers method starts from the other decoded components.
    pub fn collect(_components: &[crate::cap::Component]) -> Self {
        Self::default()
    }
}

impl MethodComponent {
    /// Decodes the Method component using known method start offsets.
    pub fn decode_with(
        r: &mut Reader<'_>,
        ctx: &Context,
        _hints: &MethodBoundaries,
    ) -> Result<Self> {
        Self::decode(r, ctx)
    }
}
