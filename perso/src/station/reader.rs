//! A station's card couplers: what `-r TEXT` names, opening the card in
//! it, noticing its removal, and reading the card's identification.

use std::time::Duration;

use gp::apdu::ResponseApdu;
use loader::transport::vpcd::{Timeouts, VpcdClient};
use loader::transport::{CardChannel, Transport, TransportError};

use crate::control::CardIdentity;

/// A reader as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderSpec {
    /// A card listening on TCP with vpcd framing: `jct emu --listen`, the
    /// jCardSim harness.
    Tcp(String),
    /// A PC/SC reader whose name contains the text.
    Pcsc(String),
}

impl ReaderSpec {
    /// `tcp:HOST:PORT`, `emu:HOST:PORT` or `jcardsim:HOST:PORT`, or a bare
    /// `HOST:PORT`: a card over TCP; `pcsc:TEXT`, or any other text: the
    /// PC/SC reader whose name contains it.
    pub fn parse(text: &str) -> Result<ReaderSpec, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("a reader cannot be named by empty text".into());
        }
        for prefix in ["tcp:", "emu:", "jcardsim:"] {
            if let Some(addr) = text.strip_prefix(prefix) {
                return if looks_like_addr(addr) {
                    Ok(ReaderSpec::Tcp(addr.to_string()))
                } else {
                    Err(format!("'{text}': {prefix} needs HOST:PORT"))
                };
            }
        }
        if let Some(name) = text.strip_prefix("pcsc:") {
            return Ok(ReaderSpec::Pcsc(name.to_string()));
        }
        if looks_like_addr(text) {
            return Ok(ReaderSpec::Tcp(text.to_string()));
        }
        Ok(ReaderSpec::Pcsc(text.to_string()))
    }

    pub fn describe(&self) -> String {
        match self {
            ReaderSpec::Tcp(a) => format!("tcp:{a}"),
            ReaderSpec::Pcsc(n) => format!("pcsc:{n}"),
        }
    }
}

fn looks_like_addr(text: &str) -> bool {
    match text.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !host.contains(' ') && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

/// A card in a reader, as the station holds it.
pub enum CardLink {
    Tcp(VpcdClient),
    #[cfg(feature = "pcsc")]
    Pcsc(loader::transport::pcsc::PcscTransport),
}

impl CardLink {
    /// Opens the card in the reader, if there is one. `Ok(None)` means
    /// "no card" (nothing listens, the reader is empty).
    pub fn open(spec: &ReaderSpec) -> Result<Option<CardLink>, TransportError> {
        match spec {
            ReaderSpec::Tcp(addr) => {
                let timeouts = Timeouts {
                    connect: Duration::from_millis(500),
                    response: Duration::from_secs(120),
                };
                match VpcdClient::connect_with(addr, timeouts) {
                    Ok(c) => Ok(Some(CardLink::Tcp(c))),
                    // Nothing listens there: no card in this "reader".
                    Err(TransportError::Io { .. } | TransportError::Timeout { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            #[cfg(feature = "pcsc")]
            ReaderSpec::Pcsc(name) => {
                use loader::transport::pcsc;
                let readers = pcsc::list_readers()?;
                match pcsc::select_reader(&readers, Some(name)) {
                    Ok(r) if r.card_present => {}
                    Ok(_) | Err(TransportError::NoCardInReader { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                }
                Ok(Some(CardLink::Pcsc(pcsc::PcscTransport::connect(Some(
                    name,
                ))?)))
            }
            #[cfg(not(feature = "pcsc"))]
            ReaderSpec::Pcsc(name) => Err(TransportError::ReaderNotFound {
                pattern: format!("{name} (this jct was built without PC/SC support)"),
                readers: Vec::new(),
            }),
        }
    }

    /// Whether the card was removed (checked without sending it anything).
    pub fn is_gone(&mut self) -> bool {
        match self {
            CardLink::Tcp(c) => c.is_gone(),
            #[cfg(feature = "pcsc")]
            CardLink::Pcsc(t) => {
                let name = t.reader().to_string();
                match loader::transport::pcsc::list_readers() {
                    Ok(readers) => !readers.iter().any(|r| r.name == name && r.card_present),
                    Err(_) => true,
                }
            }
        }
    }

    pub fn transport(&mut self) -> &mut dyn Transport {
        match self {
            CardLink::Tcp(c) => c,
            #[cfg(feature = "pcsc")]
            CardLink::Pcsc(t) => t,
        }
    }

    /// The transmission protocol: what PC/SC negotiated, else what the ATR
    /// offers first.
    pub fn protocol(&mut self) -> String {
        #[cfg(feature = "pcsc")]
        if let CardLink::Pcsc(t) = self {
            if let Some(p) = t.protocol() {
                return p.to_string();
            }
        }
        let atr = self
            .transport()
            .atr()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        protocol_of_atr(&atr).to_string()
    }
}

/// The first protocol an ATR offers (TD1's low nibble; T=0 without TD1).
pub fn protocol_of_atr(atr: &[u8]) -> &'static str {
    let Some(&t0) = atr.get(1) else {
        return "T=0";
    };
    if t0 & 0x80 == 0 {
        return "T=0";
    }
    // TA1, TB1, TC1 come before TD1 when present.
    let skip = [0x10, 0x20, 0x40]
        .iter()
        .filter(|&&bit| t0 & bit != 0)
        .count();
    match atr.get(2 + skip).map(|td1| td1 & 0x0F) {
        Some(1) => "T=1",
        Some(0) | None => "T=0",
        Some(_) => "other",
    }
}

/// Reads what the card tells without authentication: SELECT of the ISD
/// (the first of loader's candidates that answers), then CPLC, IIN and
/// CIN with GET DATA. Commands go through a [`CardChannel`] so T=0 cards'
/// 61xx/6Cxx are handled.
pub fn identify(card: &mut dyn Transport) -> Result<CardIdentity, String> {
    let mut channel = CardChannel::new(card);
    let mut send = |apdu: Vec<u8>| -> Result<ResponseApdu, String> {
        let raw = channel.transmit(&apdu).map_err(|e| e.to_string())?;
        ResponseApdu::parse(&raw).map_err(|e| e.to_string())
    };
    let mut sd = None;
    for aid in loader::client::ISD_AIDS {
        let cmd = gp::commands::select(aid, false).map_err(|e| e.to_string())?;
        if send(cmd.to_bytes())?.sw == 0x9000 {
            sd = Some(aid);
            break;
        }
    }
    let sd = sd.ok_or_else(|| "no security domain answers SELECT".to_string())?;
    let mut get = |tag: u16| -> Result<Option<String>, String> {
        let r = send(gp::commands::get_data(tag).to_bytes())?;
        Ok((r.sw == 0x9000).then(|| hex::encode_upper(tlv_value(tag, &r.data))))
    };
    Ok(CardIdentity {
        security_domain: hex::encode_upper(sd),
        cplc: get(0x9F7F)?,
        iin: get(0x0042)?,
        cin: get(0x0045)?,
    })
}

/// The value of a GET DATA answer: cards answer with the whole TLV; a bare
/// value is kept as it is.
fn tlv_value(tag: u16, data: &[u8]) -> Vec<u8> {
    match gp::tlv::Tlv::parse(data) {
        Ok(t) if t.tag().to_bytes() == tag_bytes(tag) => t
            .bytes()
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| data.to_vec()),
        _ => data.to_vec(),
    }
}

fn tag_bytes(tag: u16) -> Vec<u8> {
    if tag > 0xFF {
        tag.to_be_bytes().to_vec()
    } else {
        vec![tag as u8]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_texts() {
        assert_eq!(
            ReaderSpec::parse("127.0.0.1:35963").unwrap(),
            ReaderSpec::Tcp("127.0.0.1:35963".into())
        );
        assert_eq!(
            ReaderSpec::parse("jcardsim:localhost:9025").unwrap(),
            ReaderSpec::Tcp("localhost:9025".into())
        );
        assert_eq!(
            ReaderSpec::parse("ACS ACR39U").unwrap(),
            ReaderSpec::Pcsc("ACS ACR39U".into())
        );
        assert_eq!(
            ReaderSpec::parse("pcsc:Virtual PCD 00 00").unwrap(),
            ReaderSpec::Pcsc("Virtual PCD 00 00".into())
        );
        assert!(ReaderSpec::parse("emu:nowhere").is_err());
        assert!(ReaderSpec::parse(" ").is_err());
    }

    #[test]
    fn protocols_from_atrs() {
        // 3B 80 80 01 01: TD1 = 80 (T=0), TD2 = 01 → T=0 offered first.
        assert_eq!(protocol_of_atr(&[0x3B, 0x80, 0x80, 0x01, 0x01]), "T=0");
        // 3B 8x with TD1 = 81: T=1.
        assert_eq!(protocol_of_atr(&[0x3B, 0x81, 0x81, 0x31, 0xFE]), "T=1");
        // TA1 present before TD1.
        assert_eq!(protocol_of_atr(&[0x3B, 0x90, 0x11, 0x81]), "T=1");
        assert_eq!(protocol_of_atr(&[0x3B, 0x00]), "T=0");
        assert_eq!(protocol_of_atr(&[]), "T=0");
    }
}
