//! BER-TLV data objects as used by ISO/IEC 7816-4 and GlobalPlatform.
//!
//! Cards answer GET STATUS, GET DATA and SELECT with BER-TLV, and the loader
//! builds INSTALL parameters and PUT KEY data in it. Card responses are
//! untrusted input, so parsing never panics: every malformation is reported
//! as a [`TlvError`] with the byte offset where it was found.
//!
//! Supported encodings (what cards use in practice):
//! - tags of 1 to 3 bytes;
//! - definite lengths, short form (`00`..`7F`) and long form with 1 to 4
//!   length bytes (`81 xx` .. `84 xx xx xx xx`); the indefinite form (`80`) is
//!   rejected because ISO 7816-4 does not allow it;
//! - constructed tags (bit 6 of the first tag byte set) are parsed recursively.
//!
//! Parsing is lenient where cards are known to be sloppy (non-minimal long
//! lengths such as `81 05`, two-byte tags with a number below 31 as in EMV's
//! `9F02`) and strict where ambiguity would follow (truncation, trailing
//! bytes after a single object, overlong fields). Building always emits the
//! minimal length encoding.

use std::fmt;

/// Deepest nesting of constructed objects accepted by the parser.
///
/// Each level costs only two bytes of input, so without a bound a hostile
/// 64 KiB response could exhaust the stack. GlobalPlatform data nests at
/// most four levels; 32 leaves ample room.
pub const MAX_DEPTH: usize = 32;

/// A BER-TLV tag: its 1 to 3 bytes packed big-endian into a `u32`.
///
/// `Tag::new(0x4F)` is the one-byte tag `4F`, `Tag::new(0x9F7F)` the two-byte
/// tag `9F 7F`. The constructor does not validate, so tags can be `const`;
/// [`Tag::validate`] (called by the encoder) checks the continuation bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u32);

/// The class of a tag (bits 8-7 of its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagClass {
    Universal,
    Application,
    ContextSpecific,
    Private,
}

impl Tag {
    /// A tag from its bytes packed big-endian (`0x9F7F` for `9F 7F`).
    pub const fn new(raw: u32) -> Tag {
        Tag(raw)
    }

    /// The packed value given to [`Tag::new`].
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Number of bytes of the encoded tag (1 to 4; only 1 to 3 are valid).
    #[allow(clippy::len_without_is_empty)] // a tag is never empty
    pub const fn len(self) -> usize {
        match self.0 {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        }
    }

    /// The tag's bytes, most significant first.
    pub fn to_bytes(self) -> Vec<u8> {
        let all = self.0.to_be_bytes();
        all[4 - self.len()..].to_vec()
    }

    fn first_byte(self) -> u8 {
        // `len() <= 4` so the shift is at most 24 bits; truncation to the
        // leading byte is the intent.
        let shifted = self.0 >> (8 * (self.len() - 1));
        shifted.to_be_bytes()[3]
    }

    /// Whether the object's value is itself a sequence of TLVs (bit 6).
    pub fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The tag's class.
    pub fn class(self) -> TagClass {
        match self.first_byte() >> 6 {
            0 => TagClass::Universal,
            1 => TagClass::Application,
            2 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        }
    }

    /// Checks that the bytes form one well-formed tag: a single byte whose
    /// number bits are not `1F`, or a `xx1F` leading byte followed by
    /// subsequent bytes of which only the last has bit 8 clear.
    pub fn validate(self) -> Result<(), TlvError> {
        let bytes = self.to_bytes();
        let malformed = |reason: &str| {
            Err(TlvError::new(
                0,
                TlvErrorKind::InvalidTag {
                    tag: self,
                    reason: reason.to_string(),
                },
            ))
        };
        if bytes.len() > 3 {
            return malformed("longer than 3 bytes");
        }
        let (first, rest) = match bytes.split_first() {
            Some(split) => split,
            None => return malformed("empty"),
        };
        if rest.is_empty() {
            if first & 0x1F == 0x1F {
                return malformed("first byte announces subsequent bytes but there are none");
            }
            return Ok(());
        }
        if first & 0x1F != 0x1F {
            return malformed("multi-byte tag whose first byte does not end in 1F");
        }
        let (last, middle) = match rest.split_last() {
            Some(split) => split,
            None => return malformed("empty"),
        };
        if middle.iter().any(|b| b & 0x80 == 0) {
            return malformed("a subsequent byte other than the last has bit 8 clear");
        }
        if last & 0x80 != 0 {
            return malformed("the last byte has bit 8 set");
        }
        Ok(())
    }
}

impl From<u32> for Tag {
    fn from(raw: u32) -> Tag {
        Tag(raw)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode_upper(self.to_bytes()))
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

/// The value of a data object: raw bytes, or nested objects for a
/// constructed tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Primitive(Vec<u8>),
    Constructed(Vec<Tlv>),
}

/// One BER-TLV data object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    tag: Tag,
    value: Value,
}

impl Tlv {
    /// A primitive object holding `value` as raw bytes.
    pub fn primitive(tag: impl Into<Tag>, value: impl Into<Vec<u8>>) -> Tlv {
        Tlv {
            tag: tag.into(),
            value: Value::Primitive(value.into()),
        }
    }

    /// A constructed object holding `children`.
    pub fn constructed(tag: impl Into<Tag>, children: Vec<Tlv>) -> Tlv {
        Tlv {
            tag: tag.into(),
            value: Value::Constructed(children),
        }
    }

    pub fn tag(&self) -> Tag {
        self.tag
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The raw value of a primitive object; `None` for a constructed one
    /// (use [`Tlv::value_bytes`] to get its encoded children).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Primitive(bytes) => Some(bytes),
            Value::Constructed(_) => None,
        }
    }

    /// The nested objects of a constructed object; empty for a primitive one.
    pub fn children(&self) -> &[Tlv] {
        match &self.value {
            Value::Primitive(_) => &[],
            Value::Constructed(children) => children,
        }
    }

    /// The value field as it appears on the wire (children re-encoded for a
    /// constructed object).
    pub fn value_bytes(&self) -> Result<Vec<u8>, TlvError> {
        match &self.value {
            Value::Primitive(bytes) => Ok(bytes.clone()),
            Value::Constructed(children) => encode_all(children),
        }
    }

    /// The first direct child with `tag`.
    pub fn find(&self, tag: impl Into<Tag>) -> Option<&Tlv> {
        let tag = tag.into();
        self.children().iter().find(|c| c.tag == tag)
    }

    /// Follows `path` through nested children: `find_path(&[0x4F])` is
    /// [`Tlv::find`], `find_path(&[])` is `self`.
    pub fn find_path(&self, path: &[u32]) -> Option<&Tlv> {
        match path.split_first() {
            None => Some(self),
            Some((first, rest)) => self.find(*first)?.find_path(rest),
        }
    }

    /// Encodes the object (tag, minimal length, value).
    pub fn to_bytes(&self) -> Result<Vec<u8>, TlvError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoding of the object to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), TlvError> {
        self.tag.validate()?;
        let value = self.value_bytes()?;
        out.extend_from_slice(&self.tag.to_bytes());
        encode_length(value.len(), out)?;
        out.extend_from_slice(&value);
        Ok(())
    }

    /// Parses exactly one object; bytes after it are an error.
    pub fn parse(input: &[u8]) -> Result<Tlv, TlvError> {
        let mut parser = Parser { input, pos: 0 };
        let tlv = parser.object(0, input.len())?;
        if parser.pos != input.len() {
            return Err(TlvError::new(
                parser.pos,
                TlvErrorKind::TrailingBytes {
                    count: input.len() - parser.pos,
                },
            ));
        }
        Ok(tlv)
    }

    /// Parses a sequence of objects filling all of `input`.
    pub fn parse_all(input: &[u8]) -> Result<Vec<Tlv>, TlvError> {
        Parser { input, pos: 0 }.sequence(0, input.len())
    }
}

/// Follows `path` through a sequence of top-level objects: the first
/// element selects among `tlvs`, the rest descend into children.
pub fn find_path<'a>(tlvs: &'a [Tlv], path: &[u32]) -> Option<&'a Tlv> {
    let (first, rest) = path.split_first()?;
    let tag = Tag::new(*first);
    tlvs.iter().find(|t| t.tag == tag)?.find_path(rest)
}

/// Encodes a sequence of objects back to back.
pub fn encode_all(tlvs: &[Tlv]) -> Result<Vec<u8>, TlvError> {
    let mut out = Vec::new();
    for tlv in tlvs {
        tlv.encode_into(&mut out)?;
    }
    Ok(out)
}

/// Appends the minimal definite-length encoding of `len`.
pub fn encode_length(len: usize, out: &mut Vec<u8>) -> Result<(), TlvError> {
    let len32 =
        u32::try_from(len).map_err(|_| TlvError::new(0, TlvErrorKind::ValueTooLong { len }))?;
    if let Ok(short @ 0..=0x7F) = u8::try_from(len32) {
        out.push(short);
        return Ok(());
    }
    let bytes = len32.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = &bytes[skip..];
    // 1..=4 significant bytes, so the prefix is 0x81..=0x84.
    out.push(0x80 | u8::try_from(significant.len()).unwrap_or(4));
    out.extend_from_slice(significant);
    Ok(())
}

/// A parse or build failure and where in the input it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BER-TLV at offset {offset}: {kind}")]
pub struct TlvError {
    /// Byte offset in the outermost input (0 for build errors).
    pub offset: usize,
    pub kind: TlvErrorKind,
}

impl TlvError {
    fn new(offset: usize, kind: TlvErrorKind) -> TlvError {
        TlvError { offset, kind }
    }
}

/// What went wrong in a [`TlvError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvErrorKind {
    #[error("input ends inside a tag")]
    TruncatedTag,
    #[error("tag longer than 3 bytes")]
    TagTooLong,
    #[error("input ends inside a length field")]
    TruncatedLength,
    #[error("indefinite length (80) is not allowed")]
    IndefiniteLength,
    #[error("length field of {bytes} bytes (at most 4 are supported)")]
    LengthTooLong { bytes: usize },
    #[error("value of tag {tag} needs {needed} bytes but only {available} remain")]
    ValueOverrun {
        tag: Tag,
        needed: usize,
        available: usize,
    },
    #[error("constructed objects nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("{count} byte(s) after the data object")]
    TrailingBytes { count: usize },
    #[error("invalid tag {tag}: {reason}")]
    InvalidTag { tag: Tag, reason: String },
    #[error("value of {len} bytes does not fit a 4-byte length")]
    ValueTooLong { len: usize },
}

/// Recursive-descent parser over one input buffer; `pos` is absolute so
/// errors point into the original bytes even inside nested objects.
struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    /// Next byte before `end`; a missing byte is reported at `field_start`,
    /// the start of the tag or length being read.
    fn byte(
        &mut self,
        end: usize,
        field_start: usize,
        truncated: TlvErrorKind,
    ) -> Result<u8, TlvError> {
        if self.pos >= end {
            return Err(TlvError::new(field_start, truncated));
        }
        let b = self
            .input
            .get(self.pos)
            .copied()
            .ok_or_else(|| TlvError::new(field_start, truncated))?;
        self.pos += 1;
        Ok(b)
    }

    fn sequence(&mut self, depth: usize, end: usize) -> Result<Vec<Tlv>, TlvError> {
        let mut items = Vec::new();
        while self.pos < end {
            items.push(self.object(depth, end)?);
        }
        Ok(items)
    }

    fn object(&mut self, depth: usize, end: usize) -> Result<Tlv, TlvError> {
        if depth > MAX_DEPTH {
            return Err(TlvError::new(self.pos, TlvErrorKind::TooDeep));
        }
        let tag = self.tag(end)?;
        let len_pos = self.pos;
        let len = self.length(end)?;
        let available = end - self.pos;
        if len > available {
            return Err(TlvError::new(
                len_pos,
                TlvErrorKind::ValueOverrun {
                    tag,
                    needed: len,
                    available,
                },
            ));
        }
        let value_end = self.pos + len;
        let value = if tag.is_constructed() {
            Value::Constructed(self.sequence(depth + 1, value_end)?)
        } else {
            let bytes = self.input.get(self.pos..value_end).unwrap_or_default();
            self.pos = value_end;
            Value::Primitive(bytes.to_vec())
        };
        Ok(Tlv { tag, value })
    }

    fn tag(&mut self, end: usize) -> Result<Tag, TlvError> {
        let start = self.pos;
        let first = self.byte(end, start, TlvErrorKind::TruncatedTag)?;
        let mut raw = u32::from(first);
        if first & 0x1F != 0x1F {
            return Ok(Tag(raw));
        }
        loop {
            if self.pos - start >= 3 {
                return Err(TlvError::new(start, TlvErrorKind::TagTooLong));
            }
            let b = self.byte(end, start, TlvErrorKind::TruncatedTag)?;
            raw = (raw << 8) | u32::from(b);
            if b & 0x80 == 0 {
                return Ok(Tag(raw));
            }
        }
    }

    fn length(&mut self, end: usize) -> Result<usize, TlvError> {
        let start = self.pos;
        let first = self.byte(end, start, TlvErrorKind::TruncatedLength)?;
        if first < 0x80 {
            return Ok(usize::from(first));
        }
        let count = usize::from(first & 0x7F);
        if count == 0 {
            return Err(TlvError::new(start, TlvErrorKind::IndefiniteLength));
        }
        if count > 4 {
            return Err(TlvError::new(
                start,
                TlvErrorKind::LengthTooLong { bytes: count },
            ));
        }
        let mut len: u64 = 0;
        for _ in 0..count {
            len = (len << 8) | u64::from(self.byte(end, start, TlvErrorKind::TruncatedLength)?);
        }
        // A length that does not fit usize cannot fit in the input either.
        Ok(usize::try_from(len).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("test hex")
    }

    #[test]
    fn parses_primitive_short_length() {
        let t = Tlv::parse(&h("4F 05 A000000003")).unwrap();
        assert_eq!(t.tag(), Tag::new(0x4F));
        assert_eq!(t.bytes(), Some(&h("A000000003")[..]));
        assert!(!t.tag().is_constructed());
        assert_eq!(t.tag().class(), TagClass::Application);
    }

    #[test]
    fn parses_two_and_three_byte_tags() {
        let t = Tlv::parse(&h("9F7F 02 0102")).unwrap();
        assert_eq!(t.tag(), Tag::new(0x9F7F));
        assert_eq!(t.tag().len(), 2);
        let t = Tlv::parse(&h("5F8101 01 AA")).unwrap();
        assert_eq!(t.tag(), Tag::new(0x5F8101));
        assert_eq!(t.tag().to_bytes(), h("5F8101"));
        // EMV-style two-byte tag with a small number is accepted.
        assert_eq!(Tlv::parse(&h("9F02 00")).unwrap().tag(), Tag::new(0x9F02));
    }

    #[test]
    fn parses_long_lengths_1_to_4_bytes() {
        for (prefix, len) in [
            ("81", 200usize),
            ("82", 300),
            ("83", 70_000),
            ("84", 70_001),
        ] {
            let mut data = h("C1");
            data.extend(h(prefix));
            let nbytes = usize::from(h(prefix)[0] & 0x7F);
            data.extend(&(len as u32).to_be_bytes()[4 - nbytes..]);
            data.extend(std::iter::repeat_n(0x5A, len));
            let t = Tlv::parse(&data).unwrap();
            assert_eq!(t.bytes().unwrap().len(), len, "prefix {prefix}");
        }
        // Non-minimal long form is accepted on input.
        assert_eq!(
            Tlv::parse(&h("80 81 01 AA")).unwrap().bytes(),
            Some(&[0xAA][..])
        );
    }

    #[test]
    fn parses_nested_constructed_and_finds_paths() {
        // GET STATUS style: E3 { 4F aid, 9F70 lifecycle, C5 privileges }
        let data = h("E3 0E 4F 05 A000000151 9F70 01 07 C5 01 9E  E3 03 4F 01 11");
        let all = Tlv::parse_all(&data).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].tag().is_constructed());
        assert_eq!(
            all[0].find_path(&[0x9F70]).and_then(Tlv::bytes),
            Some(&[0x07][..])
        );
        assert_eq!(
            find_path(&all, &[0xE3, 0x4F]).and_then(Tlv::bytes),
            Some(&h("A000000151")[..])
        );
        assert!(find_path(&all, &[0xE3, 0x99]).is_none());
        assert!(find_path(&all, &[]).is_none());
        assert_eq!(all[1].find(0x4F).and_then(Tlv::bytes), Some(&[0x11][..]));
    }

    #[test]
    fn deep_path() {
        let data = h("61 0A 73 08 06 06 2A864886FC6B");
        let t = Tlv::parse(&data).unwrap();
        assert_eq!(
            t.find_path(&[0x73, 0x06]).and_then(Tlv::bytes),
            Some(&h("2A864886FC6B")[..])
        );
    }

    #[test]
    fn build_round_trips_with_minimal_lengths() {
        let t = Tlv::constructed(
            0xE3,
            vec![
                Tlv::primitive(0x4F, h("A000000151000000")),
                Tlv::primitive(0x9F70, vec![0x01]),
                Tlv::primitive(0xC4, vec![0u8; 130]),
            ],
        );
        let bytes = t.to_bytes().unwrap();
        assert_eq!(&bytes[..3], &h("E3 81 93"));
        assert_eq!(Tlv::parse(&bytes).unwrap(), t);
        let mut out = Vec::new();
        encode_length(0x7F, &mut out).unwrap();
        encode_length(0x80, &mut out).unwrap();
        encode_length(0x1234, &mut out).unwrap();
        encode_length(0x12_3456, &mut out).unwrap();
        encode_length(0x1234_5678, &mut out).unwrap();
        assert_eq!(out, h("7F 8180 821234 83123456 8412345678"));
    }

    #[test]
    fn build_rejects_invalid_tags() {
        for raw in [0x1F, 0x4F4F, 0x9F8F, 0x5F0101, 0x1F8F_8F01, 0x001F_8180] {
            let err = Tlv::primitive(raw, vec![]).to_bytes().unwrap_err();
            assert!(
                matches!(err.kind, TlvErrorKind::InvalidTag { .. }),
                "{raw:X}: {err}"
            );
        }
        assert!(Tag::new(0x9F7F).validate().is_ok());
        assert!(Tag::new(0x5F8101).validate().is_ok());
    }

    #[test]
    fn malformed_inputs_are_errors_with_offsets() {
        type Case = (&'static str, usize, fn(&TlvErrorKind) -> bool);
        let cases: &[Case] = &[
            ("", 0, |k| matches!(k, TlvErrorKind::TruncatedTag)),
            ("9F", 0, |k| matches!(k, TlvErrorKind::TruncatedTag)),
            ("5F81", 0, |k| matches!(k, TlvErrorKind::TruncatedTag)),
            ("5F818181 00", 0, |k| matches!(k, TlvErrorKind::TagTooLong)),
            ("4F", 1, |k| matches!(k, TlvErrorKind::TruncatedLength)),
            ("4F 82 01", 1, |k| {
                matches!(k, TlvErrorKind::TruncatedLength)
            }),
            ("4F 80 00 00", 1, |k| {
                matches!(k, TlvErrorKind::IndefiniteLength)
            }),
            ("4F 85 0000000001 AA", 1, |k| {
                matches!(k, TlvErrorKind::LengthTooLong { bytes: 5 })
            }),
            ("4F 05 0102", 1, |k| {
                matches!(
                    k,
                    TlvErrorKind::ValueOverrun {
                        needed: 5,
                        available: 2,
                        ..
                    }
                )
            }),
            ("4F 84 FFFFFFFF 00", 1, |k| {
                matches!(k, TlvErrorKind::ValueOverrun { .. })
            }),
            ("4F 01 AA BB", 3, |k| {
                matches!(k, TlvErrorKind::TrailingBytes { count: 1 })
            }),
            // A child overrunning its parent's value, not just the input.
            ("E3 03 4F 05 A000000003", 3, |k| {
                matches!(k, TlvErrorKind::ValueOverrun { available: 1, .. })
            }),
        ];
        for (input, offset, kind_ok) in cases {
            let err = Tlv::parse(&h(input)).unwrap_err();
            assert_eq!(err.offset, *offset, "{input}: {err}");
            assert!(kind_ok(&err.kind), "{input}: {err}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // Properly nested constructed objects, 200 deep, around nothing.
        let mut inner: Vec<u8> = Vec::new();
        for _ in 0..200 {
            let mut next = vec![0xE3];
            encode_length(inner.len(), &mut next).unwrap();
            next.extend(&inner);
            inner = next;
        }
        let err = Tlv::parse(&inner).unwrap_err();
        assert_eq!(err.kind, TlvErrorKind::TooDeep);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // Deterministic pseudo-random inputs (xorshift), every prefix.
        let mut state: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let len = (state % 40) as usize;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                buf.push(state as u8);
            }
            let _ = Tlv::parse_all(&buf);
            let _ = Tlv::parse(&buf);
        }
    }
}
