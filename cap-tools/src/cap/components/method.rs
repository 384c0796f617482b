//! Method component (tag 7, JCVM §6.10): the exception handler table and the
//! methods — header and decoded bytecode — of every class in the package.
//!
//! Compact layout: `u1 handler_count, exception_handler_info[handler_count],
//! method_info[]`. Extended layout (CAP 2.3 with ACC_EXTENDED): `u1
//! block_count, u4 block_offsets[block_count]`, then blocks, each laid out
//! like a compact body; offsets inside a block (method starts, handler ranges,
//! instruction offsets) count from the block's first byte.
//!
//! method_info has no length field, so [`MethodComponent::decode_with`] needs
//! the method starts the other components name ([`MethodBoundaries`]).

mod boundaries;
mod parts;
mod split;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::bytes::{to_u8, Reader, WriteExt};
use crate::cap::bytecode::{encode_code, Instruction};
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

pub use boundaries::MethodBoundaries;
pub use parts::{ExceptionHandler, MethodHeader, MethodLocation, ACC_ABSTRACT, ACC_EXTENDED};

/// Largest method_component_block: offsets inside a block are u2.
pub const MAX_BLOCK_SIZE: usize = 0xFFFF;

/// One method: header and instructions (none for an abstract method).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodInfo {
    /// Offset of the header in the component body (or block), as read;
    /// encoding does not use it.
    pub offset: u32,
    pub header: MethodHeader,
    pub code: Vec<Instruction>,
}

impl MethodInfo {
    /// Offset of the first bytecode.
    pub fn code_offset(&self) -> u32 {
        // A header is 2 or 4 bytes; saturating like the offset.
        self.offset
            .saturating_add(u32::try_from(self.header.len()).unwrap_or(u32::MAX))
    }

    /// Bytecode length in bytes (the Descriptor's bytecode_count).
    pub fn code_len(&self) -> usize {
        self.code.iter().map(Instruction::len).sum()
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.header.encode(out)?;
        encode_code(&self.code, out)
    }
}

/// One method_component_block of an extended Method component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodBlock {
    pub handlers: Vec<ExceptionHandler>,
    pub methods: Vec<MethodInfo>,
}

/// The Method component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodComponent {
    /// Compact format: the exception handler table. Empty in the extended format.
    pub handlers: Vec<ExceptionHandler>,
    /// Compact format: the methods in file order. Empty in the extended format.
    pub methods: Vec<MethodInfo>,
    /// Extended format: the blocks. Empty in the compact format.
    pub blocks: Vec<MethodBlock>,
}

/// A view of one block: the single implicit block of a compact component
/// (`index` None) or one block of an extended one.
#[derive(Debug, Clone, Copy)]
pub struct BlockRef<'a> {
    pub index: Option<u8>,
    pub handlers: &'a [ExceptionHandler],
    pub methods: &'a [MethodInfo],
}

impl MethodComponent {
    /// Decodes the body, splitting methods at the starts in `hints`.
    pub fn decode_with(
        r: &mut Reader<'_>,
        ctx: &Context,
        hints: &MethodBoundaries,
    ) -> Result<Self> {
        if ctx.format.extended {
            return Ok(MethodComponent {
                handlers: Vec::new(),
                methods: Vec::new(),
                blocks: decode_blocks(r, hints)?,
            });
        }
        let block = decode_block(r, &hints.starts, hints.complete)?;
        Ok(MethodComponent {
            handlers: block.handlers,
            methods: block.methods,
            blocks: Vec::new(),
        })
    }

    /// Every block, compact or extended, for code that handles both alike.
    pub fn iter_blocks(&self) -> impl Iterator<Item = BlockRef<'_>> {
        let compact = (self.blocks.is_empty()).then_some(BlockRef {
            index: None,
            handlers: &self.handlers,
            methods: &self.methods,
        });
        let extended = self.blocks.iter().enumerate().map(|(i, b)| BlockRef {
            index: u8::try_from(i).ok(),
            handlers: &b.handlers,
            methods: &b.methods,
        });
        compact.into_iter().chain(extended)
    }

    /// The method whose header is at `at`.
    pub fn method_at(&self, at: MethodLocation) -> Option<&MethodInfo> {
        let methods = match at.block_index {
            None => &self.methods,
            Some(b) => &self.blocks.get(usize::from(b))?.methods,
        };
        methods.iter().find(|m| m.offset == u32::from(at.offset))
    }
}

impl ComponentBody for MethodComponent {
    const TAG: Tag = Tag::Method;

    /// Decodes without outside hints, finding method ends by following the code.
    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        Self::decode_with(r, ctx, &MethodBoundaries::default())
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        if !ctx.format.extended {
            if !self.blocks.is_empty() {
                return Err(Error::encode(
                    "Method component",
                    "blocks exist only in the extended format",
                ));
            }
            return encode_block(&self.handlers, &self.methods, out);
        }
        if !self.handlers.is_empty() || !self.methods.is_empty() {
            return Err(Error::encode(
                "Method component",
                "the extended format keeps handlers and methods in blocks",
            ));
        }
        let mut bodies = Vec::with_capacity(self.blocks.len());
        for (i, b) in self.blocks.iter().enumerate() {
            let mut body = Vec::new();
            encode_block(&b.handlers, &b.methods, &mut body)?;
            if body.len() > MAX_BLOCK_SIZE {
                return Err(Error::encode(
                    "Method component",
                    format!(
                        "block {i} is {} bytes, over the {MAX_BLOCK_SIZE}-byte limit",
                        body.len()
                    ),
                ));
            }
            bodies.push(body);
        }
        out.put_u1(to_u8(
            bodies.len(),
            "Method component",
            "method_component_block_count",
        )?);
        let mut at = 1 + 4 * bodies.len();
        for body in &bodies {
            let offset = u32::try_from(at)
                .map_err(|_| Error::encode("Method component", "block offset exceeds 4 GiB"))?;
            out.put_u4(offset);
            at += body.len();
        }
        bodies.iter().for_each(|b| out.put_bytes(b));
        Ok(())
    }
}

/// Reads a handler table and the methods after it, to the end of `r`.
fn decode_block(
    r: &mut Reader<'_>,
    starts: &BTreeSet<usize>,
    complete: bool,
) -> Result<MethodBlock> {
    let n = usize::from(r.u1("handler_count")?);
    let n = r.bounded_count(n, ExceptionHandler::SIZE, "exception handlers")?;
    let mut handlers = Vec::with_capacity(n);
    for _ in 0..n {
        handlers.push(ExceptionHandler::decode(r)?);
    }
    let methods = split::split_methods(r, starts, complete, &handlers)?;
    Ok(MethodBlock { handlers, methods })
}

fn encode_block(
    handlers: &[ExceptionHandler],
    methods: &[MethodInfo],
    out: &mut Vec<u8>,
) -> Result<()> {
    out.put_u1(to_u8(handlers.len(), "Method component", "handler_count")?);
    handlers.iter().try_for_each(|h| h.encode(out))?;
    methods.iter().try_for_each(|m| m.encode(out))
}

/// Reads the extended layout: block count, block offsets, blocks. The blocks
/// must follow each other without gaps, as their offsets say.
fn decode_blocks(r: &mut Reader<'_>, hints: &MethodBoundaries) -> Result<Vec<MethodBlock>> {
    let count = usize::from(r.u1("method_component_block_count")?);
    // Each block needs its 4-byte offset and at least its handler_count byte.
    let count = r.bounded_count(count, 5, "method component blocks")?;
    let mut offsets = Vec::with_capacity(count);
    for _ in 0..count {
        offsets.push(r.u4("method_component_block_offsets")? as usize);
    }
    let end = r.offset() + r.remaining();
    let mut blocks = Vec::with_capacity(count);
    for (i, &start) in offsets.iter().enumerate() {
        if start != r.offset() {
            return Err(r.error(format!(
                "block {i} offset says {start:#x}, but the previous data ends at {:#x} (blocks follow each other)",
                r.offset()
            )));
        }
        let stop = offsets.get(i + 1).copied().unwrap_or(end);
        if stop <= start || stop > end {
            return Err(r.error(format!(
                "block {i} would span {start:#x}..{stop:#x}, outside 0x0..{end:#x} or empty"
            )));
        }
        let len = stop - start;
        if len > MAX_BLOCK_SIZE {
            return Err(r.error(format!(
                "block {i} is {len} bytes, over the {MAX_BLOCK_SIZE}-byte limit"
            )));
        }
        let bytes = r.bytes(len, "method_component_block")?;
        let index = u8::try_from(i).map_err(|_| r.error("more than 255 blocks"))?;
        let mut br = Reader::new(bytes, format!("Method component block {i}"));
        let block = decode_block(&mut br, &hints.in_block(index), hints.complete)?;
        br.expect_end()?;
        blocks.push(block);
    }
    Ok(blocks)
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod jca_tests;
