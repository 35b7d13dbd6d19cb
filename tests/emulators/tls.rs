//! TLS for the emulators: the certificates real deployments present, and a listener that serves them.
//!
//! * [`private_ca`]: a leaf for 127.0.0.1 and localhost signed by a private CA (what an enterprise PKI
//!   gives a Splunk management port); `--ca-cert` takes the CA.
//! * [`self_signed`]: one self-signed certificate with `basicConstraints CA:TRUE` used as the server's
//!   own, as `openssl req -x509 -newkey … -subj /CN=… -addext subjectAltName=…` makes it (what many
//!   ThreatQ appliances and lab Splunk servers present); `--ca-cert` takes that very certificate.
//! * [`self_signed_cn_only`]: the same without a subjectAltName, only a common name (older appliances).
//! * [`wrong`]: a certificate no option of the test trusts (another CA's leaf, for another name).

#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};

/// What a server presents, and what a client is told to trust.
#[derive(Clone)]
pub struct Identity {
    /// The server certificate, DER.
    pub cert_der: Vec<u8>,
    /// Its private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// PEM for `--ca-cert`: the CA (private CA) or the certificate itself (self-signed).
    pub ca_pem: String,
    /// The server certificate, PEM (what `openssl s_client` shows).
    pub cert_pem: String,
    /// The subject's common name.
    pub cn: String,
}

fn local_sans(p: &mut CertificateParams) {
    p.subject_alt_names.push(SanType::DnsName("localhost".try_into().unwrap()));
    p.subject_alt_names.push(SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)));
}

/// A CA, and a leaf for 127.0.0.1 and localhost signed by it.
pub fn private_ca(cn: &str) -> Identity {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, format!("{cn} test CA"));
    ca.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    local_sans(&mut p);
    p.distinguished_name.push(DnType::CommonName, cn);
    let cert = p.signed_by(&key, &issuer).unwrap();
    Identity {
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        cn: cn.to_string(),
    }
}

fn self_signed_with(cn: &str, sans: bool) -> Identity {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    if sans {
        local_sans(&mut p);
    }
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::OrganizationName, "Appliance Vendor");
    // What `openssl req -x509` writes by default (its v3_ca section): CA:TRUE.
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = p.self_signed(&key).unwrap();
    Identity {
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
        ca_pem: cert.pem(),
        cert_pem: cert.pem(),
        cn: cn.to_string(),
    }
}

/// A self-signed `CA:TRUE` certificate for localhost and 127.0.0.1, used as the server's own.
pub fn self_signed(cn: &str) -> Identity {
    self_signed_with(cn, true)
}

/// A self-signed `CA:TRUE` certificate with only a common name, no subjectAltName.
pub fn self_signed_cn_only(cn: &str) -> Identity {
    self_signed_with(cn, false)
}

/// A certificate that no test option trusts: another private CA's leaf, for another name.
pub fn wrong(cn: &str) -> Identity {
    let mut id = private_ca(cn);
    // Serve a leaf for the right names but under an unrelated CA: the client is given `ca_pem` of some
    // other identity, never this one.
    id.ca_pem = String::new();
    id
}

/// A TLS acceptor serving `id`.
pub fn acceptor(id: &Identity) -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(id.cert_der.clone())],
            rustls::pki_types::PrivateKeyDer::Pkcs8(id.key_der.clone().into()),
        )
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// A TCP listener that completes a TLS handshake before handing the stream to axum.
pub struct TlsListener {
    pub tcp: tokio::net::TcpListener,
    pub acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((s, a)) = self.tcp.accept().await else { continue };
            // A client that rejects the certificate ends its handshake: skip it.
            if let Ok(Ok(t)) = tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(s)).await {
                return (t, a);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
