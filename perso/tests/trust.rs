//! A station accepts the key server's certificate and no other: not a
//! station's (signed by the same CA, but for server authentication only),
//! not a stranger's, not none.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use perso::control::Message;
use perso::net::{self, Duplex};
use perso::station::{ReaderSpec, Station, StationConfig};
use perso::tls::{self, Identity};

fn client(id: Option<&Identity>, ca: &std::path::Path) -> Arc<rustls::ClientConfig> {
    let b = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(tls::roots(ca).unwrap());
    Arc::new(match id {
        Some(id) => b
            .with_client_auth_cert(
                tls::load_certs(&id.cert).unwrap(),
                tls::load_key(&id.key).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    })
}

/// Connects and reads the first message: the hello when admitted.
fn hello(addr: &str, config: Arc<rustls::ClientConfig>) -> Result<Message, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let name = tls::server_name(addr, Some("localhost")).unwrap();
    let mut conn = rustls::Connection::Client(rustls::ClientConnection::new(config, name).unwrap());
    net::handshake(&mut conn, &mut stream).map_err(|e| e.to_string())?;
    let (_link, mut reader): (Duplex, _) = Duplex::split(conn, stream, perso::frame::MAX_CONTROL);
    let body = reader.next_frame().map_err(|e| e.to_string())?;
    Message::from_bytes(&body).map_err(|e| e.to_string())
}

#[test]
fn only_the_key_servers_certificate_opens_the_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["localhost".to_string()];
    tls::init_pki(&dir.path().join("pki"), &["s1".into()], &names).unwrap();
    tls::init_pki(&dir.path().join("other"), &["s1".into()], &names).unwrap();
    let pki = dir.path().join("pki");
    let station = Station::start(
        StationConfig {
            name: "s1".into(),
            listen: "127.0.0.1:0".into(),
            first_perso_port: 0,
            // Nothing listens there: an empty reader.
            readers: vec![ReaderSpec::parse("127.0.0.1:1").unwrap()],
            tls: Identity::in_dir(&pki, "station-s1"),
            job: "default".into(),
            poll: Duration::from_millis(50),
        },
        Arc::new(|_| {}),
    )
    .unwrap();
    let addr = station.control_addr.clone();
    let ca = pki.join("ca.pem");

    let admitted = hello(
        &addr,
        client(Some(&Identity::in_dir(&pki, "keyserver")), &ca),
    )
    .unwrap();
    assert!(
        matches!(admitted, Message::Hello { ref station, .. } if station == "s1"),
        "{admitted:?}"
    );

    for (who, config) in [
        (
            "a station's certificate",
            client(Some(&Identity::in_dir(&pki, "station-s1")), &ca),
        ),
        (
            "another CA's key server",
            client(
                Some(&Identity::in_dir(&dir.path().join("other"), "keyserver")),
                &ca,
            ),
        ),
        ("no certificate", client(None, &ca)),
    ] {
        assert!(hello(&addr, config).is_err(), "{who} was admitted");
    }
    station.stop();
}
