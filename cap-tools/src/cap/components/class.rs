//! PLACEHOLDER: to be replaced by the typed decoder of the Class component.

use serde::Serialize;

use crate::bytes::Reader;
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::Result;

/// PLACEHOLDER (opaque bytes) until the typed decoder lands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassComponent {
    pub raw: Vec<u8>,
}

impl ComponentBody for ClassComponent {
    const TAG: Tag = Tag::Class;
    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        Ok(ClassComponent {
            raw: r.take_rest().to_vec(),
        })
    }
    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(&self.raw);
        Ok(())
    }
}
