//! [`InProcess`]: the emulated card as a loader [`Transport`], called
//! directly in the same process — no socket, no second thread. The loader
//! and the emulator never depend on each other (host and card meet only in
//! the protocol crates), so the glue between them lives here, above both.
//!
//! The card sits behind a shared handle so that the owner of the transport
//! (a [`crate::TestCard`], a benchmark) can still cut the power or look at
//! the card's state while the loader's client owns the transport itself.

use std::sync::{Arc, Mutex, MutexGuard};

use emulator::Card;
use loader::transport::{Transport, TransportError};

/// A shared handle on an emulated card.
pub type SharedCard = Arc<Mutex<Card>>;

/// Locks the card. A panic while the lock was held (only a bug in a test
/// could cause one) leaves the card as it was, so the poison is ignored.
pub(crate) fn lock(card: &SharedCard) -> MutexGuard<'_, Card> {
    card.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A powered emulated card reachable through the loader's transport trait.
pub struct InProcess {
    card: SharedCard,
    atr: Vec<u8>,
}

impl InProcess {
    /// Powers the card on and takes it.
    pub fn new(card: Card) -> InProcess {
        InProcess::shared(Arc::new(Mutex::new(card)))
    }

    /// Powers the card on; the caller keeps its own handle on it.
    pub fn shared(card: SharedCard) -> InProcess {
        let atr = lock(&card).power_on();
        InProcess { card, atr }
    }

    /// The handle on the card.
    pub fn card(&self) -> &SharedCard {
        &self.card
    }
}

impl Transport for InProcess {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(lock(&self.card).transmit(apdu))
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.atr = lock(&self.card).reset();
        Ok(self.atr.clone())
    }

    fn atr(&self) -> Option<&[u8]> {
        Some(&self.atr)
    }

    fn describe(&self) -> String {
        "emulated card (in process)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use emulator::CardProfile;
    use scp::keys::{Key, StaticKeys};

    #[test]
    fn selects_the_isd_and_survives_a_reset() {
        let keys = StaticKeys::single(Key::aes(&emulator::TEST_KEY).unwrap(), 1);
        let mut t = InProcess::new(Card::new(CardProfile::default(), keys).unwrap());
        let r = t
            .transmit(&hex::decode("00A4040008A00000015100000000").unwrap())
            .unwrap();
        assert_eq!(&r[r.len() - 2..], [0x90, 0x00]);
        let atr = t.reset().unwrap();
        assert_eq!(t.atr(), Some(atr.as_slice()));
        assert!(lock(t.card()).is_powered());
    }
}
