//! The loader's vpcd client against a loopback card server built from the
//! server-side framing helpers, as `jct emu --listen` will be.

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use gp::vpcd_frame::{write_frame, Control, Frame, FrameReader};
use loader::transport::vpcd::{Timeouts, VpcdClient};
use loader::transport::{CardChannel, Transport, TransportError};

const ATR: [u8; 4] = [0x3B, 0x02, 0x14, 0x50];
const ATR_AFTER_RESET: [u8; 4] = [0x3B, 0x02, 0x14, 0x51];

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test hex")
}

/// Serves one connection: answers GET ATR and APDUs (a GET DATA that wants
/// Le=3, echo otherwise) and reports every frame it saw once the client
/// disconnects.
fn spawn_card() -> (String, thread::JoinHandle<Vec<Frame>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = FrameReader::new();
        let mut seen = Vec::new();
        let mut reset = false;
        while let Some(frame) = reader.read_frame(&mut stream).unwrap() {
            seen.push(frame.clone());
            let reply = match frame {
                Frame::Control(Control::Reset) => {
                    reset = true;
                    continue;
                }
                Frame::Control(Control::GetAtr) if reset => ATR_AFTER_RESET.to_vec(),
                Frame::Control(Control::GetAtr) => ATR.to_vec(),
                Frame::Control(_) => continue,
                Frame::Apdu(apdu) if apdu[1] == 0xCA && apdu.get(4) != Some(&3) => h("6C03"),
                Frame::Apdu(apdu) if apdu[1] == 0xCA => h("0102039000"),
                Frame::Apdu(apdu) => [&apdu[..], &[0x90, 0x00]].concat(),
            };
            write_frame(&mut stream, &reply).unwrap();
        }
        seen
    });
    (addr, handle)
}

#[test]
fn client_powers_on_exchanges_resets_and_powers_off() {
    let (addr, card) = spawn_card();
    let client = VpcdClient::connect(&addr).unwrap();
    assert_eq!(client.atr(), Some(&ATR[..]));
    assert!(client.describe().contains(&addr), "{}", client.describe());

    let mut ch = CardChannel::new(client);
    assert_eq!(ch.transmit(&h("00A4040000")).unwrap(), h("00A40400009000"));
    assert_eq!(ch.transmit(&h("80CA9F7F00")).unwrap(), h("0102039000"));
    assert_eq!(ch.reset().unwrap(), ATR_AFTER_RESET);
    assert_eq!(ch.atr(), Some(&ATR_AFTER_RESET[..]));
    // A large (extended) command travels in one frame.
    let big = [h("80E80000 00 1000"), vec![0x5A; 0x1000]].concat();
    assert_eq!(ch.transmit(&big).unwrap().len(), big.len() + 2);
    drop(ch);

    let seen = card.join().unwrap();
    assert_eq!(
        seen,
        vec![
            Frame::Control(Control::PowerOn),
            Frame::Control(Control::GetAtr),
            Frame::Apdu(h("00A4040000")),
            Frame::Apdu(h("80CA9F7F00")),
            Frame::Apdu(h("80CA9F7F03")),
            Frame::Control(Control::Reset),
            Frame::Control(Control::GetAtr),
            Frame::Apdu(big),
            Frame::Control(Control::PowerOff),
        ]
    );
}

#[test]
fn silent_card_times_out_and_the_link_is_abandoned() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let card = thread::spawn(move || {
        let (mut stream, _): (TcpStream, _) = listener.accept().unwrap();
        let mut reader = FrameReader::new();
        // Answer the ATR, then swallow the APDU and say nothing.
        assert_eq!(
            reader.read_frame(&mut stream).unwrap(),
            Some(Frame::Control(Control::PowerOn))
        );
        reader.read_frame(&mut stream).unwrap();
        write_frame(&mut stream, &ATR).unwrap();
        reader.read_frame(&mut stream).unwrap();
        let _ = done_rx.recv_timeout(Duration::from_secs(10));
    });
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        response: Duration::from_millis(300),
    };
    let mut client = VpcdClient::connect_with(&addr, timeouts).unwrap();
    let err = client.transmit(&h("00A4040000")).unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("00A4040000"), "{err}");
    let err = client.transmit(&h("00A4040000")).unwrap_err();
    assert!(err.to_string().contains("abandoned"), "{err}");
    done_tx.send(()).unwrap();
    card.join().unwrap();
}

#[test]
fn card_closing_mid_frame_is_a_frame_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let card = thread::spawn(move || {
        use std::io::Write;
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = FrameReader::new();
        reader.read_frame(&mut stream).unwrap();
        reader.read_frame(&mut stream).unwrap();
        // Announce 10 bytes of ATR, send 2, hang up.
        stream.write_all(&[0x00, 0x0A, 0x3B, 0x00]).unwrap();
    });
    let err = VpcdClient::connect(&addr).err().expect("must fail");
    card.join().unwrap();
    let text = err.to_string();
    assert!(matches!(err, TransportError::Frame { .. }), "{text}");
    assert!(text.contains("4 of 12"), "{text}");
    assert!(text.contains("power on"), "{text}");
}

#[test]
fn refused_connection_names_the_address() {
    // Bind then drop to find a port nobody listens on.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let err = VpcdClient::connect(&addr).err().expect("must fail");
    assert!(err.to_string().contains(&addr), "{err}");
    let err = VpcdClient::connect("not an address")
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("not an address"), "{err}");
}

#[test]
fn short_commands_are_refused_before_the_wire() {
    let (addr, card) = spawn_card();
    let mut client = VpcdClient::connect(&addr).unwrap();
    let err = client.transmit(&[0x01]).unwrap_err();
    assert!(matches!(err, TransportError::BadCommand { .. }), "{err}");
    // The link is still usable.
    assert_eq!(
        client.transmit(&h("00A4040000")).unwrap(),
        h("00A40400009000")
    );
    drop(client);
    card.join().unwrap();
}
