//! The emulator's classes behind GPSystem.getCVM and getSecureChannel:
//! each implements its API interface (CVM, SecureChannel) with the
//! natives of [`super`] in its method table, built with the runtime the
//! way the crypto implementation classes are (ids above 255 under the
//! org.globalplatform AID, never renumbered: the objects live in the
//! persistent heap).

use cap_tools::api::{self, ApiClass};

use crate::jcvm::heap::{ClassKey, Heap};
use crate::jcvm::interp::{Exc, Vm};
use crate::jcvm::runtime::{LinkError, Runtime};

/// org.globalplatform's AID.
pub const GP_AID: [u8; 6] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00];

/// An implementation class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Cvm,
    SecureChannel,
    RegistryEntry,
}

impl Impl {
    const ALL: [Impl; 3] = [Impl::Cvm, Impl::SecureChannel, Impl::RegistryEntry];

    /// Its stable id (part of its class key).
    fn id(self) -> u16 {
        match self {
            Impl::Cvm => 0x100,
            Impl::SecureChannel => 0x101,
            Impl::RegistryEntry => 0x102,
        }
    }

    fn api_type(self) -> &'static str {
        match self {
            Impl::Cvm => "org/globalplatform/CVM",
            Impl::SecureChannel => "org/globalplatform/SecureChannel",
            Impl::RegistryEntry => "org/globalplatform/GPRegistryEntry",
        }
    }

    /// The name of its one object among the heap's system objects.
    pub fn system_key(self) -> &'static str {
        match self {
            Impl::Cvm => "gp.cvm.global",
            Impl::SecureChannel => "gp.securechannel",
            // One per application: see registry::get_registry_entry.
            Impl::RegistryEntry => "gp.registry",
        }
    }
}

fn key(i: Impl) -> ClassKey {
    ClassKey {
        package: GP_AID.to_vec(),
        id: i.id(),
        api: true,
    }
}

fn api_class(rt: &Runtime, name: &str) -> Option<&'static ApiClass> {
    api::table(rt.api)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .find(|c| c.name == name)
}

/// Builds the implementation classes (when the API version carries
/// org.globalplatform).
pub fn install(rt: &mut Runtime, heap: &mut Heap) -> Result<(), LinkError> {
    for i in Impl::ALL {
        let Some(ty) = api_class(rt, i.api_type()) else {
            continue;
        };
        let idx = heap.class_index(&key(i));
        let class = crate::natives::crypto::classes::implementing(rt, heap, ty)?;
        rt.put_class(idx, class);
    }
    Ok(())
}

/// The class index of an implementation class, for its object.
pub fn class_of(vm: &mut Vm<'_>, i: Impl) -> Result<u32, Exc> {
    let k = key(i);
    match vm.heap.classes.iter().position(|c| *c == k) {
        Some(idx) if vm.rt.class(idx as u32).is_some() => Ok(idx as u32),
        _ => Err(Exc::Fatal(format!(
            "the API {} has no {}",
            vm.rt.api.as_str(),
            i.api_type()
        ))),
    }
}
