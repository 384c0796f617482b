//! The emulator's implementation classes of the crypto API: a concrete
//! class per kind of object (an AES key, a Cipher...) that implements the
//! API interfaces or extends the API's abstract class, with the natives of
//! [`super`] in its method table. The interpreter dispatches on them as on
//! any class: invokeinterface AESKey.setKey on an AES key object finds the
//! native through the class's interface map, as a card's own classes do.
//!
//! They are built with the runtime (never saved) under class keys of their
//! own (the API package's AID, ids above 255, which no API token reaches),
//! so objects in the persistent heap find their class after a restart.

use cap_tools::api::{self, ApiClass, ACC_STATIC};

use crate::jcvm::heap::{ClassKey, Heap};
use crate::jcvm::interp::{Exc, Vm};
use crate::jcvm::runtime::{LinkError, RtClass, Runtime, Target};
use crate::natives;

/// An implementation class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    AesKey,
    DesKey,
    Cipher,
    RandomData,
    HmacKey,
    MessageDigest,
    Signature,
    InitializedMessageDigest,
    Checksum,
    AeadCipher,
    RsaPublicKey,
    RsaPrivateKey,
    RsaCrtKey,
    EcPublicKey,
    EcPrivateKey,
    KeyAgreement,
}

impl Impl {
    const ALL: [Impl; 16] = [
        Impl::AesKey,
        Impl::DesKey,
        Impl::Cipher,
        Impl::RandomData,
        Impl::HmacKey,
        Impl::MessageDigest,
        Impl::Signature,
        Impl::InitializedMessageDigest,
        Impl::Checksum,
        Impl::AeadCipher,
        Impl::RsaPublicKey,
        Impl::RsaPrivateKey,
        Impl::RsaCrtKey,
        Impl::EcPublicKey,
        Impl::EcPrivateKey,
        Impl::KeyAgreement,
    ];

    /// Its stable id (part of its class key: never renumber).
    fn id(self) -> u16 {
        match self {
            Impl::AesKey => 0x100,
            Impl::DesKey => 0x101,
            Impl::Cipher => 0x102,
            Impl::RandomData => 0x103,
            Impl::HmacKey => 0x104,
            Impl::MessageDigest => 0x105,
            Impl::Signature => 0x106,
            Impl::InitializedMessageDigest => 0x120,
            Impl::Checksum => 0x121,
            Impl::AeadCipher => 0x122,
            Impl::RsaPublicKey => 0x110,
            Impl::RsaPrivateKey => 0x111,
            Impl::RsaCrtKey => 0x112,
            Impl::EcPublicKey => 0x113,
            Impl::EcPrivateKey => 0x114,
            Impl::KeyAgreement => 0x115,
        }
    }

    /// The API type it implements: an interface (keys) or an abstract class.
    fn api_type(self) -> &'static str {
        match self {
            Impl::AesKey => "javacard/security/AESKey",
            Impl::DesKey => "javacard/security/DESKey",
            Impl::Cipher => "javacardx/crypto/Cipher",
            Impl::RandomData => "javacard/security/RandomData",
            Impl::HmacKey => "javacard/security/HMACKey",
            Impl::MessageDigest => "javacard/security/MessageDigest",
            Impl::Signature => "javacard/security/Signature",
            Impl::InitializedMessageDigest => "javacard/security/InitializedMessageDigest",
            Impl::Checksum => "javacard/security/Checksum",
            Impl::AeadCipher => "javacardx/crypto/AEADCipher",
            Impl::RsaPublicKey => "javacard/security/RSAPublicKey",
            Impl::RsaPrivateKey => "javacard/security/RSAPrivateKey",
            Impl::RsaCrtKey => "javacard/security/RSAPrivateCrtKey",
            Impl::EcPublicKey => "javacard/security/ECPublicKey",
            Impl::EcPrivateKey => "javacard/security/ECPrivateKey",
            Impl::KeyAgreement => "javacard/security/KeyAgreement",
        }
    }
}

/// javacard.security's AID, the package part of every implementation class key.
const SECURITY_AID: [u8; 7] = [0xA0, 0, 0, 0, 0x62, 0x01, 0x02];

fn key(i: Impl) -> ClassKey {
    ClassKey {
        package: SECURITY_AID.to_vec(),
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

fn target(rt: &mut Runtime, class: &str, name: &str, desc: &str) -> Target {
    match natives::lookup(class, name, desc) {
        Some(n) => Target::Native(n),
        None => {
            rt.missing.push(format!("{class}.{name}{desc}"));
            Target::Missing((rt.missing.len() - 1) as u32)
        }
    }
}

/// Builds every implementation class whose API type the runtime's API
/// version has.
pub fn install(rt: &mut Runtime, heap: &mut Heap) -> Result<(), LinkError> {
    for i in Impl::ALL {
        let Some(ty) = api_class(rt, i.api_type()) else {
            continue;
        };
        let idx = heap.class_index(&key(i));
        let class = if ty.flags & api::ACC_INTERFACE != 0 {
            implementing(rt, heap, ty)?
        } else {
            extending(rt, heap, ty)?
        };
        rt.put_class(idx, class);
    }
    Ok(())
}

/// A class implementing interface `ty` (and, as the Class component of a
/// package would list them, all its superinterfaces): its public methods
/// take the interface's tokens.
pub(crate) fn implementing(
    rt: &mut Runtime,
    heap: &mut Heap,
    ty: &'static ApiClass,
) -> Result<RtClass, LinkError> {
    let object = rt.api_class_by_name(heap, "java/lang/Object")?;
    let mut public = rt
        .class(object)
        .map(|o| o.public.clone())
        .unwrap_or_default();
    // Object's methods (equals) keep their tokens; the interface's follow.
    let base = public.len();
    let mut tokens = Vec::new();
    for m in ty.methods.iter().filter(|m| m.flags & ACC_STATIC == 0) {
        let t = base + usize::from(m.token);
        if public.len() <= t {
            public.resize(t + 1, Target::None);
        }
        public[t] = target(rt, &ty.name, &m.name, &m.descriptor);
        tokens.push((m.name.as_str(), m.descriptor.as_str(), t as u8));
    }
    let mut interfaces = Vec::new();
    for iname in std::iter::once(&ty.name).chain(ty.interfaces.iter()) {
        let iface = api_class(rt, iname).ok_or_else(|| format!("no API interface {iname}"))?;
        let iidx = rt.api_class_by_name(heap, iname)?;
        let mut map = Vec::new();
        for m in &iface.methods {
            let t = usize::from(m.token);
            if map.len() <= t {
                map.resize(t + 1, 0xFF);
            }
            if let Some((_, _, vt)) = tokens
                .iter()
                .find(|(n, d, _)| *n == m.name && *d == m.descriptor)
            {
                map[t] = *vt;
            }
        }
        interfaces.push((iidx, map));
    }
    Ok(RtClass {
        name: format!("{}Impl", ty.name),
        super_class: Some(object),
        interface: false,
        words: 0,
        public,
        package: Vec::new(),
        interfaces,
        package_index: None,
        refs: Vec::new(),
    })
}

/// A class extending abstract class `ty`, its abstract methods natives.
fn extending(
    rt: &mut Runtime,
    heap: &mut Heap,
    ty: &'static ApiClass,
) -> Result<RtClass, LinkError> {
    let sup = rt.api_class_by_name(heap, &ty.name)?;
    let mut public = rt.class(sup).map(|s| s.public.clone()).unwrap_or_default();
    for m in ty
        .methods
        .iter()
        .filter(|m| m.flags & ACC_STATIC == 0 && m.name != "<init>")
    {
        let t = usize::from(m.token);
        if public.len() <= t {
            public.resize(t + 1, Target::None);
        }
        if matches!(public[t], Target::Abstract | Target::None) {
            public[t] = target(rt, &ty.name, &m.name, &m.descriptor);
        }
    }
    Ok(RtClass {
        name: format!("{}Impl", ty.name),
        super_class: Some(sup),
        interface: false,
        words: 0,
        public,
        package: Vec::new(),
        interfaces: Vec::new(),
        package_index: None,
        refs: Vec::new(),
    })
}

/// The class index of an implementation class, for new objects.
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
