//! class_info, field_info and method_info of an export file (JCVM 5.7-5.9):
//! the public classes and interfaces of a package with their tokens.
//!
//! Every index is checked against the constant pool while reading, so that a
//! decoded [`super::ExportFile`] always resolves and a bad index is reported
//! with the offset of the u2 that holds it.

use serde::Serialize;

use crate::bytes::{to_u16, to_u8, Reader, WriteExt};
use crate::error::{Error, Result};

use super::constant_pool::{ConstantPool, LookupError, Utf8};
use super::{relabel, LOCATION};

/// The attribute whose info is the index of a field's constant value.
pub const CONSTANT_VALUE: &str = "ConstantValue";

/// token u1, access_flags u2, name u2, supers/interfaces/fields/methods counts.
const MIN_CLASS_SIZE: usize = 12;
/// token u1, access_flags u2, name u2, descriptor u2, attributes_count u2.
const MIN_FIELD_SIZE: usize = 9;
/// token u1, access_flags u2, name u2, descriptor u2.
const METHOD_SIZE: usize = 7;
/// attribute_name_index u2, attribute_length u4.
const MIN_ATTRIBUTE_SIZE: usize = 6;

/// A public class or interface and its exported members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassInfo {
    pub token: u8,
    /// See [`super::flags`] (ACC_PUBLIC, ACC_INTERFACE, ACC_SHAREABLE, ...).
    pub access_flags: u16,
    /// Index of this class's CONSTANT_Classref.
    pub name_index: u16,
    /// CONSTANT_Classref indices of all superclasses, as the file lists them.
    pub supers: Vec<u16>,
    /// CONSTANT_Classref indices of all superinterfaces (direct and indirect).
    pub interfaces: Vec<u16>,
    pub fields: Vec<FieldInfo>,
    pub methods: Vec<MethodInfo>,
    /// Format 2.3 only (`None` before): CAP22_inheritable_public_method_token_count,
    /// how many public virtual method tokens a CAP 2.2 importer may inherit.
    pub cap22_inheritable_public_method_token_count: Option<u8>,
}

/// An exported field: token, flags, name, descriptor and attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldInfo {
    /// 0xFF for compile-time constants, which are inlined rather than linked.
    pub token: u8,
    pub access_flags: u16,
    /// Index of a CONSTANT_Utf8.
    pub name_index: u16,
    /// Index of a CONSTANT_Utf8 (a field descriptor such as `S` or `[B`).
    pub descriptor_index: u16,
    pub attributes: Vec<Attribute>,
}

/// An attribute of a field; the only one the spec defines is ConstantValue.
/// The info bytes are kept raw so that unknown attributes survive a round trip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribute {
    /// Index of a CONSTANT_Utf8 naming the attribute.
    pub name_index: u16,
    pub info: Vec<u8>,
}

/// An exported method or constructor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodInfo {
    pub token: u8,
    pub access_flags: u16,
    /// Index of a CONSTANT_Utf8.
    pub name_index: u16,
    /// Index of a CONSTANT_Utf8 (a method descriptor such as `(S)V`).
    pub descriptor_index: u16,
}

/// Where the decoder is, for error messages. The location string is only
/// built when an error is reported, so decoding a valid file formats nothing.
#[derive(Clone, Copy)]
struct Place<'p> {
    cp: &'p ConstantPool,
    class: usize,
    /// Known once the class's name_index was read and resolved.
    name: Option<&'p Utf8>,
    member: Option<(&'static str, usize)>,
    attribute: Option<usize>,
}

impl<'p> Place<'p> {
    fn class(cp: &'p ConstantPool, class: usize) -> Self {
        Place {
            cp,
            class,
            name: None,
            member: None,
            attribute: None,
        }
    }

    fn member(self, what: &'static str, index: usize) -> Self {
        Place {
            member: Some((what, index)),
            ..self
        }
    }

    fn attribute(self, index: usize) -> Self {
        Place {
            attribute: Some(index),
            ..self
        }
    }

    /// "export file, class #3 (a/B) method #2", as far as known.
    fn location(&self) -> String {
        let mut s = format!("{LOCATION}, class #{}", self.class);
        if let Some(name) = self.name {
            s.push_str(&format!(" ({name})"));
        }
        if let Some((what, i)) = self.member {
            s.push_str(&format!(" {what} #{i}"));
        }
        if let Some(i) = self.attribute {
            s.push_str(&format!(" attribute #{i}"));
        }
        s
    }

    /// Reads a u2 index and checks it with `lookup`, reporting the field's offset.
    fn index<T>(
        &self,
        r: &mut Reader<'_>,
        field: &'static str,
        lookup: impl FnOnce(&ConstantPool, u16) -> std::result::Result<T, LookupError>,
    ) -> Result<u16> {
        let offset = r.offset();
        let index = r.u2(field)?;
        lookup(self.cp, index)
            .map_err(|e| Error::invalid(self.location(), offset, format!("{field}: {e}")))?;
        Ok(index)
    }

    fn utf8(&self, r: &mut Reader<'_>, field: &'static str) -> Result<u16> {
        self.index(r, field, |cp, i| cp.utf8(i).map(|_| ()))
    }

    fn classref(&self, r: &mut Reader<'_>, field: &'static str) -> Result<u16> {
        self.index(r, field, |cp, i| cp.class_name(i).map(|_| ()))
    }

    fn relabel<T>(&self, res: Result<T>) -> Result<T> {
        res.map_err(|e| relabel(e, || self.location()))
    }
}

impl ClassInfo {
    /// Reads class #`number`; `cap22` says whether the format-2.3 trailing
    /// CAP22_inheritable_public_method_token_count is present.
    pub(crate) fn decode(
        r: &mut Reader<'_>,
        cp: &ConstantPool,
        number: usize,
        cap22: bool,
    ) -> Result<ClassInfo> {
        let mut place = Place::class(cp, number);
        let res = Self::decode_in(r, &mut place, cap22);
        res.map_err(|e| relabel(e, || place.location()))
    }

    /// Reads the class, naming it in `place` once its name is known.
    fn decode_in<'p>(r: &mut Reader<'_>, place: &mut Place<'p>, cap22: bool) -> Result<ClassInfo> {
        let token = r.u1("class token")?;
        let access_flags = r.u2("class access_flags")?;
        let name_index = place.classref(r, "class name_index")?;
        place.name = place.cp.class_name(name_index).ok();
        let place = *place;

        let n = usize::from(r.u2("export_supers_count")?);
        let n = r.bounded_count(n, 2, "supers")?;
        let mut supers = Vec::with_capacity(n);
        for _ in 0..n {
            supers.push(place.classref(r, "supers entry")?);
        }
        let n = usize::from(r.u1("export_interfaces_count")?);
        let n = r.bounded_count(n, 2, "interfaces")?;
        let mut interfaces = Vec::with_capacity(n);
        for _ in 0..n {
            interfaces.push(place.classref(r, "interfaces entry")?);
        }

        let n = usize::from(r.u2("export_fields_count")?);
        let n = r.bounded_count(n, MIN_FIELD_SIZE, "fields")?;
        let mut fields = Vec::with_capacity(n);
        for i in 0..n {
            let field = place.member("field", i);
            fields.push(field.relabel(FieldInfo::decode(r, &field))?);
        }

        let n = usize::from(r.u2("export_methods_count")?);
        let n = r.bounded_count(n, METHOD_SIZE, "methods")?;
        let mut methods = Vec::with_capacity(n);
        for i in 0..n {
            let method = place.member("method", i);
            methods.push(method.relabel(MethodInfo::decode(r, &method))?);
        }

        let cap22_inheritable_public_method_token_count = if cap22 {
            Some(r.u1("CAP22_inheritable_public_method_token_count")?)
        } else {
            None
        };
        Ok(ClassInfo {
            token,
            access_flags,
            name_index,
            supers,
            interfaces,
            fields,
            methods,
            cap22_inheritable_public_method_token_count,
        })
    }

    /// Appends this class; `cap22` must match the file's format (checked by the caller).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u1(self.token);
        out.put_u2(self.access_flags);
        out.put_u2(self.name_index);
        out.put_u2(to_u16(self.supers.len(), LOCATION, "export_supers_count")?);
        for &s in &self.supers {
            out.put_u2(s);
        }
        out.put_u1(to_u8(
            self.interfaces.len(),
            LOCATION,
            "export_interfaces_count",
        )?);
        for &i in &self.interfaces {
            out.put_u2(i);
        }
        out.put_u2(to_u16(self.fields.len(), LOCATION, "export_fields_count")?);
        for f in &self.fields {
            f.encode(out)?;
        }
        out.put_u2(to_u16(
            self.methods.len(),
            LOCATION,
            "export_methods_count",
        )?);
        for m in &self.methods {
            m.encode(out);
        }
        if let Some(n) = self.cap22_inheritable_public_method_token_count {
            out.put_u1(n);
        }
        Ok(())
    }

    /// The smallest number of bytes a class takes, to bound export_class_count.
    pub(crate) fn min_size(cap22: bool) -> usize {
        MIN_CLASS_SIZE + usize::from(cap22)
    }
}

impl FieldInfo {
    fn decode(r: &mut Reader<'_>, place: &Place<'_>) -> Result<FieldInfo> {
        let token = r.u1("field token")?;
        let access_flags = r.u2("field access_flags")?;
        let name_index = place.utf8(r, "field name_index")?;
        let descriptor_index = place.utf8(r, "field descriptor_index")?;
        let n = usize::from(r.u2("field attributes_count")?);
        let n = r.bounded_count(n, MIN_ATTRIBUTE_SIZE, "attributes")?;
        let mut attributes = Vec::with_capacity(n);
        for i in 0..n {
            let attr = place.attribute(i);
            attributes.push(attr.relabel(Attribute::decode(r, &attr))?);
        }
        Ok(FieldInfo {
            token,
            access_flags,
            name_index,
            descriptor_index,
            attributes,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u1(self.token);
        out.put_u2(self.access_flags);
        out.put_u2(self.name_index);
        out.put_u2(self.descriptor_index);
        out.put_u2(to_u16(
            self.attributes.len(),
            LOCATION,
            "field attributes_count",
        )?);
        for a in &self.attributes {
            out.put_u2(a.name_index);
            let len = u32::try_from(a.info.len()).map_err(|_| {
                Error::encode(
                    LOCATION,
                    format!(
                        "attribute of {} bytes does not fit a u4 length",
                        a.info.len()
                    ),
                )
            })?;
            out.put_u4(len);
            out.put_bytes(&a.info);
        }
        Ok(())
    }

    /// The index of the CONSTANT_Integer named by this field's ConstantValue
    /// attribute, if it has one that is well formed.
    pub fn constant_value_index(&self, cp: &ConstantPool) -> Option<u16> {
        self.attributes
            .iter()
            .find(|a| a.is_constant_value(cp))
            .and_then(|a| match a.info.as_slice() {
                [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
                _ => None,
            })
    }
}

impl Attribute {
    /// True if the attribute's name is ConstantValue.
    pub fn is_constant_value(&self, cp: &ConstantPool) -> bool {
        cp.utf8(self.name_index)
            .is_ok_and(|n| n.0 == CONSTANT_VALUE.as_bytes())
    }

    /// Reads one attribute; a ConstantValue must hold exactly the u2 index of
    /// a CONSTANT_Integer, other attributes are kept as they are.
    fn decode(r: &mut Reader<'_>, place: &Place<'_>) -> Result<Attribute> {
        let name_index = place.utf8(r, "attribute_name_index")?;
        let length_offset = r.offset();
        let length = r.u4("attribute_length")?;
        let length = usize::try_from(length).map_err(|_| {
            r.error_at(
                length_offset,
                format!("attribute_length {length} is too large"),
            )
        })?;
        let info_offset = r.offset();
        let info = r.bytes(length, "attribute info")?.to_vec();
        let attr = Attribute { name_index, info };
        if attr.is_constant_value(place.cp) {
            let [hi, lo] = attr.info[..] else {
                return Err(r.error_at(
                    length_offset,
                    format!("ConstantValue attribute_length is {length}, must be 2"),
                ));
            };
            if let Err(e) = place.cp.integer(u16::from_be_bytes([hi, lo])) {
                return Err(r.error_at(info_offset, format!("constantvalue_index: {e}")));
            }
        }
        Ok(attr)
    }
}

impl MethodInfo {
    fn decode(r: &mut Reader<'_>, place: &Place<'_>) -> Result<MethodInfo> {
        Ok(MethodInfo {
            token: r.u1("method token")?,
            access_flags: r.u2("method access_flags")?,
            name_index: place.utf8(r, "method name_index")?,
            descriptor_index: place.utf8(r, "method descriptor_index")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u1(self.token);
        out.put_u2(self.access_flags);
        out.put_u2(self.name_index);
        out.put_u2(self.descriptor_index);
    }
}
