//! MANAGE CHANNEL (INS 70, ISO/IEC 7816-4 11.1.2; JCRE 3.0.5 4.5.1 and
//! 4.6.1): opening and closing the supplementary logical channels. The
//! command is the JCRE's own and never reaches an applet.
//!
//! Opening from the basic channel selects the card's default application
//! on the new channel: the ISD, which GlobalPlatform makes the default
//! selected application. Opening from another channel selects there what
//! is selected on the origin channel, under the multiselection rules of
//! [`select_on`]; when that fails the new channel is closed again.

use gp::apdu::CommandApdu;

use crate::card::{is_secured, logical_channel, Card, Channel, Selected, Volatile};
use crate::commands::select::{deselect_on, select_on};
use crate::sw::{self, fail, Outcome, Reply};

/// P1: open (00) or close (80).
const P1_OPEN: u8 = 0x00;
const P1_CLOSE: u8 = 0x80;
/// The highest channel number ISO/IEC 7816-4 can encode in a CLA.
const MAX_CHANNEL: u8 = 19;
/// 6200: a warning, no information (closing a channel that is not open).
const SW_WARNING: u16 = 0x6200;
/// 6C01: the only right Le of MANAGE CHANNEL OPEN with P2 = 00.
const SW_LE_ONE: u16 = 0x6C01;

pub fn manage_channel(card: &mut Card, vol: &mut Volatile, cmd: &CommandApdu) -> Outcome {
    let origin = logical_channel(cmd.cla());
    if is_secured(cmd.cla()) {
        return Err(fail(
            sw::SM_NOT_SUPPORTED,
            "MANAGE CHANNEL with secure messaging",
        ));
    }
    if (cmd.p1() != P1_OPEN && cmd.p1() != P1_CLOSE) || cmd.p2() > MAX_CHANNEL {
        return Err(fail(
            sw::FUNCTION_NOT_SUPPORTED,
            format!(
                "MANAGE CHANNEL P1 {:02X} P2 {:02X}: P1 is 00 (open) or 80 (close), P2 a channel up to 19",
                cmd.p1(),
                cmd.p2()
            ),
        ));
    }
    if vol.channel(origin).is_none() {
        return Err(fail(
            sw::CHANNEL_NOT_SUPPORTED,
            format!("MANAGE CHANNEL from logical channel {origin}, which is not open"),
        ));
    }
    let count = card.state.profile.logical_channels;
    if count <= 1 {
        return Err(fail(
            sw::CHANNEL_NOT_SUPPORTED,
            "the card offers the basic logical channel only",
        ));
    }
    if cmd.p1() == P1_CLOSE {
        return close(card, vol, cmd.p2(), count);
    }
    let assign = cmd.p2() == 0;
    let new = if assign {
        if cmd.ne() != Some(1) {
            return Err(fail(
                SW_LE_ONE,
                "MANAGE CHANNEL OPEN with P2 00 returns one byte: Le must be 01",
            ));
        }
        (1..count)
            .find(|n| vol.channel(*n).is_none())
            .ok_or_else(|| {
                fail(
                    sw::FUNCTION_NOT_SUPPORTED,
                    format!("all {count} logical channels are open"),
                )
            })?
    } else {
        let n = cmd.p2();
        if n >= count || vol.channel(n).is_some() {
            return Err(fail(
                sw::BAD_P1P2,
                if n >= count {
                    format!("logical channel {n}: the card has 0 to {}", count - 1)
                } else {
                    format!("logical channel {n} is already open")
                },
            ));
        }
        n
    };
    let candidate = if origin == 0 {
        Some(Selected::Isd)
    } else {
        vol.selected(origin).cloned()
    };
    vol.channels[usize::from(new)] = Some(Channel::default());
    if let Some(candidate) = candidate {
        if let Err(e) = select_on(card, vol, new, candidate, None) {
            vol.channels[usize::from(new)] = None;
            return Err(e);
        }
    }
    Ok(Reply::data(if assign { vec![new] } else { Vec::new() }))
}

/// MANAGE CHANNEL CLOSE of channel `n` (never the basic one).
fn close(card: &mut Card, vol: &mut Volatile, n: u8, count: u8) -> Outcome {
    if n == 0 {
        return Err(fail(
            sw::FUNCTION_NOT_SUPPORTED,
            "the basic logical channel cannot be closed",
        ));
    }
    if n >= count || vol.channel(n).is_none() {
        return Err(fail(SW_WARNING, format!("logical channel {n} is not open")));
    }
    let deselected = deselect_on(card, vol, n);
    // Closed even when deselect() failed: the terminal asked for it.
    vol.channels[usize::from(n)] = None;
    deselected?;
    card.save_heap()?;
    Ok(Reply::data(Vec::new()))
}

#[cfg(test)]
mod tests {
    use crate::profile::{test_keys, CardProfile};
    use crate::Card;

    fn card(channels: u8) -> Card {
        let profile = CardProfile {
            logical_channels: channels,
            ..CardProfile::default()
        };
        let mut card = Card::new(profile, test_keys(true, 1).unwrap()).unwrap();
        card.power_on();
        card
    }

    /// The response in hex, for a command in hex.
    fn ask(card: &mut Card, cmd: &str) -> String {
        hex::encode_upper(card.transmit(&hex::decode(cmd).unwrap()))
    }

    #[test]
    fn channels_open_lowest_first_close_and_vanish_at_reset() {
        let mut c = card(4);
        assert_eq!(ask(&mut c, "0070000001"), "019000");
        assert_eq!(ask(&mut c, "0070000001"), "029000");
        assert_eq!(ask(&mut c, "0070000001"), "039000");
        assert_eq!(ask(&mut c, "0070000001"), "6A81");
        assert_eq!(ask(&mut c, "00708002"), "9000");
        assert_eq!(ask(&mut c, "0270000001"), "6881");
        assert_eq!(ask(&mut c, "0070000001"), "029000");
        // The ISD is selected on an opened channel; GET DATA works there.
        assert!(ask(&mut c, "02CA006600").ends_with("9000"));
        // A SELECT opens a closed channel.
        assert_eq!(ask(&mut c, "00708003"), "9000");
        assert!(ask(&mut c, "03A4040008A000000151000000").ends_with("9000"));
        assert!(ask(&mut c, "03CA006600").ends_with("9000"));
        c.reset();
        assert_eq!(ask(&mut c, "02CA006600"), "6881");
        assert_eq!(ask(&mut c, "0070000001"), "019000");
    }

    #[test]
    fn a_card_with_the_basic_channel_only() {
        let mut c = card(1);
        assert_eq!(ask(&mut c, "0070000001"), "6881");
        assert_eq!(ask(&mut c, "00708001"), "6881");
        assert_eq!(ask(&mut c, "01A4040008A000000151000000"), "6881");
        assert!(ask(&mut c, "00CA006600").ends_with("9000"));
    }
}
