//! Per-connection TLS detection and handshake. Traefik serves TLS and plain HTTP routers on one
//! entrypoint, so the first byte decides: 0x16 (a TLS handshake record) → TLS, anything else →
//! plain HTTP. TLS 1.2 and 1.3 only; ALPN `h2`, `http/1.1`, and `acme-tls/1` for TLS-ALPN-01
//! (such a connection ends after the handshake, which is all the CA checks).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use super::store::ACME_TLS_ALPN;

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// A finished options set as a handshake uses it: the rustls configuration (one per distinct
/// options set, built when the configuration changes) and the key routes compare.
#[derive(Clone)]
pub struct Chosen {
    pub config: Arc<ServerConfig>,
    pub key: u32,
}

/// One entrypoint's selection: SNI (lowercase) → options, `None` = refuse the handshake.
#[derive(Clone, Default)]
pub struct EntrySni {
    pub hosts: HashMap<String, Option<Chosen>>,
    /// Any other SNI, or none; `None` = refuse.
    pub default: Option<Chosen>,
}

/// What every entrypoint's handshakes choose from; replaced whole on each reload.
#[derive(Clone, Default)]
pub struct SniPlan {
    /// Indexed like the routing table's entrypoints.
    pub entrypoints: Vec<EntrySni>,
    /// Before the first compilation (or for an entrypoint the plan does not know): the
    /// built-in default options.
    pub fallback: Option<Chosen>,
}

impl SniPlan {
    /// The options a handshake on entrypoint `index` with `sni` gets; `None`: refuse.
    pub fn choose(&self, index: usize, sni: Option<&str>) -> Option<&Chosen> {
        let Some(entry) = self.entrypoints.get(index) else {
            return self.fallback.as_ref();
        };
        if let Some(name) = sni {
            let name = name.trim_end_matches('.');
            let found = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                entry.hosts.get(&name.to_ascii_lowercase())
            } else {
                entry.hosts.get(name)
            };
            if let Some(chosen) = found {
                return chosen.as_ref();
            }
        }
        entry.default.as_ref()
    }
}

/// The server side of TLS for one entrypoint; cheap to clone.
#[derive(Clone)]
pub struct Acceptor {
    plan: Arc<ArcSwap<SniPlan>>,
    entrypoint: usize,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor")
            .field("entrypoint", &self.entrypoint)
            .finish_non_exhaustive()
    }
}

impl Acceptor {
    /// The acceptor of entrypoint `entrypoint` (its index in the table), choosing from `plan`.
    pub fn new(plan: Arc<ArcSwap<SniPlan>>, entrypoint: usize) -> Acceptor {
        Acceptor { plan, entrypoint }
    }

    /// The entrypoint's index in the table.
    pub fn entrypoint(&self) -> usize {
        self.entrypoint
    }

    /// The options a handshake with `sni` gets now (`SniPlan::choose`); `None`: refuse.
    pub fn choose(&self, sni: Option<&str>) -> Option<Chosen> {
        self.plan.load().choose(self.entrypoint, sni).cloned()
    }
}

/// A connection after detection.
pub enum Accepted {
    Plain(TcpStream),
    /// With the key of the options it was handshaken with (`table::tls_options::key`).
    Tls(Box<TlsStream<TcpStream>>, u32),
    /// Closed, timed out, failed or refused the handshake, or was a finished TLS-ALPN-01 probe.
    Done,
}

/// The certificates the client sent in the handshake (leaf first), when it sent any: what
/// `passTLSClientCert` passes on. Shared by the connection's requests.
pub fn client_certs(
    stream: &TlsStream<TcpStream>,
) -> Option<std::sync::Arc<[rustls::pki_types::CertificateDer<'static>]>> {
    let certs = stream.get_ref().1.peer_certificates()?;
    if certs.is_empty() {
        return None;
    }
    Some(certs.iter().map(|c| c.clone().into_owned()).collect())
}

/// Peeks the first byte (within `timeout`) and runs the TLS handshake when it is one: the
/// ClientHello is read first, its SNI picks the options (`SniPlan::choose`), then the handshake
/// goes on with their configuration; a refused SNI closes the connection. Without an acceptor
/// every connection is plain.
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
    let handshake = async {
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
        let chosen = {
            let plan = acceptor.plan.load();
            let hello = start.client_hello();
            let sni = hello.server_name();
            match plan.choose(acceptor.entrypoint, sni) {
                Some(chosen) => chosen.clone(),
                None => {
                    tracing::debug!(
                        ?peer,
                        ?sni,
                        "TLS handshake refused: no usable TLS options for this server name"
                    );
                    return Ok(None);
                }
            }
        };
        let tls = start.into_stream(chosen.config).await?;
        Ok::<_, std::io::Error>(Some((tls, chosen.key)))
    };
    match tokio::time::timeout(timeout, handshake).await {
        Ok(Ok(Some((mut tls, key)))) => {
            if tls.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
                return Accepted::Done;
            }
            Accepted::Tls(Box::new(tls), key)
        }
        Ok(Ok(None)) => Accepted::Done,
        Ok(Err(error)) => {
            tracing::debug!(?peer, %error, "TLS handshake failed");
            Accepted::Done
        }
        Err(_) => Accepted::Done,
    }
}
