//! TLS test clients: a rustls client that records what the server presented (leaf names,
//! ALPN, protocol) and sends one request over HTTP/1.1 or HTTP/2 as negotiated.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Accepts any certificate: the tests inspect what was presented instead. Checks signatures with
/// the algorithms of the provider it holds (the one the client was built with).
#[derive(Debug)]
pub struct AcceptAll(pub Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAll {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A verifier that accepts every certificate.
pub fn accept_all() -> Arc<dyn ServerCertVerifier> {
    Arc::new(AcceptAll(provider()))
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config that accepts any server certificate, offering `alpn`.
pub fn insecure_config(alpn: &[&str]) -> ClientConfig {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAll(provider())))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config
}

/// The subject of [`client_pki`]'s client certificate as Go's `pkix.Name.String()` prints it.
pub const CLIENT_SUBJECT: &str = r"CN=client one,OU=edge,O=Acme\, Inc.,L=Lyon,ST=Rhône,C=FR,1.2.840.113549.1.9.1=#0c056140622e63";

/// A CA (PEM) and a client certificate it signed (chain, PEM key), whose subject Go prints as
/// [`CLIENT_SUBJECT`].
pub fn client_pki() -> (
    String,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    String,
) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "access log CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "FR");
    dn.push(rcgen::DnType::StateOrProvinceName, "Rhône");
    dn.push(rcgen::DnType::LocalityName, "Lyon");
    dn.push(rcgen::DnType::OrganizationName, "Acme, Inc.");
    dn.push(rcgen::DnType::OrganizationalUnitName, "edge");
    dn.push(rcgen::DnType::CommonName, "client one");
    // emailAddress: an attribute Go does not name (printed as its DER in hex).
    dn.push(
        rcgen::DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        rcgen::DnValue::Ia5String("a@b.c".try_into().unwrap()),
    );
    params.distinguished_name = dn;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca).unwrap();
    (ca.pem(), vec![cert.der().clone()], key.serialize_pem())
}

/// A TLS client offering `versions` and `suites` (rustls' defaults when empty), with a client
/// certificate when given.
pub fn client_with(
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: &[rustls::SupportedCipherSuite],
    cert: Option<(&[rustls::pki_types::CertificateDer<'static>], &str)>,
) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    let mut provider = rustls::crypto::ring::default_provider();
    if !suites.is_empty() {
        provider.cipher_suites = suites.to_vec();
    }
    let versions = if versions.is_empty() {
        rustls::DEFAULT_VERSIONS
    } else {
        versions
    };
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(accept_all());
    let mut config = match cert {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain.to_vec(), key).unwrap()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// A client config trusting exactly `roots_pem`.
pub fn trusting_config(roots_pem: &[u8]) -> ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &roots_pem[..]) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

pub async fn connect(config: ClientConfig, addr: SocketAddr, sni: &str) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(sni.to_string()).unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .expect("handshake timed out")
    .expect("handshake failed")
}

/// DNS names (and IPs) of the leaf certificate the server presented.
pub fn leaf_names(stream: &TlsStream<TcpStream>) -> Vec<String> {
    let leaf = &stream.get_ref().1.peer_certificates().unwrap()[0];
    leaf_names_der(leaf.as_ref())
}

pub fn leaf_names_der(der: &[u8]) -> Vec<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Serial number of the leaf (to tell two certificates for the same names apart).
pub fn leaf_serial(stream: &TlsStream<TcpStream>) -> String {
    let leaf = &stream.get_ref().1.peer_certificates().unwrap()[0];
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    cert.raw_serial_as_string()
}

/// The names the server presents to a handshake with `sni`.
pub async fn presented(addr: SocketAddr, sni: &str) -> Vec<String> {
    leaf_names(&connect(insecure_config(&["http/1.1"]), addr, sni).await)
}

pub struct TlsReply {
    pub status: http::StatusCode,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// One GET over an established TLS stream, HTTP/2 when ALPN chose `h2`.
pub async fn request(stream: TlsStream<TcpStream>, host: &str, path: &str) -> TlsReply {
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = TokioIo::new(stream);
    let uri = format!("https://{host}{path}");
    let resp = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
        sender.send_request(req).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let req = Request::get(path)
            .header("host", host)
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(req).await.unwrap()
    };
    let status = resp.status();
    let version = resp.version();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    TlsReply {
        status,
        version,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Connects with SNI `host` and GETs `path`.
pub async fn tls_get(addr: SocketAddr, host: &str, path: &str) -> TlsReply {
    request(
        connect(insecure_config(&["http/1.1"]), addr, host).await,
        host,
        path,
    )
    .await
}

/// A dynamic file with two routers to `backend_url`: `secure` (TLS, Host a.test / b.test /
/// *.wild.test) and `plain` (no TLS, Host plain.test), and `certs` (paths from [`write_cert`]).
pub fn secure_and_plain(backend_url: &str, certs: &[(String, String)]) -> String {
    let certs: String = certs
        .iter()
        .map(|(c, k)| format!("    - certFile: \"{c}\"\n      keyFile: \"{k}\"\n"))
        .collect();
    format!(
        r#"http:
  routers:
    secure:
      rule: "Host(`a.test`) || Host(`b.test`) || HostRegexp(`^.+\\.wild\\.test$`)"
      service: app
      tls: {{}}
    plain:
      rule: "Host(`plain.test`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "{backend_url}"
tls:
  certificates:
{certs}"#
    )
}

/// Writes a self-signed certificate for `names` to `<dir>/<stem>.crt|.key`; returns the paths.
pub fn write_cert(dir: &std::path::Path, stem: &str, names: &[&str]) -> (String, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_file = dir.join(format!("{stem}.crt"));
    let key_file = dir.join(format!("{stem}.key"));
    let tmp = dir.join(format!("{stem}.tmp"));
    std::fs::write(&tmp, key.serialize_pem()).unwrap();
    std::fs::rename(&tmp, &key_file).unwrap();
    std::fs::write(&tmp, cert.pem()).unwrap();
    std::fs::rename(&tmp, &cert_file).unwrap();
    (
        cert_file.display().to_string(),
        key_file.display().to_string(),
    )
}

/// A free local port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
