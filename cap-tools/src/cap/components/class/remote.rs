//! Java Card RMI additions to the Class component (CAP 2.2+): the
//! `remote_interface_info` of a remote class and the names of remote interfaces.

use serde::Serialize;

use super::ClassRef;
use crate::bytes::{to_u8, Reader, WriteExt};
use crate::error::{Error, Result};

/// One remote method of a remote class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteMethodInfo {
    pub remote_method_hash: u16,
    /// Offset of the method's signature in the Class component's signature pool.
    pub signature_offset: u16,
    pub virtual_method_token: u8,
}

/// `remote_interface_info` of a class whose flags have ACC_REMOTE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteInterfaceInfo {
    pub remote_methods: Vec<RemoteMethodInfo>,
    pub hash_modifier: Vec<u8>,
    /// The class name the hashes were computed with.
    pub class_name: String,
    pub remote_interfaces: Vec<ClassRef>,
}

impl RemoteInterfaceInfo {
    pub fn decode(r: &mut Reader<'_>) -> Result<RemoteInterfaceInfo> {
        let n = usize::from(r.u1("remote_methods_count")?);
        let n = r.bounded_count(n, 5, "remote_methods")?;
        let mut remote_methods = Vec::with_capacity(n);
        for _ in 0..n {
            remote_methods.push(RemoteMethodInfo {
                remote_method_hash: r.u2("remote_method_hash")?,
                signature_offset: r.u2("signature_offset")?,
                virtual_method_token: r.u1("virtual_method_token")?,
            });
        }
        let hash_modifier = r.u1_prefixed("hash_modifier")?.to_vec();
        let class_name = decode_name(r, "class_name")?;
        let n = usize::from(r.u1("remote_interfaces_count")?);
        let n = r.bounded_count(n, 2, "remote_interfaces")?;
        let mut remote_interfaces = Vec::with_capacity(n);
        for _ in 0..n {
            remote_interfaces.push(ClassRef::decode(r, "remote_interfaces")?);
        }
        Ok(RemoteInterfaceInfo {
            remote_methods,
            hash_modifier,
            class_name,
            remote_interfaces,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u1(to_u8(
            self.remote_methods.len(),
            "remote_interface_info",
            "remote_methods_count",
        )?);
        for m in &self.remote_methods {
            out.put_u2(m.remote_method_hash);
            out.put_u2(m.signature_offset);
            out.put_u1(m.virtual_method_token);
        }
        out.put_u1_prefixed(&self.hash_modifier, "remote_interface_info hash_modifier")?;
        out.put_u1_prefixed(
            self.class_name.as_bytes(),
            "remote_interface_info class_name",
        )?;
        out.put_u1(to_u8(
            self.remote_interfaces.len(),
            "remote_interface_info",
            "remote_interfaces_count",
        )?);
        self.remote_interfaces
            .iter()
            .try_for_each(|c| c.encode(out))
    }
}

/// Reads a u1-length-prefixed name and checks it is UTF-8.
pub fn decode_name(r: &mut Reader<'_>, field: &'static str) -> Result<String> {
    let at = r.offset();
    let bytes = r.u1_prefixed(field)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| r.error_at(at, format!("{field} is not valid UTF-8")))
}

/// Fails unless a name fits its u1 length.
pub fn encode_name(name: &str, out: &mut Vec<u8>, field: &'static str) -> Result<()> {
    out.put_u1_prefixed(name.as_bytes(), field)
        .map_err(|_| Error::encode(field, format!("name of {} bytes exceeds 255", name.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_interface_info_round_trips() {
        let bytes = [
            0x01, // one remote method
            0x12, 0x34, 0x00, 0x05, 0x07, // hash, signature offset, token
            0x02, 0xAB, 0xCD, // hash modifier
            0x03, b'F', b'o', b'o', // class name
            0x01, 0x81, 0x02, // one remote interface 1.2
        ];
        let mut r = Reader::new(&bytes, "remote");
        let info = RemoteInterfaceInfo::decode(&mut r).unwrap();
        r.expect_end().unwrap();
        assert_eq!(info.class_name, "Foo");
        assert_eq!(info.remote_methods[0].signature_offset, 5);
        let mut out = Vec::new();
        info.encode(&mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn bad_names_and_counts_are_errors() {
        let mut r = Reader::new(&[0x00, 0x00, 0x02, 0xFF, 0xFE, 0x00], "remote");
        assert!(RemoteInterfaceInfo::decode(&mut r).is_err());
        let mut r = Reader::new(&[0xFF, 0x00], "remote");
        let e = RemoteInterfaceInfo::decode(&mut r).unwrap_err().to_string();
        assert!(e.contains("remote_methods count"), "{e}");
    }
}
