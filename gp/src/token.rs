//! Delegated management (GP 2.3.1 sections 9.3 and 11.1.8, Annex C.4 and
//! C.5): the data a token signs, and the confirmation a card returns.
//!
//! A token is the card issuer's signature over the command it authorises:
//! `P1 || P2 || Lc || the data field up to (not including) the token`,
//! where Lc is the length of that data field part. For INSTALL it is the
//! length-prefixed fields before the token length; for DELETE the `4F`
//! object (and any others) before the `9E` token. The cryptography is the
//! `scp` crate's.
//!
//! A card that verified a token answers with a confirmation: `len
//! receipt || receipt || 02 || confirmation counter || len || card unique
//! data`, the receipt a MAC over the receipt data (C.5) that proves to the
//! issuer the card did it.

use crate::install::{DataError, InstallForInstall, InstallForLoad};

/// Tag of the token in the DELETE data field.
pub const TAG_DELETE_TOKEN: u8 = 0x9E;

/// `P1 || P2 || Lc || fields`: what a token signs, given the data field
/// part before the token.
pub fn token_data(p1: u8, p2: u8, fields: &[u8]) -> Result<Vec<u8>, DataError> {
    signed(p1, p2, fields)
}

fn signed(p1: u8, p2: u8, fields: &[u8]) -> Result<Vec<u8>, DataError> {
    let lc = u8::try_from(fields.len())
        .map_err(|_| DataError(format!("token data of {} bytes: over 255", fields.len())))?;
    let mut out = vec![p1, p2, lc];
    out.extend_from_slice(fields);
    Ok(out)
}

/// The fields of INSTALL data before the token length (the data field
/// without its last field, the token).
fn without_token(mut data: Vec<u8>, token: &[u8]) -> Vec<u8> {
    data.truncate(data.len() - 1 - token.len());
    data
}

/// The data a load token signs (INSTALL [for load], P1 02).
pub fn load_token_data(p1: u8, p2: u8, v: &InstallForLoad) -> Result<Vec<u8>, DataError> {
    signed(p1, p2, &without_token(v.to_data()?, &v.token))
}

/// The data an install token signs (INSTALL [for install] and/or [for make
/// selectable]).
pub fn install_token_data(p1: u8, p2: u8, v: &InstallForInstall) -> Result<Vec<u8>, DataError> {
    signed(p1, p2, &without_token(v.to_data()?, &v.token))
}

/// The DELETE data field for `aid`, with `token` when not empty.
pub fn delete_data(aid: &[u8], token: &[u8]) -> Result<Vec<u8>, DataError> {
    let n = u8::try_from(aid.len()).map_err(|_| DataError("AID over 255 bytes".into()))?;
    let mut out = vec![0x4F, n];
    out.extend_from_slice(aid);
    if !token.is_empty() {
        out.push(TAG_DELETE_TOKEN);
        crate::tlv::encode_length(token.len(), &mut out)
            .map_err(|e| DataError(format!("delete token: {e}")))?;
        out.extend_from_slice(token);
    }
    Ok(out)
}

/// The data a delete token signs.
pub fn delete_token_data(p1: u8, p2: u8, aid: &[u8]) -> Result<Vec<u8>, DataError> {
    signed(p1, p2, &delete_data(aid, &[])?)
}

/// Splits a DELETE data field into the part a token signs and the token
/// (empty when there is none).
pub fn split_delete_token(data: &[u8]) -> Result<(&[u8], Vec<u8>), DataError> {
    let objects =
        crate::tlv::Tlv::parse_all(data).map_err(|e| DataError(format!("DELETE data: {e}")))?;
    match objects.last() {
        Some(t) if t.tag().to_bytes() == [TAG_DELETE_TOKEN] => {
            let token = t.bytes().unwrap_or_default().to_vec();
            let encoded = t
                .to_bytes()
                .map_err(|e| DataError(format!("DELETE token: {e}")))?;
            Ok((&data[..data.len() - encoded.len()], token))
        }
        _ => Ok((data, Vec::new())),
    }
}

fn lv(out: &mut Vec<u8>, field: &[u8]) -> Result<(), DataError> {
    out.push(
        u8::try_from(field.len())
            .map_err(|_| DataError(format!("receipt field of {} bytes", field.len())))?,
    );
    out.extend_from_slice(field);
    Ok(())
}

/// What a receipt confirms (Annex C.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt<'a> {
    /// A load: the load file and its security domain.
    Load {
        load_file: &'a [u8],
        security_domain: &'a [u8],
    },
    /// An install: the load file and the new application.
    Install {
        load_file: &'a [u8],
        application: &'a [u8],
    },
    /// A delete: the AID deleted.
    Delete { aid: &'a [u8] },
}

impl Receipt<'_> {
    /// The receipt data the receipt key MACs: `02 || confirmation counter
    /// || len || card unique data || the AIDs, each length-prefixed`.
    pub fn data(&self, counter: u16, card_unique: &[u8]) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::new();
        lv(&mut out, &counter.to_be_bytes())?;
        lv(&mut out, card_unique)?;
        match self {
            Receipt::Load {
                load_file,
                security_domain,
            } => {
                lv(&mut out, load_file)?;
                lv(&mut out, security_domain)?;
            }
            Receipt::Install {
                load_file,
                application,
            } => {
                lv(&mut out, load_file)?;
                lv(&mut out, application)?;
            }
            Receipt::Delete { aid } => lv(&mut out, aid)?,
        }
        Ok(out)
    }
}

/// The confirmation a card answers after a command with a token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Confirmation {
    #[serde(serialize_with = "hex_upper")]
    pub receipt: Vec<u8>,
    pub counter: u16,
    #[serde(serialize_with = "hex_upper")]
    pub card_unique: Vec<u8>,
}

fn hex_upper<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(v))
}

impl Confirmation {
    pub fn to_bytes(&self) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::new();
        lv(&mut out, &self.receipt)?;
        lv(&mut out, &self.counter.to_be_bytes())?;
        lv(&mut out, &self.card_unique)?;
        Ok(out)
    }

    /// Parses response data; `None` for the single `00` of a card that
    /// gives no receipt.
    pub fn parse(data: &[u8]) -> Result<Option<Confirmation>, DataError> {
        if data == [0x00] || data.is_empty() {
            return Ok(None);
        }
        let mut pos = 0;
        let mut next = |what: &str| -> Result<&[u8], DataError> {
            let n = usize::from(*data.get(pos).ok_or_else(|| {
                DataError(format!(
                    "confirmation: no length of the {what} at offset {pos}"
                ))
            })?);
            let field = data.get(pos + 1..pos + 1 + n).ok_or_else(|| {
                DataError(format!(
                    "confirmation: the {what} at offset {pos} announces {n} bytes, fewer follow"
                ))
            })?;
            pos += 1 + n;
            Ok(field)
        };
        let receipt = next("receipt")?.to_vec();
        let counter = next("confirmation counter")?;
        let counter = <[u8; 2]>::try_from(counter).map_err(|_| {
            DataError(format!(
                "confirmation counter of {} bytes, 2 expected",
                counter.len()
            ))
        })?;
        let card_unique = next("card unique data")?.to_vec();
        if pos != data.len() {
            return Err(DataError(format!(
                "confirmation: {} bytes after the card unique data",
                data.len() - pos
            )));
        }
        Ok(Some(Confirmation {
            receipt,
            counter: u16::from_be_bytes(counter),
            card_unique,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_token_data_is_p1_p2_lc_and_the_fields_before_the_token() {
        let v = InstallForLoad {
            load_file_aid: hex::decode("F00000000101").unwrap(),
            security_domain_aid: hex::decode("A000000151000000").unwrap(),
            hash: vec![0xAB; 20],
            parameters: vec![],
            token: vec![0x77; 128],
        };
        let d = load_token_data(0x02, 0x00, &v).unwrap();
        let fields = 1 + 6 + 1 + 8 + 1 + 20 + 1;
        assert_eq!(&d[..3], &[0x02, 0x00, fields as u8]);
        assert_eq!(d.len(), 3 + fields);
        assert_eq!(&d[3..10], &hex::decode("06F00000000101").unwrap()[..]);
        assert_eq!(*d.last().unwrap(), 0x00, "empty load parameters last");
    }

    #[test]
    fn delete_token_round_trip() {
        let aid = hex::decode("F00000000101").unwrap();
        let data = delete_data(&aid, &[0x55; 128]).unwrap();
        assert_eq!(&data[..8], &hex::decode("4F06F00000000101").unwrap()[..]);
        assert_eq!(&data[8..11], &[0x9E, 0x81, 0x80]);
        let (signed_part, token) = split_delete_token(&data).unwrap();
        assert_eq!(signed_part, &data[..8]);
        assert_eq!(token, vec![0x55; 128]);
        assert_eq!(
            delete_token_data(0x00, 0x00, &aid).unwrap(),
            hex::decode("0000084F06F00000000101").unwrap()
        );
        let (all, none) = split_delete_token(&data[..8]).unwrap();
        assert_eq!((all.len(), none.len()), (8, 0));
    }

    #[test]
    fn confirmation_round_trip_and_receipt_data() {
        let c = Confirmation {
            receipt: vec![0x11; 16],
            counter: 0x0102,
            card_unique: vec![0x6A, 0x63, 0x74],
        };
        let b = c.to_bytes().unwrap();
        assert_eq!(Confirmation::parse(&b).unwrap(), Some(c));
        assert_eq!(Confirmation::parse(&[0]).unwrap(), None);
        assert!(Confirmation::parse(&b[..b.len() - 1]).is_err());
        let r = Receipt::Delete {
            aid: &[1, 2, 3, 4, 5],
        }
        .data(7, &[0xAA])
        .unwrap();
        assert_eq!(hex::encode_upper(r), "02000701AA050102030405");
    }
}
