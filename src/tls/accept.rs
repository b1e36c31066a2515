//! Per-connection TLS detection and handshake. Traefik serves TLS and plain HTTP routers on one
//! entrypoint, so the first byte decides: 0x16 (a TLS handshake record) → TLS, anything else →
//! plain HTTP. TLS 1.2 and 1.3 only; ALPN `h2`, `http/1.1`, and `acme-tls/1` for TLS-ALPN-01
//! (such a connection ends after the handshake, which is all the CA checks).

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::store::{CertStore, ACME_TLS_ALPN};

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The server side of TLS for every entrypoint; cheap to clone.
#[derive(Clone)]
pub struct Acceptor {
    inner: TlsAcceptor,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

impl Acceptor {
    /// A TLS 1.2/1.3 server (ring provider) resolving certificates from `store`.
    pub fn new(store: Arc<CertStore>) -> Result<Acceptor, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(store);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
        Ok(Acceptor {
            inner: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// A connection after detection.
pub enum Accepted {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Closed, timed out, failed the handshake, or was a finished TLS-ALPN-01 probe.
    Done,
}

/// Peeks the first byte (within `timeout`) and runs the TLS handshake when it is one.
/// Without an acceptor every connection is plain.
pub async fn detect(stream: TcpStream, acceptor: Option<&Acceptor>, timeout: Duration) -> Accepted {
    let Some(acceptor) = acceptor else {
        return Accepted::Plain(stream);
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return Accepted::Done,
    }
    if first[0] != TLS_HANDSHAKE {
        return Accepted::Plain(stream);
    }
    let peer = stream.peer_addr().ok();
    match tokio::time::timeout(timeout, acceptor.inner.accept(stream)).await {
        Ok(Ok(mut tls)) => {
            if tls.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
                return Accepted::Done;
            }
            Accepted::Tls(Box::new(tls))
        }
        Ok(Err(error)) => {
            tracing::debug!(?peer, %error, "TLS handshake failed");
            Accepted::Done
        }
        Err(_) => Accepted::Done,
    }
}
