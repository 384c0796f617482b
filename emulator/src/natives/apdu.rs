//! javacard.framework.APDU: the command as the applet sees it (the APDU
//! buffer, a JCRE-owned global array holding the header and, once
//! received, the data) and the incoming/outgoing state machine of the
//! APDU class (STATE_INITIAL .. STATE_FULL_OUTGOING), with the
//! APDUException reasons of each misuse.

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

use crate::jcvm::heap::{ArrayData, Obj, ObjId};
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::natives::Sys;

/// Size of the APDU buffer: header, 255 data bytes and Le. Extended
/// commands (for applets that implement javacardx.apdu.ExtendedLength)
/// arrive through the same buffer, their data in chunks
/// (setIncomingAndReceive, then receiveBytes), as on most cards.
pub const BUFFER_SIZE: usize = 261;

/// The T=1 information field sizes the card works with (IFSC and IFSD):
/// the largest ISO/IEC 7816-3 allows.
const IFS: i32 = 254;

pub const STATE_INITIAL: i8 = 0;
pub const STATE_PARTIAL_INCOMING: i8 = 1;
pub const STATE_FULL_INCOMING: i8 = 2;
pub const STATE_OUTGOING: i8 = 3;
pub const STATE_OUTGOING_LENGTH_KNOWN: i8 = 4;
pub const STATE_PARTIAL_OUTGOING: i8 = 5;
pub const STATE_FULL_OUTGOING: i8 = 6;

/// APDUException reasons (values from the API export tables).
pub const ILLEGAL_USE: i16 = 1;
pub const BUFFER_BOUNDS: i16 = 2;
pub const BAD_LENGTH: i16 = 3;
pub const IO_ERROR: i16 = 4;
pub const NO_T0_GETRESPONSE: i16 = 0xAA;
pub const T1_IFD_ABORT: i16 = 0xAB;
pub const NO_T0_REISSUE: i16 = 0xAC;

/// APDU.PROTOCOL_T0 and PROTOCOL_T1 (media: the default, contacts).
pub const PROTOCOL_T0: u8 = 0;
pub const PROTOCOL_T1: u8 = 1;

/// The APDU methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApduCall {
    GetBuffer,
    GetInBlockSize,
    GetOutBlockSize,
    GetProtocol,
    GetNad,
    ReceiveBytes,
    SendBytes,
    SendBytesLong,
    SetIncomingAndReceive,
    SetOutgoing,
    SetOutgoingNoChaining,
    SetOutgoingAndSend,
    SetOutgoingLength,
    GetCurrentState,
    IsCommandChainingCla,
    IsSecureMessagingCla,
    IsIsoInterindustryCla,
    GetIncomingLength,
    GetOffsetCdata,
    IsValidCla,
    GetCurrentApdu,
    GetCurrentApduBuffer,
    GetClaChannel,
    WaitExtension,
}

pub fn lookup(name: &str, _descriptor: &str) -> Option<ApduCall> {
    use ApduCall as A;
    Some(match name {
        "getBuffer" => A::GetBuffer,
        "getInBlockSize" => A::GetInBlockSize,
        "getOutBlockSize" => A::GetOutBlockSize,
        "getProtocol" => A::GetProtocol,
        "getNAD" => A::GetNad,
        "receiveBytes" => A::ReceiveBytes,
        "sendBytes" => A::SendBytes,
        "sendBytesLong" => A::SendBytesLong,
        "setIncomingAndReceive" => A::SetIncomingAndReceive,
        "setOutgoing" => A::SetOutgoing,
        "setOutgoingNoChaining" => A::SetOutgoingNoChaining,
        "setOutgoingAndSend" => A::SetOutgoingAndSend,
        "setOutgoingLength" => A::SetOutgoingLength,
        "getCurrentState" => A::GetCurrentState,
        "isCommandChainingCLA" => A::IsCommandChainingCla,
        "isSecureMessagingCLA" => A::IsSecureMessagingCla,
        "isISOInterindustryCLA" => A::IsIsoInterindustryCla,
        "getIncomingLength" => A::GetIncomingLength,
        "getOffsetCdata" => A::GetOffsetCdata,
        "isValidCLA" => A::IsValidCla,
        "getCurrentAPDU" => A::GetCurrentApdu,
        "getCurrentAPDUBuffer" => A::GetCurrentApduBuffer,
        "getCLAChannel" => A::GetClaChannel,
        "waitExtension" => A::WaitExtension,
        _ => return None,
    })
}

/// The command being processed and what the applet did with it.
#[derive(Debug, Default)]
pub struct ApduState {
    /// Header CLA INS P1 P2.
    pub header: [u8; 4],
    /// The command data (Lc bytes).
    pub data: Vec<u8>,
    /// Ne: the response length the terminal expects (256 when Le = 00 or
    /// absent, 65536 for an extended Le of 0000).
    pub ne: usize,
    /// Le was present in the command.
    pub le_present: bool,
    /// The command came with extended length fields.
    pub extended: bool,
    /// The applet implements javacardx.apdu.ExtendedLength: it may send
    /// more than 256 bytes.
    pub extended_applet: bool,
    /// The card's protocol: [`PROTOCOL_T0`] or [`PROTOCOL_T1`].
    pub protocol: u8,
    pub state: i8,
    /// Data bytes moved into the buffer so far.
    pub received: usize,
    pub out: Vec<u8>,
    pub out_len: usize,
    /// setOutgoingNoChaining was used (waitExtension is then refused).
    pub no_chaining: bool,
    /// The APDU object and its buffer.
    pub object: ObjId,
    pub buffer: ObjId,
}

impl ApduState {
    /// Starts a command: state INITIAL, nothing to send.
    pub fn start(&mut self, cmd: &gp::apdu::CommandApdu, protocol: u8, extended_applet: bool) {
        self.header = cmd.header();
        self.data.clear();
        self.data.extend_from_slice(cmd.data());
        self.le_present = cmd.ne().is_some();
        // No Le (cases 1 and 3): as much as a short response can hold.
        self.ne = cmd.ne().unwrap_or(256);
        self.extended = cmd.is_extended();
        self.extended_applet = extended_applet;
        self.protocol = protocol;
        self.state = STATE_INITIAL;
        self.received = 0;
        self.out.clear();
        self.out_len = 0;
        self.no_chaining = false;
    }

    /// The header as the applet finds it in the buffer: CLA INS P1 P2 and
    /// P3 (Lc, else Le, else 0), or for an extended command 00 and the two
    /// bytes of Lc (else Le).
    pub fn buffer_header(&self) -> Vec<u8> {
        let mut h = self.header.to_vec();
        let len = if self.data.is_empty() {
            if self.le_present {
                self.ne
            } else {
                0
            }
        } else {
            self.data.len()
        };
        if self.extended {
            h.push(0);
            h.extend_from_slice(&((len & 0xFFFF) as u16).to_be_bytes());
        } else {
            h.push((len & 0xFF) as u8);
        }
        h
    }

    /// Where the command data starts in the buffer (getOffsetCdata).
    pub fn offset_cdata(&self) -> usize {
        if self.extended {
            7
        } else {
            5
        }
    }
}

fn apdu_err(vm: &mut Vm<'_>, reason: i16) -> Exc {
    vm.throw(Sys::Apdu, reason)
}

/// The APDU buffer's bytes, for writing.
fn buffer_mut<'a>(vm: &'a mut Vm<'_>) -> Option<&'a mut Vec<u8>> {
    let id = vm.env.apdu.buffer;
    match vm.heap.objects.get_mut(&id) {
        Some(Obj::Array {
            data: ArrayData::Byte(b),
            ..
        }) => Some(b),
        _ => None,
    }
}

/// Moves as much incoming data as fits from `off` into the buffer.
fn receive(vm: &mut Vm<'_>, off: usize) -> Result<i32, Exc> {
    let remaining = vm.env.apdu.data.len() - vm.env.apdu.received;
    let room = BUFFER_SIZE.saturating_sub(off);
    let n = remaining.min(room);
    let from = vm.env.apdu.received;
    let chunk: Vec<u8> = vm.env.apdu.data[from..from + n].to_vec();
    let buf = buffer_mut(vm).ok_or_else(|| Exc::Fatal("no APDU buffer".into()))?;
    buf[off..off + n].copy_from_slice(&chunk);
    let a = &mut vm.env.apdu;
    a.received += n;
    a.state = if a.received == a.data.len() {
        STATE_FULL_INCOMING
    } else {
        STATE_PARTIAL_INCOMING
    };
    Ok(n as i32)
}

fn send(vm: &mut Vm<'_>, from: Option<ObjId>, off: i32, len: i32) -> Result<(), Exc> {
    let st = vm.env.apdu.state;
    if st != STATE_OUTGOING_LENGTH_KNOWN && st != STATE_PARTIAL_OUTGOING {
        return Err(apdu_err(vm, ILLEGAL_USE));
    }
    if len < 0 || off < 0 {
        return Err(apdu_err(vm, BUFFER_BOUNDS));
    }
    let (off, len) = (off as usize, len as usize);
    if vm.env.apdu.out.len() + len > vm.env.apdu.out_len {
        return Err(apdu_err(vm, ILLEGAL_USE));
    }
    let src = from.unwrap_or(vm.env.apdu.buffer);
    let bytes = match vm.heap.get(src) {
        Some(Obj::Array {
            data: ArrayData::Byte(b),
            ..
        }) => b.get(off..off + len).map(<[u8]>::to_vec),
        None if from.is_some() => return Err(vm.throw(Sys::NullPointer, 0)),
        _ => return Err(vm.throw(Sys::Security, 0)),
    };
    let Some(bytes) = bytes else {
        return Err(if from.is_some() {
            vm.throw(Sys::ArrayIndex, 0)
        } else {
            apdu_err(vm, BUFFER_BOUNDS)
        });
    };
    let a = &mut vm.env.apdu;
    a.out.extend_from_slice(&bytes);
    a.state = if a.out.len() == a.out_len {
        STATE_FULL_OUTGOING
    } else {
        STATE_PARTIAL_OUTGOING
    };
    Ok(())
}

/// setOutgoing and setOutgoingNoChaining: the direction turns, Ne is
/// returned (at most 32767, a short).
fn set_outgoing(vm: &mut Vm<'_>, no_chaining: bool) -> Result<i32, Exc> {
    if vm.env.apdu.state >= STATE_OUTGOING || vm.env.apdu.state < 0 {
        return Err(apdu_err(vm, ILLEGAL_USE));
    }
    vm.env.apdu.state = STATE_OUTGOING;
    vm.env.apdu.no_chaining = no_chaining;
    let ne = vm.env.apdu.ne;
    Ok(ne.min(32767) as i32)
}

fn set_outgoing_length(vm: &mut Vm<'_>, len: i32) -> Result<(), Exc> {
    if vm.env.apdu.state != STATE_OUTGOING {
        return Err(apdu_err(vm, ILLEGAL_USE));
    }
    // More than 256 bytes only for an applet that implements
    // ExtendedLength (APDUException.BAD_LENGTH).
    let max = if vm.env.apdu.extended_applet {
        32767
    } else {
        256
    };
    if !(0..=max).contains(&len) {
        return Err(apdu_err(vm, BAD_LENGTH));
    }
    vm.env.apdu.out_len = len as usize;
    vm.env.apdu.state = STATE_OUTGOING_LENGTH_KNOWN;
    Ok(())
}

/// Runs an APDU method; `args` are its argument words (`this` first for
/// instance methods).
pub fn call(vm: &mut Vm<'_>, c: ApduCall, args: &[i32]) -> Result<Ret, Exc> {
    use ApduCall as A;
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    Ok(match c {
        A::GetBuffer | A::GetCurrentApduBuffer => Ret::Word(vm.env.apdu.buffer as i32),
        A::GetCurrentApdu => Ret::Word(vm.env.apdu.object as i32),
        // T=0 receives byte by byte and sends 256 data bytes and the two
        // status bytes; T=1 in blocks of the information field size.
        A::GetInBlockSize => Ret::Word(if vm.env.apdu.protocol == PROTOCOL_T0 {
            1
        } else {
            IFS
        }),
        A::GetOutBlockSize => Ret::Word(if vm.env.apdu.protocol == PROTOCOL_T0 {
            258
        } else {
            IFS
        }),
        A::GetProtocol => Ret::Word(i32::from(vm.env.apdu.protocol)),
        // No node addressing on the emulated link.
        A::GetNad => Ret::Word(0),
        A::GetClaChannel => Ret::Word(i32::from(crate::card::logical_channel(
            vm.env.apdu.header[0],
        ))),
        A::WaitExtension => {
            if vm.env.apdu.no_chaining {
                return Err(apdu_err(vm, ILLEGAL_USE));
            }
            Ret::Void
        }
        A::SetIncomingAndReceive => {
            if vm.env.apdu.state != STATE_INITIAL {
                return Err(apdu_err(vm, ILLEGAL_USE));
            }
            let off = vm.env.apdu.offset_cdata();
            Ret::Word(receive(vm, off)?)
        }
        A::ReceiveBytes => {
            let off = arg(1);
            if vm.env.apdu.state != STATE_PARTIAL_INCOMING
                && vm.env.apdu.state != STATE_FULL_INCOMING
            {
                return Err(apdu_err(vm, ILLEGAL_USE));
            }
            if off < 0 || off as usize >= BUFFER_SIZE {
                return Err(apdu_err(vm, BUFFER_BOUNDS));
            }
            Ret::Word(receive(vm, off as usize)?)
        }
        A::GetIncomingLength => Ret::Word(vm.env.apdu.data.len() as i32),
        A::GetOffsetCdata => Ret::Word(vm.env.apdu.offset_cdata() as i32),
        A::SetOutgoing => Ret::Word(set_outgoing(vm, false)?),
        A::SetOutgoingNoChaining => Ret::Word(set_outgoing(vm, true)?),
        A::SetOutgoingLength => {
            set_outgoing_length(vm, arg(1))?;
            Ret::Void
        }
        A::SendBytes => {
            send(vm, None, arg(1), arg(2))?;
            Ret::Void
        }
        A::SendBytesLong => {
            let from = arg(1);
            if from == 0 {
                return Err(vm.throw(Sys::NullPointer, 0));
            }
            send(vm, Some(from as ObjId), arg(2), arg(3))?;
            Ret::Void
        }
        A::SetOutgoingAndSend => {
            set_outgoing(vm, false)?;
            set_outgoing_length(vm, arg(2))?;
            send(vm, None, arg(1), arg(2))?;
            Ret::Void
        }
        A::GetCurrentState => Ret::Word(i32::from(vm.env.apdu.state)),
        A::IsCommandChainingCla => Ret::Word(i32::from(vm.env.apdu.header[0] & 0x10 != 0)),
        A::IsSecureMessagingCla => {
            let cla = vm.env.apdu.header[0];
            let sm = if cla & 0x40 == 0 {
                cla & 0x0C != 0
            } else {
                cla & 0x20 != 0
            };
            Ret::Word(i32::from(sm))
        }
        A::IsIsoInterindustryCla => Ret::Word(i32::from(vm.env.apdu.header[0] & 0x80 == 0)),
        A::IsValidCla => Ret::Word(i32::from(vm.env.apdu.header[0] != 0xFF)),
    })
}
