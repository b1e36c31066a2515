//! An HTTP/3 client on quinn + h3 for the tests (certificates not verified: test certs).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, StreamBody};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One HTTP/3 connection; `send_request` clones share it (one stream per request).
pub struct H3Client {
    pub send: h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>,
    pub endpoint: quinn::Endpoint,
    pub connection: quinn::Connection,
}

/// What an HTTP/3 response carried.
#[derive(Debug)]
pub struct H3Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
}

impl H3Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connects to `addr` (UDP) with SNI `sni` and ALPN `h3`.
pub async fn connect(addr: SocketAddr, sni: &str) -> Result<H3Client, String> {
    let tls = rustls::ClientConfig::builder_with_provider(super::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(super::tls::accept_all())
        .with_no_client_auth();
    connect_with(addr, sni, tls).await
}

/// Connects with the client's own TLS configuration (suites, groups, client certificate); ALPN
/// is set to `h3`. Initial packets use TLS_AES_128_GCM_SHA256 even when the configuration does
/// not offer it (RFC 9001 §5.2).
pub async fn connect_with(
    addr: SocketAddr,
    sni: &str,
    mut tls: rustls::ClientConfig,
) -> Result<H3Client, String> {
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let initial = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .and_then(|s| s.quic_suite())
        .ok_or("no initial suite")?;
    let quic = quinn::crypto::rustls::QuicClientConfig::with_initial(Arc::new(tls), initial)
        .map_err(|e| e.to_string())?;
    let mut endpoint =
        quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).map_err(|e| e.to_string())?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    let connection = endpoint
        .connect(addr, sni)
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(connection.clone()))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move { std::future::poll_fn(|cx| driver.poll_close(cx)).await });
    Ok(H3Client {
        send,
        endpoint,
        connection,
    })
}

impl H3Client {
    /// Sends `req` with `body` (none when empty) and reads the whole response.
    pub async fn request(&self, req: Request<()>, body: Bytes) -> Result<H3Reply, String> {
        let mut send = self.send.clone();
        let mut stream = send.send_request(req).await.map_err(|e| e.to_string())?;
        if !body.is_empty() {
            for piece in body.chunks(64 * 1024) {
                stream
                    .send_data(Bytes::copy_from_slice(piece))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        stream.finish().await.map_err(|e| e.to_string())?;
        let resp = stream.recv_response().await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some(mut chunk) = stream.recv_data().await.map_err(|e| e.to_string())? {
            while chunk.has_remaining() {
                let piece = chunk.chunk();
                out.extend_from_slice(piece);
                let n = piece.len();
                chunk.advance(n);
            }
        }
        let trailers = stream.recv_trailers().await.map_err(|e| e.to_string())?;
        Ok(H3Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: out,
            trailers,
        })
    }

    /// GET `https://{host}{path}`.
    pub async fn get(&self, host: &str, path: &str) -> Result<H3Reply, String> {
        let req = Request::get(format!("https://{host}{path}"))
            .body(())
            .unwrap();
        self.request(req, Bytes::new()).await
    }
}

/// A backend (HTTP/1.1 + h2c) answering every request with its own body, and with the request's
/// trailers, if any, as response trailers (`x-echo: yes` as a header).
pub async fn echo() -> std::net::SocketAddr {
    super::serve_fn(|req: Request<hyper::body::Incoming>| async move {
        let collected = req.into_body().collect().await.unwrap();
        let trailers = collected.trailers().cloned();
        let data = collected.to_bytes();
        let mut frames = vec![Ok::<_, std::convert::Infallible>(http_body::Frame::data(
            data,
        ))];
        if let Some(t) = trailers {
            frames.push(Ok(http_body::Frame::trailers(t)));
        }
        Response::builder()
            .header("x-echo", "yes")
            .body(StreamBody::new(futures_util::stream::iter(frames)))
            .unwrap()
    })
    .await
}

/// `len` bytes that are not text (a lossy text path would change them).
pub fn body_of(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// A client CA, a client certificate it signed (chain, PEM key) and a self-signed stranger's.
pub struct ClientPki {
    pub ca_file: String,
    pub client: (Vec<CertificateDer<'static>>, String),
    pub stranger: (Vec<CertificateDer<'static>>, String),
}

pub fn client_pki(dir: &std::path::Path) -> ClientPki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "h3 client CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["client.test".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca).unwrap();
    let stranger_key = KeyPair::generate().unwrap();
    let stranger = CertificateParams::new(vec!["stranger.test".to_string()])
        .unwrap()
        .self_signed(&stranger_key)
        .unwrap();
    let ca_file = dir.join("client-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    ClientPki {
        ca_file: ca_file.display().to_string(),
        client: (vec![cert.der().clone()], key.serialize_pem()),
        stranger: (vec![stranger.der().clone()], stranger_key.serialize_pem()),
    }
}

/// A TLS 1.3 client offering `suites` and `groups` (empty: all of ring's), with `cert` if given.
pub fn quic_client(
    suites: &[rustls::SupportedCipherSuite],
    groups: &[&'static dyn rustls::crypto::SupportedKxGroup],
    cert: Option<&(Vec<CertificateDer<'static>>, String)>,
) -> rustls::ClientConfig {
    let mut provider = rustls::crypto::ring::default_provider();
    if !suites.is_empty() {
        provider.cipher_suites = suites.to_vec();
    }
    if !groups.is_empty() {
        provider.kx_groups = groups.to_vec();
    }
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(super::tls::accept_all());
    match cert {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain.clone(), key).unwrap()
        }
    }
}

/// GET `https://{sni}/` over QUIC with `tls`: the status, or why the handshake or the request
/// failed (a client certificate refused after a TLS 1.3 handshake shows on the request).
pub async fn quic_status(
    addr: std::net::SocketAddr,
    sni: &str,
    tls: rustls::ClientConfig,
) -> Result<u16, String> {
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let client = connect_with(addr, sni, tls).await?;
        client.get(sni, "/").await.map(|r| r.status)
    })
    .await
    .map_err(|_| "timed out".to_string())?
}

/// The server names `per_host_options` routes (one certificate for all of them).
pub const PER_HOST_NAMES: &[&str] = &[
    "a.test",
    "mtls.test",
    "aes256.test",
    "curves.test",
    "h1.test",
    "tls12.test",
];

/// Hosts with their own `tls.options` (the TCP side's `tests/tls_options.rs` shapes) on an
/// entrypoint with `http3`; `default` options are `sniStrict`.
pub fn per_host_options(backend: &str, cert: &(String, String), ca_file: &str) -> String {
    let mut routers = String::new();
    for (host, options) in [
        ("a", None),
        ("mtls", Some("mtls")),
        ("aes256", Some("aes256")),
        ("curves", Some("curves")),
        ("h1", Some("h1")),
        ("tls12", Some("tls12")),
    ] {
        let tls = options.map_or("{}".to_string(), |o| format!("{{ options: {o} }}"));
        routers.push_str(&format!(
            "    {host}: {{ rule: \"Host(`{host}.test`)\", service: app, middlewares: [certs], tls: {tls} }}\n"
        ));
    }
    format!(
        r#"http:
  routers:
{routers}  middlewares:
    certs: {{ passTLSClientCert: {{ pem: true }} }}
  services:
    app:
      loadBalancer:
        servers:
          - url: "{backend}"
tls:
  certificates:
    - certFile: "{cert}"
      keyFile: "{key}"
  options:
    default: {{ sniStrict: true }}
    mtls: {{ clientAuth: {{ caFiles: ["{ca_file}"], clientAuthType: RequireAndVerifyClientCert }} }}
    aes256: {{ cipherSuites: [TLS_AES_256_GCM_SHA384] }}
    curves: {{ curvePreferences: [CurveP384] }}
    h1: {{ alpnProtocols: [http/1.1] }}
    tls12: {{ maxVersion: VersionTLS12 }}
"#,
        cert = cert.0,
        key = cert.1,
    )
}
