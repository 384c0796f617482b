//! The Class component (JCVM 6.8): an interface_info or class_info per type,
//! in package order. Internal class references everywhere are offsets into
//! this component, so its layout is computed first, from sizes alone.

use crate::cap::components::class::{
    ClassEntry, ClassInfo, ImplementedInterface, InterfaceInfo, ACC_INTERFACE, ACC_SHAREABLE,
};
use crate::cap::components::method::MethodLocation;
use crate::cap::{ClassComponent, Format};

use super::cp::{Offsets, Resolver};
use super::error::{Error, Result};
use super::link::Linker;
use super::model::{ClassKey, Package};
use super::tokens::{ClassTokens, Impl, PRIVATE_TOKEN};

/// All superinterfaces of an interface of the package, transitively.
pub fn superinterfaces(pkg: &Package<'_>, linker: &Linker, i: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut queue: Vec<String> = pkg.classes[i].file.interfaces.clone();
    while let Some(n) = queue.pop() {
        if out.contains(&n) {
            continue;
        }
        match pkg.resolve(linker, &n) {
            Some(ClassKey::Internal(j)) => {
                queue.extend(pkg.classes[j].file.interfaces.iter().cloned())
            }
            Some(ClassKey::External(e)) => queue.extend(e.interfaces.iter().cloned()),
            None => {}
        }
        out.push(n);
    }
    out.reverse();
    out
}

/// (base, entries) of a class's public or package virtual method table:
/// from the lowest token the class defines to its highest token.
fn table(i: usize, t: &ClassTokens, public: bool) -> (u8, Vec<Impl>) {
    let (count, mask) = if public {
        (t.public_count, 0)
    } else {
        (t.package_count, PRIVATE_TOKEN)
    };
    let own = |tok: u8| {
        t.slot(tok | mask)
            .is_some_and(|e| matches!(e.imp, Impl::Internal { class, .. } if class == i))
    };
    let base = (0..count).find(|&tok| own(tok)).unwrap_or(count);
    let entries = (base..count)
        .map(|tok| t.slot(tok | mask).map_or(Impl::External, |e| e.imp))
        .collect();
    (base, entries)
}

/// CAP 2.3's `public_virtual_method_token_mapping` of a class: for each
/// public virtual method token below `public_method_table_base +
/// public_method_table_count` (which is the class's token count), the token
/// the method has under the CAP 2.2 numbering a 2.2-era subclass or caller
/// knows. A freshly converted package has no older numbering, so a token
/// inherited from the superclass keeps its number and one the class
/// introduces (or one its imported superclass gained after CAP 2.2) has
/// none, 0xFF: what Oracle's 3.2.0 converter writes for the
/// converter-reference packages.
fn token_mapping(t: &ClassTokens) -> Vec<u8> {
    (0..t.public_count)
        .map(|tok| if tok < t.cap22_inherited { tok } else { 0xFF })
        .collect()
}

/// The offset of every class_info/interface_info.
pub fn offsets(
    pkg: &Package<'_>,
    linker: &Linker,
    tokens: &[ClassTokens],
    format: Format,
) -> Result<Vec<u16>> {
    let mut at: usize = if format.at_least(2, 2) { 2 } else { 0 };
    let mut out = Vec::with_capacity(pkg.classes.len());
    for (i, class) in pkg.classes.iter().enumerate() {
        out.push(
            u16::try_from(at)
                .ok()
                .filter(|&o| o <= 0x7FFF)
                .ok_or_else(|| Error::general("the Class component exceeds 32 KiB"))?,
        );
        at += if class.is_interface() {
            1 + 2 * superinterfaces(pkg, linker, i).len()
        } else {
            let t = &tokens[i];
            let public = table(i, t, true).1.len();
            let package = table(i, t, false).1.len();
            let interfaces: usize = t.interfaces.iter().map(|x| 3 + x.index.len()).sum();
            // CAP 2.3: the token mapping (one byte per public token) and its count.
            let mapping = if format.at_least(2, 3) {
                token_mapping(t).len() + 1
            } else {
                0
            };
            // A virtual method table entry: u2 offset, plus a u1 block
            // index in the extended format.
            let entry = if format.extended { 3 } else { 2 };
            10 + entry * (public + package) + interfaces + mapping
        };
    }
    Ok(out)
}

/// Builds the Class component.
pub fn component(
    pkg: &Package<'_>,
    tokens: &[ClassTokens],
    r: &mut Resolver<'_, '_>,
    o: &Offsets<'_>,
    format: Format,
) -> Result<ClassComponent> {
    let cap23 = format.at_least(2, 3);
    let mut entries = Vec::new();
    for (i, class) in pkg.classes.iter().enumerate() {
        let t = &tokens[i];
        let offset = o.classes[i];
        let shareable = if t.shareable { ACC_SHAREABLE } else { 0 };
        if class.is_interface() {
            let supers = superinterfaces(pkg, r.linker, i);
            if supers.len() > 15 {
                return Err(Error::at(class.place(), "has more than 15 superinterfaces"));
            }
            let superinterfaces = supers
                .iter()
                .map(|s| r.class_ref(s, Some(o)))
                .collect::<Result<Vec<_>>>()?;
            entries.push(ClassEntry::Interface(InterfaceInfo {
                offset,
                flags: ACC_INTERFACE | shareable,
                superinterfaces,
                interface_name: None,
            }));
            continue;
        }
        // A method defined outside the package: offset 0xFFFF (and, in
        // the extended format, block 0, which no reader looks at then).
        let location = |imp: Impl| -> Result<MethodLocation> {
            match imp {
                Impl::Internal { class, method } => {
                    o.methods.get(&(class, method)).copied().ok_or_else(|| {
                        Error::general("internal: virtual method without a method_info")
                    })
                }
                Impl::External => Ok(MethodLocation {
                    block_index: format.extended.then_some(0),
                    offset: 0xFFFF,
                }),
            }
        };
        let (public_base, public) = table(i, t, true);
        let (package_base, package) = table(i, t, false);
        let super_name = class
            .file
            .super_class
            .as_deref()
            .unwrap_or("java/lang/Object");
        let interfaces = t
            .interfaces
            .iter()
            .map(|x| {
                Ok(ImplementedInterface {
                    interface: r.class_ref(&x.interface, Some(o))?,
                    index: x.index.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        entries.push(ClassEntry::Class(ClassInfo {
            offset,
            flags: shareable,
            super_class_ref: Some(r.class_ref(super_name, Some(o))?),
            declared_instance_size: t.instance_size,
            first_reference_token: t.first_reference_token,
            reference_count: t.reference_count,
            public_method_table_base: public_base,
            public_virtual_method_table: public
                .into_iter()
                .map(location)
                .collect::<Result<Vec<_>>>()?,
            package_method_table_base: package_base,
            package_virtual_method_table: package
                .into_iter()
                .map(location)
                .collect::<Result<Vec<_>>>()?,
            interfaces,
            remote_interfaces: None,
            // The class's own tokens are all inheritable by a 2.2-era subclass.
            public_virtual_method_token_mapping: cap23.then(|| token_mapping(t)),
            cap22_inheritable_public_method_token_count: cap23.then_some(t.public_count),
        }));
    }
    Ok(ClassComponent {
        signature_pool: Vec::new(),
        entries,
    })
}
