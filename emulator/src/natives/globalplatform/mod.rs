//! The GlobalPlatform Card API (`org.globalplatform`, AID A00000015100) of
//! the emulated card: [`system`] (GPSystem: card and application life
//! cycle, lockCard/terminateCard by privilege, the CVM and SecureChannel
//! entry points), [`registry`] (an application's own GPRegistryEntry),
//! [`cvm`] (the card's global PIN behind the CVM
//! interface) and [`secure_channel`] (the applet's security domain's
//! SCP02/SCP03 session behind the SecureChannel interface).
//!
//! Natives only see the heap and the JCRE [`Env`]; what GlobalPlatform
//! services need from the card manager (life cycles, privileges, the
//! ISD's key sets, the global PIN) is copied into [`GpEnv`] by [`enter`]
//! before an applet runs and written back by [`leave`] after it, and the
//! secure channel session of the logical channel is lent to the VM by the
//! card for the call (see `Jcvm::session_slot`).

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements): the narrowing casts are the
// semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

pub mod classes;
pub mod cvm;
pub mod registry;
pub mod secure_channel;
pub mod system;

use crate::jcvm::env::Env;
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::keyset::KeySet;
use crate::session::Session;
use crate::state::CardState;

/// A GlobalPlatform API method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    System(system::Call),
    Cvm(cvm::Call),
    Channel(secure_channel::Call),
    Registry(registry::Call),
}

/// The native of a GlobalPlatform API method, by class, name and
/// descriptor (`class` with slashes, as in the API tables).
pub fn lookup(class: &str, name: &str, descriptor: &str) -> Option<Call> {
    match class {
        "org/globalplatform/GPSystem" => system::lookup(name, descriptor).map(Call::System),
        "org/globalplatform/CVM" => cvm::lookup(name, descriptor).map(Call::Cvm),
        "org/globalplatform/GPRegistryEntry" => {
            registry::lookup(name, descriptor).map(Call::Registry)
        }
        "org/globalplatform/SecureChannel" => {
            secure_channel::lookup(name, descriptor).map(Call::Channel)
        }
        _ => None,
    }
}

/// Runs a GlobalPlatform native; `a` holds the argument words.
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    match c {
        Call::System(s) => system::call(vm, s, a),
        Call::Cvm(s) => cvm::call(vm, s, a),
        Call::Channel(s) => secure_channel::call(vm, s, a),
        Call::Registry(s) => registry::call(vm, s, a),
    }
}

/// What the GlobalPlatform services know of the card during an applet
/// call: a copy of the card manager's state taken by [`enter`], changed
/// by the natives, written back by [`leave`].
#[derive(Debug, Default)]
pub struct GpEnv {
    /// The secure channel session of the logical channel, lent by the card
    /// for the call (INITIALIZE UPDATE through processSecurity opens it).
    pub session: Session,
    /// Card life cycle byte.
    pub card_life_cycle: u8,
    /// The running applet's life cycle byte (03 while it installs).
    pub applet_life_cycle: u8,
    /// The running applet's privileges (1 or 3 bytes).
    pub privileges: Vec<u8>,
    /// The ISD's key sets, for processSecurity; their counters change.
    pub key_sets: Vec<KeySet>,
    /// SCP "i" parameters of the profile: SCP02, SCP03.
    pub scp_i: (u8, u8),
    /// Key diversification data the ISD reports.
    pub kdd: [u8; 10],
    pub isd_aid: Vec<u8>,
    pub max_auth_failures: u32,
    /// The global PIN (persistent part).
    pub cvm: cvm::GlobalCvm,
    /// The global PIN's session states (VALIDATED, INVALID_SUBMISSION):
    /// lost at power up.
    pub cvm_session: cvm::CvmSession,
    /// Something above must be written back to the card state.
    pub changed: bool,
}

impl GpEnv {
    /// Power up: the global PIN is no longer verified or submitted.
    pub fn power_on(&mut self) {
        self.cvm_session = cvm::CvmSession::default();
    }
}

/// Gives `env.gp` the card manager's state for a call of the applet
/// `env.applet`; `installing` gives the privileges of an applet whose
/// install() runs (it is not in the registry yet).
pub fn enter(env: &mut Env, state: &mut CardState, installing: Option<&[u8]>) {
    let gp = &mut env.gp;
    gp.card_life_cycle = state.life_cycle;
    match (state.instance(&env.applet), installing) {
        (Some(i), _) => {
            gp.applet_life_cycle = i.life_cycle;
            gp.privileges.clone_from(&i.privileges);
        }
        (None, privileges) => {
            gp.applet_life_cycle = system::APPLICATION_INSTALLED;
            gp.privileges = privileges.unwrap_or_default().to_vec();
        }
    }
    // Lent for the call, not copied (a copy or even a comparison of the
    // keys on every APDU costs more than the rest of an echo): [`leave`]
    // gives them back, with what the natives changed.
    std::mem::swap(&mut gp.key_sets, &mut state.key_sets);
    std::mem::swap(&mut gp.cvm, &mut state.cvm);
    gp.scp_i = (state.profile.scp02_i, state.profile.scp03_i);
    gp.kdd = crate::recognition::kdd(state);
    if gp.isd_aid != state.isd_aid() {
        gp.isd_aid = state.isd_aid().to_vec();
    }
    gp.max_auth_failures = state.profile.max_auth_failures;
    gp.changed = false;
}

/// Writes back what the natives changed: card and application life
/// cycle, key set counters, the global PIN. The heap is marked dirty so
/// that the card saves the state at the commit point after the call.
pub fn leave(env: &mut Env, state: &mut CardState) {
    let gp = &mut env.gp;
    // The key sets and the PIN [`enter`] lent, counters and tries as the
    // natives left them.
    std::mem::swap(&mut gp.key_sets, &mut state.key_sets);
    std::mem::swap(&mut gp.cvm, &mut state.cvm);
    if !std::mem::take(&mut gp.changed) {
        return;
    }
    state.life_cycle = gp.card_life_cycle;
    let applet = env.applet.clone();
    if let Some(i) = state.instances.iter_mut().find(|i| i.aid == applet) {
        i.life_cycle = gp.applet_life_cycle;
    }
    state.heap.dirty = true;
}

/// Whether the running applet holds a privilege, by its GPRegistryEntry
/// number (bit `n` of the privilege bytes, from the most significant bit
/// of the first byte).
pub fn has_privilege(env: &Env, n: u8) -> bool {
    let byte = usize::from(n / 8);
    let mask = 0x80u8 >> (n % 8);
    env.gp.privileges.get(byte).is_some_and(|b| b & mask != 0)
}

/// Privilege numbers (GPRegistryEntry.PRIVILEGE_*).
pub mod privilege {
    pub const CARD_LOCK: u8 = 3;
    pub const CARD_TERMINATE: u8 = 4;
    pub const CVM_MANAGEMENT: u8 = 6;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privilege_bits_follow_the_gp_coding() {
        let limits = crate::jcvm::limits(&crate::profile::CardProfile::default());
        let mut env = Env::new(limits, 0x0305);
        // Card Lock (10), Card Terminate (08), CVM Management (02).
        env.gp.privileges = vec![0x1A];
        assert!(has_privilege(&env, privilege::CARD_LOCK));
        assert!(has_privilege(&env, privilege::CARD_TERMINATE));
        assert!(has_privilege(&env, privilege::CVM_MANAGEMENT));
        assert!(!has_privilege(&env, 0));
        env.gp.privileges = vec![0x80, 0, 0];
        assert!(has_privilege(&env, 0) && !has_privilege(&env, privilege::CARD_LOCK));
        // A privilege of the third byte on a one-byte encoding: none.
        assert!(!has_privilege(&env, 17));
    }
}
