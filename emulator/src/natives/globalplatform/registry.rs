//! GPSystem.getRegistryEntry and GPRegistryEntry, for an application's
//! own entry: its AID, privileges, life cycle (setState by the rules of
//! setCardContentState) and associated security domain (the ISD). Other
//! applications' entries need the Global Registry privilege, which the
//! emulated card does not grant: getRegistryEntry answers null for them.
//! Global services (registerService, deregisterService) are refused with
//! 6985: the card has no Global Service applications.

use super::{classes, has_privilege, system};
use crate::jcvm::heap::{NativeData, Obj};
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::natives::framework::{aid_bytes, aid_object, check_bytes, write_bytes};
use crate::natives::Sys;
use crate::sw;

/// A GPRegistryEntry method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    GetAid,
    GetPrivileges,
    GetState,
    IsAssociated,
    IsPrivileged,
    SetState,
    RegisterService,
}

pub fn lookup(name: &str, descriptor: &str) -> Option<Call> {
    Some(match (name, descriptor) {
        ("getAID", "()Ljavacard/framework/AID;") => Call::GetAid,
        ("getPrivileges", "([BS)S") => Call::GetPrivileges,
        ("getState", "()B") => Call::GetState,
        ("isAssociated", "(Ljavacard/framework/AID;)Z") => Call::IsAssociated,
        ("isPrivileged", "(B)Z") => Call::IsPrivileged,
        ("setState", "(B)Z") => Call::SetState,
        ("registerService", "(S)V") | ("deregisterService", "(S)V") => Call::RegisterService,
        _ => return None,
    })
}

/// GPSystem.getRegistryEntry(aid): the caller's own entry for null or its
/// own AID, null otherwise.
pub fn get_registry_entry(vm: &mut Vm<'_>, aid: i32) -> Result<Ret, Exc> {
    let own = vm.env.applet.clone();
    if aid != 0 && aid_bytes(vm, aid)? != own {
        return Ok(Ret::Word(0));
    }
    let key = format!("gp.registry:{}", hex::encode_upper(&own));
    if let Some(id) = vm.heap.system.get(&key) {
        return Ok(Ret::Word(*id as i32));
    }
    let class = classes::class_of(vm, classes::Impl::RegistryEntry)?;
    // A JCRE entry point object (GPRegistryEntry), usable by its applet
    // across the firewall.
    let id = vm.alloc(Obj::Instance {
        class,
        fields: Vec::new(),
        native: NativeData::Aid(own),
        owner: crate::jcvm::heap::JCRE,
    })?;
    vm.heap.system.insert(key, id);
    Ok(Ret::Word(id as i32))
}

/// `a[0]` is the entry; only its own application may use it.
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let w = |v: bool| Ok(Ret::Word(i32::from(v)));
    let entry = match vm.heap.get(arg(0) as u32) {
        Some(Obj::Instance {
            native: NativeData::Aid(aid),
            ..
        }) => aid.clone(),
        _ => return Err(vm.throw(Sys::NullPointer, 0)),
    };
    if entry != vm.env.applet {
        return Err(vm.throw(Sys::Security, 0));
    }
    match c {
        Call::GetAid => aid_object(vm, &entry).map(|id| Ret::Word(id as i32)),
        Call::GetPrivileges => {
            let mut privileges = vm.env.gp.privileges.clone();
            privileges.resize(3, 0);
            let (buf, off) = (arg(1), arg(2));
            check_bytes(vm, buf, off, 3)?;
            write_bytes(vm, buf, off as usize, &privileges, true)?;
            Ok(Ret::Word(i32::from((off + 3) as i16)))
        }
        Call::GetState => Ok(Ret::Word(i32::from(vm.env.gp.applet_life_cycle as i8))),
        Call::IsAssociated => {
            let sd = aid_bytes(vm, arg(1))?;
            w(sd == vm.env.gp.isd_aid)
        }
        Call::IsPrivileged => w(has_privilege(vm.env, arg(1) as u8)),
        Call::SetState => w(system::set_content_state(vm, arg(1) as u8)),
        Call::RegisterService => Err(vm.throw(Sys::Iso, sw::CONDITIONS as i16)),
    }
}
