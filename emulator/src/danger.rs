//! Fault injection, for tests of what survives a power cut. Nothing here is
//! needed to use the emulator; it exists so that tearing can be tested
//! deterministically rather than by killing a process at random.

use crate::Card;

/// Arms a power cut inside the next applet call (install, select, process):
/// after `bytecodes` instructions the applet stops where it is, as when the
/// card loses power. What a card keeps through that is what this card
/// keeps: every persistent write done before the cut (each one whole), an
/// open transaction rolled back as a card's power-up recovery does, and no
/// answer — the card is left unpowered. A call that ends within `bytecodes`
/// instructions runs normally and the cut is disarmed.
pub fn cut_power_after(card: &mut Card, bytecodes: u64) {
    card.jcvm.cut_after(bytecodes);
}
