//! A LOAD sequence in progress: the blocks received since INSTALL [for
//! load], held in volatile memory only.
//!
//! The sequence is a value the card owns while it lasts; any break —
//! a wrong block number, a bad MAC, another command, a reset — drops it,
//! and since nothing was written, nothing remains.

use crate::linker::LoadRequest;
use crate::sw::{self, fail, Fail};

/// LOAD P1: more blocks follow / last block.
pub const P1_MORE: u8 = 0x00;
pub const P1_LAST: u8 = 0x80;

/// What a LOAD block did to the sequence.
#[derive(Debug)]
pub enum Block {
    /// Stored; more blocks expected.
    More(LoadSequence),
    /// The last block: the whole Load File and what INSTALL announced.
    Complete {
        request: LoadRequest,
        load_file: Vec<u8>,
    },
}

/// Blocks received so far.
#[derive(Debug)]
pub struct LoadSequence {
    request: LoadRequest,
    next_block: u16,
    received: Vec<u8>,
    /// Bytes of persistent memory the load file may take at most.
    room: usize,
}

impl LoadSequence {
    /// Starts after INSTALL [for load]; `room` is the free persistent memory.
    pub fn new(request: LoadRequest, room: usize) -> LoadSequence {
        LoadSequence {
            request,
            next_block: 0,
            received: Vec::new(),
            room,
        }
    }

    /// The load file AID being loaded.
    pub fn aid(&self) -> &[u8] {
        &self.request.aid
    }

    /// Takes one block. Consumes the sequence: an error ends it.
    pub fn block(mut self, p1: u8, p2: u8, data: &[u8]) -> Result<Block, Fail> {
        if p1 != P1_MORE && p1 != P1_LAST {
            return Err(fail(
                sw::BAD_P1P2,
                format!("LOAD P1 {p1:02X}: 00 or 80 expected"),
            ));
        }
        if u16::from(p2) != self.next_block {
            return Err(fail(
                sw::CONDITIONS,
                format!(
                    "LOAD block {p2:02X} out of sequence: block {:02X} was expected",
                    self.next_block
                ),
            ));
        }
        if data.is_empty() {
            return Err(fail(sw::WRONG_LENGTH, "LOAD block without data"));
        }
        if self.received.len() + data.len() > self.room {
            return Err(fail(
                sw::NO_MEMORY,
                format!(
                    "the load file outgrows the {} byte(s) of memory left",
                    self.room
                ),
            ));
        }
        self.received.extend_from_slice(data);
        self.next_block += 1;
        if p1 == P1_LAST {
            return Ok(Block::Complete {
                request: self.request,
                load_file: self.received,
            });
        }
        if self.next_block > 0xFF {
            return Err(fail(
                sw::CONDITIONS,
                "256 LOAD blocks received without a last block",
            ));
        }
        Ok(Block::More(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(room: usize) -> LoadSequence {
        LoadSequence::new(
            LoadRequest {
                aid: vec![1, 2, 3, 4, 5],
                security_domain: vec![],
                hash: vec![],
            },
            room,
        )
    }

    #[test]
    fn blocks_in_order() {
        let Block::More(s) = seq(100).block(0x00, 0, &[1, 2]).unwrap() else {
            panic!("more expected")
        };
        let Block::Complete { load_file, .. } = s.block(0x80, 1, &[3]).unwrap() else {
            panic!("complete expected")
        };
        assert_eq!(load_file, vec![1, 2, 3]);
    }

    #[test]
    fn breaks() {
        assert_eq!(
            seq(100).block(0x00, 1, &[1]).unwrap_err().sw,
            sw::CONDITIONS
        );
        assert_eq!(seq(100).block(0x01, 0, &[1]).unwrap_err().sw, sw::BAD_P1P2);
        assert_eq!(
            seq(100).block(0x00, 0, &[]).unwrap_err().sw,
            sw::WRONG_LENGTH
        );
        assert_eq!(
            seq(1).block(0x00, 0, &[1, 2]).unwrap_err().sw,
            sw::NO_MEMORY
        );
        let mut s = seq(1000);
        for n in 0..=255u8 {
            match s.block(0x00, n, &[0]) {
                Ok(Block::More(next)) => s = next,
                Err(e) => {
                    assert_eq!((n, e.sw), (255, sw::CONDITIONS));
                    return;
                }
                Ok(Block::Complete { .. }) => panic!("not last"),
            }
        }
        panic!("block 256 accepted");
    }
}
