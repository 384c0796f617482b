//! java.lang and javacard.framework in Rust: Object, the exceptions with
//! their reasons, Applet, Util, JCSystem (transactions, transient arrays,
//! memory, AIDs), AID and OwnerPIN. Each native gets its argument words
//! and returns its result or raises the exception the API specifies.

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

use crate::jcvm::heap::{
    ArrayData, NativeData, Obj, ObjId, TxError, CLEAR_ON_DESELECT, CLEAR_ON_RESET, JCRE,
    NOT_TRANSIENT,
};
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::natives::{apdu, system_reason as sr, Native, Sys};

/// PINException.ILLEGAL_VALUE.
const PIN_ILLEGAL_VALUE: i16 = 1;
/// ISO7816.SW_FUNC_NOT_SUPPORTED, which Applet.install throws.
const SW_FUNC_NOT_SUPPORTED: i16 = 0x6A81;

/// Runs a native; its arguments are the stack words from `base`.
pub fn call(vm: &mut Vm<'_>, n: Native, base: usize) -> Result<Ret, Exc> {
    // Nine words: AEADCipher.init(key, mode, nonce, off, len, adataLen,
    // messageLen, tagSize) on `this` is the longest API call.
    let mut a = [0i32; 9];
    let words = vm.stack.len() - base;
    if words > a.len() {
        return Err(Exc::Fatal("a native call with too many arguments".into()));
    }
    a[..words].copy_from_slice(&vm.stack[base..]);
    let w = |v: bool| Ok(Ret::Word(i32::from(v)));
    match n {
        Native::Nop => Ok(Ret::Void),
        Native::ObjectEquals => w(a[0] == a[1]),
        Native::ReasonInit | Native::SetReason => {
            set_native(vm, a[0], NativeData::Reason(a[1] as i16))?;
            Ok(Ret::Void)
        }
        Native::GetReason => match native(vm, a[0])? {
            NativeData::Reason(r) => Ok(Ret::Word(i32::from(*r))),
            _ => Ok(Ret::Word(0)),
        },
        Native::ThrowIt(sys) => Err(vm.throw(sys, a[0] as i16)),
        Native::Crypto(c) => crate::natives::crypto::call(vm, c, &a[..words]),
        Native::Gp(c) => crate::natives::globalplatform::call(vm, c, &a[..words]),
        Native::Apdu(c) => {
            let args = a;
            apdu::call(vm, c, &args[..words])
        }
        Native::Register => register(vm, a[0], None),
        Native::RegisterAid => {
            let aid = aid_arg(vm, a[1], a[2], a[3])?;
            register(vm, a[0], Some(aid))
        }
        Native::SelectingApplet => w(vm.env.selecting),
        Native::ReSelectingApplet => w(vm.env.reselecting),
        Native::AppletSelect => w(true),
        Native::AppletInstall => Err(vm.throw(Sys::Iso, SW_FUNC_NOT_SUPPORTED)),
        Native::GetShareable => Ok(Ret::Word(0)),
        Native::PreviousContextAid => match vm.previous_applet().map(<[u8]>::to_vec) {
            Some(aid) => Ok(Ret::Word(aid_object(vm, &aid)? as i32)),
            None => Ok(Ret::Word(0)),
        },
        Native::AppletShareable => shareable(vm, a[0], a[1]),
        Native::ArrayCopy { atomic } => {
            let (src, so, dst, d0, len) = (a[0], a[1], a[2], a[3], a[4]);
            check_bytes(vm, dst, d0, len)?;
            // Through a stack buffer when it fits: no allocation for the
            // usual APDU-sized copies.
            let mut small = [0u8; 272];
            let n = len as usize;
            if n <= small.len() {
                small[..n].copy_from_slice(bytes(vm, src, so, len)?);
                write_bytes(vm, dst, d0 as usize, &small[..n], atomic)?;
            } else {
                let copy = bytes(vm, src, so, len)?.to_vec();
                write_bytes(vm, dst, d0 as usize, &copy, atomic)?;
            }
            Ok(Ret::Word(i32::from((d0 + len) as i16)))
        }
        Native::ArrayFill { atomic } => {
            let (arr, off, len, v) = (a[0], a[1], a[2], a[3]);
            check_bytes(vm, arr, off, len)?;
            let fill = vec![v as u8; len as usize];
            write_bytes(vm, arr, off as usize, &fill, atomic)?;
            Ok(Ret::Word(i32::from((off + len) as i16)))
        }
        Native::ArrayCompare => {
            let (src, so, dst, d0, len) = (a[0], a[1], a[2], a[3], a[4]);
            let x = bytes(vm, src, so, len)?.to_vec();
            let y = bytes(vm, dst, d0, len)?;
            let r = x.iter().zip(y).find(|(p, q)| p != q).map_or(0, |(p, q)| {
                if (*p as i8) < (*q as i8) {
                    -1
                } else {
                    1
                }
            });
            Ok(Ret::Word(r))
        }
        Native::MakeShort => Ok(Ret::Word(i32::from(i16::from_be_bytes([
            a[0] as u8, a[1] as u8,
        ])))),
        Native::GetShort => {
            let b = bytes(vm, a[0], a[1], 2)?;
            Ok(Ret::Word(i32::from(i16::from_be_bytes([b[0], b[1]]))))
        }
        Native::SetShort => {
            check_bytes(vm, a[0], a[1], 2)?;
            let v = (a[2] as i16).to_be_bytes();
            write_bytes(vm, a[0], a[1] as usize, &v, true)?;
            Ok(Ret::Word(i32::from((a[1] + 2) as i16)))
        }
        Native::IsTransient => {
            if a[0] == 0 {
                return Err(vm.throw(Sys::NullPointer, 0));
            }
            Ok(Ret::Word(match vm.heap.get(a[0] as ObjId) {
                Some(Obj::Array { transient, .. }) => i32::from(*transient),
                _ => 0,
            }))
        }
        Native::MakeTransient(t) => make_transient(vm, t, a[0], a[1]),
        Native::GetVersion => Ok(Ret::Word(i32::from(vm.env.version))),
        Native::GetAid => {
            let aid = vm.env.applet.clone();
            Ok(Ret::Word(aid_object(vm, &aid)? as i32))
        }
        Native::LookupAid => {
            let want = bytes(vm, a[0], a[1], a[2])?.to_vec();
            match vm.env.registry.iter().find(|r| **r == want).cloned() {
                Some(aid) => Ok(Ret::Word(aid_object(vm, &aid)? as i32)),
                None => Ok(Ret::Word(0)),
            }
        }
        Native::BeginTransaction => {
            let cap = vm.env.limits.commit_capacity;
            let r = vm.heap.begin(cap);
            tx(vm, r)
        }
        Native::AbortTransaction => {
            let r = vm.heap.abort();
            tx(vm, r)
        }
        Native::CommitTransaction => {
            let r = vm.heap.commit();
            tx(vm, r)
        }
        Native::TransactionDepth => w(vm.heap.in_transaction()),
        Native::UnusedCommitCapacity => {
            let free = vm
                .env
                .limits
                .commit_capacity
                .saturating_sub(vm.heap.tx_used());
            Ok(Ret::Word(free.min(32767) as i32))
        }
        Native::MaxCommitCapacity => Ok(Ret::Word(vm.env.limits.commit_capacity.min(32767) as i32)),
        Native::AvailableMemory => {
            let free = available(vm, a[0])?;
            Ok(Ret::Word(free.min(32767) as i32))
        }
        Native::AvailableMemoryArray => {
            let free = available(vm, a[2])?.min(i32::MAX as usize) as i32;
            let (arr, off) = (a[0], a[1]);
            if arr == 0 {
                return Err(vm.throw(Sys::NullPointer, 0));
            }
            match vm.heap.get(arr as ObjId) {
                Some(Obj::Array {
                    data: ArrayData::Short(s),
                    ..
                }) if off >= 0 && (off as usize) + 2 <= s.len() => {}
                Some(Obj::Array {
                    data: ArrayData::Short(_),
                    ..
                }) => return Err(vm.throw(Sys::ArrayIndex, 0)),
                _ => return Err(vm.throw(Sys::Security, 0)),
            }
            for (i, v) in [free >> 16, free & 0xFFFF].into_iter().enumerate() {
                if let Err(e) = vm.heap.set_elem(arr as ObjId, off as usize + i, v) {
                    return Err(tx_exc(vm, e));
                }
            }
            Ok(Ret::Void)
        }
        Native::ObjectDeletionSupported => w(true),
        Native::RequestObjectDeletion => {
            // Honoured when the call ends (objects on the Java stack are
            // still in use until then).
            vm.env.deletion_requested = true;
            Ok(Ret::Void)
        }
        Native::AssignedChannel => Ok(Ret::Word(i32::from(vm.env.channel))),
        Native::IsAppletActive => {
            let want = aid_bytes(vm, a[0])?;
            w(vm.env.active.iter().any(|(_, aid)| *aid == want))
        }
        Native::AidInit => {
            let aid = bytes(vm, a[1], a[2], a[3])?.to_vec();
            if !(5..=16).contains(&aid.len()) {
                return Err(vm.throw(Sys::System, sr::ILLEGAL_VALUE));
            }
            set_native(vm, a[0], NativeData::Aid(aid))?;
            Ok(Ret::Void)
        }
        Native::AidEquals => {
            let me = aid_bytes(vm, a[0])?;
            let other = match vm.heap.get(a[1] as ObjId) {
                Some(Obj::Instance {
                    native: NativeData::Aid(b),
                    ..
                }) => Some(b.clone()),
                _ => None,
            };
            w(other.is_some_and(|o| o == me))
        }
        Native::RidEquals => {
            let me = aid_bytes(vm, a[0])?;
            let other = aid_bytes(vm, a[1])?;
            w(me.get(..5) == other.get(..5))
        }
        Native::AidEqualsBytes => {
            if a[1] == 0 {
                return w(false);
            }
            let me = aid_bytes(vm, a[0])?;
            let b = bytes(vm, a[1], a[2], a[3])?;
            w(b == &me[..])
        }
        Native::AidPartialEquals => {
            if a[1] == 0 {
                return w(false);
            }
            let me = aid_bytes(vm, a[0])?;
            let b = bytes(vm, a[1], a[2], a[3])?;
            w(b.len() <= me.len() && me.starts_with(b))
        }
        Native::AidGetBytes => {
            let me = aid_bytes(vm, a[0])?;
            check_bytes(vm, a[1], a[2], me.len() as i32)?;
            write_bytes(vm, a[1], a[2] as usize, &me, true)?;
            Ok(Ret::Word(me.len() as i32))
        }
        Native::AidGetPartialBytes => {
            let me = aid_bytes(vm, a[0])?;
            let (from, dst, off, len) = (a[1], a[2], a[3], a[4]);
            if from < 0 || from as usize > me.len() {
                return Err(vm.throw(Sys::ArrayIndex, 0));
            }
            let rest = &me[from as usize..];
            let n = if len == 0 {
                rest.len()
            } else {
                (len as usize).min(rest.len())
            };
            let part = rest[..n].to_vec();
            check_bytes(vm, dst, off, n as i32)?;
            write_bytes(vm, dst, off as usize, &part, true)?;
            Ok(Ret::Word(n as i32))
        }
        Native::PinInit => {
            let (limit, max) = (a[1], a[2]);
            if limit < 1 || max < 1 {
                return Err(vm.throw(Sys::Pin, PIN_ILLEGAL_VALUE));
            }
            set_native(
                vm,
                a[0],
                NativeData::Pin {
                    pin: Vec::new(),
                    max_len: max as u8,
                    limit: limit as u8,
                    tries: limit as u8,
                    validated: false,
                },
            )?;
            Ok(Ret::Void)
        }
        Native::PinCheck => {
            let given = if a[1] == 0 {
                return Err(vm.throw(Sys::NullPointer, 0));
            } else {
                bytes(vm, a[1], a[2], a[3])?.to_vec()
            };
            let mut ok = false;
            pin(vm, a[0], |pin, _max, limit, tries, validated| {
                *validated = false;
                if *tries == 0 {
                    return;
                }
                // The counter goes down before the comparison (a tear
                // cannot give a free try).
                *tries -= 1;
                if given == *pin {
                    *tries = limit;
                    *validated = true;
                    ok = true;
                }
            })?;
            w(ok)
        }
        Native::PinTriesRemaining => {
            let mut t = 0;
            pin(vm, a[0], |_, _, _, tries, _| t = *tries)?;
            Ok(Ret::Word(i32::from(t)))
        }
        Native::PinValidated => {
            let mut v = false;
            pin(vm, a[0], |_, _, _, _, validated| v = *validated)?;
            w(v)
        }
        Native::PinReset => {
            pin(vm, a[0], |_, _, limit, tries, validated| {
                if *validated {
                    *validated = false;
                    *tries = limit;
                }
            })?;
            Ok(Ret::Void)
        }
        Native::PinResetAndUnblock => {
            pin(vm, a[0], |_, _, limit, tries, validated| {
                *validated = false;
                *tries = limit;
            })?;
            Ok(Ret::Void)
        }
        Native::PinSetValidated => {
            let flag = a[1] != 0;
            pin(vm, a[0], |_, _, _, _, validated| *validated = flag)?;
            Ok(Ret::Void)
        }
        Native::PinUpdate => {
            let new = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let mut too_long = false;
            pin(vm, a[0], |pin, max, limit, tries, validated| {
                if new.len() > usize::from(max) {
                    too_long = true;
                    return;
                }
                *pin = new.clone();
                *tries = limit;
                *validated = false;
            })?;
            if too_long {
                return Err(vm.throw(Sys::Pin, PIN_ILLEGAL_VALUE));
            }
            Ok(Ret::Void)
        }
    }
}

/// JCSystem.getAppletShareableInterfaceObject: the server applet's
/// getShareableInterfaceObject(clientAID, parameter), run in the server's
/// context (where getPreviousContextAID names the client), or null when
/// no applet has the AID. What the server returns is the answer: null
/// when it refuses.
fn shareable(vm: &mut Vm<'_>, server: i32, parameter: i32) -> Result<Ret, Exc> {
    let server = aid_bytes(vm, server)?;
    let Some(&obj) = vm.heap.applets.get(&hex::encode_upper(&server)) else {
        return Ok(Ret::Word(0));
    };
    let me = vm.env.applet.clone();
    let client = aid_object(vm, &me)?;
    let token = vm.rt.sys.shareable_token;
    let (class, context) = match vm.heap.get(obj) {
        Some(Obj::Instance { class, owner, .. }) => (*class, *owner),
        _ => return Ok(Ret::Word(0)),
    };
    let target = vm
        .rt
        .class(class)
        .and_then(|k| k.public.get(usize::from(token)))
        .copied()
        .ok_or_else(|| Exc::Fatal("the server applet has no getShareableInterfaceObject".into()))?;
    Ok(Ret::CallIn(
        target,
        [obj as i32, client as i32, parameter],
        3,
        context,
        server,
    ))
}

fn tx(vm: &mut Vm<'_>, r: Result<(), TxError>) -> Result<Ret, Exc> {
    match r {
        Ok(()) => Ok(Ret::Void),
        Err(e) => Err(tx_exc(vm, e)),
    }
}

fn tx_exc(vm: &mut Vm<'_>, e: TxError) -> Exc {
    vm.throw(Sys::Transaction, e as i16)
}

fn available(vm: &mut Vm<'_>, kind: i32) -> Result<usize, Exc> {
    let (p, t) = vm.heap.used();
    match kind {
        0 => Ok(vm.env.limits.persistent.saturating_sub(p)),
        1 | 2 => Ok(vm.env.limits.transient.saturating_sub(t)),
        _ => Err(vm.throw(Sys::System, sr::ILLEGAL_VALUE)),
    }
}

fn make_transient(vm: &mut Vm<'_>, atype: u8, len: i32, event: i32) -> Result<Ret, Exc> {
    let event = event as u8;
    if event != CLEAR_ON_RESET && event != CLEAR_ON_DESELECT {
        return Err(vm.throw(Sys::System, sr::ILLEGAL_VALUE));
    }
    // Only the selected applet's context makes CLEAR_ON_DESELECT memory
    // (JCRE 6.1.5).
    if event == CLEAR_ON_DESELECT && vm.env.context != vm.env.selected_context {
        return Err(vm.throw(Sys::System, sr::ILLEGAL_TRANSIENT));
    }
    if len < 0 {
        return Err(vm.throw(Sys::NegativeArraySize, 0));
    }
    let n = len as usize;
    let data = match atype {
        10 => ArrayData::Boolean(vec![0; n]),
        11 => ArrayData::Byte(vec![0; n]),
        12 => ArrayData::Short(vec![0; n]),
        _ => ArrayData::Ref {
            class: vm.rt.sys.object,
            data: vec![0; n],
        },
    };
    let obj = Obj::Array {
        data,
        transient: event,
        owner: vm.env.context,
        global: false,
    };
    let limits = (vm.env.limits.persistent, vm.env.limits.transient);
    match vm.heap.alloc(obj, limits) {
        Ok(id) => Ok(Ret::Word(id as i32)),
        Err(_) => Err(vm.throw(Sys::System, sr::NO_TRANSIENT_SPACE)),
    }
}

fn register(vm: &mut Vm<'_>, this: i32, aid: Option<Vec<u8>>) -> Result<Ret, Exc> {
    let Some(inst) = vm.env.installing.as_ref() else {
        return Err(vm.throw(Sys::System, sr::ILLEGAL_AID));
    };
    if inst.registered.is_some() {
        return Err(vm.throw(Sys::System, sr::ILLEGAL_AID));
    }
    let aid = aid.unwrap_or_else(|| inst.aid.clone());
    if !(5..=16).contains(&aid.len()) || vm.env.registry.contains(&aid) {
        return Err(vm.throw(Sys::System, sr::ILLEGAL_AID));
    }
    if let Some(inst) = vm.env.installing.as_mut() {
        inst.registered = Some((aid, this as ObjId));
    }
    Ok(Ret::Void)
}

/// The bytes of a byte array range, with the exceptions Util specifies.
pub(crate) fn bytes<'a>(vm: &'a mut Vm<'_>, r: i32, off: i32, len: i32) -> Result<&'a [u8], Exc> {
    check_bytes(vm, r, off, len)?;
    match vm.heap.get(r as ObjId) {
        Some(Obj::Array {
            data: ArrayData::Byte(b) | ArrayData::Boolean(b),
            ..
        }) => Ok(&b[off as usize..(off + len) as usize]),
        _ => Err(Exc::Fatal("byte array vanished".into())),
    }
}

pub(crate) fn check_bytes(vm: &mut Vm<'_>, r: i32, off: i32, len: i32) -> Result<(), Exc> {
    if r == 0 {
        return Err(vm.throw(Sys::NullPointer, 0));
    }
    // The firewall (JCRE 6.2.8; the API's "SecurityException if ... not
    // accessible in the caller's context"): an API method reaches an array
    // only where its caller could, its own context's or a global one.
    let ctx = vm.env.context;
    let n = match vm.heap.get(r as ObjId) {
        Some(Obj::Array {
            data: ArrayData::Byte(b) | ArrayData::Boolean(b),
            owner,
            global,
            transient,
        }) if (*owner == ctx || *global)
            && (*transient != CLEAR_ON_DESELECT || ctx == vm.env.selected_context) =>
        {
            b.len()
        }
        Some(_) => return Err(vm.throw(Sys::Security, 0)),
        None => return Err(Exc::Fatal(format!("reference {r} to no object"))),
    };
    if off < 0 || len < 0 || (off as usize) + (len as usize) > n {
        return Err(vm.throw(Sys::ArrayIndex, 0));
    }
    Ok(())
}

/// Writes checked bytes: atomic writes to a persistent array go through
/// the transaction (when one is open); non-atomic ones never do.
pub(crate) fn write_bytes(
    vm: &mut Vm<'_>,
    r: i32,
    off: usize,
    src: &[u8],
    atomic: bool,
) -> Result<(), Exc> {
    let id = r as ObjId;
    let logged = atomic
        && vm.heap.in_transaction()
        && matches!(vm.heap.get(id), Some(Obj::Array { transient, .. }) if *transient == NOT_TRANSIENT);
    if logged {
        for (i, b) in src.iter().enumerate() {
            if let Err(e) = vm.heap.set_elem(id, off + i, i32::from(*b as i8)) {
                return Err(tx_exc(vm, e));
            }
        }
        return Ok(());
    }
    if let Some(Obj::Array {
        data: ArrayData::Byte(b) | ArrayData::Boolean(b),
        ..
    }) = vm.heap.get_mut_untracked(id)
    {
        b[off..off + src.len()].copy_from_slice(src);
    }
    Ok(())
}

fn native<'a>(vm: &'a mut Vm<'_>, r: i32) -> Result<&'a NativeData, Exc> {
    if r == 0 {
        return Err(vm.throw(Sys::NullPointer, 0));
    }
    match vm.heap.get(r as ObjId) {
        Some(Obj::Instance { native, .. }) => Ok(native),
        _ => Err(Exc::Fatal("native state of a non-instance".into())),
    }
}

fn set_native(vm: &mut Vm<'_>, r: i32, data: NativeData) -> Result<(), Exc> {
    if r == 0 {
        return Err(vm.throw(Sys::NullPointer, 0));
    }
    match vm.heap.get_mut_untracked(r as ObjId) {
        Some(Obj::Instance { native, .. }) => {
            *native = data;
            Ok(())
        }
        _ => Err(Exc::Fatal("native state of a non-instance".into())),
    }
}

fn pin(
    vm: &mut Vm<'_>,
    r: i32,
    f: impl FnOnce(&mut Vec<u8>, u8, u8, &mut u8, &mut bool),
) -> Result<(), Exc> {
    if r == 0 {
        return Err(vm.throw(Sys::NullPointer, 0));
    }
    match vm.heap.get_mut_untracked(r as ObjId) {
        Some(Obj::Instance {
            native:
                NativeData::Pin {
                    pin,
                    max_len,
                    limit,
                    tries,
                    validated,
                },
            ..
        }) => {
            f(pin, *max_len, *limit, tries, validated);
            Ok(())
        }
        _ => Err(Exc::Fatal(
            "an OwnerPIN method on an object that is none".into(),
        )),
    }
}

fn aid_arg(vm: &mut Vm<'_>, arr: i32, off: i32, len: i32) -> Result<Vec<u8>, Exc> {
    Ok(bytes(vm, arr, off, len)?.to_vec())
}

pub(crate) fn aid_bytes(vm: &mut Vm<'_>, r: i32) -> Result<Vec<u8>, Exc> {
    match native(vm, r)? {
        NativeData::Aid(b) => Ok(b.clone()),
        _ => Err(vm.throw(Sys::ClassCast, 0)),
    }
}

/// The JCRE-owned AID object of an applet (one per AID, kept).
pub(crate) fn aid_object(vm: &mut Vm<'_>, aid: &[u8]) -> Result<ObjId, Exc> {
    if aid.is_empty() {
        return Ok(0);
    }
    let key = format!("aid:{}", hex::encode_upper(aid));
    if let Some(id) = vm.heap.system.get(&key) {
        return Ok(*id);
    }
    let obj = Obj::Instance {
        class: vm.rt.sys.aid,
        fields: Vec::new(),
        native: NativeData::Aid(aid.to_vec()),
        owner: JCRE,
    };
    let id = vm.alloc(obj)?;
    vm.heap.system.insert(key, id);
    Ok(id)
}
