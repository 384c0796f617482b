//! Hostile input: random APDUs, in and out of a session and in the middle
//! of a load, never make the card panic, and every answer carries a
//! status word.

mod common;

use common::*;
use emulator::Card;
use scp::SecurityLevel;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 32) as u8
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const INS: [u8; 14] = [
    0xA4, 0x50, 0x82, 0xCA, 0xF2, 0xE6, 0xE8, 0xE4, 0xD8, 0xF0, 0x70, 0xC0, 0x00, 0xFF,
];
const CLA: [u8; 8] = [0x00, 0x80, 0x84, 0x04, 0x81, 0xC0, 0xFF, 0x40];

fn random_apdu(rng: &mut Rng) -> Vec<u8> {
    let mut apdu = vec![
        CLA[rng.below(CLA.len())],
        INS[rng.below(INS.len())],
        rng.byte(),
        rng.byte(),
    ];
    match rng.below(4) {
        0 => {}
        1 => apdu.push(rng.byte()),
        _ => {
            let n = rng.below(300);
            let body: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            if rng.below(2) == 0 && n <= 255 {
                apdu.push(n as u8);
            } else {
                apdu.extend_from_slice(&[0, (n >> 8) as u8, n as u8]);
            }
            apdu.extend_from_slice(&body);
            if rng.below(2) == 0 {
                apdu.push(0);
            }
        }
    }
    if rng.below(10) == 0 {
        apdu.truncate(rng.below(apdu.len() + 1));
    }
    apdu
}

fn check(card: &mut Card, apdu: &[u8]) {
    let r = card.transmit(apdu);
    assert!(
        r.len() >= 2,
        "{} -> {}",
        hex::encode_upper(apdu),
        hex::encode_upper(&r)
    );
}

#[test]
fn random_commands_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..60 {
        let mut card = card(round % 2 == 0, if round % 2 == 0 { 0x55 } else { 0x70 });
        if round % 3 != 0 {
            let mut sc = open(&mut card, SecurityLevel::C_MAC);
            if round % 3 == 2 {
                // Inside a load: random blocks, wrapped so they get through.
                assert_eq!(
                    send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
                    0x9000
                );
                for n in 0..20u8 {
                    let len = 1 + rng.below(200);
                    let data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                    let p1 = if n == 19 { 0x80 } else { 0x00 };
                    let r = send(&mut card, &mut sc, &gp(0xE8, p1, n, data));
                    if r.sw != 0x9000 {
                        break;
                    }
                }
                assert!(card.state().packages.is_empty());
            }
            // Random commands wrapped in the session.
            for _ in 0..100 {
                let apdu = random_apdu(&mut rng);
                if let Ok(cmd) = gp::apdu::CommandApdu::parse(&apdu) {
                    if let Ok(wire) = sc.wrap_apdu(&cmd) {
                        check(&mut card, &wire);
                    }
                }
            }
        }
        for _ in 0..400 {
            let apdu = random_apdu(&mut rng);
            check(&mut card, &apdu);
        }
        card.power_off();
        check(&mut card, &[0x00, 0xA4, 0x04, 0x00]);
    }
}
