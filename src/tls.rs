//! How `splunk-export` and `tq-push` decide to trust a server's certificate.
//!
//! One verifier, four ways to trust, tried in this order:
//!
//! 1. `--insecure`: any certificate (the handshake signature is still checked, so the peer holds the
//!    key of the certificate it sent; nothing says whose key that is). Loud on stderr every run.
//! 2. `--pin-sha256 BASE64`: the SHA-256 of the certificate's SubjectPublicKeyInfo, as curl's
//!    `--pinnedpubkey sha256//…` and HPKP spell it. A match trusts the key whatever signed the
//!    certificate, whatever name or dates it carries (an appliance's self-made certificate often names
//!    `localhost` and outlives its dates; the key is what identifies it). Several pins may be given.
//! 3. The system's roots and any CA in `--ca-cert FILE`, verified as a browser would
//!    (rustls-platform-verifier: chain, dates, name).
//! 4. A certificate in `--ca-cert FILE` that is *exactly* the one presented (byte for byte): the
//!    self-signed `CA:TRUE` certificate that `openssl req -x509` makes, which many ThreatQ appliances and
//!    lab Splunk servers present as their own. WebPKI refuses a CA used as an end entity
//!    (`CaUsedAsEndEntity`) however it is given; here it is trusted when it is the very certificate the
//!    user handed over, its validity period covers now, and it names the host (its subjectAltName, or,
//!    when it has none, its common name, as such certificates often only have).
//!
//! When none applies, the error names the certificate (subject, issuer, dates, SHA-256 fingerprint and
//! the pin that would trust it), so the user can compare it with what the appliance's console shows.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// What the user said to trust.
#[derive(Debug, Default, Clone)]
pub struct Trust {
    /// Certificates from `--ca-cert` (DER), as roots and as exact matches.
    pub certs: Vec<CertificateDer<'static>>,
    /// SHA-256 digests of trusted SubjectPublicKeyInfos (`--pin-sha256`).
    pub pins: Vec<[u8; 32]>,
    /// `--insecure`.
    pub insecure: bool,
}

/// Parses a `--pin-sha256` value: base64 of 32 bytes, with or without curl's `sha256//` prefix; several
/// may be joined by `;` as curl allows.
pub fn parse_pins(s: &str) -> Result<Vec<[u8; 32]>> {
    let mut out = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let b64 = part.strip_prefix("sha256//").unwrap_or(part);
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).with_context(|| {
            format!("--pin-sha256 {part:?}: not base64 (get the pin with the openssl command in the README)")
        })?;
        let Ok(d) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            bail!("--pin-sha256 {part:?}: {} bytes, a SHA-256 pin is 32", bytes.len());
        };
        out.push(d);
    }
    if out.is_empty() {
        bail!("--pin-sha256: empty");
    }
    Ok(out)
}

/// Reads the certificates of a PEM file (`--ca-cert`).
pub fn read_pem_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let pem =
        std::fs::read(path).with_context(|| format!("{}: cannot read CA certificate", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: not a PEM certificate: {e}", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no certificate in the file (expected -----BEGIN CERTIFICATE-----)", path.display());
    }
    Ok(certs)
}

/// A rustls client configuration that verifies as [`Trust`] says.
pub fn client_config(trust: Trust) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let webpki = if trust.insecure {
        None
    } else {
        let v =
            rustls_platform_verifier::Verifier::new_with_extra_roots(trust.certs.clone(), provider.clone())
                .context("cannot load the system's TLS roots")?;
        Some(Arc::new(v) as Arc<dyn ServerCertVerifier>)
    };
    let verifier = Verifier { trust, webpki, provider: provider.clone() };
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

#[derive(Debug)]
struct Verifier {
    trust: Trust,
    /// The system's roots plus `--ca-cert`; `None` with `--insecure`.
    webpki: Option<Arc<dyn ServerCertVerifier>>,
    provider: Arc<CryptoProvider>,
}

/// Why a certificate was refused, with what identifies it (the message the user sees).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The last refusal's message. rustls shows a custom error with `Debug` (quotes escaped, wrappers
/// named) through the connector's error chain, so the words the user should read are kept here and
/// picked up by [`crate::http::classify`] (the tools make one connection at a time).
static LAST_REFUSAL: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Takes the message of the last certificate refusal, if any.
pub fn take_refusal() -> Option<String> {
    LAST_REFUSAL.lock().ok()?.take()
}

fn refuse(msg: String) -> rustls::Error {
    if let Ok(mut last) = LAST_REFUSAL.lock() {
        *last = Some(msg.clone());
    }
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(Refused(msg)))))
}

/// WebPKI's verdict in words.
fn verdict(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => "it is signed by an issuer that is not trusted".into(),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "it does not name the host in --url".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired".into(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet".into()
            }
            CertificateError::Revoked => "it is revoked".into(),
            CertificateError::BadSignature => "its signature does not verify".into(),
            CertificateError::Other(o) => format!("{o}"),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else { return Ok(ServerCertVerified::assertion()) };
        let info = CertInfo::parse(end_entity);
        if !self.trust.pins.is_empty() {
            return match &info {
                Ok(i) if self.trust.pins.contains(&i.spki_sha256) => Ok(ServerCertVerified::assertion()),
                Ok(i) => {
                    Err(refuse(format!("its public key does not match --pin-sha256 ({})", i.describe())))
                }
                Err(e) => Err(refuse(format!("cannot read the server's certificate to check the pin: {e}"))),
            };
        }
        let first = match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let info = match info {
            Ok(i) => i,
            Err(e) => return Err(refuse(format!("{}; and it cannot be read: {e}", verdict(&first)))),
        };
        if self.trust.certs.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            // The exact certificate the user gave: trusted as itself, if it is current and names the host.
            if now.as_secs() < info.not_before || now.as_secs() > info.not_after {
                return Err(refuse(format!(
                    "it is the certificate given with --ca-cert, but it is outside its validity period ({})",
                    info.describe()
                )));
            }
            if !names_host(end_entity, &info, server_name) {
                return Err(refuse(format!(
                    "it is the certificate given with --ca-cert, but it does not name {} ({})",
                    server_name.to_str(),
                    info.describe()
                )));
            }
            return Ok(ServerCertVerified::assertion());
        }
        let hint = match &first {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                "; if this is your server's certificate, trust it with --ca-cert FILE (the CA's PEM, or this \
                 certificate itself when it is self-signed) or --pin-sha256"
            }
            rustls::Error::InvalidCertificate(CertificateError::Other(_)) => {
                "; if this is your server's self-signed certificate, give that certificate with --ca-cert FILE \
                 or its pin with --pin-sha256"
            }
            _ => "",
        };
        Err(refuse(format!("{} ({}){hint}", verdict(&first), info.describe())))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// True when the certificate is valid for `name`: by its subjectAltName (WebPKI's rules, wildcards
/// included), or by its common name when it has no subjectAltName at all.
fn names_host(der: &CertificateDer<'_>, info: &CertInfo, name: &ServerName<'_>) -> bool {
    if let Ok(ee) = webpki::EndEntityCert::try_from(der)
        && ee.verify_is_valid_for_subject_name(name).is_ok()
    {
        return true;
    }
    !info.has_san && info.common_name.as_deref().is_some_and(|cn| cn.eq_ignore_ascii_case(&name.to_str()))
}

/// What identifies a certificate to a person.
#[derive(Debug)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub common_name: Option<String>,
    pub has_san: bool,
    /// Validity, seconds since the epoch.
    pub not_before: u64,
    pub not_after: u64,
    /// SHA-256 of the whole certificate (what `openssl x509 -fingerprint -sha256` prints).
    pub sha256: [u8; 32],
    /// SHA-256 of its SubjectPublicKeyInfo (the pin).
    pub spki_sha256: [u8; 32],
}

impl CertInfo {
    pub fn parse(der: &CertificateDer<'_>) -> Result<CertInfo, String> {
        let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| e.to_string())?;
        let common_name =
            c.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).map(String::from);
        let has_san = c.subject_alternative_name().ok().flatten().is_some();
        let v = c.validity();
        Ok(CertInfo {
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            common_name,
            has_san,
            not_before: v.not_before.timestamp().max(0) as u64,
            not_after: v.not_after.timestamp().max(0) as u64,
            sha256: Sha256::digest(der.as_ref()).into(),
            spki_sha256: Sha256::digest(c.tbs_certificate.subject_pki.raw).into(),
        })
    }

    /// `subject "…", issuer "…", valid … to …, SHA-256 AB:CD:…, pin sha256//…`.
    pub fn describe(&self) -> String {
        let fp: Vec<String> = self.sha256.iter().map(|b| format!("{b:02X}")).collect();
        format!(
            "subject \"{}\", issuer \"{}\", valid {} to {}, SHA-256 fingerprint {}, public-key pin {}",
            self.subject,
            self.issuer,
            rfc3339(self.not_before),
            rfc3339(self.not_after),
            fp.join(":"),
            pin_string(&self.spki_sha256)
        )
    }
}

fn rfc3339(secs: u64) -> String {
    let mut out = Vec::new();
    crate::time::Timestamp(secs as i64 * 1000).write_rfc3339(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `sha256//BASE64`, curl's spelling of a pin.
pub fn pin_string(d: &[u8; 32]) -> String {
    format!("sha256//{}", base64::engine::general_purpose::STANDARD.encode(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_in_curl_and_bare_spellings() {
        let b = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(parse_pins(&b).unwrap(), vec![[7u8; 32]]);
        assert_eq!(parse_pins(&format!("sha256//{b};sha256//{b}")).unwrap().len(), 2);
        assert!(parse_pins("not base64!").unwrap_err().to_string().contains("not base64"));
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 20]);
        assert!(parse_pins(&short).unwrap_err().to_string().contains("20 bytes"));
        assert!(parse_pins(" ; ").is_err());
    }
}
