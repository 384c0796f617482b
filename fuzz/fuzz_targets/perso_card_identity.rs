//! What a station reads from a card before any key is used
//! (perso::station::reader): the answers to SELECT and GET DATA over a
//! reader the card's side controls (a TCP "card" is anyone who connects),
//! and the ATR's protocol. Any answers give an identity or an error, never
//! a panic; an identity names a security domain that answered 9000.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loader::transport::{Transport, TransportError};
use perso::station::reader::{identify, protocol_of_atr};

/// A card that answers with the input's frames, in order, then goes mute.
struct Scripted<'a> {
    answers: std::vec::IntoIter<&'a [u8]>,
    sent: usize,
}

impl Transport for Scripted<'_> {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        match self.answers.next() {
            Some(a) => Ok(a.to_vec()),
            None => Err(TransportError::Io {
                context: "fuzz card".into(),
                source: std::io::Error::other("no more answers"),
            }),
        }
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(vec![0x3B, 0x00])
    }
    fn atr(&self) -> Option<&[u8]> {
        None
    }
    fn describe(&self) -> String {
        "fuzz card".into()
    }
}

fuzz_target!(|data: &[u8]| {
    let frames = jct_fuzz::frames(data);
    if let Some(atr) = frames.first() {
        assert!(["T=0", "T=1", "other"].contains(&protocol_of_atr(atr)));
    }
    let total = frames.len();
    let mut card = Scripted {
        answers: frames.into_iter(),
        sent: 0,
    };
    if let Ok(id) = identify(&mut card) {
        let aids: Vec<String> = loader::client::ISD_AIDS
            .iter()
            .map(|a| hex::encode_upper(a))
            .collect();
        assert!(aids.contains(&id.security_domain), "{id:?}");
        assert!(!id.label().is_empty());
    }
    // GET RESPONSE chaining may ask for more, but never past the answers.
    assert!(card.sent <= total + 1);
});
