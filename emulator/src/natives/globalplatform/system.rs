//! GPSystem: the OPEN's services to applets. Life cycles come from the
//! card's registry (through [`super::GpEnv`]); the card state changes
//! only with the privilege GlobalPlatform asks for, and an applet moves
//! its own life cycle only among application-specific states (or locks
//! itself).

use super::{classes, has_privilege, privilege};
use crate::jcvm::heap::{NativeData, Obj};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// GPSystem.APPLICATION_INSTALLED.
pub const APPLICATION_INSTALLED: u8 = 0x03;
/// GPSystem.APPLICATION_LOCKED: the lock bit of an application's life cycle.
pub const APPLICATION_LOCKED: u8 = 0x80;
/// GPSystem.CARD_SECURED, CARD_LOCKED, CARD_TERMINATED.
pub const CARD_SECURED: u8 = 0x0F;
pub const CARD_LOCKED: u8 = 0x7F;
pub const CARD_TERMINATED: u8 = 0xFF;
/// GPSystem.CVM_GLOBAL_PIN.
pub const CVM_GLOBAL_PIN: u8 = 0x11;

/// A GPSystem method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    GetCardContentState,
    GetCardState,
    GetCvm,
    GetSecureChannel,
    LockCard,
    TerminateCard,
    SetAtrHistBytes,
    SetCardContentState,
    GetRegistryEntry,
}

pub fn lookup(name: &str, descriptor: &str) -> Option<Call> {
    Some(match (name, descriptor) {
        ("getCardContentState", "()B") => Call::GetCardContentState,
        ("getCardState", "()B") => Call::GetCardState,
        ("getCVM", "(B)Lorg/globalplatform/CVM;") => Call::GetCvm,
        ("getSecureChannel", "()Lorg/globalplatform/SecureChannel;") => Call::GetSecureChannel,
        ("lockCard", "()Z") => Call::LockCard,
        ("terminateCard", "()Z") => Call::TerminateCard,
        ("setATRHistBytes", "([BSB)Z") => Call::SetAtrHistBytes,
        ("setCardContentState", "(B)Z") => Call::SetCardContentState,
        ("getRegistryEntry", "(Ljavacard/framework/AID;)Lorg/globalplatform/GPRegistryEntry;") => {
            Call::GetRegistryEntry
        }
        _ => return None,
    })
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let byte = |b: u8| Ok(Ret::Word(i32::from(b as i8)));
    let w = |v: bool| Ok(Ret::Word(i32::from(v)));
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    match c {
        Call::GetCardContentState => byte(vm.env.gp.applet_life_cycle),
        Call::GetCardState => byte(vm.env.gp.card_life_cycle),
        Call::GetCvm => {
            if arg(0) as u8 == CVM_GLOBAL_PIN {
                entry_point(vm, classes::Impl::Cvm).map(Ret::Word)
            } else {
                Ok(Ret::Word(0))
            }
        }
        Call::GetSecureChannel => entry_point(vm, classes::Impl::SecureChannel).map(Ret::Word),
        Call::LockCard => w(lock_card(vm)),
        Call::TerminateCard => w(terminate_card(vm)),
        // The emulated card's ATR is fixed (and the Card Reset privilege
        // rarely granted): GlobalPlatform lets the OPEN refuse with false.
        Call::SetAtrHistBytes => w(false),
        Call::SetCardContentState => w(set_content_state(vm, arg(0) as u8)),
        Call::GetRegistryEntry => super::registry::get_registry_entry(vm, arg(0)),
    }
}

/// SECURED to CARD_LOCKED, with the Card Lock privilege.
fn lock_card(vm: &mut Vm<'_>) -> bool {
    let gp = &vm.env.gp;
    if !has_privilege(vm.env, privilege::CARD_LOCK) || gp.card_life_cycle != CARD_SECURED {
        return false;
    }
    vm.env.gp.card_life_cycle = CARD_LOCKED;
    vm.env.gp.changed = true;
    true
}

/// Any state to TERMINATED, with the Card Terminate privilege.
fn terminate_card(vm: &mut Vm<'_>) -> bool {
    if !has_privilege(vm.env, privilege::CARD_TERMINATE)
        || vm.env.gp.card_life_cycle == CARD_TERMINATED
    {
        return false;
    }
    vm.env.gp.card_life_cycle = CARD_TERMINATED;
    vm.env.gp.changed = true;
    true
}

/// An application moves itself to an application-specific state (low
/// three bits 111, lock bit clear: 07, 0F, 1F...) or locks itself
/// (APPLICATION_LOCKED sets the lock bit and keeps the state under it).
pub(crate) fn set_content_state(vm: &mut Vm<'_>, new: u8) -> bool {
    let gp = &mut vm.env.gp;
    let current = gp.applet_life_cycle;
    if current & APPLICATION_LOCKED != 0 || current & 0x07 != 0x07 {
        return false;
    }
    let next = if new == APPLICATION_LOCKED {
        current | APPLICATION_LOCKED
    } else if new & 0x87 == 0x07 {
        new
    } else {
        return false;
    };
    gp.applet_life_cycle = next;
    gp.changed = true;
    true
}

/// The JCRE-owned object behind a GlobalPlatform interface (one per
/// card, kept in the heap's system objects, so every applet gets the same
/// entry point).
fn entry_point(vm: &mut Vm<'_>, which: classes::Impl) -> Result<i32, Exc> {
    let key = which.system_key();
    if let Some(id) = vm.heap.system.get(key) {
        return Ok(*id as i32);
    }
    let class = classes::class_of(vm, which)?;
    let id = vm.alloc(Obj::Instance {
        class,
        fields: Vec::new(),
        native: NativeData::None,
        owner: crate::jcvm::heap::JCRE,
    })?;
    vm.heap.system.insert(key.to_string(), id);
    Ok(id as i32)
}
