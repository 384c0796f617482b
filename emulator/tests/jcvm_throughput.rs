//! Steady-state speed of the virtual machine in process: APDUs per second
//! through Card::transmit to an installed applet (the converter-reference
//! hello: INS 01 copies five bytes into the APDU buffer and sends them;
//! INS 02 increments a persistent field). Run with
//! `cargo test -p emulator --release --test jcvm_throughput -- --ignored --nocapture`.
//! On the development machine (2 cores shared with other builds, load
//! average 6): echo about 1,035,000 APDUs/s, the field update about
//! 1,046,000 (in memory: without a state file nothing is written).

mod common;

use std::time::Instant;

use common::scripts::{card_with, run};
use common::*;

fn rate(card: &mut emulator::Card, apdu: &[u8], n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let r = card.transmit(apdu);
        assert_eq!(r[r.len() - 2..], [0x90, 0x00]);
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "a measurement, not a check: run it in release"]
fn echo_apdus_per_second() {
    let cap = shared("converter-reference/oracle-3.0.5/hello.cap");
    let mut card = card_with(&[(&cap, Some("F0000000010101"))], "3.0.5");
    run(&mut card, &[("00A4040007F0000000010101", "9000")]);
    let echo = hex("8001000000");
    rate(&mut card, &echo, 10_000);
    let per_s = rate(&mut card, &echo, 1_000_000);
    println!("echo (hello INS 01): {per_s:.0} APDUs/s");
    let count = hex("8002000000");
    let per_s = rate(&mut card, &count, 200_000);
    println!("persistent field update (hello INS 02, in memory): {per_s:.0} APDUs/s");
}
