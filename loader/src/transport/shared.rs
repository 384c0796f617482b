//! [`Shared`]: one card behind several clients, one per logical channel.
//!
//! A card has one physical link, but ISO/IEC 7816-4 logical channels let
//! several applications (or several sessions with one security domain)
//! run on it at once, their commands interleaved. Each
//! [`crate::client::GpClient`] owns its transport, so the clients of one
//! card each get a clone of the same `Shared`: every exchange takes the
//! link for itself, so commands and responses never mix.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{Transport, TransportError};

/// A transport shared by clones; each exchange holds it alone.
#[derive(Clone)]
pub struct Shared {
    inner: Arc<Mutex<Box<dyn Transport>>>,
}

impl Shared {
    pub fn new(inner: Box<dyn Transport>) -> Shared {
        Shared {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// The link, even after a clone panicked while holding it: the other
    /// clients go on, as the card does.
    fn lock(&self) -> MutexGuard<'_, Box<dyn Transport>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Transport for Shared {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.lock().transmit(apdu)
    }

    /// Resets the card for every clone: each client's channels and
    /// sessions are gone after it, as on the card.
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.lock().reset()
    }

    /// Always `None`: the ATR lives behind the lock, and a reference into
    /// it cannot outlive the guard. [`Shared::atr_copy`] gives a copy.
    fn atr(&self) -> Option<&[u8]> {
        None
    }

    fn describe(&self) -> String {
        format!("{} (shared)", self.lock().describe())
    }
}

impl Shared {
    /// A copy of the card's ATR, when the transport knows it.
    pub fn atr_copy(&self) -> Option<Vec<u8>> {
        self.lock().atr().map(<[u8]>::to_vec)
    }
}
