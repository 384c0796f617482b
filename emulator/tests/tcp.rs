//! The TCP front end with the loader's vpcd client: power on, ATR,
//! authenticated content management, and the next connection after a
//! disconnect.

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use emulator::{Card, CardProfile};
use loader::apdu::{CommandApdu, ResponseApdu};
use loader::scp::{self, SecureChannel, SecurityLevel};
use loader::transport::vpcd::VpcdClient;
use loader::transport::Transport;

fn open_remote(client: &mut VpcdClient) -> SecureChannel {
    let r = client
        .transmit(&hex("00A4040008A000000151000000 00"))
        .unwrap();
    assert_eq!(sw(&r), 0x9000);
    let host = scp::begin(
        config(aes_keys(0), SecurityLevel::C_MAC_C_ENC_R_MAC, 0x15),
        [3; 8],
    );
    let answer = client.transmit(host.command()).unwrap();
    let auth = host.on_init_update_response(&answer).unwrap();
    let answer = client.transmit(auth.command()).unwrap();
    auth.on_external_authenticate_response(&answer).unwrap()
}

fn remote(client: &mut VpcdClient, sc: &mut SecureChannel, cmd: &CommandApdu) -> ResponseApdu {
    let wire = sc.wrap_apdu(cmd).unwrap();
    let answer = client.transmit(&wire).unwrap();
    sc.unwrap_response(&answer).unwrap()
}

#[test]
fn serve_tcp_with_the_vpcd_client() {
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
    let mut client = VpcdClient::connect(&addr).unwrap();
    assert_eq!(client.atr().unwrap(), emulator::profile::atr().as_slice());
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
    client.reset().unwrap();
    let wire = sc
        .wrap_apdu(&gp(0xF2, 0x40, 0x02, vec![0x4F, 0x00]))
        .unwrap();
    assert_eq!(sw(&client.transmit(&wire).unwrap()), 0x6982);
    drop(client);

    // Second connection: a load broken off by the disconnect leaves nothing.
    let mut client = VpcdClient::connect(&addr).unwrap();
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
    let mut client = VpcdClient::connect(&addr).unwrap();
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
    use loader::transport::vpcd_frame::{read_payload, write_control, write_frame, Control};
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
