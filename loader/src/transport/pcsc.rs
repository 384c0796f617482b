//! Readers through the platform's PC/SC service (pcsc-lite, WinSCard).
//!
//! Reader choice is made for people typing a command line: a reader is
//! named by any case-insensitive part of its name, and when none is named
//! the one reader holding a card is used. Every refusal names the readers
//! involved, so the next attempt can be precise.
//!
//! Both T=0 and T=1 are offered to the reader; T=0 status quirks are then
//! handled by [`super::CardChannel`].

use std::time::Duration;

use pcsc::{Card, Context, Disposition, Protocol, Protocols, ReaderState, Scope, State};

use super::{hex_upper, Transport, TransportError};

/// Largest response we accept: the extended-length maximum plus SW, which
/// is what pcsc-lite's own extended buffer holds.
const RECEIVE_BUFFER: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;

/// One reader as seen at listing time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    pub name: String,
    /// A card is inserted (it may still be mute).
    pub card_present: bool,
    /// The card's ATR, when present and answering.
    pub atr: Option<Vec<u8>>,
}

/// How the connection shares the reader with other programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// No other program may talk to the card while we are connected. The
    /// default: a secure channel session breaks if another program slips
    /// an APDU (a SELECT, say) between two of ours.
    #[default]
    Exclusive,
    /// Others may talk to the card too; for readers held open by a system
    /// daemon that refuses exclusive access.
    Shared,
}

impl Sharing {
    fn to_pcsc(self) -> pcsc::ShareMode {
        match self {
            Sharing::Exclusive => pcsc::ShareMode::Exclusive,
            Sharing::Shared => pcsc::ShareMode::Shared,
        }
    }
}

fn pcsc_error(context: impl Into<String>, source: pcsc::Error) -> TransportError {
    TransportError::Pcsc {
        context: context.into(),
        source,
    }
}

fn establish() -> Result<Context, TransportError> {
    Context::establish(Scope::User).map_err(|e| {
        let context = match e {
            pcsc::Error::NoService | pcsc::Error::ServiceStopped => {
                "connecting to the PC/SC service (is pcscd running?)"
            }
            _ => "connecting to the PC/SC service",
        };
        pcsc_error(context, e)
    })
}

/// Lists the readers the PC/SC service knows, with card presence.
pub fn list_readers() -> Result<Vec<ReaderInfo>, TransportError> {
    list_with(&establish()?)
}

fn list_with(ctx: &Context) -> Result<Vec<ReaderInfo>, TransportError> {
    let names = match ctx.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e) => return Err(pcsc_error("listing readers", e)),
    };
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|name| ReaderState::new(name, State::UNAWARE))
        .collect();
    // With UNAWARE states the call returns at once with the current state;
    // a timeout only means nothing changed, which is no error here.
    match ctx.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(pcsc::Error::Timeout) => {}
        Err(e) => return Err(pcsc_error("reading reader states", e)),
    }
    Ok(states
        .iter()
        .map(|state| {
            let event = state.event_state();
            let card_present = event.contains(State::PRESENT);
            let atr = (card_present && !event.contains(State::MUTE) && !state.atr().is_empty())
                .then(|| state.atr().to_vec());
            ReaderInfo {
                name: state.name().to_string_lossy().into_owned(),
                card_present,
                atr,
            }
        })
        .collect())
}

/// Picks the reader to use.
///
/// With a `pattern`: a reader whose whole name equals it (ignoring case)
/// wins; otherwise the readers whose name contains it. One such reader is
/// used (an error if it holds no card); among several, the only one
/// holding a card is used. Without a pattern: the only reader holding a
/// card.
pub fn select_reader<'a>(
    readers: &'a [ReaderInfo],
    pattern: Option<&str>,
) -> Result<&'a ReaderInfo, TransportError> {
    let names = |list: &[&ReaderInfo]| list.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    if readers.is_empty() {
        return Err(TransportError::NoReaders);
    }
    let candidates: Vec<&ReaderInfo> = match pattern {
        None => readers.iter().collect(),
        Some(pattern) => {
            let wanted = pattern.to_lowercase();
            if let Some(exact) = readers.iter().find(|r| r.name.to_lowercase() == wanted) {
                vec![exact]
            } else {
                readers
                    .iter()
                    .filter(|r| r.name.to_lowercase().contains(&wanted))
                    .collect()
            }
        }
    };
    if let (Some(pattern), []) = (pattern, candidates.as_slice()) {
        return Err(TransportError::ReaderNotFound {
            pattern: pattern.to_string(),
            readers: readers.iter().map(|r| r.name.clone()).collect(),
        });
    }
    if let (Some(_), [only]) = (pattern, candidates.as_slice()) {
        return if only.card_present {
            Ok(only)
        } else {
            Err(TransportError::NoCardInReader {
                reader: only.name.clone(),
            })
        };
    }
    let with_card: Vec<&ReaderInfo> = candidates
        .iter()
        .copied()
        .filter(|r| r.card_present)
        .collect();
    match (with_card.as_slice(), pattern) {
        ([only], _) => Ok(only),
        ([], _) => Err(TransportError::NoCard {
            readers: names(&candidates),
        }),
        (_, None) => Err(TransportError::SeveralCards {
            readers: names(&with_card),
        }),
        (_, Some(pattern)) => Err(TransportError::AmbiguousReader {
            pattern: pattern.to_string(),
            matches: names(&with_card),
        }),
    }
}

/// A card in a PC/SC reader.
pub struct PcscTransport {
    card: Card,
    reader: String,
    atr: Vec<u8>,
    sharing: Sharing,
    protocol: Option<Protocol>,
    receive: Vec<u8>,
}

impl PcscTransport {
    /// Connects exclusively to the reader chosen by [`select_reader`].
    pub fn connect(reader: Option<&str>) -> Result<PcscTransport, TransportError> {
        PcscTransport::connect_with(reader, Sharing::default())
    }

    pub fn connect_with(
        reader: Option<&str>,
        sharing: Sharing,
    ) -> Result<PcscTransport, TransportError> {
        let ctx = establish()?;
        let readers = list_with(&ctx)?;
        let chosen = select_reader(&readers, reader)?.name.clone();
        let cname =
            std::ffi::CString::new(chosen.clone()).map_err(|_| TransportError::ReaderNotFound {
                pattern: chosen.clone(),
                readers: Vec::new(),
            })?;
        let card = ctx
            .connect(&cname, sharing.to_pcsc(), Protocols::T0 | Protocols::T1)
            .map_err(|e| {
                let hint = match (e, sharing) {
                    (pcsc::Error::SharingViolation, Sharing::Exclusive) => {
                        " (another program is using it; shared mode may help)"
                    }
                    _ => "",
                };
                pcsc_error(format!("connecting to reader '{chosen}'{hint}"), e)
            })?;
        let mut transport = PcscTransport {
            card,
            reader: chosen,
            atr: Vec::new(),
            sharing,
            protocol: None,
            receive: vec![0; RECEIVE_BUFFER],
        };
        transport.refresh_status()?;
        Ok(transport)
    }

    /// The full name of the connected reader.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The negotiated protocol, `"T=0"` or `"T=1"`.
    pub fn protocol(&self) -> Option<&'static str> {
        match self.protocol? {
            Protocol::T0 => Some("T=0"),
            Protocol::T1 => Some("T=1"),
            Protocol::RAW => Some("raw"),
        }
    }

    fn refresh_status(&mut self) -> Result<(), TransportError> {
        let status = self.card.status2_owned().map_err(|e| {
            pcsc_error(format!("reading the status of reader '{}'", self.reader), e)
        })?;
        self.atr = status.atr().to_vec();
        self.protocol = status.protocol2();
        Ok(())
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.card.transmit(apdu, &mut self.receive).map_err(|e| {
            pcsc_error(
                format!("reader '{}': sending APDU {}", self.reader, hex_upper(apdu)),
                e,
            )
        })?;
        Ok(response.to_vec())
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card
            .reconnect(
                self.sharing.to_pcsc(),
                Protocols::T0 | Protocols::T1,
                Disposition::ResetCard,
            )
            .map_err(|e| {
                pcsc_error(format!("resetting the card in reader '{}'", self.reader), e)
            })?;
        self.refresh_status()?;
        Ok(self.atr.clone())
    }

    fn atr(&self) -> Option<&[u8]> {
        Some(&self.atr)
    }

    fn describe(&self) -> String {
        match self.protocol() {
            Some(protocol) => format!("PC/SC reader '{}' ({protocol})", self.reader),
            None => format!("PC/SC reader '{}'", self.reader),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(name: &str, card: bool) -> ReaderInfo {
        ReaderInfo {
            name: name.to_string(),
            card_present: card,
            atr: card.then(|| vec![0x3B, 0x00]),
        }
    }

    fn pick(readers: &[ReaderInfo], pattern: Option<&str>) -> Result<String, TransportError> {
        select_reader(readers, pattern).map(|r| r.name.clone())
    }

    #[test]
    fn default_is_the_only_reader_with_a_card() {
        let rs = [reader("A 00", false), reader("B 00", true)];
        assert_eq!(pick(&rs, None).unwrap(), "B 00");
        assert!(matches!(pick(&[], None), Err(TransportError::NoReaders)));
        let err = pick(&[reader("A 00", false)], None).unwrap_err();
        assert!(matches!(err, TransportError::NoCard { .. }));
        assert!(err.to_string().contains("A 00"), "{err}");
        let rs = [reader("A 00", true), reader("B 00", true)];
        let err = pick(&rs, None).unwrap_err();
        assert!(matches!(err, TransportError::SeveralCards { .. }));
        assert!(err.to_string().contains("A 00, B 00"), "{err}");
    }

    #[test]
    fn pattern_is_a_case_insensitive_substring() {
        let rs = [
            reader("Virtual PCD 00 00", true),
            reader("Virtual PCD 00 01", false),
            reader("ACS ACR39U 00 00", true),
        ];
        assert_eq!(pick(&rs, Some("acr39")).unwrap(), "ACS ACR39U 00 00");
        // Several match, one holds a card.
        assert_eq!(pick(&rs, Some("virtual pcd")).unwrap(), "Virtual PCD 00 00");
        // A single match without a card is named.
        let err = pick(&rs, Some("00 01")).unwrap_err();
        assert!(
            matches!(err, TransportError::NoCardInReader { .. }),
            "{err}"
        );
        // Several match, several cards.
        let err = pick(&rs, Some("00 00")).unwrap_err();
        assert!(
            matches!(err, TransportError::AmbiguousReader { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("ACS ACR39U 00 00"));
        // Nothing matches: all readers are listed.
        let err = pick(&rs, Some("omnikey")).unwrap_err();
        assert!(err.to_string().contains("Virtual PCD 00 01"), "{err}");
        // An exact name wins over substring matches.
        let rs = [reader("X", true), reader("X 2", true)];
        assert_eq!(pick(&rs, Some("x")).unwrap(), "X");
    }
}
