//! Fields and calls: `getfield_<t>`/`putfield_<t>` and the static forms
//! (constants of other classes inlined), and the four invokes — private
//! methods and constructors through `invokespecial` with a static method
//! reference, `super.m()` through a super method reference, interface
//! methods with their declaring interface and token.

use crate::classfile::insn::op;
use crate::classfile::{Constant, MemberRef};

use super::super::error::Result;
use super::super::jc::{CpKey, JcOp};
use super::super::model::{acc, ClassKey};
use super::super::tokens::MethodToken;
use super::Exec;

impl Exec<'_, '_, '_> {
    /// Field access; constants of other classes are inlined.
    pub(super) fn field(&mut self, o: u8) -> Result<()> {
        let m = self.member(self.cp_index()?)?;
        let t = match m.descriptor.as_bytes().first() {
            Some(b'Z' | b'B') => "b",
            Some(b'S') => "s",
            Some(b'I') => "i",
            Some(b'L' | b'[') => "a",
            _ => {
                return Err(self.err(format!(
                    "field type {} is not supported by Java Card",
                    m.descriptor
                )))
            }
        };
        let is_static = o == op::GETSTATIC || o == op::PUTSTATIC;
        if is_static {
            if let Some(c) = self.constant_field(m) {
                if o == op::PUTSTATIC {
                    return Err(self.err(format!("assigns the constant {}", m.name)));
                }
                self.constant(c);
                return Ok(());
            }
        }
        let key = |k: fn(String, String, String) -> CpKey| {
            k(m.class.clone(), m.name.clone(), m.descriptor.clone())
        };
        match o {
            op::GETSTATIC => {
                self.emit_with(|| JcOp::Cp {
                    mnemonic: static_mnemonic("getstatic", t),
                    key: key(|class, name, desc| CpKey::StaticField { class, name, desc }),
                });
                self.push_read(&m.descriptor)?;
            }
            op::PUTSTATIC => {
                let v = self.pop()?;
                self.need_type_of(&v, &m.descriptor, || format!("the value of {}", m.name))?;
                self.emit_with(|| JcOp::Cp {
                    mnemonic: static_mnemonic("putstatic", t),
                    key: key(|class, name, desc| CpKey::StaticField { class, name, desc }),
                });
            }
            op::GETFIELD => {
                let obj = self.pop()?;
                self.need_ref(&obj)?;
                self.emit_with(|| JcOp::Field {
                    base: field_mnemonic("getfield", t),
                    key: key(|class, name, desc| CpKey::InstanceField { class, name, desc }),
                    this: false,
                });
                self.push_read(&m.descriptor)?;
            }
            _ => {
                let v = self.pop()?;
                let obj = self.pop()?;
                self.need_ref(&obj)?;
                self.need_type_of(&v, &m.descriptor, || format!("the value of {}", m.name))?;
                self.emit_with(|| JcOp::Field {
                    base: field_mnemonic("putfield", t),
                    key: key(|class, name, desc| CpKey::InstanceField { class, name, desc }),
                    this: false,
                });
            }
        }
        Ok(())
    }

    /// The value of a compile-time constant field, wherever it is declared.
    pub(super) fn constant_field(&self, m: &MemberRef) -> Option<i32> {
        match self.env.pkg.resolve(self.env.linker, &m.class)? {
            ClassKey::Internal(i) => {
                let f = self.env.pkg.classes[i]
                    .file
                    .fields
                    .iter()
                    .find(|f| f.name == m.name)?;
                match (&f.constant_value, f.access_flags & acc::STATIC != 0) {
                    (Some(Constant::Integer(v)), true) => Some(*v),
                    _ => None,
                }
            }
            ClassKey::External(e) => {
                let owner = self.env.linker.field_owner(e, &m.name, &m.descriptor)?;
                owner.field(&m.name, &m.descriptor)?.value
            }
        }
    }

    pub(super) fn invoke(&mut self, o: u8) -> Result<()> {
        let m = self.member(self.cp_index()?)?;
        if m.class.starts_with('[') {
            return Err(self.err(format!(
                "{} on an array is not supported by Java Card",
                m.name
            )));
        }
        let args = crate::classfile::descriptor_args(&m.descriptor)
            .map_err(|e| self.err(e.to_string()))?;
        let ret = crate::classfile::descriptor_return(&m.descriptor)
            .map_err(|e| self.err(e.to_string()))?;
        let mut words = 0u32;
        for (k, a) in args.iter().enumerate().rev() {
            let v = self.pop()?;
            self.need_type_of(&v, a, || format!("argument {} of {}", k + 1, m.name))?;
            words += match a.as_bytes().first() {
                Some(b'I') => 2,
                _ => 1,
            };
        }
        if o != op::INVOKESTATIC {
            let obj = self.pop()?;
            self.need_ref(&obj)?;
            words += 1;
        }
        let key = |k: fn(String, String, String) -> CpKey| {
            k(m.class.clone(), m.name.clone(), m.descriptor.clone())
        };
        match o {
            op::INVOKESTATIC => self.emit_with(|| JcOp::Cp {
                mnemonic: "invokestatic",
                key: key(|class, name, desc| CpKey::StaticMethod { class, name, desc }),
            }),
            op::INVOKESPECIAL if m.name == "<init>" || self.is_private_here(m) => {
                self.emit_with(|| JcOp::Cp {
                    mnemonic: "invokespecial",
                    key: key(|class, name, desc| CpKey::StaticMethod { class, name, desc }),
                })
            }
            op::INVOKESPECIAL => {
                let here = self.env.class_name();
                self.emit_with(|| JcOp::Cp {
                    mnemonic: "invokespecial",
                    key: CpKey::SuperMethod {
                        class: here.to_string(),
                        name: m.name.clone(),
                        desc: m.descriptor.clone(),
                    },
                })
            }
            op::INVOKEVIRTUAL if self.is_private_here(m) => self.emit_with(|| JcOp::Cp {
                mnemonic: "invokespecial",
                key: key(|class, name, desc| CpKey::StaticMethod { class, name, desc }),
            }),
            op::INVOKEVIRTUAL => self.emit_with(|| JcOp::Cp {
                mnemonic: "invokevirtual",
                key: key(|class, name, desc| CpKey::VirtualMethod { class, name, desc }),
            }),
            _ => match self.interface_method(m)? {
                Some((itf, token)) => {
                    let nargs = u8::try_from(words).map_err(|_| self.err("too many arguments"))?;
                    self.emit(JcOp::InvokeInterface {
                        nargs,
                        key: CpKey::Class(itf),
                        token,
                    });
                }
                None => self.emit_with(|| JcOp::Cp {
                    mnemonic: "invokevirtual",
                    key: CpKey::VirtualMethod {
                        class: "java/lang/Object".into(),
                        name: m.name.clone(),
                        desc: m.descriptor.clone(),
                    },
                }),
            },
        }
        if ret != "V" {
            self.push_read(&ret)?;
        }
        Ok(())
    }

    /// True when the method named is a private method of this package
    /// (called statically: `invokespecial` with a static method reference).
    pub(super) fn is_private_here(&self, m: &MemberRef) -> bool {
        match self.env.pkg.class_index(&m.class) {
            Some(i) => self.env.pkg.classes[i]
                .file
                .method(&m.name, &m.descriptor)
                .is_some_and(|x| x.access_flags & acc::PRIVATE != 0),
            None => false,
        }
    }

    /// The interface declaring an interface method and the method's token;
    /// `None` for java.lang.Object methods called through an interface.
    pub(super) fn interface_method(&self, m: &MemberRef) -> Result<Option<(String, u8)>> {
        let mut queue = vec![m.class.clone()];
        let mut seen = Vec::new();
        while let Some(name) = queue.pop() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            match self.env.pkg.require(
                self.env.linker,
                &name,
                &self.env.place(Some(self.insn.pc)),
            )? {
                ClassKey::Internal(i) => {
                    let c = &self.env.pkg.classes[i];
                    for (k, x) in c.file.methods.iter().enumerate() {
                        if x.name == m.name && x.descriptor == m.descriptor {
                            if let MethodToken::Interface(t) = self.env.tokens[i].methods[k] {
                                return Ok(Some((name, t)));
                            }
                        }
                    }
                    queue.extend(c.file.interfaces.iter().cloned());
                }
                ClassKey::External(e) => {
                    if let Some(x) = e.virtual_method(&m.name, &m.descriptor) {
                        if e.is_interface() {
                            return Ok(Some((name, x.token)));
                        }
                    }
                    queue.extend(e.interfaces.iter().cloned());
                }
            }
        }
        let object = self.env.linker.class("java/lang/Object");
        if object.is_some_and(|o| o.virtual_method(&m.name, &m.descriptor).is_some()) {
            return Ok(None);
        }
        Err(self.err(format!(
            "interface method {}.{}{} not found",
            m.class, m.name, m.descriptor
        )))
    }
}

/// `getstatic_<t>` / `putstatic_<t>`.
fn static_mnemonic(base: &str, t: &str) -> &'static str {
    match (base, t) {
        ("getstatic", "a") => "getstatic_a",
        ("getstatic", "b") => "getstatic_b",
        ("getstatic", "s") => "getstatic_s",
        ("getstatic", _) => "getstatic_i",
        (_, "a") => "putstatic_a",
        (_, "b") => "putstatic_b",
        (_, "s") => "putstatic_s",
        _ => "putstatic_i",
    }
}

/// `getfield_<t>` / `putfield_<t>` (the one-byte index form).
fn field_mnemonic(base: &str, t: &str) -> &'static str {
    match (base, t) {
        ("getfield", "a") => "getfield_a",
        ("getfield", "b") => "getfield_b",
        ("getfield", "s") => "getfield_s",
        ("getfield", _) => "getfield_i",
        (_, "a") => "putfield_a",
        (_, "b") => "putfield_b",
        (_, "s") => "putfield_s",
        _ => "putfield_i",
    }
}
