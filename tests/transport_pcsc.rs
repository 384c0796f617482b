//! The PC/SC path end to end with real components: pcscd with vsmartcard's
//! vpcd driver plays the reader, a card-side vpcd client (answering 9000)
//! plays the card, and PcscTransport finds the reader by a substring of
//! its name and exchanges APDUs through the real PC/SC stack.
//!
//! The test starts pcscd itself (`pcscd -f -c DIR`, with a reader config
//! of its own) unless one is already running, and stops what it started.
//! Where pcscd or the vpcd driver cannot run, it prints why it skipped;
//! under CI (`CI` set) it fails naming what is missing.
#![cfg(feature = "pcsc")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use emulator::vpcd::{ServeEnd, VpcdCard};
use gp::vpcd_frame::pcscd_vpcd_default_addr;
use gp::vpcd_frame::{Control, Frame};
use loader::transport::pcsc::{list_readers, select_reader, PcscTransport};
use loader::transport::{CardChannel, Transport};

const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

#[path = "support/pcscd.rs"]
mod pcscd;

use pcscd::{require_pcscd, vpcd_readers, wait_for, READER};

#[test]
fn pcsc_reader_backed_by_a_vpcd_card() {
    let Some(daemon) = require_pcscd() else {
        return;
    };

    // The card side: connect to the driver (it may take a moment to listen).
    let addr = pcscd_vpcd_default_addr();
    let mut card = wait_for(Duration::from_secs(10), || {
        VpcdCard::connect(&addr, Duration::from_secs(2)).ok()
    })
    .unwrap_or_else(|| panic!("vpcd driver never accepted a card on {addr}"));
    let stop = Arc::new(AtomicBool::new(false));
    let card_stop = Arc::clone(&stop);
    let card_thread = thread::spawn(move || {
        let mut apdus = Vec::new();
        let end = card.serve(
            |frame| match frame {
                Frame::Control(Control::GetAtr) => ATR.to_vec(),
                Frame::Apdu(apdu) => {
                    apdus.push(apdu);
                    vec![0x90, 0x00]
                }
                Frame::Control(_) => Vec::new(),
            },
            &card_stop,
        );
        (end, apdus)
    });

    let present = wait_for(Duration::from_secs(10), || {
        vpcd_readers().into_iter().find(|r| r.card_present)
    })
    .expect("the vpcd reader never showed a card");
    assert_eq!(present.atr.as_deref(), Some(&ATR[..]));
    let readers = list_readers().unwrap();
    assert_eq!(
        select_reader(&readers, Some("virtual pcd")).unwrap().name,
        present.name
    );

    let transport = PcscTransport::connect(Some("virtual pcd")).unwrap();
    assert_eq!(transport.reader(), present.name);
    assert_eq!(transport.atr(), Some(&ATR[..]));
    assert!(
        transport.describe().contains(READER),
        "{}",
        transport.describe()
    );
    let mut channel = CardChannel::new(Box::new(transport) as Box<dyn Transport>);
    assert_eq!(
        channel.transmit(&[0x00, 0xA4, 0x04, 0x00, 0x00]).unwrap(),
        [0x90, 0x00]
    );
    assert_eq!(channel.reset().unwrap(), ATR);
    assert_eq!(
        channel.transmit(&[0x80, 0xCA, 0x9F, 0x7F, 0x00]).unwrap(),
        [0x90, 0x00]
    );
    drop(channel);

    stop.store(true, Ordering::Relaxed);
    let (end, apdus) = card_thread.join().expect("card thread");
    let end = end.expect("card side ended with an error");
    assert!(matches!(end, ServeEnd::Stopped | ServeEnd::PeerClosed));
    assert!(
        apdus.contains(&vec![0x00, 0xA4, 0x04, 0x00, 0x00]),
        "{apdus:02X?}"
    );
    assert!(
        apdus.contains(&vec![0x80, 0xCA, 0x9F, 0x7F, 0x00]),
        "{apdus:02X?}"
    );
    drop(daemon);
}
