//! TLS for online secured scripts (rustls with the ring provider): the key
//! holder's service (`jct script serve`), the client's exchange (`jct
//! script play --server`), and a CA with a server certificate for them
//! (`jct script tls-cert`, rcgen). The client trusts only the CA file it
//! is given, so the key holder's certificate is pinned to that CA.
//!
//! The messages themselves are loader::script::online's; one TLS
//! connection carries one request and its reply.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use loader::script::online::{self, Reply, Request, Service};
use loader::script::play::PlayReport;
use loader::script::ScriptVerifier;
use loader::transport::CardChannel;
use rustls::pki_types::ServerName;

/// A client that says nothing for this long is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

use perso::tls::provider;

/// Writes a private key file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(perso::tls::write_private(path, bytes)?)
}

/// `jct script tls-cert`: a CA and a server certificate signed by it.
pub fn make_certs(out: &Path, names: &[String]) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "jct secured scripts CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let server_key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "jct script serve");
    let server = params.signed_by(&server_key, &ca)?;
    crate::fsutil::write_atomic(&out.join("ca.pem"), ca.pem().as_bytes())?;
    crate::fsutil::write_atomic(&out.join("server.pem"), server.pem().as_bytes())?;
    write_private(
        &out.join("server.key"),
        server_key.serialize_pem().as_bytes(),
    )?;
    note!(
        "wrote {0}/ca.pem (for the clients' --server-ca), {0}/server.pem and {0}/server.key",
        out.display()
    );
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `jct script serve`: one request per TLS connection, answered in turn.
pub fn serve(
    listen: &str,
    tls_dir: &Path,
    service: Service,
    max_connections: Option<usize>,
) -> Result<()> {
    let cert_path = tls_dir.join("server.pem");
    let key_path = tls_dir.join("server.key");
    let certs = perso::tls::load_certs(&cert_path)?;
    let key = perso::tls::load_key(&key_path)?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    let config = Arc::new(config);
    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    note!(
        "serving secured scripts on {} (TLS)",
        listener.local_addr()?
    );
    let mut served = 0usize;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                note!("accept: {e}");
                continue;
            }
        };
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        match serve_one(stream, &config, &service) {
            Ok(what) => note!("{peer}: {what}"),
            Err(e) => note!("{peer}: {e:#}"),
        }
        served += 1;
        if max_connections.is_some_and(|m| served >= m) {
            break;
        }
    }
    Ok(())
}

fn serve_one(
    stream: TcpStream,
    config: &Arc<rustls::ServerConfig>,
    service: &Service,
) -> Result<String> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let conn = rustls::ServerConnection::new(Arc::clone(config))?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let reply = match online::read_message::<Request>(&mut tls) {
        Ok(request) => service.handle(request, now()),
        Err(e) => Reply {
            ok: false,
            packet: None,
            error: Some(e),
        },
    };
    online::write_message(&mut tls, &reply).map_err(anyhow::Error::msg)?;
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(match (&reply.packet, &reply.error) {
        (Some(p), _) => format!(
            "signed a script of {} commands ({})",
            p.body.commands.len(),
            p.body.header.description
        ),
        (None, Some(e)) => format!("refused: {e}"),
        (None, None) => "refused".to_string(),
    })
}

/// One request to the key holder over a fresh TLS connection.
fn exchange(
    addr: &str,
    config: &Arc<rustls::ClientConfig>,
    name: &ServerName<'static>,
    request: &Request,
) -> Result<Reply, String> {
    let stream = TcpStream::connect(addr).map_err(|e| format!("connecting to {addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let conn = rustls::ClientConnection::new(Arc::clone(config), name.clone())
        .map_err(|e| format!("TLS: {e}"))?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    online::write_message(&mut tls, request)?;
    online::read_message(&mut tls)
}

/// `jct script play --server`: the online client.
pub fn play_online(
    channel: &mut CardChannel,
    addr: &str,
    ca: &Path,
    server_name: Option<&str>,
    sd: Option<&[u8]>,
    verifier: &ScriptVerifier,
    now: u64,
) -> Result<(loader::script::Packet, PlayReport)> {
    let roots = perso::tls::roots(ca)?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let config = Arc::new(config);
    let name = perso::tls::server_name(addr, server_name)?;
    let mut send = |r: &Request| exchange(addr, &config, &name, r);
    online::play_via_server(channel, sd, verifier, now, &mut send).map_err(anyhow::Error::msg)
}
