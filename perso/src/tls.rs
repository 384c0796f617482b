//! TLS (rustls, ring provider) shared by jct's network services: reading
//! certificates and keys, trust stores pinned to one CA file, and the
//! configurations of the personalization system — TLS 1.3 only, with
//! certificates on both sides.
//!
//! Who may be what is fixed by extended key usage: `jct keyserver init`
//! gives the key server a certificate for client authentication only and
//! each station one for server authentication only, all signed by one CA.
//! A station's verifier requires client authentication, so it accepts the
//! key server's certificate and no other the CA signed (a station's own
//! certificate cannot open a control connection).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Why TLS material could not be read or a configuration made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("making certificates: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{0}")]
    Config(String),
}

/// The crypto provider of every jct TLS endpoint.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file (a chain: leaf first).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |reason: String| TlsError::Read {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.display().to_string(),
        });
    }
    Ok(certs)
}

/// The private key of a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Read {
        path: path.display().to_string(),
        reason: format!("not a PEM private key ({e})"),
    })
}

/// A trust store holding the certificates of one CA file only.
pub fn roots(ca: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(ca)? {
        roots.add(c).map_err(|e| TlsError::Read {
            path: ca.display().to_string(),
            reason: format!("not a usable CA certificate ({e})"),
        })?;
    }
    Ok(roots)
}

/// Writes a private key file readable by its owner only, atomically (a
/// crash leaves the old file or the new one, never half of one).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    cap_tools::atomic::write_atomic_with_mode(path, bytes, 0o600).map_err(|source| {
        TlsError::Write {
            path: path.display().to_string(),
            source,
        }
    })
}

/// The server name to check a peer's certificate against: `name` when
/// given, else the host part of `addr`.
pub fn server_name(addr: &str, name: Option<&str>) -> Result<ServerName<'static>, TlsError> {
    let host = match name {
        Some(n) => n.to_string(),
        None => addr
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
            .unwrap_or_else(|| addr.to_string()),
    };
    ServerName::try_from(host.clone())
        .map_err(|_| TlsError::Config(format!("{host:?} is not a server name")))
}

/// Where a party's TLS files are: its certificate, its key and the CA.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    pub ca: std::path::PathBuf,
}

impl Identity {
    /// The files `jct keyserver init` wrote into `dir` for `name`
    /// (`keyserver`, or `station-NAME`).
    pub fn in_dir(dir: &Path, name: &str) -> Identity {
        Identity {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
            ca: dir.join("ca.pem"),
        }
    }
}

/// A station's server side: TLS 1.3, the client must present a
/// certificate for client authentication from the CA.
pub fn station_config(id: &Identity) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(&id.ca)?),
        provider(),
    )
    .build()
    .map_err(|e| TlsError::Config(format!("client verifier: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(&id.cert)?, load_key(&id.key)?)?;
    Ok(Arc::new(config))
}

/// The key server's client side: TLS 1.3, the station's certificate
/// checked against the CA, the key server's own presented.
pub fn keyserver_config(id: &Identity) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(&id.ca)?)
        .with_client_auth_cert(load_certs(&id.cert)?, load_key(&id.key)?)?;
    Ok(Arc::new(config))
}

/// A new CA (certificate and key, PEM).
pub struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Ca {
    /// A self-signed CA that may sign end-entity certificates only.
    pub fn new(common_name: &str) -> Result<Ca, TlsError> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        Ok(Ca {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key)?,
        })
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses), for server
    /// authentication (`server`) or client authentication.
    pub fn issue(
        &self,
        common_name: &str,
        names: &[String],
        server: bool,
    ) -> Result<Issued, TlsError> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(names.to_vec())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.extended_key_usages = vec![if server {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        }];
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// `jct keyserver init`: a CA, the key server's client certificate and a
/// server certificate per station, written into `out` (`ca.pem`,
/// `keyserver.pem/.key`, `station-NAME.pem/.key`). The CA's key is not
/// kept: more certificates mean a new init. Returns the files written.
pub fn init_pki(
    out: &Path,
    stations: &[String],
    names: &[String],
) -> Result<Vec<std::path::PathBuf>, TlsError> {
    std::fs::create_dir_all(out).map_err(|source| TlsError::Write {
        path: out.display().to_string(),
        source,
    })?;
    let ca = Ca::new("jct personalization CA")?;
    let mut written = Vec::new();
    let mut put = |name: &str, text: &str, private: bool| -> Result<(), TlsError> {
        let path = out.join(name);
        if private {
            write_private(&path, text.as_bytes())?;
        } else {
            cap_tools::atomic::write_atomic(&path, text.as_bytes()).map_err(|source| {
                TlsError::Write {
                    path: path.display().to_string(),
                    source,
                }
            })?;
        }
        written.push(path);
        Ok(())
    };
    put("ca.pem", &ca.cert_pem(), false)?;
    let ks = ca.issue("jct keyserver", &[], false)?;
    put("keyserver.pem", &ks.cert_pem, false)?;
    put("keyserver.key", &ks.key_pem, true)?;
    for s in stations {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(TlsError::Config(format!(
                "station name {s:?}: letters, digits, - and _ only"
            )));
        }
        let issued = ca.issue(&format!("jct station {s}"), names, true)?;
        put(&format!("station-{s}.pem"), &issued.cert_pem, false)?;
        put(&format!("station-{s}.key"), &issued.key_pem, true)?;
    }
    Ok(written)
}
