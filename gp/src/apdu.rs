//! Command and response APDUs (ISO/IEC 7816-4), short and extended.
//!
//! Only what the secure channel needs: parsing the four cases exactly (a
//! card rejects what does not parse), and re-encoding deterministically,
//! since the C-MAC covers the header and Lc *as they travel*.

use core::fmt;

/// An APDU that does not follow ISO/IEC 7816-3/-4 encoding rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Fewer than the four header bytes.
    #[error("command APDU of {0} bytes is shorter than its 4-byte header")]
    TooShort(usize),
    /// Length fields disagree with the number of bytes present.
    #[error("command APDU of {len} bytes does not match its length fields ({detail})")]
    BadLength { len: usize, detail: &'static str },
    /// More data than an extended APDU can carry (65535 bytes).
    #[error("command data of {0} bytes exceeds the 65535-byte extended APDU limit")]
    DataTooLong(usize),
    /// Ne must be 1..=65536.
    #[error("expected response length Ne={0} is outside 1..=65536")]
    BadNe(usize),
    /// ISO/IEC 7816-4 codes logical channels 0 to 19 only.
    #[error("logical channel {0} cannot be coded in a CLA: ISO/IEC 7816-4 has channels 0 to 19")]
    BadChannel(u8),
    /// A response APDU must at least carry SW1 SW2.
    #[error("response APDU of {0} bytes has no status word")]
    NoStatusWord(usize),
}

/// The highest logical channel number a CLA can carry.
pub const MAX_LOGICAL_CHANNEL: u8 = 19;

/// The logical channel a CLA names (ISO/IEC 7816-4 5.4.1): 0-3 in b2-b1 of
/// the first interindustry coding (b7 clear), 4-19 as 4 + b4-b1 of the
/// further one (b7 set). GlobalPlatform's proprietary classes (8x, Cx)
/// follow the same layout.
pub fn channel_of(cla: u8) -> u8 {
    if cla & 0x40 == 0 {
        cla & 0x03
    } else {
        4 + (cla & 0x0F)
    }
}

/// Whether the CLA announces secure messaging: b3 ('04') in the first
/// coding, b6 ('20') in the further one.
pub fn is_secure_messaging(cla: u8) -> bool {
    if cla & 0x40 == 0 {
        cla & 0x04 != 0
    } else {
        cla & 0x20 != 0
    }
}

/// `cla` moved to logical channel `channel`: the proprietary bit (b8),
/// command chaining (b5) and the secure messaging indication are kept,
/// the coding switches between the first (channels 0-3, secure messaging
/// '04') and the further one (channels 4-19: '40' | n-4, secure messaging
/// '20') as the channel needs. Why here: every command of a session on a
/// supplementary channel is recoded, and a C-MAC covers the CLA as sent.
pub fn cla_on_channel(cla: u8, channel: u8) -> Result<u8, ApduError> {
    Ok(LogicalChannel::new(channel)?.cla(cla))
}

fn recode(cla: u8, channel: u8) -> u8 {
    let kept = cla & 0x90;
    let secured = is_secure_messaging(cla);
    if channel < 4 {
        kept | channel | if secured { 0x04 } else { 0 }
    } else {
        kept | 0x40 | (channel.saturating_sub(4) & 0x0F) | if secured { 0x20 } else { 0 }
    }
}

/// A logical channel number a CLA can carry (0 to 19), checked once so
/// that recoding a CLA for it cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LogicalChannel(u8);

impl LogicalChannel {
    /// The basic channel, always open.
    pub const BASIC: LogicalChannel = LogicalChannel(0);

    /// Channel `n`, if ISO/IEC 7816-4 can code it (0 to 19).
    pub fn new(n: u8) -> Result<LogicalChannel, ApduError> {
        if n > MAX_LOGICAL_CHANNEL {
            return Err(ApduError::BadChannel(n));
        }
        Ok(LogicalChannel(n))
    }

    /// The channel number.
    pub fn number(self) -> u8 {
        self.0
    }

    /// `cla` recoded for this channel ([`cla_on_channel`]).
    pub fn cla(self, cla: u8) -> u8 {
        recode(cla, self.0)
    }
}

impl fmt::Display for LogicalChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "logical channel {}", self.0)
    }
}

/// A command APDU: header, command data, and the expected response length.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandApdu {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    ne: Option<usize>,
    extended: bool,
}

impl CommandApdu {
    /// Builds a command. `ne` is the expected response length Ne (Le = 0
    /// in a short APDU means Ne = 256); `None` means no Le field.
    pub fn new(
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: impl Into<Vec<u8>>,
        ne: Option<usize>,
    ) -> Result<Self, ApduError> {
        let data = data.into();
        if data.len() > 0xFFFF {
            return Err(ApduError::DataTooLong(data.len()));
        }
        if let Some(n) = ne {
            if !(1..=65536).contains(&n) {
                return Err(ApduError::BadNe(n));
            }
        }
        Ok(CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
            extended: false,
        })
    }

    /// For commands the crate builds from fixed-size parts, which cannot
    /// exceed the limits `new` checks (at most a few dozen data bytes).
    pub(crate) fn fixed(
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: Vec<u8>,
        ne: Option<usize>,
    ) -> Self {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
            extended: false,
        }
    }

    /// The same command on `channel`, its CLA recoded by [`cla_on_channel`].
    pub fn on_channel(mut self, channel: LogicalChannel) -> Self {
        self.cla = channel.cla(self.cla);
        self
    }

    /// Same command, forced to extended length encoding.
    pub fn with_extended(mut self, extended: bool) -> Self {
        self.extended = extended;
        self
    }

    /// Parses the bytes of a command APDU (cases 1, 2S, 3S, 4S, 2E, 3E, 4E).
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let (header, body) = match bytes {
            [cla, ins, p1, p2, body @ ..] => ([*cla, *ins, *p1, *p2], body),
            _ => return Err(ApduError::TooShort(bytes.len())),
        };
        let bad = |detail| ApduError::BadLength {
            len: bytes.len(),
            detail,
        };
        let short_ne = |le: u8| if le == 0 { 256 } else { usize::from(le) };
        let ext_ne = |hi: u8, lo: u8| match u16::from_be_bytes([hi, lo]) {
            0 => 65536,
            n => usize::from(n),
        };
        let (data, ne, extended): (&[u8], Option<usize>, bool) = match body {
            [] => (&[], None, false),
            [le] => (&[], Some(short_ne(*le)), false),
            [0, hi, lo] => (&[], Some(ext_ne(*hi, *lo)), true),
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if lc == 0 {
                    return Err(bad("extended Lc of zero"));
                }
                match rest.len().checked_sub(lc) {
                    Some(0) => (rest, None, true),
                    Some(2) => (&rest[..lc], Some(ext_ne(rest[lc], rest[lc + 1])), true),
                    _ => return Err(bad("extended Lc")),
                }
            }
            [0, ..] => return Err(bad("extended length field truncated")),
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => (rest, None, false),
                    Some(1) => (&rest[..lc], Some(short_ne(rest[lc])), false),
                    _ => return Err(bad("short Lc")),
                }
            }
        };
        let [cla, ins, p1, p2] = header;
        Ok(CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            ne,
            extended,
        })
    }

    /// Class byte.
    pub fn cla(&self) -> u8 {
        self.cla
    }
    /// Instruction byte.
    pub fn ins(&self) -> u8 {
        self.ins
    }
    /// Parameter 1.
    pub fn p1(&self) -> u8 {
        self.p1
    }
    /// Parameter 2.
    pub fn p2(&self) -> u8 {
        self.p2
    }
    /// Command data field (empty when there is no Lc).
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    /// Expected response length Ne, if an Le field is present.
    pub fn ne(&self) -> Option<usize> {
        self.ne
    }
    /// The four header bytes.
    pub fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// Whether this command travels with extended length fields: when asked
    /// to, or when its data or Ne do not fit the short form.
    pub fn is_extended(&self) -> bool {
        self.extended || self.data.len() > 255 || self.ne.is_some_and(|n| n > 256)
    }

    /// The Lc field as encoded on the wire (empty for no data).
    pub fn lc_field(&self) -> Vec<u8> {
        lc_field(self.data.len(), self.is_extended())
    }

    /// The encoded APDU.
    pub fn to_bytes(&self) -> Vec<u8> {
        let extended = self.is_extended();
        let mut out = Vec::with_capacity(9 + self.data.len());
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&lc_field(self.data.len(), extended));
        out.extend_from_slice(&self.data);
        if let Some(ne) = self.ne {
            if extended {
                if self.data.is_empty() {
                    out.push(0);
                }
                // Ne = 65536 encodes as 0000: the low 16 bits.
                let [.., hi, lo] = ne.to_be_bytes();
                out.extend_from_slice(&[hi, lo]);
            } else {
                // Ne = 256 encodes as 00: the low byte.
                let [.., lo] = ne.to_be_bytes();
                out.push(lo);
            }
        }
        out
    }
}

/// The Lc field for `len` data bytes: nothing, one byte, or '00' and two bytes.
pub fn lc_field(len: usize, extended: bool) -> Vec<u8> {
    match len {
        0 => Vec::new(),
        n if extended || n > 255 => {
            let n = u16::try_from(n).unwrap_or(u16::MAX);
            let [hi, lo] = n.to_be_bytes();
            vec![0, hi, lo]
        }
        n => vec![u8::try_from(n).unwrap_or(u8::MAX)],
    }
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandApdu({})", hex::encode_upper(self.to_bytes()))
    }
}

/// A response APDU: data field and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseApdu {
    /// Response data (may be empty).
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: u16,
}

impl ResponseApdu {
    /// A response from its parts.
    pub fn new(data: impl Into<Vec<u8>>, sw: u16) -> Self {
        ResponseApdu {
            data: data.into(),
            sw,
        }
    }

    /// Splits `data || SW1 SW2`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        match bytes.len().checked_sub(2) {
            Some(at) => {
                let (data, sw) = bytes.split_at(at);
                Ok(ResponseApdu {
                    data: data.to_vec(),
                    sw: u16::from_be_bytes([sw[0], sw[1]]),
                })
            }
            None => Err(ApduError::NoStatusWord(bytes.len())),
        }
    }

    /// `data || SW1 SW2`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }

    /// SW 9000, or a warning (62xx, 63xx): the outcomes GlobalPlatform
    /// protects with R-MAC; errors travel as bare status words.
    pub fn is_success_or_warning(&self) -> bool {
        self.sw == 0x9000 || matches!(self.sw >> 8, 0x62 | 0x63)
    }
}

impl fmt::Debug for ResponseApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResponseApdu({} {:04X})",
            hex::encode_upper(&self.data),
            self.sw
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn cla_on_every_channel() {
        // ISO/IEC 7816-4 5.4.1: channels 0-3 in b2-b1, 4-19 as '40' | n-4.
        for (cla, channel, want) in [
            (0x00, 0, 0x00),
            (0x00, 3, 0x03),
            (0x80, 1, 0x81),
            (0x84, 2, 0x86),
            (0x80, 4, 0xC0),
            (0x84, 4, 0xE0),
            (0x00, 19, 0x4F),
            (0x84, 19, 0xEF),
            (0x10, 5, 0x51),
            (0xE5, 1, 0x85),
            (0xC3, 0, 0x80),
        ] {
            let got = cla_on_channel(cla, channel).unwrap();
            assert_eq!(got, want, "CLA {cla:02X} on channel {channel}");
            assert_eq!(channel_of(got), channel);
            assert_eq!(is_secure_messaging(got), is_secure_messaging(cla));
        }
        assert_eq!(cla_on_channel(0x80, 20), Err(ApduError::BadChannel(20)));
        let c = CommandApdu::new(0x80, 0xCA, 0, 0x66, vec![], Some(256)).unwrap();
        let seven = LogicalChannel::new(7).unwrap();
        assert_eq!(c.on_channel(seven).to_bytes(), h("C3CA006600"));
        assert!(LogicalChannel::new(20).is_err());
    }

    #[test]
    fn parses_and_reencodes_all_cases() {
        for (hex, data_len, ne, ext) in [
            ("80CA9F7F", 0, None, false),
            ("80CA9F7F00", 0, Some(256), false),
            ("80CA9F7F10", 0, Some(16), false),
            ("80E6000005010203040500", 5, Some(256), false),
            ("80E60000050102030405", 5, None, false),
            ("80CA9F7F000000", 0, Some(65536), true),
            ("80CA9F7F000123", 0, Some(0x123), true),
            ("80E80000000003010203", 3, None, true),
            ("80E800000000030102030000", 3, Some(65536), true),
        ] {
            let bytes = h(hex);
            let apdu = CommandApdu::parse(&bytes).unwrap();
            assert_eq!(apdu.data().len(), data_len, "{hex}");
            assert_eq!(apdu.ne(), ne, "{hex}");
            assert_eq!(apdu.is_extended(), ext, "{hex}");
            assert_eq!(apdu.to_bytes(), bytes, "{hex}");
        }
    }

    #[test]
    fn rejects_inconsistent_lengths() {
        for hex in [
            "",
            "80CA9F",
            "80E600000501020304",
            "80E600000501020304050607",
            "80E60000050102030405060708",
            "80E6000000",
            "80E600000000",
            "80E6000000000001",
            "80E600000000000102",
            "80E6000000000102030405",
        ] {
            let bytes = h(hex);
            if hex == "80E6000000" {
                // Five bytes is case 2S with Le = 00, i.e. Ne = 256.
                assert_eq!(CommandApdu::parse(&bytes).unwrap().ne(), Some(256));
                continue;
            }
            assert!(CommandApdu::parse(&bytes).is_err(), "{hex}");
        }
    }

    #[test]
    fn long_data_switches_to_extended() {
        let apdu = CommandApdu::new(0x80, 0xE8, 0, 0, vec![7; 300], Some(256)).unwrap();
        let bytes = apdu.to_bytes();
        assert_eq!(&bytes[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(&bytes[bytes.len() - 2..], &[0x01, 0x00]);
        assert_eq!(
            CommandApdu::parse(&bytes).unwrap(),
            apdu.with_extended(true)
        );
        assert!(CommandApdu::new(0, 0, 0, 0, vec![0; 65536], None).is_err());
        assert!(CommandApdu::new(0, 0, 0, 0, vec![], Some(0)).is_err());
    }

    #[test]
    fn responses() {
        let r = ResponseApdu::parse(&h("01029000")).unwrap();
        assert_eq!(r, ResponseApdu::new(vec![1, 2], 0x9000));
        assert_eq!(r.to_bytes(), h("01029000"));
        assert!(ResponseApdu::parse(&[0x90]).is_err());
        assert!(ResponseApdu::new(vec![], 0x6310).is_success_or_warning());
        assert!(!ResponseApdu::new(vec![], 0x6982).is_success_or_warning());
    }
}
