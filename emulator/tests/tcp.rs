//! The TCP front end seen from a reader speaking vpcd frames: power on, ATR,
//! authenticated content management, and the next connection after a
//! disconnect. (The loader's own vpcd client against `jct emu` is covered by
//! the workspace's end-to-end tests.)

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use emulator::{Card, CardProfile};
use gp::apdu::{CommandApdu, ResponseApdu};
use gp::vpcd_frame::{read_payload, write_control, write_frame, Control};
use scp::{self, SecureChannel, SecurityLevel};

/// The reader side of a vpcd link, as pcscd's driver or the loader plays it.
struct Reader {
    link: TcpStream,
    atr: Vec<u8>,
}

impl Reader {
    fn connect(addr: &str) -> Reader {
        let link = TcpStream::connect(addr).unwrap();
        link.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut reader = Reader {
            link,
            atr: Vec::new(),
        };
        reader.atr = reader.power(Control::PowerOn);
        reader
    }

    /// Power on or reset, then the ATR.
    fn power(&mut self, control: Control) -> Vec<u8> {
        write_control(&mut self.link, control).unwrap();
        write_control(&mut self.link, Control::GetAtr).unwrap();
        read_payload(&mut self.link).unwrap().unwrap()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        write_frame(&mut self.link, apdu).unwrap();
        read_payload(&mut self.link).unwrap().unwrap()
    }
}

fn open_remote(client: &mut Reader) -> SecureChannel {
    let r = client.transmit(&hex("00A4040008A000000151000000 00"));
    assert_eq!(sw(&r), 0x9000);
    let host = scp::danger::begin_with_challenge(
        config(aes_keys(0), SecurityLevel::C_MAC_C_ENC_R_MAC, 0x15),
        [3; 8],
    );
    let answer = client.transmit(host.command());
    let auth = host.on_init_update_response(&answer).unwrap();
    let answer = client.transmit(auth.command());
    auth.on_external_authenticate_response(&answer).unwrap()
}

fn remote(client: &mut Reader, sc: &mut SecureChannel, cmd: &CommandApdu) -> ResponseApdu {
    let wire = sc.wrap_apdu(cmd).unwrap();
    let answer = client.transmit(&wire);
    sc.unwrap_response(&answer).unwrap()
}

#[test]
fn serve_tcp_to_a_vpcd_reader() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let mut card = Card::new(CardProfile::default(), aes_keys(1)).unwrap();
    let server = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            emulator::server::serve_tcp(listener, &mut card, &stop).unwrap();
            card
        })
    };

    // First connection: load and install hello.
    let mut client = Reader::connect(&addr);
    assert_eq!(client.atr, emulator::profile::atr());
    let mut sc = open_remote(&mut client);
    let (_, c4) = load_file(&hello_cap());
    assert_eq!(
        remote(&mut client, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
        0x9000
    );
    for block in load_blocks(&c4) {
        assert_eq!(remote(&mut client, &mut sc, &block).sw, 0x9000);
    }
    let inst = install_for_install(&HELLO_PKG, &HELLO_APPLET, &HELLO_APPLET, true);
    assert_eq!(remote(&mut client, &mut sc, &inst).sw, 0x9000);
    // A reset ends the session.
    client.power(Control::Reset);
    let wire = sc
        .wrap_apdu(&gp(0xF2, 0x40, 0x02, vec![0x4F, 0x00]))
        .unwrap();
    assert_eq!(sw(&client.transmit(&wire)), 0x6982);
    drop(client);

    // Second connection: a load broken off by the disconnect leaves nothing.
    let mut client = Reader::connect(&addr);
    let mut sc = open_remote(&mut client);
    let lib = shared("converter-reference/oracle-3.0.5/lib.cap");
    let (_, c4) = load_file(&lib);
    assert_eq!(
        remote(
            &mut client,
            &mut sc,
            &install_for_load(&hex("F0000000014C"), vec![])
        )
        .sw,
        0x9000
    );
    assert_eq!(
        remote(&mut client, &mut sc, &load_blocks(&c4)[0]).sw,
        0x9000
    );
    drop(client);

    // Third connection sees the applet and not the library.
    let mut client = Reader::connect(&addr);
    let mut sc = open_remote(&mut client);
    let r = remote(
        &mut client,
        &mut sc,
        &gp(0xF2, 0x40, 0x02, vec![0x4F, 0x00]),
    );
    assert_eq!(r.sw, 0x9000);
    assert!(r
        .data
        .windows(HELLO_APPLET.len())
        .any(|w| w == HELLO_APPLET));
    let r = remote(
        &mut client,
        &mut sc,
        &gp(0xF2, 0x20, 0x02, vec![0x4F, 0x06, 0xF0, 0, 0, 0, 1, 0x4C]),
    );
    assert_eq!(r.sw, 0x6A88);
    drop(client);

    stop.store(true, Ordering::Relaxed);
    let card = server.join().unwrap();
    assert!(card.state().instance(&HELLO_APPLET).is_some());
    assert_eq!(card.state().packages.len(), 1);
}

/// `--vpcd`: the card connects to a reader (here a stand-in for pcscd's
/// vpcd driver) and answers its frames.
#[test]
fn serve_vpcd_answers_the_driver() {
    let driver = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = driver.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let mut card = Card::new(CardProfile::default(), aes_keys(1)).unwrap();
    let server = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            emulator::server::serve_vpcd(&addr, &mut card, &stop, &mut |_| {}).unwrap();
        })
    };
    let (mut link, _) = driver.accept().unwrap();
    write_control(&mut link, Control::PowerOn).unwrap();
    write_control(&mut link, Control::GetAtr).unwrap();
    assert_eq!(
        read_payload(&mut link).unwrap().unwrap(),
        emulator::profile::atr()
    );
    write_frame(&mut link, &hex("00A4040008A000000151000000 00")).unwrap();
    let r = read_payload(&mut link).unwrap().unwrap();
    assert_eq!((r[0], sw(&r)), (0x6F, 0x9000));
    write_control(&mut link, Control::PowerOff).unwrap();
    write_frame(&mut link, &hex("80CA9F7F00")).unwrap();
    assert_eq!(
        sw(&read_payload(&mut link).unwrap().unwrap()),
        0x6F00,
        "unpowered"
    );
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
}
