//! [`CardChannel`]: complete responses over any transport, with a trace hook.
//!
//! Under T=0 a card cannot send response data in the same exchange as a
//! case-4 command, and may refuse a wrong Le. It then answers
//! - `61xx`: "xx more bytes are waiting": the host fetches them with
//!   GET RESPONSE (`CLA C0 00 00 xx`), possibly in several rounds;
//! - `6Cxx`: "wrong Le, the right one is xx": the host sends the same
//!   command again with Le = xx.
//!
//! PC/SC passes these through on most platforms, and T=1 cards and the
//! emulator may still use them, so the channel handles both everywhere. It
//! sits *below* the secure channel: GET RESPONSE is never MACed, and the
//! secure channel must see the reassembled response to verify an R-MAC.

use std::time::{Duration, Instant};

use super::{hex_upper, Transport, TransportError};

/// One raw exchange on the wire, as seen by an [`Observer`].
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The command bytes exactly as sent.
    pub command: &'a [u8],
    /// The response bytes exactly as received, SW1 SW2 included.
    pub response: &'a [u8],
    /// Wall time the transport took for this exchange.
    pub duration: Duration,
}

/// Receives every raw exchange, including the GET RESPONSE and re-issued
/// commands the channel sends on its own. The CLI's `--trace` printer and
/// tests hook in here; recording to a file is [`super::record::Record`],
/// which can fail and so is a transport rather than an observer.
pub type Observer = Box<dyn FnMut(&Exchange<'_>) + Send>;

/// Most GET RESPONSE rounds for one command: bounds a card that answers
/// `61xx` forever.
pub const MAX_GET_RESPONSE_ROUNDS: usize = 512;

/// Most response data gathered for one command: the extended-length maximum.
pub const MAX_RESPONSE_DATA: usize = 65_536;

/// A transport that returns one complete response per command.
pub struct CardChannel<T: Transport = Box<dyn Transport>> {
    inner: T,
    observer: Option<Observer>,
}

impl<T: Transport> CardChannel<T> {
    pub fn new(inner: T) -> CardChannel<T> {
        CardChannel {
            inner,
            observer: None,
        }
    }

    /// Installs (or replaces) the observer of raw exchanges.
    pub fn set_observer(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }

    /// Builder form of [`CardChannel::set_observer`].
    pub fn with_observer(mut self, observer: Observer) -> CardChannel<T> {
        self.observer = Some(observer);
        self
    }

    pub fn inner(&self) -> &T {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    pub fn into_inner(self) -> T {
        self.inner
    }

    /// Sends `apdu` and returns the complete response (all data, then the
    /// final SW1 SW2), following `61xx` and `6Cxx` as described above.
    ///
    /// A `6Cxx` answer to a command whose Le cannot be rewritten (extended
    /// length, or an inconsistent Lc) is returned as is, as is a second
    /// `6Cxx` after the re-issue: repeating would loop.
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if apdu.len() < 4 {
            return Err(TransportError::BadCommand {
                command: hex_upper(apdu),
                reason: "shorter than the 4-byte header CLA INS P1 P2",
            });
        }
        let mut response = self.raw(apdu)?;
        if let (0x6C, Some(le)) = status(&response) {
            if let Some(again) = with_le(apdu, le) {
                response = self.raw(&again)?;
            }
        }
        let mut data = Vec::new();
        let mut rounds = 0;
        while let (0x61, Some(available)) = status(&response) {
            data.extend_from_slice(body(&response));
            rounds += 1;
            if rounds > MAX_GET_RESPONSE_ROUNDS || data.len() > MAX_RESPONSE_DATA {
                return Err(TransportError::ResponseChainTooLong {
                    command: hex_upper(apdu),
                    rounds,
                    bytes: data.len(),
                });
            }
            let get_response = [get_response_class(apdu[0]), 0xC0, 0x00, 0x00, available];
            response = self.raw(&get_response)?;
            if let (0x6C, Some(le)) = status(&response) {
                let get_response = [get_response[0], 0xC0, 0x00, 0x00, le];
                response = self.raw(&get_response)?;
            }
        }
        data.extend_from_slice(&response);
        Ok(data)
    }

    /// One exchange on the inner transport: timed, checked for a status
    /// word, and shown to the observer.
    fn raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let start = Instant::now();
        let response = self.inner.transmit(command)?;
        let duration = start.elapsed();
        if let Some(observer) = self.observer.as_mut() {
            observer(&Exchange {
                command,
                response: &response,
                duration,
            });
        }
        if response.len() < 2 {
            return Err(TransportError::ResponseTooShort {
                command: hex_upper(command),
                len: response.len(),
            });
        }
        Ok(response)
    }
}

impl<T: Transport> Transport for CardChannel<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        CardChannel::transmit(self, apdu)
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.inner.reset()
    }

    fn atr(&self) -> Option<&[u8]> {
        self.inner.atr()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// SW1 and SW2 of a response (`raw` guarantees at least two bytes; a
/// shorter slice yields a SW1 of 0 that matches nothing).
fn status(response: &[u8]) -> (u8, Option<u8>) {
    match response {
        [.., sw1, sw2] => (*sw1, Some(*sw2)),
        _ => (0, None),
    }
}

/// The response without its status word.
fn body(response: &[u8]) -> &[u8] {
    &response[..response.len().saturating_sub(2)]
}

/// The class byte for GET RESPONSE after a command sent with `cla`: the
/// interindustry class with the same logical channel and no secure
/// messaging. Channels 0-3 live in bits 2-1 (first interindustry form,
/// bit 7 clear), channels 4-19 in bits 4-1 (further form, bit 7 set); the
/// proprietary classes GlobalPlatform uses (`8x`, `Cx`) follow the same
/// layout.
pub fn get_response_class(cla: u8) -> u8 {
    if cla & 0x40 == 0 {
        cla & 0x03
    } else {
        0x40 | (cla & 0x0F)
    }
}

/// `apdu` with its short Le set to `le`, or `None` when the command's
/// shape does not allow it (extended length, Lc disagreeing with length).
pub fn with_le(apdu: &[u8], le: u8) -> Option<Vec<u8>> {
    let header = apdu.get(..4)?;
    let mut out = header.to_vec();
    match apdu.len() {
        4 | 5 => out.push(le), // case 1 gains an Le, case 2 gets a new one
        len => {
            let lc = usize::from(apdu[4]);
            if lc == 0 {
                return None; // extended length form
            }
            let command_end = 5 + lc;
            if len != command_end && len != command_end + 1 {
                return None;
            }
            out.extend_from_slice(apdu.get(4..command_end)?);
            out.push(le);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_response_keeps_logical_channel() {
        assert_eq!(get_response_class(0x00), 0x00);
        assert_eq!(get_response_class(0x0C), 0x00); // SM bits dropped
        assert_eq!(get_response_class(0x03), 0x03);
        assert_eq!(get_response_class(0x80), 0x00);
        assert_eq!(get_response_class(0x84), 0x00);
        assert_eq!(get_response_class(0x81), 0x01);
        assert_eq!(get_response_class(0x86), 0x02);
        assert_eq!(get_response_class(0x45), 0x45);
        assert_eq!(get_response_class(0x65), 0x45); // SM bit dropped
        assert_eq!(get_response_class(0xC3), 0x43);
        assert_eq!(get_response_class(0xE9), 0x49);
    }

    #[test]
    fn le_rewriting_for_every_short_case() {
        assert_eq!(
            with_le(&[0, 0xB0, 0, 0], 0x10).unwrap(),
            [0, 0xB0, 0, 0, 0x10]
        );
        assert_eq!(
            with_le(&[0, 0xB0, 0, 0, 0x20], 0x10).unwrap(),
            [0, 0xB0, 0, 0, 0x10]
        );
        assert_eq!(
            with_le(&[0, 0xA4, 4, 0, 2, 0xA0, 0x01], 0x1A).unwrap(),
            [0, 0xA4, 4, 0, 2, 0xA0, 0x01, 0x1A]
        );
        assert_eq!(
            with_le(&[0, 0xA4, 4, 0, 2, 0xA0, 0x01, 0x00], 0x1A).unwrap(),
            [0, 0xA4, 4, 0, 2, 0xA0, 0x01, 0x1A]
        );
        assert!(with_le(&[0, 0xA4, 4, 0, 3, 0xA0], 0x1A).is_none());
        assert!(with_le(&[0, 0xB0, 0, 0, 0, 0x01, 0x00], 0x1A).is_none());
        assert!(with_le(&[0, 0xB0, 0], 0x1A).is_none());
    }
}
