//! Moving APDUs between the host and a card.
//!
//! A [`Transport`] sends one command APDU as raw bytes and returns the raw
//! response (data and SW1 SW2). It knows nothing of status words: that is
//! [`CardChannel`]'s job, which sits on a transport, below the secure
//! channel, and hides ISO 7816-3 T=0 artefacts (61xx, 6Cxx) so the layers
//! above see one complete response per command whatever the protocol.
//!
//! Transports:
//! - [`pcsc::PcscTransport`]: a reader through the platform's PC/SC service;
//! - [`vpcd::VpcdClient`]: an emulated card over TCP with vpcd framing;
//! - [`replay::Replay`]: a recorded trace played back, byte-exact;
//! - [`record::Record`]: any transport, with every exchange written to a
//!   trace file;
//! - [`Shared`]: one transport behind several clients (one per logical
//!   channel).

mod channel;
mod error;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod record;
pub mod replay;
mod shared;
pub mod trace_file;
pub mod vpcd;

pub use channel::{CardChannel, Exchange, Observer};
pub use error::{hex_upper, TransportError};
pub use shared::Shared;

/// A link to one card that exchanges raw APDUs.
///
/// Object safe, so the CLI can pick an implementation at run time and hand
/// a `Box<dyn Transport>` to the layers above; `Send`, so a session can run
/// on any thread of a pool (the key server drives many at once).
pub trait Transport: Send {
    /// Sends one command APDU and returns the card's response, status word
    /// included, exactly as received.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// Resets the card (warm reset where the medium allows) and returns the
    /// new ATR.
    fn reset(&mut self) -> Result<Vec<u8>, TransportError>;

    /// The ATR of the current session, when known.
    fn atr(&self) -> Option<&[u8]>;

    /// A short human description: which reader, peer or file this is.
    fn describe(&self) -> String;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).reset()
    }

    fn atr(&self) -> Option<&[u8]> {
        (**self).atr()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        (**self).reset()
    }

    fn atr(&self) -> Option<&[u8]> {
        (**self).atr()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
