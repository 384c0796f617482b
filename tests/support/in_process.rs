//! The emulated card as a loader [`Transport`], called directly in the same
//! process: for benchmarks and tests that measure the card manager and the
//! loader without a socket in between. It lives with the cross-crate tests
//! because the emulator and the loader never depend on each other.

use loader::transport::{Transport, TransportError};

use emulator::Card;

/// A powered card reachable through the loader's transport trait.
pub struct InProcess {
    card: Card,
    atr: Vec<u8>,
}

impl InProcess {
    /// Powers the card on.
    pub fn new(mut card: Card) -> InProcess {
        let atr = card.power_on();
        InProcess { card, atr }
    }
}

impl Transport for InProcess {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.card.transmit(apdu))
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.atr = self.card.reset();
        Ok(self.atr.clone())
    }

    fn atr(&self) -> Option<&[u8]> {
        Some(&self.atr)
    }

    fn describe(&self) -> String {
        "emulated card (in process)".to_string()
    }
}
