//! Application identifiers (ISO/IEC 7816-5): 5 to 16 bytes, the first 5 the RID.

use std::fmt;

use serde::{Serialize, Serializer};

/// An AID as it appears in a CAP or export file. Length is not enforced at
/// construction so that files with bad AIDs can still be read and reported by
/// the verifier; [`Aid::is_valid_length`] tells whether it is 5..=16 bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Aid(pub Vec<u8>);

impl Aid {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Registered application provider identifier: the first five bytes.
    pub fn rid(&self) -> &[u8] {
        &self.0[..self.0.len().min(5)]
    }
    /// ISO 7816-5 allows 5 to 16 bytes.
    pub fn is_valid_length(&self) -> bool {
        (5..=16).contains(&self.0.len())
    }
    /// Upper-case hex without separators, e.g. `A0000000620101`.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(&self.0)
    }
    /// Parses hex (separators `:` and spaces allowed).
    pub fn from_hex(s: &str) -> Result<Aid, String> {
        let clean: String = s.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        let bytes = hex::decode(&clean).map_err(|e| format!("AID '{s}' is not hex: {e}"))?;
        let aid = Aid(bytes);
        if !aid.is_valid_length() {
            return Err(format!(
                "AID '{s}' has {} bytes; an AID has 5 to 16",
                aid.0.len()
            ));
        }
        Ok(aid)
    }
}

impl fmt::Display for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aid({})", self.to_hex())
    }
}

impl Serialize for Aid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_length_rule() {
        let a = Aid::from_hex("a0:00:00:00:62:01:01").unwrap();
        assert_eq!(a.to_hex(), "A0000000620101");
        assert_eq!(a.rid(), &[0xA0, 0, 0, 0, 0x62]);
        assert!(Aid::from_hex("A000").is_err());
        assert!(Aid::from_hex("zz").is_err());
        assert!(Aid::from_hex(&"00".repeat(17)).is_err());
    }
}
