//! The secured script packet: what the key holder signs and the thin client
//! plays. A JSON document (self-describing, versioned), documented in the
//! README under "Secured scripts":
//!
//! ```text
//! { "format": "jct-secured-script", "version": 1,
//!   "body": { "header": {...}, "session": {...}, "commands": [...], "rollback": {...} },
//!   "signature": { "algorithm": "ECDSA-P256-SHA256", "key_id": "...", "value": "..." } }
//! ```
//!
//! The signature covers [`Body::signed_bytes`]: the body re-serialized from
//! its parsed form, so whitespace or hex case in the file cannot matter
//! and any change to what is played breaks it. Unknown fields are refused,
//! so nothing unsigned can ride along.

use serde::{Deserialize, Serialize};

use super::ScriptError;

/// The `format` value of every packet.
pub const FORMAT: &str = "jct-secured-script";
/// The packet version this code writes and reads.
pub const VERSION: u32 = 1;
/// Largest packet file accepted (a 64 KiB load file hex-encoded, many
/// times over, fits; a runaway file does not).
pub const MAX_PACKET_BYTES: usize = 64 << 20;
/// Most commands in one script (a 1 MiB load file in 255-byte blocks is
/// about 4,100).
pub const MAX_COMMANDS: usize = 65_536;

/// Bytes written as upper-case hex in the file.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Hex(pub Vec<u8>);

impl core::fmt::Debug for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&hex::encode_upper(&self.0))
    }
}

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&upper_hex(&self.0))
    }
}

/// Upper-case hex through a table: a script's LOAD blocks are most of its
/// bytes, and the hex crate's iterator-based encoder was a third of the
/// build time.
pub fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0F)]);
    }
    // Only ASCII digits were written.
    String::from_utf8(out).unwrap_or_default()
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(s.as_bytes())
            .map(Hex)
            .map_err(|e| serde::de::Error::custom(format!("not hex: {e}")))
    }
}

impl From<Vec<u8>> for Hex {
    fn from(v: Vec<u8>) -> Hex {
        Hex(v)
    }
}

impl From<&[u8]> for Hex {
    fn from(v: &[u8]) -> Hex {
        Hex(v.to_vec())
    }
}

/// A status word pattern: four hex digits, `X` for any digit (`9000`,
/// `61XX`, `6A88`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwPattern {
    value: u16,
    mask: u16,
}

impl SwPattern {
    /// Exactly this status word.
    pub fn exact(sw: u16) -> SwPattern {
        SwPattern {
            value: sw,
            mask: 0xFFFF,
        }
    }

    /// Parses `9000`, `61XX`, `6X82`...
    pub fn parse(s: &str) -> Result<SwPattern, String> {
        let bytes = s.as_bytes();
        if bytes.len() != 4 {
            return Err(format!(
                "status word pattern {s:?} must be 4 hex digits or X"
            ));
        }
        let (mut value, mut mask) = (0u16, 0u16);
        for &c in bytes {
            value <<= 4;
            mask <<= 4;
            if c == b'X' || c == b'x' {
                continue;
            }
            let digit = (c as char)
                .to_digit(16)
                .ok_or_else(|| format!("status word pattern {s:?}: {:?} is not hex", c as char))?;
            value |= u16::try_from(digit).map_err(|_| format!("status word pattern {s:?}"))?;
            mask |= 0xF;
        }
        Ok(SwPattern { value, mask })
    }

    /// Whether `sw` matches.
    pub fn matches(self, sw: u16) -> bool {
        sw & self.mask == self.value
    }
}

impl core::fmt::Display for SwPattern {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for shift in [12u16, 8, 4, 0] {
            if (self.mask >> shift) & 0xF == 0 {
                f.write_str("X")?;
            } else {
                write!(f, "{:X}", (self.value >> shift) & 0xF)?;
            }
        }
        Ok(())
    }
}

impl Serialize for SwPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for SwPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SwPattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A byte written as a hex string ("70") in files; a plain number is read too.
pub(crate) mod hex_byte {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u8, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:02X}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(u8),
            Text(String),
        }
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(t) => u8::from_str_radix(t.trim_start_matches("0x"), 16)
                .map_err(|e| serde::de::Error::custom(format!("\"i\" {t:?}: {e}"))),
        }
    }
}

/// How the session of a script was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Built without the card: the card challenge is predictable, and the
    /// script carries the INITIALIZE UPDATE response it expects.
    Offline,
    /// Built from the card's INITIALIZE UPDATE response, which the client
    /// sent to the key holder; the client plays on from EXTERNAL
    /// AUTHENTICATE.
    Online,
}

/// Which card a script is for. Every field present must match the card;
/// the player reads them with GET DATA before it sends anything of the
/// script.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardIdentity {
    /// Card Image Number (GET DATA 45, value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cin: Option<Hex>,
    /// Issuer Identification Number (GET DATA 42, value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<Hex>,
    /// IC serial number from the CPLC (GET DATA 9F7F, bytes 12..16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cplc_serial: Option<Hex>,
    /// Key diversification data (the first 10 bytes of the INITIALIZE
    /// UPDATE response), which the card keys derive from.
    pub kdd: Hex,
}

/// What the script is for and under which conditions it may run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub mode: Mode,
    pub card: CardIdentity,
    /// AID of the security domain the session opens with.
    pub security_domain: Hex,
    /// Key version number of the card's key set.
    pub key_version: u8,
    /// Secure channel protocol: 2 or 3.
    pub scp: u8,
    /// Its implementation option "i" (hex in the file: "70").
    #[serde(with = "hex_byte")]
    pub i: u8,
    /// Security level of EXTERNAL AUTHENTICATE (P1; hex in the file: "03").
    #[serde(with = "hex_byte")]
    pub security_level: u8,
    /// The sequence counter the session uses (offline: the value the card
    /// must be at; online: the one the card reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_counter: Option<u32>,
    /// Creation and expiry, seconds since the Unix epoch (UTC).
    pub created: u64,
    pub expires: u64,
    /// What the script does, for people.
    pub description: String,
}

/// The opening of the secure channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// INITIALIZE UPDATE (with the key holder's host challenge, offline;
    /// the client's, online).
    pub initialize_update: Hex,
    /// The exact response the card must give (data and SW): offline, what
    /// the key holder predicted; online, what the card gave.
    pub expected_response: Hex,
    /// EXTERNAL AUTHENTICATE with the host cryptogram and its C-MAC.
    pub external_authenticate: Hex,
}

/// One secured command and the answers that let the script go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// What it is (INSTALL [for load], LOAD, ...), for messages.
    pub kind: String,
    /// The command as it goes on the wire (MACed, maybe encrypted).
    pub apdu: Hex,
    /// Status words accepted.
    pub accept: Vec<SwPattern>,
}

/// What to send when the script breaks after it has changed the card: a
/// fresh session (the counter after the script's) and its commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The rollback runs when command number `from` (0-based) or a later
    /// one fails; before it the card holds nothing of the script.
    pub from: usize,
    /// Offline: the session to open for the rollback. Online: absent, the
    /// client asks the key holder for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// The rollback's plain commands, as the key holder will wrap them
    /// online (offline they are in `commands`, wrapped).
    pub commands: Vec<Command>,
    /// Whether `commands` are wrapped for `session` (offline) or plain.
    pub wrapped: bool,
}

/// Everything the signature covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub header: Header,
    pub session: Session,
    pub commands: Vec<Command>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
}

impl Body {
    /// The bytes the signature is computed over: the canonical JSON of the
    /// body, prefixed with the format name and version so that a
    /// signature can never be moved to another kind of document.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, ScriptError> {
        let mut out = format!("{FORMAT}/{VERSION}\n").into_bytes();
        serde_json::to_writer(&mut out, self)
            .map_err(|e| ScriptError::Format(format!("cannot serialize the body: {e}")))?;
        Ok(out)
    }

    /// Checks what serde cannot: sizes and values the player relies on.
    pub fn validate(&self) -> Result<(), ScriptError> {
        let bad = |m: String| Err(ScriptError::Format(m));
        let h = &self.header;
        if h.scp != 2 && h.scp != 3 {
            return bad(format!("scp must be 2 or 3, got {}", h.scp));
        }
        if scp::SecurityLevel::from_byte(h.security_level).is_none() {
            return bad(format!("no security level {:02X}", h.security_level));
        }
        if !(5..=16).contains(&h.security_domain.0.len()) {
            return bad(format!(
                "security domain AID must be 5 to 16 bytes, got {}",
                h.security_domain.0.len()
            ));
        }
        if h.card.kdd.0.len() != 10 {
            return bad(format!(
                "key diversification data must be 10 bytes, got {}",
                h.card.kdd.0.len()
            ));
        }
        let all = self
            .commands
            .len()
            .saturating_add(self.rollback.as_ref().map_or(0, |r| r.commands.len()));
        if all > MAX_COMMANDS {
            return bad(format!("{all} commands: at most {MAX_COMMANDS}"));
        }
        let sessions = std::iter::once(&self.session)
            .chain(self.rollback.as_ref().and_then(|r| r.session.as_ref()));
        for s in sessions {
            check_apdu("INITIALIZE UPDATE", &s.initialize_update.0)?;
            check_apdu("EXTERNAL AUTHENTICATE", &s.external_authenticate.0)?;
            if s.expected_response.0.len() < 2 {
                return bad("the expected INITIALIZE UPDATE response has no status word".into());
            }
        }
        let commands = self
            .commands
            .iter()
            .chain(self.rollback.iter().flat_map(|r| &r.commands));
        for c in commands {
            check_apdu(&c.kind, &c.apdu.0)?;
            if c.accept.is_empty() {
                return bad(format!("{}: no accepted status word", c.kind));
            }
        }
        if let Some(r) = &self.rollback {
            if r.from > self.commands.len() {
                return bad(format!(
                    "rollback from command {} of {}",
                    r.from,
                    self.commands.len()
                ));
            }
            if r.wrapped != r.session.is_some() {
                return bad("offline rollback commands come with their session".into());
            }
        }
        Ok(())
    }
}

fn check_apdu(what: &str, bytes: &[u8]) -> Result<(), ScriptError> {
    gp::apdu::CommandApdu::parse(bytes)
        .map(|_| ())
        .map_err(|e| ScriptError::Format(format!("{what}: not a command APDU: {e}")))
}

/// The signature block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureBlock {
    /// Always `ECDSA-P256-SHA256`.
    pub algorithm: String,
    /// First 8 bytes of SHA-256 of the public key (SEC1 uncompressed): which
    /// key signed, so a client with several can say which it lacks.
    pub key_id: Hex,
    /// r || s, 64 bytes.
    pub value: Hex,
}

/// A whole packet file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Packet {
    pub format: String,
    pub version: u32,
    pub body: Body,
    pub signature: SignatureBlock,
}

impl Packet {
    /// Parses a packet file: format, version and structure, never the
    /// signature (see [`super::sign::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Packet, ScriptError> {
        if bytes.len() > MAX_PACKET_BYTES {
            return Err(ScriptError::Format(format!(
                "{} bytes: a packet is at most {MAX_PACKET_BYTES}",
                bytes.len()
            )));
        }
        // The format and version first, so an old or foreign file gets a
        // clear message rather than a field-by-field complaint.
        #[derive(Deserialize)]
        struct Probe {
            format: Option<String>,
            version: Option<u32>,
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| ScriptError::Format(format!("not a JSON packet: {e}")))?;
        if probe.format.as_deref() != Some(FORMAT) {
            return Err(ScriptError::Format(format!(
                "not a secured script (format {:?}, expected {FORMAT:?})",
                probe.format.unwrap_or_default()
            )));
        }
        if probe.version != Some(VERSION) {
            return Err(ScriptError::Format(format!(
                "packet version {:?}: this jct reads version {VERSION}",
                probe.version
            )));
        }
        let packet: Packet = serde_json::from_slice(bytes)
            .map_err(|e| ScriptError::Format(format!("malformed packet: {e}")))?;
        packet.body.validate()?;
        Ok(packet)
    }

    /// The file bytes (pretty JSON, a newline at the end).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ScriptError> {
        let mut out = serde_json::to_vec_pretty(self)
            .map_err(|e| ScriptError::Format(format!("cannot serialize the packet: {e}")))?;
        out.push(b'\n');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sw_patterns() {
        let p = SwPattern::parse("61XX").unwrap();
        assert!(p.matches(0x6110) && !p.matches(0x6210));
        assert_eq!(p.to_string(), "61XX");
        assert!(SwPattern::parse("9000").unwrap().matches(0x9000));
        assert!(SwPattern::parse("900").is_err());
        assert!(SwPattern::parse("90G0").is_err());
        assert!(SwPattern::parse("９０").is_err());
    }

    #[test]
    fn foreign_and_future_files_are_named() {
        let e = Packet::parse(br#"{"format":"x","version":1}"#).unwrap_err();
        assert!(e.to_string().contains("not a secured script"), "{e}");
        let e = Packet::parse(br#"{"format":"jct-secured-script","version":9}"#).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
        assert!(Packet::parse(b"\xFF\xFE").is_err());
    }
}
